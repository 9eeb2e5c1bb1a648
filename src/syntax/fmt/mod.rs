//! The canonical layout: one way to print every file, so that diffs show changes of meaning
//! and never of style.
//!
//! The formatter prints from the AST, not from the source: spacing, parentheses and the
//! spelling of literals are all chosen here, and `parse(format(x))` gives back the tree of
//! `x`. The source text is consulted only to put the comments back (the grammar drops them)
//! and to keep a blank line the user left between two entries of a block.
//!
//! This file holds the entry points and the width rule; the printer that lays out blocks and
//! puts the comments back is in `printer`, the declarations in `decls`, conditions in `expr`
//! and the spelling of literals in `literals`.

mod decls;
mod expr;
mod literals;
mod printer;

use super::ast::Name;
use crate::diag::Diagnostic;

pub use printer::format_file;

/// Lines longer than this are broken where the layout allows it (`and`/`or` chains).
const WIDTH: usize = 100;

/// Parses `source` and prints it in the canonical layout, or returns the diagnostics when it
/// does not parse: formatting a file with errors would drop the declarations that failed.
pub fn format_source(source: &str) -> Result<String, Vec<Diagnostic>> {
    let parsed = super::parse(source);
    if parsed.diagnostics.iter().any(Diagnostic::is_error) {
        return Err(parsed.diagnostics);
    }
    Ok(format_file(&parsed.file, &parsed.comments, source))
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn names(v: &[Name]) -> String {
    v.iter()
        .map(|n| n.text.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    /// Formats `src`, checking the properties every output must have: it parses to the same
    /// tree, keeps every comment in order, and formatting it again changes nothing.
    pub(super) fn check(src: &str) -> String {
        let out = format_source(src).unwrap_or_else(|d| panic!("{src}\n{d:?}"));
        let again = format_source(&out).unwrap_or_else(|d| panic!("{out}\n{d:?}"));
        assert_eq!(again, out, "not idempotent; first pass:\n{out}");
        let (before, after) = (parse(src), parse(&out));
        assert_eq!(
            after.file.without_spans(),
            before.file.without_spans(),
            "tree changed; output:\n{out}"
        );
        let texts = |p: &crate::syntax::Parsed| -> Vec<String> {
            p.comments.iter().map(|c| c.text.clone()).collect()
        };
        assert_eq!(
            texts(&after),
            texts(&before),
            "comments changed; output:\n{out}"
        );
        out
    }

    /// The canonical spelling of one expression.
    pub(super) fn ex(src: &str) -> String {
        let out = check(&format!("segment s = {src}\n"));
        out.strip_prefix("segment s = ")
            .and_then(|s| s.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string()
    }

    #[test]
    fn shipped_rule_files() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "funnel") {
                check(&std::fs::read_to_string(&path).unwrap());
                n += 1;
            }
        }
        assert!(n > 0);
    }

    #[test]
    fn comment_only_and_empty_files() {
        assert_eq!(check(""), "");
        assert_eq!(
            check("// just a note\n\n\n// and another\n"),
            "// just a note\n\n// and another\n"
        );
        assert_eq!(
            check("  segment s = a  \n\n\n\nsegment t = b"),
            "segment s = a\n\nsegment t = b\n"
        );
    }

    #[test]
    fn refuses_files_that_do_not_parse() {
        let err = format_source("segment s = (a\nsegment t = b\n").unwrap_err();
        assert!(err.iter().any(Diagnostic::is_error));
    }
}
