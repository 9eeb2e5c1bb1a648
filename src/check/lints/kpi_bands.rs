//! `funnel::kpi_bands`: conversion bands named twice, above 100%, reversed, out of order or
//! overlapping.

use super::fmt_num;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// Checks the bands of every conversion KPI.
pub(super) fn check(file: &File, diags: &mut Vec<Diagnostic>) {
    for item in &file.items {
        let Item::Kpi(Kpi::Conversion { bands, .. }) = item else {
            continue;
        };
        // Each band as a half-open range [lo, hi) of percentages.
        let mut ranges: Vec<(f64, f64, &Band)> = Vec::new();
        let froms: Vec<f64> = bands
            .iter()
            .filter_map(|b| match b.range {
                BandRange::From(n) => Some(n.value),
                _ => None,
            })
            .collect();
        let mut labels: Vec<&str> = Vec::new();
        for b in bands {
            if labels.contains(&b.label.text.as_str()) {
                diags.push(
                    Diagnostic::warning(
                        Code::KpiBands,
                        b.label.span,
                        format!("band `{}` is named twice", b.label.text),
                    )
                    .help("give each band its own name"),
                );
            }
            labels.push(&b.label.text);
            let nums: Vec<Number> = match b.range {
                BandRange::Below(n) | BandRange::From(n) => vec![n],
                BandRange::Between(a, c) => vec![a, c],
            };
            for n in &nums {
                if n.value > 100.0 {
                    diags.push(
                        Diagnostic::warning(
                            Code::KpiBands,
                            n.span,
                            format!("a conversion rate of {}% is above 100%", fmt_num(n.value)),
                        )
                        .help("conversion is next stage / previous stage, at most 100%"),
                    );
                }
            }
            let (lo, hi) = match b.range {
                BandRange::Below(n) => (0.0, n.value),
                // A `from` band runs up to the next higher `from`.
                BandRange::From(n) => (
                    n.value,
                    froms
                        .iter()
                        .copied()
                        .filter(|f| *f > n.value)
                        .fold(f64::INFINITY, f64::min),
                ),
                BandRange::Between(a, c) => {
                    if a.value > c.value {
                        diags.push(
                            Diagnostic::warning(
                                Code::KpiBands,
                                b.span,
                                format!(
                                    "band `{}` runs from {}% down to {}%",
                                    b.label.text,
                                    fmt_num(a.value),
                                    fmt_num(c.value)
                                ),
                            )
                            .help("write the lower bound first"),
                        );
                    }
                    (a.value, c.value)
                }
            };
            ranges.push((lo, hi, b));
        }
        // Written order must climb: each band starts at or after the one before.
        for w in ranges.windows(2) {
            let ((lo_a, _, a), (lo_b, _, b)) = (&w[0], &w[1]);
            if lo_b < lo_a {
                diags.push(
                    Diagnostic::warning(
                        Code::KpiBands,
                        b.span,
                        format!(
                            "band `{}` starts at {}%, below band `{}` before it at {}%",
                            b.label.text,
                            fmt_num(*lo_b),
                            a.label.text,
                            fmt_num(*lo_a)
                        ),
                    )
                    .label("out of order")
                    .with(a.span, "this band starts higher")
                    .help("list bands from the lowest rate to the highest"),
                );
            }
        }
        for (i, (lo_a, hi_a, a)) in ranges.iter().enumerate() {
            for (lo_b, hi_b, b) in ranges.iter().skip(i + 1) {
                let overlap = lo_a.max(*lo_b) < hi_a.min(*hi_b);
                if overlap {
                    diags.push(
                        Diagnostic::warning(
                            Code::KpiBands,
                            b.span,
                            format!("bands `{}` and `{}` overlap", a.label.text, b.label.text),
                        )
                        .with(a.span, "overlaps this band")
                        .help("make each rate fall in one band at most"),
                    );
                }
            }
        }
    }
}
