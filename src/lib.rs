//! funnelc: a rule language and interpreter for marketing and sales funnels.
//!
//! The pipeline: source → [`syntax::parse`] → AST ([`syntax::ast`]) → [`check`] → diagnostics
//! and symbols → [`eval::plan`] → `Plan`, all behind one entry point, [`compile`]; lead data
//! then goes through [`pipeline`] (read, evaluate, in input order). The command line is the
//! binary's own (`src/cli/`). See `docs/ARCHITECTURE.md`.

// The pest derive refers to `alloc` by path when pest is built without `std` (which
// leaves out its per-rule stack probing; the scanner bounds nesting before pest runs).
extern crate alloc;

pub mod check;
mod compile;
pub mod diag;
pub mod eval;
pub mod input;
pub mod pipeline;
pub mod syntax;
pub mod time;

pub use compile::{compile, Compiled};
