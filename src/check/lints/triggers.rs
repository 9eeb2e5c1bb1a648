//! `funnel::event_condition` and `funnel::reentry`: the two ways a move or exit is commonly
//! written to mean something other than what it does (see `docs/semantics.md`, "Moves and
//! exits").
//!
//! - `when sales.returned` is a state: it holds from the first return on, for as long as the
//!   history lasts. A rule that means "as it happens" is `on sales.returned`.
//! - After `move MQL -> MEL`, the lead is in MEL and steps forward at once if MQL's entry
//!   condition still holds; unless that condition asks for evidence from the new stay
//!   (`since entering MEL`), the move is undone at the same instant.

use std::collections::BTreeMap;

use super::num_lit;
use crate::check::symbols::*;
use crate::check::types::short;
use crate::diag::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::*;

pub(super) fn check(file: &File, src: &str, sym: &Symbols, diags: &mut Vec<Diagnostic>) {
    let segments: BTreeMap<&str, &Expr> = file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Segment(s) => Some((s.name.text.as_str(), &s.expr)),
            _ => None,
        })
        .collect();
    let enter: Vec<Option<&Expr>> = file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Stage(s) => Some(s.enter.first()),
            _ => None,
        })
        .collect();
    for item in &file.items {
        let fires = match item {
            Item::Move(m) => &m.fires,
            Item::Exit(x) => &x.fires,
            _ => continue,
        };
        if let Fires::When(c) = fires {
            if let Some((name, query)) = occurrence(c, sym) {
                let event = short(src, c);
                let trigger = src.get(query.start..query.end).unwrap_or(name);
                diags.push(
                    Diagnostic::warning(
                        Code::EventCondition,
                        c.span,
                        format!("`when {event}` holds from the first `{name}` on, not as it happens"),
                    )
                    .label("a condition over the whole history: true at every look after the first such event")
                    .help(format!("to fire as the event is replayed, write `on {trigger}`")),
                );
            }
        }
        let Item::Move(m) = item else { continue };
        let (Some(f), Some(t)) = (sym.stage_index(&m.from.text), sym.stage_index(&m.to.text))
        else {
            continue;
        };
        // Only a backward move lands below a stage the lead had reached.
        if t >= f {
            continue;
        }
        let next = t + 1;
        let Some(Some(cond)) = enter.get(next) else {
            continue;
        };
        let fresh = Fresh {
            stage: &m.to.text,
            segments: &segments,
            depth: 0,
        };
        if !fresh.false_at_entry(cond) {
            let next_name = &sym.stages[next].name;
            diags.push(
                Diagnostic::warning(
                    Code::Reentry,
                    m.span,
                    format!(
                        "after this move, a lead re-enters `{next_name}` at once if the evidence that qualified it still holds"
                    ),
                )
                .with(cond.span, format!("`{next_name}`'s entry condition asks for nothing from the new stay in `{}`", m.to.text))
                .help(format!(
                    "ask for fresh evidence in `{next_name}`'s condition, e.g. `... since entering {}`",
                    m.to.text
                )),
            );
        }
    }
}

/// The event a condition tests the occurrence of, when that is all it tests:
/// `sales.returned`, `sales.returned where reason == "budget"`, `count sales.returned >= 1`.
/// A window or a `since entering` scope makes it a real state, and is left alone.
fn occurrence<'e>(c: &'e Expr, sym: &Symbols) -> Option<(&'e str, Span)> {
    let q = match &c.kind {
        // A bare name is an event query without filter or scope when it names an event.
        ExprKind::Name(n) => {
            return sym
                .events
                .contains_key(&n.text)
                .then_some((n.text.as_str(), n.span))
        }
        ExprKind::Event(q) => q,
        ExprKind::Binary { op, lhs, rhs } => match (&lhs.kind, num_lit(rhs)) {
            (ExprKind::Count(q), Some(v))
                if (*op == BinOp::Ge && v == 1.0) || (*op == BinOp::Gt && v == 0.0) =>
            {
                q
            }
            _ => return None,
        },
        _ => return None,
    };
    (q.within.is_none() && q.since.is_none()).then_some((q.event.text.as_str(), q.span))
}

/// Whether a condition is false right after an entry into `stage`, before any new event:
/// every way it can hold needs evidence from the new stay. Conservative: `false` when unsure.
struct Fresh<'a> {
    stage: &'a str,
    segments: &'a BTreeMap<&'a str, &'a Expr>,
    depth: usize,
}

impl Fresh<'_> {
    fn scoped(&self, q: &EventQuery) -> bool {
        q.since.as_ref().is_some_and(|s| s.text == self.stage)
    }

    fn false_at_entry(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Event(q) => self.scoped(q),
            ExprKind::Has { query, .. } => self.scoped(query),
            ExprKind::Then(steps) => steps.first().is_some_and(|q| self.scoped(q)),
            ExprKind::All(v) => v.iter().any(|x| self.false_at_entry(x)),
            ExprKind::Any(v) => v.iter().all(|x| self.false_at_entry(x)),
            ExprKind::AtLeast { k, items } => {
                let open = items.iter().filter(|x| !self.false_at_entry(x)).count();
                open < *k as usize
            }
            ExprKind::Name(n) => match self.segments.get(n.text.as_str()) {
                // Segments may nest; a cycle is its own error, so a bound suffices here.
                Some(seg) if self.depth < 64 => Fresh {
                    depth: self.depth + 1,
                    ..*self
                }
                .false_at_entry(seg),
                _ => false,
            },
            ExprKind::Binary { op, lhs, rhs } => {
                let Some(v) = num_lit(rhs) else { return false };
                // Counts and days in the new stay start at zero.
                let zero = match &lhs.kind {
                    ExprKind::Count(q) => self.scoped(q),
                    ExprKind::DaysSinceEntering(s) => s.text == self.stage,
                    _ => false,
                };
                zero && match op {
                    BinOp::Ge => v > 0.0,
                    BinOp::Gt => v >= 0.0,
                    BinOp::Eq => v != 0.0,
                    _ => false,
                }
            }
            _ => false,
        }
    }
}
