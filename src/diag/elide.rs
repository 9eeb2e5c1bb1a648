//! Long lines shortened for display: a diagnostic on a line of 100,000 characters shows the
//! text around its labels, not the whole line (the terminal renderer also cannot place a
//! label past column 65,535). Lines keep their numbers; only text inside long lines goes.

use crate::span::Span;

/// Lines longer than this many bytes are shortened.
pub const LONG: usize = 240;
/// Bytes kept on each side of a label's start and end.
const AROUND: usize = 40;
const GAP: &str = "…";

/// A source with its long lines shortened, and the map from original offsets to its own.
#[derive(Clone)]
pub struct Elided {
    pub text: String,
    /// Kept pieces, in order: (original start, original end, start in `text`).
    kept: Vec<(usize, usize, usize)>,
}

impl Elided {
    /// `source` with every line longer than [`LONG`] cut down to the text around `points`
    /// (the offsets labels start and end at) and its first bytes. `None` when no line is long.
    pub fn new(source: &str, points: &[usize]) -> Option<Elided> {
        let mut lines = Vec::new();
        let mut start = 0;
        for line in source.split_inclusive('\n') {
            if line.len() > LONG {
                lines.push((start, start + line.len()));
            }
            start += line.len();
        }
        if lines.is_empty() {
            return None;
        }
        let mut points = points.to_vec();
        points.sort_unstable();
        let mut keep: Vec<(usize, usize)> = Vec::new();
        let mut from = 0;
        for (ls, le) in lines {
            // Everything before this long line is kept as it is.
            keep.push((from, ls));
            let mut windows = vec![(ls, ls + AROUND)];
            let first = points.partition_point(|p| *p < ls);
            for &p in points[first..].iter().take_while(|p| **p <= le) {
                windows.push((p.saturating_sub(AROUND).max(ls), p + AROUND));
            }
            // The line's end, so that its newline stays.
            windows.push((le.saturating_sub(1).max(ls), le));
            for (a, b) in windows {
                let a = floor(source, a.max(ls));
                let b = ceil(source, b.min(le));
                match keep.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => keep.push((a, b)),
                }
            }
            from = le;
        }
        keep.push((from, source.len()));
        let mut text = String::with_capacity(source.len().min(1 << 20));
        let mut kept = Vec::with_capacity(keep.len());
        let mut prev_end = 0;
        for (a, b) in keep.into_iter().filter(|(a, b)| a < b) {
            if a > prev_end {
                text.push_str(GAP);
            }
            kept.push((a, b, text.len()));
            text.push_str(&source[a..b]);
            prev_end = b;
        }
        Some(Elided { text, kept })
    }

    /// Where an original offset lands in the shortened text: inside a kept piece, exactly;
    /// inside a cut, on the `…` that replaces it.
    pub fn offset(&self, at: usize) -> usize {
        let i = self.kept.partition_point(|(a, _, _)| *a <= at);
        match i.checked_sub(1).and_then(|k| self.kept.get(k)) {
            Some(&(a, b, n)) if at <= b => n + (at - a),
            Some(&(_, _, n)) => {
                // In the cut after piece `k`: the marker sits right before the next piece.
                let next = self.kept.get(i).map_or(self.text.len(), |p| p.2);
                next.saturating_sub(GAP.len()).max(n)
            }
            None => 0,
        }
    }

    /// The original offset of an offset in the shortened text (a marker: the cut's end).
    pub fn back(&self, at: usize) -> usize {
        let i = self.kept.partition_point(|(_, _, n)| *n <= at);
        match i.checked_sub(1).and_then(|k| self.kept.get(k)) {
            Some(&(a, b, n)) if at - n <= b - a => a + (at - n),
            _ => self.kept.get(i).map_or(at, |p| p.0),
        }
    }

    pub fn span(&self, s: Span) -> Span {
        let start = self.offset(s.start);
        Span::new(start, self.offset(s.end).max(start))
    }
}

fn floor(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn short_sources_are_left_alone() {
        assert!(Elided::new("stage A {}\n", &[3]).is_none());
    }

    #[test]
    fn long_lines_keep_their_labels_and_their_number() {
        let long = format!("x = {} target {}\n", "a".repeat(5_000), "é".repeat(3_000));
        let src = format!("first\n{long}last\n");
        let at = src.find("target").unwrap();
        let e = Elided::new(&src, &[at, at + 6]).unwrap();
        assert_eq!(e.text.lines().count(), 3);
        assert!(e.text.len() < 400, "{}", e.text.len());
        let s = e.span(Span::new(at, at + 6));
        assert_eq!(&e.text[s.start..s.end], "target");
        assert!(e.text.starts_with("first\nx = aaa"));
        assert!(e.text.ends_with("…\nlast\n"), "{}", e.text.len());
        // An offset inside a cut lands on its marker; every offset maps inside the text.
        assert_eq!(e.back(s.start), at);
        let cut = e.offset(src.find('a').unwrap() + 2_000);
        assert_eq!(&e.text[cut..cut + GAP.len()], GAP);
        for o in (0..=src.len()).step_by(97) {
            assert!(e.offset(o) <= e.text.len());
            assert!(e.text.is_char_boundary(e.offset(o)));
        }
    }
}
