//! Spend and revenue declarations read together: the report adds up every `cost by` of one
//! trait and every `revenue`, so amounts that cannot be added (two currencies, a value given
//! twice, different periods) are refused here rather than summed into a wrong number.

use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{File, Item, Period};

fn per(p: Period) -> &'static str {
    match p {
        Period::Weekly => "per week",
        Period::Monthly => "per month",
        Period::Quarterly => "per quarter",
    }
}

/// Every inconsistency between and within the file's `cost by` and `revenue` declarations.
pub fn check(file: &File) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // (trait, period, currency, span) of the first `cost by` of each trait.
    let mut costs: Vec<(&str, Period, Option<&str>, crate::span::Span)> = Vec::new();
    let mut revenue: Option<(Option<Period>, crate::span::Span)> = None;
    for item in &file.items {
        match item {
            Item::Cost(c) => {
                let currency = c.entries.first().map(|e| e.amount.currency.as_str());
                for (i, e) in c.entries.iter().enumerate() {
                    let first = &c.entries[0];
                    if e.amount.currency != first.amount.currency {
                        out.push(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                e.span,
                                format!(
                                    "`{}` is in {} and `{}` in {}: the amounts of one `cost by` \
                                     are added up, so they need one currency",
                                    e.key, e.amount.currency, first.key, first.amount.currency
                                ),
                            )
                            .with(first.span, "the first amount"),
                        );
                    }
                    if let Some(earlier) = c.entries[..i].iter().find(|x| x.key == e.key) {
                        out.push(
                            Diagnostic::error(
                                Code::DuplicateName,
                                e.span,
                                format!("the spend for `{}` is given twice", e.key),
                            )
                            .with(earlier.span, "first given here")
                            .help("give each value's spend once"),
                        );
                    }
                }
                match costs.iter().find(|x| x.0 == c.by.text) {
                    Some(&(_, period, cur, span)) => {
                        if period != c.period {
                            out.push(
                                Diagnostic::error(
                                    Code::TypeMismatch,
                                    c.span,
                                    format!(
                                        "this `cost by {}` gives amounts {}, and an earlier one {}",
                                        c.by.text,
                                        per(c.period),
                                        per(period)
                                    ),
                                )
                                .with(span, "the earlier one")
                                .help("give every spend of one trait per the same period"),
                            );
                        } else if let (Some(a), Some(b)) = (cur, currency) {
                            if a != b {
                                out.push(
                                    Diagnostic::error(
                                        Code::TypeMismatch,
                                        c.span,
                                        format!(
                                            "this `cost by {}` is in {b}, and an earlier one in {a}",
                                            c.by.text
                                        ),
                                    )
                                    .with(span, "the earlier one"),
                                );
                            }
                        }
                    }
                    None => costs.push((c.by.text.as_str(), c.period, currency, c.span)),
                }
            }
            Item::Revenue(r) => match revenue {
                Some((period, span)) if period != r.period => {
                    let says = |p: Option<Period>| p.map_or("once (no period)", per);
                    out.push(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            r.span,
                            format!(
                                "this revenue is counted {}, and an earlier one {}: revenue \
                                 from several sources is added up, so they need one period",
                                says(r.period),
                                says(period)
                            ),
                        )
                        .with(span, "the earlier one"),
                    );
                }
                Some(_) => {}
                None => revenue = Some((r.period, r.span)),
            },
            _ => {}
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    fn errors(decls: &str) -> Vec<String> {
        let src = format!(
            "schema {{\n  trait source: text\n  trait region: text\n  event e\n  \
             event won {{ amount: money, fee: money }}\n}}\nstage A {{ enter when e }}\n{decls}"
        );
        crate::compile(&src, "t")
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn amounts_that_cannot_be_added_are_refused() {
        assert_eq!(
            errors("cost by source monthly { \"a\": $1, \"b\": 2 EUR }\n"),
            ["`b` is in EUR and `a` in USD: the amounts of one `cost by` are added up, so they need one currency"]
        );
        assert_eq!(
            errors("cost by source monthly { \"a\": $1, \"a\": $2 }\n"),
            ["the spend for `a` is given twice"]
        );
        assert_eq!(
            errors("cost by source monthly { \"a\": $1 }\ncost by source weekly { \"b\": $2 }\n"),
            ["this `cost by source` gives amounts per week, and an earlier one per month"]
        );
        assert_eq!(
            errors(
                "cost by source monthly { \"a\": $1 }\ncost by source monthly { \"b\": 2 EUR }\n"
            ),
            ["this `cost by source` is in EUR, and an earlier one in USD"]
        );
        assert_eq!(
            errors("revenue monthly amount of won\nrevenue fee of won\n"),
            ["this revenue is counted once (no period), and an earlier one per month: revenue from several sources is added up, so they need one period"]
        );
        // What can be added up is accepted: two traits, two declarations of one kind.
        assert!(errors(
            "cost by source monthly { \"a\": $1 }\ncost by region weekly { \"b\": 2 EUR }\n\
             cost by source monthly { \"c\": $3 }\nrevenue monthly amount of won\n\
             revenue monthly fee of won\n"
        )
        .is_empty());
    }
}
