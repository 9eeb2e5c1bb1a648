//! `funnel::stage_order`: detours that go forward, KPIs that measure backwards, and entry
//! conditions that look at a stage the lead cannot have entered yet.

use super::walk;
use crate::check::symbols::*;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// Detours that go forward, KPIs that measure backwards, and conditions that look at a stage
/// the lead cannot have entered yet.
pub(super) fn check(items: &[Item], sym: &Symbols, diags: &mut Vec<Diagnostic>) {
    for item in items {
        match item {
            Item::Move(m) => {
                let (Some(f), Some(t)) =
                    (sym.stage_index(&m.from.text), sym.stage_index(&m.to.text))
                else {
                    continue;
                };
                if f == t {
                    diags.push(
                        Diagnostic::warning(
                            Code::StageOrder,
                            m.to.span,
                            format!(
                                "`move {} -> {}` leaves a stage for itself",
                                m.from.text, m.to.text
                            ),
                        )
                        .help("a move returns a lead to an earlier stage"),
                    );
                } else if t > f {
                    diags.push(
                        Diagnostic::warning(
                            Code::StageOrder,
                            m.to.span,
                            format!("`move {} -> {}` goes forward", m.from.text, m.to.text),
                        )
                        .label(format!("`{}` comes after `{}`", m.to.text, m.from.text))
                        .help("leads move forward through stage entry conditions, one stage at a time; a move returns a lead to an earlier stage"),
                    );
                }
            }
            Item::Kpi(k) => {
                let (from, to, what) = match k {
                    Kpi::Conversion { from, to, .. } => (from, to, "conversion"),
                    Kpi::Velocity { from, to, .. } => (from, to, "velocity"),
                };
                if let (Some(f), Some(t)) = (sym.stage_index(&from.text), sym.stage_index(&to.text))
                {
                    if t <= f {
                        diags.push(
                            Diagnostic::warning(
                                Code::StageOrder,
                                to.span,
                                format!(
                                    "{what} from `{}` to `{}` runs backwards",
                                    from.text, to.text
                                ),
                            )
                            .label(format!("`{}` does not come after `{}`", to.text, from.text))
                            .help(format!("write it as `{} -> {}`", to.text, from.text)),
                        );
                    }
                }
            }
            Item::Stage(s) => {
                let Some(me) = sym.stage_index(&s.name.text) else {
                    continue;
                };
                if sym.stages[me].span.start != s.name.span.start {
                    continue; // a duplicate, reported as such
                }
                for e in &s.enter {
                    walk(e, &mut |x| {
                        let mut check = |n: &Name| {
                            if sym.stage_index(&n.text).is_some_and(|i| i >= me) {
                                let msg = if n.text == s.name.text {
                                    format!(
                                        "the condition to enter `{}` looks at its own entry",
                                        s.name.text
                                    )
                                } else {
                                    format!("`{}` comes after `{}`: a lead entering `{}` has not entered it yet", n.text, s.name.text, s.name.text)
                                };
                                diags.push(
                                    Diagnostic::warning(Code::StageOrder, n.span, msg)
                                        .help("refer to an earlier stage, e.g. `since entering` the stage before"),
                                );
                            }
                        };
                        match &x.kind {
                            ExprKind::DaysSinceEntering(n) => check(n),
                            ExprKind::Event(q)
                            | ExprKind::Count(q)
                            | ExprKind::No(q)
                            | ExprKind::DaysSince(_, q)
                            | ExprKind::Has { query: q, .. }
                            | ExprKind::PropOf { query: q, .. } => {
                                if let Some(n) = &q.since {
                                    check(n)
                                }
                            }
                            _ => {}
                        }
                    });
                }
            }
            _ => {}
        }
    }
}
