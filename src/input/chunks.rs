//! The lines of a regular file, read in parallel by byte ranges, for a pass that looks at each
//! line on its own and keeps little (the first pass that finds the default evaluation
//! moment).
//!
//! [`super::lines::LineReader`] reads a stream in order, so its workers take turns at one
//! reader under a lock; when the work per line is a quick scan, the copying of the file out of
//! the page cache under that lock is most of the pass, and the two cores wait on each other.
//! Here each worker reads its own range with a positional read (`pread`), so the copying runs
//! on every core at once and nothing waits. Ranges are small enough that a range's bytes are
//! still in the core's cache when its lines are scanned.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use rayon::prelude::*;

use super::lines::BOM;

/// The size of each range, in bytes.
pub const CHUNK: u64 = 1 << 20;

/// The lines that start in one range of the file.
pub struct Chunk<'a> {
    buf: &'a [u8],
    /// Where `buf` starts in the file.
    pub base: u64,
    /// For each non-blank line: how many lines of the range came before it (its line number
    /// less the first line's), and its bytes in [`Chunk::line`], its newline included.
    pub lines: Vec<(u64, Range<usize>)>,
}

impl Chunk<'_> {
    pub fn line(&self, r: &Range<usize>) -> &[u8] {
        self.buf.get(r.clone()).unwrap_or_default()
    }
}

/// Splits `file` (`len` bytes) into ranges of `chunk` bytes and gives each range's lines to
/// `work`, in parallel on the current pool. A line belongs to the range it starts in, and is
/// read whole however far it runs past it. Returns, in file order, each range's count of
/// line ends and what `work` made of it: the line number of a line is 1, plus the line ends
/// of every earlier range, plus its place in its own range.
pub fn par_lines<T: Send>(
    file: &File,
    len: u64,
    chunk: u64,
    work: &(dyn Fn(Chunk<'_>) -> T + Sync),
) -> std::io::Result<Vec<(u64, T)>> {
    let chunk = chunk.max(1);
    let count = len.div_ceil(chunk);
    (0..count)
        .into_par_iter()
        .map(|k| {
            BUF.with_borrow_mut(|buf| {
                let start = k * chunk;
                let end = len.min(start + chunk);
                let (newlines, lines, base) = split(file, len, start, end, buf)?;
                let made = work(Chunk {
                    buf: buf.bytes(),
                    base,
                    lines,
                });
                // A buffer grown for a long line is not kept for the rest of the run.
                if buf.data.len() > 4 * CHUNK as usize {
                    *buf = Buf {
                        data: Vec::new(),
                        filled: 0,
                    };
                }
                Ok((newlines, made))
            })
        })
        .collect()
}

std::thread_local! {
    /// Each thread's buffer, kept from range to range: a new one per range cost the kernel
    /// mapping and zeroing fresh pages, more than the reading itself.
    static BUF: std::cell::RefCell<Buf> = const { std::cell::RefCell::new(Buf { data: Vec::new(), filled: 0 }) };
}

/// Bytes read into `data[..filled]`; `data` only grows, and is zeroed only as it does.
struct Buf {
    data: Vec<u8>,
    filled: usize,
}

impl Buf {
    fn bytes(&self) -> &[u8] {
        self.data.get(..self.filled).unwrap_or_default()
    }
}

/// A range's count of line ends, its lines (see [`Chunk::lines`]), and where its buffer
/// starts in the file.
type Split = (u64, Vec<(u64, Range<usize>)>, u64);

/// Reads the range `start..end` into `buf`, and the rest of the line still open at `end`.
fn split(file: &File, len: u64, start: u64, end: u64, buf: &mut Buf) -> std::io::Result<Split> {
    // The byte before the range says whether a line starts at its first byte. It is read on
    // its own: reading it with the range would start the copy one byte off the page, which
    // made the kernel's copy nearly three times slower.
    let mut before = [0u8];
    let starts_line = start == 0 || {
        let got = loop {
            match file.read_at(&mut before, start - 1) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        got == 1 && before[0] == b'\n'
    };
    let base = start;
    buf.filled = 0;
    read_at(file, base, (end - base) as usize, buf)?;
    // The range's end in `buf` (shorter if the file shrank since its length was read).
    let stop = buf.filled.min((end - base) as usize);
    let mut pos = 0;
    let mut newlines = 0;
    if !starts_line {
        // The range starts inside a line, which belongs to an earlier range.
        match memchr::memchr(b'\n', buf.bytes().get(pos..stop).unwrap_or_default()) {
            Some(i) => {
                pos += i + 1;
                newlines += 1;
            }
            None => return Ok((0, Vec::new(), base)),
        }
    }
    let mut lines = Vec::new();
    while pos < stop {
        let nl = loop {
            if let Some(i) = memchr::memchr(b'\n', buf.bytes().get(pos..).unwrap_or_default()) {
                break Some(pos + i);
            }
            // The line runs past what is read: read on until it ends or the file does.
            let at = base + buf.filled as u64;
            // In small steps, growing with what the line has taken so far: most lines end
            // within a few kilobytes, and every byte read past the range is read again by
            // the next range.
            let step = buf
                .filled
                .saturating_sub(stop)
                .clamp(16 << 10, CHUNK as usize);
            if at >= len || read_at(file, at, step, buf)? == 0 {
                break None;
            }
        };
        let line_end = nl.map_or(buf.filled, |i| i + 1);
        let mut from = pos;
        // The editor's byte-order mark before the first line, dropped as the stream reader
        // drops it.
        if start == 0 && pos == 0 && buf.bytes().starts_with(BOM) {
            from = BOM.len().min(line_end);
        }
        let text = buf.bytes().get(from..line_end).unwrap_or_default();
        if !text.iter().all(u8::is_ascii_whitespace) {
            lines.push((newlines, from..line_end));
        }
        if nl.is_some_and(|i| i < stop) {
            newlines += 1;
        }
        pos = line_end;
    }
    Ok((newlines, lines, base))
}

/// Appends up to `want` bytes of `file` from `offset` to `buf`; returns how many (fewer at the
/// end of the file).
fn read_at(file: &File, offset: u64, want: usize, buf: &mut Buf) -> std::io::Result<usize> {
    let from = buf.filled;
    if buf.data.len() < from + want {
        buf.data.resize(from + want, 0);
    }
    let mut got = 0;
    while got < want {
        let space = buf
            .data
            .get_mut(from + got..from + want)
            .unwrap_or_default();
        match file.read_at(space, offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.filled = from + got;
    Ok(got)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every non-blank line with its line number and offset, as `par_lines` numbers them.
    fn numbered(text: &[u8], chunk: u64) -> Vec<(u64, u64, Vec<u8>)> {
        let path = std::env::temp_dir().join(format!(
            "funnelc-chunks-{}-{chunk}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        let file = File::open(&path).unwrap();
        let per = par_lines(&file, text.len() as u64, chunk, &|c: Chunk<'_>| {
            c.lines
                .iter()
                .map(|(n, r)| (*n, c.base + r.start as u64, c.line(r).to_vec()))
                .collect::<Vec<_>>()
        })
        .unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut before = 0;
        let mut out = Vec::new();
        for (newlines, lines) in per {
            for (n, offset, line) in lines {
                out.push((1 + before + n, offset, line));
            }
            before += newlines;
        }
        out
    }

    /// The same, the plain way.
    fn expected(text: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
        let mut out = Vec::new();
        let mut offset = 0;
        let bom = if text.starts_with(BOM) { BOM.len() } else { 0 };
        for (i, line) in text.split_inclusive(|b| *b == b'\n').enumerate() {
            let skip = if i == 0 { bom } else { 0 };
            let body = &line[skip..];
            if !body.iter().all(u8::is_ascii_whitespace) {
                out.push((i as u64 + 1, offset + skip as u64, body.to_vec()));
            }
            offset += line.len() as u64;
        }
        out
    }

    #[test]
    fn every_line_once_with_its_number_whatever_the_range_size() {
        let mut text = Vec::new();
        text.extend_from_slice(BOM);
        for i in 0..300 {
            // Lines of many lengths, blank ones, and one far longer than a range.
            let len = if i == 150 { 5000 } else { i % 37 };
            text.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            text.push(b'\n');
            if i % 50 == 0 {
                text.extend_from_slice(b"  \n\n");
            }
        }
        text.extend_from_slice(b"no newline at the end");
        let want = expected(&text);
        for chunk in [1, 2, 3, 7, 64, 1000, 4096, 1 << 20] {
            assert_eq!(numbered(&text, chunk), want, "ranges of {chunk}");
        }
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            assert_eq!(pool.install(|| numbered(&text, 5)), want);
        }
    }

    #[test]
    fn an_empty_file_has_no_lines() {
        assert!(numbered(b"", 4).is_empty());
        assert!(numbered(b"\n\n \n", 2).is_empty());
    }
}
