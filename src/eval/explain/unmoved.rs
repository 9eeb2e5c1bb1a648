//! The events whose looks took no step, and why: worked out from the rules at each event's
//! look, with the machine as it stood then (the trace keeps it for every event).

use super::data::{Unmoved, Why};
use super::{
    event_ref, leave_ref, node, position_of, source_text, stage_ref, trigger_node, Instant, Node,
};
use crate::eval::{Index, Moment, Outcome, Snapshot, State, Trigger};
use crate::lead::Lead;
use crate::plan::{Leave, LeaveTo, Plan};
use crate::syntax::ast;

/// Which rules read which event types, worked out once per explanation.
struct Readers {
    /// For each stage: the event types its entry condition reads.
    stages: Vec<Vec<bool>>,
    /// For each move or exit: the event types its `when` condition or guard reads.
    leaves: Vec<Vec<bool>>,
    /// For each score: the event types its rules read.
    scores: Vec<Vec<bool>>,
}

impl Readers {
    fn new(plan: &Plan) -> Self {
        let none = vec![false; plan.events.len()];
        Readers {
            stages: plan
                .stages
                .iter()
                .map(|s| plan.events_read(&s.enter))
                .collect(),
            leaves: plan
                .leaves
                .iter()
                .map(|l| {
                    l.when
                        .as_ref()
                        .map_or(none.clone(), |c| plan.events_read(c))
                })
                .collect(),
            scores: (0..plan.scores.len())
                .map(|i| plan.events_read(&crate::plan::Cond::Score(i as u16)))
                .collect(),
        }
    }
}

fn reads(list: &[bool], ty: u16) -> bool {
    list.get(ty as usize).copied().unwrap_or(false)
}

fn leaves_from(l: &Leave, s: Option<u16>) -> bool {
    s.is_some_and(|s| l.from.as_ref().is_none_or(|f| f.contains(&s)))
}

/// Every event up to `as_of` whose look took no step, in groups (see [`Unmoved`]).
pub(super) fn unmoved(
    plan: &Plan,
    lead: &Lead,
    by_type: &Index,
    out: &Outcome,
    looks: &[&Snapshot],
) -> Vec<Unmoved> {
    let stepped: Vec<usize> = out
        .state
        .entries
        .iter()
        .map(|e| e.trigger)
        .chain(out.state.exit.as_ref().map(|x| x.trigger))
        .filter_map(|t| match t {
            Trigger::Event(i) => Some(i),
            Trigger::Timer => None,
        })
        .collect();
    let readers = Readers::new(plan);
    let mut runs: Vec<Unmoved> = Vec::new();
    // Where the groups of the current stay start: a step ends a stay.
    let mut stay_start = 0;
    let mut last_steps = usize::MAX;
    for snap in looks {
        let Some(i) = snap.look else { continue };
        if stepped.contains(&i) {
            continue;
        }
        let cx = super::moment_at(plan, lead, by_type, snap);
        let why = why(&cx, &readers, i);
        let position = position_of(plan, &snap.before);
        let Some(event) = event_ref(plan, lead, i) else {
            continue;
        };
        let steps = steps_taken(&snap.before);
        if steps != last_steps {
            stay_start = runs.len();
            last_steps = steps;
        }
        let group = runs.get_mut(stay_start..).and_then(|stay| {
            stay.iter_mut().find(|g| {
                g.events.first().is_some_and(|e| e.ty == event.ty) && same_reason(&g.why, &why)
            })
        });
        match group {
            Some(g) => {
                g.events.push(event);
                g.why = why;
            }
            None => runs.push(Unmoved {
                events: vec![event],
                position,
                steps_before: steps,
                why,
            }),
        }
    }
    runs
}

fn steps_taken(s: &State) -> usize {
    s.entries.len() + usize::from(s.exit.is_some())
}

/// Whether two reasons are the same but for the values their conditions read.
fn same_reason(a: &Why, b: &Why) -> bool {
    match (a, b) {
        (Why::Filtered { rule: x, .. }, Why::Filtered { rule: y, .. })
        | (Why::RuleNotMet { rule: x, .. }, Why::RuleNotMet { rule: y, .. }) => x == y,
        (Why::NotMet { stage: x, .. }, Why::NotMet { stage: y, .. }) => x == y,
        _ => a == b,
    }
}

/// Why the look at event `i` took no step. The reasons are tried from the closest to the
/// lead's position outward: a trigger of a rule from its stage, the next stage's condition, a
/// `when` rule from its stage, a rule from elsewhere, a later stage, stages passed, scores.
fn why(cx: &Moment<'_>, r: &Readers, i: usize) -> Why {
    let plan = cx.plan;
    let state = cx.state;
    let Some(ev) = cx.lead.events.get(i) else {
        return Why::Unread;
    };
    let ty = ev.ty;
    if let Some(x) = &state.exit {
        return Why::Exited {
            exit: match plan.leaves.get(x.leave).map(|l| &l.to) {
                Some(LeaveTo::Exit(n)) => n.clone(),
                Some(LeaveTo::Stage(s)) => stage_ref(plan, *s).name,
                None => String::new(),
            },
            at: Instant(x.at),
        };
    }
    let s = state.stage;
    // An `on` rule from this stage with this trigger: its filter or guard said no (had it
    // held, the rule would have fired and taken a step).
    let mut elsewhere = None;
    for l in &plan.leaves {
        let (Some(q), ast::Fires::On { event, guard }) = (&l.on, &l.fires) else {
            continue;
        };
        if q.ev != ty {
            continue;
        }
        if leaves_from(l, s) {
            return Why::Filtered {
                rule: leave_ref(plan, l),
                condition: trigger_node(cx, l, event, guard.as_ref(), Some(ev), false),
            };
        }
        elsewhere.get_or_insert(l);
    }
    let next = s.map_or(0, |s| s as usize + 1);
    if let Some(stage) = plan.stages.get(next) {
        if reads(&r.stages[next], ty) {
            return Why::NotMet {
                stage: stage_ref(plan, next as u16),
                condition: node(cx, &stage.enter, &stage.enter_expr),
            };
        }
    }
    for (li, l) in plan.leaves.iter().enumerate() {
        if l.on.is_some() || !reads(&r.leaves[li], ty) {
            continue;
        }
        if !leaves_from(l, s) {
            elsewhere.get_or_insert(l);
            continue;
        }
        let condition = match (&l.fires, &l.when) {
            (ast::Fires::When(e), Some(c)) => node(cx, c, e),
            (fires, _) => Node::fact(
                fires
                    .exprs()
                    .next()
                    .map(|e| source_text(plan, e.span))
                    .unwrap_or_default(),
                false,
            ),
        };
        return Why::RuleNotMet {
            rule: leave_ref(plan, l),
            spent: condition.ok && state.spent.get(li).copied().unwrap_or(false),
            condition,
        };
    }
    if let Some(l) = elsewhere {
        return Why::NotFrom {
            rule: leave_ref(plan, l),
        };
    }
    if let Some(later) = (next + 1..plan.stages.len()).find(|k| reads(&r.stages[*k], ty)) {
        return Why::Later {
            stage: stage_ref(plan, later as u16),
            needs: stage_ref(plan, next as u16),
        };
    }
    let scores: Vec<String> = plan
        .scores
        .iter()
        .zip(&r.scores)
        .filter(|(_, rd)| reads(rd, ty))
        .map(|(m, _)| m.name.clone())
        .collect();
    let passed: Vec<String> = (0..next.min(plan.stages.len()))
        .filter(|k| reads(&r.stages[*k], ty))
        .map(|k| plan.stages[k].name.clone())
        .collect();
    if !passed.is_empty() {
        return Why::Passed {
            stages: passed,
            scores,
        };
    }
    if !scores.is_empty() {
        return Why::ScoresOnly { scores };
    }
    Why::Unread
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::super::{explain, Why};
    use crate::plan::samples::compile_src;

    const RULES: &str = r#"
schema {
  trait region: text
  event signup
  event call { minutes: int }
  event demo
  event deal
  event lost { reason: text }
  event opened
  event sent
}
score engagement {
  +1 per opened
}
stage A { enter when signup }
stage B { enter when count call where minutes >= 10 >= 2 }
stage C { enter when demo }
stage D { enter when deal }
move D -> B when count call where minutes < 5 since entering D >= 2
exit lost from D on lost where reason != "timing" when region == "us"
"#;

    fn at(day: u32) -> String {
        format!("2025-01-{day:02}T09:00:00Z")
    }

    /// Each reason, at the event that shows it.
    #[test]
    fn each_event_gets_the_reason_of_its_look() {
        let plan = compile_src(RULES);
        let events = [
            ("sent", ""),
            ("signup", ""),
            ("demo", ""),
            ("call", r#", "minutes": 20"#),
            ("lost", r#", "reason": "price""#),
            ("opened", ""),
            ("call", r#", "minutes": 15"#),
            ("signup", ""),
            ("deal", ""),
            ("call", r#", "minutes": 3"#),
            ("lost", r#", "reason": "timing""#),
            ("lost", r#", "reason": "price""#),
            ("demo", ""),
        ];
        let list: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(i, (ty, props))| {
                format!(r#"{{"type": "{ty}", "at": "{}"{props}}}"#, at(i as u32 + 1))
            })
            .collect();
        let line = format!(
            r#"{{"id": "x", "traits": {{"region": "us"}}, "events": [{}]}}"#,
            list.join(", ")
        );
        let lead = crate::input::jsonl::parse_line(&plan, &line, "t".into())
            .unwrap()
            .0;
        let as_of = lead.events.last().unwrap().at;
        let (out, x) = explain(&plan, &lead, as_of);
        assert!(out.state.exit.is_some());
        let reason = |i: usize| -> &Why {
            &x.unmoved
                .iter()
                .find(|u| u.events.iter().any(|e| e.index == i))
                .unwrap_or_else(|| panic!("event {i} is not listed"))
                .why
        };
        assert!(matches!(reason(0), Why::Unread));
        assert!(
            matches!(reason(2), Why::Later { stage, needs } if stage.name == "C" && needs.name == "B")
        );
        assert!(
            matches!(reason(3), Why::NotMet { stage, condition } if stage.name == "B" && !condition.ok)
        );
        assert!(matches!(reason(4), Why::NotFrom { .. }));
        assert!(matches!(reason(5), Why::ScoresOnly { scores } if scores == &["engagement"]));
        assert!(matches!(reason(7), Why::Passed { stages, .. } if stages == &["A"]));
        assert!(matches!(reason(9), Why::RuleNotMet { spent: false, .. }));
        match reason(10) {
            Why::Filtered { condition, .. } => assert!(!condition.ok),
            other => panic!("{other:?}"),
        }
        assert!(matches!(reason(12), Why::Exited { exit, .. } if exit == "lost"));
        // The steps' events are not listed: signup (A), the second call (B, C), deal, exit.
        for i in [1, 6, 8, 11] {
            assert!(x
                .unmoved
                .iter()
                .all(|u| u.events.iter().all(|e| e.index != i)));
        }
    }
}
