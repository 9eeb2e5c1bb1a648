//! Warnings: rules that can never fire, thresholds no score reaches, unused declarations,
//! KPIs and detours in impossible orders, and moves with no defined priority.
//!
//! Each lint is a function of the file and its symbols, in a file of its own named after what
//! it reports; `never` is the analysis two of them share. None of them reports an error, so a
//! file with only warnings still checks (unless `--deny-warnings`).

mod caps;
mod kpi_bands;
mod never;
mod never_fires;
mod priorities;
mod stage_order;
mod triggers;
mod unreachable_grade;
mod unreachable_stage;
mod unreachable_threshold;
mod unused;

use super::decls::Usage;
use super::symbols::*;
use crate::diag::Diagnostic;
use crate::syntax::ast::*;

/// Every lint but "unused", which needs what the expression pass saw: these need only the
/// file and its symbols, so they run beside that pass.
pub fn run(file: &File, src: &str, sym: &Symbols) -> Vec<Diagnostic> {
    use rayon::prelude::*;
    // The per-declaration lints run on slices of the file, beside the whole-file ones.
    let (per_item, mut diags) = rayon::join(
        || {
            file.items
                .par_chunks(1024)
                .map(|items| {
                    let mut d = Vec::new();
                    unreachable_threshold::check(items, src, sym, &mut d);
                    stage_order::check(items, sym, &mut d);
                    d
                })
                .collect::<Vec<_>>()
        },
        || {
            let mut d = Vec::new();
            caps::check(file, &mut d);
            unreachable_grade::check(file, sym, &mut d);
            let unreachable = unreachable_stage::check(file, src, sym, &mut d);
            never_fires::check(file, src, sym, &unreachable, &mut d);
            kpi_bands::check(file, &mut d);
            priorities::check(file, &mut d);
            triggers::check(file, src, sym, &mut d);
            d
        },
    );
    diags.extend(per_item.into_iter().flatten());
    diags
}

/// Segments and scores declared but never used.
pub fn run_unused(file: &File, sym: &Symbols, usage: &Usage, diags: &mut Vec<Diagnostic>) {
    unused::check(file, sym, usage, diags);
}

/// Calls `f` on every expression of the file, inner ones included.
pub(super) fn each_expr(items: &[Item], f: &mut dyn FnMut(&Expr)) {
    for item in items {
        match item {
            Item::Segment(s) => walk(&s.expr, f),
            Item::Score(s) => {
                for r in &s.rules {
                    match &r.kind {
                        RuleKind::When(e) => walk(e, f),
                        RuleKind::Per { query, .. } => walk_query(query, f),
                    }
                }
            }
            Item::Stage(s) => s.enter.iter().for_each(|e| walk(e, f)),
            Item::Move(m) => m.fires.exprs().for_each(|e| walk(e, f)),
            Item::Exit(x) => x.fires.exprs().for_each(|e| walk(e, f)),
            _ => {}
        }
    }
}

fn walk_query(q: &EventQuery, f: &mut dyn FnMut(&Expr)) {
    if let Some(x) = &q.filter {
        walk(x, f);
    }
}

pub fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Lit(_) | ExprKind::Name(_) | ExprKind::Score(_) | ExprKind::Grade(_) => {}
        ExprKind::DaysSinceEntering(_) => {}
        ExprKind::List(v) | ExprKind::All(v) | ExprKind::Any(v) => {
            v.iter().for_each(|x| walk(x, f))
        }
        ExprKind::AtLeast { items, .. } => items.iter().for_each(|x| walk(x, f)),
        ExprKind::Event(q) | ExprKind::Count(q) | ExprKind::No(q) | ExprKind::DaysSince(_, q) => {
            walk_query(q, f)
        }
        ExprKind::Has { query, .. } | ExprKind::PropOf { query, .. } => walk_query(query, f),
        ExprKind::Rate(a, b) => {
            walk_query(a, f);
            walk_query(b, f);
        }
        ExprKind::Then(steps) => steps.iter().for_each(|q| walk_query(q, f)),
        ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Exists(x) | ExprKind::Missing(x) => {
            walk(x, f)
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            walk(lhs, f);
            walk(rhs, f);
        }
        ExprKind::In { value, list, .. } => {
            walk(value, f);
            walk(list, f);
        }
        ExprKind::Between { value, lo, hi } => {
            walk(value, f);
            walk(lo, f);
            walk(hi, f);
        }
        ExprKind::Test { value, arg, .. } => {
            walk(value, f);
            walk(arg, f);
        }
    }
}

pub(super) fn num_lit(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Lit(Literal::Int(i)) => Some(*i as f64),
        ExprKind::Lit(Literal::Decimal(d)) => Some(*d),
        ExprKind::Neg(x) => num_lit(x).map(|v| -v),
        _ => None,
    }
}

/// A number as a person writes it: no `.0` on a whole one.
pub(super) fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_people_write_them() {
        assert_eq!(fmt_num(60.0), "60");
        assert_eq!(fmt_num(-5.0), "-5");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(1e20), "100000000000000000000");
    }
}
