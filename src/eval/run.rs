//! The interpreter: replays one lead through the plan. See `docs/semantics.md`.

use super::lead::{Event, Lead, Value};
use super::plan::*;
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
    /// For each score, for each `when` rule: since when its condition has held.
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
            rule_since: plan
                .scores
                .iter()
                .map(|s| vec![None; s.rules.len()])
                .collect(),
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
        let end = idx.partition_point(|&i| {
            (i as usize) < self.n && events.get(i as usize).is_some_and(|e| e.at <= self.t)
        });
        let idx = idx.get(..end)?;
        let start = idx.partition_point(|&i| events.get(i as usize).is_some_and(|e| e.at < lo));
        idx.get(start..)
    }

    /// Event list `k`: by type, then by prefilter (worked out on first use).
    fn list(&self, k: usize) -> Option<&'a [u32]> {
        let index: &'a Index = self.by_type;
        if let Some(l) = index.lists.get(k) {
            return Some(l);
        }
        let f = k - index.lists.len();
        let (ev, filter) = self.plan.prefilters.get(f)?;
        let cell = index.filtered.get(f)?;
        let list = cell.get_or_init(|| {
            // The filter reads only the event and traits: this moment is as good as any.
            let all = index.lists.get(*ev as usize).map_or(&[][..], |l| &l[..]);
            all.iter()
                .copied()
                .filter(|&i| {
                    let e = self.lead.events.get(i as usize);
                    e.is_some() && self.eval(filter, e).truthy()
                })
                .collect()
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

    pub fn eval<'c>(&'c self, c: &'c C, cur: Option<&'c Event>) -> Val<'c> {
        match c {
            C::Const(v) => Val::Ref(v),
            C::Trait(i) => self
                .lead
                .traits
                .get(*i as usize)
                .map_or(Val::Missing, Val::Ref),
            C::Prop(i) => cur.map_or(Val::Missing, |e| Val::Ref(self.lead.prop(e, *i as usize))),
            C::Segment(i) => {
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
            C::Score(i) => Val::Num(self.score(*i as usize).total),
            C::Grade(i) => match self.score(*i as usize).grade {
                Some(g) => Val::Num(g as f64),
                None => Val::Missing,
            },
            C::GradeLabel(i) => Val::Num(f64::from(*i)),
            C::Present(q) => Val::Bool(self.pick(q, Which::First).is_some()),
            C::Count(q) => Val::Num(self.count(q) as f64),
            C::Rate(a, b) => {
                let d = self.count(b);
                if d == 0 {
                    Val::Missing
                } else {
                    Val::Num(100.0 * self.count(a) as f64 / d as f64)
                }
            }
            C::No(q) => {
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
            C::DaysSince(which, q) => {
                let from = self
                    .pick(q, *which)
                    .map(|(_, e)| e.at)
                    .or_else(|| self.history_start());
                match from {
                    Some(at) => Val::Num((self.t - at) as f64 / DAY_MS),
                    None => Val::Missing,
                }
            }
            C::DaysSinceEntering(s) => {
                match self.state.latest.get(*s as usize).copied().flatten() {
                    Some(at) => Val::Num((self.t - at) as f64 / DAY_MS),
                    None => Val::Missing,
                }
            }
            C::Has {
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
            C::PropOf { prop, which, query } => match self.pick(query, *which) {
                Some((_, e)) => Val::Ref(self.lead.prop(e, *prop as usize)),
                None => Val::Missing,
            },
            C::Then(steps) => Val::Bool(self.then(steps)),
            C::AtLeast(k, items) => {
                let yes = items.iter().filter(|i| self.eval(i, cur).truthy()).count();
                Val::Bool(yes as u32 >= *k)
            }
            C::Not(x) => Val::Bool(!self.eval(x, cur).truthy()),
            C::Neg(x) => match self.eval(x, cur).norm() {
                Val::Num(n) => Val::Num(-n),
                _ => Val::Missing,
            },
            C::All(v) => Val::Bool(v.iter().all(|x| self.eval(x, cur).truthy())),
            C::Any(v) => Val::Bool(v.iter().any(|x| self.eval(x, cur).truthy())),
            C::Arith(op, a, b) => match (self.eval(a, cur).norm(), self.eval(b, cur).norm()) {
                (Val::Num(x), Val::Num(y)) => match op {
                    BinOp::Add => Val::Num(x + y),
                    BinOp::Sub => Val::Num(x - y),
                    BinOp::Mul => Val::Num(x * y),
                    _ if y == 0.0 => Val::Missing,
                    _ => Val::Num(x / y),
                },
                _ => Val::Missing,
            },
            C::Cmp(op, a, b) => Val::Bool(compare(*op, self.eval(a, cur), self.eval(b, cur))),
            C::In(v, list, negated) => {
                let v = self.eval(v, cur);
                if matches!(v.norm(), Val::Missing) {
                    return Val::Bool(false);
                }
                let found = match self.eval(list, cur).norm() {
                    Val::Ref(Value::List(items)) => {
                        items.iter().any(|i| compare(BinOp::Eq, v, Val::Ref(i)))
                    }
                    _ => return Val::Bool(false),
                };
                Val::Bool(found != *negated)
            }
            C::Between(v, lo, hi) => {
                let v = self.eval(v, cur);
                Val::Bool(
                    compare(BinOp::Ge, v, self.eval(lo, cur))
                        && compare(BinOp::Le, v, self.eval(hi, cur)),
                )
            }
            C::Test(op, v, arg, re) => Val::Bool(test(
                *op,
                self.eval(v, cur),
                self.eval(arg, cur),
                re.as_ref(),
            )),
            C::Exists(v) => Val::Bool(!matches!(self.eval(v, cur).norm(), Val::Missing)),
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

    /// A score at this moment.
    pub fn score(&self, i: usize) -> ScoreValue {
        let Some(model) = self.plan.scores.get(i) else {
            return ScoreValue {
                total: 0.0,
                parts: Vec::new(),
                raw: 0.0,
                grade: None,
            };
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
        let mut parts = Vec::new();
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
                        parts.push((ri, round2(rule.points * decay(since)), 1));
                    }
                }
                RulePoints::Per { query, cap } => {
                    let mut sum = 0.0;
                    let mut n = 0;
                    full.select(query, &mut |_, e| {
                        sum += rule.points * decay(e.at);
                        n += 1;
                        true
                    });
                    if n > 0 {
                        if let Some(c) = cap {
                            sum = sum.clamp(-c, *c);
                        }
                        parts.push((ri, round2(sum), n));
                    }
                }
            }
        }
        let raw = round2(parts.iter().map(|p| p.1).sum());
        let mut total = raw;
        if let Some(max) = model.max {
            total = total.min(max);
        }
        if let Some(min) = model.min {
            total = total.max(min);
        }
        let grade = model.grades.iter().position(|(_, from)| total >= *from);
        ScoreValue {
            total,
            parts,
            raw,
            grade,
        }
    }
}

pub fn compare(op: BinOp, a: Val<'_>, b: Val<'_>) -> bool {
    use std::cmp::Ordering;
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
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// Event indices by event type; only events at or before `as_of`.
    pub lists: Vec<Vec<u32>>,
    /// For each prefilter of the plan: the events of its type that pass it.
    pub filtered: Vec<std::cell::OnceCell<Vec<u32>>>,
    /// For each segment that reads only traits: its value.
    pub segments: Vec<std::cell::OnceCell<bool>>,
}

/// A lead's [`Index`], and how many of its events are at or before `as_of`.
pub fn index_by_type(plan: &Plan, lead: &Lead, as_of: i64) -> (Index, usize) {
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); plan.events.len()];
    let seen = lead.events.partition_point(|e| e.at <= as_of);
    for (i, e) in lead.events[..seen].iter().enumerate() {
        if let Some(v) = lists.get_mut(e.ty as usize) {
            v.push(i as u32);
        }
    }
    let index = Index {
        lists,
        filtered: vec![std::cell::OnceCell::new(); plan.prefilters.len()],
        segments: vec![std::cell::OnceCell::new(); plan.segments.len()],
    };
    (index, seen)
}

fn replay_inner(
    plan: &Plan,
    lead: &Lead,
    as_of: i64,
    trace: Option<&mut Vec<Snapshot>>,
) -> Outcome {
    let (by_type, seen) = index_by_type(plan, lead, as_of);
    let mut m = Machine {
        trace,
        plan,
        lead,
        by_type: &by_type,
        state: State::new(plan),
        t: i64::MIN,
        n: 0,
    };
    let mut i = 0;
    while i < seen {
        let at = lead.events[i].at;
        m.timers_until(at, false);
        // All events at this instant join the history one by one, in input order.
        m.n = i + 1;
        m.t = at;
        m.settle(Trigger::Event(i));
        i += 1;
    }
    m.timers_until(as_of, true);
    if seen == 0 {
        // A lead with no events is looked at once, at `as_of`: traits alone may place it.
        m.t = as_of;
        m.settle(Trigger::Timer);
    }
    m.t = as_of;
    let cx = m.cx(None);
    let scores = (0..plan.scores.len()).map(|s| cx.score(s)).collect();
    Outcome {
        state: m.state,
        as_of,
        seen,
        scores,
    }
}

struct Machine<'a> {
    trace: Option<&'a mut Vec<Snapshot>>,
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
        for e in &self.lead.events[..self.n] {
            consider(e.at);
        }
        for at in self.state.latest.iter().flatten() {
            consider(*at);
        }
        best
    }

    /// Looks at every timer instant before `limit` (or up to it, when `inclusive`).
    fn timers_until(&mut self, limit: i64, inclusive: bool) {
        if self.n == 0 {
            return; // no history yet: nothing can change by time alone
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
                    self.settle(Trigger::Timer);
                }
                _ => return,
            }
        }
    }

    /// Finds, by bisection, the first instant in `(self.t, until]` at which the machine would
    /// move because a decaying score crossed a threshold, and moves it there.
    fn decay_crossing(&mut self, until: i64) -> bool {
        let changes_at = |m: &Self, at: i64| -> bool {
            let mut probe = Machine {
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

    fn settle(&mut self, trigger: Trigger) {
        let t = self.t;
        // A lead passes through every stage at most once per instant, which also bounds
        // this loop.
        for _ in 0..=self.plan.stages.len() + 1 {
            if self.state.exit.is_some() {
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
                break;
            };
            if self.cx(None).eval(&stage.enter, None).truthy() {
                self.enter(next as u16, By::Enter, trigger);
            } else {
                break;
            }
        }
        self.track_rules();
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
        let mut updates = Vec::new();
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
        for (si, ri, holds) in updates {
            let slot = &mut self.state.rule_since[si][ri];
            match (holds, *slot) {
                (true, None) => *slot = Some(self.t),
                (false, _) => *slot = None,
                _ => {}
            }
        }
    }
}
