//! The evaluation plan: a checked rule file compiled for replay. Every name is resolved to a
//! slot once, here; the interpreter never looks a name up.
//!
//! The plan's types are here; [`compile`](fn@compile) builds a plan from a checked file,
//! `reads` works out what each condition can read (for [`Plan::watch`] and trait-only
//! segments), [`PropTest`] decides simple filters without the interpreter, and
//! [`literal`](fn@literal) turns a literal into a value.

mod compile;
mod literal;
mod prop_test;
mod reads;
#[cfg(test)]
pub(crate) mod samples;

pub(crate) use compile::compile;
pub use literal::literal;
pub use prop_test::PropTest;

use crate::check::Ty;
use crate::lead::names::{Head, Key, NameTable, TraitTree};
use crate::lead::Value;
use crate::syntax::ast::{self, BinOp, TestOp, Which};

/// An event query with its event type, filter and scopes resolved.
#[derive(Clone, Debug)]
pub struct Query {
    pub ev: u16,
    pub filter: Option<Box<Cond>>,
    /// Which of a lead's event lists this query reads (see [`Plan::prefilters`]): the list
    /// of its event type, or, when its filter reads only the event and the lead's traits,
    /// a list of the events that pass the filter, made once per lead.
    pub list: u32,
    /// `list` holds only events that pass the filter: it need not be evaluated again.
    pub prefiltered: bool,
    pub within: Option<i64>,
    pub since: Option<u16>,
    /// The source text, for explanations.
    pub text: String,
}

/// A compiled condition, or an expression within one, with every name resolved to its slot.
#[derive(Clone, Debug)]
pub enum Cond {
    Const(Value),
    Trait(u16),
    /// A property of the event under a `where` filter.
    Prop(u16),
    Segment(u16),
    Score(u16),
    /// The grade of a score as its index (0 = best); compared with label indices.
    Grade(u16),
    GradeLabel(u16),
    Present(Query),
    Count(Query),
    Rate(Query, Query),
    No(Query),
    DaysSince(Which, Query),
    DaysSinceEntering(u16),
    Has {
        which: Which,
        query: Query,
        props: Vec<u16>,
        k: u32,
    },
    PropOf {
        prop: u16,
        which: Which,
        query: Query,
    },
    /// `id` numbers the plan's chains, for the per-lead tables (see [`Plan::chains`]).
    Then {
        steps: Vec<Query>,
        id: u32,
    },
    AtLeast(u32, Vec<Cond>),
    Not(Box<Cond>),
    Neg(Box<Cond>),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Arith(BinOp, Box<Cond>, Box<Cond>),
    Cmp(BinOp, Box<Cond>, Box<Cond>),
    In(Box<Cond>, Box<Cond>, bool),
    Between(Box<Cond>, Box<Cond>, Box<Cond>),
    Test(TestOp, Box<Cond>, Box<Cond>, Option<regex::Regex>),
    Exists(Box<Cond>),
}

#[derive(Clone, Debug)]
pub struct EventType {
    pub name: String,
    pub props: Vec<(String, Ty)>,
}

#[derive(Clone, Debug)]
pub enum RulePoints {
    When(Cond),
    Per { query: Query, cap: Option<f64> },
}

#[derive(Clone, Debug)]
pub struct ScoreRule {
    pub points: f64,
    pub kind: RulePoints,
    /// The condition of a `when` rule as written (for explanations and test coverage).
    pub expr: Option<ast::Expr>,
    pub line: usize,
    pub text: String,
}

#[derive(Clone, Debug)]
pub enum DecayKind {
    HalfLife(i64),
    Expire(i64),
}

#[derive(Clone, Debug)]
pub struct ScoreModel {
    pub name: String,
    pub max: Option<f64>,
    pub min: Option<f64>,
    pub decay: Option<DecayKind>,
    pub rules: Vec<ScoreRule>,
    /// Best first.
    pub grades: Vec<(String, f64)>,
}

#[derive(Clone, Debug)]
pub struct StagePlan {
    pub name: String,
    pub display: Option<String>,
    pub owner: Option<String>,
    pub sla: Option<i64>,
    pub enter: Cond,
    pub enter_expr: ast::Expr,
    pub line: usize,
}

/// A move or an exit: a way out of the current stage.
#[derive(Clone, Debug)]
pub struct Leave {
    /// Stages it leaves from; `None` is any stage.
    pub from: Option<Vec<u16>>,
    pub to: LeaveTo,
    /// `on EVENT`: the event type and filter that fire it; `None` for a `when` rule.
    pub on: Option<Query>,
    /// The `when` condition, or the trigger's guard (`None`: an `on` without one).
    pub when: Option<Cond>,
    pub fires: ast::Fires,
    pub line: usize,
}

#[derive(Clone, Debug)]
pub enum LeaveTo {
    Stage(u16),
    Exit(String),
}

/// Where a condition can change by the passage of time alone, as offsets (ms, each list
/// sorted) from the instants they are measured from.
#[derive(Clone, Debug, Default)]
pub struct Timers {
    /// After each event of an event list (by [`Query::list`]): an event leaving a `within`
    /// window, one millisecond after `at + D`.
    pub after_events: Vec<(u32, Vec<i64>)>,
    /// After the event a query picks (`days since last Q`, `days since first Q`, compared
    /// with a number): only that event can start the count.
    pub after_pick: Vec<(Query, Which, Vec<i64>)>,
    /// After the start of the history: a window becoming complete for `no ... within`, and
    /// `days since` with no matching event.
    pub after_start: Vec<i64>,
    /// For each stage, after the latest entry into it: `days since entering` thresholds,
    /// and `after_start`, since a move's or exit's history starts at the entry.
    pub after_entry: Vec<Vec<i64>>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub funnel: Option<String>,
    pub source: String,
    pub file: String,
    pub traits: Vec<(String, Ty)>,
    pub events: Vec<EventType>,
    /// Event names → index, for the readers.
    pub event_names: NameTable,
    /// For each event type, its properties' names as [`Key`]s, in slot order.
    pub prop_keys: Vec<Vec<Key>>,
    /// For each event type, how each property (in slot order) starts a compact member.
    pub prop_heads: Vec<Vec<Head>>,
    /// Declared trait paths as a tree of keys, for the readers.
    pub trait_tree: TraitTree,
    /// Declared trait paths → slot, for readers that meet whole dotted paths.
    pub trait_names: NameTable,
    pub segments: Vec<(String, Cond, ast::Expr)>,
    pub scores: Vec<ScoreModel>,
    pub stages: Vec<StagePlan>,
    /// Exits first, then moves; each group in priority order, then declaration order.
    pub leaves: Vec<Leave>,
    /// Offsets (ms) after an event or an entry at which a condition may change by time alone:
    /// all of them together, for the question whether anything does.
    pub timer_offsets: Vec<i64>,
    /// The same instants, each measured from what it depends on (see [`Timers`]).
    pub timers: Timers,
    /// How many `then` conditions the plan has (numbered by `Cond::Then::id`).
    pub chains: usize,
    /// Some score decays and a transition reads a score: crossings need bisection.
    pub decay_matters: bool,
    /// Trait slots of the `dimensions` (what reports and explanations name a lead by).
    pub dimensions: Vec<usize>,
    /// Filters that read only an event and the lead's traits, with their event type: list
    /// `events.len() + k` of a lead holds its events of that type that pass filter `k`.
    pub prefilters: Vec<(u16, Cond)>,
    /// For each prefilter: its shape, when it is one test of a property against constants
    /// (`page == "pricing"`, `step in [1, 2]`), decided without the interpreter.
    pub prefilter_tests: Vec<Option<PropTest>>,
    /// For each segment: whether it reads only traits (then it is worked out once per lead).
    pub trait_segments: Vec<bool>,
    /// For each position of a lead (see [`Plan::position`]): the event types that the
    /// conditions a look evaluates there can read, or `None` when one of them also reads the
    /// moment itself. An event of another type cannot change what a look decides (see
    /// `Machine::settle`).
    pub watch: Vec<Option<Vec<bool>>>,
}

impl Plan {
    pub fn event_id(&self, name: &str) -> Option<u16> {
        self.event_names.get(name.as_bytes()).map(|i| i as u16)
    }

    pub fn trait_slot(&self, path: &str) -> Option<usize> {
        self.trait_names.get(path.as_bytes()).map(|i| i as usize)
    }

    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }

    /// The event types a condition can read, through segments and scores, by index.
    pub fn events_read(&self, c: &Cond) -> Vec<bool> {
        reads::events_read(self.events.len(), &self.segments, &self.scores, c)
    }

    /// A number for rule `rule` of score `score`, counting every score's rules in order.
    pub fn rule_slot(&self, score: usize, rule: usize) -> Option<usize> {
        let before: usize = self
            .scores
            .get(..score)?
            .iter()
            .map(|m| m.rules.len())
            .sum();
        Some(before + rule)
    }

    /// The exits' names, each once, in the order first declared (several `exit` rules may
    /// lead to one exit).
    pub fn exit_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for l in &self.leaves {
            if let LeaveTo::Exit(n) = &l.to {
                if !names.contains(&n.as_str()) {
                    names.push(n);
                }
            }
        }
        names
    }

    /// Index into [`Plan::watch`]: 0 outside the funnel, `1 + s` in stage `s`, and
    /// `1 + stages` once exited.
    pub fn position(&self, stage: Option<u16>, exited: bool) -> usize {
        match (exited, stage) {
            (true, _) => self.stages.len() + 1,
            (false, None) => 0,
            (false, Some(s)) => s as usize + 1,
        }
    }
}
