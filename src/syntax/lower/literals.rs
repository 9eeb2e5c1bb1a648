//! Literal values: numbers, percentages, amounts, durations, text, dates and months, each
//! read one way, with a diagnostic in the user's words when it cannot be held.

use pest::iterators::Pair;

use super::{Lower, Lowered};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;
use crate::syntax::Rule;
use crate::time;

impl Lower {
    pub(super) fn number(&self, pair: &Pair<'_, Rule>) -> Lowered<Number> {
        self.finite(
            pair,
            pair.as_str().trim_start_matches('+'),
            "a number funnelc can hold",
        )
    }

    pub(super) fn percent(&self, pair: &Pair<'_, Rule>) -> Lowered<Number> {
        self.finite(pair, pair.as_str().trim_end_matches('%'), "a percentage")
    }

    /// `text` (a piece of the pair) as a finite number, or why not: the one reading of every
    /// number, percentage and amount.
    fn finite(&self, pair: &Pair<'_, Rule>, text: &str, what: &str) -> Lowered<Number> {
        let span = self.span(pair);
        let value = text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                Diagnostic::error(
                    Code::BadNumber,
                    span,
                    format!("`{}` is not {what}", pair.as_str()),
                )
            })?;
        Ok(Number { value, span })
    }

    pub(super) fn duration(&self, pair: &Pair<'_, Rule>) -> Lowered<DurationLit> {
        match self.literal(pair)? {
            Literal::Duration(value) => Ok(DurationLit {
                value,
                span: self.span(pair),
            }),
            _ => Err(self.shape(pair, "a duration")),
        }
    }

    pub(super) fn string(&self, pair: &Pair<'_, Rule>) -> Lowered<String> {
        let raw = pair.as_str();
        let body = raw
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .ok_or_else(|| self.shape(pair, "text"))?;
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let after = chars.next();
            let escaped = TEXT_ESCAPES
                .iter()
                .find(|(written, _)| Some(*written) == after);
            match escaped {
                Some(&(_, meant)) => out.push(meant),
                None => {
                    let shown = after.map(String::from).unwrap_or_default();
                    return Err(Diagnostic::error(
                        Code::BadEscape,
                        self.span(pair),
                        format!("unknown escape `\\{shown}` in text"),
                    )
                    .help("text may contain \\\", \\\\, \\n and \\t"));
                }
            }
        }
        Ok(out)
    }

    pub(super) fn time_lit(&self, pair: &Pair<'_, Rule>) -> Lowered<TimeLit> {
        let span = self.span(pair);
        let date_only = pair.as_rule() == Rule::date;
        let at = time::parse_timestamp(pair.as_str()).map_err(|msg| {
            Diagnostic::error(Code::BadDate, span, msg).help(date_help(pair.as_str()))
        })?;
        Ok(TimeLit {
            at,
            date_only,
            span,
        })
    }

    pub(super) fn literal(&self, pair: &Pair<'_, Rule>) -> Lowered<Literal> {
        let s = pair.as_str();
        let span = self.span(pair);
        let bad_number = || {
            Diagnostic::error(
                Code::BadNumber,
                span,
                format!("`{s}` is not a number funnelc can hold"),
            )
        };
        Ok(match pair.as_rule() {
            Rule::number => {
                if s.contains('.') {
                    Literal::Decimal(self.number(pair)?.value)
                } else {
                    Literal::Int(s.parse::<i64>().map_err(|_| bad_number())?)
                }
            }
            Rule::percent => Literal::Percent(self.percent(pair)?.value),
            Rule::money => {
                let (amount_text, currency) = if let Some(rest) = s.strip_prefix('$') {
                    (rest.replace(',', ""), "USD".to_string())
                } else {
                    let (num, cur) = s.rsplit_once(' ').ok_or_else(bad_number)?;
                    (num.trim().to_string(), cur.to_string())
                };
                let amount = self
                    .finite(pair, &amount_text, "a number funnelc can hold")?
                    .value;
                Literal::Money(Money { amount, currency })
            }
            Rule::duration => {
                let (num, unit) = s.split_at(s.len() - 1);
                let unit = DurationUnit::from_suffix(unit)
                    .ok_or_else(|| self.shape(pair, "a duration"))?;
                let value = num
                    .parse::<u64>()
                    .ok()
                    .filter(|v| *v <= 1_000_000)
                    .ok_or_else(|| {
                        Diagnostic::error(
                            Code::BadNumber,
                            span,
                            format!("`{s}` is longer than funnelc can measure"),
                        )
                        .help("durations may be at most 1,000,000 units")
                    })?;
                Literal::Duration(Duration { value, unit })
            }
            Rule::date => {
                Literal::Date(time::parse_date(s).map_err(|msg| {
                    Diagnostic::error(Code::BadDate, span, msg).help(date_help(s))
                })?)
            }
            Rule::timestamp => Literal::Timestamp(self.time_lit(pair)?.at),
            Rule::string => Literal::Text(self.string(pair)?),
            Rule::boolean => Literal::Bool(s == "true"),
            _ => return Err(self.shape(pair, "a value")),
        })
    }

    pub(super) fn month(&self, pair: &Pair<'_, Rule>) -> Lowered<Month> {
        let s = pair.as_str();
        let bad = || {
            Diagnostic::error(
                Code::BadDate,
                self.span(pair),
                format!("`{s}` is not a month"),
            )
            .help("write a month as YYYY-MM, e.g. 2025-01")
        };
        let (year, month) = year_month(s).ok_or_else(bad)?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

/// Help for a date that does not exist: how long its month is, or the format.
fn date_help(s: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match year_month(s) {
        Some((y, m)) if (1..=12).contains(&m) => {
            let name = MONTHS[(m - 1) as usize];
            format!("{name} {y} has {} days", time::days_in_month(y, m))
        }
        Some(_) => "months run from 01 to 12".into(),
        None => "write dates as YYYY-MM-DD and instants as 2025-01-03T10:00:00Z".into(),
    }
}

/// The year and month a month, date or timestamp literal starts with (`2025-01...`).
fn year_month(s: &str) -> Option<(i32, u32)> {
    let mut parts = s.splitn(3, '-');
    let year = parts.next()?.parse::<i32>().ok()?;
    let month = parts.next()?.parse::<u32>().ok()?;
    Some((year, month))
}
