//! The per-lead index: a lead's events grouped by type, the event lists of the plan's
//! prefilters, and the segments that read only traits, each worked out once per lead.

use std::cell::{Cell, OnceCell};

use super::condition::Moment;
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

    fn types(&self) -> usize {
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
        seen
    }

    /// An empty list, with room if an earlier lead left one.
    fn spare_list(&self) -> Vec<u32> {
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
impl<'a> Moment<'a> {
    /// Event list `k`: by type, then by prefilter (worked out on first use).
    pub(super) fn list(&self, k: usize) -> Option<&'a [u32]> {
        let index: &'a Index = self.by_type;
        if k < index.types() {
            return index.of_type(k);
        }
        let f = k - index.types();
        let (ev, filter) = self.plan.prefilters.get(f)?;
        let cell = index.filtered.get(f)?;
        let list = cell.get_or_init(|| {
            // The filter reads only the event and traits: this moment is as good as any.
            let all = index.of_type(*ev as usize).unwrap_or(&[]);
            let lead = self.lead;
            let mut list = index.spare_list();
            match self.plan.prefilter_tests.get(f).and_then(Option::as_ref) {
                Some(test) => {
                    let prop = test.prop() as usize;
                    for &i in all {
                        if let Some(e) = lead.events.get(i as usize) {
                            if test.holds(lead.prop(e, prop)) {
                                list.push(i);
                            }
                        }
                    }
                }
                None => {
                    for &i in all {
                        let e = lead.events.get(i as usize);
                        if e.is_some() && self.eval(filter, e).truthy() {
                            list.push(i);
                        }
                    }
                }
            }
            list
        });
        Some(list)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::eval::outcome::State;
    use crate::eval::testgen::Gen;
    use crate::lead::{Event, Value};
    use crate::plan::samples::{compile_src, MIXED, TIMED};
    use crate::plan::Cond;

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

    /// One index filled by lead after lead, under different plans, with some of its lists
    /// made before each refill, gives what a fresh index gives.
    #[test]
    fn a_refilled_index_is_a_fresh_one() {
        let b2b = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/b2b.funnel"))
            .unwrap();
        let plans = [compile_src(MIXED), compile_src(TIMED), compile_src(&b2b)];
        let mut gens: Vec<Gen> = plans.iter().map(|p| Gen::new(p, 11)).collect();
        let mut reused = Index::default();
        let mut made = 0;
        for round in 0..600 {
            let k = round % 7 % plans.len();
            let plan = &plans[k];
            let lead = gens[k].lead(plan);
            let as_of = lead
                .events
                .get(lead.events.len() * 2 / 3)
                .map_or(0, |e| e.at);
            let (fresh, seen) = index_by_type(plan, &lead, as_of);
            assert_eq!(reused.fill(plan, &lead, as_of), seen);
            let state = State::new(plan);
            let cx = |by_type| Moment {
                plan,
                lead: &lead,
                by_type,
                state: &state,
                t: as_of,
                n: seen,
                scope: None,
            };
            let (a, b) = (cx(&reused), cx(&fresh));
            for ty in 0..=plan.events.len() {
                assert_eq!(a.by_type.of_type(ty), b.by_type.of_type(ty));
            }
            // Some lists and segments only, so that the next lead finds some cells made.
            for f in (0..plan.prefilters.len()).filter(|f| (f + round) % 3 != 0) {
                let list = plan.events.len() + f;
                assert_eq!(a.list(list), b.list(list));
                made += 1;
            }
            for i in (0..plan.segments.len()).filter(|i| (i + round) % 2 == 0) {
                let seg = Cond::Segment(i as u16);
                assert_eq!(a.eval(&seg, None).truthy(), b.eval(&seg, None).truthy());
            }
        }
        assert!(made > 1000);
    }

    /// A prefilter decided by its `PropTest` passes the same events as the interpreter's.
    #[test]
    fn prop_tests_agree_with_the_interpreter() {
        let root = env!("CARGO_MANIFEST_DIR");
        let extra = r#"
funnel "props"
schema {
  trait t: text
  event e { s: text, n: int, b: bool, l: list<text> }
}
stage A { enter when e where s == "x" or e where 2 == n or e where b == true }
stage B { enter when e where s not in ["x", "y"] or e where n in [1, 2.5, 3] }
stage C { enter when e where s in [] or e where n not in [] or e where l == ["x"] }
stage D {
  enter when e where s in ["", "ab", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghijklmnop"]
    or e where s == "abcdefghijklmnopq-longer-than-a-key"
    or e where s == "a-constant-of-more-than-sixty-three-bytes-all-sharing-the-last-bit"
}
"#;
        // Texts near the constants above: each byte changed, one byte more or fewer.
        let mut near = Vec::new();
        for k in [
            "ab",
            "abcdefg",
            "abcdefghijklmnop",
            "abcdefghijklmnopq-longer-than-a-key",
            "a-constant-of-more-than-sixty-three-bytes-all-sharing-the-last-bit",
        ] {
            for i in 0..k.len() {
                let mut b = k.as_bytes().to_vec();
                b[i] = b'_';
                near.push(Value::Text(String::from_utf8(b).unwrap().into()));
            }
            near.push(Value::Text(k[1..].into()));
            near.push(Value::Text(format!("{k}_").into()));
            near.push(Value::Text(k.into()));
        }
        let mut sources = vec![extra.to_string(), MIXED.to_string()];
        for f in [
            "rules/b2b-saas.funnel",
            "rules/lifecycle.funnel",
            "rules/aida.funnel",
        ] {
            sources.push(std::fs::read_to_string(format!("{root}/{f}")).unwrap());
        }
        let mut tested = 0;
        for src in &sources {
            let plan = compile_src(src);
            let mut g = Gen::new(&plan, 3);
            for _ in 0..300 {
                let lead = g.lead(&plan);
                let (index, _) = index_by_type(&plan, &lead, i64::MAX);
                let state = State::new(&plan);
                let cx = Moment {
                    plan: &plan,
                    lead: &lead,
                    by_type: &index,
                    state: &state,
                    t: i64::MAX,
                    n: lead.events.len(),
                    scope: None,
                };
                for (k, (ev, filter)) in plan.prefilters.iter().enumerate() {
                    let Some(test) = &plan.prefilter_tests[k] else {
                        continue;
                    };
                    for e in lead.events.iter().filter(|e| e.ty == *ev) {
                        let v = lead.prop(e, test.prop() as usize);
                        assert_eq!(
                            test.holds(v),
                            cx.eval(filter, Some(e)).truthy(),
                            "{test:?} on {v:?}"
                        );
                        tested += 1;
                    }
                    // Values the generator may not make.
                    for v in [
                        Value::Missing,
                        Value::Num(f64::NAN),
                        Value::Num(-0.0),
                        Value::List(vec![]),
                        Value::Text("".into()),
                    ]
                    .iter()
                    .chain(&near)
                    {
                        let mut one = lead.clone();
                        one.props = vec![Value::Missing; 8];
                        one.props[test.prop() as usize] = v.clone();
                        one.events = vec![Event {
                            ty: *ev,
                            at: 0,
                            props_start: 0,
                        }];
                        let c1 = Moment { lead: &one, ..cx };
                        assert_eq!(
                            test.holds(v),
                            c1.eval(filter, one.events.first()).truthy(),
                            "{test:?} on {v:?}"
                        );
                    }
                }
            }
        }
        assert!(tested > 1000);
        let plan = compile_src(extra);
        // `l == ["x"]` compares lists: left to the interpreter.
        assert_eq!(
            plan.prefilter_tests.iter().filter(|t| t.is_some()).count(),
            10
        );
    }
}
