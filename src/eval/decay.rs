//! A decaying `per` rule's part of a score at a moment, in a few binary searches instead of
//! a sum over every event: the interpreter looks at a lead after each event and bisects
//! decay crossings, so summing at each look made a long history quadratic.
//!
//! The part must be the bits the sum over the events gives (docs/semantics.md: decayed
//! points summed in replay order, capped, rounded to 0.01). A sum kept another way differs
//! in its last bits, so it is used only where it decides the rounded part: the shortcut
//! brackets the event-by-event sum by a bound on the float error of both, and when both ends
//! of the bracket round to the same bits, so does that sum (rounding and capping never go
//! down as the sum goes up). Otherwise (the sum within about a millionth of a cent of a
//! rounding boundary) the caller adds the events one by one.

use std::cell::Cell;

use super::condition::{capped, Moment};
use crate::lead::Event;
use crate::plan::{DecayKind, Query};

/// A half-life's weights span at most this many half-lives from their block's first event,
/// so they stay far from overflow; and a block's scale at a moment far from underflow, for
/// the events that count (below).
const BLOCK: f64 = 300.0;
/// Events older than this many half-lives are worth under 2^-600 of their points each: they
/// are left to the error bound.
const HORIZON: f64 = 600.0;
/// 2^-53, the unit roundoff.
const U: f64 = f64::EPSILON / 2.0;

/// One half-life rule's events (its query's whole list) as weights `2^((at − base) / h)`
/// summed from their block's first event, the base being that event's instant.
#[derive(Debug, Default)]
pub struct Weights {
    /// For each position of the list: the position where its block starts.
    block: Vec<u32>,
    /// For each position: the position after its block's last.
    end: Vec<u32>,
    /// For each position: the weights of its block up to and including it.
    cum: Vec<f64>,
    /// Where the last look found its horizon: looks move forward in time, so the next
    /// horizon is found by a short walk from there (a binary search over a long list
    /// missed the cache at every step).
    horizon: Cell<usize>,
}

fn at(events: &[Event], list: &[u32], k: usize) -> i64 {
    list.get(k)
        .and_then(|i| events.get(*i as usize))
        .map_or(i64::MAX, |e| e.at)
}

fn weights(events: &[Event], list: &[u32], h: f64) -> Weights {
    let mut w = Weights {
        block: Vec::with_capacity(list.len()),
        end: Vec::with_capacity(list.len()),
        cum: Vec::with_capacity(list.len()),
        horizon: Cell::new(0),
    };
    let (mut start, mut base, mut acc) = (0usize, i64::MIN, 0.0f64);
    for k in 0..list.len() {
        let a = at(events, list, k);
        if k == 0 || (a - base) as f64 / h > BLOCK {
            (start, base, acc) = (k, a, 0.0);
        }
        acc += ((a - base) as f64 / h).exp2();
        w.block.push(start as u32);
        w.cum.push(acc);
    }
    // Each position's block end: the next block's start.
    w.end.resize(list.len(), list.len() as u32);
    for k in (1..list.len()).rev() {
        let next = w.end[k];
        w.end[k - 1] = if w.block[k] as usize == k {
            k as u32
        } else {
            next
        };
    }
    w
}

/// The first position in `lo..hi` whose event is at or after `limit`, walking from `hint`.
fn first_from(
    events: &[Event],
    list: &[u32],
    lo: usize,
    hi: usize,
    limit: i64,
    hint: usize,
) -> usize {
    let mut k = hint.clamp(lo, hi);
    while k > lo && at(events, list, k - 1) >= limit {
        k -= 1;
    }
    while k < hi && at(events, list, k) < limit {
        k += 1;
    }
    k
}

/// Repeated addition of `points`, `k` times from `0.0`, when every partial sum is exact: a
/// multiple of 2^-10 below 2^53 of them.
fn repeated(points: f64, k: usize) -> Option<f64> {
    let scaled = points * 1024.0;
    if scaled.fract() != 0.0 || k as f64 * scaled.abs() >= 9.0e15 {
        return None;
    }
    Some(if points == 0.0 || k == 0 {
        0.0
    } else {
        points * k as f64
    })
}

/// The rounded part if every value in `[lo, hi]` gives the same bits.
fn decided(lo: f64, hi: f64, cap: Option<f64>) -> Option<f64> {
    let (a, b) = (capped(lo, cap), capped(hi, cap));
    (lo <= hi && a.is_finite() && a.to_bits() == b.to_bits()).then_some(a)
}

/// A decaying `per` rule's part (capped and rounded) and event count (`None` without
/// events), when its list needs no filtering at the moment and the shortcut decides it;
/// `None` to have the caller add the events one by one. `score` and `rule` name the rule
/// (for its weights, kept per lead).
pub fn per_part(
    cx: &Moment<'_>,
    score: usize,
    rule: usize,
    points: f64,
    q: &Query,
    cap: Option<f64>,
) -> Option<Option<(f64, usize)>> {
    if !(q.filter.is_none() || q.prefiltered) {
        return None;
    }
    let model = cx.plan.scores.get(score)?;
    let Some((list, lo, hi)) = cx.candidate_range(q, true) else {
        return Some(None);
    };
    if hi <= lo {
        return Some(None);
    }
    let n = hi - lo;
    let events = &cx.lead.events;
    let t = cx.t;
    let value = match model.decay {
        Some(DecayKind::Expire(d)) => {
            // Worth `points` while younger than `d`: the older ones come first and add
            // zeros to `0.0`, which leaves `0.0`; then `points` once per younger event.
            let old = list.get(lo..hi)?.partition_point(|&i| {
                events
                    .get(i as usize)
                    .is_some_and(|e| e.at <= t.saturating_sub(d))
            });
            let k = n - old;
            match repeated(points, k) {
                Some(sum) => capped(sum, cap),
                None => {
                    let v = points * k as f64;
                    // Each of the k additions errs by at most half an ulp of a partial
                    // sum, and each partial sum is at most k·|points|.
                    let eps = 2.0 * U * (k as f64) * (k as f64 + 1.0) * points.abs();
                    decided(v - eps, v + eps, cap)?
                }
            }
        }
        Some(DecayKind::HalfLife(h)) if h > 0 => {
            let hf = h as f64;
            let decay = |a: i64| 0.5f64.powf((t - a).max(0) as f64 / hf);
            // The newest event is worth the most: when even its worth is zero, every term is
            // a zero and the sum is `0.0`.
            let newest = points * decay(at(events, list, hi - 1));
            if newest == 0.0 {
                return Some(Some((capped(0.0, cap), n)));
            }
            let cell = cx.by_type.decay.get(cx.plan.rule_slot(score, rule)?)?;
            let w = cell.get_or_init(|| weights(events, list, hf));
            let horizon = t.saturating_sub((HORIZON * hf) as i64);
            let first = first_from(events, list, lo, hi, horizon, w.horizon.get());
            w.horizon.set(first);
            let (mut sum, mut mag) = (0.0f64, 0.0f64);
            let mut k = first;
            while k < hi {
                let b = *w.block.get(k)? as usize;
                let end = (*w.end.get(k)? as usize).min(hi);
                let upto = *w.cum.get(end - 1)?;
                let before = if k > b { *w.cum.get(k - 1)? } else { 0.0 };
                let scale = (-((t - at(events, list, b)) as f64) / hf).exp2();
                sum += (upto - before) * scale;
                mag += (upto + before) * scale;
                k = end;
            }
            let v = points * sum;
            // Both sums err by at most a few hundred ulps per term (the exponents reach
            // about 900, each rounded once) plus the additions', relative to the terms'
            // total, which `mag` bounds; the events beyond the horizon add under 2^-600 of
            // the points each, and subnormal terms 2^-1074 each.
            let eps = 8.0 * U * (n as f64 + 2000.0) * (points.abs() * mag + v.abs())
                + n as f64 * (points.abs() * 2f64.powi(-590) + 2f64.powi(-1060));
            // Every term has the sign of the points and the newest is not zero: so the sum
            // is not zero either, whatever its size.
            let tiny = f64::from_bits(1);
            let (lo_v, hi_v) = if points > 0.0 {
                ((v - eps).max(tiny), v + eps)
            } else {
                (v - eps, (v + eps).min(-tiny))
            };
            if !(v.is_finite() && eps.is_finite()) {
                return None;
            }
            decided(lo_v, hi_v, cap)?
        }
        _ => return None,
    };
    Some(Some((value, n)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::eval::index::index_by_type;
    use crate::eval::outcome::State;
    use crate::eval::testgen::Gen;
    use crate::plan::samples::{compile_src, MIXED, TIMED};
    use crate::plan::RulePoints;

    const DECAYS: &str = r#"
funnel "decays"
schema {
  trait seats: int
  event a { k: text }
  event b
}
score fast decay half-life 1h {
  +10 per a
  -7.3 per b max 20
  +0.125 per a where k == "x"
}
score slow decay half-life 30d {
  +0.1 per a max 3
  -0.005 per b
  +2.5 per a since entering S1
}
score gone decay expire after 2d {
  +0.1 per a
  -0.125 per b max 1
  +3 per a within 1d
}
stage S1 { enter when a }
stage S2 { enter when score fast + slow + gone >= 30 }
"#;

    /// The shortcut's parts are the bits of the event-by-event sums, on generated leads at
    /// many moments, and it decides nearly all of them.
    #[test]
    fn shortcut_parts_are_the_sums_of_the_events() {
        let b2b = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/rules/b2b-saas.funnel"
        ))
        .unwrap();
        let (mut decided, mut undecided) = (0usize, 0usize);
        for src in [DECAYS, MIXED, TIMED, &b2b] {
            let plan = compile_src(src);
            let mut g = Gen::new(&plan, 29);
            for _ in 0..300 {
                let mut lead = g.lead(&plan);
                // Longer histories, some spread over years.
                let more = g.lead(&plan);
                let shift =
                    lead.events.last().map_or(0, |e| e.at) + g.below(3) as i64 * 200 * 86_400_000;
                let base = lead.props.len() as u32;
                lead.events.extend(more.events.iter().map(|e| Event {
                    ty: e.ty,
                    at: e.at - more.events[0].at + shift,
                    props_start: e.props_start + base,
                }));
                lead.props.extend(more.props.iter().cloned());
                let (index, seen) = index_by_type(&plan, &lead, i64::MAX);
                let mut state = State::new(&plan);
                for (k, l) in state.latest.iter_mut().enumerate() {
                    *l = lead.events.get(k * 5).map(|e| e.at);
                }
                for n in 0..=seen {
                    let last = n.checked_sub(1).map_or(0, |i| lead.events[i].at);
                    for t in [
                        last,
                        last + 1 + g.below(3_600_000) as i64,
                        last + g.below(90 * 86_400_000) as i64,
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
                        for (si, model) in plan.scores.iter().enumerate() {
                            for (ri, rule) in model.rules.iter().enumerate() {
                                let RulePoints::Per { query, cap } = &rule.kind else {
                                    continue;
                                };
                                let want = cx.per_by_events(model, rule.points, query, *cap);
                                match per_part(&cx, si, ri, rule.points, query, *cap) {
                                    Some(got) => {
                                        decided += 1;
                                        assert_eq!(
                                            got.map(|(v, n)| (v.to_bits(), n)),
                                            want.map(|(v, n)| (v.to_bits(), n)),
                                            "{} at {t}: {got:?} {want:?}",
                                            rule.text
                                        );
                                    }
                                    None => {
                                        undecided += usize::from(
                                            model.decay.is_some()
                                                && (query.filter.is_none() || query.prefiltered),
                                        )
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(decided > 50_000, "{decided}");
        // Left undecided: sums on a rounding boundary, such as one event of `+0.125` at the
        // instant it happened (generated instants are whole hours, and one half-life is
        // one hour, so such ties are far more common here than in data).
        assert!(undecided * 100 < decided, "{undecided} of {decided}");
    }

    #[test]
    fn repeated_addition_when_exact() {
        for p in [0.0, -0.0, 1.0, -7.0, 0.125, -2.5, 0.1, 1e300] {
            for k in [0usize, 1, 2, 3, 10, 999] {
                let by_adding = (0..k).fold(0.0f64, |s, _| s + p);
                if let Some(v) = repeated(p, k) {
                    assert_eq!(v.to_bits(), by_adding.to_bits(), "{p} x {k}");
                }
            }
        }
        assert!(repeated(0.1, 3).is_none() && repeated(0.125, 3).is_some());
    }
}
