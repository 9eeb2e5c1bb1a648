//! Evaluation: leads replayed through a compiled plan, and their decisions explained.
//!
//! [`machine`] replays a lead, step by step; [`condition`] evaluates a compiled condition
//! against a lead's history at a moment, reading the per-lead [`index`], with [`operand`]'s
//! values and comparisons, and `vary` with what a condition can be between two looks;
//! [`outcome`] holds what a replay produces; [`explain`] evaluates
//! every decision again, for `funnelc explain`.

mod chain;
pub mod condition;
mod decay;
pub mod explain;
pub mod index;
pub mod machine;
pub mod operand;
pub mod outcome;
#[cfg(test)]
mod prefix_tests;
#[cfg(test)]
mod testgen;
mod vary;

pub use condition::Moment;
pub use index::{index_by_type, Index};
pub use machine::{replay, replay_traced};
pub use operand::{compare, Operand};
pub use outcome::{
    position, sla_breaches, Breach, EnteredBy, Entry, ExitRecord, Outcome, ScoreValue, Snapshot,
    State, Trigger,
};
