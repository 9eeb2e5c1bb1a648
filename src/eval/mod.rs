//! Evaluation: a checked rule file compiled into a plan, and leads replayed through it.

pub mod explain;
pub mod lead;
pub mod names;
pub mod output;
pub mod plan;
pub mod rule_tests;
pub mod run;

pub use lead::{Event, Lead, Value};
pub use plan::{compile, Plan};
pub use run::{replay, Outcome};
