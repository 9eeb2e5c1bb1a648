//! Events in the compact shape, `{"type":"…","at":"…",…}` with no blanks and plain keys, as
//! nearly every producer writes them: read at fixed offsets, properties by the guesses of
//! [`Memo`](super::Memo), and declined at the first thing that is not so (the caller then
//! rewinds and reads the event the general way).

use super::{canonical, follows, guess, learn, push_event, Cursor, MAX_DEPTH};
use crate::lead::names::Key;
use crate::lead::{Lead, Value};
use crate::plan::Plan;

impl<'a> Cursor<'a> {
    /// [`Self::event_at`] for an event in the compact shape of [`Self::compact_event`];
    /// `None` for anything else, and the caller rewinds. An instant written
    /// `YYYY-MM-DDTHH:MM:SSZ` that is before `floor` (the same form, whose byte order is
    /// time order) is passed over unread: `Some(None)`. One equal to it is read, so that
    /// every line holding the latest instant says so.
    #[inline]
    pub(super) fn compact_event_at(&mut self, floor: Option<&[u8; 20]>) -> Option<Option<i64>> {
        self.compact_type()?;
        let b = self.b;
        let raw = b.get(self.i..self.i + 20);
        let passed = match (floor, raw, b.get(self.i + 20)) {
            (Some(floor), Some(raw), Some(b'"')) => canonical(raw) && raw < &floor[..],
            _ => false,
        };
        let at = if passed {
            self.i += 21;
            None
        } else {
            Some(self.compact_instant()?)
        };
        self.depth += 1;
        // A second `at` is the general reader's business.
        self.compact_members(|p| match p.compact_key()? {
            b"at" => None,
            _ => p.skip(),
        })?;
        Some(at)
    }

    /// The fixed start of an event in the compact shape, `{"type":"…","at":"…"`: its type's
    /// name and its instant, with the cursor after them, one level deeper. `None` for
    /// anything else, and the caller rewinds.
    #[inline(always)]
    pub(super) fn compact_head(&mut self) -> Option<(&'a [u8], i64)> {
        let ty = self.compact_type()?;
        let at = self.compact_instant()?;
        self.depth += 1;
        Some((ty, at))
    }

    /// `{"type":"…","at":"`: the type's name, with the cursor at the instant's first byte.
    #[inline(always)]
    pub(super) fn compact_type(&mut self) -> Option<&'a [u8]> {
        let b = self.b;
        if b.get(self.i..self.i + 9)? != b"{\"type\":\"" || self.depth >= MAX_DEPTH {
            return None;
        }
        self.i += 9;
        let ty = self.plain_bytes()?;
        if b.get(self.i..self.i + 7)? != b",\"at\":\"" {
            return None;
        }
        self.i += 7;
        Some(ty)
    }

    /// The instant, the cursor at its first byte; after its closing quote.
    #[inline(always)]
    pub(super) fn compact_instant(&mut self) -> Option<i64> {
        let b = self.b;
        // Nearly always `YYYY-MM-DDTHH:MM:SSZ`: twenty bytes, read without scanning for the
        // closing quote first.
        let at = match b.get(self.i + 20) {
            Some(b'"') => self.memo.months.parse(b.get(self.i..self.i + 20)?),
            _ => None,
        };
        Some(match at {
            Some(t) => {
                self.i += 21;
                t.millis
            }
            None => {
                crate::time::parse_timestamp(self.plain_string()?)
                    .ok()?
                    .millis
            }
        })
    }

    /// The rest of a compact event after its head: `,"key":value` pairs (no blanks, plain
    /// keys) up to the closing brace, `member` reading each pair after its comma.
    #[inline(always)]
    pub(super) fn compact_members(
        &mut self,
        mut member: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        let b = self.b;
        loop {
            match *b.get(self.i)? {
                b'}' => break,
                b',' => self.i += 1,
                _ => return None,
            }
            member(self)?;
        }
        self.i += 1;
        self.depth -= 1;
        Some(())
    }

    /// A plain key and its colon, `"key":`, in a compact member.
    #[inline(always)]
    pub(super) fn compact_key(&mut self) -> Option<&'a [u8]> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let key = self.plain_bytes()?;
        if self.b.get(self.i) != Some(&b':') {
            return None;
        }
        self.i += 1;
        Some(key)
    }

    /// An event as nearly every producer writes it: no blanks, `type` first, `at` second, a
    /// declared type, then the properties, each read straight into its slot by its declared
    /// type. `None` at the first thing that is not so; the caller then reads the event again
    /// the general way (which gives the same result, only slower).
    #[inline(always)]
    pub(super) fn compact_event(&mut self, plan: &Plan, lead: &mut Lead) -> Option<()> {
        let (ty, at) = self.compact_head()?;
        let id = plan.event_names.get(ty)? as u16;
        let decl = plan.events.get(id as usize)?;
        let keys = plan.prop_keys.get(id as usize)?;
        let heads = plan.prop_heads.get(id as usize)?;
        let start = lead.props.len();
        // A plain loop: `resize_with` stayed a call of its own, 45 instructions an event.
        lead.props.reserve(keys.len());
        for _ in 0..keys.len() {
            lead.props.push(Value::Missing);
        }
        let b = self.b;
        let mut previous = None;
        let mut seen = 0u64;
        self.compact_members(|p| {
            // The property that followed the previous one last time is tried first, whole.
            let at = follows(usize::from(id), previous, p.memo.props.len());
            let guessed = guess(&p.memo.props, at)
                .and_then(|slot| Some((slot, heads.get(slot)?.at(b, p.i)?)));
            let slot = match guessed {
                Some((slot, len)) => {
                    p.i += len;
                    slot
                }
                None => {
                    let key = p.compact_key()?;
                    let k = Key::of(key);
                    let found = keys
                        .iter()
                        .zip(&decl.props)
                        .position(|(pk, (name, _))| k.same(key, pk, name.as_bytes()));
                    match found {
                        Some(slot) => {
                            learn(&mut p.memo.props, at, slot);
                            slot
                        }
                        // A second `type` or `at`: the general reader's (and serde's) business.
                        None if key == b"type" || key == b"at" => return None,
                        None => return p.skip(),
                    }
                }
            };
            // A property given twice: the serde reader's to report.
            super::first_time(&mut seen, slot)?;
            let dst = lead.props.get_mut(start + slot)?;
            p.typed(&decl.props.get(slot)?.1, dst)?;
            previous = Some(slot);
            Some(())
        })?;
        push_event(lead, id, at, start)
    }
}
