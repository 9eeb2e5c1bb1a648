//! A condition evaluated again at a moment, node by node, keeping what each leaf read.

use super::data::{Datum, Earlier, Instant, Node, Outside, PropMark, Reading, Scope, ScoreValues};
use super::source_text;
use crate::eval::{Moment, Operand};
use crate::lead::{Event, Value};
use crate::plan::{Cond, Query};
use crate::syntax::ast::{self, ExprKind, Which};

/// Evaluates a condition again, keeping every leaf's actual value.
pub fn node(cx: &Moment<'_>, c: &Cond, e: &ast::Expr) -> Node {
    node_on(cx, c, e, None)
}

/// [`node`] for a condition about the event `ev` (a `where` filter).
pub fn node_on(cx: &Moment<'_>, c: &Cond, e: &ast::Expr, ev: Option<&Event>) -> Node {
    let ok = cx.eval(c, ev).truthy();
    let group = |text: String, children: Vec<Node>| Node {
        text,
        ok,
        value: None,
        children,
    };
    let each = |cs: &[Cond], es: &[ast::Expr]| -> Vec<Node> {
        cs.iter()
            .zip(es)
            .map(|(c, e)| node_on(cx, c, e, ev))
            .collect()
    };
    match (c, &e.kind) {
        (Cond::All(cs), ExprKind::All(es)) => group("all of".into(), each(cs, es)),
        (Cond::Any(cs), ExprKind::Any(es)) => group("any of".into(), each(cs, es)),
        (Cond::Not(c1), ExprKind::Not(e1)) => group("not".into(), vec![node_on(cx, c1, e1, ev)]),
        (Cond::AtLeast(k, cs), ExprKind::AtLeast { items, .. }) => {
            group(format!("at least {k} of"), each(cs, items))
        }
        (Cond::Segment(i), _) => {
            let (name, sc, se) = &cx.plan.segments[*i as usize];
            group(format!("{name} (segment)"), vec![node(cx, sc, se)])
        }
        _ => Node {
            text: source_text(cx.plan, e.span),
            ok,
            value: reading(cx, c, ev),
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

fn datum(v: Operand<'_>) -> Datum {
    Datum(v.to_value())
}

fn scope(q: &Query, cx: &Moment<'_>) -> Option<Scope> {
    (q.since.is_some() || q.within.is_some()).then(|| Scope {
        since: q
            .since
            .and_then(|s| cx.plan.stages.get(s as usize))
            .map(|s| s.name.clone()),
        within_ms: q.within,
    })
}

/// The last event `q` matches in the history, with its scopes dropped as asked.
fn last_of(cx: &Moment<'_>, q: &Query, keep_since: bool, keep_within: bool) -> Option<i64> {
    let mut q = q.clone();
    if !keep_since {
        q.since = None;
    }
    if !keep_within {
        q.within = None;
    }
    cx.pick(&q, Which::Last).map(|(_, e)| e.at)
}

/// With nothing matching in the query's scopes: the last match outside them, so an absence
/// in this stay or window is not shown as an absence ever. Past the window first (that one
/// is in the stay, if the query has one too), then before the stay.
fn earlier(cx: &Moment<'_>, q: &Query) -> Option<Earlier> {
    let past_window = q
        .within
        .and_then(|_| last_of(cx, q, true, false))
        .map(|at| (at, Outside::Window));
    let before_stay = || {
        q.since
            .and_then(|_| last_of(cx, q, false, false))
            .map(|at| (at, Outside::Stay))
    };
    past_window
        .or_else(before_stay)
        .map(|(at, outside)| Earlier {
            at: Instant(at),
            outside,
        })
}

fn reading(cx: &Moment<'_>, c: &Cond, ev: Option<&Event>) -> Option<Reading> {
    Some(match c {
        Cond::Cmp(op, a, b) => {
            let (va, vb) = (cx.eval(a, ev), cx.eval(b, ev));
            let op = op.symbol();
            if let Cond::Grade(s) = &**a {
                let grades = &cx.plan.scores[*s as usize].grades;
                let label = |v: Operand<'_>| match v.to_value() {
                    Value::Num(n) => grades.get(n as usize).map(|g| g.0.clone()),
                    _ => None,
                };
                return Some(Reading::Grade {
                    op,
                    left: label(va),
                    right: label(vb),
                });
            }
            let mut ids = Vec::new();
            scores_in(a, &mut ids);
            let scores = (ids.len() > 1).then(|| {
                ScoreValues(
                    ids.iter()
                        .map(|i| {
                            let m = &cx.plan.scores[*i as usize];
                            (m.name.clone(), cx.score(*i as usize).total)
                        })
                        .collect(),
                )
            });
            let right = datum(vb);
            Reading::Compare {
                op,
                left: datum(va),
                threshold: matches!(**b, Cond::Const(_)).then(|| right.clone()),
                right,
                scores,
            }
        }
        Cond::In(v, _, _) | Cond::Between(v, _, _) | Cond::Test(_, v, _, _) | Cond::Exists(v) => {
            Reading::Value {
                value: datum(cx.eval(v, ev)),
            }
        }
        Cond::Not(inner) => return reading(cx, inner, ev),
        Cond::Present(q) => {
            let count = cx.count(q);
            let last = cx.pick(q, Which::Last).map(|(_, e)| Instant(e.at));
            Reading::Events {
                count,
                last,
                earlier: if last.is_none() { earlier(cx, q) } else { None },
                scope: scope(q, cx),
            }
        }
        Cond::No(q) => {
            // The last one whatever the window, to show how long it has been; with none in
            // this stay, the last before it.
            let last = last_of(cx, q, true, false).map(Instant);
            let before = match (last, q.since) {
                (None, Some(_)) => last_of(cx, q, false, false).map(|at| Earlier {
                    at: Instant(at),
                    outside: Outside::Stay,
                }),
                _ => None,
            };
            Reading::Absence {
                last,
                earlier: before,
                scope: scope(q, cx).unwrap_or(Scope {
                    since: None,
                    within_ms: None,
                }),
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
                Reading::Has {
                    at: Some(Instant(e.at)),
                    props: props
                        .iter()
                        .map(|p| PropMark {
                            name: decl.props[*p as usize].0.clone(),
                            value: matches!(cx.lead.prop(e, *p as usize), Value::Bool(true)),
                        })
                        .collect(),
                    earlier: None,
                    scope: scope(query, cx),
                }
            }
            None => Reading::Has {
                at: None,
                props: Vec::new(),
                earlier: earlier(cx, query),
                scope: scope(query, cx),
            },
        },
        Cond::Then { .. } => return None,
        other => {
            let v = cx.eval(other, ev);
            match v.to_value() {
                Value::Bool(_) => return None,
                value => Reading::Value {
                    value: Datum(value),
                },
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::super::{explain, Earlier, Instant, Outside, Reading};
    use crate::plan::samples::compile_src;

    /// The `value` of the next stage's condition (one leaf) for a lead with these events.
    fn next_reading(rules: &str, events: &str, as_of: &str) -> Reading {
        let plan = compile_src(rules);
        let line = format!(r#"{{"id": "x", "events": [{events}]}}"#);
        let lead = crate::input::jsonl::parse_line(&plan, &line, "t".into())
            .unwrap()
            .0;
        let as_of = crate::time::parse_timestamp(as_of).unwrap().millis;
        let (_, x) = explain(&plan, &lead, as_of);
        x.next.unwrap().condition.value.unwrap()
    }

    fn day(d: u32) -> Instant {
        Instant(
            crate::time::parse_timestamp(&format!("2025-01-{d:02}T00:00:00Z"))
                .unwrap()
                .millis,
        )
    }

    /// A scoped query with nothing in its scopes names the last match outside them.
    #[test]
    fn an_absence_in_a_scope_names_the_event_before_it() {
        let schema = "schema {\n  event a\n  event b\n}\nstage A { enter when a }\n";
        let events = r#"{"type": "b", "at": "2025-01-01"}, {"type": "a", "at": "2025-01-02"}"#;
        let since = format!("{schema}stage B {{ enter when b since entering A }}");
        match next_reading(&since, events, "2025-01-10T00:00:00Z") {
            Reading::Events {
                count: 0, earlier, ..
            } => assert_eq!(
                earlier,
                Some(Earlier {
                    at: day(1),
                    outside: Outside::Stay
                })
            ),
            other => panic!("{other:?}"),
        }
        let within = format!("{schema}stage B {{ enter when b within 12h }}");
        match next_reading(&within, events, "2025-01-10T00:00:00Z") {
            Reading::Events {
                count: 0, earlier, ..
            } => assert_eq!(
                earlier,
                Some(Earlier {
                    at: day(1),
                    outside: Outside::Window
                })
            ),
            other => panic!("{other:?}"),
        }
        let absence = format!("{schema}stage B {{ enter when no b within 30d since entering A }}");
        match next_reading(&absence, events, "2025-01-10T00:00:00Z") {
            Reading::Absence {
                last: None,
                earlier,
                ..
            } => assert_eq!(
                earlier,
                Some(Earlier {
                    at: day(1),
                    outside: Outside::Stay
                })
            ),
            other => panic!("{other:?}"),
        }
    }
}
