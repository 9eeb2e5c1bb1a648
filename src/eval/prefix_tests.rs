//! The timeline at an earlier as-of is a prefix of the timeline at a later one: looking later
//! never loses or moves a transition (entries, moves, exits, their instants, rules and
//! triggers). Checked over generated rule files (stages, moves and exits drawn from a pool of
//! conditions that read windows, absences, timers, `then` chains, `since entering` and sums
//! of scores with different half-lives) and generated leads.
//!
//! One exception is inherent, and left out: a lead with no event at or before the earlier
//! as-of is placed by its traits at that as-of (`docs/semantics.md`), an instant that a later
//! look, which sees its first event, has no reason to pick.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::machine::replay;
use super::outcome::Outcome;
use super::testgen::Gen;
use crate::lead::Event;

const CONDITIONS: [&str; 16] = [
    "a",
    "count b >= 2",
    "b within 3d",
    "no c within 5d",
    "days since last a > 4",
    "score up + down < -5",
    "score up >= 20",
    "score up between 5 and 30",
    "a then b within 2d",
    "a then b then c",
    "count x where n > 2 >= 1",
    "not (q within 2d)",
    "score down > -10",
    "days since first b >= 6",
    "grade up == hot",
    "score stale <= 4",
];

/// Conditions that may name an earlier stage `S`.
const STAGED: [&str; 3] = [
    "c since entering S",
    "days since entering S >= 3",
    "count a since entering S >= 1",
];

const LEAVES: [&str; 8] = [
    "move S2 -> S0 on r",
    "move S1 -> S0 when no a within 6d",
    "move S2 -> S1 when score up < 3",
    "exit gone from any on q",
    "exit cold from [S1] when score down < -20",
    "move S2 -> S1 on r when score up >= 1",
    "exit idle from [S2] when no b within 4d since entering S2",
    "move S1 -> S0 when days since last c > 5",
];

fn pick<'s>(g: &mut Gen, pool: &[&'s str]) -> &'s str {
    pool[g.below(pool.len())]
}

fn condition(g: &mut Gen, stage: usize) -> String {
    let one = |g: &mut Gen| {
        if stage > 0 && g.below(4) == 0 {
            let earlier = format!("S{}", g.below(stage));
            pick(g, &STAGED).replace('S', &earlier)
        } else {
            pick(g, &CONDITIONS).to_string()
        }
    };
    match g.below(4) {
        0 => format!("{} and {}", one(g), one(g)),
        1 => format!("{} or {}", one(g), one(g)),
        _ => one(g),
    }
}

fn rules(g: &mut Gen) -> String {
    let mut src = String::from(
        "schema {\n  event a\n  event b\n  event c\n  event r\n  event q\n  event x { n: int }\n}\n\
         score up decay half-life 1d {\n  +100 per a max 150\n  +20 when b within 2d\n  grade hot from 40\n  grade cold from 0\n}\n\
         score down decay half-life 10d {\n  -50 per b\n  -10 when c\n}\n\
         score stale decay expire after 3d {\n  +5 per c\n}\n",
    );
    for s in 0..3 {
        // The sum that rises and falls, often, where a lead meets it first.
        let cond = if s == 0 && g.below(3) == 0 {
            "score up + down < -5".to_string()
        } else {
            condition(g, s)
        };
        src.push_str(&format!("stage S{s} {{\n  enter when {cond}\n}}\n"));
    }
    for (k, leave) in LEAVES.iter().enumerate() {
        if g.below(3) == 0 {
            // Priorities keep `check` quiet about ambiguity; their order is what is tested.
            let cut = [" on ", " when "]
                .iter()
                .filter_map(|w| leave.find(w))
                .min()
                .unwrap();
            let with = format!("{} priority {}{}", &leave[..cut], k + 1, &leave[cut..]);
            src.push_str(&with);
            src.push('\n');
        }
    }
    src
}

/// The timeline as of `as_of`: every entry and the exit, with instants, rules and triggers.
fn timeline(out: &Outcome) -> (Vec<String>, Option<String>) {
    let entries = out
        .state
        .entries
        .iter()
        .map(|e| format!("{}@{} by {:?} on {:?}", e.stage, e.at, e.by, e.trigger))
        .collect();
    let exit = out
        .state
        .exit
        .as_ref()
        .map(|x| format!("{}@{} from {} on {:?}", x.leave, x.at, x.from, x.trigger));
    (entries, exit)
}

#[test]
fn an_earlier_timeline_is_a_prefix_of_a_later_one() {
    let mut g = Gen::new(
        &crate::plan::samples::compile_src("stage A { enter when true }"),
        7,
    );
    let (mut plans, mut compared, mut moved) = (0, 0, 0);
    for round in 0..60 {
        let src = rules(&mut g);
        let compiled = crate::compile(&src, "gen.funnel");
        assert!(!compiled.has_errors(), "{src}\n{:?}", compiled.diagnostics);
        let plan = compiled.plan().unwrap();
        plans += 1;
        let mut leads = Gen::new(&plan, round + 1);
        for _ in 0..150 {
            let mut lead = leads.lead(&plan);
            // Half the leads go quiet after a few events: the long gaps are where scores
            // rise and fall between looks.
            if leads.below(2) == 0 {
                let keep = leads.below(6).min(lead.events.len());
                lead.events.truncate(keep);
                // An `a` and a `b` together start the sum at its peak.
                if let (Some(e), Some(a), Some(b)) = (
                    lead.events.first().cloned(),
                    plan.event_id("a"),
                    plan.event_id("b"),
                ) {
                    let props_start = e.props_start;
                    lead.events.insert(0, Event { ty: b, ..e });
                    lead.events.insert(
                        0,
                        Event {
                            ty: a,
                            props_start,
                            ..e
                        },
                    );
                }
            }
            let Some(first) = lead.events.first().map(|e| e.at) else {
                continue;
            };
            let last = lead.events.last().map_or(first, |e| e.at);
            let span = (last - first + 40 * 86_400_000).max(1);
            let early = first + leads.below(span as usize + 1) as i64;
            let late = [
                early + 1 + leads.below(3 * 86_400_000) as i64,
                last + leads.below(120) as i64 * 86_400_000,
            ];
            let (e_entries, e_exit) = timeline(&replay(&plan, &lead, early));
            for later in late.into_iter().filter(|l| *l > early) {
                let out = replay(&plan, &lead, later);
                let (l_entries, l_exit) = timeline(&out);
                let upto: Vec<String> = out
                    .state
                    .entries
                    .iter()
                    .zip(&l_entries)
                    .filter(|(e, _)| e.at <= early)
                    .map(|(_, s)| s.clone())
                    .collect();
                let exit_upto = out
                    .state
                    .exit
                    .as_ref()
                    .filter(|x| x.at <= early)
                    .and(l_exit.clone());
                assert_eq!(
                    (&e_entries, &e_exit),
                    (&upto, &exit_upto),
                    "as of {early} vs {later}\n{src}\n{lead:?}"
                );
                compared += 1;
                moved +=
                    usize::from(out.state.entries.iter().any(|e| {
                        matches!(e.by, super::outcome::EnteredBy::Leave(_)) && e.at <= early
                    }));
            }
        }
    }
    assert!(
        plans == 60 && compared > 5_000 && moved > 50,
        "{compared} {moved}"
    );
}
