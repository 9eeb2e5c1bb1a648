//! Rendering diagnostics: miette's graphical report for people, JSON for CI and editors.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    NamedSource, SourceCode, SourceSpan, SpanContents,
};

/// A source whose columns count characters, as the JSON output does (miette's own count
/// bytes, which disagree on any line with non-ASCII text before the mistake). When long lines
/// were shortened for display, columns are still those of the original text.
struct CharColumns {
    text: String,
    original: Option<(String, Elided)>,
}

impl SourceCode for CharColumns {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.as_str().read_span(span, before, after)?;
        let start = inner.span().offset().min(self.text.len());
        let (source, start) = match &self.original {
            Some((source, e)) => (source.as_str(), e.back(start).min(source.len())),
            None => (self.text.as_str(), start),
        };
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let column = source
            .get(line_start..start)
            .map_or(inner.column(), |s| s.chars().count());
        Ok(Box::new(MietteSpanContents::new(
            inner.data(),
            *inner.span(),
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}

use super::elide::Elided;
use super::{Diagnostic, Severity};

/// Line starts of a source, for turning byte offsets into 1-based lines and columns.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, source: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(source.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts[line];
        let col = source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }
}

/// One diagnostic bound to its file, in the shape miette renders.
struct Report<'a> {
    diag: &'a Diagnostic,
    source: &'a NamedSource<CharColumns>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diag.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let len = self.source.inner().text.len();
        let clamp = move |s: crate::span::Span| {
            let start = s.start.min(len);
            (start, s.end.clamp(start, len) - start)
        };
        let primary =
            LabeledSpan::new_primary_with_span(self.diag.label.clone(), clamp(self.diag.span));
        let rest = self
            .diag
            .secondary
            .iter()
            .map(move |(s, text)| LabeledSpan::new_with_span(Some(text.clone()), clamp(*s)));
        Some(Box::new(std::iter::once(primary).chain(rest)))
    }
}

/// At most this many diagnostics of one file are drawn; the rest are counted (all of them are
/// in `--format json`). Thousands of drawn reports help nobody and cost hundreds of megabytes.
pub const SHOWN: usize = 100;

/// Renders diagnostics of one file as miette's graphical report, `color` for a terminal: the
/// first [`SHOWN`] of them, long lines shortened around the labels.
pub fn render_human(diags: &[Diagnostic], file: &str, source: &str, color: bool) -> String {
    let shown = &diags[..diags.len().min(SHOWN)];
    let points: Vec<usize> = shown
        .iter()
        .flat_map(|d| std::iter::once(&d.span).chain(d.secondary.iter().map(|(s, _)| s)))
        .flat_map(|s| [s.start, s.end])
        .collect();
    // Control characters in the file are shown as `?`, never sent to the terminal.
    let source = &*super::printable_source(source);
    let elided = Elided::new(source, &points);
    let named = NamedSource::new(
        super::printable(file),
        CharColumns {
            text: elided
                .as_ref()
                .map_or(source, |e| e.text.as_str())
                .to_string(),
            original: elided.clone().map(|e| (source.to_string(), e)),
        },
    );
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for diag in shown {
        // Messages and labels quote the file's text: its control characters are escaped.
        let text = |t: &str| super::printable_lines(t).into_owned();
        let (span, secondary) = match &elided {
            Some(e) => (
                e.span(diag.span),
                diag.secondary
                    .iter()
                    .map(|(s, t)| (e.span(*s), text(t)))
                    .collect(),
            ),
            None => (
                diag.span,
                diag.secondary.iter().map(|(s, t)| (*s, text(t))).collect(),
            ),
        };
        let moved = Diagnostic {
            span,
            secondary,
            message: text(&diag.message),
            label: diag.label.as_deref().map(text),
            help: diag.help.as_deref().map(text),
            ..diag.clone()
        };
        let diag = &moved;
        let report = Report {
            diag,
            source: &named,
        };
        let mut one = String::new();
        if handler.render_report(&mut one, &report).is_err() {
            // The handler only fails on a broken writer; a String never breaks. Fall back to
            // the plain message rather than lose the diagnostic.
            one = format!("{}: {}\n", diag.code, diag.message);
        }
        out.push_str(&one);
        out.push('\n');
    }
    if diags.len() > shown.len() {
        out.push_str(&format!(
            "… and {} more diagnostics in {file} (`--format json` lists every one)\n\n",
            diags.len() - shown.len()
        ));
    }
    out
}

/// `rules/b2b.funnel: 1 error, 1 warning`
pub fn summary_line(file: &str, diags: &[Diagnostic]) -> String {
    let (e, w) = super::counts(diags);
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    if e == 0 && w == 0 {
        format!("{file}: ok")
    } else {
        format!("{file}: {}, {}", plural(e, "error"), plural(w, "warning"))
    }
}

/// JSON objects for machines: code, severity, file, line, column, end, message, label, help,
/// the secondary places with their labels, and the fixes that are certain.
pub fn render_json(diags: &[Diagnostic], file: &str, source: &str) -> Vec<serde_json::Value> {
    let index = LineIndex::new(source);
    diags
        .iter()
        .map(|d| {
            let (line, column) = index.line_col(source, d.span.start);
            let (end_line, end_column) = index.line_col(source, d.span.end);
            let place = |s: crate::span::Span| {
                let (line, column) = index.line_col(source, s.start);
                let (end_line, end_column) = index.line_col(source, s.end);
                (line, column, end_line, end_column)
            };
            // The other places the diagnostic points at ("first declared here").
            let secondary: Vec<serde_json::Value> = d
                .secondary
                .iter()
                .map(|(s, label)| {
                    let (line, column, end_line, end_column) = place(*s);
                    serde_json::json!({
                        "line": line, "column": column,
                        "end_line": end_line, "end_column": end_column,
                        "label": label,
                    })
                })
                .collect();
            let fixes: Vec<serde_json::Value> = d
                .certain_fix(source)
                .map(|(s, replacement)| {
                    let (line, column, end_line, end_column) = place(s);
                    serde_json::json!({
                        "line": line, "column": column,
                        "end_line": end_line, "end_column": end_column,
                        "start_byte": s.start, "end_byte": s.end,
                        "replacement": replacement,
                        "applicability": "machine-applicable",
                    })
                })
                .into_iter()
                .collect();
            serde_json::json!({
                "code": d.code,
                "severity": d.severity,
                "file": file,
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
                "message": d.message,
                "label": d.label,
                "help": d.help,
                "secondary": secondary,
                "fixes": fixes,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn line_columns() {
        let src = "ab\ncdé\nf";
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_col(src, 0), (1, 1));
        assert_eq!(idx.line_col(src, 3), (2, 1));
        assert_eq!(idx.line_col(src, 7), (2, 4));
        assert_eq!(idx.line_col(src, 8), (3, 1));
        assert_eq!(idx.line_col(src, 99), (3, 2));
    }

    #[test]
    fn line_is_one_more_than_the_newlines_before() {
        let src = "a\n\nbc\nd\n";
        let idx = LineIndex::new(src);
        for offset in 0..=src.len() {
            let newlines = src[..offset].bytes().filter(|b| *b == b'\n').count();
            assert_eq!(idx.line(offset), newlines + 1, "at {offset}");
        }
    }
}
