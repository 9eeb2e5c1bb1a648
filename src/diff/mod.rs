//! `funnelc diff`: two versions of a rule file evaluated on the same leads, in one pass
//! ([`pipeline::evaluate_pair`]: each lead read once, replayed under both), compared lead by
//! lead ([`crate::compare`]), with each version's conversion rates and the bands its `kpi
//! conversion` declarations give them ([`report::conversion`]). [`render`] lays a [`Diff`]
//! out for a terminal, a pull-request comment (Markdown) or a program (JSON).
//!
//! Each batch of leads is compared on the thread that takes results in order, once its lead
//! ids were checked, and the batches' comparisons are merged in input order, so the result is
//! the same whatever the thread count; memory holds a few batches and the first moved leads.

pub mod render;

use std::collections::BTreeMap;

use crate::compare::{self, Comparison, Names};
use crate::input::DataError;
use crate::pipeline::{self, Data, Input, PairEvaluated, PairWork};
use crate::plan::Plan;
use crate::report::{self, ConversionRow, Spec};

/// One version of the rule file.
pub struct Version<'a> {
    /// How it is named in the output: its path, or `REV:path` for a committed version.
    pub name: String,
    pub plan: &'a Plan,
    /// Its KPI declarations (for the conversion bands).
    pub spec: &'a Spec,
}

/// A conversion between two stages, before and after; `None` on a side whose file lacks one
/// of the two stages.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Conversion {
    pub from: String,
    pub to: String,
    pub before: Option<ConversionRow>,
    pub after: Option<ConversionRow>,
}

/// The result of a diff.
#[derive(Clone, Debug, PartialEq)]
pub struct Diff {
    pub before: String,
    pub after: String,
    /// The evaluation moment, milliseconds since 1970.
    pub as_of: i64,
    pub data: String,
    /// Leads read, and those passed over as bad data.
    pub read: u64,
    pub skipped: u64,
    /// Events of types the new schema does not declare, by type.
    pub unknown: BTreeMap<String, u64>,
    pub comparison: Comparison,
    pub conversions: Vec<Conversion>,
}

/// How a diff is run.
pub struct Options {
    /// The evaluation moment, milliseconds since 1970.
    pub as_of: i64,
    /// How many moved leads to keep (the first ones in input order).
    pub keep: usize,
}

/// Evaluates both versions on the leads and compares them. `bad` hears of each lead whose
/// data cannot be read and says whether to go on (it is then counted as skipped); `progress`
/// hears the number of leads read so far. `Ok(None)`: `bad` stopped the run.
pub fn run(
    before: &Version<'_>,
    after: &Version<'_>,
    data: &Data,
    input: Input,
    options: &Options,
    mut bad: impl FnMut(&DataError) -> bool,
    mut progress: impl FnMut(u64),
) -> Result<Option<Diff>, pipeline::Error> {
    let template = Comparison::new(
        &Names::of(before.plan),
        &Names::of(after.plan),
        options.keep,
    );
    // On the worker: where the lead ended on each side, and, only for a lead that ended
    // elsewhere, its id and the rule that decided on each side.
    let finish = |old_lead: &crate::lead::Lead,
                  old: &crate::eval::Outcome,
                  new_lead: &crate::lead::Lead,
                  new: &crate::eval::Outcome| {
        let mut a = compare::Side::of(before.plan, old);
        let mut b = compare::Side::of(after.plan, new);
        let mut id = String::new();
        if template.moves(Some(&a), Some(&b)) {
            a.decision = compare::decision(before.plan, old_lead, old);
            b.decision = compare::decision(after.plan, new_lead, new);
            id = new_lead.id.clone();
        }
        (id, a, b)
    };
    let work = PairWork {
        as_of: options.as_of,
        finish: &finish,
    };
    type Item = Result<PairEvaluated<(String, compare::Side, compare::Side)>, DataError>;
    let gather = |batch: Vec<Item>| {
        let mut part = template.empty_like();
        let mut unknown: BTreeMap<String, u64> = BTreeMap::new();
        let mut errors = Vec::new();
        for item in batch {
            match item {
                Ok(e) => {
                    for (k, v) in e.unknown {
                        *unknown.entry(k).or_insert(0) += v;
                    }
                    let (id, a, b) = e.value;
                    part.add(&id, Some(a), Some(b));
                }
                Err(e) => errors.push(e),
            }
        }
        (part, unknown, errors)
    };
    let mut total = template.empty_like();
    let mut unknown: BTreeMap<String, u64> = BTreeMap::new();
    let mut skipped = 0;
    let done = pipeline::evaluate_pair(
        before.plan,
        after.plan,
        data,
        input,
        work,
        &gather,
        |(part, more, errors)| {
            for e in &errors {
                if !bad(e) {
                    return false;
                }
                skipped += u64::from(!e.no_lead);
            }
            total.merge(part);
            for (k, v) in more {
                *unknown.entry(k).or_insert(0) += v;
            }
            progress(total.leads + skipped);
            true
        },
    )?;
    if !done {
        return Ok(None);
    }
    let conversions = conversions(before, after, &total);
    Ok(Some(Diff {
        before: before.name.clone(),
        after: after.name.clone(),
        as_of: options.as_of,
        data: data.name.clone(),
        read: total.leads + skipped,
        skipped,
        unknown,
        comparison: total,
        conversions,
    }))
}

/// Each version's conversions between consecutive stages and those its `kpi conversion`
/// declarations name, over every lead compared, with the version's bands: the same rows
/// `funnelc report` computes, from the comparison's counts of leads that reached each stage.
fn conversions(before: &Version<'_>, after: &Version<'_>, c: &Comparison) -> Vec<Conversion> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for v in [before, after] {
        let stages = &v.spec.stages;
        let consecutive = stages.windows(2).map(|w| (&w[0].name, &w[1].name));
        let declared = v
            .spec
            .conversions
            .iter()
            .filter_map(|k| Some((&stages.get(k.from)?.name, &stages.get(k.to)?.name)));
        for (a, b) in consecutive.chain(declared) {
            if !pairs.iter().any(|(x, y)| x == a && y == b) {
                pairs.push((a.clone(), b.clone()));
            }
        }
    }
    let row = |k: usize, v: &Version<'_>, from: &str, to: &str| -> Option<ConversionRow> {
        let i = v.spec.stages.iter().position(|s| s.name == from)?;
        let j = v.spec.stages.iter().position(|s| s.name == to)?;
        let count = |name: &str| {
            c.names
                .stages
                .iter()
                .position(|s| s == name)
                .and_then(|u| c.reached[k].get(u).copied())
                .unwrap_or(0)
        };
        let bands = v
            .spec
            .conversions
            .iter()
            .find(|kpi| kpi.from == i && kpi.to == j)
            .map_or(&[][..], |kpi| &kpi.bands[..]);
        Some(report::conversion(from, to, count(from), count(to), bands))
    };
    pairs
        .into_iter()
        .map(|(from, to)| Conversion {
            before: row(0, before, &from, &to),
            after: row(1, after, &from, &to),
            from,
            to,
        })
        .collect()
}
