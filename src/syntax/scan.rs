//! A light lexical pass over the source, before and beside pest: where the comments are (the
//! formatter keeps them), where each top-level declaration starts (so one broken declaration
//! does not hide the errors of the next), and how deeply brackets nest (pest recurses, so a
//! file of 10,000 `(` must be refused before it reaches pest).

use crate::syntax::ast::Span;

/// Words that start a top-level declaration.
pub const TOP_LEVEL: [&str; 13] = [
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
        match c {
            b'\n' => {
                line_has_code = false;
                at_line_start = true;
                i += 1;
            }
            b'"' => {
                line_has_code = true;
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let start = i;
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                let end = trim_end(b, start, i);
                comments.push(Comment {
                    span: Span::new(start, end),
                    text: src[start..end].to_string(),
                    trailing: line_has_code,
                });
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                comments.push(Comment {
                    span: Span::new(start, i),
                    text: src[start..i].to_string(),
                    trailing: line_has_code,
                });
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
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 1;
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
    fn depth_limit() {
        let src = "(".repeat(10_000);
        assert_eq!(scan(&src).too_deep, Some(MAX_DEPTH));
    }
}
