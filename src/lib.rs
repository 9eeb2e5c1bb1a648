//! funnelc: a rule language and interpreter for marketing and sales funnels.
//!
//! The pipeline: source → [`syntax::parse`] → AST ([`syntax::ast`]) → [`check`] → diagnostics
//! and a checked model → [`plan::compile`] → a [`plan::Plan`]. Leads ([`lead`]) read by
//! [`input`] are replayed through the plan by [`eval`], and [`output`] renders the outcomes.
//! See `docs/ARCHITECTURE.md`.

// The pest derive refers to `alloc` by path when pest is built without `std` (which
// leaves out its per-rule stack probing; the scanner bounds nesting before pest runs).
extern crate alloc;

pub mod check;
pub mod cli;
pub mod diag;
pub mod eval;
pub mod input;
pub mod lead;
pub mod output;
pub mod plan;
pub mod rule_tests;
pub mod syntax;
pub mod time;
