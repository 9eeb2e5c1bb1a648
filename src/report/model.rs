//! The report as data: every number a format shows, computed once from the [`Aggregate`].
//! The JSON format is this structure serialised (its schema is in `docs/kpis.md`); the other
//! formats lay the same numbers out. A ratio with nothing to divide by is `None` (shown "—").

use serde::Serialize;

use super::aggregate::{Aggregate, Counts, MS_PER_DAY};
use super::period::{self, date};
use super::spec::{band_of, Band, BandSpec, Spec};
use super::spend::Spend;
use crate::syntax::ast::Period;

/// The version of the JSON schema; raised when a field changes meaning or goes away.
pub const SCHEMA: u32 = 1;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub schema: u32,
    pub funnel: Option<String>,
    /// The evaluation moment, RFC 3339.
    pub as_of: String,
    pub range: RangeOut,
    /// `week`, `month` or `quarter`: the periods of the flow table.
    pub period: String,
    pub leads: LeadCounts,
    pub stages: Vec<StageRow>,
    /// The same numbers for an earlier window of the same length, when the data has leads in it.
    pub comparisons: Vec<Comparison>,
    pub conversions: Vec<ConversionRow>,
    pub velocity: Vec<TransitionRow>,
    pub velocity_targets: Vec<VelocityTarget>,
    pub sla: Vec<SlaRow>,
    pub breakdowns: Vec<Breakdown>,
    pub periods: Vec<PeriodRow>,
    /// Per period and stage: leads in it at the start, stays begun and ended, at the end.
    pub inventory: Vec<InventoryRow>,
    pub targets: Vec<TargetTable>,
    pub channels: Vec<ChannelTable>,
    pub revenue: Option<RevenueOut>,
    pub steps: Vec<StepTable>,
    pub insights: Vec<Insight>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RangeOut {
    /// First and last funnel-entry day of the leads the report is about (inclusive).
    pub from: String,
    pub to: String,
    /// Whether `--from`/`--to` set it (else: from the first funnel entry to the as-of day).
    pub given: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LeadCounts {
    pub read: u64,
    pub skipped: u64,
    /// Leads in the report: they entered the funnel within the range.
    pub in_report: u64,
    pub outside_range: u64,
    pub not_in_funnel: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StageRow {
    pub name: String,
    pub display: Option<String>,
    /// Leads that reached the stage by any path.
    pub reached: u64,
    /// Leads that reached it straight down the funnel, with no move back before.
    pub straight: u64,
    pub from_previous: Option<f64>,
    pub from_first: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Comparison {
    /// `previous period` or `same period last year`.
    pub name: String,
    pub from: String,
    pub to: String,
    /// `full`: the data reaches back to the window's first day; `partial`: the data's
    /// earliest funnel entry is inside the window; `none`: no lead entered the funnel in it.
    pub coverage: String,
    /// The window's cohort: leads that entered the funnel in it and reached each stage.
    pub reached: Vec<u64>,
    pub from_previous: Vec<Option<f64>>,
    pub from_first: Vec<Option<f64>>,
    /// Per stage: (reached now − reached then) / reached then.
    pub change: Vec<Option<f64>>,
    pub from_first_to_last: Option<f64>,
    /// What the coverage means for the numbers, when it is not `full`.
    pub note: Option<String>,
}

/// An earlier window to compare the report's range with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// The same length just before the range.
    Previous,
    /// The same dates a year earlier.
    LastYear,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ConversionRow {
    pub from: String,
    pub to: String,
    pub from_count: u64,
    pub to_count: u64,
    pub rate: Option<f64>,
    /// The band the rate is in; `None` between bands or without a rate.
    pub band: Option<String>,
    /// `low` for a `below` band, `high` for the best `from` band, `mid` otherwise.
    pub tone: Option<String>,
    /// The bands as written.
    pub bands: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TransitionRow {
    pub from: String,
    pub to: String,
    /// Leads that entered both (the durations measured).
    pub leads: u64,
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
    /// Whether the median and p90 are exact (see `docs/kpis.md`).
    pub exact: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct VelocityTarget {
    pub from: String,
    pub to: String,
    pub target: String,
    pub target_days: f64,
    pub leads: u64,
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
    /// Leads that took longer than the target.
    pub over_target: u64,
    /// The mean within the target; `None` without leads.
    pub met: Option<bool>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SlaRow {
    pub stage: String,
    pub sla_days: f64,
    /// Leads with a stay longer than the SLA.
    pub breached: u64,
    /// Of those, leads still in that stay at the as-of moment.
    pub ongoing: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Breakdown {
    pub dimension: String,
    pub rows: Vec<BreakdownRow>,
    /// Leads without the trait (the `(none)` row).
    pub missing: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BreakdownRow {
    /// The trait's value; `(none)` for leads without it.
    pub value: String,
    pub reached: Vec<u64>,
    pub from_previous: Vec<Option<f64>>,
    pub from_first_to_last: Option<f64>,
    /// The report's `conversions[]`, over this value's leads, with their bands.
    pub conversions: Vec<ConversionRow>,
    /// The report's `velocity[]`, over this value's leads.
    pub velocity: Vec<TransitionRow>,
    /// Per stage with an SLA: this value's leads with a stay over it.
    pub sla: Vec<SlaCount>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SlaCount {
    pub stage: String,
    pub breached: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PeriodRow {
    pub period: String,
    pub start: String,
    /// First entries into each stage in the period.
    pub entries: Vec<u64>,
    /// Change from the period before, per stage (`None` for a stage that had none then);
    /// `None` as a whole when `--compare` leaves the previous period out.
    pub change: Option<Vec<Option<f64>>>,
    /// The same period a year earlier, when `--compare` asks for it and the data has entries
    /// then.
    pub last_year: Option<Vec<u64>>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct InventoryRow {
    pub period: String,
    pub stage: String,
    /// Leads in the stage when the period began.
    pub start: u64,
    /// Entries into the stage in the period (every entry, re-entries too).
    pub entered: u64,
    /// Stays in the stage that ended in the period (moved on, moved back, or exited).
    pub left: u64,
    /// Leads in the stage when the period ended: start + entered − left.
    pub end: u64,
    /// Mean days of the stays that ended in the period.
    pub mean_days_in_stage: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TargetTable {
    pub stage: String,
    pub period: String,
    pub rows: Vec<TargetRow>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TargetRow {
    pub period: String,
    pub actual: u64,
    pub target: f64,
    /// (actual − target) / target.
    pub vs_target: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ChannelTable {
    /// The cost trait (`source`).
    pub by: String,
    pub currency: String,
    pub rows: Vec<ChannelRow>,
    pub total: ChannelRow,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ChannelRow {
    pub channel: String,
    /// Spend over the range; `None` when nothing says what it was.
    pub spend: Option<f64>,
    pub reached: Vec<u64>,
    /// Spend / leads that reached each stage.
    pub cost_per: Vec<Option<f64>>,
    pub revenue: f64,
    /// (revenue − spend) / spend.
    pub roi: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RevenueOut {
    /// `amount of opportunity.created`
    pub sources: Vec<String>,
    pub total: f64,
    /// Revenue / leads that reached each stage (revenue per SQL among them).
    pub per_stage: Vec<Option<f64>>,
    /// Recurring revenue per month, when the declaration gives a period.
    pub monthly: Option<f64>,
    pub spend: Option<f64>,
    /// Spend / monthly revenue.
    pub months_to_payback: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepTable {
    pub family: String,
    /// The family's event types, in declaration order (`email.sent`, `email.opened`, …).
    pub types: Vec<String>,
    /// The stages some step's event triggered the first entry into.
    pub helped_stages: Vec<String>,
    pub rows: Vec<StepRow>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepRow {
    pub step: i64,
    /// Leads with each type's event of this step.
    pub leads: Vec<u64>,
    /// Each later type's leads / the first type's.
    pub rates: Vec<Option<f64>>,
    /// Per helped stage: first entries that this step's event triggered.
    pub helped: Vec<u64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Insight {
    /// `weakest_transition`, `slowest_transition`, `failing_band`, `velocity_target_missed`,
    /// `sla_breaches`, `spend_without_conversion`.
    pub kind: String,
    pub text: String,
}

/// How the report was asked for.
#[derive(Clone, Debug)]
pub struct Asked {
    pub as_of: i64,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub period: Period,
    /// The comparisons asked for, in this order.
    pub compare: Vec<Compare>,
    /// Whether they were asked for by name (a window the data does not cover is then also
    /// a warning), not the default.
    pub compare_given: bool,
}

pub(super) fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| round(a / b, 4))
}

pub(super) fn round(v: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (v * k).round() / k
}

fn days(ms: Option<f64>) -> Option<f64> {
    ms.map(|v| round(v / MS_PER_DAY as f64, 2))
}

/// The report's range, first and last day (days since 1970): as asked, else from the first
/// cohort's day to the day of the evaluation moment.
pub fn range(agg: &Aggregate, asked: &Asked) -> (i64, i64) {
    let as_of_day = asked.as_of.div_euclid(MS_PER_DAY);
    let from = asked
        .from
        .or_else(|| agg.cohorts.keys().next().copied())
        .unwrap_or(as_of_day);
    (from, asked.to.unwrap_or(as_of_day.max(from)))
}

/// Computes every KPI.
pub fn build(spec: &Spec, agg: &Aggregate, asked: &Asked, spend: Option<&Spend>) -> Report {
    let n = spec.stages.len();
    let (from, to) = range(agg, asked);
    let mut warnings: Vec<String> = spec.warnings.clone();
    warnings.extend(spend.map(|s| s.warnings.clone()).unwrap_or_default());
    let in_report = agg.read - agg.skipped - agg.outside - agg.not_in_funnel;
    let pct = |a: u64, b: u64| ratio(a as f64, b as f64);
    let stages: Vec<StageRow> = (0..n)
        .map(|s| StageRow {
            name: spec.stages[s].name.clone(),
            display: spec.stages[s].display.clone(),
            reached: agg.reached[s],
            straight: agg.straight[s],
            from_previous: (s > 0)
                .then(|| pct(agg.reached[s], agg.reached[s - 1]))
                .flatten(),
            from_first: pct(agg.reached[s], agg.reached[0]),
        })
        .collect();
    let comparisons = comparisons(agg, &stages, from, to, &asked.compare);
    if asked.compare_given {
        for c in &comparisons {
            if let Some(note) = c.note.as_ref().filter(|_| c.coverage != "full") {
                warnings.push(note.clone());
            }
        }
    }
    if agg.outside > 0 {
        let used: u64 = comparisons
            .iter()
            .map(|c| c.reached.first().copied().unwrap_or(0))
            .sum();
        let mut w = format!(
            "{} entered the funnel outside {}..{} and are not in the report",
            leads(agg.outside),
            date(from),
            date(to)
        );
        if used > 0 {
            w.push_str(&format!(
                " ({} of them are in the comparison with earlier periods)",
                thousands(used)
            ));
        }
        warnings.push(w);
    }
    if !agg.unknown.is_empty() {
        let total: u64 = agg.unknown.values().sum();
        let list: Vec<String> = agg
            .unknown
            .iter()
            .map(|(k, v)| format!("{k} ({})", thousands(*v)))
            .collect();
        warnings.push(format!(
            "ignored {} {} of types the schema does not declare: {}",
            thousands(total),
            if total == 1 { "event" } else { "events" },
            list.join(", ")
        ));
    }
    let conversions = conversion_rows(spec, &agg.reached);
    let velocity = transition_rows(spec, &agg.transitions);
    let velocity_targets = spec
        .velocities
        .iter()
        .zip(&agg.velocities)
        .map(|(k, (d, over))| VelocityTarget {
            from: spec.stage_name(k.from).into(),
            to: spec.stage_name(k.to).into(),
            target: k.text.clone(),
            target_days: round(k.at_most_ms as f64 / MS_PER_DAY as f64, 2),
            leads: d.count(),
            mean_days: days(d.mean()),
            median_days: days(d.quantile(0.5)),
            over_target: *over,
            met: d.mean().map(|m| m <= k.at_most_ms as f64),
        })
        .collect();
    let sla = spec
        .stages
        .iter()
        .enumerate()
        .filter_map(|(s, st)| {
            st.sla_ms.map(|ms| SlaRow {
                stage: st.name.clone(),
                sla_days: round(ms as f64 / MS_PER_DAY as f64, 2),
                breached: agg.breached[s],
                ongoing: agg.ongoing[s],
            })
        })
        .collect();
    let breakdowns: Vec<Breakdown> = spec
        .dimensions
        .iter()
        .zip(&agg.dims)
        .map(|(d, map)| breakdown(spec, &d.name, map))
        .collect();
    for b in &breakdowns {
        if b.missing > 0 {
            warnings.push(format!(
                "{} in the report {} no `{}`: counted under (none)",
                leads(b.missing),
                if b.missing == 1 { "has" } else { "have" },
                b.dimension
            ));
        }
    }
    let periods = periods(agg, n, (from, to), asked.period, &asked.compare);
    let inventory = inventory(spec, agg, from, to, asked.period);
    let targets = spec
        .targets
        .iter()
        .map(|t| target_table(spec, agg, t, from, to))
        .collect();
    let (channels, total_spend) = super::money::channels(spec, agg, spend, from, to, &mut warnings);
    let revenue = super::money::revenue(spec, agg, total_spend);
    let steps = steps(spec, agg);
    let mut report = Report {
        schema: SCHEMA,
        funnel: spec.funnel.clone(),
        as_of: crate::time::format_timestamp(crate::time::Timestamp {
            millis: asked.as_of,
        }),
        range: RangeOut {
            from: date(from),
            to: date(to),
            given: asked.from.is_some() || asked.to.is_some(),
        },
        period: period::noun(asked.period).into(),
        leads: LeadCounts {
            read: agg.read,
            skipped: agg.skipped,
            in_report,
            outside_range: agg.outside,
            not_in_funnel: agg.not_in_funnel,
        },
        stages,
        comparisons,
        conversions,
        velocity,
        velocity_targets,
        sla,
        breakdowns,
        periods,
        inventory,
        targets,
        channels,
        revenue,
        steps,
        insights: Vec::new(),
        warnings,
    };
    report.insights = super::insights::insights(&report);
    report
}

/// One row per `kpi conversion`, over the leads whose `reached` counts are given.
fn conversion_rows(spec: &Spec, reached: &[u64]) -> Vec<ConversionRow> {
    let at = |s: usize| reached.get(s).copied().unwrap_or(0);
    spec.conversions
        .iter()
        .map(|k| {
            conversion(
                spec.stage_name(k.from),
                spec.stage_name(k.to),
                at(k.from),
                at(k.to),
                &k.bands,
            )
        })
        .collect()
}

/// The conversion from one stage to another: `to_count / from_count`, and the band of
/// `bands` (as declared by a `kpi conversion`; empty for none) it falls in. `funnelc diff`
/// shows the same rows for two versions of a rule file.
pub fn conversion(
    from: &str,
    to: &str,
    from_count: u64,
    to_count: u64,
    bands: &[BandSpec],
) -> ConversionRow {
    let rate = ratio(to_count as f64, from_count as f64);
    let band = rate.and_then(|r| band_of(bands, r));
    let best_from = bands
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match b.range {
            Band::From(p) => Some((i, p)),
            _ => None,
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i);
    ConversionRow {
        from: from.into(),
        to: to.into(),
        from_count,
        to_count,
        rate,
        band: band.map(|i| bands[i].label.clone()),
        tone: band.map(|i| {
            match bands[i].range {
                Band::Below(_) => "low",
                _ if Some(i) == best_from => "high",
                Band::Between(..) => "high",
                _ => "mid",
            }
            .to_string()
        }),
        bands: bands
            .iter()
            .map(|b| match b.range {
                Band::Below(p) => format!("{} below {}%", b.label, num(p)),
                Band::From(p) => format!("{} from {}%", b.label, num(p)),
                Band::Between(p, q) => {
                    format!("{} between {}% and {}%", b.label, num(p), num(q))
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The velocity rows: each consecutive pair of stages, then first to last.
fn transition_rows(spec: &Spec, dists: &[super::Dist]) -> Vec<TransitionRow> {
    let n = spec.stages.len();
    dists
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (a, b) = if i + 1 < n { (i, i + 1) } else { (0, n - 1) };
            TransitionRow {
                from: spec.stage_name(a).into(),
                to: spec.stage_name(b).into(),
                leads: d.count(),
                mean_days: days(d.mean()),
                median_days: days(d.quantile(0.5)),
                p90_days: days(d.quantile(0.9)),
                exact: d.is_exact(),
            }
        })
        .collect()
}

/// `50`, `42.5`: a number as written in a rule file.
pub(super) fn num(v: f64) -> String {
    crate::lead::fmt_num(v)
}

pub(super) use crate::pipeline::thousands;

fn leads(n: u64) -> String {
    format!("{} {}", thousands(n), if n == 1 { "lead" } else { "leads" })
}

/// The cohorts of the window before the range and of the same window a year earlier, as
/// asked, each with how much of it the data covers.
fn comparisons(
    agg: &Aggregate,
    now: &[StageRow],
    from: i64,
    to: i64,
    asked: &[Compare],
) -> Vec<Comparison> {
    let n = now.len();
    let months = period::whole_months(from, to);
    let data_start = agg.cohorts.keys().next().copied();
    let mut out = Vec::new();
    for c in asked {
        let (name, (a, b)) = match c {
            Compare::Previous => (
                "previous period",
                match months {
                    Some(m) => (period::add_months(from, -(m as i32)), from - 1),
                    None => (from - (to - from + 1), from - 1),
                },
            ),
            Compare::LastYear => (
                "same period last year",
                (
                    period::add_months(from, -12),
                    period::add_months(to + 1, -12) - 1,
                ),
            ),
        };
        let mut reached = vec![0u64; n];
        for (_, row) in agg.cohorts.range(a..=b) {
            for (r, c) in reached.iter_mut().zip(row) {
                *r += c;
            }
        }
        let first = reached.first().copied().unwrap_or(0);
        let (coverage, note) = match data_start {
            _ if first == 0 => (
                "none",
                Some(format!(
                    "no comparison with the {name}: no lead in the data entered the funnel \
                     in {}..{}",
                    date(a),
                    date(b)
                )),
            ),
            Some(d) if d > a => (
                "partial",
                Some(format!(
                    "the {name} ({}..{}) is only partly in the data: its earliest funnel \
                     entry is on {}",
                    date(a),
                    date(b),
                    date(d)
                )),
            ),
            _ => ("full", None),
        };
        let pct = |x: u64, y: u64| ratio(x as f64, y as f64);
        out.push(Comparison {
            name: name.into(),
            from: date(a),
            to: date(b),
            coverage: coverage.into(),
            from_previous: (0..n)
                .map(|s| (s > 0).then(|| pct(reached[s], reached[s - 1])).flatten())
                .collect(),
            from_first: (0..n).map(|s| pct(reached[s], first)).collect(),
            change: now
                .iter()
                .zip(&reached)
                .map(|(st, then)| ratio(st.reached as f64 - *then as f64, *then as f64))
                .collect(),
            from_first_to_last: pct(reached.last().copied().unwrap_or(0), first),
            reached,
            note,
        });
    }
    out
}

fn breakdown(
    spec: &Spec,
    name: &str,
    map: &std::collections::BTreeMap<Option<String>, Counts>,
) -> Breakdown {
    let row = |value: String, c: &Counts| {
        let at = |s: usize| c.reached.get(s).copied().unwrap_or(0) as f64;
        BreakdownRow {
            value,
            from_previous: (0..c.reached.len())
                .map(|s| (s > 0).then(|| ratio(at(s), at(s - 1))).flatten())
                .collect(),
            from_first_to_last: ratio(at(c.reached.len().saturating_sub(1)), at(0)),
            conversions: conversion_rows(spec, &c.reached),
            velocity: transition_rows(spec, &c.transitions),
            sla: spec
                .stages
                .iter()
                .enumerate()
                .filter(|(_, st)| st.sla_ms.is_some())
                .map(|(s, st)| SlaCount {
                    stage: st.name.clone(),
                    breached: c.breached.get(s).copied().unwrap_or(0),
                })
                .collect(),
            reached: c.reached.clone(),
        }
    };
    // Largest first (by each stage in turn), then by name: the order people read a source
    // table in, and a stable one.
    let mut rows: Vec<(&String, &Counts)> = map
        .iter()
        .filter_map(|(k, c)| k.as_ref().map(|k| (k, c)))
        .collect();
    rows.sort_by(|a, b| b.1.reached.cmp(&a.1.reached).then(a.0.cmp(b.0)));
    let mut out: Vec<BreakdownRow> = rows.into_iter().map(|(k, c)| row(k.clone(), c)).collect();
    let missing = map.get(&None);
    if let Some(c) = missing {
        out.push(row("(none)".into(), c));
    }
    Breakdown {
        dimension: name.into(),
        rows: out,
        missing: missing.map_or(0, |c| c.reached.first().copied().unwrap_or(0)),
    }
}

/// Entries into each stage in `from..to` (days, end exclusive).
fn flow_in(agg: &Aggregate, n: usize, from: i64, to: i64) -> Vec<u64> {
    let mut v = vec![0u64; n];
    for (_, row) in agg.flow.range(from..to) {
        for (a, b) in v.iter_mut().zip(row) {
            *a += b;
        }
    }
    v
}

fn periods(
    agg: &Aggregate,
    n: usize,
    (from, to): (i64, i64),
    p: Period,
    compare: &[Compare],
) -> Vec<PeriodRow> {
    period::starts(from, to, p)
        .into_iter()
        .map(|start| {
            let end = period::next(start, p);
            let entries = flow_in(agg, n, start, end);
            let prev_start = period::start_of(start - 1, p);
            let prev = flow_in(agg, n, prev_start, start);
            let ly = period::year_before(start, p);
            let last_year = flow_in(agg, n, ly, period::next(ly, p));
            PeriodRow {
                period: period::label(start, p),
                start: date(start),
                change: compare.contains(&Compare::Previous).then(|| {
                    entries
                        .iter()
                        .zip(&prev)
                        .map(|(a, b)| ratio(*a as f64 - *b as f64, *b as f64))
                        .collect()
                }),
                entries,
                last_year: (compare.contains(&Compare::LastYear)
                    && last_year.iter().any(|v| *v > 0))
                .then_some(last_year),
            }
        })
        .collect()
}

/// The stage inventory per period (every lead's stays, whatever its cohort).
fn inventory(spec: &Spec, agg: &Aggregate, from: i64, to: i64, p: Period) -> Vec<InventoryRow> {
    let n = spec.stages.len();
    let mut out = Vec::new();
    for start in period::starts(from, to, p) {
        let end = period::next(start, p);
        let (mut before_in, mut before_out) = (vec![0u64; n], vec![0u64; n]);
        for (_, d) in agg.stays.range(..start) {
            super::aggregate::add_into(&mut before_in, &d.began);
            super::aggregate::add_into(&mut before_out, &d.ended);
        }
        let (mut began, mut ended, mut ms) = (vec![0u64; n], vec![0u64; n], vec![0i64; n]);
        for (_, d) in agg.stays.range(start..end) {
            super::aggregate::add_into(&mut began, &d.began);
            super::aggregate::add_into(&mut ended, &d.ended);
            for (a, b) in ms.iter_mut().zip(&d.ended_ms) {
                *a += b;
            }
        }
        for s in 0..n {
            let at_start = before_in[s].saturating_sub(before_out[s]);
            out.push(InventoryRow {
                period: period::label(start, p),
                stage: spec.stage_name(s).into(),
                start: at_start,
                entered: began[s],
                left: ended[s],
                end: (at_start + began[s]).saturating_sub(ended[s]),
                mean_days_in_stage: days((ended[s] > 0).then(|| ms[s] as f64 / ended[s] as f64)),
            });
        }
    }
    out
}

fn target_table(
    spec: &Spec,
    agg: &Aggregate,
    t: &super::spec::TargetSpec,
    from: i64,
    to: i64,
) -> TargetTable {
    let n = spec.stages.len();
    let mut rows = Vec::new();
    let mut start = t.from_day;
    let mut k = 0i32;
    while start <= to {
        let end = period::next(start, t.period);
        if end > from {
            let actual = flow_in(agg, n, start, end)[t.stage];
            let target = round(t.base as f64 * (1.0 + t.growth).powi(k), 2);
            rows.push(TargetRow {
                period: period::label(start, t.period),
                actual,
                target,
                vs_target: ratio(actual as f64 - target, target),
            });
        }
        start = end;
        k += 1;
    }
    TargetTable {
        stage: spec.stage_name(t.stage).into(),
        period: period::noun(t.period).into(),
        rows,
    }
}

fn steps(spec: &Spec, agg: &Aggregate) -> Vec<StepTable> {
    let n = spec.stages.len();
    spec.families
        .iter()
        .enumerate()
        .filter_map(|(f, fam)| {
            let rows: Vec<(&i64, &super::aggregate::StepCounts)> = agg
                .steps
                .iter()
                .filter(|((ff, _), _)| *ff as usize == f)
                .map(|((_, step), c)| (step, c))
                .collect();
            if rows.is_empty() {
                return None;
            }
            let helped_stages: Vec<usize> = (0..n)
                .filter(|s| rows.iter().any(|(_, c)| c.helped[*s] > 0))
                .collect();
            Some(StepTable {
                family: fam.name.clone(),
                types: fam.types.iter().map(|t| t.1.clone()).collect(),
                helped_stages: helped_stages
                    .iter()
                    .map(|s| spec.stage_name(*s).to_string())
                    .collect(),
                rows: rows
                    .into_iter()
                    .map(|(step, c)| StepRow {
                        step: *step,
                        rates: c
                            .leads
                            .iter()
                            .skip(1)
                            .map(|x| ratio(*x as f64, c.leads[0] as f64))
                            .collect(),
                        leads: c.leads.clone(),
                        helped: helped_stages.iter().map(|s| c.helped[*s]).collect(),
                    })
                    .collect(),
            })
        })
        .collect()
}
