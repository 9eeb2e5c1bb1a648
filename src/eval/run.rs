//! The interpreter: replays one lead through the plan. See `docs/semantics.md`.

use std::cell::{Cell, OnceCell};

use crate::lead::{Event, Lead, Value};
use crate::plan::*;
use crate::syntax::ast::{BinOp, TestOp, Which};

const DAY_MS: f64 = 86_400_000.0;

/// A value during evaluation: computed, or borrowed from the lead or the plan.
#[derive(Clone, Copy, Debug)]
pub enum Val<'a> {
    Missing,
    Bool(bool),
    Num(f64),
    Time(i64),
    Ref(&'a Value),
}

impl<'a> Val<'a> {
    fn norm(self) -> Val<'a> {
        match self {
            Val::Ref(Value::Missing) => Val::Missing,
            Val::Ref(Value::Bool(b)) => Val::Bool(*b),
            Val::Ref(Value::Num(n)) => Val::Num(*n),
            Val::Ref(Value::Time(t)) => Val::Time(*t),
            other => other,
        }
    }
    pub fn truthy(self) -> bool {
        matches!(self.norm(), Val::Bool(true))
    }
    pub fn to_value(self) -> Value {
        match self.norm() {
            Val::Missing => Value::Missing,
            Val::Bool(b) => Value::Bool(b),
            Val::Num(n) => Value::Num(n),
            Val::Time(t) => Value::Time(t),
            Val::Ref(v) => v.clone(),
        }
    }
}

/// What caused a stage entry or an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The event at this index of the lead's sorted events.
    Event(usize),
    /// The passage of time.
    Timer,
}

/// How a lead got somewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    /// The stage's own `enter when`.
    Enter,
    /// A move or exit: index into `plan.leaves`.
    Leave(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub stage: u16,
    pub at: i64,
    pub by: By,
    pub trigger: Trigger,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExitRecord {
    pub leave: usize,
    pub from: u16,
    pub at: i64,
    pub trigger: Trigger,
}

#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub stage: Option<u16>,
    pub exit: Option<ExitRecord>,
    /// Latest entry into each stage.
    pub latest: Vec<Option<i64>>,
    /// Every entry, in order.
    pub entries: Vec<Entry>,
    /// For each score, for each `when` rule: since when its condition has held. Kept only
    /// for decaying scores (the points of others do not depend on it): empty for the others,
    /// and empty altogether when no score decays.
    pub rule_since: Vec<Vec<Option<i64>>>,
    /// The instant of the last move or exit: no forward step happens at that instant, even
    /// for events that arrive later at the same instant.
    pub held_at: Option<i64>,
    /// The next stage's condition already held when the move happened: then only a new event
    /// releases the lead (the passage of time brought nothing new).
    pub held_ready: bool,
}

impl State {
    /// Before the first event: in no stage.
    pub fn new(plan: &Plan) -> Self {
        State {
            stage: None,
            exit: None,
            latest: vec![None; plan.stages.len()],
            entries: Vec::new(),
            rule_since: if plan.scores.iter().any(|s| s.decay.is_some()) {
                plan.scores
                    .iter()
                    .map(|s| match s.decay {
                        Some(_) => vec![None; s.rules.len()],
                        None => Vec::new(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            held_at: None,
            held_ready: false,
        }
    }
}

/// One score at a moment, with what made it.
#[derive(Clone, Debug)]
pub struct ScoreValue {
    pub total: f64,
    /// (rule index, contribution after decay and rounding, matching events)
    pub parts: Vec<(usize, f64, usize)>,
    /// The sum before the model's cap or floor.
    pub raw: f64,
    pub grade: Option<usize>,
}

/// The result of replaying a lead.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub state: State,
    pub as_of: i64,
    /// Events considered (at or before `as_of`).
    pub seen: usize,
    pub scores: Vec<ScoreValue>,
}

/// Evaluation context: the lead's history at a moment.
pub struct Cx<'a> {
    pub plan: &'a Plan,
    pub lead: &'a Lead,
    /// The lead's event lists and per-lead constants.
    pub by_type: &'a Index,
    pub state: &'a State,
    /// The moment.
    pub t: i64,
    /// `events[..n]` are the history.
    pub n: usize,
    /// In a move's or exit's condition: the entry into the current stage.
    pub scope: Option<i64>,
}

/// `points` added `n` times to `0.0`, when that can be had by one multiplication (see
/// `Cx::whole_points`).
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

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

impl<'a> Cx<'a> {
    fn history_start(&self) -> Option<i64> {
        self.scope
            .or_else(|| self.lead.events.first().map(|e| e.at))
            .filter(|s| *s <= self.t)
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
    /// far, the current stint, `since` and `within`. Lists are in replay order, which is
    /// time order, so the scopes cut one contiguous run, found by binary search.
    fn candidates(&self, q: &Query, use_within: bool) -> Option<&'a [u32]> {
        let mut lo = i64::MIN;
        if let Some(s) = self.scope {
            lo = lo.max(s);
        }
        if let Some(st) = q.since {
            lo = lo.max(self.state.latest.get(st as usize).copied().flatten()?);
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
            _ => idx.partition_point(in_history),
        };
        let idx = idx.get(..end)?;
        if lo == i64::MIN {
            return Some(idx);
        }
        let start = idx.partition_point(|&i| events.get(i as usize).is_some_and(|e| e.at < lo));
        idx.get(start..)
    }

    /// Event list `k`: by type, then by prefilter (worked out on first use).
    fn list(&self, k: usize) -> Option<&'a [u32]> {
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

    #[inline(never)]
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
    fn operand<'c>(&'c self, c: &'c Cond, cur: Option<&'c Event>) -> Val<'c> {
        match c {
            Cond::Const(v) => Val::Ref(v),
            Cond::Trait(i) => self
                .lead
                .traits
                .get(*i as usize)
                .map_or(Val::Missing, Val::Ref),
            Cond::Prop(i) => cur.map_or(Val::Missing, |e| Val::Ref(self.lead.prop(e, *i as usize))),
            Cond::Count(q) => Val::Num(self.count(q) as f64),
            _ => self.eval(c, cur),
        }
    }

    pub fn eval<'c>(&'c self, c: &'c Cond, cur: Option<&'c Event>) -> Val<'c> {
        match c {
            Cond::Const(v) => Val::Ref(v),
            Cond::Trait(i) => self
                .lead
                .traits
                .get(*i as usize)
                .map_or(Val::Missing, Val::Ref),
            Cond::Prop(i) => cur.map_or(Val::Missing, |e| Val::Ref(self.lead.prop(e, *i as usize))),
            Cond::Segment(i) => {
                let i = *i as usize;
                let Some((_, c, _)) = self.plan.segments.get(i) else {
                    return Val::Missing;
                };
                match self.by_type.segments.get(i) {
                    Some(cell) if self.plan.trait_segments.get(i) == Some(&true) => {
                        Val::Bool(*cell.get_or_init(|| self.eval(c, None).truthy()))
                    }
                    _ => Val::Bool(self.eval(c, None).truthy()),
                }
            }
            Cond::Score(i) => Val::Num(self.score_into(*i as usize, None).0),
            Cond::Grade(i) => match self.score_into(*i as usize, None).2 {
                Some(g) => Val::Num(g as f64),
                None => Val::Missing,
            },
            Cond::GradeLabel(i) => Val::Num(f64::from(*i)),
            Cond::Present(q) => Val::Bool(self.pick(q, Which::First).is_some()),
            Cond::Count(q) => Val::Num(self.count(q) as f64),
            Cond::Rate(a, b) => {
                let d = self.count(b);
                if d == 0 {
                    Val::Missing
                } else {
                    Val::Num(100.0 * self.count(a) as f64 / d as f64)
                }
            }
            Cond::No(q) => {
                let mut any = false;
                self.select(q, &mut |_, _| {
                    any = true;
                    false
                });
                let covered = match (q.within, self.history_start()) {
                    (Some(w), Some(start)) => self.t.saturating_sub(start) >= w,
                    (Some(_), None) => false,
                    (None, _) => true,
                };
                Val::Bool(!any && covered)
            }
            Cond::DaysSince(which, q) => {
                let from = self
                    .pick(q, *which)
                    .map(|(_, e)| e.at)
                    .or_else(|| self.history_start());
                match from {
                    Some(at) => Val::Num((self.t - at) as f64 / DAY_MS),
                    None => Val::Missing,
                }
            }
            Cond::DaysSinceEntering(s) => {
                match self.state.latest.get(*s as usize).copied().flatten() {
                    Some(at) => Val::Num((self.t - at) as f64 / DAY_MS),
                    None => Val::Missing,
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
                    Val::Bool(yes as u32 >= *k)
                }
                None => Val::Bool(false),
            },
            Cond::PropOf { prop, which, query } => match self.pick(query, *which) {
                Some((_, e)) => Val::Ref(self.lead.prop(e, *prop as usize)),
                None => Val::Missing,
            },
            Cond::Then(steps) => Val::Bool(self.then(steps)),
            Cond::AtLeast(k, items) => {
                let yes = items.iter().filter(|i| self.eval(i, cur).truthy()).count();
                Val::Bool(yes as u32 >= *k)
            }
            Cond::Not(x) => Val::Bool(!self.eval(x, cur).truthy()),
            Cond::Neg(x) => match self.eval(x, cur).norm() {
                Val::Num(n) => Val::Num(-n),
                _ => Val::Missing,
            },
            Cond::All(v) => Val::Bool(v.iter().all(|x| self.eval(x, cur).truthy())),
            Cond::Any(v) => Val::Bool(v.iter().any(|x| self.eval(x, cur).truthy())),
            Cond::Arith(op, a, b) => match (self.eval(a, cur).norm(), self.eval(b, cur).norm()) {
                (Val::Num(x), Val::Num(y)) => match op {
                    BinOp::Add => Val::Num(x + y),
                    BinOp::Sub => Val::Num(x - y),
                    BinOp::Mul => Val::Num(x * y),
                    _ if y == 0.0 => Val::Missing,
                    _ => Val::Num(x / y),
                },
                _ => Val::Missing,
            },
            Cond::Cmp(op, a, b) => {
                Val::Bool(compare(*op, self.operand(a, cur), self.operand(b, cur)))
            }
            Cond::In(v, list, negated) => {
                let v = self.operand(v, cur);
                if matches!(v.norm(), Val::Missing) {
                    return Val::Bool(false);
                }
                let found = match (v.norm(), self.operand(list, cur).norm()) {
                    // What `compare(Eq, v, item)` decides for a text or a number, directly:
                    // only an item of the same kind can be equal.
                    (Val::Ref(Value::Text(s)), Val::Ref(Value::List(items))) => {
                        items.iter().any(|i| matches!(i, Value::Text(t) if t == s))
                    }
                    (Val::Num(x), Val::Ref(Value::List(items))) => {
                        items.iter().any(|i| matches!(i, Value::Num(y) if *y == x))
                    }
                    (_, Val::Ref(Value::List(items))) => {
                        items.iter().any(|i| compare(BinOp::Eq, v, Val::Ref(i)))
                    }
                    _ => return Val::Bool(false),
                };
                Val::Bool(found != *negated)
            }
            Cond::Between(v, lo, hi) => {
                let v = self.operand(v, cur);
                Val::Bool(
                    compare(BinOp::Ge, v, self.operand(lo, cur))
                        && compare(BinOp::Le, v, self.operand(hi, cur)),
                )
            }
            Cond::Test(op, v, arg, re) => Val::Bool(test(
                *op,
                self.operand(v, cur),
                self.operand(arg, cur),
                re.as_ref(),
            )),
            Cond::Exists(v) => Val::Bool(!matches!(self.eval(v, cur).norm(), Val::Missing)),
        }
    }

    fn then(&self, steps: &[Query]) -> bool {
        // Greedy earliest matching: the earliest first step leaves the most room for the rest,
        // except that a `within` on a later step bounds the gap, so every start is tried.
        fn rest(cx: &Cx<'_>, steps: &[Query], after: usize, prev_at: i64) -> bool {
            let Some((q, tail)) = steps.split_first() else {
                return true;
            };
            let mut ok = false;
            let gap = q.within;
            cx.select_in(q, false, &mut |i, e| {
                if i <= after || gap.is_some_and(|g| e.at > prev_at.saturating_add(g)) {
                    return true;
                }
                if rest(cx, tail, i, e.at) {
                    ok = true;
                    return false;
                }
                true
            });
            ok
        }
        let Some((first, tail)) = steps.split_first() else {
            return false;
        };
        let mut ok = false;
        self.select(first, &mut |i, e| {
            if rest(self, tail, i, e.at) {
                ok = true;
                return false;
            }
            true
        });
        ok
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
        // Scores belong to the lead, not the stint: computed over the whole history.
        let full = Cx {
            scope: None,
            ..*self
        };
        let decay = |earned: i64| -> f64 {
            let age = (self.t - earned).max(0) as f64;
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
        };
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
                    let (mut sum, n) = match full.whole_points(model, rule.points, query) {
                        Some(done) => done,
                        None => {
                            let mut sum = 0.0;
                            let mut n = 0;
                            full.select(query, &mut |_, e| {
                                sum += rule.points * decay(e.at);
                                n += 1;
                                true
                            });
                            (sum, n)
                        }
                    };
                    if n > 0 {
                        if let Some(c) = cap {
                            sum = sum.clamp(-c, *c);
                        }
                        part((ri, round2(sum), n));
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

pub fn compare(op: BinOp, a: Val<'_>, b: Val<'_>) -> bool {
    use std::cmp::Ordering;
    // Text equality is the commonest test (`page == "pricing"`, `role in [...]`): equal
    // exactly when the ordering below says `Equal`, and cheaper to decide.
    if let (Val::Ref(Value::Text(x)), Val::Ref(Value::Text(y))) = (a, b) {
        match op {
            BinOp::Eq => return x == y,
            BinOp::Ne => return x != y,
            _ => {}
        }
    }
    let ord: Option<Ordering> = match (a.norm(), b.norm()) {
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(&y),
        (Val::Time(x), Val::Time(y)) => Some(x.cmp(&y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(&y)),
        (Val::Ref(Value::Text(x)), Val::Ref(Value::Text(y))) => Some(x.cmp(y)),
        (Val::Ref(x @ Value::List(_)), Val::Ref(y @ Value::List(_))) => {
            return match op {
                BinOp::Eq => x == y,
                BinOp::Ne => x != y,
                _ => false,
            }
        }
        _ => None,
    };
    let Some(o) = ord else { return false };
    match op {
        BinOp::Eq => o == Ordering::Equal,
        BinOp::Ne => o != Ordering::Equal,
        BinOp::Lt => o == Ordering::Less,
        BinOp::Le => o != Ordering::Greater,
        BinOp::Gt => o == Ordering::Greater,
        BinOp::Ge => o != Ordering::Less,
        _ => false,
    }
}

fn test(op: TestOp, v: Val<'_>, arg: Val<'_>, re: Option<&regex::Regex>) -> bool {
    let (v, arg) = (v.norm(), arg.norm());
    match op {
        TestOp::Contains => match v {
            Val::Ref(Value::List(items)) => {
                items.iter().any(|i| compare(BinOp::Eq, Val::Ref(i), arg))
            }
            Val::Ref(Value::Text(s)) => matches!(arg, Val::Ref(Value::Text(a)) if s.contains(&**a)),
            _ => false,
        },
        TestOp::ContainsAll | TestOp::ContainsAny => {
            let (Val::Ref(Value::List(have)), Val::Ref(Value::List(want))) = (v, arg) else {
                return false;
            };
            let has = |w: &Value| {
                have.iter()
                    .any(|h| compare(BinOp::Eq, Val::Ref(h), Val::Ref(w)))
            };
            if op == TestOp::ContainsAll {
                want.iter().all(has)
            } else {
                want.iter().any(has)
            }
        }
        TestOp::StartsWith | TestOp::EndsWith | TestOp::Matches => {
            let Val::Ref(Value::Text(s)) = v else {
                return false;
            };
            match (op, arg) {
                (TestOp::Matches, _) => re.is_some_and(|r| r.is_match(s)),
                (TestOp::StartsWith, Val::Ref(Value::Text(a))) => s.starts_with(&**a),
                (TestOp::EndsWith, Val::Ref(Value::Text(a))) => s.ends_with(&**a),
                _ => false,
            }
        }
    }
}

/// The machine just before a stage entry or an exit, for explanations.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub at: i64,
    /// Events in the history at that moment.
    pub n: usize,
    pub before: State,
}

/// Replays a lead up to `as_of`.
pub fn replay(plan: &Plan, lead: &Lead, as_of: i64) -> Outcome {
    replay_inner(plan, lead, as_of, None)
}

/// Replays a lead and keeps the machine's state before every entry and exit, in order.
pub fn replay_traced(plan: &Plan, lead: &Lead, as_of: i64) -> (Outcome, Vec<Snapshot>) {
    let mut trace = Vec::new();
    let out = replay_inner(plan, lead, as_of, Some(&mut trace));
    (out, trace)
}

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

thread_local! {
    /// The index of the thread's last replay, for the next to fill: a thread replays its
    /// leads one after another, and the index's lists then keep their room.
    static INDEX: Cell<Index> = Cell::new(Index::default());
}

fn replay_inner(
    plan: &Plan,
    lead: &Lead,
    as_of: i64,
    trace: Option<&mut Vec<Snapshot>>,
) -> Outcome {
    replay_with(plan, lead, as_of, trace, true)
}

/// `skip`: pass over looks that cannot change anything (see [`Machine::unmoved_by`]); off
/// only in tests, which hold the two to the same outcome.
fn replay_with(
    plan: &Plan,
    lead: &Lead,
    as_of: i64,
    trace: Option<&mut Vec<Snapshot>>,
    skip: bool,
) -> Outcome {
    let mut by_type = INDEX.with(Cell::take);
    let seen = by_type.fill(plan, lead, as_of);
    let mut m = Machine {
        skip,
        quiet: false,
        at_rest: None,
        rule_updates: Vec::new(),
        trace,
        plan,
        lead,
        by_type: &by_type,
        state: State::new(plan),
        t: i64::MIN,
        n: 0,
    };
    // Without timers or decay crossings, `timers_until` finds nothing to look at; nor when
    // every look would be passed over (its first check, made here to save a call at every
    // event).
    let timed = !plan.timer_offsets.is_empty() || plan.decay_matters;
    let mut i = 0;
    while i < seen {
        let ev = &lead.events[i];
        if timed && !m.unmoved_by(None) {
            m.timers_until(ev.at, false);
        }
        // All events at this instant join the history one by one, in input order.
        m.n = i + 1;
        m.t = ev.at;
        if !m.unmoved_by(Some(ev.ty)) {
            m.settle(Trigger::Event(i));
        }
        i += 1;
    }
    if timed {
        m.timers_until(as_of, true);
    }
    if seen == 0 {
        // A lead with no events is looked at once, at `as_of`: traits alone may place it.
        m.t = as_of;
        m.settle(Trigger::Timer);
    }
    m.t = as_of;
    let cx = m.cx(None);
    let scores = (0..plan.scores.len()).map(|s| cx.score(s)).collect();
    let out = Outcome {
        state: m.state,
        as_of,
        seen,
        scores,
    };
    INDEX.with(|cell| cell.set(by_type));
    out
}

struct Machine<'a> {
    /// Whether looks that cannot change anything are passed over.
    skip: bool,
    /// There was a look, and it ended at rest: every condition it evaluated last gave the
    /// answer that keeps the lead where it is (see `unmoved_by`). A look ends at rest unless
    /// it holds the lead after a move; so this is mostly "a look has happened", kept explicit
    /// because the argument rests on it.
    quiet: bool,
    /// What `unmoved_by` needs of the machine, worked out at the end of each look (only a
    /// look changes it): when the last look was quiet and no hold is pending, the event types
    /// the conditions of the lead's position read (`Plan::watch`), else `None`.
    at_rest: Option<&'a [bool]>,
    trace: Option<&'a mut Vec<Snapshot>>,
    /// `track_rules`' list, reused.
    rule_updates: Vec<(usize, usize, bool)>,
    plan: &'a Plan,
    lead: &'a Lead,
    by_type: &'a Index,
    state: State,
    t: i64,
    n: usize,
}

impl<'a> Machine<'a> {
    fn cx(&self, scope: Option<i64>) -> Cx<'_> {
        Cx {
            plan: self.plan,
            lead: self.lead,
            by_type: self.by_type,
            state: &self.state,
            t: self.t,
            n: self.n,
            scope,
        }
    }

    /// The next instant after `self.t` at which a condition may change by time alone.
    fn next_timer(&self) -> Option<i64> {
        if self.plan.timer_offsets.is_empty() {
            return None;
        }
        let t = self.t;
        let mut best: Option<i64> = None;
        let mut consider = |base: i64| {
            for off in &self.plan.timer_offsets {
                let at = base.saturating_add(*off);
                if at > t {
                    if best.is_none_or(|b| at < b) {
                        best = Some(at);
                    }
                    break; // offsets are sorted: later ones are later still
                }
            }
        };
        for at in self.state.latest.iter().flatten() {
            consider(*at);
        }
        // For events, per offset rather than per event: events are in time order, so the
        // earliest `at + off` after `t` is the first event past `t - off`, found by binary
        // search (this was a loop over the whole history at every look).
        let history = self.lead.events.get(..self.n).unwrap_or(&[]);
        for off in &self.plan.timer_offsets {
            let first = history.partition_point(|e| e.at.saturating_add(*off) <= t);
            if let Some(e) = history.get(first) {
                let at = e.at.saturating_add(*off);
                if best.is_none_or(|b| at < b) {
                    best = Some(at);
                }
            }
        }
        best
    }

    /// Looks at every timer instant before `limit` (or up to it, when `inclusive`).
    fn timers_until(&mut self, limit: i64, inclusive: bool) {
        if self.n == 0 {
            return; // no history yet: nothing can change by time alone
        }
        if self.unmoved_by(None) {
            // Every timer look and decay probe before `limit` would be passed over, and
            // nothing changes, so this stays so. (`t` is not moved on to the last timer
            // instant: the caller sets it next, and nothing reads it before.)
            return;
        }
        loop {
            let next = self.next_timer();
            let probe_at = match next {
                Some(nt) if nt < limit || (inclusive && nt == limit) => nt,
                _ if inclusive => limit,
                _ => limit - 1,
            };
            // Every crossing before the probe, not just the first: each one moves `t` on or
            // changes the stage, so a small bound is never reached by a real lead.
            let mut crossings = 0;
            while self.plan.decay_matters
                && probe_at > self.t
                && crossings < 1_000
                && self.decay_crossing(probe_at)
            {
                crossings += 1;
            }
            match next {
                Some(nt) if nt < limit || (inclusive && nt == limit) => {
                    self.t = nt;
                    if !self.unmoved_by(None) {
                        self.settle(Trigger::Timer);
                    }
                }
                _ => return,
            }
        }
    }

    /// Finds, by bisection, the first instant in `(self.t, until]` at which the machine would
    /// move because a decaying score crossed a threshold, and moves it there.
    fn decay_crossing(&mut self, until: i64) -> bool {
        let changes_at = |m: &Self, at: i64| -> bool {
            if m.unmoved_by(None) {
                return false;
            }
            let mut probe = Machine {
                skip: false,
                quiet: false,
                at_rest: None,
                rule_updates: Vec::new(),
                trace: None,
                plan: m.plan,
                lead: m.lead,
                by_type: m.by_type,
                state: m.state.clone(),
                t: at,
                n: m.n,
            };
            probe.settle(Trigger::Timer);
            probe.state.stage != m.state.stage || probe.state.exit != m.state.exit
        };
        if self.t == i64::MIN || !changes_at(self, until) {
            return false;
        }
        let (mut lo, mut hi) = (self.t, until);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if changes_at(self, mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        self.t = hi;
        self.settle(Trigger::Timer);
        true
    }

    /// Whether a look now, after an event of type `ty` joined the history (`None`: time
    /// alone passed), would change nothing: then it need not happen.
    ///
    /// It is so when the last look was quiet (it left every exit and move from the current
    /// stage false, and the next stage's condition false, or the lead had exited) and no hold
    /// is pending (a held lead is released by its next event, which is a change), and no
    /// condition a look evaluates in this position reads the moment or events of type `ty`
    /// (`Plan::watch`). Those conditions then read exactly what they read at the last look:
    /// the same state (only a look changes it; `rule_since`, changed at the end of a look, is
    /// read only by decaying scores, which read the moment), the same traits, and, of each
    /// event type they read, the same events: every event that joined since is of a type
    /// they do not read (each of its looks was passed over for that reason), and at any look
    /// every event of the history is at or before the moment. So they give the same answers,
    /// the look would take no step, and `track_rules` would find each decaying `when` rule
    /// where it was (its condition is among them). Nothing is recorded at such a look: no
    /// entry, exit, trigger or snapshot.
    fn unmoved_by(&self, ty: Option<u16>) -> bool {
        self.at_rest.is_some_and(|reads| {
            ty.is_none_or(|ty| !reads.get(ty as usize).copied().unwrap_or(true))
        })
    }

    /// `at_rest` for the machine as it is now.
    fn rest(&self) -> Option<&'a [bool]> {
        if !(self.skip && self.quiet && self.state.held_at.is_none()) {
            return None;
        }
        let pos = self
            .plan
            .position(self.state.stage, self.state.exit.is_some());
        self.plan.watch.get(pos).and_then(Option::as_deref)
    }

    fn settle(&mut self, trigger: Trigger) {
        let t = self.t;
        // Set where the look ends with nothing left to do (see `unmoved_by`).
        let mut quiet = false;
        // A lead passes through every stage at most once per instant, which also bounds
        // this loop.
        for _ in 0..=self.plan.stages.len() + 1 {
            if self.state.exit.is_some() {
                quiet = true;
                break;
            }
            if let Some(s) = self.state.stage {
                let scope = self.state.latest[s as usize];
                let fired = {
                    let cx = self.cx(scope);
                    self.plan.leaves.iter().enumerate().find(|(_, l)| {
                        l.from.as_ref().is_none_or(|f| f.contains(&s))
                            && cx.eval(&l.when, None).truthy()
                    })
                };
                if let Some((li, leave)) = fired {
                    self.snapshot();
                    self.state.held_at = Some(t);
                    match &leave.to {
                        LeaveTo::Exit(_) => {
                            self.state.exit = Some(ExitRecord {
                                leave: li,
                                from: s,
                                at: t,
                                trigger,
                            });
                        }
                        LeaveTo::Stage(to) => self.enter(*to, By::Leave(li), trigger),
                    }
                    let next = self.state.stage.map_or(0, |s| s as usize + 1);
                    self.state.held_ready = self.state.exit.is_none()
                        && self
                            .plan
                            .stages
                            .get(next)
                            .is_some_and(|st| self.cx(None).eval(&st.enter, None).truthy());
                    break; // no forward step at the instant of a move or exit
                }
            }
            if let Some(held) = self.state.held_at {
                // Held at the instant of the move; afterwards, a lead that was ready then
                // waits for its next event.
                if held == t || (self.state.held_ready && trigger == Trigger::Timer) {
                    break;
                }
                self.state.held_at = None;
                self.state.held_ready = false;
            }
            let next = self.state.stage.map_or(0, |s| s as usize + 1);
            let Some(stage) = self.plan.stages.get(next) else {
                quiet = true;
                break;
            };
            if self.cx(None).eval(&stage.enter, None).truthy() {
                self.enter(next as u16, By::Enter, trigger);
            } else {
                quiet = true;
                break;
            }
        }
        // An exit is quiet too: an exited lead's looks only track the decaying rules.
        self.quiet = quiet || self.state.exit.is_some();
        self.track_rules();
        self.at_rest = self.rest();
    }

    fn snapshot(&mut self) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(Snapshot {
                at: self.t,
                n: self.n,
                before: self.state.clone(),
            });
        }
    }

    fn enter(&mut self, stage: u16, by: By, trigger: Trigger) {
        if !matches!(by, By::Leave(_)) {
            self.snapshot();
        }
        self.state.stage = Some(stage);
        self.state.latest[stage as usize] = Some(self.t);
        self.state.entries.push(Entry {
            stage,
            at: self.t,
            by,
            trigger,
        });
    }

    /// Notes since when each decaying `when` rule has held.
    fn track_rules(&mut self) {
        if !self.plan.scores.iter().any(|m| m.decay.is_some()) {
            return;
        }
        // Every rule is evaluated before any is noted (a rule may read a score); the list is
        // kept from look to look.
        let mut updates = std::mem::take(&mut self.rule_updates);
        updates.clear();
        {
            let cx = self.cx(None);
            for (si, model) in self.plan.scores.iter().enumerate() {
                if model.decay.is_none() {
                    continue;
                }
                for (ri, rule) in model.rules.iter().enumerate() {
                    if let RulePoints::When(c) = &rule.kind {
                        updates.push((si, ri, cx.eval(c, None).truthy()));
                    }
                }
            }
        }
        for &(si, ri, holds) in &updates {
            let slot = &mut self.state.rule_since[si][ri];
            match (holds, *slot) {
                (true, None) => *slot = Some(self.t),
                (false, _) => *slot = None,
                _ => {}
            }
        }
        self.rule_updates = updates;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::check::Ty;

    /// The schema and segment both test funnels share.
    macro_rules! schema {
        () => {
            r#"schema {
  trait plan: text
  trait seats: int
  event ping { kind: text, n: int }
  event open
  event click { ok: bool }
  event back
  event drop
  event noise { kind: text }
}
segment big = seats >= 10 and plan in ["pro", "team"]
"#
        };
    }

    /// Exercises what skipping looks must respect: windows, absences, `days since`, a hold
    /// after a move, exits from one stage, decaying and expiring scores read by stages, and
    /// decaying `when` rules that read time.
    const TIMED: &str = concat!(
        "funnel \"timed\"\n",
        schema!(),
        r#"
segment busy = count click where ok == true >= 2
score heat max 40 decay half-life 3d {
  +10 per open max 20
  +15 when click where ok within 2d
  -10 when drop
}
score fresh decay expire after 5d {
  +5 per ping where kind == "a"
  grade top from 10
  grade low from 0
}
stage A { enter when ping or open }
stage B { enter when big and count open within 4d >= 2 or busy }
stage C { enter when score heat + fresh >= 30 or grade fresh == top }
stage D { enter when no ping within 3d and days since last open >= 2 }
stage E { enter when click then back within 1d or days since entering D > 1.5 }
move C -> B when back
move E -> C when noise where kind == "x"
exit gone from [B, D] when drop
"#
    );

    /// Timers and holds where some positions read only events, so their looks, timer looks
    /// included, are passed over.
    const MIXED: &str = concat!(
        "funnel \"mixed\"\n",
        schema!(),
        r#"
score heat max 40 decay half-life 3d {
  +10 per open max 20
  +15 when click where ok
  -10 when drop
}
score mood decay half-life 2d {
  +10 per open max 30
  -20 per noise
}
score fresh decay expire after 5d {
  +5 per ping where (kind == "a" and n > 1)
  grade top from 10
  grade low from 0
}
stage A { enter when ping or seats >= 100 }
stage B { enter when count open >= 2 and big or click where ok then back within 2d }
stage C { enter when no ping within 3d or rate open / click >= 50% }
stage D { enter when click where ok and score mood > -5 }
stage E { enter when score fresh >= 5 or grade fresh == top }
stage F { enter when n of latest ping >= 2 and open or days since entering E >= 1 }
move D -> B when back
move B -> A when noise where kind == "x"
move F -> E when back
exit gone from [B, D] when drop
"#
    );

    fn compile_src(src: &str) -> Plan {
        let parsed = crate::syntax::parse(src);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let checked = crate::check::check_source(src);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        crate::eval::compile(&parsed.file, &checked.symbols, src, "t.funnel").unwrap()
    }

    /// Every constant of a condition, so generated values often meet the rules.
    fn constants(c: &Cond, out: &mut Vec<Value>) {
        let q = |q: &Query, out: &mut Vec<Value>| {
            if let Some(f) = &q.filter {
                constants(f, out);
            }
        };
        match c {
            Cond::Const(Value::List(v)) => {
                out.extend(v.iter().cloned());
                out.push(Value::List(v.clone()));
            }
            Cond::Const(v) => out.push(v.clone()),
            Cond::Present(x) | Cond::Count(x) | Cond::No(x) | Cond::DaysSince(_, x) => q(x, out),
            Cond::Has { query, .. } | Cond::PropOf { query, .. } => q(query, out),
            Cond::Rate(a, b) => {
                q(a, out);
                q(b, out);
            }
            Cond::Then(v) => v.iter().for_each(|x| q(x, out)),
            Cond::Not(x) | Cond::Neg(x) | Cond::Exists(x) => constants(x, out),
            Cond::All(v) | Cond::Any(v) | Cond::AtLeast(_, v) => {
                v.iter().for_each(|x| constants(x, out))
            }
            Cond::Arith(_, a, b)
            | Cond::Cmp(_, a, b)
            | Cond::In(a, b, _)
            | Cond::Test(_, a, b, _) => {
                constants(a, out);
                constants(b, out);
            }
            Cond::Between(a, b, c) => {
                constants(a, out);
                constants(b, out);
                constants(c, out);
            }
            _ => {}
        }
    }

    struct Gen {
        state: u64,
        texts: Vec<Value>,
        nums: Vec<f64>,
        /// The lists the rules name, whole.
        lists: Vec<Value>,
    }

    impl Gen {
        fn new(plan: &Plan, seed: u64) -> Gen {
            let mut all = Vec::new();
            for (_, c, _) in &plan.segments {
                constants(c, &mut all);
            }
            for s in &plan.stages {
                constants(&s.enter, &mut all);
            }
            for l in &plan.leaves {
                constants(&l.when, &mut all);
            }
            for m in &plan.scores {
                for r in &m.rules {
                    match &r.kind {
                        RulePoints::When(c) => constants(c, &mut all),
                        RulePoints::Per { query, .. } => {
                            constants(&Cond::Count(query.clone()), &mut all)
                        }
                    }
                }
            }
            for (_, c) in &plan.prefilters {
                constants(c, &mut all);
            }
            let mut texts: Vec<Value> = all
                .iter()
                .filter(|v| matches!(v, Value::Text(_)))
                .cloned()
                .collect();
            texts.push(Value::Text("other".into()));
            let mut nums: Vec<f64> = vec![0.0, 1.0, 3.0];
            for v in &all {
                if let Value::Num(n) = v {
                    nums.extend([*n, n + 1.0, n - 1.0]);
                }
            }
            let lists = all
                .iter()
                .filter(|v| matches!(v, Value::List(_)))
                .cloned()
                .collect();
            Gen {
                lists,
                state: seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407),
                texts,
                nums,
            }
        }

        fn next(&mut self) -> u64 {
            // xorshift64*: deterministic, good enough to shuffle test data.
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        fn text(&mut self) -> Value {
            let i = self.below(self.texts.len());
            self.texts[i].clone()
        }

        fn value(&mut self, ty: &Ty) -> Value {
            if self.below(8) == 0 {
                return Value::Missing;
            }
            match ty {
                Ty::Bool => Value::Bool(self.below(3) > 0),
                Ty::Text => self.text(),
                Ty::List(_) if self.below(2) == 0 && !self.lists.is_empty() => {
                    let i = self.below(self.lists.len());
                    self.lists[i].clone()
                }
                Ty::List(_) => {
                    let k = self.below(4);
                    Value::List((0..k).map(|_| self.text()).collect())
                }
                Ty::Date | Ty::Timestamp => Value::Time(1_735_689_600_000),
                _ => {
                    let i = self.below(self.nums.len());
                    Value::Num(self.nums[i])
                }
            }
        }

        /// Traits; half the time ones that meet every segment that reads only traits (found
        /// by trying), so that leads get far into funnels with demanding audiences.
        fn traits(&mut self, plan: &Plan) -> Vec<Value> {
            let mut best: (usize, Vec<Value>) = (0, Vec::new());
            for k in 0..if self.below(4) == 0 { 1 } else { 300 } {
                let traits: Vec<Value> = plan.traits.iter().map(|(_, t)| self.value(t)).collect();
                let lead = Lead {
                    id: String::new(),
                    origin: String::new(),
                    traits: traits.clone(),
                    events: Vec::new(),
                    props: Vec::new(),
                };
                let (index, _) = index_by_type(plan, &lead, 0);
                let state = State::new(plan);
                let cx = Cx {
                    plan,
                    lead: &lead,
                    by_type: &index,
                    state: &state,
                    t: 0,
                    n: 0,
                    scope: None,
                };
                let met = (0..plan.segments.len())
                    .filter(|i| plan.trait_segments[*i])
                    .filter(|i| cx.eval(&Cond::Segment(*i as u16), None).truthy())
                    .count();
                if k == 0 || met > best.0 {
                    best = (met, traits);
                }
            }
            best.1
        }

        fn lead(&mut self, plan: &Plan) -> Lead {
            let traits = self.traits(plan);
            let mut events = Vec::new();
            let mut props = Vec::new();
            let n = self.below(40);
            let mut at = 1_735_689_600_000i64;
            for _ in 0..n {
                // Steps from none (ties) to a week, in hours, sometimes in odd milliseconds.
                at += match self.below(6) {
                    0 => 0,
                    1 => self.below(1000) as i64,
                    _ => self.below(24 * 7) as i64 * 3_600_000,
                };
                let ty = self.below(plan.events.len());
                let start = props.len() as u32;
                for (_, t) in &plan.events[ty].props {
                    let v = self.value(t);
                    props.push(v);
                }
                events.push(Event {
                    ty: ty as u16,
                    at,
                    props_start: start,
                });
            }
            Lead {
                id: "x".into(),
                origin: String::new(),
                traits,
                events,
                props,
            }
        }
    }

    fn same(a: &Outcome, b: &Outcome) -> bool {
        a.state == b.state
            && a.seen == b.seen
            && a.scores.len() == b.scores.len()
            && a.scores.iter().zip(&b.scores).all(|(x, y)| {
                x.total.to_bits() == y.total.to_bits()
                    && x.raw.to_bits() == y.raw.to_bits()
                    && x.grade == y.grade
                    && x.parts.len() == y.parts.len()
                    && x.parts
                        .iter()
                        .zip(&y.parts)
                        .all(|(p, q)| p.0 == q.0 && p.1.to_bits() == q.1.to_bits() && p.2 == q.2)
            })
    }

    /// Passing over looks that cannot change anything changes nothing: same state (entries,
    /// triggers, holds, exits), same scores, same snapshots, on generated leads.
    #[test]
    fn skipping_looks_changes_nothing() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut sources = vec![TIMED.to_string(), MIXED.to_string()];
        for f in [
            "rules/b2b-saas.funnel",
            "rules/lifecycle.funnel",
            "rules/aida.funnel",
            "bench/b2b.funnel",
        ] {
            sources.push(std::fs::read_to_string(format!("{root}/{f}")).unwrap());
        }
        let mut skipped = 0usize;
        for (k, src) in sources.iter().enumerate() {
            let plan = compile_src(src);
            let mut g = Gen::new(&plan, k as u64 + 1);
            // Until enough leads got somewhere: most generated leads never enter a funnel
            // with a demanding first stage.
            let (mut far, mut i) = (0, 0);
            while far < 500 && i < 6_000 {
                i += 1;
                let lead = g.lead(&plan);
                let as_of = lead
                    .events
                    .get(lead.events.len() * 3 / 4)
                    .map_or(1_735_689_600_000, |e| e.at)
                    + if i % 2 == 0 { 0 } else { 5 * 86_400_000 };
                let mut ta = Vec::new();
                let mut tb = Vec::new();
                let a = replay_with(&plan, &lead, as_of, Some(&mut ta), true);
                let b = replay_with(&plan, &lead, as_of, Some(&mut tb), false);
                assert!(same(&a, &b), "rules #{k}, lead {i}: {lead:?}\n{a:?}\n{b:?}");
                assert_eq!(ta.len(), tb.len());
                for (x, y) in ta.iter().zip(&tb) {
                    assert!(x.at == y.at && x.n == y.n && x.before == y.before);
                }
                far += usize::from(a.state.entries.len() > 1);
            }
            skipped += usize::from(plan.watch.iter().any(Option::is_some));
        }
        assert!(skipped > 0);
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
            let cx = |by_type| Cx {
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

    /// The next timer as it was first written: every base, every offset.
    fn next_timer_by_scan(m: &Machine<'_>) -> Option<i64> {
        let bases = m.lead.events[..m.n]
            .iter()
            .map(|e| e.at)
            .chain(m.state.latest.iter().flatten().copied());
        bases
            .flat_map(|b| {
                m.plan
                    .timer_offsets
                    .iter()
                    .map(move |o| b.saturating_add(*o))
            })
            .filter(|at| *at > m.t)
            .min()
    }

    #[test]
    fn next_timer_is_the_earliest_instant_after_now() {
        let root = env!("CARGO_MANIFEST_DIR");
        let aida = std::fs::read_to_string(format!("{root}/rules/aida.funnel")).unwrap();
        for src in [MIXED, TIMED, &aida] {
            let plan = compile_src(src);
            assert!(!plan.timer_offsets.is_empty());
            let mut g = Gen::new(&plan, 5);
            for _ in 0..300 {
                let lead = g.lead(&plan);
                let (index, _) = index_by_type(&plan, &lead, i64::MAX);
                let mut state = State::new(&plan);
                for (k, l) in state.latest.iter_mut().enumerate() {
                    if g.below(3) == 0 {
                        *l = lead.events.get(k).map(|e| e.at - 3_600_000);
                    }
                }
                for n in 0..=lead.events.len() {
                    let last = n.checked_sub(1).map_or(0, |i| lead.events[i].at);
                    for t in [last, last + 1, last + g.below(40 * 86_400_000) as i64] {
                        let m = Machine {
                            skip: true,
                            quiet: false,
                            at_rest: None,
                            rule_updates: Vec::new(),
                            trace: None,
                            plan: &plan,
                            lead: &lead,
                            by_type: &index,
                            state: state.clone(),
                            t,
                            n,
                        };
                        assert_eq!(m.next_timer(), next_timer_by_scan(&m));
                    }
                }
            }
        }
    }

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
        let cx = Cx {
            plan: &plan,
            lead: &lead,
            by_type: &index,
            state: &state,
            t: 0,
            n: 0,
            scope: None,
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
                            .any(|i| compare(BinOp::Eq, Val::Ref(v), Val::Ref(i)))
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
                Cond::Then(v) => out.extend(v.iter().cloned()),
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
        plan.leaves.iter().for_each(|l| walk(&l.when, &mut out));
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
                }
                for n in 0..=seen {
                    let last = n.checked_sub(1).map_or(0, |i| lead.events[i].at);
                    let scope = lead.events.get(n / 2).map(|e| e.at);
                    for (t, scope) in [(last, None), (last, scope), (last + 86_400_000, scope)] {
                        let cx = Cx {
                            plan: &plan,
                            lead: &lead,
                            by_type: &index,
                            state: &state,
                            t,
                            n,
                            scope,
                        };
                        for q in &qs {
                            let lo = [
                                scope,
                                q.since.and_then(|s| state.latest[s as usize]),
                                q.within.map(|w| t - w),
                            ];
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
                let cx = Cx {
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
                        let c1 = Cx { lead: &one, ..cx };
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

    /// `compare` as it was before text equality got its shortcut: by ordering alone.
    fn compare_by_order(op: BinOp, a: Val<'_>, b: Val<'_>) -> bool {
        use std::cmp::Ordering;
        let ord = match (a.norm(), b.norm()) {
            (Val::Num(x), Val::Num(y)) => x.partial_cmp(&y),
            (Val::Time(x), Val::Time(y)) => Some(x.cmp(&y)),
            (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(&y)),
            (Val::Ref(Value::Text(x)), Val::Ref(Value::Text(y))) => Some(x.cmp(y)),
            (Val::Ref(x @ Value::List(_)), Val::Ref(y @ Value::List(_))) => {
                return match op {
                    BinOp::Eq => x == y,
                    BinOp::Ne => x != y,
                    _ => false,
                }
            }
            _ => None,
        };
        ord.is_some_and(|o| match op {
            BinOp::Eq => o == Ordering::Equal,
            BinOp::Ne => o != Ordering::Equal,
            BinOp::Lt => o == Ordering::Less,
            BinOp::Le => o != Ordering::Greater,
            BinOp::Gt => o == Ordering::Greater,
            BinOp::Ge => o != Ordering::Less,
            _ => false,
        })
    }

    #[test]
    fn compare_agrees_with_ordering() {
        let values = [
            Value::Missing,
            Value::Bool(true),
            Value::Num(0.0),
            Value::Num(-0.0),
            Value::Num(2.5),
            Value::Time(7),
            Value::Text("".into()),
            Value::Text("pricing".into()),
            Value::Text("pricinG".into()),
            Value::Text("pricing ".into()),
            Value::Text("é".into()),
            Value::List(vec![]),
            Value::List(vec![Value::Text("pricing".into())]),
        ];
        let ops = [
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::Add,
        ];
        for a in &values {
            for b in &values {
                for op in ops {
                    let (x, y) = (Val::Ref(a), Val::Ref(b));
                    assert_eq!(
                        compare(op, x, y),
                        compare_by_order(op, x, y),
                        "{a:?} {op:?} {b:?}"
                    );
                    let (x, y) = (x.norm(), y.norm());
                    assert_eq!(
                        compare(op, x, y),
                        compare_by_order(op, x, y),
                        "{a:?} {op:?} {b:?}"
                    );
                }
            }
        }
        assert!(!compare(BinOp::Eq, Val::Missing, Val::Missing));
    }

    #[test]
    fn watch_lists_follow_what_conditions_read() {
        let plan = compile_src(TIMED);
        // Decaying `when` rules read time here (`within 2d`): no position can pass over looks.
        assert!(plan.watch.iter().all(Option::is_none));
        let plan = compile_src(MIXED);
        let some: Vec<bool> = plan.watch.iter().map(Option::is_some).collect();
        // outside, A (waiting for B), B (C has a window), C (D reads a decaying score), D (E
        // reads an expiring one),
        // E (F reads how long since entering E), F, exited
        assert_eq!(some, [true, true, false, false, false, false, true, true]);
        let b2b = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/b2b.funnel"))
            .unwrap();
        let plan = compile_src(&b2b);
        let ev = |n: &str| plan.event_id(n).unwrap() as usize;
        let outside = plan.watch[plan.position(None, false)].as_ref().unwrap();
        let read: Vec<usize> = (0..outside.len()).filter(|i| outside[*i]).collect();
        assert_eq!(read, vec![ev("form.submitted")]);
        // In MCL: the exit (`sales.rejected`) and MEL's condition.
        let mcl = plan.watch[plan.position(Some(0), false)].as_ref().unwrap();
        let mut want = vec![ev("sales.rejected"), ev("email.opened"), ev("page.viewed")];
        want.sort_unstable();
        let read: Vec<usize> = (0..mcl.len()).filter(|i| mcl[*i]).collect();
        assert_eq!(read, want);
        // In SAL, SQL's condition reads the scores, which read their rules' events.
        let sal = plan.watch[plan.position(Some(3), false)].as_ref().unwrap();
        assert!(sal[ev("demo.requested")] && sal[ev("email.opened")] && !sal[ev("form.submitted")]);
        // Exited: nothing (no decaying score).
        let gone = plan.watch[plan.position(None, true)].as_ref().unwrap();
        assert!(gone.iter().all(|r| !r));
        // The production funnel's engagement decays: SQL's condition reads the moment.
        let saas = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/rules/b2b-saas.funnel"
        ))
        .unwrap();
        let plan = compile_src(&saas);
        assert!(plan.watch[plan.position(Some(3), false)].is_none());
        let gone = plan.watch[plan.position(None, true)].as_ref().unwrap();
        assert!(gone[plan.event_id("demo.requested").unwrap() as usize]);
    }
}
