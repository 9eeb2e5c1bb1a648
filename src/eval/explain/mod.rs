//! Explanations: why a lead is where it is, with the actual values behind every decision, and
//! why the events that changed nothing did not. Building one evaluates every decision again;
//! `output::explain` renders it as text, and its serialization is the JSON of
//! `docs/explain.md`.

mod data;
mod node;
mod unmoved;

pub use data::{
    About, Datum, Decay, Earlier, EventRef, Explanation, Instant, NextStage, Node, Outside, Part,
    Position, PropMark, Reading, RuleRef, Scope, ScoreExplained, ScoreValues, Scores, StageRef,
    Step, TriggerRef, Unmoved, Why,
};
pub use node::{node, node_on};

use super::{index_by_type, replay_traced, EnteredBy, Index, Moment, Outcome, Snapshot, Trigger};
use crate::lead::{Lead, Value};
use crate::plan::{Leave, LeaveTo, Plan};
use crate::syntax::ast;
use crate::time::format_timestamp;
use crate::time::Timestamp;

fn ts(ms: i64) -> String {
    format_timestamp(Timestamp { millis: ms })
}

/// An instant as explanations show it, in their notes and in `output::explain`.
pub fn short_ts(ms: i64) -> String {
    // `2025-01-04 09:12`, seconds only when not zero.
    let full = ts(ms);
    let (date, time) = full.split_once('T').unwrap_or((&full, ""));
    let time = time.trim_end_matches('Z');
    let time = time.strip_suffix(":00").unwrap_or(time);
    format!("{date} {time}")
}

fn source_text(plan: &Plan, span: crate::span::Span) -> String {
    let t = plan.source.get(span.start..span.end).unwrap_or("");
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn stage_ref(plan: &Plan, s: u16) -> StageRef {
    match plan.stages.get(s as usize) {
        Some(st) => StageRef {
            name: st.name.clone(),
            title: st.display.clone(),
        },
        None => StageRef {
            name: String::new(),
            title: None,
        },
    }
}

fn stage_names(plan: &Plan, from: &Option<Vec<u16>>) -> Option<Vec<String>> {
    from.as_ref().map(|f| {
        f.iter()
            .filter_map(|s| plan.stages.get(*s as usize))
            .map(|s| s.name.clone())
            .collect()
    })
}

/// A move or an exit as a rule reference.
fn leave_ref(plan: &Plan, l: &Leave) -> RuleRef {
    let from = stage_names(plan, &l.from);
    match &l.to {
        LeaveTo::Exit(name) => RuleRef::Exit {
            name: name.clone(),
            from,
            file: plan.file.clone(),
            line: l.line,
        },
        LeaveTo::Stage(s) => RuleRef::Move {
            from,
            to: stage_ref(plan, *s).name,
            file: plan.file.clone(),
            line: l.line,
        },
    }
}

fn stage_rule(plan: &Plan, s: usize) -> RuleRef {
    let st = &plan.stages[s];
    RuleRef::Stage {
        name: st.name.clone(),
        file: plan.file.clone(),
        line: st.line,
    }
}

fn event_ref(plan: &Plan, lead: &Lead, i: usize) -> Option<EventRef> {
    let e = lead.events.get(i)?;
    let decl = plan.events.get(e.ty as usize)?;
    let properties = decl
        .props
        .iter()
        .enumerate()
        .filter_map(|(slot, (p, _))| {
            let v = lead.prop(e, slot);
            (!v.is_missing()).then(|| (p.clone(), Datum(v.clone())))
        })
        .collect();
    Some(EventRef {
        ty: decl.name.clone(),
        at: Instant(e.at),
        index: i,
        properties,
    })
}

fn trigger_ref(plan: &Plan, lead: &Lead, t: Trigger) -> TriggerRef {
    match t {
        Trigger::Event(i) => match event_ref(plan, lead, i) {
            Some(e) => TriggerRef::Event(e),
            None => TriggerRef::Timer { timer: true },
        },
        Trigger::Timer => TriggerRef::Timer { timer: true },
    }
}

fn position_of(plan: &Plan, state: &super::State) -> Position {
    match (&state.exit, state.stage) {
        (Some(x), _) => Position::Exited {
            name: match plan.leaves.get(x.leave).map(|l| &l.to) {
                Some(LeaveTo::Exit(n)) => n.clone(),
                Some(LeaveTo::Stage(s)) => stage_ref(plan, *s).name,
                None => String::new(),
            },
            from: stage_ref(plan, x.from),
        },
        (None, Some(s)) => Position::Stage {
            stage: stage_ref(plan, s),
        },
        (None, None) => Position::Outside,
    }
}

/// Explains a lead: replays it with a trace and evaluates every decision again at its moment.
pub fn explain(plan: &Plan, lead: &Lead, as_of: i64) -> (Outcome, Explanation) {
    let (out, trace) = replay_traced(plan, lead, as_of);
    let (by_type, seen) = index_by_type(plan, lead, as_of);
    let looks: Vec<&Snapshot> = trace.iter().filter(|s| s.look.is_some()).collect();
    let mut timeline = Vec::new();
    for (step, snap) in steps(&out, &trace) {
        let cx = moment_at(plan, lead, &by_type, snap);
        match step {
            StepOf::Entry(entry) => {
                let (rule, condition) = match entry.by {
                    EnteredBy::Enter => {
                        let stage = &plan.stages[entry.stage as usize];
                        (
                            stage_rule(plan, entry.stage as usize),
                            node(&cx, &stage.enter, &stage.enter_expr),
                        )
                    }
                    EnteredBy::Leave(li) => {
                        let l = &plan.leaves[li];
                        (leave_ref(plan, l), leave_node(&cx, l, entry.trigger))
                    }
                };
                timeline.push(Step {
                    at: Instant(entry.at),
                    from: snap.before.stage.map(|s| stage_ref(plan, s)),
                    to: stage_ref(plan, entry.stage),
                    rule,
                    trigger: trigger_ref(plan, lead, entry.trigger),
                    condition,
                });
            }
            StepOf::Exit(x) => {
                let l = &plan.leaves[x.leave];
                let to = match &l.to {
                    LeaveTo::Exit(n) => StageRef {
                        name: n.clone(),
                        title: None,
                    },
                    LeaveTo::Stage(s) => stage_ref(plan, *s),
                };
                timeline.push(Step {
                    at: Instant(x.at),
                    from: Some(stage_ref(plan, x.from)),
                    to,
                    rule: leave_ref(plan, l),
                    trigger: trigger_ref(plan, lead, x.trigger),
                    condition: leave_node(&cx, l, x.trigger),
                });
            }
        }
    }
    let now = moment_now(plan, lead, &by_type, &out, as_of, seen);
    let scores = Scores {
        list: plan
            .scores
            .iter()
            .zip(&out.scores)
            .map(|(m, v)| ScoreExplained {
                name: m.name.clone(),
                total: v.total,
                parts: v
                    .parts
                    .iter()
                    .map(|(ri, pts, n)| Part {
                        rule: m.rules[*ri].text.clone(),
                        file: plan.file.clone(),
                        line: m.rules[*ri].line,
                        events: *n,
                        points: *pts,
                    })
                    .collect(),
                capped_from: (v.raw != v.total).then_some(v.raw),
                grade: v
                    .grade
                    .and_then(|g| m.grades.get(g))
                    .map(|(l, _)| l.clone()),
                decay: m.decay.as_ref().map(|d| match d {
                    crate::plan::DecayKind::HalfLife(h) => Decay {
                        kind: "half-life",
                        days: *h as f64 / 86_400_000.0,
                    },
                    crate::plan::DecayKind::Expire(d) => Decay {
                        kind: "expire",
                        days: *d as f64 / 86_400_000.0,
                    },
                }),
            })
            .collect(),
        graded: plan.scores.iter().map(|m| !m.grades.is_empty()).collect(),
    };
    let next_index = match (&out.state.exit, out.state.stage) {
        (Some(_), _) => None,
        (None, None) => Some(0),
        (None, Some(s)) => Some(s as usize + 1),
    };
    let next = next_index
        .and_then(|i| plan.stages.get(i).map(|s| (i, s)))
        .map(|(i, s)| NextStage {
            stage: stage_ref(plan, i as u16),
            condition: node(&now, &s.enter, &s.enter_expr),
        });
    let since = out
        .state
        .exit
        .as_ref()
        .map(|x| x.at)
        .or_else(|| out.state.stage.and_then(|s| out.state.latest[s as usize]))
        .map(Instant);
    let mut about_slots: Vec<usize> = plan
        .traits
        .iter()
        .enumerate()
        .filter(|(_, (p, _))| p == "name" || p.ends_with(".name"))
        .map(|(i, _)| i)
        .collect();
    about_slots.extend(plan.dimensions.iter().copied());
    about_slots.dedup();
    let about = about_slots
        .into_iter()
        .filter_map(|i| {
            let v = lead.traits.get(i)?;
            (!matches!(v, Value::Missing)).then(|| About {
                path: plan.traits[i].0.clone(),
                value: Datum(v.clone()),
            })
        })
        .collect();
    let unmoved = unmoved::unmoved(plan, lead, &by_type, &out, &looks);
    let explanation = Explanation {
        id: lead.id.clone(),
        about,
        as_of: Instant(as_of),
        position: position_of(plan, &out.state),
        since,
        timeline,
        scores,
        next,
        unmoved,
        sla_breaches: super::sla_breaches(plan, &out),
    };
    (out, explanation)
}

/// A step of a replay: an entry into a stage, or the exit.
enum StepOf<'a> {
    Entry(&'a super::Entry),
    Exit(&'a super::ExitRecord),
}

/// Each step of a replay (every entry in order, then the exit), with the snapshot of the state
/// just before it.
fn steps<'a>(out: &'a Outcome, trace: &'a [Snapshot]) -> Vec<(StepOf<'a>, &'a Snapshot)> {
    let mut snaps = trace.iter().filter(|s| s.look.is_none());
    let mut steps = Vec::new();
    for entry in &out.state.entries {
        let Some(snap) = snaps.next() else {
            return steps;
        };
        steps.push((StepOf::Entry(entry), snap));
    }
    if let (Some(x), Some(snap)) = (&out.state.exit, snaps.next()) {
        steps.push((StepOf::Exit(x), snap));
    }
    steps
}

/// A rule that fired in a replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fired {
    /// A stage's `enter when` (the stage's index).
    Enter(usize),
    /// A move or an exit (index into `plan.leaves`).
    Leave(usize),
    /// A `when` rule of a score (score, rule) that gives points at the moment asked for.
    Points(usize, usize),
}

/// Every rule that fired in the replay of `lead` up to `as_of`, with its condition evaluated
/// again, as an explanation shows it, at the moment it fired: each stage entry (by the
/// stage's condition, or a move's), the exit, and each score rule `when` a condition that gives
/// points at `as_of`. A move or exit `on` an event shows its guard; one without a guard, and
/// a `per` score rule, have no condition and are left out. For test coverage, which asks
/// which parts of a condition held when it mattered.
pub fn fired(plan: &Plan, lead: &Lead, as_of: i64) -> (Outcome, Vec<(Fired, Node)>) {
    let (out, trace) = replay_traced(plan, lead, as_of);
    let (by_type, seen) = index_by_type(plan, lead, as_of);
    let mut fired = Vec::new();
    let leave = |cx: &Moment<'_>, li: usize| {
        let l = &plan.leaves[li];
        let e = match &l.fires {
            ast::Fires::When(e) => Some(e),
            ast::Fires::On { guard, .. } => guard.as_ref(),
        };
        match (&l.when, e) {
            (Some(c), Some(e)) => Some((Fired::Leave(li), node(cx, c, e))),
            _ => None,
        }
    };
    for (step, snap) in steps(&out, &trace) {
        let cx = moment_at(plan, lead, &by_type, snap);
        match step {
            StepOf::Entry(entry) => match entry.by {
                EnteredBy::Enter => {
                    let s = entry.stage as usize;
                    let stage = &plan.stages[s];
                    fired.push((Fired::Enter(s), node(&cx, &stage.enter, &stage.enter_expr)));
                }
                EnteredBy::Leave(li) => fired.extend(leave(&cx, li)),
            },
            StepOf::Exit(x) => fired.extend(leave(&cx, x.leave)),
        }
    }
    let now = moment_now(plan, lead, &by_type, &out, as_of, seen);
    for (si, (model, value)) in plan.scores.iter().zip(&out.scores).enumerate() {
        for &(ri, _, _) in &value.parts {
            let rule = &model.rules[ri];
            if let (crate::plan::RulePoints::When(c), Some(e)) = (&rule.kind, &rule.expr) {
                fired.push((Fired::Points(si, ri), node(&now, c, e)));
            }
        }
    }
    (out, fired)
}

/// The evaluation moment, with the lead as it ended up: what scores are read at.
fn moment_now<'a>(
    plan: &'a Plan,
    lead: &'a Lead,
    by_type: &'a Index,
    out: &'a Outcome,
    as_of: i64,
    seen: usize,
) -> Moment<'a> {
    Moment {
        plan,
        lead,
        by_type,
        state: &out.state,
        t: as_of,
        n: seen,
        memo: 0,
    }
}

/// The moment a snapshot was taken at, as the machine saw it then.
pub(super) fn moment_at<'a>(
    plan: &'a Plan,
    lead: &'a Lead,
    by_type: &'a Index,
    snap: &'a Snapshot,
) -> Moment<'a> {
    Moment {
        plan,
        lead,
        by_type,
        state: &snap.before,
        t: snap.at,
        n: snap.n,
        memo: 0,
    }
}

/// Why a move or an exit fired: its condition, or its trigger and guard. The trigger is the
/// event replayed at that look, which the step names; the node says which rule it matched.
fn leave_node(cx: &Moment<'_>, l: &Leave, trigger: Trigger) -> Node {
    match &l.fires {
        ast::Fires::When(e) => match &l.when {
            Some(c) => node(cx, c, e),
            None => Node::fact(source_text(cx.plan, e.span), false),
        },
        ast::Fires::On { event, guard } => {
            let ev = match trigger {
                Trigger::Event(i) => cx.lead.events.get(i),
                Trigger::Timer => None,
            };
            trigger_node(cx, l, event, guard.as_ref(), ev, true)
        }
    }
}

/// An `on` rule's trigger and guard, evaluated for event `ev`: `on EVENT` (with its `where`
/// filter's values when `with_filter`), and the guard.
fn trigger_node(
    cx: &Moment<'_>,
    l: &Leave,
    event: &ast::Expr,
    guard: Option<&ast::Expr>,
    ev: Option<&crate::lead::Event>,
    fired: bool,
) -> Node {
    let filter = match (&event.kind, l.on.as_ref().and_then(|q| q.filter.as_deref())) {
        (ast::ExprKind::Event(q), Some(f)) => q.filter.as_deref().map(|fe| node_on(cx, f, fe, ev)),
        _ => None,
    };
    let filter_ok = filter.as_ref().is_none_or(|f| f.ok);
    let mut on = Node::fact(
        format!("on {}", source_text(cx.plan, event.span)),
        filter_ok,
    );
    // When the rule fired, the filter held: the step names the event, which says enough.
    if !fired {
        on.children.extend(filter);
    }
    match (guard, &l.when) {
        (Some(e), Some(c)) => {
            let g = node(cx, c, e);
            Node {
                text: "all of".into(),
                ok: on.ok && g.ok,
                value: None,
                children: vec![on, g],
            }
        }
        _ => on,
    }
}
