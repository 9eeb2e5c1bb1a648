//! Explanations: why a lead is where it is, with the actual values behind every decision.
//! Building one evaluates every decision again; `output::explain` renders it as text.

use serde::Serialize;

use super::{
    index_by_type, replay_traced, Breach, EnteredBy, Index, Moment, Operand, Outcome, Snapshot,
    Trigger,
};
use crate::lead::{fmt_num, Lead, Value};
use crate::plan::{Cond, LeaveTo, Plan};
use crate::syntax::ast::{self, BinOp, ExprKind};
use crate::time::format_timestamp;
use crate::time::Timestamp;

/// One node of a condition tree, evaluated.
#[derive(Clone, Debug, Serialize)]
pub struct Node {
    /// The condition as written (or `all of`, `any of`, `not`, `at least K of`).
    pub text: String,
    /// The actual values, e.g. `1 ≥ 1`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub at: String,
    /// The stage entered, or the exit taken.
    pub to: String,
    /// `stage MEL (rules/b2b.funnel:39)` or `move MQL -> MEL (…:97)`.
    pub rule: String,
    /// The event replayed at that instant, or `time` when the passage of time did it.
    pub trigger: String,
    pub condition: Node,
}

#[derive(Clone, Debug, Serialize)]
pub struct Part {
    pub rule: String,
    pub line: usize,
    pub events: usize,
    pub points: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScoreExplained {
    pub name: String,
    pub total: f64,
    pub parts: Vec<Part>,
    /// The sum before the model's cap or floor, when the cap or floor changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capped_from: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub decay: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct NextStage {
    pub stage: String,
    pub condition: Node,
    /// Why a lead that meets the condition is not there yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub id: String,
    /// The lead's name (a `…name` trait) and its dimensions, as `(trait, value)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub about: Vec<(String, String)>,
    pub as_of: String,
    pub position: String,
    pub since: Option<String>,
    pub timeline: Vec<Step>,
    pub scores: Vec<ScoreExplained>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<NextStage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sla_breaches: Vec<Breach>,
}

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

/// Explains a lead: replays it with a trace and evaluates every decision again at its moment.
pub fn explain(plan: &Plan, lead: &Lead, as_of: i64) -> (Outcome, Explanation) {
    let (out, trace) = replay_traced(plan, lead, as_of);
    let (by_type, seen) = index_by_type(plan, lead, as_of);
    let mut timeline = Vec::new();
    let mut snaps = trace.iter();
    for entry in &out.state.entries {
        let Some(snap) = snaps.next() else { break };
        let stage = &plan.stages[entry.stage as usize];
        let (rule, c, expr, scope) = match entry.by {
            EnteredBy::Enter => (
                format!("stage {} ({}:{})", stage.name, plan.file, stage.line),
                &stage.enter,
                &stage.enter_expr,
                None,
            ),
            EnteredBy::Leave(li) => {
                let l = &plan.leaves[li];
                let from = snap
                    .before
                    .stage
                    .map(|s| plan.stages[s as usize].name.clone());
                (
                    format!(
                        "move {} -> {} ({}:{})",
                        from.unwrap_or_default(),
                        stage.name,
                        plan.file,
                        l.line
                    ),
                    &l.when,
                    &l.when_expr,
                    snap.before
                        .stage
                        .and_then(|s| snap.before.latest[s as usize]),
                )
            }
        };
        let cx = moment_at(plan, lead, &by_type, snap, scope);
        timeline.push(Step {
            at: ts(entry.at),
            to: stage.name.clone(),
            rule,
            trigger: trigger_text(plan, lead, entry.trigger),
            condition: node(&cx, c, expr),
        });
    }
    if let (Some(x), Some(snap)) = (&out.state.exit, snaps.next()) {
        let l = &plan.leaves[x.leave];
        let name = match &l.to {
            LeaveTo::Exit(n) => n.clone(),
            LeaveTo::Stage(s) => plan.stages[*s as usize].name.clone(),
        };
        let scope = snap.before.latest[x.from as usize];
        let cx = moment_at(plan, lead, &by_type, snap, scope);
        timeline.push(Step {
            at: ts(x.at),
            to: name.clone(),
            rule: format!("exit {name} ({}:{})", plan.file, l.line),
            trigger: trigger_text(plan, lead, x.trigger),
            condition: node(&cx, &l.when, &l.when_expr),
        });
    }
    let now = Moment {
        plan,
        lead,
        by_type: &by_type,
        state: &out.state,
        t: as_of,
        n: seen,
        scope: None,
        memo: 0,
    };
    let scores = plan
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
            decay: match &m.decay {
                Some(crate::plan::DecayKind::HalfLife(h)) => format!("half-life {}", days(*h)),
                Some(crate::plan::DecayKind::Expire(d)) => format!("expire after {}", days(*d)),
                None => String::new(),
            },
        })
        .collect();
    let next_index = match (&out.state.exit, out.state.stage) {
        (Some(_), _) => None,
        (None, None) => Some(0),
        (None, Some(s)) => Some(s as usize + 1),
    };
    let next = next_index
        .and_then(|i| plan.stages.get(i))
        .map(|s| NextStage {
            stage: match &s.display {
                Some(d) => format!("{} ({d})", s.name),
                None => s.name.clone(),
            },
            condition: node(&now, &s.enter, &s.enter_expr),
            note: None,
        });
    let next = next.map(|mut n| {
        if n.condition.ok {
            if let Some(held) = out.state.held_at {
                n.note = Some(format!(
                    "met, but the lead was moved at {} while this already held: it steps forward at its next event",
                    short_ts(held)
                ));
            }
        }
        n
    });
    let position = super::position(plan, &out);
    let since = out
        .state
        .exit
        .as_ref()
        .map(|x| x.at)
        .or_else(|| out.state.stage.and_then(|s| out.state.latest[s as usize]))
        .map(ts);
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
            let text = match v {
                Value::Missing => return None,
                Value::Text(t) => t.to_string(),
                other => other.to_string(),
            };
            Some((plan.traits[i].0.clone(), text))
        })
        .collect();
    let explanation = Explanation {
        id: lead.id.clone(),
        about,
        as_of: ts(as_of),
        position,
        since,
        timeline,
        scores,
        next,
        sla_breaches: super::sla_breaches(plan, &out),
    };
    (out, explanation)
}

fn days(ms: i64) -> String {
    let d = ms as f64 / 86_400_000.0;
    format!("{}d", fmt_num(d))
}

fn moment_at<'a>(
    plan: &'a Plan,
    lead: &'a Lead,
    by_type: &'a Index,
    snap: &'a Snapshot,
    scope: Option<i64>,
) -> Moment<'a> {
    Moment {
        plan,
        lead,
        by_type,
        state: &snap.before,
        t: snap.at,
        n: snap.n,
        scope,
        memo: 0,
    }
}

fn trigger_text(plan: &Plan, lead: &Lead, t: Trigger) -> String {
    match t {
        Trigger::Timer => "time".to_string(),
        Trigger::Event(i) => match lead.events.get(i) {
            Some(e) => {
                let decl = &plan.events[e.ty as usize];
                let mut s = decl.name.clone();
                for (slot, (p, _)) in decl.props.iter().enumerate() {
                    let v = lead.prop(e, slot);
                    if !v.is_missing() {
                        s.push_str(&format!(" {p} {v}"));
                    }
                }
                s
            }
            None => "an event".to_string(),
        },
    }
}

fn show(v: Operand<'_>) -> String {
    match v.to_value() {
        Value::Missing => "missing".into(),
        other => other.to_string(),
    }
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Ge => "≥",
        BinOp::Le => "≤",
        BinOp::Ne => "≠",
        BinOp::Eq => "=",
        other => other.symbol(),
    }
}

/// Evaluates a condition again, keeping every leaf's actual value.
pub fn node(cx: &Moment<'_>, c: &Cond, e: &ast::Expr) -> Node {
    let ok = cx.eval(c, None).truthy();
    let text = source_text(cx.plan, e.span);
    match (c, &e.kind) {
        (Cond::All(cs), ExprKind::All(es)) => Node {
            text: "all of".into(),
            value: String::new(),
            ok,
            children: cs.iter().zip(es).map(|(c, e)| node(cx, c, e)).collect(),
        },
        (Cond::Any(cs), ExprKind::Any(es)) => Node {
            text: "any of".into(),
            value: String::new(),
            ok,
            children: cs.iter().zip(es).map(|(c, e)| node(cx, c, e)).collect(),
        },
        (Cond::Not(c1), ExprKind::Not(e1)) => Node {
            text: "not".into(),
            value: String::new(),
            ok,
            children: vec![node(cx, c1, e1)],
        },
        (Cond::AtLeast(k, cs), ExprKind::AtLeast { items, .. }) => Node {
            text: format!("at least {k} of"),
            value: String::new(),
            ok,
            children: cs.iter().zip(items).map(|(c, e)| node(cx, c, e)).collect(),
        },
        (Cond::Segment(i), _) => {
            let (name, sc, se) = &cx.plan.segments[*i as usize];
            Node {
                text: format!("{name} (segment)"),
                value: String::new(),
                ok,
                children: vec![node(cx, sc, se)],
            }
        }
        _ => Node {
            text,
            value: leaf_value(cx, c),
            ok,
            children: Vec::new(),
        },
    }
}

fn scores_in(c: &Cond, out: &mut Vec<u16>) {
    match c {
        Cond::Score(i) => out.push(*i),
        Cond::Arith(_, a, b) => {
            scores_in(a, out);
            scores_in(b, out);
        }
        _ => {}
    }
}

fn leaf_value(cx: &Moment<'_>, c: &Cond) -> String {
    match c {
        Cond::Cmp(op, a, b) => {
            let (va, vb) = (cx.eval(a, None), cx.eval(b, None));
            if let Cond::Grade(s) = &**a {
                let grades = &cx.plan.scores[*s as usize].grades;
                let label = |v: Operand<'_>| match v.to_value() {
                    Value::Num(n) => grades
                        .get(n as usize)
                        .map_or("none".into(), |g| g.0.clone()),
                    _ => "none".into(),
                };
                return format!("{} {} {}", label(va), op_symbol(*op), label(vb));
            }
            // Text equality reads best as just the value the lead has.
            let text_eq = matches!(op, BinOp::Eq | BinOp::Ne)
                && matches!(vb.to_value(), Value::Text(_))
                && matches!(**b, Cond::Const(_));
            let mut s = if text_eq {
                show(va)
            } else {
                format!("{} {} {}", show(va), op_symbol(*op), show(vb))
            };
            let mut ids = Vec::new();
            scores_in(a, &mut ids);
            if ids.len() > 1 {
                let parts: Vec<String> = ids
                    .iter()
                    .map(|i| {
                        let m = &cx.plan.scores[*i as usize];
                        format!("{} {}", m.name, fmt_num(cx.score(*i as usize).total))
                    })
                    .collect();
                s.push_str(&format!(" ({})", parts.join(", ")));
            }
            s
        }
        Cond::In(v, _, _) | Cond::Between(v, _, _) | Cond::Test(_, v, _, _) | Cond::Exists(v) => {
            show(cx.eval(v, None))
        }
        Cond::Not(inner) => leaf_value(cx, inner),
        Cond::Present(q) => match cx.pick(q, ast::Which::Last) {
            Some((_, e)) => {
                let n = cx.count(q);
                let times = if n == 1 {
                    String::new()
                } else {
                    format!("{n} times, ")
                };
                format!("yes ({times}last {})", short_ts(e.at))
            }
            None => "none".into(),
        },
        Cond::No(q) => {
            // The last one whatever the window, to show how long it has been.
            let mut last = None;
            cx.select_in(q, false, &mut |_, e| {
                last = Some(e.at);
                true
            });
            match last {
                Some(at) => format!("last {}", short_ts(at)),
                None => "none ever".into(),
            }
        }
        Cond::Has {
            which,
            query,
            props,
            ..
        } => match cx.pick(query, *which) {
            Some((_, e)) => {
                let decl = &cx.plan.events[query.ev as usize];
                let marks: Vec<String> = props
                    .iter()
                    .map(|p| {
                        let name = &decl.props[*p as usize].0;
                        let yes = matches!(cx.lead.prop(e, *p as usize), Value::Bool(true));
                        format!("{name} {}", if yes { "✓" } else { "✗" })
                    })
                    .collect();
                format!("{}: {}", short_ts(e.at), marks.join(" "))
            }
            None => "none recorded".into(),
        },
        Cond::Then { .. } => String::new(),
        other => {
            let v = cx.eval(other, None);
            match v.to_value() {
                Value::Bool(_) => String::new(),
                _ => show(v),
            }
        }
    }
}
