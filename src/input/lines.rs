//! Lines of a large input, read in big blocks and handed out in batches of byte ranges.
//!
//! Reading one `String` per line costs an allocation, a copy and a UTF-8 check on the one
//! thread that reads; here the reader only fills large buffers and finds line ends, and the
//! workers check and parse the lines of a batch in parallel.

use std::io::Read;
use std::ops::Range;
use std::sync::Arc;

/// A batch ends at this many non-blank lines…
pub const BATCH_LINES: usize = 4096;
/// …or once its lines hold this much text, whichever comes first: memory stays bounded however
/// large each lead is, and where a batch ends depends only on the input.
pub const BATCH_BYTES: usize = 8 << 20;
/// Batches worked on at once while the next is read: enough that no worker waits for another
/// at the end of a batch, few enough that memory stays a few batches.
pub const IN_FLIGHT: usize = 3;
/// Each read asks for this much.
const BLOCK: usize = 8 << 20;

/// Some lines of the input: `buf[range]` for each, with its 1-based line number.
#[derive(Default)]
pub struct Batch {
    pub buf: Arc<Vec<u8>>,
    pub lines: Vec<(usize, Range<usize>)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn line(&self, r: &Range<usize>) -> &[u8] {
        self.buf.get(r.clone()).unwrap_or_default()
    }
}

/// A read error, with the line being read when it happened.
#[derive(Debug)]
pub struct ReadError {
    pub line: usize,
    pub error: std::io::Error,
}

pub struct LineReader<R> {
    inner: R,
    /// Buffers are zero-filled once, when first made, and reused: `buf[..filled]` is input.
    buf: Arc<Vec<u8>>,
    filled: usize,
    /// Where the next line starts in `buf`.
    pos: usize,
    eof: bool,
    line_no: usize,
    /// Buffers of earlier batches, for reuse once no batch holds them.
    retired: Vec<Arc<Vec<u8>>>,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R) -> Self {
        LineReader {
            inner,
            buf: Arc::new(Vec::new()),
            filled: 0,
            pos: 0,
            eof: false,
            line_no: 0,
            retired: Vec::new(),
        }
    }

    /// The next batch; an empty batch is the end of the input.
    pub fn next_batch(&mut self) -> Result<Batch, ReadError> {
        let mut lines = Vec::with_capacity(BATCH_LINES.min(1024));
        let mut bytes = 0;
        while lines.len() < BATCH_LINES && bytes < BATCH_BYTES {
            let rest = self.buf.get(self.pos..self.filled).unwrap_or_default();
            let end = match memchr::memchr(b'\n', rest) {
                Some(nl) => self.pos + nl + 1,
                None if self.eof && rest.is_empty() => break,
                None if self.eof => self.filled,
                None => {
                    // The lines found so far point into this buffer: hand them out first.
                    if !lines.is_empty() {
                        break;
                    }
                    self.refill()?;
                    continue;
                }
            };
            let range = self.pos..end;
            self.pos = end;
            self.line_no += 1;
            bytes += range.len();
            let text = self.buf.get(range.clone()).unwrap_or_default();
            if !text.iter().all(u8::is_ascii_whitespace) {
                lines.push((self.line_no, range));
            }
        }
        Ok(Batch {
            buf: Arc::clone(&self.buf),
            lines,
        })
    }

    /// A new buffer: the unfinished line at the end of the old one, then input until the buffer
    /// is full (a block at least), and more, in a larger buffer, until a line ends or the input
    /// does.
    fn refill(&mut self) -> Result<(), ReadError> {
        let current = Arc::clone(&self.buf);
        let rest = current.get(self.pos..self.filled).unwrap_or_default();
        let mut next = self.spare(rest.len() + BLOCK);
        let mut filled = rest.len();
        if let Some(head) = next.get_mut(..filled) {
            head.copy_from_slice(rest);
        }
        let mut scanned = filled;
        loop {
            if filled == next.len() {
                if memchr::memchr(b'\n', next.get(scanned..).unwrap_or_default()).is_some() {
                    break;
                }
                // A line longer than the buffer: a larger one, zero-filled once.
                scanned = filled;
                next.resize(next.len() * 2, 0);
            }
            let Some(space) = next.get_mut(filled..) else {
                break;
            };
            match self.inner.read(space) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    return Err(ReadError {
                        line: self.line_no + 1,
                        error,
                    })
                }
            }
        }
        drop(current);
        let old = std::mem::replace(&mut self.buf, Arc::new(next));
        // The first, empty buffer is not worth keeping.
        if self.retired.len() < 4 && !old.is_empty() {
            self.retired.push(old);
        }
        self.filled = filled;
        self.pos = 0;
        Ok(())
    }

    /// A buffer of at least `len` bytes that no batch holds any more, else a new one. Reusing
    /// them spares the kernel zeroing fresh pages for every block (and `read_to_end` its
    /// growing and copying).
    fn spare(&mut self, len: usize) -> Vec<u8> {
        while let Some(i) = self.retired.iter().position(|b| Arc::strong_count(b) == 1) {
            if let Ok(mut v) = Arc::try_unwrap(self.retired.swap_remove(i)) {
                if v.len() < len {
                    v.resize(len, 0);
                }
                return v;
            }
        }
        // Room for a block and the unfinished line before it, so that buffers are seldom
        // grown when reused.
        vec![0; len.max(BLOCK + (256 << 10))]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per call.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn all_lines(data: &[u8], step: usize) -> Vec<(usize, Vec<u8>)> {
        let mut r = LineReader::new(Trickle(data, step));
        let mut out = Vec::new();
        loop {
            let b = r.next_batch().unwrap();
            if b.is_empty() {
                return out;
            }
            for (n, range) in &b.lines {
                out.push((*n, b.line(range).to_vec()));
            }
        }
    }

    #[test]
    fn lines_and_numbers_whatever_the_read_size() {
        let data = b"a\n\n  \nbb\r\nccc";
        let want = vec![
            (1, b"a\n".to_vec()),
            (4, b"bb\r\n".to_vec()),
            (5, b"ccc".to_vec()),
        ];
        for step in [1, 2, 3, 7, 1 << 20] {
            assert_eq!(all_lines(data, step), want, "step {step}");
        }
        assert!(all_lines(b"", 1).is_empty());
        assert!(all_lines(b"\n\n", 1).is_empty());
    }

    #[test]
    fn batches_are_bounded_by_lines() {
        let data: Vec<u8> = (0..10_000)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let mut r = LineReader::new(&data[..]);
        let mut sizes = Vec::new();
        loop {
            let b = r.next_batch().unwrap();
            if b.is_empty() {
                break;
            }
            sizes.push(b.lines.len());
        }
        assert_eq!(sizes, vec![4096, 4096, 1808]);
    }

    #[test]
    fn a_line_longer_than_a_block_is_whole() {
        let mut data = vec![b'x'; BLOCK * 2 + 5];
        data.extend_from_slice(b"\nend\n");
        let lines = all_lines(&data, 1 << 20);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].1.len(), BLOCK * 2 + 6);
        assert_eq!(lines[1], (2, b"end\n".to_vec()));
    }
}
