//! Two plans on the same leads, in one pass: each lead is read once and replayed under both
//! (`funnelc diff`). When the two files declare the same schema (traits, events and their
//! properties, which is all a reader looks at), a lead is also parsed once and the same lead
//! replayed twice; otherwise each line of lead-per-line JSONL is parsed a second time, by
//! the other schema, from the bytes already read.

use std::collections::BTreeMap;

use super::{stream, Data, Error, Input, Read};
use crate::eval::{replay, Outcome};
use crate::input::DataError;
use crate::lead::Lead;
use crate::plan::Plan;

/// Whether two plans read lead data the same way: the same traits and event types, with the
/// same properties, in the same order (so the same slots).
pub fn same_schema(a: &Plan, b: &Plan) -> bool {
    a.traits == b.traits
        && a.events.len() == b.events.len()
        && a.events
            .iter()
            .zip(&b.events)
            .all(|(x, y)| x.name == y.name && x.props == y.props)
}

/// How each lead is replayed under both plans, and what is kept of it.
pub struct PairWork<'a, T> {
    /// The evaluation moment (milliseconds since 1970), the same for both.
    pub as_of: i64,
    /// Runs on the worker with the lead as each plan read it (the same lead when the schemas
    /// are the same) and its outcome under each: `(before lead, before outcome, after lead,
    /// after outcome)`.
    pub finish: &'a (dyn Fn(&Lead, &Outcome, &Lead, &Outcome) -> T + Sync),
}

/// One lead replayed under both plans: events of types the `after` schema does not declare,
/// by type, and what `finish` made of it.
pub struct PairEvaluated<T> {
    pub unknown: BTreeMap<String, u64>,
    pub value: T,
}

/// Reads the leads once and replays each under `before` and `after`, in parallel; each
/// batch's results go to `gather` and what it makes of them to `take`, in input order, as
/// [`super::evaluate_batches`] does. A lead that one of the schemas cannot read is a data
/// error (the first of the two). `input` must have been opened with `after` (see
/// [`super::open`]); a Segment stream or CSV pair, read whole by one schema, cannot be read
/// by another that differs from it: that is a usage error.
pub fn evaluate_pair<T: Send, U: Send>(
    before: &Plan,
    after: &Plan,
    data: &Data,
    input: Input,
    work: PairWork<'_, T>,
    gather: &(dyn Fn(Vec<Result<PairEvaluated<T>, DataError>>) -> U + Sync),
    take: impl FnMut(U) -> bool,
) -> Result<bool, Error> {
    let same = same_schema(before, after);
    if !same && input.loaded.is_some() {
        return Err(Error::Usage(format!(
            "the two rule files declare different schemas, and {} is read whole by one of \
             them: compare them on lead-per-line JSONL, or declare the same schema in both",
            data.name
        )));
    }
    let each = |read: Read, again: Option<Read>| -> Result<PairEvaluated<T>, DataError> {
        let (lead, unknown) = read?;
        let new = replay(after, &lead, work.as_of);
        let value = match again {
            None => {
                let old = replay(before, &lead, work.as_of);
                (work.finish)(&lead, &old, &lead, &new)
            }
            Some(again) => {
                let (old_lead, _) = again?;
                let old = replay(before, &old_lead, work.as_of);
                (work.finish)(&old_lead, &old, &lead, &new)
            }
        };
        Ok(PairEvaluated { unknown, value })
    };
    let also = (!same).then_some(before);
    stream(
        after,
        also,
        data,
        input,
        &|_| true,
        &each,
        &Err,
        gather,
        take,
    )
}
