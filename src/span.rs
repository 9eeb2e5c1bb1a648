//! Where things are in a source text: byte ranges that every later stage (syntax tree,
//! diagnostics, explanations) points with.

/// A byte range in the source file.
///
/// Trees compare their spans like any other field; to ask whether two trees say the same
/// thing wherever they were written, use [`File::same_ignoring_spans`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}
