//! Properties of `eval` over generated leads for `rules/b2b-saas.funnel`: the outcome depends
//! on the events' times and on the input order of events at equal instants, and on nothing
//! else (not on the order of the lines, of the leads, on threads or on how the input is split).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use funnelc::eval::replay;
use funnelc::output;
use funnelc::plan::Plan;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value as J};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const RULES: &str = "rules/b2b-saas.funnel";
/// 2025-01-01T00:00:00Z
const START_MS: i64 = 1_735_689_600_000;
const DAY: i64 = 86_400_000;

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let src = std::fs::read_to_string(Path::new(ROOT).join(RULES)).unwrap();
        funnelc::compile(&src, RULES).plan().unwrap()
    })
}

fn ts(ms: i64) -> String {
    funnelc::time::format_timestamp(funnelc::time::Timestamp { millis: ms })
}

// ---------------------------------------------------------------------------------------------
// Generators

/// Traits: often the ideal customer (so leads get far down the funnel), else anything.
fn traits() -> impl Strategy<Value = J> {
    let ideal = json!({
        "consent": true,
        "role": "cfo",
        "company": {
            "employees": 220, "paying_customers": 1500, "region": "us-east",
            "branches": ["NY", "NJ"], "has_cdo": true, "billing": "per-user-monthly",
            "invoicing_pain": true
        }
    });
    prop_oneof![2 => Just(ideal), 3 => any_traits()]
}

fn any_traits() -> impl Strategy<Value = J> {
    (
        prop::sample::select(vec!["cfo", "cfo", "controller", "vp finance", "intern"]),
        prop::sample::select(vec![40i64, 150, 220, 220, 500, 900]),
        prop::sample::select(vec![500i64, 1500, 1500, 5000]),
        prop::sample::select(vec!["us-east", "us-east", "us-west", "europe"]),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.8),
        prop::option::weighted(0.9, prop::bool::ANY),
    )
        .prop_map(
            |(role, employees, customers, region, branches, consent, cdo, pain)| {
                let mut company = json!({
                    "employees": employees,
                    "paying_customers": customers,
                    "region": region,
                    "has_cdo": cdo,
                    "billing": "per-user-monthly",
                });
                if branches {
                    company["branches"] = json!(["NY", "NJ"]);
                }
                if let Some(p) = pain {
                    company["invoicing_pain"] = json!(p);
                }
                json!({"consent": consent, "role": role, "company": company})
            },
        )
}

/// A lead's moments: a few instants in a 90-day range (with an occasional odd millisecond),
/// which its events share, so that equal instants are common.
fn moments() -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(
        (
            0i64..90,
            prop::sample::select(vec![0i64, 9, 12]),
            prop::option::weighted(0.1, 1i64..1000),
        )
            .prop_map(|(d, h, extra)| START_MS + d * DAY + h * 3_600_000 + extra.unwrap_or(0)),
        1..12,
    )
}

/// One event of the schema's types, with plausible properties.
fn event() -> impl Strategy<Value = (J, usize)> {
    // Weighted: what moves a lead forward is common, a rejection rare.
    let kind = prop::sample::select(
        [
            ("form.submitted", 3),
            ("email.sent", 1),
            ("email.opened", 5),
            ("email.clicked", 1),
            ("email.unsubscribed", 1),
            ("page.viewed", 4),
            ("demo.requested", 2),
            ("bant.assessed", 4),
            ("sales.accepted", 3),
            ("sales.returned", 1),
            ("sales.rejected", 1),
            ("opportunity.created", 2),
        ]
        .iter()
        .flat_map(|(k, w)| std::iter::repeat_n(*k, *w))
        .collect::<Vec<_>>(),
    );
    (
        kind,
        any::<prop::sample::Index>(),
        1i64..6,
        prop::sample::select(vec!["product", "pricing", "contact", "blog"]),
        prop::array::uniform4(prop::bool::weighted(0.7)),
        prop::bool::weighted(0.9),
        1_000i64..50_000,
    )
        .prop_map(|(kind, moment, step, page, bant, oecd, amount)| {
            let mut e = json!({"type": kind});
            match kind {
                "form.submitted" => {
                    e["form"] = json!(if oecd { "oecd-research" } else { "newsletter" })
                }
                "email.sent" | "email.opened" | "email.clicked" => e["step"] = json!(step),
                "page.viewed" => {
                    e["page"] = json!(page);
                    e["channel"] = json!("organic");
                }
                "bant.assessed" => {
                    for (k, v) in ["budget", "authority", "need", "timeline"].iter().zip(bant) {
                        e[*k] = json!(v);
                    }
                }
                "opportunity.created" => e["amount"] = json!(amount),
                _ => {}
            }
            (e, moment.index(1 << 16))
        })
}

#[derive(Clone, Debug)]
struct GenLead {
    traits: J,
    events: Vec<J>,
}

impl GenLead {
    fn line(&self, id: &str) -> String {
        json!({"id": id, "traits": self.traits, "events": self.events}).to_string()
    }
}

fn lead() -> impl Strategy<Value = GenLead> {
    (traits(), moments(), prop::collection::vec(event(), 0..=30)).prop_map(
        |(traits, moments, events)| GenLead {
            traits,
            events: events
                .into_iter()
                .map(|(mut e, m)| {
                    e["at"] = json!(ts(moments[m % moments.len()]));
                    e
                })
                .collect(),
        },
    )
}

fn at_of(e: &J) -> i64 {
    funnelc::time::parse_timestamp(e["at"].as_str().unwrap())
        .unwrap()
        .millis
}

/// Reorders events by `keys` while keeping the input order of events with equal instants:
/// each group of equal instants keeps its positions' order.
fn shuffle_keeping_ties(events: &[J], keys: &[u32]) -> Vec<J> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (keys[i], i));
    // Positions in the new order taken by each instant, filled with that instant's events in
    // their original order.
    let mut by_instant: std::collections::BTreeMap<i64, std::collections::VecDeque<usize>> =
        std::collections::BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        by_instant.entry(at_of(e)).or_default().push_back(i);
    }
    order
        .iter()
        .map(|&slot| {
            let at = at_of(&events[slot]);
            let i = by_instant.get_mut(&at).unwrap().pop_front().unwrap();
            events[i].clone()
        })
        .collect()
}

fn outcome_json(line: &str, as_of: i64) -> J {
    let plan = plan();
    let (lead, _) = funnelc::input::jsonl::parse_line(plan, line, "gen:1".into()).unwrap();
    let out = replay(plan, &lead, as_of);
    output::json(plan, &lead, &out)
}

// ---------------------------------------------------------------------------------------------
// (a) and (b): properties over generated leads

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// (a) The order of the event lines does not matter, except among equal instants.
    #[test]
    fn shuffling_events_keeps_the_outcome(
        l in lead(),
        keys in prop::collection::vec(any::<u32>(), 30),
        as_of_day in 0i64..100,
    ) {
        let as_of = START_MS + as_of_day * DAY;
        let shuffled = GenLead {
            traits: l.traits.clone(),
            events: shuffle_keeping_ties(&l.events, &keys[..l.events.len()]),
        };
        // The shuffle is a permutation that keeps ties in order.
        let sorted = |v: &[J]| {
            let mut v: Vec<(i64, String)> = v.iter().map(|e| (at_of(e), e.to_string())).collect();
            v.sort_by_key(|(at, _)| *at);
            v
        };
        prop_assert_eq!(sorted(&l.events), sorted(&shuffled.events));
        prop_assert_eq!(
            outcome_json(&l.line("L"), as_of),
            outcome_json(&shuffled.line("L"), as_of)
        );
    }
}

/// The stage each generated lead reaches, to make sure the generator exercises the funnel.
#[test]
fn generated_leads_reach_every_stage() {
    let mut runner = TestRunner::deterministic();
    let strategy = lead();
    let mut reached = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..500 {
        let l = strategy.new_tree(&mut runner).unwrap().current();
        let out = outcome_json(&l.line("L"), START_MS + 100 * DAY);
        let pos = match &out["exit"] {
            J::Null => out["stage"].as_str().unwrap_or("").to_string(),
            x => x["name"].as_str().unwrap().to_string(),
        };
        *reached.entry(pos).or_default() += 1;
    }
    for s in ["", "MCL", "MEL", "MQL", "SAL", "SQL", "SQO", "disqualified"] {
        assert!(
            reached.get(s).copied().unwrap_or(0) > 0,
            "no generated lead ends in `{s}`: {reached:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The binary

/// A scratch folder for one test: tests run at once, and one removes its folder at the end.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("funnelc-props-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `funnelc eval RULES --leads FILE --format jsonl [--as-of T]` with this many threads.
fn eval_bin(leads: &Path, as_of: Option<&str>, threads: usize) -> Vec<u8> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_funnelc"));
    cmd.args(["eval", RULES, "--leads"])
        .arg(leads)
        .args(["--format", "jsonl"])
        .current_dir(ROOT)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env("NO_COLOR", "1");
    if let Some(t) = as_of {
        cmd.args(["--as-of", t]);
    }
    let out = cmd.output().expect("run funnelc");
    assert!(
        out.status.success(),
        "funnelc eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Output lines by lead id.
fn by_id(out: &[u8]) -> std::collections::BTreeMap<String, String> {
    let text = std::str::from_utf8(out).unwrap();
    let mut m = std::collections::BTreeMap::new();
    for line in text.lines() {
        let v: J = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        assert!(m.insert(id, line.to_string()).is_none(), "duplicate id");
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// (b) Evaluating the leads in another order gives each lead the same output, in the
    /// order of the input (also with the default `as_of`, the latest event of the input).
    #[test]
    fn lead_order_does_not_change_any_lead(
        leads in prop::collection::vec(lead(), 1..40),
        keys in prop::collection::vec(any::<u32>(), 40),
    ) {
        let dir = temp_dir("order");
        let lines: Vec<String> =
            leads.iter().enumerate().map(|(i, l)| l.line(&format!("L{i}"))).collect();
        let mut order: Vec<usize> = (0..lines.len()).collect();
        order.sort_by_key(|&i| (keys[i], i));
        let a = dir.join("order-a.jsonl");
        let b = dir.join("order-b.jsonl");
        std::fs::write(&a, lines.join("\n") + "\n").unwrap();
        std::fs::write(&b, order.iter().map(|&i| lines[i].as_str()).collect::<Vec<_>>().join("\n") + "\n").unwrap();
        // Leads without a single event need an explicit as-of (a usage error otherwise).
        let any_event = leads.iter().any(|l| !l.events.is_empty());
        for as_of in [None, Some("2025-02-15T00:00:00Z")] {
            if as_of.is_none() && !any_event {
                continue;
            }
            let out_a = eval_bin(&a, as_of, 4);
            let out_b = eval_bin(&b, as_of, 4);
            prop_assert_eq!(by_id(&out_a), by_id(&out_b));
            // Output in input order.
            let ids_b: Vec<String> = std::str::from_utf8(&out_b)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<J>(l).unwrap()["id"].as_str().unwrap().to_string())
                .collect();
            let want: Vec<String> = order.iter().map(|i| format!("L{i}")).collect();
            prop_assert_eq!(ids_b, want);
        }
    }
}

/// ~10,000 generated leads, deterministic.
fn big_input() -> Vec<String> {
    let mut runner = TestRunner::deterministic();
    let strategy = lead();
    (0..10_000)
        .map(|i| {
            strategy
                .new_tree(&mut runner)
                .unwrap()
                .current()
                .line(&format!("G{i:05}"))
        })
        .collect()
}

/// (c) and (d): one thread or four give the same bytes; a file split in two and evaluated in
/// two runs gives the same bytes, concatenated, as one run.
#[test]
fn threads_and_splits_do_not_change_the_bytes() {
    let dir = temp_dir("threads");
    let lines = big_input();
    let as_of = "2025-03-20T12:00:00Z";
    let all = dir.join("all.jsonl");
    std::fs::write(&all, lines.join("\n") + "\n").unwrap();
    let one = eval_bin(&all, Some(as_of), 1);
    let four = eval_bin(&all, Some(as_of), 4);
    assert_eq!(one.iter().filter(|b| **b == b'\n').count(), lines.len());
    assert!(one == four, "1 and 4 threads give different output");
    // Split off the batch boundaries (4096 leads).
    let cut = 4_321;
    let head = dir.join("head.jsonl");
    let tail = dir.join("tail.jsonl");
    std::fs::write(&head, lines[..cut].join("\n") + "\n").unwrap();
    std::fs::write(&tail, lines[cut..].join("\n") + "\n").unwrap();
    let mut joined = eval_bin(&head, Some(as_of), 4);
    joined.extend(eval_bin(&tail, Some(as_of), 4));
    assert!(joined == one, "split runs differ from one run");
    // The output says something: several stages are reached.
    let text = String::from_utf8(one).unwrap();
    for s in [
        "\"stage\":\"MQL\"",
        "\"stage\":\"SQL\"",
        "\"name\":\"disqualified\"",
    ] {
        assert!(text.contains(s), "no lead with {s}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
