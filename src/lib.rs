//! funnelc: a rule language and interpreter for marketing and sales funnels.
//!
//! The front end, behind one entry point, [`compile`]: source → [`syntax::parse`] → AST
//! ([`syntax::ast`]) → [`check`] (symbols and diagnostics) → [`plan::compile`] → a
//! [`plan::Plan`]. Lead data then goes through [`pipeline`]: leads ([`lead`]) read by
//! [`input`] are replayed through the plan by [`eval`], in input order, and [`output`] renders
//! the outcomes. The command line is the binary's own (`src/cli/`). See
//! `docs/ARCHITECTURE.md`.

// The pest derive refers to `alloc` by path when pest is built without `std` (which
// leaves out its per-rule stack probing; the scanner bounds nesting before pest runs).
extern crate alloc;

pub mod check;
pub mod compare;
mod compile;
pub mod diag;
pub mod diff;
pub mod eval;
pub mod input;
pub mod lead;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod review;
pub mod rule_tests;
pub mod span;
pub mod syntax;
pub mod time;

pub use compile::{check_test_file, compile, Compiled};
