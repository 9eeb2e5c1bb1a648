//! A light lexical pass over the source, before and beside pest: where the comments are (the
//! formatter keeps them), where each top-level declaration starts (so one broken declaration
//! does not hide the errors of the next), and how deeply brackets nest (pest recurses, so a
//! file of 10,000 `(` must be refused before it reaches pest).

use crate::span::Span;

/// Words that start a top-level declaration.
pub const TOP_LEVEL: [&str; 17] = [
    "funnel",
    "schema",
    "segment",
    "score",
    "stage",
    "move",
    "exit",
    "kpi",
    "target",
    "dimensions",
    "cost",
    "revenue",
    "test",
    "fixture",
    "cases",
    "tests",
    "snapshot",
];

/// Brackets may nest this deep; real rule files stay under ten.
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub span: Span,
    pub text: String,
    /// Code precedes it on its line (`+10 when x // why`).
    pub trailing: bool,
}

pub struct Scan {
    pub comments: Vec<Comment>,
    /// Byte offsets where a top-level declaration starts (a keyword at column 0).
    pub chunk_starts: Vec<usize>,
    /// The first bracket that opens deeper than [`MAX_DEPTH`].
    pub too_deep: Option<usize>,
}

pub fn scan(src: &str) -> Scan {
    let b = src.as_bytes();
    let mut comments = Vec::new();
    let mut chunk_starts = Vec::new();
    let mut too_deep = None;
    let mut depth: usize = 0;
    let mut i = 0;
    let mut line_has_code = false;
    let mut at_line_start = true;
    while i < b.len() {
        let c = b[i];
        if at_line_start {
            at_line_start = false;
            if TOP_LEVEL.iter().any(|kw| starts_word(b, i, kw)) {
                chunk_starts.push(i);
            }
        }
        if let Some(stop) = comment_end(b, i) {
            // A line comment's text stops at its last visible character.
            let end = if b[i + 1] == b'/' {
                trim_end(b, i, stop)
            } else {
                stop
            };
            comments.push(Comment {
                span: Span::new(i, end),
                text: src[i..end].to_string(),
                trailing: line_has_code,
            });
            i = stop;
            continue;
        }
        match c {
            b'\n' => {
                line_has_code = false;
                at_line_start = true;
                i += 1;
            }
            b'"' => {
                line_has_code = true;
                i = string_end(b, i);
            }
            b'(' | b'[' | b'{' => {
                line_has_code = true;
                depth += 1;
                if depth > MAX_DEPTH && too_deep.is_none() {
                    too_deep = Some(i);
                }
                i += 1;
            }
            b')' | b']' | b'}' => {
                line_has_code = true;
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                line_has_code = true;
                i += 1;
            }
        }
    }
    Scan {
        comments,
        chunk_starts,
        too_deep,
    }
}

/// The first bracket problem in a piece of source: an opening bracket never closed, or a
/// closing one with nothing to close.
pub fn unbalanced(chunk: &str, offset: usize) -> Option<crate::diag::Diagnostic> {
    use crate::diag::{Code, Diagnostic};
    let b = chunk.as_bytes();
    let mut open: Vec<(usize, u8)> = Vec::new();
    let mut i = 0;
    let closer = |c: u8| match c {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    };
    while i < b.len() {
        if let Some(end) = comment_end(b, i) {
            i = end;
            continue;
        }
        match b[i] {
            b'"' => {
                i = string_end(b, i);
                continue;
            }
            c @ (b'(' | b'[' | b'{') => open.push((i, c)),
            c @ (b')' | b']' | b'}') => match open.last() {
                Some(&(_, o)) if closer(o) == c => {
                    open.pop();
                }
                Some(&(at, o)) => {
                    // `(x }`: the inner bracket was never closed.
                    return Some(
                        Diagnostic::error(
                            Code::Unbalanced,
                            Span::new(offset + at, offset + at + 1),
                            format!("this `{}` is never closed", o as char),
                        )
                        .label(format!("opened here, but `{}` comes first", c as char))
                        .with(
                            Span::new(offset + i, offset + i + 1),
                            "closes something else",
                        )
                        .help(format!("add `{}` where it ends", closer(o) as char)),
                    );
                }
                None => {
                    return Some(
                        Diagnostic::error(
                            Code::Unbalanced,
                            Span::new(offset + i, offset + i + 1),
                            format!("this `{}` closes nothing", c as char),
                        )
                        .label("no bracket is open here")
                        .help("remove it, or add the opening bracket it belongs to"),
                    );
                }
            },
            _ => {}
        }
        i += 1;
    }
    open.first().map(|&(at, o)| {
        Diagnostic::error(
            Code::Unbalanced,
            Span::new(offset + at, offset + at + 1),
            format!("this `{}` is never closed", o as char),
        )
        .label("opened here")
        .help(format!(
            "add `{}` at the end of the declaration",
            closer(o) as char
        ))
    })
}

/// The first text in a piece of source whose closing quote is missing: text ends at the end
/// of its line, so everything after the quote was read as text.
pub fn unclosed_text(chunk: &str, offset: usize) -> Option<crate::diag::Diagnostic> {
    use crate::diag::{Code, Diagnostic};
    let b = chunk.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = comment_end(b, i) {
            i = end;
            continue;
        }
        if b[i] == b'"' {
            let end = string_end(b, i);
            if b.get(end - 1) != Some(&b'"') {
                let line_end = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                let line_end = trim_end(b, i, line_end);
                return Some(
                    Diagnostic::error(
                        Code::Syntax,
                        Span::new(offset + i, offset + line_end),
                        "this text is never closed",
                    )
                    .label("the text starts here and runs to the end of the line")
                    .help("close it with `\"` where it ends, on the same line"),
                );
            }
            i = end;
            continue;
        }
        i += 1;
    }
    None
}

/// The end of the comment starting at byte `i`, if one does: a line comment ends before its
/// newline, a block comment just after its `*/`, or at the end of the text if never closed.
/// The grammar's `COMMENT` rule is the definition; this is the one copy in Rust.
pub fn comment_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'/') {
        return None;
    }
    match b.get(i + 1) {
        Some(b'/') => Some(memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n)),
        Some(b'*') => {
            let body = i + 2;
            Some(memchr::memmem::find(&b[body..], b"*/").map_or(b.len(), |n| body + n + 2))
        }
        _ => None,
    }
}

/// Whether `text` holds nothing but what the grammar skips between tokens: its whitespace and
/// closed comments.
pub fn only_blanks(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = comment_end(b, i) {
            if b[i + 1] == b'*' && !(end >= i + 4 && b[..end].ends_with(b"*/")) {
                return false;
            }
            i = end;
        } else if matches!(b[i], b' ' | b'\t'..=b'\r') {
            i += 1;
        } else if b[i..].starts_with("\u{FEFF}".as_bytes()) {
            i += "\u{FEFF}".len();
        } else {
            return false;
        }
    }
    true
}

/// Just past the text literal starting at byte `i` (a `"`): past its closing quote, or past
/// the newline or end of text where an unclosed one stops.
fn string_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

fn starts_word(b: &[u8], i: usize, word: &str) -> bool {
    let w = word.as_bytes();
    b.get(i..i + w.len()) == Some(w)
        && !b
            .get(i + w.len())
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn trim_end(b: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && matches!(b[end - 1], b' ' | b'\t' | b'\r') {
        end -= 1;
    }
    end
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_and_chunks() {
        let src = "// head\nstage A { enter when x } // tail\n/* block\n */score s { }\n";
        let s = scan(src);
        assert_eq!(s.comments.len(), 3);
        assert!(!s.comments[0].trailing);
        assert!(s.comments[1].trailing);
        assert_eq!(s.comments[1].text, "// tail");
        assert_eq!(s.chunk_starts, vec![8]);
        assert_eq!(s.too_deep, None);
    }

    #[test]
    fn comment_markers_in_strings_are_text() {
        let s = scan("funnel \"a // b\"\n");
        assert!(s.comments.is_empty());
    }

    #[test]
    fn comments_end_where_the_grammar_ends_them() {
        let end = |s: &str| comment_end(s.as_bytes(), 0);
        assert_eq!(end("// a\nb"), Some(4));
        assert_eq!(end("// a"), Some(4));
        assert_eq!(end("/* a */b"), Some(7));
        assert_eq!(end("/**/"), Some(4));
        assert_eq!(end("/*/ a"), Some(5));
        assert_eq!(end("/ a"), None);
        assert_eq!(end("a"), None);
    }

    #[test]
    fn blanks_are_the_grammars_blanks() {
        for yes in [
            "",
            " \t\r\n\u{b}\u{c}",
            "\u{feff}",
            "// a\n/* b */ /**/",
            "// no newline",
        ] {
            assert!(only_blanks(yes), "{yes:?}");
        }
        for no in ["x", "\u{a0}", "/* open", "/*/", "/ /", "/* a */ b"] {
            assert!(!only_blanks(no), "{no:?}");
        }
    }

    #[test]
    fn unclosed_text_is_found_before_the_brackets_it_swallows() {
        let d = unclosed_text("stage A \"Title {\n  enter when x\n}\n", 10).unwrap();
        assert_eq!(d.message, "this text is never closed");
        assert_eq!((d.span.start, d.span.end), (18, 26));
        for closed in [
            "stage A \"Title\" { }",
            "funnel \"a \\\" b\"",
            "// \"in a comment\n",
        ] {
            assert!(unclosed_text(closed, 0).is_none(), "{closed}");
        }
        assert!(unclosed_text("funnel \"open", 0).is_some());
    }

    #[test]
    fn depth_limit() {
        let src = "(".repeat(10_000);
        assert_eq!(scan(&src).too_deep, Some(MAX_DEPTH));
    }
}
