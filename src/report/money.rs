//! Spend, cost per lead and per stage, revenue and ROI per channel.
//!
//! A channel's spend over the report's range comes from the spend file when the file names
//! that channel (its rows for the months the range touches), else from the `cost by`
//! declaration (the amount for each period the range touches). Anything that makes a number
//! doubtful is a warning naming it: a channel no lead in the report has, a month in range the
//! file gives no spend for, rows outside the range, a channel with leads and no spend.

use std::collections::{BTreeMap, BTreeSet};

use super::aggregate::{Aggregate, Counts};
use super::model::{ratio, round, ChannelRow, ChannelTable, RevenueOut};
use super::period;
use super::spec::Spec;
use super::spend::Spend;
use crate::syntax::ast::Period;
use crate::time::civil_from_days;

/// The channel tables, and the total spend of the first (the one the spend file is for).
pub fn channels(
    spec: &Spec,
    agg: &Aggregate,
    spend: Option<&Spend>,
    from: i64,
    to: i64,
    warnings: &mut Vec<String>,
) -> (Vec<ChannelTable>, Option<f64>) {
    let n = spec.stages.len();
    // Each month the range touches, with the share of its days inside the range.
    let months: BTreeMap<(i32, u32), f64> = period::starts(from, to, Period::Monthly)
        .into_iter()
        .map(|d| {
            let (y, m, _) = civil_from_days(d);
            ((y, m), share(d, Period::Monthly, from, to))
        })
        .collect();
    for (start, p) in partial_periods(spec, spend.is_some(), from, to) {
        let end = period::next(start, p);
        warnings.push(format!(
            "the range {}..{} covers {} of the {} days of {} {}: its spend is counted for \
             those days only",
            period::date(from),
            period::date(to),
            end.min(to + 1) - start.max(from),
            end - start,
            period::noun(p),
            period::label(start, p)
        ));
    }
    let mut tables = Vec::new();
    let mut total_spend = None;
    for (i, cost) in spec.costs.iter().enumerate() {
        let map = &agg.channels[i];
        let file = if i == 0 { spend } else { None };
        // Per channel named in the file: its spend in the range's months.
        let mut from_file: BTreeMap<String, f64> = BTreeMap::new();
        if let Some(f) = file {
            let mut outside = 0;
            let mut seen: BTreeSet<(&str, (i32, u32))> = BTreeSet::new();
            for r in &f.rows {
                if let Some(part) = months.get(&(r.year, r.month)) {
                    *from_file.entry(r.channel.clone()).or_insert(0.0) += r.amount * part;
                    seen.insert((r.channel.as_str(), (r.year, r.month)));
                } else {
                    from_file.entry(r.channel.clone()).or_insert(0.0);
                    outside += 1;
                }
            }
            if outside > 0 {
                warnings.push(format!(
                    "{}: {outside} {} for months outside {}..{} not counted",
                    f.name,
                    if outside == 1 { "row" } else { "rows" },
                    period::date(from),
                    period::date(to)
                ));
            }
            for ch in from_file.keys() {
                for (y, m) in months.keys() {
                    if !seen.contains(&(ch.as_str(), (*y, *m))) {
                        warnings.push(format!(
                            "{}: no spend for `{ch}` in {y:04}-{m:02}: counted as 0",
                            f.name
                        ));
                    }
                }
            }
        }
        // The declared amount is per period: each period the range touches counts for the
        // share of its days inside the range.
        let periods: f64 = period::starts(from, to, cost.period)
            .into_iter()
            .map(|s| share(s, cost.period, from, to))
            .sum();
        let declared: BTreeMap<&str, f64> =
            cost.entries.iter().fold(BTreeMap::new(), |mut m, (k, v)| {
                *m.entry(k.as_str()).or_insert(0.0) += v;
                m
            });
        let spend_of = |ch: &str| -> Option<f64> {
            from_file
                .get(ch)
                .copied()
                .or_else(|| declared.get(ch).map(|v| v * periods))
        };
        let zero = Counts {
            reached: vec![0; n],
            ..Counts::default()
        };
        // Every channel with leads, then those with spend only, in the declaration's order
        // where it has one.
        let mut names: Vec<String> = Vec::new();
        for (k, _) in &cost.entries {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        for k in from_file.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        let mut with_leads: Vec<(&String, &Counts)> = map
            .iter()
            .filter_map(|(k, c)| k.as_ref().map(|k| (k, c)))
            .collect();
        with_leads.sort_by(|a, b| b.1.reached.cmp(&a.1.reached).then(a.0.cmp(b.0)));
        for (k, _) in &with_leads {
            if !names.contains(k) {
                names.push((*k).clone());
            }
        }
        let mut rows = Vec::new();
        for ch in &names {
            let counts = map.get(&Some(ch.clone())).unwrap_or(&zero);
            let spend = spend_of(ch);
            let where_from = if from_file.contains_key(ch) {
                file.map_or("the rule file", |f| f.name.as_str())
            } else {
                "the rule file"
            };
            if counts.reached.first().copied().unwrap_or(0) == 0 && spend.is_some_and(|s| s > 0.0) {
                warnings.push(format!(
                    "{where_from}: spend for `{ch}`, but no lead in the report has {} `{ch}`",
                    cost.by.name
                ));
            }
            if spend.is_none() {
                warnings.push(format!(
                    "no spend for {} `{ch}` ({} in the report): cost per lead not known",
                    cost.by.name,
                    counts.reached.first().copied().unwrap_or(0)
                ));
            }
            rows.push(row(ch, spend, counts, spec));
        }
        if let Some(c) = map.get(&None) {
            rows.push(row("(none)", None, c, spec));
        }
        let mut all = Counts {
            reached: vec![0; n],
            ..Counts::default()
        };
        for c in map.values() {
            for (a, b) in all.reached.iter_mut().zip(&c.reached) {
                *a += b;
            }
            all.revenue_cents += c.revenue_cents;
        }
        let spent: Vec<f64> = rows.iter().filter_map(|r| r.spend).collect();
        let total = (!spent.is_empty()).then(|| spent.iter().sum::<f64>());
        if i == 0 {
            total_spend = total;
        }
        tables.push(ChannelTable {
            by: cost.by.name.clone(),
            currency: cost.currency.clone(),
            total: row("total", total, &all, spec),
            rows,
        });
    }
    (tables, total_spend)
}

/// The share of the days of the period starting on `start` that lie in `from..=to`.
fn share(start: i64, p: Period, from: i64, to: i64) -> f64 {
    let end = period::next(start, p);
    let inside = (end.min(to + 1) - start.max(from)).max(0);
    inside as f64 / (end - start) as f64
}

/// The periods whose spend is prorated: the months of the spend file (`file`) and the
/// periods of the `cost by` declarations that the range covers only in part, each once, in
/// order.
fn partial_periods(spec: &Spec, file: bool, from: i64, to: i64) -> Vec<(i64, Period)> {
    let mut kinds = Vec::new();
    if file {
        kinds.push(Period::Monthly);
    }
    for c in &spec.costs {
        if !kinds.contains(&c.period) {
            kinds.push(c.period);
        }
    }
    let mut out = Vec::new();
    for p in kinds {
        for s in period::starts(from, to, p) {
            if share(s, p, from, to) < 1.0 {
                out.push((s, p));
            }
        }
    }
    out
}

fn row(channel: &str, spend: Option<f64>, c: &Counts, spec: &Spec) -> ChannelRow {
    let revenue = c.revenue_cents as f64 / 100.0;
    ChannelRow {
        channel: channel.into(),
        spend: spend.map(|s| round(s, 2)),
        cost_per: c
            .reached
            .iter()
            .map(|r| spend.and_then(|s| ratio(s, *r as f64)).map(|v| round(v, 2)))
            .collect(),
        reached: c.reached.clone(),
        revenue: round(revenue, 2),
        roi: if spec.revenue.is_empty() {
            None
        } else {
            spend.and_then(|s| ratio(revenue - s, s))
        },
    }
}

/// Revenue over the report's leads, per stage, and months to payback.
pub fn revenue(spec: &Spec, agg: &Aggregate, spend: Option<f64>) -> Option<RevenueOut> {
    let first = spec.revenue.first()?;
    let total = agg.revenue_cents as f64 / 100.0;
    // A periodic revenue is recurring: its amounts are per period, made monthly here.
    let monthly = first.period.map(|p| match p {
        Period::Weekly => total * 52.0 / 12.0,
        Period::Monthly => total,
        Period::Quarterly => total / 3.0,
    });
    Some(RevenueOut {
        sources: spec.revenue.iter().map(|r| r.text.clone()).collect(),
        total: round(total, 2),
        per_stage: agg
            .reached
            .iter()
            .map(|r| ratio(total, *r as f64).map(|v| round(v, 2)))
            .collect(),
        monthly: monthly.map(|m| round(m, 2)),
        spend: spend.map(|s| round(s, 2)),
        months_to_payback: match (spend, monthly) {
            (Some(s), Some(m)) => ratio(s, m).map(|v| round(v, 2)),
            _ => None,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::time::days_from_civil;

    #[test]
    fn a_period_counts_for_its_days_inside_the_range() {
        let d = |m, day| days_from_civil(2025, m, day);
        // Week of Monday March 3: the range starts on Thursday the 6th (4 of 7 days).
        assert_eq!(share(d(3, 3), Period::Weekly, d(3, 6), d(3, 31)), 4.0 / 7.0);
        // Q1 (90 days in 2025) against March alone: 31 days.
        assert_eq!(
            share(d(1, 1), Period::Quarterly, d(3, 1), d(3, 31)),
            31.0 / 90.0
        );
        // Fully inside, and not at all.
        assert_eq!(share(d(3, 1), Period::Monthly, d(1, 1), d(12, 31)), 1.0);
        assert_eq!(share(d(3, 1), Period::Monthly, d(4, 1), d(4, 30)), 0.0);
    }
}
