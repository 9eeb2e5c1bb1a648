//! Two plans on the same leads, in one pass: each lead is read once and replayed under both
//! (`funnelc diff`). When the two files declare the same schema (traits, events and their
//! properties, which is all a reader looks at), a lead is also parsed once and the same lead
//! replayed twice. When the new schema declares everything the old one does (same names and
//! types) and more, the lead is parsed once by the new schema and the old side's lead is made
//! from it, slot by slot ([`Subset`]); when the old schema declares everything the new one
//! does and more (a trait or event type taken out), the other way round. Otherwise each line
//! of lead-per-line JSONL is parsed a second time, by the old schema, from the bytes already
//! read.

use std::collections::BTreeMap;

use super::{stream, Data, Error, Input, Read};
use crate::eval::{replay, Outcome};
use crate::input::DataError;
use crate::lead::{Event, Lead, Value};
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

/// Where each declaration of a smaller schema is in a larger one that declares all of them
/// with the same types: a lead read by the larger schema is then read by the smaller one by
/// copying slots, with the same values a parse by the smaller one gives (the readers convert
/// a value by its declared type alone, and leave out what a schema does not declare).
pub struct Subset {
    /// For each trait slot of the smaller schema: its slot in the larger.
    traits: Vec<usize>,
    /// For each event type of the larger schema: its index in the smaller, if it has it.
    events: Vec<Option<u16>>,
    /// For each event type of the smaller schema: for each of its properties, the slot in
    /// the larger schema's event type.
    props: Vec<Vec<usize>>,
}

impl Subset {
    /// `Some` when `large` declares every trait, event type and property of `small`, with
    /// the same types.
    pub fn of(small: &Plan, large: &Plan) -> Option<Subset> {
        let traits = small
            .traits
            .iter()
            .map(|(path, ty)| large.traits.iter().position(|(p, t)| p == path && t == ty))
            .collect::<Option<Vec<usize>>>()?;
        let mut events = vec![None; large.events.len()];
        let mut props = Vec::with_capacity(small.events.len());
        for (i, e) in small.events.iter().enumerate() {
            let j = large.events.iter().position(|f| f.name == e.name)?;
            events[j] = Some(i as u16);
            let slots = e
                .props
                .iter()
                .map(|(name, ty)| {
                    large.events[j]
                        .props
                        .iter()
                        .position(|(n, t)| n == name && t == ty)
                })
                .collect::<Option<Vec<usize>>>()?;
            props.push(slots);
        }
        Some(Subset {
            traits,
            events,
            props,
        })
    }

    /// The lead as the smaller schema reads it: its traits and the events of its types, in
    /// the same order.
    pub fn lead(&self, lead: &Lead) -> Lead {
        let mut out = Lead {
            id: lead.id.clone(),
            origin: lead.origin.clone(),
            traits: self
                .traits
                .iter()
                .map(|&j| lead.traits.get(j).cloned().unwrap_or(Value::Missing))
                .collect(),
            events: Vec::with_capacity(lead.events.len()),
            props: Vec::new(),
        };
        for ev in &lead.events {
            let Some(ty) = self.events.get(usize::from(ev.ty)).copied().flatten() else {
                continue;
            };
            let start = out.props.len() as u32;
            for &slot in self.props.get(usize::from(ty)).into_iter().flatten() {
                out.props.push(lead.prop(ev, slot).clone());
            }
            out.events.push(Event {
                ty,
                at: ev.at,
                props_start: start,
            });
        }
        out
    }
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
/// by another that differs from it (unless `after`'s declares all of `before`'s): that is a
/// usage error.
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
    let subset = if same {
        None
    } else {
        Subset::of(before, after)
    };
    if !same && subset.is_none() && input.loaded.is_some() {
        return Err(Error::Usage(format!(
            "the two rule files declare different schemas, and {} is read whole by one of \
             them: compare them on lead-per-line JSONL, or declare the same schema in both",
            data.name
        )));
    }
    // The old schema declares more: the lead is read by it, and the new side's made from it.
    // A Segment stream or CSV pair was read whole by the new schema already.
    let wider = if !same && subset.is_none() && input.loaded.is_none() {
        Subset::of(after, before)
    } else {
        None
    };
    let each = |read: Read, again: Option<Read>| -> Result<PairEvaluated<T>, DataError> {
        if let Some(wider) = &wider {
            let (old_lead, mut unknown) = read?;
            let lead = wider.lead(&old_lead);
            // What the new schema's reader would have counted as of undeclared types: the
            // old reader's count, and the events of types only the old file declares.
            for ev in &old_lead.events {
                if wider
                    .events
                    .get(usize::from(ev.ty))
                    .copied()
                    .flatten()
                    .is_none()
                {
                    if let Some(e) = before.events.get(usize::from(ev.ty)) {
                        *unknown.entry(e.name.clone()).or_insert(0) += 1;
                    }
                }
            }
            let old = replay(before, &old_lead, work.as_of);
            let new = replay(after, &lead, work.as_of);
            let value = (work.finish)(&old_lead, &old, &lead, &new);
            return Ok(PairEvaluated { unknown, value });
        }
        let (lead, unknown) = read?;
        let new = replay(after, &lead, work.as_of);
        let value = match again {
            None => match &subset {
                Some(subset) => {
                    let old_lead = subset.lead(&lead);
                    let old = replay(before, &old_lead, work.as_of);
                    (work.finish)(&old_lead, &old, &lead, &new)
                }
                None => {
                    let old = replay(before, &lead, work.as_of);
                    (work.finish)(&lead, &old, &lead, &new)
                }
            },
            Some(again) => {
                let (old_lead, _) = again?;
                let old = replay(before, &old_lead, work.as_of);
                (work.finish)(&old_lead, &old, &lead, &new)
            }
        };
        Ok(PairEvaluated { unknown, value })
    };
    let also = (!same && subset.is_none() && wider.is_none()).then_some(before);
    stream(
        if wider.is_some() { before } else { after },
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn plan(src: &str) -> Plan {
        let compiled = crate::compile(src, "t.funnel");
        assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
        compiled.plan().unwrap()
    }

    const RULES: &str = include_str!("../../rules/b2b-saas.funnel");

    /// The same rules with more declared, placed so that every slot moves: a trait and an
    /// event type first, a property first in `page.viewed`.
    fn larger() -> String {
        RULES
            .replace(
                "  trait source: text",
                "  trait company.founded: int\n  trait source: text",
            )
            .replace(
                "  event form.submitted { form: text }",
                "  event webinar.attended { topic: text }\n  event form.submitted { form: text }",
            )
            .replace(
                "event page.viewed { page: text, channel: text }",
                "event page.viewed { referrer: text, page: text, channel: text }",
            )
    }

    #[test]
    fn a_lead_read_by_a_larger_schema_is_the_lead_the_smaller_reads() {
        let (small, large) = (plan(RULES), plan(&larger()));
        assert!(!same_schema(&small, &large));
        let subset = Subset::of(&small, &large).unwrap();
        let text = include_str!("../../examples/leads.jsonl");
        let mut events = 0;
        for (n, line) in text.lines().enumerate() {
            let (a, _) = crate::input::jsonl::parse_line(&small, line, format!("l:{n}")).unwrap();
            let (b, _) = crate::input::jsonl::parse_line(&large, line, format!("l:{n}")).unwrap();
            let c = subset.lead(&b);
            assert_eq!((&c.id, &c.origin), (&a.id, &a.origin));
            assert_eq!(c.traits, a.traits, "{}", a.id);
            assert_eq!(c.events.len(), a.events.len(), "{}", a.id);
            for (x, y) in c.events.iter().zip(&a.events) {
                assert_eq!((x.ty, x.at), (y.ty, y.at), "{}", a.id);
                let k = small.events[usize::from(x.ty)].props.len();
                for slot in 0..k {
                    assert_eq!(c.prop(x, slot), a.prop(y, slot), "{}", a.id);
                }
                events += 1;
            }
        }
        assert!(events > 5000, "{events}");
    }

    #[test]
    fn a_schema_with_something_the_other_lacks_is_no_subset() {
        let (small, large) = (plan(RULES), plan(&larger()));
        assert!(Subset::of(&large, &small).is_none());
        let retyped = plan(&RULES.replace(
            "trait company.employees: int",
            "trait company.employees: decimal",
        ));
        assert!(Subset::of(&small, &retyped).is_none());
        assert!(Subset::of(&small, &small).is_some());
    }
}
