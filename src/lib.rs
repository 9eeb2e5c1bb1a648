//! funnelc: a rule language and interpreter for marketing and sales funnels.
//!
//! The pipeline: source → [`syntax::parse`] → AST ([`syntax::ast`]) → [`check`] → diagnostics
//! and a checked model. See `docs/ARCHITECTURE.md`.

pub mod check;
pub mod cli;
pub mod diag;
pub mod eval;
pub mod input;
pub mod syntax;
pub mod time;
