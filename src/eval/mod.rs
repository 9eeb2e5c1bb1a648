//! Evaluation: a checked rule file compiled into a plan, and leads replayed through it.

pub mod explain;
pub mod output;
pub mod rule_tests;
pub mod run;

pub use crate::lead::{Event, Lead, Value};
pub use crate::plan::{compile, Plan};
pub use run::{replay, Outcome};
