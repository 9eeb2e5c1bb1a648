//! What a replay produces: the machine's state (entries, exit, spent rules), the scores, and, for
//! explanations, snapshots of the state before each step.

use crate::plan::{LeaveTo, Plan};
use crate::time::format_timestamp;
use crate::time::Timestamp;

/// What caused a stage entry or an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The event at this index of the lead's sorted events.
    Event(usize),
    /// The passage of time.
    Timer,
}

/// How a lead got into a stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnteredBy {
    /// The stage's own `enter when`.
    Enter,
    /// A move or exit: index into `plan.leaves`.
    Leave(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub stage: u16,
    pub at: i64,
    pub by: EnteredBy,
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
    /// For each stage, the first event (index into the lead's sorted events) that counts as
    /// `since entering` it: the first at the instant of the latest entry, or, for an entry by
    /// a move, the first after the look that made it (see `Machine::enter`).
    pub since_event: Vec<u32>,
    /// Every entry, in order.
    pub entries: Vec<Entry>,
    /// For each score, for each `when` rule: since when its condition has held. Kept only
    /// for decaying scores (the points of others do not depend on it): empty for the others,
    /// and empty altogether when no score decays.
    pub rule_since: Vec<Vec<Option<i64>>>,
    /// For each move or exit (empty when none fires `when` a condition holds): a `when` rule
    /// that fired and whose condition has not been false since, at a look that tried it. It
    /// does not fire again until then.
    pub spent: Vec<bool>,
}

impl State {
    /// Before the first event: in no stage.
    pub fn new(plan: &Plan) -> Self {
        State {
            stage: None,
            exit: None,
            latest: vec![None; plan.stages.len()],
            since_event: vec![0; plan.stages.len()],
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
            spent: if plan.leaves.iter().any(|l| l.on.is_none()) {
                vec![false; plan.leaves.len()]
            } else {
                Vec::new()
            },
        }
    }
}

impl State {
    /// The first entry into each of `n` stages (the latest is [`State::latest`]).
    pub fn first_entries(&self, n: usize) -> Vec<Option<i64>> {
        let mut first = vec![None; n];
        for e in &self.entries {
            if let Some(f) = first.get_mut(e.stage as usize) {
                if f.is_none() {
                    *f = Some(e.at);
                }
            }
        }
        first
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

/// The machine just before a stage entry or an exit, or before an event's look, for
/// explanations.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub at: i64,
    /// Events in the history at that moment.
    pub n: usize,
    pub before: State,
    /// `Some(i)`: the state the look after event `i` starts from (kept for every event, so
    /// an explanation can say why an event changed nothing); `None`: the state before a step.
    pub look: Option<usize>,
}

fn ts(ms: i64) -> String {
    format_timestamp(Timestamp { millis: ms })
}

/// A stay in a stage that lasted longer than the stage's SLA.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Breach {
    pub stage: String,
    pub entered: String,
    /// Days in the stage (until it left, or until `as_of` if it is still there).
    pub days: f64,
    pub sla_days: f64,
    pub ongoing: bool,
}

/// Every stay longer than its stage's SLA, in order.
pub fn sla_breaches(plan: &Plan, out: &Outcome) -> Vec<Breach> {
    let entries = &out.state.entries;
    let mut breaches = Vec::new();
    for (k, e) in entries.iter().enumerate() {
        let Some(sla) = plan.stages.get(e.stage as usize).and_then(|s| s.sla) else {
            continue;
        };
        let left = entries
            .get(k + 1)
            .map(|n| n.at)
            .or_else(|| out.state.exit.as_ref().map(|x| x.at));
        let end = left.unwrap_or(out.as_of);
        if end - e.at > sla {
            breaches.push(Breach {
                stage: plan.stages[e.stage as usize].name.clone(),
                entered: ts(e.at),
                days: ((end - e.at) as f64 / 86_400_000.0 * 100.0).round() / 100.0,
                sla_days: sla as f64 / 86_400_000.0,
                ongoing: left.is_none(),
            });
        }
    }
    breaches
}

/// The current position as one word: a stage name, an exit name, or empty (outside).
pub fn position(plan: &Plan, out: &Outcome) -> String {
    if let Some(x) = &out.state.exit {
        if let Some(LeaveTo::Exit(name)) = plan.leaves.get(x.leave).map(|l| &l.to) {
            return name.clone();
        }
    }
    out.state
        .stage
        .and_then(|s| plan.stages.get(s as usize))
        .map(|s| s.name.clone())
        .unwrap_or_default()
}
