//! Lines of a large input, read in blocks and handed out in batches of byte ranges.
//!
//! Reading one `String` per line costs an allocation, a copy and a UTF-8 check on the one
//! thread that reads; here the reader only fills buffers and finds line ends, and the workers
//! check and parse the lines. Blocks are small (1 MB) so that a batch is still in the core's
//! own cache (2 MB of L2 here) when it is parsed: with 8 MB blocks every byte went out to
//! memory and back, and a run took a tenth longer.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// A batch ends at this many non-blank lines…
pub const BATCH_LINES: usize = 512;
/// …or once its lines hold this much text, whichever comes first: memory stays bounded however
/// large each lead is, and where a batch ends depends only on the input.
pub const BATCH_BYTES: usize = 1 << 20;
/// Batches read and not yet handed on (being worked on, or done and waiting for an earlier
/// one): enough that no worker waits for another, few enough that memory stays a few batches.
pub const IN_FLIGHT: usize = 6;
/// Each read asks for this much.
const BLOCK: usize = 1 << 20;

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Some lines of the input: `buf[range]` for each, with its 1-based line number.
#[derive(Default)]
pub struct Batch {
    pub buf: Arc<Vec<u8>>,
    pub lines: Vec<(usize, Range<usize>)>,
    /// Where `buf` starts in the input, in bytes: a line can be found again by its offset.
    pub base: u64,
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
    /// Where `buf` starts in the input.
    base: u64,
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
            base: 0,
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
            let mut range = self.pos..end;
            self.pos = end;
            self.line_no += 1;
            // A byte-order mark before the first line is the editor's, not the data's, as in
            // rule files.
            if self.line_no == 1
                && self
                    .buf
                    .get(range.clone())
                    .is_some_and(|t| t.starts_with(BOM))
            {
                range.start += BOM.len();
            }
            bytes += range.len();
            let text = self.buf.get(range.clone()).unwrap_or_default();
            if !text.iter().all(u8::is_ascii_whitespace) {
                lines.push((self.line_no, range));
            }
        }
        Ok(Batch {
            buf: Arc::clone(&self.buf),
            lines,
            base: self.base,
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
        // The new buffer starts with the unfinished line, which started at `pos`.
        self.base += self.pos as u64;
        let old = std::mem::replace(&mut self.buf, Arc::new(next));
        // The first, empty buffer is not worth keeping.
        if self.retired.len() < IN_FLIGHT + 2 && !old.is_empty() {
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

/// Reads `reader` to its end in batches, puts each through `work` and hands the results to
/// `take` in input order, until `take` says stop (`Ok(false)`). A read error comes back after
/// everything read before it was taken.
///
/// On one thread (a pool of one), reading, working and taking go in turns on the calling
/// thread. On more, each worker of the pool reads its own batch (one at a time, under a lock
/// that also numbers the batches) and works on it at once, while the data is in its cache;
/// the calling thread only takes results, in order.
pub fn flow<R: Read + Send, U: Send>(
    mut reader: LineReader<R>,
    work: &(dyn Fn(Batch) -> U + Sync),
    mut take: impl FnMut(U) -> bool,
) -> Result<bool, ReadError> {
    if rayon::current_num_threads() == 1 {
        loop {
            let batch = reader.next_batch()?;
            if batch.is_empty() {
                return Ok(true);
            }
            if !take(work(batch)) {
                return Ok(false);
            }
        }
    }
    enum Done<U> {
        Worked(usize, U),
        End,
        Failed(ReadError),
        // Passed on to the calling thread, which would otherwise wait for this batch forever.
        Panicked(Box<dyn std::any::Any + Send>),
    }
    // The reader, the number of the next batch, and whether the input is over.
    let shared = Mutex::new((reader, 0usize, false));
    let next = || -> Result<Option<(usize, Batch)>, ReadError> {
        let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
        let (reader, number, over) = &mut *guard;
        if *over {
            return Ok(None);
        }
        let batch = reader.next_batch().inspect_err(|_| *over = true)?;
        if batch.is_empty() {
            *over = true;
            return Ok(None);
        }
        *number += 1;
        Ok(Some((*number - 1, batch)))
    };
    let next = &next;
    let (tx, rx) = std::sync::mpsc::channel::<Done<U>>();
    let mut error = None;
    let mut panicked = None;
    let mut stopped = false;
    rayon::in_place_scope(|s| {
        let mut finished: BTreeMap<usize, U> = BTreeMap::new();
        let (mut running, mut given) = (0, 0);
        let mut more = true;
        loop {
            while more && running + finished.len() < IN_FLIGHT {
                let tx = tx.clone();
                s.spawn(move |_| {
                    let done =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match next() {
                            Ok(Some((at, batch))) => Done::Worked(at, work(batch)),
                            Ok(None) => Done::End,
                            Err(e) => Done::Failed(e),
                        }));
                    let _ = tx.send(done.unwrap_or_else(Done::Panicked));
                });
                running += 1;
            }
            if running == 0 {
                break;
            }
            let Ok(done) = rx.recv() else {
                break;
            };
            running -= 1;
            match done {
                Done::Worked(at, u) => {
                    finished.insert(at, u);
                }
                Done::End => more = false,
                Done::Failed(e) => {
                    // What was read before the error is still worked on and taken.
                    error = Some(e);
                    more = false;
                }
                Done::Panicked(p) => {
                    panicked = Some(p);
                    more = false;
                    stopped = true;
                }
            }
            while let Some(u) = finished.remove(&given) {
                given += 1;
                if !stopped && !take(u) {
                    // Batches still being worked on finish, untaken.
                    stopped = true;
                    more = false;
                }
            }
        }
    });
    if let Some(p) = panicked {
        std::panic::resume_unwind(p);
    }
    match error {
        Some(e) if !stopped => Err(e),
        _ => Ok(!stopped),
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
                // Each line is where its offset says it is in the input.
                let at = b.base as usize + range.start;
                assert_eq!(&data[at..at + range.len()], b.line(range));
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
    fn a_byte_order_mark_before_the_first_line_is_dropped() {
        let data = b"\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBF{}\n";
        for step in [1, 2, 3, 4, 64] {
            let lines = all_lines(data, step);
            assert_eq!(
                lines,
                vec![
                    (1, b"{\"a\":1}\n".to_vec()),
                    (2, b"\xEF\xBB\xBF{}\n".to_vec())
                ],
                "read {step} bytes at a time"
            );
        }
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
        let n = BATCH_LINES;
        assert_eq!(
            sizes,
            vec![n; 10_000 / n]
                .into_iter()
                .chain([10_000 % n])
                .collect::<Vec<_>>()
        );
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

    /// Gives `data`, then fails.
    struct Breaks<'a>(&'a [u8]);
    impl Read for Breaks<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = self.0.len().min(out.len()).min(1000);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn numbered(lines: usize) -> Vec<u8> {
        (1..=lines)
            .flat_map(|i| format!("{i} {}\n", "x".repeat(i % 300)).into_bytes())
            .collect()
    }

    /// The first number of each line of each batch, in the order `take` saw them.
    fn flowed(threads: usize, r: impl Read + Send, stop_after: usize) -> (Vec<usize>, String) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let work = |b: Batch| -> Vec<(usize, usize)> {
            let lines = b.lines.iter().map(|(n, r)| {
                let text = std::str::from_utf8(b.line(r)).unwrap();
                (*n, text.split(' ').next().unwrap().parse().unwrap())
            });
            lines.collect()
        };
        let mut seen = Vec::new();
        let result = pool.install(|| {
            flow(LineReader::new(r), &work, |batch| {
                for (n, first) in batch {
                    assert_eq!(n, first, "line numbers follow the input");
                    seen.push(first);
                }
                seen.len() < stop_after
            })
        });
        let how = match result {
            Ok(all) => format!("{all}"),
            Err(e) => format!("line {}: {}", e.line, e.error),
        };
        (seen, how)
    }

    #[test]
    fn flow_hands_batches_on_in_input_order_on_any_number_of_threads() {
        let data = numbered(20_000);
        let all: Vec<usize> = (1..=20_000).collect();
        for threads in [1, 2, 3, 8] {
            assert_eq!(
                flowed(threads, &data[..], usize::MAX),
                (all.clone(), "true".into())
            );
            // Stopping takes nothing more, whatever was still being worked on.
            let (seen, how) = flowed(threads, &data[..], 5_000);
            assert_eq!(how, "false");
            assert_eq!(seen, all[..seen.len()]);
            assert!(seen.len() >= 5_000 && seen.len() < 5_000 + BATCH_LINES);
        }
    }

    #[test]
    fn flow_takes_everything_read_before_a_read_error() {
        let data = numbered(20_000);
        for threads in [1, 2, 4] {
            let (seen, how) = flowed(threads, Breaks(&data), usize::MAX);
            // Lines up to the last whole one were read; the error names the line after them.
            let last = *seen.last().unwrap();
            assert!(last > 10_000 && last < 20_000, "{last}");
            assert_eq!(seen, (1..=last).collect::<Vec<_>>());
            assert_eq!(
                how,
                format!("line {}: disk on fire", last + 1),
                "{threads} threads"
            );
        }
    }

    #[test]
    fn a_panic_in_a_worker_reaches_the_caller() {
        let data = numbered(5_000);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let work = |b: Batch| {
            assert!(b.lines.iter().all(|(n, _)| *n != 4_000), "boom");
        };
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| flow(LineReader::new(&data[..]), &work, |_| true))
        }));
        assert!(caught.is_err());
    }
}
