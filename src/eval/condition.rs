//! Condition evaluation: a compiled condition against a lead's history at a moment, with the
//! queries over its events (and the prefilters' event lists, made on first use), and the
//! scores' arithmetic.

use super::chain;
use super::decay;
use super::index::Index;
use super::operand::{compare, test, Operand};
use super::outcome::{ScoreValue, State};
use crate::lead::{Event, Lead, Value};
use crate::plan::{Cond, DecayKind, Plan, Query, RulePoints, ScoreModel};
use crate::syntax::ast::{BinOp, Which};

const DAY_MS: f64 = 86_400_000.0;

/// What a condition is evaluated against: the lead's history at a moment, and where the lead
/// stands then.
pub struct Moment<'a> {
    pub plan: &'a Plan,
    pub lead: &'a Lead,
    /// The lead's event lists and per-lead constants.
    pub by_type: &'a Index,
    pub state: &'a State,
    /// The moment.
    pub t: i64,
    /// `events[..n]` are the history.
    pub n: usize,
    /// A number from [`Index::moment_id`] under which segment values are noted and reused
    /// (a segment named by several conditions, or by other segments, is worked out once per
    /// moment), or 0 for none. Whoever hands one out answers for it: every evaluation under
    /// one number sees the same history, state and moment.
    pub memo: u64,
}

/// `points` added `n` times to `0.0`, when that can be had by one multiplication (see
/// `Moment::whole_points`).
fn whole_sum(points: f64, n: usize) -> Option<f64> {
    if points.fract() != 0.0 || n as f64 * points.abs() >= 9.0e15 {
        return None;
    }
    // `0.0 + -0.0` is `0.0`, and no addition at all leaves `0.0`: never a negative zero.
    Some(if points == 0.0 || n == 0 {
        0.0
    } else {
        points * n as f64
    })
}

pub(super) fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A `per` rule's sum as its part of the score: capped, then rounded.
pub(super) fn capped(sum: f64, cap: Option<f64>) -> f64 {
    round2(cap.map_or(sum, |c| sum.clamp(-c, c)))
}

/// What one point earned at `earned` is worth at `t`.
pub(super) fn decay_at(model: &ScoreModel, t: i64, earned: i64) -> f64 {
    let age = (t - earned).max(0) as f64;
    match model.decay {
        Some(DecayKind::HalfLife(h)) if h > 0 => 0.5f64.powf(age / h as f64),
        Some(DecayKind::Expire(d)) => {
            if age < d as f64 {
                1.0
            } else {
                0.0
            }
        }
        _ => 1.0,
    }
}

impl<'a> Moment<'a> {
    /// Where a query's history starts: the lead's first event, or for a query scoped
    /// `since entering S`, the latest entry into `S` (`None`: never entered, or not yet).
    fn history_start(&self, q: &Query) -> Option<i64> {
        let start = match q.since {
            Some(st) => self.state.latest.get(st as usize).copied().flatten(),
            None => self.lead.events.first().map(|e| e.at),
        };
        start.filter(|s| *s <= self.t)
    }

    /// The events a query selects, in replay order.
    pub fn select<'c>(&'c self, q: &'c Query, f: &mut dyn FnMut(usize, &'c Event) -> bool) {
        self.select_in(q, true, f)
    }

    /// [`select`](Self::select), optionally ignoring the query's `within` (a `then` step
    /// measures its window from the step before, not from now).
    pub fn select_in<'c>(
        &'c self,
        q: &'c Query,
        use_within: bool,
        f: &mut dyn FnMut(usize, &'c Event) -> bool,
    ) {
        let Some(idx) = self.candidates(q, use_within) else {
            return;
        };
        for &i in idx {
            let i = i as usize;
            let Some(ev) = self.lead.events.get(i) else {
                return;
            };
            if let Some(filter) = q.filter.as_ref().filter(|_| !q.prefiltered) {
                if !self.eval(filter, Some(ev)).truthy() {
                    continue;
                }
            }
            if !f(i, ev) {
                return;
            }
        }
    }

    /// The indices of the events in the query's list that fall in its scopes: the history so
    /// far, `since entering` and `within`. Lists are in replay order, which is
    /// time order, so the scopes cut one contiguous run, found by binary search.
    fn candidates(&self, q: &Query, use_within: bool) -> Option<&'a [u32]> {
        let (idx, start, end) = self.candidate_range(q, use_within)?;
        idx.get(start..end)
    }

    /// [`candidates`](Self::candidates) as a run `start..end` of the query's whole list.
    pub(super) fn candidate_range(
        &self,
        q: &Query,
        use_within: bool,
    ) -> Option<(&'a [u32], usize, usize)> {
        let mut lo = i64::MIN;
        // `since entering`: the events from the one that caused the entry on, by index.
        let mut first = 0u32;
        if let Some(st) = q.since {
            self.state.latest.get(st as usize).copied().flatten()?;
            first = self
                .state
                .since_event
                .get(st as usize)
                .copied()
                .unwrap_or(0);
        }
        if let Some(w) = q.within.filter(|_| use_within) {
            lo = lo.max(self.t.saturating_sub(w));
        }
        let idx: &'a [u32] = self.list(q.list as usize)?;
        let events = &self.lead.events;
        let in_history = |&i: &u32| {
            (i as usize) < self.n && events.get(i as usize).is_some_and(|e| e.at <= self.t)
        };
        // Often the whole list is history (at `as_of`, always), and often no scope bounds it
        // from below: both are seen without a search.
        let end = match idx.last() {
            Some(last) if in_history(last) => idx.len(),
            _ => self.history_end(q.list as usize, idx),
        };
        // `since entering` cuts by index, the other scopes by instant: both from below.
        let from = if first > 0 {
            idx.get(..end)?.partition_point(|&i| i < first)
        } else {
            0
        };
        if lo == i64::MIN {
            return Some((idx, from, end.max(from)));
        }
        let start = from
            + idx
                .get(from..end)?
                .partition_point(|&i| events.get(i as usize).is_some_and(|e| e.at < lo));
        Some((idx, start, end.max(start)))
    }

    /// How many of list `k` (`idx`) are in the history. At a look every event before `n` is
    /// at or before the moment, so that is how many are before `n`: found by a walk from
    /// where the last look found it (looks move forward through the events), instead of a
    /// binary search that misses the cache at every step on a long list.
    pub(super) fn history_end(&self, k: usize, idx: &[u32]) -> usize {
        let events = &self.lead.events;
        let all_before = self
            .n
            .checked_sub(1)
            .and_then(|i| events.get(i))
            .is_none_or(|e| e.at <= self.t);
        let Some(hint) = self.by_type.ends.get(k).filter(|_| all_before) else {
            return idx.partition_point(|&i| {
                (i as usize) < self.n && events.get(i as usize).is_some_and(|e| e.at <= self.t)
            });
        };
        let n = self.n;
        let mut end = (hint.get() as usize).min(idx.len());
        while end > 0 && idx.get(end - 1).is_some_and(|&i| i as usize >= n) {
            end -= 1;
        }
        while idx.get(end).is_some_and(|&i| (i as usize) < n) {
            end += 1;
        }
        hint.set(end as u32);
        end
    }

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

    pub fn count(&self, q: &Query) -> usize {
        if q.filter.is_none() || q.prefiltered {
            return self.candidates(q, true).map_or(0, <[u32]>::len);
        }
        let mut n = 0;
        self.select(q, &mut |_, _| {
            n += 1;
            true
        });
        n
    }

    pub fn pick<'c>(&'c self, q: &'c Query, which: Which) -> Option<(usize, &'c Event)> {
        if q.filter.is_none() || q.prefiltered {
            let idx = self.candidates(q, true)?;
            let i = *match which {
                Which::First => idx.first(),
                Which::Last => idx.last(),
            }? as usize;
            return self.lead.events.get(i).map(|e| (i, e));
        }
        let mut found = None;
        self.select(q, &mut |i, e| {
            found = Some((i, e));
            which == Which::Last
        });
        found
    }

    /// [`eval`](Self::eval), with the leaves comparisons mostly have (a constant, a trait,
    /// a property) read here rather than through another call.
    #[inline]
    fn operand<'c>(&'c self, c: &'c Cond, cur: Option<&'c Event>) -> Operand<'c> {
        match c {
            Cond::Const(v) => Operand::Ref(v),
            Cond::Trait(i) => self
                .lead
                .traits
                .get(*i as usize)
                .map_or(Operand::Missing, Operand::Ref),
            Cond::Prop(i) => cur.map_or(Operand::Missing, |e| {
                Operand::Ref(self.lead.prop(e, *i as usize))
            }),
            Cond::Count(q) => Operand::Num(self.count(q) as f64),
            _ => self.eval(c, cur),
        }
    }

    pub fn eval<'c>(&'c self, c: &'c Cond, cur: Option<&'c Event>) -> Operand<'c> {
        match c {
            Cond::Const(v) => Operand::Ref(v),
            Cond::Trait(i) => self
                .lead
                .traits
                .get(*i as usize)
                .map_or(Operand::Missing, Operand::Ref),
            Cond::Prop(i) => cur.map_or(Operand::Missing, |e| {
                Operand::Ref(self.lead.prop(e, *i as usize))
            }),
            Cond::Segment(i) => {
                let i = *i as usize;
                let Some((_, c, _)) = self.plan.segments.get(i) else {
                    return Operand::Missing;
                };
                match self.by_type.segments.get(i) {
                    Some(cell) if self.plan.trait_segments.get(i) == Some(&true) => {
                        Operand::Bool(*cell.get_or_init(|| self.eval(c, None).truthy()))
                    }
                    _ if self.memo != 0 => {
                        let noted = self.by_type.seg_memo.borrow().get(i).copied();
                        match noted {
                            Some((m, v)) if m == self.memo => Operand::Bool(v),
                            _ => {
                                // Not borrowed while evaluating: the segment may name others.
                                let v = self.eval(c, None).truthy();
                                if let Some(slot) = self.by_type.seg_memo.borrow_mut().get_mut(i) {
                                    *slot = (self.memo, v);
                                }
                                Operand::Bool(v)
                            }
                        }
                    }
                    _ => Operand::Bool(self.eval(c, None).truthy()),
                }
            }
            Cond::Score(i) => Operand::Num(self.score_into(*i as usize, None).0),
            Cond::Grade(i) => match self.score_into(*i as usize, None).2 {
                Some(g) => Operand::Num(g as f64),
                None => Operand::Missing,
            },
            Cond::GradeLabel(i) => Operand::Num(f64::from(*i)),
            Cond::Present(q) => Operand::Bool(self.pick(q, Which::First).is_some()),
            Cond::Count(q) => Operand::Num(self.count(q) as f64),
            Cond::Rate(a, b) => {
                let d = self.count(b);
                if d == 0 {
                    Operand::Missing
                } else {
                    Operand::Num(100.0 * self.count(a) as f64 / d as f64)
                }
            }
            Cond::No(q) => {
                let mut any = false;
                self.select(q, &mut |_, _| {
                    any = true;
                    false
                });
                let covered = match (q.within, self.history_start(q)) {
                    (Some(w), Some(start)) => self.t.saturating_sub(start) >= w,
                    (Some(_), None) => false,
                    (None, _) => true,
                };
                Operand::Bool(!any && covered)
            }
            Cond::DaysSince(which, q) => {
                let from = self
                    .pick(q, *which)
                    .map(|(_, e)| e.at)
                    .or_else(|| self.history_start(q));
                match from {
                    Some(at) => Operand::Num((self.t - at) as f64 / DAY_MS),
                    None => Operand::Missing,
                }
            }
            Cond::DaysSinceEntering(s) => {
                match self.state.latest.get(*s as usize).copied().flatten() {
                    Some(at) => Operand::Num((self.t - at) as f64 / DAY_MS),
                    None => Operand::Missing,
                }
            }
            Cond::Has {
                which,
                query,
                props,
                k,
            } => match self.pick(query, *which) {
                Some((_, e)) => {
                    let yes = props
                        .iter()
                        .filter(|p| matches!(self.lead.prop(e, **p as usize), Value::Bool(true)))
                        .count();
                    Operand::Bool(yes as u32 >= *k)
                }
                None => Operand::Bool(false),
            },
            Cond::PropOf { prop, which, query } => match self.pick(query, *which) {
                Some((_, e)) => Operand::Ref(self.lead.prop(e, *prop as usize)),
                None => Operand::Missing,
            },
            Cond::Then { steps, id } => Operand::Bool(self.then(steps, *id as usize)),
            Cond::AtLeast(k, items) => {
                let yes = items.iter().filter(|i| self.eval(i, cur).truthy()).count();
                Operand::Bool(yes as u32 >= *k)
            }
            Cond::Not(x) => Operand::Bool(!self.eval(x, cur).truthy()),
            Cond::Neg(x) => match self.eval(x, cur).norm() {
                Operand::Num(n) => Operand::Num(-n),
                _ => Operand::Missing,
            },
            Cond::All(v) => Operand::Bool(v.iter().all(|x| self.eval(x, cur).truthy())),
            Cond::Any(v) => Operand::Bool(v.iter().any(|x| self.eval(x, cur).truthy())),
            Cond::Arith(op, a, b) => match (self.eval(a, cur).norm(), self.eval(b, cur).norm()) {
                (Operand::Num(x), Operand::Num(y)) => match op {
                    BinOp::Add => Operand::Num(x + y),
                    BinOp::Sub => Operand::Num(x - y),
                    BinOp::Mul => Operand::Num(x * y),
                    _ if y == 0.0 => Operand::Missing,
                    _ => Operand::Num(x / y),
                },
                _ => Operand::Missing,
            },
            Cond::Cmp(op, a, b) => {
                Operand::Bool(compare(*op, self.operand(a, cur), self.operand(b, cur)))
            }
            Cond::In(v, list, negated) => {
                let v = self.operand(v, cur);
                if matches!(v.norm(), Operand::Missing) {
                    return Operand::Bool(false);
                }
                let found = match (v.norm(), self.operand(list, cur).norm()) {
                    // What `compare(Eq, v, item)` decides for a text or a number, directly:
                    // only an item of the same kind can be equal.
                    (Operand::Ref(Value::Text(s)), Operand::Ref(Value::List(items))) => {
                        items.iter().any(|i| matches!(i, Value::Text(t) if t == s))
                    }
                    (Operand::Num(x), Operand::Ref(Value::List(items))) => {
                        items.iter().any(|i| matches!(i, Value::Num(y) if *y == x))
                    }
                    (_, Operand::Ref(Value::List(items))) => {
                        items.iter().any(|i| compare(BinOp::Eq, v, Operand::Ref(i)))
                    }
                    _ => return Operand::Bool(false),
                };
                Operand::Bool(found != *negated)
            }
            Cond::Between(v, lo, hi) => {
                let v = self.operand(v, cur);
                Operand::Bool(
                    compare(BinOp::Ge, v, self.operand(lo, cur))
                        && compare(BinOp::Le, v, self.operand(hi, cur)),
                )
            }
            Cond::Test(op, v, arg, re) => Operand::Bool(test(
                *op,
                self.operand(v, cur),
                self.operand(arg, cur),
                re.as_ref(),
            )),
            Cond::Exists(v) => Operand::Bool(!matches!(self.eval(v, cur).norm(), Operand::Missing)),
        }
    }

    fn then(&self, steps: &[Query], id: usize) -> bool {
        // Lists that need no filtering at the moment are the same at every look: their
        // links are made once per lead.
        if steps.iter().all(|q| q.filter.is_none() || q.prefiltered) {
            let lists: Option<Vec<&[u32]>> =
                steps.iter().map(|q| self.list(q.list as usize)).collect();
            if let (Some(lists), Some(cell)) = (lists, self.by_type.chains.get(id)) {
                let table = cell.get_or_init(|| chain::table(&self.lead.events, steps, &lists));
                return chain::holds(self, steps, &lists, table);
            }
        }
        chain::holds_by_selection(self, steps)
    }

    /// A `per` rule's sum and count without visiting its events, when that gives the same
    /// bits as adding the points once per event: whole points that do not decay, over a list
    /// that needs no filtering. Every partial sum is then a whole number below 2^53, so each
    /// addition is exact and the sum is `points × count`.
    fn whole_points(&self, model: &ScoreModel, points: f64, q: &Query) -> Option<(f64, usize)> {
        let undecayed = match model.decay {
            None => true,
            Some(DecayKind::HalfLife(h)) => h <= 0,
            Some(DecayKind::Expire(_)) => false,
        };
        if !undecayed || !(q.filter.is_none() || q.prefiltered) {
            return None;
        }
        let n = self.count(q);
        Some((whole_sum(points, n)?, n))
    }

    /// A `per` rule's points (capped and rounded) and event count, by adding its events'
    /// decayed points one by one; `None` without events.
    pub(super) fn per_by_events(
        &self,
        model: &ScoreModel,
        points: f64,
        q: &Query,
        cap: Option<f64>,
    ) -> Option<(f64, usize)> {
        let mut sum = 0.0;
        let mut n = 0;
        self.select(q, &mut |_, e| {
            sum += points * decay_at(model, self.t, e.at);
            n += 1;
            true
        });
        (n > 0).then(|| (capped(sum, cap), n))
    }

    /// A score at this moment.
    pub fn score(&self, i: usize) -> ScoreValue {
        let mut parts = Vec::new();
        let (total, raw, grade) = self.score_into(i, Some(&mut parts));
        ScoreValue {
            total,
            parts,
            raw,
            grade,
        }
    }

    /// A score's total, raw sum and grade, and, given a list, its parts. Conditions need only
    /// the total or grade, so they keep no parts.
    fn score_into(
        &self,
        i: usize,
        mut parts: Option<&mut Vec<(usize, f64, usize)>>,
    ) -> (f64, f64, Option<usize>) {
        let Some(model) = self.plan.scores.get(i) else {
            return (0.0, 0.0, None);
        };
        let full = self;
        let decay = |earned: i64| decay_at(model, self.t, earned);
        // The parts summed in order from the start `Iterator::sum` uses, as summing the list
        // of parts would: the same bits, zero's sign included.
        let mut raw_sum: f64 = std::iter::empty::<f64>().sum();
        let mut part = |p: (usize, f64, usize)| {
            raw_sum += p.1;
            if let Some(parts) = parts.as_mut() {
                parts.push(p);
            }
        };
        for (ri, rule) in model.rules.iter().enumerate() {
            match &rule.kind {
                RulePoints::When(c) => {
                    if full.eval(c, None).truthy() {
                        let since = self
                            .state
                            .rule_since
                            .get(i)
                            .and_then(|r| r.get(ri))
                            .copied()
                            .flatten()
                            .unwrap_or(self.t);
                        part((ri, round2(rule.points * decay(since)), 1));
                    }
                }
                RulePoints::Per { query, cap } => {
                    let done = match full.whole_points(model, rule.points, query) {
                        Some((sum, n)) => Some((n > 0).then(|| (capped(sum, *cap), n))),
                        None => decay::per_part(full, i, ri, rule.points, query, *cap),
                    };
                    let done =
                        done.unwrap_or_else(|| full.per_by_events(model, rule.points, query, *cap));
                    if let Some((points, n)) = done {
                        part((ri, points, n));
                    }
                }
            }
        }
        let raw = round2(raw_sum);
        let mut total = raw;
        if let Some(max) = model.max {
            total = total.min(max);
        }
        if let Some(min) = model.min {
            total = total.max(min);
        }
        let grade = model.grades.iter().position(|(_, from)| total >= *from);
        (total, raw, grade)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::eval::index::index_by_type;
    use crate::eval::testgen::Gen;
    use crate::plan::samples::{compile_src, MIXED, TIMED};

    #[test]
    fn in_a_list_agrees_with_compare() {
        let plan = compile_src(MIXED);
        let lead = Lead {
            id: String::new(),
            origin: String::new(),
            traits: Vec::new(),
            events: Vec::new(),
            props: Vec::new(),
        };
        let (index, _) = index_by_type(&plan, &lead, 0);
        let state = State::new(&plan);
        let cx = Moment {
            plan: &plan,
            lead: &lead,
            by_type: &index,
            state: &state,
            t: 0,
            n: 0,
            memo: 0,
        };
        let values = [
            Value::Missing,
            Value::Bool(false),
            Value::Num(1.0),
            Value::Num(-0.0),
            Value::Time(1),
            Value::Text("a".into()),
            Value::Text("".into()),
            Value::List(vec![Value::Text("a".into())]),
        ];
        let lists = [
            vec![],
            vec![Value::Text("a".into()), Value::Text("b".into())],
            vec![Value::Num(0.0), Value::Num(1.0)],
            values.to_vec(),
            vec![Value::List(vec![Value::Text("a".into())])],
        ];
        for v in &values {
            for items in &lists {
                for negated in [false, true] {
                    let c = Cond::In(
                        Box::new(Cond::Const(v.clone())),
                        Box::new(Cond::Const(Value::List(items.clone()))),
                        negated,
                    );
                    let want = !v.is_missing()
                        && (items
                            .iter()
                            .any(|i| compare(BinOp::Eq, Operand::Ref(v), Operand::Ref(i)))
                            != negated);
                    assert_eq!(cx.eval(&c, None).truthy(), want, "{v:?} in {items:?}");
                }
            }
        }
    }

    /// Every query of a plan, in its conditions, scores and filters.
    fn queries(plan: &Plan) -> Vec<Query> {
        fn walk(c: &Cond, out: &mut Vec<Query>) {
            match c {
                Cond::Present(q) | Cond::Count(q) | Cond::No(q) | Cond::DaysSince(_, q) => {
                    out.push(q.clone())
                }
                Cond::Has { query, .. } | Cond::PropOf { query, .. } => out.push(query.clone()),
                Cond::Rate(a, b) => out.extend([a.clone(), b.clone()]),
                Cond::Then { steps: v, .. } => out.extend(v.iter().cloned()),
                Cond::Not(x) | Cond::Neg(x) | Cond::Exists(x) => walk(x, out),
                Cond::All(v) | Cond::Any(v) | Cond::AtLeast(_, v) => {
                    v.iter().for_each(|x| walk(x, out))
                }
                Cond::Arith(_, a, b)
                | Cond::Cmp(_, a, b)
                | Cond::In(a, b, _)
                | Cond::Test(_, a, b, _) => {
                    walk(a, out);
                    walk(b, out);
                }
                Cond::Between(a, b, c) => [a, b, c].iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        plan.stages.iter().for_each(|s| walk(&s.enter, &mut out));
        for l in &plan.leaves {
            l.when.iter().for_each(|c| walk(c, &mut out));
            out.extend(l.on.iter().cloned());
        }
        for r in plan.scores.iter().flat_map(|m| &m.rules) {
            match &r.kind {
                RulePoints::When(c) => walk(c, &mut out),
                RulePoints::Per { query, .. } => out.push(query.clone()),
            }
        }
        out
    }

    /// The events a query's scopes leave, by binary search and its shortcuts, are those a
    /// plain scan of its list finds.
    #[test]
    fn candidates_are_the_events_in_scope() {
        let b2b = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/b2b.funnel"))
            .unwrap();
        let mut checked = 0;
        for src in [MIXED, TIMED, &b2b] {
            let plan = compile_src(src);
            let qs = queries(&plan);
            assert!(qs.iter().any(|q| q.within.is_some()) || qs.iter().any(|q| q.since.is_some()));
            let mut g = Gen::new(&plan, 21);
            for _ in 0..200 {
                let lead = g.lead(&plan);
                let as_of = lead.events.last().map_or(0, |e| e.at);
                let (index, seen) = index_by_type(&plan, &lead, as_of);
                let mut state = State::new(&plan);
                for (k, l) in state.latest.iter_mut().enumerate() {
                    *l = lead.events.get(k * 3).map(|e| e.at);
                    state.since_event[k] = (k * 3) as u32;
                }
                for n in 0..=seen {
                    let last = n.checked_sub(1).map_or(0, |i| lead.events[i].at);
                    for t in [last, last + 86_400_000] {
                        let cx = Moment {
                            plan: &plan,
                            lead: &lead,
                            by_type: &index,
                            state: &state,
                            t,
                            n,
                            memo: 0,
                        };
                        for q in &qs {
                            let lo = [q.within.map(|w| t - w)];
                            let first = q.since.map_or(0, |s| state.since_event[s as usize]);
                            let want: Option<Vec<u32>> = (q.since.is_none()
                                || state.latest[q.since.unwrap() as usize].is_some())
                            .then(|| {
                                cx.list(q.list as usize)
                                    .unwrap()
                                    .iter()
                                    .copied()
                                    .filter(|&i| {
                                        let at = lead.events[i as usize].at;
                                        (i as usize) < n
                                            && i >= first
                                            && at <= t
                                            && lo.iter().flatten().all(|lo| at >= *lo)
                                    })
                                    .collect()
                            });
                            assert_eq!(cx.candidates(q, true).map(<[u32]>::to_vec), want);
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000);
    }

    #[test]
    fn whole_sum_is_repeated_addition() {
        let points = [
            0.0,
            -0.0,
            1.0,
            5.0,
            -10.0,
            15.0,
            1e9,
            -3e12,
            0.5,
            -0.25,
            1e300,
            f64::INFINITY,
        ];
        for p in points {
            for n in [0usize, 1, 2, 3, 7, 100, 4097] {
                let by_adding = (0..n).fold(0.0f64, |s, _| s + p * 1.0);
                match whole_sum(p, n) {
                    Some(v) => assert_eq!(v.to_bits(), by_adding.to_bits(), "{p} x {n}"),
                    None => assert!(
                        p.fract() != 0.0 || n as f64 * p.abs() >= 9.0e15,
                        "{p} x {n}"
                    ),
                }
            }
        }
        assert_eq!(whole_sum(5.0, 3), Some(15.0));
        assert_eq!(whole_sum(0.5, 3), None);
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
                memo: 0,
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
                    memo: 0,
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
