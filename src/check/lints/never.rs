//! Why a condition can never be true, where that can be seen without data: `false`, bounds
//! that exclude each other, `between` with its bounds reversed, an empty `in` list, a count
//! below zero, a score threshold above the caps. Shared by `unreachable_stage` and
//! `never_fires`.

use super::unreachable_threshold::threshold_never;
use super::{fmt_num, num_lit};
use crate::check::symbols::*;
use crate::check::types::short;
use crate::span::Span;
use crate::syntax::ast::*;

/// Why a condition can never be true, where that can be seen without data.
pub(super) struct Never {
    /// The part of the condition that cannot hold.
    pub(super) span: Span,
    pub(super) reason: String,
    pub(super) help: String,
    /// A score threshold, which has its own `unreachable_threshold` warning.
    pub(super) threshold: bool,
}

pub(super) fn never(src: &str, e: &Expr, sym: &Symbols) -> Option<Never> {
    let plain = |reason: String, help: &str| Never {
        span: e.span,
        reason,
        help: help.to_string(),
        threshold: false,
    };
    match &e.kind {
        ExprKind::Lit(Literal::Bool(false)) => Some(plain(
            "the condition is `false`".into(),
            "remove the rule, or write the condition it should test",
        )),
        ExprKind::All(v) => v.iter().find_map(|x| never(src, x, sym)).or_else(|| {
            contradiction(v)
                .map(|r| plain(r, "these conditions exclude each other: fix one of them"))
        }),
        ExprKind::Any(v) => {
            let reasons: Option<Vec<Never>> = v.iter().map(|x| never(src, x, sym)).collect();
            reasons.and_then(|r| r.into_iter().next())
        }
        ExprKind::Binary { op, lhs, rhs } => {
            if threshold_never(src, e, sym).is_some() {
                return Some(Never {
                    threshold: true,
                    ..plain(
                        format!("no lead can reach `{}`", short(src, e)),
                        "lower the threshold or raise a cap",
                    )
                });
            }
            // A count is never negative.
            if matches!(lhs.kind, ExprKind::Count(_)) {
                if let Some(v) = num_lit(rhs) {
                    let impossible = match op {
                        BinOp::Lt => v <= 0.0,
                        BinOp::Le | BinOp::Eq => v < 0.0,
                        _ => false,
                    };
                    if impossible {
                        return Some(plain(
                            "a count is never below zero".into(),
                            "to test that no event happened, write `no <event>`",
                        ));
                    }
                }
            }
            None
        }
        ExprKind::Between { lo, hi, .. } => match (num_lit(lo), num_lit(hi)) {
            (Some(a), Some(b)) if a > b => Some(Never {
                span: lo.span.to(hi.span),
                ..plain(
                    format!(
                        "nothing is between {} and {}: the lower bound comes second",
                        fmt_num(a),
                        fmt_num(b)
                    ),
                    &format!("write `between {} and {}`", fmt_num(b), fmt_num(a)),
                )
            }),
            _ => None,
        },
        ExprKind::In {
            list,
            negated: false,
            ..
        } => match &list.kind {
            ExprKind::List(items) if items.is_empty() => Some(plain(
                "nothing is in an empty list".into(),
                "list the values to look for",
            )),
            _ => None,
        },
        _ => None,
    }
}

/// `x >= 500 and x < 100`: bounds on one name that no value meets together.
fn contradiction(conjuncts: &[Expr]) -> Option<String> {
    use std::collections::BTreeMap;
    // name -> (lowest allowed, strict?), (highest allowed, strict?)
    let mut bounds: BTreeMap<&str, (f64, bool, f64, bool)> = BTreeMap::new();
    let mut texts: BTreeMap<&str, &str> = BTreeMap::new();
    for c in conjuncts {
        let (name, op, v) = match &c.kind {
            ExprKind::Binary { op, lhs, rhs } => match (&lhs.kind, num_lit(rhs)) {
                (ExprKind::Name(n), Some(v)) => (n.text.as_str(), *op, v),
                _ => {
                    if let (ExprKind::Name(n), ExprKind::Lit(Literal::Text(t)), BinOp::Eq) =
                        (&lhs.kind, &rhs.kind, op)
                    {
                        if let Some(prev) = texts.insert(&n.text, t) {
                            if prev != t {
                                return Some(format!(
                                    "`{}` cannot be both \"{prev}\" and \"{t}\"",
                                    n.text
                                ));
                            }
                        }
                    }
                    continue;
                }
            },
            ExprKind::Between { value, lo, hi } => match (&value.kind, num_lit(lo), num_lit(hi)) {
                (ExprKind::Name(n), Some(a), Some(b)) => {
                    let e = bounds.entry(&n.text).or_insert((
                        f64::NEG_INFINITY,
                        false,
                        f64::INFINITY,
                        false,
                    ));
                    if a > e.0 {
                        (e.0, e.1) = (a, false);
                    }
                    if b < e.2 {
                        (e.2, e.3) = (b, false);
                    }
                    continue;
                }
                _ => continue,
            },
            _ => continue,
        };
        let e = bounds
            .entry(name)
            .or_insert((f64::NEG_INFINITY, false, f64::INFINITY, false));
        match op {
            BinOp::Ge if v > e.0 => (e.0, e.1) = (v, false),
            BinOp::Gt if v >= e.0 => (e.0, e.1) = (v, true),
            BinOp::Le if v < e.2 => (e.2, e.3) = (v, false),
            BinOp::Lt if v <= e.2 => (e.2, e.3) = (v, true),
            BinOp::Eq => {
                if v > e.0 {
                    (e.0, e.1) = (v, false);
                }
                if v < e.2 {
                    (e.2, e.3) = (v, false);
                }
            }
            _ => {}
        }
    }
    bounds.into_iter().find_map(|(name, (lo, ls, hi, hs))| {
        let empty = lo > hi || (lo == hi && (ls || hs));
        empty.then(|| {
            format!(
                "`{name}` cannot be {} {} and {} {} at once",
                if ls { "above" } else { "at least" },
                fmt_num(lo),
                if hs { "below" } else { "at most" },
                fmt_num(hi)
            )
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn contradicts(condition: &str) -> Option<String> {
        match crate::syntax::parse_expr(condition).unwrap().kind {
            ExprKind::All(conjuncts) => contradiction(&conjuncts),
            other => panic!("not a conjunction: {other:?}"),
        }
    }

    #[test]
    fn bounds_that_exclude_each_other() {
        assert_eq!(
            contradicts("x >= 500 and x < 100").as_deref(),
            Some("`x` cannot be at least 500 and below 100 at once")
        );
        assert_eq!(
            contradicts("x > 5 and x between 1 and 5").as_deref(),
            Some("`x` cannot be above 5 and at most 5 at once")
        );
        assert_eq!(
            contradicts("region == \"a\" and region == \"b\"").as_deref(),
            Some("`region` cannot be both \"a\" and \"b\"")
        );
    }

    #[test]
    fn bounds_that_meet() {
        assert_eq!(contradicts("x >= 100 and x < 500"), None);
        assert_eq!(contradicts("x >= 5 and x <= 5"), None);
        assert_eq!(contradicts("x >= 500 and y < 100"), None);
    }
}
