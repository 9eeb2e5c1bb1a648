//! `funnel::unused_segment` and `funnel::unused_score`: declarations nothing uses.

use crate::check::decls::Usage;
use crate::check::symbols::*;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// Segments and scores declared but never used.
pub(super) fn check(file: &File, sym: &Symbols, usage: &Usage, diags: &mut Vec<Diagnostic>) {
    // Only the declaration that was collected: a rejected duplicate has its own error.
    let collected_segment = |n: &Name| {
        sym.segments
            .get(&n.text)
            .is_some_and(|s| s.start == n.span.start)
    };
    let collected_score = |n: &Name| {
        sym.scores
            .get(&n.text)
            .is_some_and(|s| s.span.start == n.span.start)
    };
    for item in &file.items {
        match item {
            Item::Segment(s)
                if collected_segment(&s.name) && !usage.segments.contains(&s.name.text) =>
            {
                diags.push(
                    Diagnostic::warning(
                        Code::UnusedSegment,
                        s.name.span,
                        format!("segment `{}` is never used", s.name.text),
                    )
                    .help("use it in a condition, or remove it"),
                )
            }
            Item::Score(s) if collected_score(&s.name) && !usage.scores.contains(&s.name.text) => {
                diags.push(
                    Diagnostic::warning(
                        Code::UnusedScore,
                        s.name.span,
                        format!("score `{}` is never used", s.name.text),
                    )
                    .help("use it in a stage condition or a test, or remove it"),
                )
            }
            _ => {}
        }
    }
}
