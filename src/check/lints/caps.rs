//! `funnel::points_exceed_cap`: points that a cap cuts, so a rule cannot give what it says.

use super::fmt_num;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// `funnel::points_exceed_cap` on every score rule worth more than a cap it is under, and
/// every rule cap above its score's cap.
pub(super) fn check(file: &File, diags: &mut Vec<Diagnostic>) {
    for item in &file.items {
        let Item::Score(s) = item else { continue };
        let max = s.max.map(|m| m.value);
        for r in &s.rules {
            let p = r.points.value;
            if let (Some(m), true) = (max, p.abs() > s.max.map_or(f64::INFINITY, |x| x.value)) {
                diags.push(
                    Diagnostic::warning(
                        Code::PointsExceedCap,
                        r.points.span,
                        format!(
                            "this rule gives {} points but `{}` is capped at {}",
                            fmt_num(p.abs()),
                            s.name.text,
                            fmt_num(m)
                        ),
                    )
                    .with(s.max.map_or(s.name.span, |x| x.span), "the cap")
                    .help("lower the points or raise the cap"),
                );
                continue;
            }
            if let RuleKind::Per { cap: Some(c), .. } = &r.kind {
                if p.abs() > c.value {
                    diags.push(
                        Diagnostic::warning(
                            Code::PointsExceedCap,
                            r.points.span,
                            format!(
                                "one event gives {} points but this rule is capped at {}",
                                fmt_num(p.abs()),
                                fmt_num(c.value)
                            ),
                        )
                        .with(c.span, "the rule's cap")
                        .help("lower the points or raise the rule's cap"),
                    );
                } else if let Some(m) = max.filter(|m| c.value > *m) {
                    diags.push(
                        Diagnostic::warning(
                            Code::PointsExceedCap,
                            c.span,
                            format!(
                                "this rule's cap {} is above the cap {} of `{}`",
                                fmt_num(c.value),
                                fmt_num(m),
                                s.name.text
                            ),
                        )
                        .with(s.max.map_or(s.name.span, |x| x.span), "the score's cap")
                        .help("lower the rule's cap"),
                    );
                }
            }
        }
    }
}
