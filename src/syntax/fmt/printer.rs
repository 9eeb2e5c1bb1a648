//! The layout skeleton (`Doc`: lines and blocks, each with the span it came from) and the
//! printer that writes it out, putting every comment back by its position in the source.

use crate::span::Span;
use crate::syntax::ast::File;
use crate::syntax::scan::Comment;

/// Prints `file` in the canonical layout. `comments` and `source` are those the file was
/// parsed from (pass `&[]` and `""` for a tree built in code); every comment is printed
/// exactly once, in order, placed by its position relative to the declarations.
pub fn format_file(file: &File, comments: &[Comment], source: &str) -> String {
    let mut p = Printer {
        out: String::new(),
        src: source,
        comments,
        next: 0,
        last_end: 0,
        started: false,
    };
    let docs: Vec<Doc> = file.items.iter().map(|i| p.item(i)).collect();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            // Runs of one-line declarations (KPIs, moves and exits) stay together unless the
            // user separated them; anything longer stands apart.
            let one_line = |d: &Doc| matches!(d, Doc::Leaf { lines, .. } if lines.len() == 1);
            if one_line(&docs[i - 1]) && one_line(d) {
                p.started = true;
                p.gap(d.start());
            } else {
                p.blank();
            }
        }
        let limit = docs.get(i + 1).map_or(usize::MAX, Doc::start);
        p.doc(d, 0, limit);
    }
    p.flush(usize::MAX, 0);
    p.out
}

/// What gets printed, with the source span each part came from (for placing comments).
pub(super) enum Doc {
    /// Lines at the current depth; continuation lines carry their own extra indentation.
    Leaf { span: Span, lines: Vec<String> },
    /// `header {`, the children one level deeper, `}`.
    Block {
        span: Span,
        header: String,
        children: Vec<Doc>,
    },
}

impl Doc {
    pub(super) fn start(&self) -> usize {
        match self {
            Doc::Leaf { span, .. } | Doc::Block { span, .. } => span.start,
        }
    }

    pub(super) fn leaf(span: Span, line: String) -> Doc {
        Doc::Leaf {
            span,
            lines: vec![line],
        }
    }
}

pub(super) struct Printer<'a> {
    out: String,
    src: &'a str,
    comments: &'a [Comment],
    /// The first comment not printed yet: comments are only ever taken from the front, which
    /// is what keeps them in order and prints each once.
    next: usize,
    /// Source offset just past the last thing printed, to spot blank lines the user left.
    last_end: usize,
    /// Whether something was printed in the current block: a block never opens with a blank.
    started: bool,
}

impl<'a> Printer<'a> {
    fn peek(&self) -> Option<&'a Comment> {
        self.comments.get(self.next)
    }

    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Puts `text` at the end of the last line, after one space.
    fn append(&mut self, text: &str) {
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// A blank line before the thing at `next` if the user left one there.
    fn gap(&mut self, next: usize) {
        if self.started && blank_between(self.src, self.last_end, next) {
            self.blank();
        }
    }

    /// Prints, each on its own line, the comments that start before `before`: those that
    /// precede the next entry, and those inside it (hoisted above the line holding them).
    fn flush(&mut self, before: usize, depth: usize) {
        while let Some(c) = self.peek().filter(|c| c.span.start < before) {
            self.gap(c.span.start);
            self.line(depth, &c.text);
            self.next += 1;
            self.last_end = self.last_end.max(c.span.end);
            self.started = true;
        }
    }

    /// Appends the comments that follow `from` on the same source line (and start before
    /// `limit`, where the next entry begins) to the last printed line.
    fn trailing(&mut self, from: usize, limit: usize) {
        let mut pos = from;
        while let Some(c) = self.peek().filter(|c| {
            c.trailing
                && c.span.start >= pos
                && c.span.start < limit
                && !self
                    .src
                    .get(pos..c.span.start)
                    .is_some_and(|s| s.contains('\n'))
        }) {
            self.append(&c.text);
            self.next += 1;
            pos = c.span.end;
            self.last_end = self.last_end.max(c.span.end);
        }
    }

    fn doc(&mut self, d: &Doc, depth: usize, limit: usize) {
        match d {
            Doc::Leaf { span, lines } => {
                let span = &self.trim(*span);
                self.flush(span.end, depth);
                self.gap(span.start);
                for l in lines {
                    self.line(depth, l);
                }
                self.started = true;
                self.last_end = self.last_end.max(span.end);
                self.trailing(span.end, limit);
            }
            Doc::Block {
                span,
                header,
                children,
            } => {
                let span = &self.trim(*span);
                self.flush(span.start, depth);
                self.gap(span.start);
                let first = children.first().map_or(span.end, Doc::start);
                let inner = self.peek().is_some_and(|c| c.span.start < span.end);
                if children.is_empty() && !inner {
                    self.line(depth, &format!("{header} {{}}"));
                } else {
                    self.line(depth, &format!("{header} {{"));
                    // Comments on the header's own line stay there.
                    self.trailing(span.start, first);
                    self.started = false;
                    for (i, c) in children.iter().enumerate() {
                        let lim = children.get(i + 1).map_or(span.end, Doc::start);
                        self.doc(c, depth + 1, lim);
                    }
                    self.flush(span.end, depth + 1);
                    self.line(depth, "}");
                }
                self.started = true;
                self.last_end = self.last_end.max(span.end);
                self.trailing(span.end, limit);
            }
        }
    }

    // -------------------------------------------------------------- source probing

    /// `span` without the whitespace and comments at its end. Rules ending in an optional
    /// part (`expr`, and so `segment`, `move`, ...) get spans that run over the whitespace and
    /// comments pest skipped while looking for that part; a comment there belongs to what
    /// follows, not to the node.
    fn trim(&self, span: Span) -> Span {
        let b = self.src.as_bytes();
        let mut end = span.end.min(b.len());
        while end > span.start {
            let i = end - 1;
            let at = self.comments.partition_point(|c| c.span.start <= i);
            match at.checked_sub(1).and_then(|k| self.comments.get(k)) {
                Some(c) if i < c.span.end => end = c.span.start,
                _ if b.get(i).is_some_and(u8::is_ascii_whitespace) => end = i,
                _ => break,
            }
        }
        Span::new(span.start, end.max(span.start))
    }

    /// Whether byte `pos` of the source lies inside a comment.
    fn in_comment(&self, pos: usize) -> bool {
        let i = self.comments.partition_point(|c| c.span.start <= pos);
        i > 0 && self.comments.get(i - 1).is_some_and(|c| pos < c.span.end)
    }

    /// The offset of the code byte (not whitespace, not comment) before `pos`, if it is `want`.
    pub(super) fn code_before(&self, pos: usize, want: u8) -> Option<usize> {
        let b = self.src.as_bytes();
        let mut i = pos.min(b.len());
        while i > 0 {
            i -= 1;
            let c = *b.get(i)?;
            if c.is_ascii_whitespace() || self.in_comment(i) {
                continue;
            }
            return (c == want).then_some(i);
        }
        None
    }

    /// The offset of the code byte at or after `pos`, if it is `want`.
    pub(super) fn code_after(&self, pos: usize, want: u8) -> Option<usize> {
        let b = self.src.as_bytes();
        let mut i = pos;
        while let Some(&c) = b.get(i) {
            if !(c.is_ascii_whitespace() || self.in_comment(i)) {
                return (c == want).then_some(i);
            }
            i += 1;
        }
        None
    }
}

/// Whether the source between `a` and `b` holds an empty line.
fn blank_between(src: &str, a: usize, b: usize) -> bool {
    let Some(s) = src.get(a..b) else {
        return false;
    };
    let mut lines = s.split('\n');
    // The text before the first newline and after the last are parts of other lines.
    lines.next();
    let mut rest: Vec<&str> = lines.collect();
    rest.pop();
    rest.iter().any(|l| l.trim().is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::syntax::fmt::tests::check;
    use crate::syntax::parse;

    #[test]
    fn comments_in_every_position() {
        let src = r#"// file header

/* block header */
funnel "F" // trailing on funnel
schema { // header trailing
  // before trait
  trait a: int // trailing trait
  /* before event */ event e { x: int }


  // after blank
  event f
  // before close
} // after schema
segment s = // after eq
  a // inside expr
  and b // end of segment
score sc max 10 { /* hdr */
  +1 when a // rule trail
  // between
  grade A from 1
}
stage S "Disp" {
  // before enter
  enter when a and /* mid */ b // trailing enter
  // before close
}
stage E { /* empty */ }
move S -> T when a // move trailing
// between move and exit
exit x from any when b
cost by source monthly {
  "a": $1, // first
  // second
  "b": 2 EUR
}
test "t" {
  // before traits
  traits { a: 1 } // traits trailing
  events { // events header
    // before first event
    2025-01-01 e { x: 1 } // event trailing
    // before events close
  } // after events
  expect stage S // expect trailing
}
// end of file

/* eof block
   spans lines */
"#;
        let want = r#"// file header

/* block header */
funnel "F" // trailing on funnel

schema { // header trailing
  // before trait
  trait a: int // trailing trait
  /* before event */
  event e { x: int }

  // after blank
  event f
  // before close
} // after schema

// after eq
// inside expr
segment s = a and b // end of segment

score sc max 10 { /* hdr */
  +1 when a // rule trail
  // between
  grade A from 1
}

stage S "Disp" {
  // before enter
  /* mid */
  enter when a and b // trailing enter
  // before close
}

stage E { /* empty */
}

move S -> T when a // move trailing
// between move and exit
exit x from any when b

cost by source monthly {
  "a": $1, // first
  // second
  "b": 2 EUR,
}

test "t" {
  // before traits
  traits { a: 1 } // traits trailing
  events { // events header
    // before first event
    2025-01-01 e { x: 1 } // event trailing
    // before events close
  } // after events
  expect stage S // expect trailing
}
// end of file

/* eof block
   spans lines */
"#;
        assert_eq!(check(src), want);
    }

    #[test]
    fn format_file_without_source() {
        // A tree built in code: no comments, no source to consult.
        let parsed = parse("stage A \"x\" {\n  enter when a and b\n}\nexit x from [A] when c\n");
        let out = format_file(&parsed.file, &[], "");
        assert_eq!(
            out,
            "stage A \"x\" {\n  enter when a and b\n}\n\nexit x from A when c\n"
        );
    }
}
