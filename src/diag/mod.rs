//! Diagnostics as data, rendered once: human (miette), plain (for snapshots) and JSON.
//!
//! Every diagnostic has a stable code (`funnel::unknown_event`), a severity, a message in the
//! house style (lowercase, no final period, user input in backticks), a primary span with an
//! optional label, secondary labels and a help line.

mod ci;
pub mod code;
mod elide;
mod printable;
mod render;
pub mod suggest;
mod wrap;

pub use ci::{render_github, render_sarif};
pub use code::Code;
pub use printable::{printable, printable_lines, printable_source};
pub use render::{render_human, render_json, summary_line, LineIndex};

use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub label: Option<String>,
    pub secondary: Vec<(Span, String)>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// The fix that is certain, as (span, replacement): a misspelt name whose help is "did you
    /// mean `x`?" is replaced by `x`. Editors and CI tools may apply it without asking.
    pub fn certain_fix(&self, source: &str) -> Option<(Span, String)> {
        let name = self
            .help
            .as_deref()?
            .strip_prefix("did you mean `")?
            .strip_suffix("`?")?;
        let text = source.get(self.span.start..self.span.end)?;
        // Only where the span is the one misspelt word.
        let word = |t: &str| !t.is_empty() && !t.contains(|c: char| c.is_whitespace() || c == '`');
        (word(text) && word(name) && text != name).then(|| (self.span, name.to_string()))
    }

    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Self {
        debug_assert_eq!(code.severity(), Severity::Error, "{code} is not an error");
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: None,
            secondary: Vec::new(),
            help: None,
        }
    }
    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Self {
        debug_assert_eq!(
            code.severity(),
            Severity::Warning,
            "{code} is not a warning"
        );
        Diagnostic {
            code,
            severity: Severity::Warning,
            message: message.into(),
            span,
            label: None,
            secondary: Vec::new(),
            help: None,
        }
    }
    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.label = Some(text.into());
        self
    }
    pub fn with(mut self, span: Span, text: impl Into<String>) -> Self {
        self.secondary.push((span, text.into()));
        self
    }
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }
    pub fn maybe_help(mut self, text: Option<String>) -> Self {
        if text.is_some() {
            self.help = text;
        }
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics by position, then code (by its string), so output is stable whatever order the checker
/// found them in; drops exact repeats.
pub fn sort(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (
            a.span.start,
            a.span.end,
            a.severity,
            a.code.as_str(),
            &a.message,
        )
            .cmp(&(
                b.span.start,
                b.span.end,
                b.severity,
                b.code.as_str(),
                &b.message,
            ))
    });
    diags.dedup_by(|a, b| {
        a.span.start == b.span.start && a.code == b.code && a.message == b.message
    });
}

/// Counts (errors, warnings).
pub fn counts(diags: &[Diagnostic]) -> (usize, usize) {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    (errors, diags.len() - errors)
}
