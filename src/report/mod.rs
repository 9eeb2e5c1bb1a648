//! `funnelc report`: the KPIs a rule file declares, measured on the leads.
//!
//! Leads stream through [`pipeline::evaluate_batches`]: each is replayed and boiled down to
//! its [`Facts`] on the worker that evaluated it; each batch's facts are added up into a
//! partial [`Aggregate`] once the batch's lead ids were checked (on the thread that takes
//! results), and the partials are merged in input order (whole-number sums,
//! bounded quantile sketches), so memory does not grow with the number of leads and the
//! numbers do not depend on the thread count. [`build`] then
//! computes every KPI into a [`Report`], which the formats lay out: [`render::table`],
//! [`render::markdown`], [`render::csv_files`], [`html::html`], and JSON (the `Report`
//! serialised). What each number means is in `docs/kpis.md`.

mod aggregate;
mod dist;
pub mod html;
mod insights;
mod model;
mod money;
pub mod period;
pub mod render;
mod spec;
pub mod spend;

pub use aggregate::{Aggregate, Context, Facts, Range};
pub use dist::Dist;
pub use model::{build, conversion, range, Asked, Compare, ConversionRow, Report, SCHEMA};
pub use spec::{band_of, Band, BandSpec, Spec};
pub use spend::Spend;

use crate::input::DataError;
use crate::pipeline::{self, Data, Input, Work};
use crate::plan::Plan;

/// The moment leads are evaluated at, and which of them the report is about.
#[derive(Clone, Copy, Debug)]
pub struct Scope {
    /// Milliseconds since 1970.
    pub as_of: i64,
    pub range: Range,
}

/// Runs every lead through the plan and adds it up. `bad` hears of each lead whose data
/// cannot be read, and says whether to go on (it is then counted as skipped); `progress`
/// hears the number of leads read so far, after each batch. `Ok(None)`: `bad` stopped it.
pub fn aggregate(
    plan: &Plan,
    spec: &Spec,
    data: &Data,
    input: Input,
    scope: Scope,
    mut bad: impl FnMut(&DataError) -> bool,
    mut progress: impl FnMut(u64),
) -> Result<Option<Aggregate>, pipeline::Error> {
    let cx = Context::new(spec, plan.events.len(), scope.range);
    let facts =
        |lead: &crate::lead::Lead, out: &crate::eval::Outcome, _: Option<&_>| cx.facts(lead, out);
    let work = Work {
        as_of: scope.as_of,
        explain: false,
        finish: &facts,
    };
    // Each batch is added up as a whole; its bad leads travel with it, in order, so that
    // they are reported (and the run stopped) as if the leads were taken one by one.
    let gather = |batch: Vec<Result<pipeline::Evaluated<Facts>, DataError>>| {
        let mut part = Aggregate::new(spec);
        let mut errors = Vec::new();
        for item in batch {
            match item {
                Ok(e) => {
                    part.add_unknown(e.unknown);
                    part.add(spec, e.value);
                }
                Err(e) => {
                    part.add_skipped(&e);
                    errors.push(e);
                }
            }
        }
        (part, errors)
    };
    let mut agg = Aggregate::new(spec);
    let done = pipeline::evaluate_batches(plan, data, input, work, &gather, |(part, errors)| {
        for e in &errors {
            if !bad(e) {
                return false;
            }
        }
        agg.merge(part);
        progress(agg.read);
        true
    })?;
    Ok(done.then_some(agg))
}

#[cfg(test)]
mod tests;
