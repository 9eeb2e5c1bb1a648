//! `funnel::unreachable_threshold`: a comparison of scores with a number that no lead can
//! meet, given the scores' caps, floors and what their rules add up to.

use super::{each_expr, fmt_num, num_lit};
use crate::check::symbols::*;
use crate::check::types::short;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// The scores summed by an expression like `score fit + engagement + 5`, with the constant.
fn score_sum<'a>(e: &'a Expr, sym: &Symbols, out: &mut Vec<&'a str>) -> Option<f64> {
    match &e.kind {
        ExprKind::Score(n) if sym.scores.contains_key(&n.text) => {
            out.push(&n.text);
            Some(0.0)
        }
        ExprKind::Name(n)
            if sym.scores.contains_key(&n.text)
                && !sym.traits.contains_key(&n.text)
                && !sym.segments.contains_key(&n.text) =>
        {
            out.push(&n.text);
            Some(0.0)
        }
        ExprKind::Binary {
            op: BinOp::Add,
            lhs,
            rhs,
        } => Some(score_sum(lhs, sym, out)? + score_sum(rhs, sym, out)?),
        _ => num_lit(e),
    }
}

/// Why a comparison of a score sum with a number can never hold, if it cannot.
pub(super) fn threshold_never(src: &str, e: &Expr, sym: &Symbols) -> Option<(String, String)> {
    let ExprKind::Binary { op, lhs, rhs } = &e.kind else {
        return None;
    };
    if !op.is_comparison() {
        return None;
    }
    let (sum_side, limit, op) = match (num_lit(lhs), num_lit(rhs)) {
        (None, Some(v)) => (lhs, v, *op),
        (Some(v), None) => (rhs, v, op.mirrored()),
        _ => return None,
    };
    let mut names = Vec::new();
    let constant = score_sum(sum_side, sym, &mut names)?;
    if names.is_empty() {
        return None;
    }
    let infos: Vec<(&str, &ScoreInfo)> = names
        .iter()
        .filter_map(|n| sym.scores.get(*n).map(|i| (*n, i)))
        .collect();
    let upper: Option<f64> = infos
        .iter()
        .map(|(_, i)| i.upper())
        .sum::<Option<f64>>()
        .map(|u| u + constant);
    let lower: f64 = infos.iter().map(|(_, i)| i.lower()).sum::<f64>() + constant;
    let never = match op {
        BinOp::Ge => upper.is_some_and(|u| u < limit),
        BinOp::Gt | BinOp::Eq => {
            upper.is_some_and(|u| u <= limit && !(op == BinOp::Eq && u == limit))
        }
        BinOp::Le => lower > limit,
        BinOp::Lt => lower >= limit,
        _ => false,
    };
    if !never {
        return None;
    }
    let why: Vec<String> = infos
        .iter()
        .map(|(n, i)| match (i.max, i.rules_max) {
            (Some(m), Some(r)) if r < m => format!("{n}'s rules add up to {}", fmt_num(r)),
            (Some(m), _) => format!("{n} is capped at {}", fmt_num(m)),
            (None, Some(r)) => format!("{n}'s rules add up to {}", fmt_num(r)),
            (None, None) => format!("{n} is unbounded"),
        })
        .collect();
    let label = match op {
        BinOp::Le | BinOp::Lt => format!("at least {}", fmt_num(lower)),
        _ => format!(
            "at most {}: {}",
            fmt_num(upper.unwrap_or(f64::INFINITY)),
            why.join(", ")
        ),
    };
    Some((short(src, e), label))
}

/// `funnel::unreachable_threshold` on every comparison of a score sum no lead can meet.
pub(super) fn check(items: &[Item], src: &str, sym: &Symbols, diags: &mut Vec<Diagnostic>) {
    each_expr(items, &mut |e| {
        if let Some((shown, label)) = threshold_never(src, e, sym) {
            diags.push(
                Diagnostic::warning(
                    Code::UnreachableThreshold,
                    e.span,
                    format!("no lead can reach `{shown}`"),
                )
                .label(label)
                .help("lower the threshold or raise a cap"),
            );
        }
    });
}
