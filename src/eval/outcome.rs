//! What a replay produces: the machine's state (entries, exit, holds), the scores, and, for
//! explanations, snapshots of the state before each step.

use crate::plan::Plan;

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

/// The machine just before a stage entry or an exit, for explanations.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub at: i64,
    /// Events in the history at that moment.
    pub n: usize,
    pub before: State,
}
