//! `A then B then C`: whether a lead's history holds such a chain of events, decided with a
//! binary search and a walk back along one chain per look, instead of a search of every
//! chain (which grew exponentially with the number of steps).
//!
//! Why one chain is enough: of two chains, the one that takes at each step the later of the
//! two events is a chain too (the steps still follow each other in replay order, and a later
//! predecessor only shortens a `within` gap). So among the chains whose last event is in the
//! history there is a latest one, taking the latest possible event at every step. What a look
//! adds to the rule, the `since` scopes and the first step's window, only bounds
//! events from below: if any chain meets those bounds, the latest chain does. And the latest
//! chain ending at an event depends only on the events before it, so the links are worked
//! out once per lead.

use super::condition::Moment;
use crate::lead::Event;
use crate::plan::Query;

const NONE: u32 = u32::MAX;

/// The links of one `then` condition over a lead's event lists.
#[derive(Debug, Default)]
pub struct ChainTable {
    /// For step `j + 1`, for each event of its list: the position in step `j`'s list of the
    /// latest event a chain can take before it, or `NONE` when no chain reaches the event.
    prev: Vec<Vec<u32>>,
    /// For the last step's list, at each position: the latest position at or before it
    /// whose event ends a chain, or `NONE`.
    last_end: Vec<u32>,
}

fn at(events: &[Event], i: u32) -> i64 {
    events.get(i as usize).map_or(i64::MAX, |e| e.at)
}

/// Links each event of `next` to the latest event of `cur` before it (in replay order) that
/// a chain reaches (`reached`), if that one lies within `gap` of it. The latest such event is
/// also the latest in time, so if it misses the gap every earlier one does.
fn link(
    events: &[Event],
    cur: &[u32],
    reached: impl Fn(usize) -> bool,
    next: &[u32],
    gap: Option<i64>,
) -> Vec<u32> {
    let mut out = Vec::with_capacity(next.len());
    let (mut q, mut best) = (0, NONE);
    for &e in next {
        while cur.get(q).is_some_and(|&c| c < e) {
            if reached(q) {
                best = q as u32;
            }
            q += 1;
        }
        let linked = best != NONE
            && gap
                .is_none_or(|g| at(events, e) <= at(events, cur[best as usize]).saturating_add(g));
        out.push(if linked { best } else { NONE });
    }
    out
}

/// The table of a chain whose steps read `lists` (each in replay order).
pub fn table(events: &[Event], steps: &[Query], lists: &[&[u32]]) -> ChainTable {
    let mut prev: Vec<Vec<u32>> = Vec::with_capacity(steps.len().saturating_sub(1));
    for j in 1..steps.len().min(lists.len()) {
        let linked = match prev.last() {
            None => link(events, lists[j - 1], |_| true, lists[j], steps[j].within),
            Some(p) => link(
                events,
                lists[j - 1],
                |q| p.get(q).is_some_and(|x| *x != NONE),
                lists[j],
                steps[j].within,
            ),
        };
        prev.push(linked);
    }
    let mut last_end = Vec::new();
    let mut latest = NONE;
    match prev.last() {
        Some(p) => {
            for (k, x) in p.iter().enumerate() {
                if *x != NONE {
                    latest = k as u32;
                }
                last_end.push(latest);
            }
        }
        // One step: every event of its list ends a chain.
        None => last_end.extend((0..lists.first().map_or(0, |l| l.len())).map(|k| k as u32)),
    }
    ChainTable { prev, last_end }
}

/// Whether the chain holds at the moment, its table made over the full lists `lists`.
pub fn holds(cx: &Moment<'_>, steps: &[Query], lists: &[&[u32]], table: &ChainTable) -> bool {
    let events = &cx.lead.events;
    let (Some(last), Some(_)) = (lists.last(), steps.first()) else {
        return false;
    };
    // The last step's events in the history: a prefix of its list.
    let end = match steps.last() {
        Some(q) => cx.history_end(q.list as usize, last),
        None => 0,
    };
    let Some(mut p) = end
        .checked_sub(1)
        .and_then(|k| table.last_end.get(k))
        .copied()
        .filter(|p| *p != NONE)
    else {
        return false;
    };
    // Walk the latest chain back, checking each event against its step's lower bounds.
    for j in (0..steps.len()).rev() {
        let (Some(q), Some(list)) = (steps.get(j), lists.get(j)) else {
            return false;
        };
        let Some(&i) = list.get(p as usize) else {
            return false;
        };
        let mut lo = i64::MIN;
        // `since entering` bounds by index, as a query's scopes do (`Moment::candidates`).
        if let Some(st) = q.since {
            let first = cx.state.since_event.get(st as usize).copied().unwrap_or(0);
            if cx
                .state
                .latest
                .get(st as usize)
                .copied()
                .flatten()
                .is_none()
                || i < first
            {
                return false;
            }
        }
        if j == 0 {
            if let Some(w) = q.within {
                lo = lo.max(cx.t.saturating_sub(w));
            }
        }
        if at(events, i) < lo {
            return false;
        }
        if j > 0 {
            match table.prev.get(j - 1).and_then(|v| v.get(p as usize)) {
                Some(&x) if x != NONE => p = x,
                _ => return false,
            }
        }
    }
    true
}

/// Whether the chain holds, from the events each step selects at this moment (for steps
/// whose filter must be evaluated at the moment): the same links, made for this look only.
pub fn holds_by_selection(cx: &Moment<'_>, steps: &[Query]) -> bool {
    let selected: Vec<Vec<u32>> = steps
        .iter()
        .enumerate()
        .map(|(j, q)| {
            let mut v = Vec::new();
            // The first step's window is measured from the moment; later steps' from the
            // step before.
            cx.select_in(q, j == 0, &mut |i, _| {
                v.push(i as u32);
                true
            });
            v
        })
        .collect();
    let lists: Vec<&[u32]> = selected.iter().map(Vec::as_slice).collect();
    let t = table(&cx.lead.events, steps, &lists);
    t.last_end.last().is_some_and(|p| *p != NONE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::eval::index::index_by_type;
    use crate::eval::outcome::State;
    use crate::eval::testgen::Gen;
    use crate::plan::samples::compile_src;
    use crate::plan::Cond;

    /// The search of every chain, as `then` was first written.
    fn then_by_search(cx: &Moment<'_>, steps: &[Query]) -> bool {
        fn rest(cx: &Moment<'_>, steps: &[Query], after: usize, prev_at: i64) -> bool {
            let Some((q, tail)) = steps.split_first() else {
                return true;
            };
            let mut ok = false;
            cx.select_in(q, false, &mut |i, e| {
                if i <= after || q.within.is_some_and(|g| e.at > prev_at.saturating_add(g)) {
                    return true;
                }
                ok = rest(cx, tail, i, e.at);
                !ok
            });
            ok
        }
        let Some((first, tail)) = steps.split_first() else {
            return false;
        };
        let mut ok = false;
        cx.select(first, &mut |i, e| {
            ok = rest(cx, tail, i, e.at);
            !ok
        });
        ok
    }

    const CHAINS: &str = r#"
funnel "chains"
schema {
  trait seats: int
  event a { k: text }
  event b { k: text }
  event c
  event d
}
segment big = seats >= 10
stage S1 { enter when a then b }
stage S2 { enter when a within 3d then b within 1d then c within 2h }
stage S3 { enter when a where k == "x" then a then b where k == "y" within 1d then c }
stage S4 { enter when b since entering S1 then a within 12h then d since entering S2 within 1d }
stage S5 { enter when c then c within 1h then c within 1h or a where (k == "x" and big) then b }
stage S6 { enter when a then b then c then d then a then b then c within 3d }
move S3 -> S1 when d then c within 1d
"#;

    /// The links and one walk give what a search of every chain gives, at every moment of
    /// generated leads, with and without `since` scopes.
    #[test]
    fn chains_agree_with_a_search_of_every_chain() {
        let plan = compile_src(CHAINS);
        let chains: Vec<&Vec<Query>> = plan
            .stages
            .iter()
            .map(|s| &s.enter)
            .chain(plan.leaves.iter().filter_map(|l| l.when.as_ref()))
            .flat_map(|c| match c {
                Cond::Then { steps, .. } => vec![steps],
                Cond::Any(v) => v
                    .iter()
                    .filter_map(|x| match x {
                        Cond::Then { steps, .. } => Some(steps),
                        _ => None,
                    })
                    .collect(),
                _ => vec![],
            })
            .collect();
        assert_eq!(chains.len(), 8);
        let mut g = Gen::new(&plan, 17);
        let (mut yes, mut no) = (0, 0);
        for _ in 0..400 {
            let lead = g.lead(&plan);
            let (index, seen) = index_by_type(&plan, &lead, i64::MAX);
            let mut state = State::new(&plan);
            for n in 0..=seen {
                let last = n.checked_sub(1).map_or(0, |i| lead.events[i].at);
                for (k, l) in state.latest.iter_mut().enumerate() {
                    *l = lead
                        .events
                        .get(n * k / 6)
                        .map(|e| e.at)
                        .filter(|_| k % 3 != 2);
                    state.since_event[k] = (n * k / 6) as u32;
                }
                for t in [
                    last,
                    last + 3 * 86_400_000,
                    last + g.below(5 * 86_400_000) as i64,
                ] {
                    let cx = Moment {
                        plan: &plan,
                        lead: &lead,
                        by_type: &index,
                        state: &state,
                        t,
                        n,
                        memo: 0,
                    };
                    for steps in &chains {
                        let want = then_by_search(&cx, steps);
                        assert_eq!(holds_by_selection(&cx, steps), want);
                        if steps.iter().all(|q| q.filter.is_none() || q.prefiltered) {
                            let lists: Vec<&[u32]> = steps
                                .iter()
                                .map(|q| cx.list(q.list as usize).unwrap())
                                .collect();
                            let tb = table(&lead.events, steps, &lists);
                            assert_eq!(holds(&cx, steps, &lists, &tb), want, "{lead:?} at {t}");
                        }
                        if want {
                            yes += 1;
                        } else {
                            no += 1;
                        }
                    }
                }
            }
        }
        assert!(yes > 2_000 && no > 2_000, "{yes} {no}");
    }
}
