//! pest pairs → AST: one function per grammar rule, no panics on pair shapes.
//!
//! A shape the grammar guarantees but the code cannot prove is reported as an internal
//! `funnel::syntax` error rather than unwrapped, so a grammar change can never crash `check`.
//!
//! This file holds the lowering context and the helpers every rule uses; the declarations are
//! lowered in `decls`, rule tests in `test_blocks`, conditions (with the Pratt parser) in
//! `expr`, and literal values in `literals`.

mod decls;
mod expr;
mod literals;
mod test_blocks;

use pest::iterators::Pair;

use super::ast::Name;
use super::{scan, Rule};
use crate::diag::{Code, Diagnostic};
use crate::span::Span;

/// What lowering a node gives: the node, or the diagnostic that says why it could not be read.
type Lowered<T> = Result<T, Diagnostic>;

/// Lowering context: the byte offset of the chunk being lowered within the whole file.
#[derive(Clone, Copy)]
pub struct Lower {
    pub offset: usize,
}

fn is_keyword(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        kw_and
            | kw_any
            | kw_all
            | kw_as
            | kw_at
            | kw_between
            | kw_by
            | kw_contains
            | kw_conversion
            | kw_cost
            | kw_count
            | kw_days
            | kw_decay
            | kw_dimensions
            | kw_ends
            | kw_enter
            | kw_entered
            | kw_entering
            | kw_events
            | kw_exists
            | kw_exit
            | kw_exited
            | kw_expect
            | kw_expire
            | kw_after
            | kw_event
            | kw_from
            | kw_funnel
            | kw_grade
            | kw_growing
            | kw_half_life
            | kw_has
            | kw_in
            | kw_is
            | kw_kpi
            | kw_least
            | kw_matches
            | kw_max
            | kw_min
            | kw_missing
            | kw_most
            | kw_move
            | kw_no
            | kw_of
            | kw_or
            | kw_on
            | kw_owner
            | kw_per
            | kw_priority
            | kw_rate
            | kw_revenue
            | kw_schema
            | kw_score
            | kw_segment
            | kw_since
            | kw_sla
            | kw_stage
            | kw_starts
            | kw_target
            | kw_test
            | kw_tests
            | kw_fixture
            | kw_cases
            | kw_rows
            | kw_for
            | kw_leads
            | kw_snapshot
            | kw_then
            | kw_trait
            | kw_traits
            | kw_velocity
            | kw_volume
            | kw_when
            | kw_where
            | kw_with
            | kw_within
    )
}

/// The meaningful children of a pair: everything but plain keywords. `first`, `last`,
/// `latest` and `not` carry meaning where they appear and are kept.
fn parts(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

impl Lower {
    /// A node's span, ending where its content ends: pest counts the whitespace and
    /// comments skipped before a repetition that then matched nothing as part of the rule.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        // Fast path: with no `/` inside and no blank at the end, nothing can trail.
        let text = s.as_str();
        if !text.ends_with(|c: char| c.is_ascii_whitespace()) && !text.contains('/') {
            return Span::new(s.start() + self.offset, s.end() + self.offset);
        }
        let end = match pair.clone().into_inner().last() {
            // Keep closing brackets after the last child; drop whitespace and comments.
            Some(last) => {
                let inner_end = self.span(&last).end - self.offset;
                let gap = s.as_str().get(inner_end - s.start()..).unwrap_or("");
                inner_end + content_len(gap)
            }
            None => s.end(),
        };
        Span::new(s.start() + self.offset, end.max(s.start()) + self.offset)
    }

    fn shape(&self, pair: &Pair<'_, Rule>, what: &str) -> Diagnostic {
        Diagnostic::error(
            Code::Syntax,
            self.span(pair),
            format!("could not read {what} here"),
        )
        .help("this is a bug in funnelc's parser: please report it with the file")
    }

    fn next<'i>(
        &self,
        it: &mut impl Iterator<Item = Pair<'i, Rule>>,
        parent: &Pair<'i, Rule>,
        what: &str,
    ) -> Lowered<Pair<'i, Rule>> {
        it.next().ok_or_else(|| self.shape(parent, what))
    }

    fn name(&self, pair: &Pair<'_, Rule>) -> Name {
        Name {
            text: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    fn only<'i>(&self, pair: Pair<'i, Rule>, what: &str) -> Lowered<Pair<'i, Rule>> {
        let mut it = parts(pair.clone());
        self.next(&mut it, &pair, what)
    }
}

/// The length of `gap` up to the end of its last character that is not whitespace or part
/// of a comment.
fn content_len(gap: &str) -> usize {
    let b = gap.as_bytes();
    let (mut i, mut end) = (0, 0);
    while i < b.len() {
        if let Some(after) = scan::comment_end(b, i) {
            i = after;
        } else if matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        } else {
            i += 1;
            end = i;
        }
    }
    end
}
