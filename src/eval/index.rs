//! The per-lead index: a lead's events grouped by type, and room for what is worked out at
//! most once per lead: the event lists of the plan's prefilters and the values of segments
//! that read only traits (both filled on first use by condition evaluation, which needs the
//! interpreter for them).

use std::cell::{Cell, OnceCell, RefCell};

use super::chain::ChainTable;
use super::decay::Weights;

use crate::lead::Lead;
use crate::plan::Plan;

/// What replay reads of a lead besides its state: its events by type, and what is worked out
/// at most once per lead, when first needed (many leads never reach the stage that needs it).
///
/// One index serves the leads of a thread in turn (see [`Index::fill`]): its lists keep
/// their room from lead to lead, instead of being allocated for each.
#[derive(Default)]
pub struct Index {
    /// Event indices grouped by event type, each group in replay order: type `k`'s are
    /// `grouped[starts[k]..starts[k + 1]]`. Only events at or before `as_of`. One counting
    /// sort, instead of a list per type.
    grouped: Vec<u32>,
    starts: Vec<u32>,
    /// For each prefilter of the plan: the events of its type that pass it.
    pub filtered: Vec<OnceCell<Vec<u32>>>,
    /// For each segment that reads only traits: its value.
    pub segments: Vec<OnceCell<bool>>,
    /// For each `then` condition of the plan: its links over the lead's events (see
    /// `chain`), when its steps' lists need no filtering at the moment.
    pub chains: Vec<OnceCell<ChainTable>>,
    /// For each score rule (see `Plan::rule_slot`): the weights of a half-life `per` rule's
    /// events.
    pub decay: Vec<OnceCell<Weights>>,
    /// Segment values within one moment (see [`Index::moment_id`]): for each segment, the
    /// moment it was worked out at and its value there.
    pub(super) seg_memo: RefCell<Vec<(u64, bool)>>,
    /// For each event list (types, then prefilters): where the last look found the end of
    /// its history (see `Moment::history_end`).
    pub(super) ends: Vec<Cell<u32>>,
    /// The last number handed out by [`Index::moment_id`].
    moments: Cell<u64>,
    /// Emptied lists of earlier leads, for `filtered` to fill (they are made behind a shared
    /// reference, on first use).
    spare: Cell<Vec<Vec<u32>>>,
}

impl Index {
    /// The lead's events of type `ty`, in replay order.
    pub fn of_type(&self, ty: usize) -> Option<&[u32]> {
        let (a, b) = (*self.starts.get(ty)?, *self.starts.get(ty + 1)?);
        self.grouped.get(a as usize..b as usize)
    }

    pub(super) fn types(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Makes this the index of `lead`, keeping the room of whatever lead it indexed before;
    /// returns how many of the lead's events are at or before `as_of`.
    pub fn fill(&mut self, plan: &Plan, lead: &Lead, as_of: i64) -> usize {
        let types = plan.events.len();
        let seen = lead.events.partition_point(|e| e.at <= as_of);
        let events = lead.events.get(..seen).unwrap_or(&[]);
        // Count each type's events (undeclared types are not kept), then each type's first
        // slot, then place the events in order.
        let starts = &mut self.starts;
        starts.clear();
        starts.resize(types + 1, 0);
        for e in events {
            if let Some(c) = starts
                .get_mut(e.ty as usize + 1)
                .filter(|_| (e.ty as usize) < types)
            {
                *c += 1;
            }
        }
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        self.grouped.clear();
        self.grouped.resize(starts[types] as usize, 0);
        // Placing moves each type's first slot on to its end, which is the next type's
        // start: shifting the list up by one gives the starts back.
        for (i, e) in events.iter().enumerate() {
            if let Some(slot) = starts
                .get_mut(e.ty as usize)
                .filter(|_| (e.ty as usize) < types)
            {
                if let Some(g) = self.grouped.get_mut(*slot as usize) {
                    *g = i as u32;
                }
                *slot += 1;
            }
        }
        starts.copy_within(..types, 1);
        starts[0] = 0;
        let mut spare = self.spare.take();
        for cell in &mut self.filtered {
            if let Some(mut list) = cell.take() {
                list.clear();
                spare.push(list);
            }
        }
        self.spare.set(spare);
        self.filtered
            .resize_with(plan.prefilters.len(), OnceCell::new);
        for cell in &mut self.segments {
            cell.take();
        }
        self.segments
            .resize_with(plan.segments.len(), OnceCell::new);
        for cell in &mut self.chains {
            cell.take();
        }
        self.chains.resize_with(plan.chains, OnceCell::new);
        self.ends.clear();
        self.ends
            .resize_with(types + plan.prefilters.len(), || Cell::new(0));
        for cell in &mut self.decay {
            cell.take();
        }
        let rules = plan.scores.iter().map(|m| m.rules.len()).sum();
        self.decay.resize_with(rules, OnceCell::new);
        // Values noted at earlier moments are never read again: every moment gets a new
        // number.
        let memo = self.seg_memo.get_mut();
        memo.clear();
        memo.resize(plan.segments.len(), (0, false));
        seen
    }

    /// A number for a new moment, never handed out before by this index: segment values
    /// noted under it hold for every evaluation under it (see `Moment::memo`).
    pub fn moment_id(&self) -> u64 {
        let id = self.moments.get() + 1;
        self.moments.set(id);
        id
    }

    /// An empty list, with room if an earlier lead left one.
    pub(super) fn spare_list(&self) -> Vec<u32> {
        let mut spare = self.spare.take();
        let list = spare.pop().unwrap_or_default();
        self.spare.set(spare);
        list
    }
}

/// A lead's [`Index`], and how many of its events are at or before `as_of`.
pub fn index_by_type(plan: &Plan, lead: &Lead, as_of: i64) -> (Index, usize) {
    let mut index = Index::default();
    let seen = index.fill(plan, lead, as_of);
    (index, seen)
}
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::eval::outcome::State;
    use crate::eval::testgen::Gen;
    use crate::eval::Moment;
    use crate::plan::samples::{compile_src, MIXED};
    use crate::plan::Cond;

    /// Segments that name each other, some reading the moment, the state or a score.
    const SHARED: &str = r#"
funnel "shared"
schema {
  trait seats: int
  event a { k: text }
  event b
}
score s decay half-life 1d { +10 per a }
segment d0 = count a within 2d >= 2
segment d1 = days since last b > 1 or seats >= 10
segment d2 = d1 or d0
segment d3 = d2 and not d1 or d0
segment d4 = d3 or d2 and score s > 12
segment d5 = d4 and d3 or b since entering S1
segment d6 = not d5 and d4
stage S1 { enter when a }
stage S2 { enter when d6 or d5 }
"#;

    /// Segment values noted under a moment's number are those worked out afresh, with two
    /// moments' evaluations interleaved, in any order.
    #[test]
    fn noted_segments_are_worked_out_ones() {
        let plan = compile_src(SHARED);
        let mut g = Gen::new(&plan, 4);
        let mut yes = 0;
        for _ in 0..300 {
            let lead = g.lead(&plan);
            let (index, seen) = index_by_type(&plan, &lead, i64::MAX);
            let mut state = State::new(&plan);
            for n in 0..=seen {
                state.latest[0] = lead.events.get(n / 2).map(|e| e.at);
                let last = n.checked_sub(1).map_or(0, |i| lead.events[i].at);
                let at = |t: i64, memo: u64| Moment {
                    plan: &plan,
                    lead: &lead,
                    by_type: &index,
                    state: &state,
                    t,
                    n,
                    memo,
                };
                let times = [last, last + g.below(3 * 86_400_000) as i64];
                let noted = times.map(|t| at(t, index.moment_id()));
                let fresh = times.map(|t| at(t, 0));
                for _ in 0..3 * plan.segments.len() {
                    let (k, i) = (g.below(2), g.below(plan.segments.len()));
                    let seg = Cond::Segment(i as u16);
                    let want = fresh[k].eval(&seg, None).truthy();
                    assert_eq!(noted[k].eval(&seg, None).truthy(), want);
                    yes += usize::from(want);
                }
            }
        }
        assert!(yes > 1000, "{yes}");
    }

    #[test]
    fn index_groups_events_by_type_in_order() {
        let plan = compile_src(MIXED);
        let mut g = Gen::new(&plan, 9);
        for _ in 0..300 {
            let mut lead = g.lead(&plan);
            // An undeclared type (as a reader never makes it) is left out, not misplaced.
            if let Some(e) = lead.events.get_mut(1) {
                e.ty = plan.events.len() as u16;
            }
            let as_of = lead.events.get(lead.events.len() / 2).map_or(0, |e| e.at);
            let (index, seen) = index_by_type(&plan, &lead, as_of);
            assert_eq!(seen, lead.events.iter().filter(|e| e.at <= as_of).count());
            for ty in 0..plan.events.len() {
                let want: Vec<u32> = (0..seen as u32)
                    .filter(|i| lead.events[*i as usize].ty as usize == ty)
                    .collect();
                assert_eq!(index.of_type(ty).unwrap(), &want[..]);
            }
            assert!(index.of_type(plan.events.len()).is_none());
        }
        let empty = Index::default();
        assert!(empty.of_type(0).is_none() && empty.types() == 0);
    }
}
