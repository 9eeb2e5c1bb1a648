//! The lead ids met so far in a lead-per-line input, so that a second lead with an id already
//! used is an error rather than a second row for the same lead.
//!
//! A set of the ids themselves would grow by the ids' length and an allocation per lead. This
//! table keeps 8 bytes a slot: 40 bits of the id's hash and the number of the batch (see
//! `lines`) the lead was read in. A hash can be shared by two ids, so a hit is only a
//! candidate: the caller reads that batch again and compares the ids themselves, and only an
//! equal id is a duplicate. No hash collision can make an error; it only costs a second look.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Seek};
use std::path::{Path, PathBuf};

use super::DataError;
use crate::plan::Plan;

/// Bits of a slot that hold the batch number; the rest hold the hash.
const BATCH_BITS: u32 = 24;
const BATCH_MASK: u64 = (1 << BATCH_BITS) - 1;

/// The ids met so far, as hashes with the batch each was first met in.
#[derive(Default)]
pub struct SeenIds {
    /// Open addressing, linear probing; 0 is an empty slot (a stored slot never is: its
    /// hash part has its lowest bit set, see [`SeenIds::hash`]).
    slots: Vec<u64>,
    len: usize,
    /// Batches too many to number in a slot: ids from them are not checked.
    pub overflowed: bool,
}

impl SeenIds {
    /// An id's hash as a slot keeps it: 40 bits, lowest one set so that no slot is 0. The
    /// same for the same id in every run (no random seed), so a run is repeatable.
    pub fn hash(id: &str) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        id.hash(&mut h);
        (h.finish() << BATCH_BITS) | (1 << BATCH_BITS)
    }

    /// Bytes held, for the record.
    pub fn bytes(&self) -> usize {
        self.slots.len() * 8
    }

    /// The batch of an earlier lead with this id, found by `earlier(batch)`, which reads
    /// a candidate batch again and says whether it holds the id before the current lead.
    /// Without one, the id is remembered as met in `batch` and `None` is returned.
    pub fn check(
        &mut self,
        hash: u64,
        batch: usize,
        mut earlier: impl FnMut(usize) -> bool,
    ) -> Option<usize> {
        if batch as u64 > BATCH_MASK {
            self.overflowed = true;
            return None;
        }
        // Grown at seven eighths full, so probes stay short.
        if (self.len + 1) * 8 > self.slots.len() * 7 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::home(hash, mask);
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                self.slots[i] = hash | batch as u64;
                self.len += 1;
                return None;
            }
            if slot & !BATCH_MASK == hash {
                let b = (slot & BATCH_MASK) as usize;
                if earlier(b) {
                    return Some(b);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Reads the slots where these hashes' probes start, all at once: the table is far
    /// larger than the cache, and misses issued together overlap, where one at a time in
    /// [`SeenIds::check`] each would wait for the last.
    pub fn warm(&self, hashes: impl Iterator<Item = u64>) {
        if self.slots.is_empty() {
            return;
        }
        let mask = self.slots.len() - 1;
        let touched = hashes.fold(0u64, |acc, h| {
            acc ^ self.slots.get(Self::home(h, mask)).copied().unwrap_or(0)
        });
        std::hint::black_box(touched);
    }

    /// Where a hash's probe starts: its high bits, which every table size can use.
    fn home(hash: u64, mask: usize) -> usize {
        (hash >> 32) as usize & mask
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        let mask = size - 1;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut i = Self::home(slot & !BATCH_MASK, mask);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

/// What a worker hands on about a lead's id, for [`Duplicates::check`].
pub enum IdKey {
    /// From a file, which can be read again: the hash is enough.
    Hash(u64),
    /// From standard input, which cannot: the id itself.
    Id(String),
}

/// A line's number and its lead's id (`None`: the line names none).
type LineId = (usize, Option<String>);

/// The lines of one batch, as [`Duplicates`] finds them again.
struct BatchAt {
    first_line: usize,
    last_line: usize,
    offset: u64,
}

/// Finds the leads of a lead-per-line input whose id an earlier lead already has, in input
/// order. From a file, ids are kept as hashes ([`SeenIds`]) and a candidate is confirmed by
/// reading its batch again; standard input cannot be read again, so there the ids
/// themselves are kept (memory then grows with the ids' length).
pub struct Duplicates<'p> {
    plan: &'p Plan,
    name: String,
    /// `None` for standard input.
    path: Option<PathBuf>,
    seen: SeenIds,
    exact: HashMap<String, usize>,
    batches: Vec<BatchAt>,
    file: Option<std::io::BufReader<std::fs::File>>,
    /// The last batches read again, with the id of each of their lines: a run of repeated
    /// leads (a file appended to itself) reads each batch once, not once per lead.
    cache: VecDeque<(usize, Vec<LineId>)>,
}

impl<'p> Duplicates<'p> {
    /// For the input at `path` (`-`: standard input), named `name` in messages.
    pub fn new(plan: &'p Plan, name: &str, path: &Path) -> Self {
        Duplicates {
            plan,
            name: name.to_string(),
            path: (path.as_os_str() != "-").then(|| path.to_path_buf()),
            seen: SeenIds::default(),
            exact: HashMap::new(),
            batches: Vec::new(),
            file: None,
            cache: VecDeque::new(),
        }
    }

    /// Whether workers must hand on ids whole ([`IdKey::Id`]).
    pub fn exact(&self) -> bool {
        self.path.is_none()
    }

    /// What a worker hands on for a lead with this id.
    pub fn key(exact: bool, id: &str) -> IdKey {
        if exact {
            IdKey::Id(id.to_string())
        } else {
            IdKey::Hash(SeenIds::hash(id))
        }
    }

    /// Registers the next batch, in input order: its first and last line and the offset of
    /// its first line. Returns its number.
    pub fn batch(&mut self, first_line: usize, last_line: usize, offset: u64) -> usize {
        self.batches.push(BatchAt {
            first_line,
            last_line,
            offset,
        });
        self.batches.len() - 1
    }

    /// Gets ready to check these keys, a batch's (see [`SeenIds::warm`]).
    pub fn warm<'k>(&self, keys: impl Iterator<Item = &'k IdKey>) {
        self.seen.warm(keys.filter_map(|k| match k {
            IdKey::Hash(h) => Some(*h),
            IdKey::Id(_) => None,
        }));
    }

    /// The error for the lead on `line` of batch `batch` if an earlier lead has its id; else
    /// the id is remembered. Leads must be checked in input order.
    pub fn check(&mut self, batch: usize, line: usize, key: IdKey) -> Option<DataError> {
        let (id, first) = match key {
            IdKey::Id(id) => match self.exact.get(&id) {
                Some(&first) => (id, first),
                None => {
                    self.exact.insert(id, line);
                    return None;
                }
            },
            IdKey::Hash(hash) => {
                let mut seen = std::mem::take(&mut self.seen);
                let mut found = None;
                let mut current: Option<Option<String>> = None;
                seen.check(hash, batch, |candidate| {
                    // This lead's id, read again once, and the candidate batch's first
                    // line with it, before this one.
                    let id = current
                        .get_or_insert_with(|| self.id_at(batch, line))
                        .clone();
                    let Some(id) = id else {
                        return false;
                    };
                    let at = self.ids_of(candidate).and_then(|lines| {
                        lines
                            .iter()
                            .find(|(n, i)| *n < line && i.as_deref() == Some(id.as_str()))
                            .map(|(n, _)| *n)
                    });
                    found = at.map(|n| (id, n));
                    found.is_some()
                });
                self.seen = seen;
                found?
            }
        };
        Some(DataError {
            no_lead: false,
            origin: format!("{}:{line}", self.name),
            lead: Some(id),
            field: Some("id".into()),
            message: format!(
                "the id is already used by the lead at {}:{first}",
                self.name
            ),
        })
    }

    /// The id of the lead on `line` of batch `batch`, read again.
    fn id_at(&mut self, batch: usize, line: usize) -> Option<String> {
        let lines = self.ids_of(batch)?;
        lines.iter().find(|(n, _)| *n == line)?.1.clone()
    }

    /// Each line of a batch with its lead's id, as the reader finds it (`None` when the line
    /// names none), read again from the file. `None` when the file cannot be read again: a
    /// candidate then stays unconfirmed, never a false error.
    fn ids_of(&mut self, batch: usize) -> Option<&[LineId]> {
        if let Some(i) = self.cache.iter().position(|(b, _)| *b == batch) {
            return self.cache.get(i).map(|(_, l)| l.as_slice());
        }
        let at = self.batches.get(batch)?;
        let (first, last, offset) = (at.first_line, at.last_line, at.offset);
        if self.file.is_none() {
            let f = std::fs::File::open(self.path.as_ref()?).ok()?;
            self.file = Some(std::io::BufReader::with_capacity(1 << 16, f));
        }
        let file = self.file.as_mut()?;
        file.seek(std::io::SeekFrom::Start(offset)).ok()?;
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        for n in first..=last {
            buf.clear();
            if file.read_until(b'\n', &mut buf).ok()? == 0 {
                break;
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let id =
                std::str::from_utf8(&buf).ok().and_then(|text| {
                    match super::jsonl::parse_line(self.plan, text, String::new()) {
                        Ok((lead, _)) => Some(lead.id.clone()),
                        Err(e) => e.lead,
                    }
                });
            lines.push((n, id));
        }
        if self.cache.len() == 2 {
            self.cache.pop_front();
        }
        self.cache.push_back((batch, lines));
        self.cache.back().map(|(_, l)| l.as_slice())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn repeated_ids_are_found_and_others_are_not() {
        let mut seen = SeenIds::default();
        let ids: Vec<String> = (0..50_000).map(|i| format!("L{i}")).collect();
        // Each id in its own "batch"; a candidate is confirmed by comparing the ids.
        for (b, id) in ids.iter().enumerate() {
            let h = SeenIds::hash(id);
            assert_eq!(seen.check(h, b, |c| ids[c] == *id), None, "{id}");
        }
        for (b, id) in ids.iter().enumerate().step_by(7) {
            let h = SeenIds::hash(id);
            assert_eq!(seen.check(h, 60_000, |c| ids[c] == *id), Some(b));
        }
        assert_eq!(seen.len, ids.len());
        assert!(seen.bytes() <= ids.len() * 8 * 2 * 8 / 7 + 8192);
    }

    #[test]
    fn a_shared_hash_is_only_a_candidate() {
        // Two ids forced to one hash: the second is not a duplicate of the first, and a
        // third equal to the second is found past the first.
        let mut seen = SeenIds::default();
        let h = SeenIds::hash("same");
        let batches = ["a", "b", "b"];
        assert_eq!(seen.check(h, 0, |_| unreachable!()), None);
        assert_eq!(seen.check(h, 1, |c| batches[c] == "b"), None);
        assert_eq!(seen.check(h, 2, |c| c < 2 && batches[c] == "b"), Some(1));
        assert_eq!(seen.len, 2);
    }
}
