//! What conditions read: whether one reads only what a replay never changes (for prefilters
//! and trait-only segments), and, for each position of a lead, which event types the
//! conditions a look evaluates there can read ([`Plan::watch`](super::Plan::watch)).

use super::{Cond, Leave, Query, RulePoints, ScoreModel, StagePlan};
use crate::syntax::ast;

/// Whether `c` reads nothing that changes during a replay: constants, traits, segments marked
/// in `segments`, and, when `event` is true, the properties of the event under a filter.
/// Never time, history, stage or score.
pub(super) fn reads_only(c: &Cond, event: bool, segments: &[bool]) -> bool {
    let only = |x: &Cond| reads_only(x, event, segments);
    match c {
        Cond::Const(_) | Cond::Trait(_) | Cond::GradeLabel(_) => true,
        Cond::Prop(_) => event,
        Cond::Segment(i) => segments.get(*i as usize).copied().unwrap_or(false),
        Cond::Not(x) | Cond::Neg(x) | Cond::Exists(x) => only(x),
        Cond::All(v) | Cond::Any(v) | Cond::AtLeast(_, v) => v.iter().all(only),
        Cond::Arith(_, a, b) | Cond::Cmp(_, a, b) | Cond::In(a, b, _) | Cond::Test(_, a, b, _) => {
            only(a) && only(b)
        }
        Cond::Between(a, b, c) => only(a) && only(b) && only(c),
        Cond::Score(_)
        | Cond::Grade(_)
        | Cond::Present(_)
        | Cond::Count(_)
        | Cond::Rate(..)
        | Cond::No(_)
        | Cond::DaysSince(..)
        | Cond::DaysSinceEntering(_)
        | Cond::Has { .. }
        | Cond::PropOf { .. }
        | Cond::Then { .. } => false,
    }
}

/// What a condition can read that changes during a replay, besides the machine's state:
/// the event types of its queries (through segments and scores too), and whether it reads
/// the moment of evaluation (a window, `days since`, a decaying score).
struct Reads<'p> {
    events: Vec<bool>,
    time: bool,
    segments: &'p [(String, Cond, ast::Expr)],
    scores: &'p [ScoreModel],
    /// Segments and scores already walked (they may name each other).
    seg_seen: Vec<bool>,
    score_seen: Vec<bool>,
}

impl<'p> Reads<'p> {
    /// Nothing read yet, over `events` event types.
    fn new(
        events: usize,
        segments: &'p [(String, Cond, ast::Expr)],
        scores: &'p [ScoreModel],
    ) -> Self {
        Reads {
            events: vec![false; events],
            time: false,
            segments,
            scores,
            seg_seen: vec![false; segments.len()],
            score_seen: vec![false; scores.len()],
        }
    }

    fn query(&mut self, q: &Query) {
        self.time |= q.within.is_some();
        self.query_events(q);
    }

    /// A query without its window: a `then` step after the first measures `within` from
    /// the step before it, not from the moment.
    fn query_events(&mut self, q: &Query) {
        if let Some(e) = self.events.get_mut(q.ev as usize) {
            *e = true;
        }
        if let Some(f) = &q.filter {
            self.expr(f);
        }
    }

    fn score(&mut self, i: u16) {
        let Some(seen) = self.score_seen.get_mut(i as usize) else {
            self.time = true; // unknown: assume the worst
            return;
        };
        if std::mem::replace(seen, true) {
            return;
        }
        let scores = self.scores;
        let Some(m) = scores.get(i as usize) else {
            return;
        };
        // A decaying score changes with time; without decay it reads only its rules.
        self.time |= m.decay.is_some();
        for r in &m.rules {
            match &r.kind {
                RulePoints::When(c) => self.expr(c),
                RulePoints::Per { query, .. } => self.query(query),
            }
        }
    }

    fn expr(&mut self, c: &Cond) {
        match c {
            Cond::Const(_) | Cond::Trait(_) | Cond::Prop(_) | Cond::GradeLabel(_) => {}
            Cond::Segment(i) => {
                let Some(seen) = self.seg_seen.get_mut(*i as usize) else {
                    self.time = true;
                    return;
                };
                if !std::mem::replace(seen, true) {
                    let segments = self.segments;
                    if let Some((_, c, _)) = segments.get(*i as usize) {
                        self.expr(c);
                    }
                }
            }
            Cond::Score(i) | Cond::Grade(i) => self.score(*i),
            Cond::Present(q) | Cond::Count(q) | Cond::No(q) => self.query(q),
            Cond::Has { query, .. } | Cond::PropOf { query, .. } => self.query(query),
            Cond::Rate(a, b) => {
                self.query(a);
                self.query(b);
            }
            Cond::Then { steps, .. } => {
                if let Some((first, rest)) = steps.split_first() {
                    self.query(first);
                    rest.iter().for_each(|q| self.query_events(q));
                }
            }
            Cond::DaysSince(_, q) => {
                self.time = true;
                self.query(q);
            }
            Cond::DaysSinceEntering(_) => self.time = true,
            Cond::Not(x) | Cond::Neg(x) | Cond::Exists(x) => self.expr(x),
            Cond::All(v) | Cond::Any(v) | Cond::AtLeast(_, v) => {
                v.iter().for_each(|x| self.expr(x))
            }
            Cond::Arith(_, a, b)
            | Cond::Cmp(_, a, b)
            | Cond::In(a, b, _)
            | Cond::Test(_, a, b, _) => {
                self.expr(a);
                self.expr(b);
            }
            Cond::Between(a, b, c) => {
                self.expr(a);
                self.expr(b);
                self.expr(c);
            }
        }
    }
}

/// [`Plan::watch`](super::Plan::watch): for each position, what the conditions a look
/// evaluates there can read. A look evaluates the exits and moves from the current stage, the
/// next stage's entry condition, and, wherever the lead is, the `when` rules of decaying
/// scores (to note since when each has held).
pub(super) fn watch_lists(
    events: usize,
    segments: &[(String, Cond, ast::Expr)],
    scores: &[ScoreModel],
    stages: &[StagePlan],
    leaves: &[Leave],
) -> Vec<Option<Vec<bool>>> {
    let position = |stage: Option<usize>, exited: bool| {
        let mut r = Reads::new(events, segments, scores);
        for m in scores.iter().filter(|m| m.decay.is_some()) {
            for rule in &m.rules {
                if let RulePoints::When(c) = &rule.kind {
                    r.expr(c);
                }
            }
        }
        if !exited {
            if let Some(s) = stage {
                for l in leaves {
                    if l.from.as_ref().is_none_or(|f| f.contains(&(s as u16))) {
                        // A trigger reads the events of its type: one of them is a change.
                        if let Some(q) = &l.on {
                            r.query(q);
                        }
                        if let Some(c) = &l.when {
                            r.expr(c);
                        }
                    }
                }
            }
            let next = stage.map_or(0, |s| s + 1);
            if let Some(st) = stages.get(next) {
                r.expr(&st.enter);
            }
        }
        (!r.time).then_some(r.events)
    };
    let mut watch = vec![position(None, false)];
    watch.extend((0..stages.len()).map(|s| position(Some(s), false)));
    watch.push(position(None, true));
    watch
}

/// The event types `c` can read, through segments and scores (for explanations: which rules
/// an event of a type could have mattered to).
pub(super) fn events_read(
    events: usize,
    segments: &[(String, Cond, ast::Expr)],
    scores: &[ScoreModel],
    c: &Cond,
) -> Vec<bool> {
    let mut r = Reads::new(events, segments, scores);
    r.expr(c);
    r.events
}

/// Which segments read only traits and constants (possibly through other such segments).
pub(super) fn trait_only_segments(segments: &[(String, Cond, ast::Expr)]) -> Vec<bool> {
    // Until nothing changes: a segment may name one declared after it.
    let mut known = vec![false; segments.len()];
    loop {
        let next: Vec<bool> = segments
            .iter()
            .map(|(_, c, _)| reads_only(c, false, &known))
            .collect();
        if next == known {
            return known;
        }
        known = next;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use crate::plan::samples::{compile_src, MIXED, TIMED};

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
