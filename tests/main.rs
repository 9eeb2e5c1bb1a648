//! The integration tests, in one binary: one link instead of one per file, and one place that
//! lists them. Each module is a former test crate of its own; `common` holds their helpers
//! (running the binary, temporary files, the generator of syntax trees).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod architecture;
mod ci_examples;
mod cli;
mod cli_eval;
mod diagnostics;
mod diff;
mod docs;
mod eval;
mod eval_fixtures;
mod eval_properties;
mod explain;
mod fast_jsonl;
mod fmt_roundtrip;
mod hostile;
mod input_formats;
mod paths;
mod project;
mod report;
mod report_browser;
mod rule_tests;
mod shared_fixtures;
