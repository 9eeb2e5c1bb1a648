//! The default evaluation moment of lead-per-line JSONL: the latest event instant in the
//! file, found by a first, light pass before the leads are read (`funnelc eval` without
//! `--as-of`).

use std::io::BufRead;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use super::{open_file, Data, Error, LatestEvent};
use crate::input::chunks::{par_lines, Chunk, CHUNK};
use crate::input::{fastjson, jsonl};

/// A line of lead-per-line JSONL: its number and its offset in bytes.
pub type Place = (usize, u64);

/// The latest event instant in a lead-per-line file, with the first line that holds it (its
/// number and offset). `Ok(None)` when the file has leads but no events; 1970-01-01 (never
/// used: nothing is evaluated) when it has no leads at all.
///
/// Only the `at` fields are read, and most lines are passed over by a scan (see
/// [`fastjson::below_floor`]). The file is read in ranges, each by its own positional read
/// ([`par_lines`]): read in turns from one stream, the copying out of the page cache was most
/// of this pass, and the cores waited on each other for it (docs/performance.md).
pub fn latest_event_time(path: &Path) -> Result<Option<(i64, Option<Place>)>, Error> {
    if path.as_os_str() == "-" {
        return Err(Error::Usage(
            "standard input was not kept for a second pass; pass --as-of".into(),
        ));
    }
    let file = open_file(path)?;
    let meta = file.metadata().map_err(|e| {
        Error::Usage(format!(
            "cannot read `{}`: {}",
            path.display(),
            super::io_reason(&e)
        ))
    })?;
    // A pipe read by this pass would be empty for the next: every lead silently lost.
    if !meta.is_file() {
        return Err(Error::Usage(format!(
            "{} is not a regular file, so it cannot be read twice; pass --as-of",
            path.display()
        )));
    }
    latest_in_file(&file, meta.len(), CHUNK)
}

/// [`latest_event_time`] of an open regular file of `len` bytes, read in ranges of `chunk`.
fn latest_in_file(
    file: &std::fs::File,
    len: u64,
    chunk: u64,
) -> Result<Option<(i64, Option<Place>)>, Error> {
    // The latest instant found so far, by any worker: instants before it need not be read.
    // Whatever the order ranges are looked at in, the maximum is the same.
    let so_far = AtomicI64::new(i64::MIN);
    let any_lead = AtomicBool::new(false);
    // Per range: its latest instant with the first of its lines holding it (number within
    // the range, offset). Instants equal to the floor are always read, so every line holding
    // the input's latest reports it, and the first of them is found whatever the order.
    let latest_in = |c: Chunk<'_>| -> Option<(i64, u64, u64)> {
        if !c.lines.is_empty() {
            any_lead.store(true, Ordering::Relaxed);
        }
        let mut latest = so_far.load(Ordering::Relaxed);
        let mut here: Option<(i64, u64, u64)> = None;
        // The floor as text, remade when it moves.
        let mut floor = (latest, fastjson::floor_text(latest));
        for (n, r) in &c.lines {
            if floor.0 != latest {
                floor = (latest, fastjson::floor_text(latest));
            }
            // Most lines hold no instant at or after the latest so far: told by a scan, not
            // a parse.
            if floor
                .1
                .is_some_and(|f| fastjson::below_floor(c.line(r), &f))
            {
                continue;
            }
            // A line that is not text has no instant; the full read reports it.
            let Ok(line) = simdutf8::basic::from_utf8(c.line(r)) else {
                continue;
            };
            let floor = (latest > i64::MIN).then_some(latest);
            if let Some(at) = jsonl::latest_at(line, floor) {
                latest = latest.max(at);
                if here.is_none_or(|(t, _, _)| at > t) {
                    here = Some((at, *n, c.base + r.start as u64));
                }
            }
        }
        so_far.fetch_max(latest, Ordering::Relaxed);
        here
    };
    // A read error leaves the moment to what was read; the full read reports it, with its
    // line number.
    let ranges = par_lines(file, len, chunk, &latest_in).unwrap_or_default();
    let latest = so_far.into_inner();
    if !any_lead.into_inner() {
        return Ok(Some((0, None)));
    }
    // The first line holding the latest instant: ranges in file order, line numbers counted
    // on from the line ends of the ranges before.
    let mut before = 0u64;
    let mut place = None;
    for (newlines, here) in ranges {
        if let Some((t, n, offset)) = here {
            if t == latest && place.is_none() {
                place = Some(((1 + before + n) as usize, offset));
            }
        }
        before += newlines;
    }
    Ok((latest > i64::MIN).then_some((latest, place)))
}

/// The event at `at` on the line at `(line, offset)` of lead-per-line JSONL, read again.
pub(super) fn on_line(data: &Data, at: i64, (line, offset): Place) -> Option<LatestEvent> {
    use std::io::{Read as _, Seek};
    let mut f = std::fs::File::open(&data.leads).ok()?;
    f.seek(std::io::SeekFrom::Start(offset)).ok()?;
    let mut text = Vec::new();
    std::io::BufReader::new(f)
        .take(1 << 30)
        .read_until(b'\n', &mut text)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let lead = match value.get("id") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let events = value.get("events")?.as_array()?;
    let (i, e) = events.iter().enumerate().find(|(_, e)| {
        e.get("at")
            .and_then(|a| a.as_str())
            .and_then(|a| crate::time::parse_timestamp(a).ok())
            .is_some_and(|t| t.millis == at)
    })?;
    let ty = e.get("type").and_then(|t| t.as_str()).unwrap_or("?");
    Some(LatestEvent {
        at,
        origin: format!("{}:{line}", data.name),
        lead,
        event: format!("events[{i}] ({ty})"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_instant_is_placed_on_the_first_line_holding_it() {
        let dir = std::env::temp_dir().join(format!("funnelc-latest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("leads.jsonl");
        let line = |i: usize| {
            let at = if i == 1500 || i == 2900 {
                "2026-01-01T00:00:00Z"
            } else {
                "2025-01-01T00:00:00Z"
            };
            // Blank lines count in line numbers.
            let blank = if i.is_multiple_of(100) { "\n" } else { "" };
            format!("{{\"id\":\"L{i}\",\"events\":[{{\"type\":\"x\",\"at\":\"{at}\"}}]}}\n{blank}")
        };
        let text: String = (1..=3000).map(line).collect();
        std::fs::write(&path, &text).unwrap();
        let offset = text.find("\"L1500\"").unwrap() as u64 - 6;
        let at = crate::time::parse_timestamp("2026-01-01T00:00:00Z")
            .unwrap()
            .millis;
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool.install(|| latest_event_time(&path)).unwrap();
            assert_eq!(got, Some((at, Some((1514, offset)))), "{threads} threads");
            // Ranges far smaller than a line, and of a few lines.
            let file = std::fs::File::open(&path).unwrap();
            for chunk in [7, 100, 4096] {
                let got = pool
                    .install(|| latest_in_file(&file, text.len() as u64, chunk))
                    .unwrap();
                assert_eq!(
                    got,
                    Some((at, Some((1514, offset)))),
                    "{threads} threads, {chunk}"
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
