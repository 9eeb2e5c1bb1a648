//! The stage machine: replays a lead's events in order, with the timer instants between them,
//! and takes the steps the rules allow. See `docs/semantics.md`.

use std::cell::Cell;

use super::condition::Moment;
use super::index::Index;
use super::outcome::{EnteredBy, Entry, ExitRecord, Outcome, Snapshot, State, Trigger};
use super::vary::{as_bool, Stretch};
use crate::lead::{Event, Lead};
use crate::plan::{Cond, LeaveTo, Plan, RulePoints};

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
    replay_with(plan, lead, as_of, trace, true, false)
}

/// `skip`: pass over looks that cannot change anything (see [`Machine::unmoved_by`]); off
/// only in tests, which hold the two to the same outcome. `dense`: timers as first
/// scheduled (see `Machine::next_timer_dense`), only in tests.
fn replay_with(
    plan: &Plan,
    lead: &Lead,
    as_of: i64,
    trace: Option<&mut Vec<Snapshot>>,
    skip: bool,
    dense: bool,
) -> Outcome {
    let mut by_type = INDEX.with(Cell::take);
    let seen = by_type.fill(plan, lead, as_of);
    let mut m = Machine {
        skip,
        dense,
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
        m.look_snapshot(i);
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
    let cx = m.moment();
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
    /// Timers at every offset after every event and entry (see `next_timer_dense`), whatever
    /// the plan: for tests, which hold the two schedules to the same outcomes.
    dense: bool,
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
    fn moment(&self) -> Moment<'_> {
        Moment {
            plan: self.plan,
            lead: self.lead,
            by_type: self.by_type,
            state: &self.state,
            t: self.t,
            n: self.n,
            // Nothing a moment reads can change while it lives (it borrows the machine).
            memo: self.by_type.moment_id(),
        }
    }

    /// The next instant after `self.t` at which a condition may change by time alone: each
    /// timer measured from what it depends on (`Plan::timers`), so that a look happens only
    /// where some condition can change, not at every offset after every event.
    fn next_timer(&self) -> Option<i64> {
        if self.dense {
            return self.next_timer_dense();
        }
        if self.plan.timer_offsets.is_empty() {
            return None;
        }
        let t = self.t;
        let timers = &self.plan.timers;
        let mut best: Option<i64> = None;
        let mut consider = |at: Option<i64>| {
            if let Some(at) = at.filter(|at| *at > t) {
                if best.is_none_or(|b| at < b) {
                    best = Some(at);
                }
            }
        };
        // The first offset past `t` from `base` (offsets are sorted).
        let after = |base: i64, offs: &[i64]| {
            let k = offs.partition_point(|o| base.saturating_add(*o) <= t);
            offs.get(k).map(|o| base.saturating_add(*o))
        };
        let history = self.lead.events.get(..self.n).unwrap_or(&[]);
        if let Some(first) = history.first() {
            consider(after(first.at, &timers.after_start));
        }
        for (s, at) in self.state.latest.iter().enumerate() {
            if let (Some(at), Some(offs)) = (at, timers.after_entry.get(s)) {
                consider(after(*at, offs));
            }
        }
        let cx = self.moment();
        // Per offset rather than per event: events are in time order, so the earliest
        // `at + off` after `t` is the first event past `t - off`, found by binary search.
        for (list, offs) in &timers.after_events {
            let Some(list) = cx.list(*list as usize) else {
                continue;
            };
            let events = &self.lead.events;
            let at = |i: u32| events.get(i as usize).map_or(i64::MAX, |e| e.at);
            let list = list
                .get(..list.partition_point(|&i| (i as usize) < self.n))
                .unwrap_or(&[]);
            for off in offs {
                let first = list.partition_point(|&i| at(i).saturating_add(*off) <= t);
                consider(list.get(first).map(|&i| at(i).saturating_add(*off)));
            }
        }
        for (q, which, offs) in &timers.after_pick {
            consider(cx.pick(q, *which).and_then(|(_, e)| after(e.at, offs)));
        }
        best
    }

    /// The next timer as the interpreter first scheduled them: every offset after every
    /// event and entry. Kept where a decaying score is read by a transition: a crossing is
    /// found by bisection between two instants looked at, so the instants looked at decide
    /// which crossing is found when a score goes up and down between them.
    fn next_timer_dense(&self) -> Option<i64> {
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
            // Every change by time alone before the probe (or at it, when no timer look
            // follows there), not just the first: each one is a look, which moves `t` on, so
            // a small bound is never reached by a real lead.
            let timer_at_probe = next.is_some_and(|nt| nt == probe_at);
            let end = if timer_at_probe {
                probe_at - 1
            } else {
                probe_at
            };
            let mut changes = 0;
            while self.plan.decay_matters && changes < 1_000 {
                let Some(at) = self.next_change(end) else {
                    break;
                };
                self.t = at;
                self.settle(Trigger::Timer);
                changes += 1;
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

    /// The first instant in `(self.t, end]` at which a condition a look evaluates in the
    /// lead's position changes by time alone (a decaying score or a `days since` moving), if
    /// any. Sums of decaying scores rise and fall, so a change between two instants that
    /// agree is possible: the stretch is split until each part provably keeps every value
    /// (see `vary`), down to the millisecond.
    fn next_change(&self, end: i64) -> Option<i64> {
        if self.t == i64::MIN || end <= self.t || self.unmoved_by(None) {
            return None;
        }
        let conds = self.watched();
        let now = self.moment();
        let at_start: Vec<bool> = conds.iter().map(|c| now.eval(c, None).truthy()).collect();
        self.first_change(&conds, &at_start, self.t, end)
    }

    fn first_change(&self, conds: &[&Cond], at_start: &[bool], lo: i64, hi: i64) -> Option<i64> {
        let at = |t: i64| Moment { t, ..self.moment() };
        let (m_lo, m_hi) = (at(lo), at(hi));
        let stretch = Stretch {
            lo: &m_lo,
            hi: &m_hi,
        };
        let steady = conds
            .iter()
            .zip(at_start)
            .all(|(c, v)| stretch.range(c).is_none_or(|r| as_bool(r) == Some(*v)));
        if steady {
            return None;
        }
        if hi - lo <= 1 {
            // Only `hi` is left in `(lo, hi]`.
            let changed = conds
                .iter()
                .zip(at_start)
                .any(|(c, v)| m_hi.eval(c, None).truthy() != *v);
            return changed.then_some(hi);
        }
        // The first half first: the second starts where the first ended unchanged.
        let mid = lo + (hi - lo) / 2;
        self.first_change(conds, at_start, lo, mid)
            .or_else(|| self.first_change(conds, at_start, mid, hi))
    }

    /// The conditions a look evaluates in the lead's position at a timer instant: the `when`
    /// moves and exits from its stage, the next stage's condition, and the `when` rules of
    /// decaying scores (whose stretches a look notes).
    fn watched(&self) -> Vec<&'a Cond> {
        let plan = self.plan;
        let mut conds = Vec::new();
        if self.state.exit.is_none() {
            if let Some(s) = self.state.stage {
                for l in &plan.leaves {
                    if l.on.is_none() && l.from.as_ref().is_none_or(|f| f.contains(&s)) {
                        conds.extend(l.when.as_ref());
                    }
                }
            }
            let next = self.state.stage.map_or(0, |s| s as usize + 1);
            if let Some(st) = plan.stages.get(next) {
                conds.push(&st.enter);
            }
        }
        for model in plan.scores.iter().filter(|m| m.decay.is_some()) {
            for rule in &model.rules {
                if let RulePoints::When(c) = &rule.kind {
                    conds.push(c);
                }
            }
        }
        conds
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
        if !(self.skip && self.quiet) {
            return None;
        }
        let pos = self
            .plan
            .position(self.state.stage, self.state.exit.is_some());
        self.plan.watch.get(pos).and_then(Option::as_deref)
    }

    fn settle(&mut self, trigger: Trigger) {
        // Set where the look ends with nothing left to do (see `unmoved_by`).
        let mut quiet = false;
        // The event this look replays, while no `on` rule has consumed it.
        let mut event = match trigger {
            Trigger::Event(i) => self.lead.events.get(i),
            Trigger::Timer => None,
        };
        // The moves and exits taken at this look: each at most once, which bounds the loop
        // together with the forward steps between them.
        let mut taken: Vec<usize> = Vec::new();
        let bound = (self.plan.stages.len() + 1) * (self.plan.leaves.len() + 1);
        for _ in 0..=bound {
            if self.state.exit.is_some() {
                quiet = true;
                break;
            }
            if let Some(s) = self.state.stage {
                if let Some(li) = self.leave_now(s, event, &taken) {
                    let leave = &self.plan.leaves[li];
                    self.snapshot();
                    taken.push(li);
                    if leave.on.is_some() {
                        event = None; // consumed: it fires no other rule
                    } else if let Some(spent) = self.state.spent.get_mut(li) {
                        *spent = true;
                    }
                    match &leave.to {
                        LeaveTo::Exit(_) => {
                            self.state.exit = Some(ExitRecord {
                                leave: li,
                                from: s,
                                at: self.t,
                                trigger,
                            });
                        }
                        LeaveTo::Stage(to) => self.enter(*to, EnteredBy::Leave(li), trigger),
                    }
                    continue;
                }
            }
            let next = self.state.stage.map_or(0, |s| s as usize + 1);
            let Some(stage) = self.plan.stages.get(next) else {
                quiet = true;
                break;
            };
            if self.moment().eval(&stage.enter, None).truthy() {
                self.enter(next as u16, EnteredBy::Enter, trigger);
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

    /// The first move or exit from stage `s` that fires now, in priority order: an `on` rule
    /// whose event is `event` (not yet consumed at this look) and whose guard holds, or a
    /// `when` rule whose condition holds and is not spent. A `when` rule found false is
    /// re-armed; one found true but spent stays spent, and the search goes on.
    fn leave_now(&mut self, s: u16, event: Option<&Event>, taken: &[usize]) -> Option<usize> {
        let plan = self.plan;
        // One moment for every rule tried, so that segments are worked out once; the rules
        // found false while spent are re-armed after it.
        let mut rearm = Vec::new();
        let fired = {
            let cx = self.moment();
            plan.leaves.iter().enumerate().find(|&(li, l)| {
                if !l.from.as_ref().is_none_or(|f| f.contains(&s)) || taken.contains(&li) {
                    return false;
                }
                match &l.on {
                    Some(q) => event.filter(|e| e.ty == q.ev).is_some_and(|ev| {
                        q.filter
                            .as_ref()
                            .is_none_or(|f| cx.eval(f, Some(ev)).truthy())
                            && l.when.as_ref().is_none_or(|c| cx.eval(c, None).truthy())
                    }),
                    None => {
                        let holds = l.when.as_ref().is_some_and(|c| cx.eval(c, None).truthy());
                        let spent = self.state.spent.get(li).copied().unwrap_or(false);
                        if !holds && spent {
                            rearm.push(li);
                        }
                        holds && !spent
                    }
                }
            })
        };
        for li in rearm {
            self.state.spent[li] = false;
        }
        fired.map(|(li, _)| li)
    }

    fn snapshot(&mut self) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(Snapshot {
                at: self.t,
                n: self.n,
                before: self.state.clone(),
                look: None,
            });
        }
    }

    /// For explanations: the state the look after event `i` starts from, whether or not the
    /// look is passed over (then nothing would change it).
    fn look_snapshot(&mut self, i: usize) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(Snapshot {
                at: self.t,
                n: self.n,
                before: self.state.clone(),
                look: Some(i),
            });
        }
    }

    fn enter(&mut self, stage: u16, by: EnteredBy, trigger: Trigger) {
        if !matches!(by, EnteredBy::Leave(_)) {
            self.snapshot();
        }
        self.state.stage = Some(stage);
        self.state.latest[stage as usize] = Some(self.t);
        // Entering by its own condition, the stay starts at the entry's instant: events that
        // share it are simultaneous evidence, whatever their order in the data. A move's stay
        // starts after the look that made it: what came before, at the same instant too,
        // belonged to the stay the move ended.
        self.state.since_event[stage as usize] = match by {
            EnteredBy::Enter => {
                let history = self.lead.events.get(..self.n).unwrap_or(&[]);
                history.partition_point(|e| e.at < self.t) as u32
            }
            EnteredBy::Leave(_) => self.n as u32,
        };
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
            let cx = self.moment();
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
    use crate::eval::testgen::Gen;
    use crate::plan::samples::{compile_src, MIXED, TIMED};

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
                let a = replay_with(&plan, &lead, as_of, Some(&mut ta), true, false);
                let b = replay_with(&plan, &lead, as_of, Some(&mut tb), false, false);
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

    /// Rules with many timers of each kind: windows, absences, `days since` first and last
    /// (with `since` and `within`), `days since entering`, and holds after moves; a score that
    /// expires, read by no transition.
    const TIMERS: &str = r#"
funnel "timers"
schema {
  trait seats: int
  event a { k: text }
  event b { k: text }
  event c
}
score gone decay expire after 2d {
  +10 per a
  grade top from 20
}
stage S1 { enter when a or b }
stage S2 { enter when days since last a >= 2 and days since first b < 3.5 or no c within 1d }
stage S3 { enter when days since last b where k == "x" > 1 or days since entering S2 >= 1 }
stage S4 { enter when days since last a since entering S2 within 3d <= 1 or b then c within 1h }
stage S5 { enter when count b within 12h >= 2 and days since first c within 2d > 0.5 }
move S4 -> S2 when days since last c > 2
move S5 -> S3 when no b within 2d
exit out from [S3] when days since entering S3 > 4 and days since last b == 4
"#;

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
    fn dense_next_timer_is_the_earliest_instant_after_now() {
        let root = env!("CARGO_MANIFEST_DIR");
        let aida = std::fs::read_to_string(format!("{root}/rules/aida.funnel")).unwrap();
        for src in [MIXED, TIMED, &aida] {
            let plan = compile_src(src);
            assert!(!plan.timer_offsets.is_empty());
            let mut g = Gen::new(&plan, 5);
            for _ in 0..300 {
                let lead = g.lead(&plan);
                let (index, _) = crate::eval::index::index_by_type(&plan, &lead, i64::MAX);
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
                            dense: true,
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
                        assert_eq!(m.next_timer_dense(), next_timer_by_scan(&m));
                    }
                }
            }
        }
    }

    /// Timers measured from what each depends on take the lead through the same steps as
    /// timers at every offset after every event and entry.
    #[test]
    fn timers_per_query_change_nothing() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut sources = vec![TIMERS.to_string(), TIMED.to_string(), MIXED.to_string()];
        for f in [
            "rules/b2b-saas.funnel",
            "rules/lifecycle.funnel",
            "rules/aida.funnel",
            "bench/b2b.funnel",
        ] {
            sources.push(std::fs::read_to_string(format!("{root}/{f}")).unwrap());
        }
        let mut decay_moved = 0;
        for (k, src) in sources.iter().enumerate() {
            let plan = compile_src(src);
            let mut moved = 0;
            let mut g = Gen::new(&plan, k as u64 + 40);
            for i in 0..1500 {
                let lead = g.lead(&plan);
                let as_of = lead.events.last().map_or(1_735_689_600_000, |e| e.at)
                    + (i % 3) as i64 * 4 * 86_400_000;
                let mut ta = Vec::new();
                let mut tb = Vec::new();
                let a = replay_with(&plan, &lead, as_of, Some(&mut ta), true, false);
                let b = replay_with(&plan, &lead, as_of, Some(&mut tb), true, true);
                assert!(same(&a, &b), "rules #{k}, lead {i}: {lead:?}\n{a:?}\n{b:?}");
                assert_eq!(ta.len(), tb.len());
                for (x, y) in ta.iter().zip(&tb) {
                    assert!(x.at == y.at && x.n == y.n && x.before == y.before);
                }
                moved += a
                    .state
                    .entries
                    .iter()
                    .filter(|e| e.trigger == Trigger::Timer)
                    .count();
            }
            // The first rules' schedules differ (no transition reads a decaying score), and
            // timers move their leads often.
            assert!(k > 0 || (!plan.decay_matters && moved > 300), "{moved}");
            if plan.decay_matters {
                decay_moved += moved;
            }
        }
        // Funnels whose transitions read a decaying score are held too, with leads that time
        // moved.
        assert!(decay_moved > 0);
    }
}
