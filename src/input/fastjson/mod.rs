//! The fast path for lead-per-line JSONL: one pass over the bytes of a line, straight into a
//! [`Lead`], reading only what the plan declares and skipping the rest.
//!
//! It is an optimisation, never the judge: whenever a line is anything but plainly valid
//! (a syntax error, a wrong type, a `\u` escape, a key given twice, a number out of the easy
//! range…) it gives up and returns `None`, and the serde reader in [`super::jsonl`] reads the
//! line again. That reader decides what every unusual line means and words every error, so
//! the two can only differ by speed; `tests/fast_jsonl.rs` checks that they agree.
//!
//! Events in the compact shape nearly every producer writes are read in `compact.rs`.

mod compact;

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{convert, Raw};
use crate::check::Ty;
use crate::lead::{Event, Lead, Value};
use crate::plan::Plan;

/// Deeper than this, the serde reader takes over (its own limit is 128).
const MAX_DEPTH: u32 = 100;

/// What the reader learns of the data as it goes, kept by each thread from line to line:
/// the leads of one export share months and write their keys in one order. It only ever
/// saves work (a wrong guess is noticed and corrected), so a thread may carry it from one
/// input, or plan, to the next.
#[derive(Clone, Copy)]
struct Memo {
    months: crate::time::MonthCache,
    /// Which property followed which in the last event of a type, as `slot + 1` (0: none
    /// seen), at `follows(type, previous slot)`.
    props: [u8; 256],
    /// Which key followed which in the last traits object at a node of the plan's trait
    /// tree, as the key's place + 1, at `follows(node, previous place)`.
    traits: [u8; 64],
    /// The last floor given to [`latest_at`], and it written as an instant.
    floor: (i64, Option<[u8; 20]>),
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            months: Default::default(),
            props: [0; 256],
            traits: [0; 64],
            floor: (i64::MIN, None),
        }
    }
}

thread_local! {
    static MEMO: std::cell::Cell<Memo> = Default::default();
}

/// Reads one line, or `None` when the serde reader must.
pub fn parse_line(plan: &Plan, line: &str) -> Option<(Lead, BTreeMap<String, u64>)> {
    let mut p = Cursor::new(line, MEMO.get());
    let read = read_line(plan, &mut p);
    MEMO.set(p.memo);
    read
}

fn read_line(plan: &Plan, p: &mut Cursor<'_>) -> Option<(Lead, BTreeMap<String, u64>)> {
    let line = p.s;
    let mut lead = Lead {
        id: String::new(),
        origin: String::new(),
        traits: std::iter::repeat_with(|| Value::Missing)
            .take(plan.traits.len())
            .collect(),
        // Room for about as many events and properties as a line of this length holds, so
        // the lists do not grow one doubling at a time.
        events: Vec::with_capacity(line.len() / 64),
        props: Vec::with_capacity(line.len() / 32),
    };
    let mut unknown = BTreeMap::new();
    let (mut id, mut traits, mut events) = (None, false, false);
    let mut scratch = Vec::new();
    p.object(|p, key| match key.as_ref() {
        "id" if id.is_none() => {
            id = Some(p.id()?);
            Some(())
        }
        "traits" if !traits => {
            traits = true;
            match p.peek()? {
                b'{' => p.traits(plan, 0, &mut lead.traits),
                b'n' => p.word(b"null"),
                _ => None,
            }
        }
        "events" if !events => {
            events = true;
            if p.peek()? == b'n' {
                return p.word(b"null");
            }
            p.array(|p| p.event(plan, &mut lead, &mut unknown, &mut scratch))
        }
        "id" | "traits" | "events" => None,
        _ => p.skip(),
    })?;
    p.ws();
    if p.i != p.b.len() {
        return None;
    }
    lead.id = id?;
    lead.sort_events();
    Some((lead, unknown))
}

/// Whether `raw` has the separators of `YYYY-MM-DDTHH:MM:SSZ` where that form has them.
/// Two such texts whose other bytes are digits are in time order as bytes; one whose other
/// bytes are not all digits is no instant at all.
#[inline]
fn canonical(raw: &[u8]) -> bool {
    matches!(
        raw,
        [
            _,
            _,
            _,
            _,
            b'-',
            _,
            _,
            b'-',
            _,
            _,
            b'T',
            _,
            _,
            b':',
            _,
            _,
            b':',
            _,
            _,
            b'Z'
        ]
    )
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ` with its fraction of a second dropped (so never after
/// `t`), when it has a four-digit year.
fn canonical_floor(t: i64) -> Option<[u8; 20]> {
    // Years 0000 to 9999: the only ones with four digits (and no arithmetic overflows).
    if !(-62_167_219_200_000..=253_402_300_799_999).contains(&t) {
        return None;
    }
    let text = crate::time::format_timestamp(crate::time::Timestamp {
        millis: t - t.rem_euclid(1000),
    });
    text.as_bytes().try_into().ok()
}

/// A mask with the high bit set in each byte of `w` that is `"`, `\\` or below 0x20.
/// Bytes above the first such byte may be flagged wrongly (borrows carry upwards), so only
/// the lowest flag counts.
#[inline]
fn special(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero(w ^ (ONES * u64::from(b'"')));
    let slash = zero(w ^ (ONES * u64::from(b'\\')));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    quote | slash | control
}

/// `"at"` anywhere in a line.
static AT_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"at\""));

/// The same search keyed on the pair `a`, `t` rather than the bytes the general search
/// guesses rare: it picks the quotes, which JSON has every few bytes (on the bench file the
/// search took 136 ms a 400 MB, keyed on `a`,`t` 80 ms). `None` without AVX2.
#[cfg(target_arch = "x86_64")]
static AT_PAIR: std::sync::LazyLock<Option<memchr::arch::x86_64::avx2::packedpair::Finder>> =
    std::sync::LazyLock::new(|| {
        let pair = memchr::arch::all::packedpair::Pair::with_indices(b"\"at\"", 1, 2)?;
        memchr::arch::x86_64::avx2::packedpair::Finder::with_pair(b"\"at\"", pair)
    });

/// Where `"at"` starts in `line` at or after `from`.
#[inline]
fn next_at_key(line: &[u8], from: usize) -> Option<usize> {
    let rest = line.get(from..)?;
    #[cfg(target_arch = "x86_64")]
    if let Some(f) = AT_PAIR.as_ref() {
        if rest.len() >= f.min_haystack_len() {
            return f.find(rest, b"\"at\"").map(|i| from + i);
        }
    }
    AT_KEY.find(rest).map(|i| from + i)
}

/// `t` as the floor [`below_floor`] compares with: `YYYY-MM-DDTHH:MM:SSZ`, the fraction of a
/// second dropped (so never after `t`). `None` when `t` has no such form.
pub fn floor_text(t: i64) -> Option<[u8; 20]> {
    canonical_floor(t)
}

/// Whether every event instant on a line is before `floor` (from [`floor_text`]), told
/// without parsing the line: `true` only when it is so; `false` when it may not be, and the
/// line must be read (by [`latest_at`]).
///
/// Without a backslash in the line, every `"` in it is a string's edge, so each key `at`
/// (an event's instant, or any other) is the text `"at"`, and an event's instant cannot be
/// spelt another way. When each `"at"` is followed by `:"YYYY-MM-DDTHH:MM:SSZ"` before the
/// floor (byte order is time order in that form), no instant on the line can be at or after
/// it, whatever the `at` keys belong to: a key `at` that is not an event's only makes the
/// answer `true` less often. Anything else (a backslash, blanks around the colon, another
/// form of instant, an instant at or after the floor) answers `false`. This reads each byte
/// about twice, by SIMD search, instead of walking the JSON: the first pass that finds the
/// default evaluation moment reads nearly every line this way and parses only the lines that
/// may move it.
pub fn below_floor(line: &[u8], floor: &[u8; 20]) -> bool {
    if memchr::memchr(b'\\', line).is_some() {
        return false;
    }
    let mut from = 0;
    while let Some(i) = next_at_key(line, from) {
        let Some(raw) = line.get(i + 6..i + 26) else {
            return false;
        };
        let read = line.get(i + 4..i + 6) == Some(b":\"")
            && line.get(i + 26) == Some(&b'"')
            && canonical(raw)
            && before(raw, floor);
        if !read {
            return false;
        }
        from = i + 1;
    }
    true
}

/// `raw < floor` as bytes, in two loads each rather than a call to `memcmp`.
#[inline(always)]
fn before(raw: &[u8], floor: &[u8; 20]) -> bool {
    let words = |b: &[u8]| -> Option<(u128, u32)> {
        Some((
            u128::from_be_bytes(b.get(..16)?.try_into().ok()?),
            u32::from_be_bytes(b.get(16..20)?.try_into().ok()?),
        ))
    };
    match (words(raw), words(floor)) {
        (Some(r), Some(f)) => r < f,
        _ => false,
    }
}

/// The latest event instant on a line, as [`super::jsonl::latest_at`] finds it: `Some(x)`
/// when the line is plain, `None` when serde must look. Instants before `floor` may be
/// passed over (so `x` may be `None` or earlier than the line's latest only when that is
/// before `floor`): the caller, looking for the latest instant of many lines, passes the
/// latest it has so far, and most events are then not read.
pub fn latest_at(line: &str, floor: Option<i64>) -> Option<Option<i64>> {
    let mut p = Cursor::new(line, MEMO.get());
    if let Some(f) = floor.filter(|&f| f != p.memo.floor.0) {
        p.memo.floor = (f, canonical_floor(f));
    }
    let floor = floor.and(p.memo.floor.1);
    let latest = latest_in(&mut p, floor.as_ref());
    MEMO.set(p.memo);
    latest
}

fn latest_in(p: &mut Cursor<'_>, floor: Option<&[u8; 20]>) -> Option<Option<i64>> {
    let mut latest: Option<i64> = None;
    let mut events = false;
    p.object(|p, key| match key.as_ref() {
        "events" if !events => {
            events = true;
            if p.peek()? == b'n' {
                return p.word(b"null");
            }
            p.array(|p| {
                let at = match p.attempt(|p| p.compact_event_at(floor)) {
                    Some(at) => at,
                    None => p.event_at()?,
                };
                latest = latest.max(at);
                Some(())
            })
        }
        "events" => None,
        _ => p.skip(),
    })?;
    p.ws();
    (p.i == p.b.len()).then_some(latest)
}

/// Writes a property into its slot of the event whose slots start at `start`; a property the
/// schema does not declare is ignored. `None` when the value has the wrong type, or the
/// property is in `seen` already (given twice); else it is added to `seen`.
fn put_prop(
    decl: &crate::plan::EventType,
    lead: &mut Lead,
    start: usize,
    key: &str,
    raw: &Raw<'_>,
    seen: &mut u64,
) -> Option<()> {
    if let Some(slot) = decl.props.iter().position(|(name, _)| name == key) {
        first_time(seen, slot)?;
        let v = convert(raw, &decl.props.get(slot)?.1).ok()?;
        *lead.props.get_mut(start + slot)? = v;
    }
    Some(())
}

/// Marks `slot` in `seen`; `None` when it was marked already (a key given twice), or is
/// beyond the mask's 64 bits (the serde reader then reads the line).
#[inline(always)]
fn first_time(seen: &mut u64, slot: usize) -> Option<()> {
    let bit = 1u64.checked_shl(u32::try_from(slot).ok()?)?;
    (std::mem::replace(seen, *seen | bit) & bit == 0).then_some(())
}

/// A position in one line, with what the thread has learnt of the data so far.
struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: u32,
    memo: Memo,
}

/// Where [`Memo`] keeps what came after `previous` (`None`: what came first) in an event of
/// type (or traits at node) `of`, in a table of `size`, a power of two. Types with many
/// properties may share places, which only makes a guess wrong.
#[inline(always)]
fn follows(of: usize, previous: Option<usize>, size: usize) -> usize {
    (of * 8 + previous.map_or(0, |s| s + 1)) & (size - 1)
}

/// The place a follows table holds at `at`, if any.
#[inline(always)]
fn guess(table: &[u8], at: usize) -> Option<usize> {
    usize::from(*table.get(at)?).checked_sub(1)
}

/// Remembers place `i` at `at` of a follows table (a place too large for it is not kept).
#[inline(always)]
fn learn(table: &mut [u8], at: usize, i: usize) {
    if let Some(f) = table.get_mut(at) {
        *f = u8::try_from(i + 1).unwrap_or(0);
    }
}

impl<'a> Cursor<'a> {
    fn new(line: &'a str, memo: Memo) -> Self {
        Cursor {
            s: line,
            b: line.as_bytes(),
            i: 0,
            depth: 0,
            memo,
        }
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        match self.b.get(self.i) {
            Some(&c) if c > b' ' => Some(c),
            _ => {
                self.ws();
                self.b.get(self.i).copied()
            }
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> bool {
        // Compact JSON has no spaces between tokens: look before skipping any.
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            return true;
        }
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    fn colon(&mut self) -> Option<()> {
        self.eat(b':').then_some(())
    }

    /// An opening bracket, one level deeper.
    #[inline]
    fn open(&mut self, c: u8) -> Option<()> {
        if !self.eat(c) || self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        Some(())
    }

    #[inline]
    fn close(&mut self, c: u8) -> Option<()> {
        if !self.eat(c) {
            return None;
        }
        self.depth -= 1;
        Some(())
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + w.len())? != w {
            return None;
        }
        self.i += w.len();
        Some(())
    }

    /// A string, without its quotes. Plain strings are borrowed from the line.
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if self.peek()? != b'"' {
            return None;
        }
        self.i += 1;
        let start = self.i;
        match self.skip_to_special()? {
            b'"' => {
                let s = self.s.get(start..self.i)?;
                self.i += 1;
                Some(Cow::Borrowed(s))
            }
            b'\\' => self.escaped(start),
            _ => None,
        }
    }

    /// Moves the cursor to the next quote, backslash or control byte, and says which it is.
    #[inline(always)]
    fn skip_to_special(&mut self) -> Option<u8> {
        loop {
            // Eight bytes at a time while eight are left.
            while let Some(w) = self.b.get(self.i..self.i + 8) {
                let m = special(u64::from_le_bytes(w.try_into().ok()?));
                if m != 0 {
                    self.i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            match *self.b.get(self.i)? {
                c @ (b'"' | b'\\' | 0..=0x1f) => return Some(c),
                _ => self.i += 1,
            }
        }
    }

    /// The rest of a string with escapes. `\u` escapes are left to serde (surrogate pairs).
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, start: usize) -> Option<Cow<'a, str>> {
        let mut out = String::from(self.s.get(start..self.i)?);
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    out.push(match *self.b.get(self.i + 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        _ => return None,
                    });
                    self.i += 2;
                }
                0..=0x1f => return None,
                _ => {
                    // A run of plain text: it stops only at ASCII bytes, so the slice is text.
                    let run = self.i;
                    while let Some(&c) = self.b.get(self.i) {
                        if c == b'"' || c == b'\\' || c < 0x20 {
                            break;
                        }
                        self.i += 1;
                    }
                    out.push_str(self.s.get(run..self.i)?);
                }
            }
        }
    }

    /// A number as serde_json reads it for `deserialize_any`: whole numbers of up to 18
    /// digits exactly, anything with a fraction or exponent through serde_json's own float
    /// parser (so the two readers round alike).
    fn number(&mut self) -> Option<Raw<'a>> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = self.i;
        match self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let whole = self.i - digits;
        let mut float = false;
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            self.some_digits()?;
            float = true;
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            self.some_digits()?;
            float = true;
        }
        let text = self.s.get(start..self.i)?;
        if float {
            return serde_json::from_str::<f64>(text).ok().map(Raw::Float);
        }
        // `-0` is a float to serde; very long numbers may overflow.
        if whole > 18 || text == "-0" {
            return None;
        }
        text.parse().ok().map(Raw::Int)
    }

    /// At least one digit.
    fn some_digits(&mut self) -> Option<()> {
        let from = self.i;
        self.digits();
        (self.i > from).then_some(())
    }

    #[inline]
    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// `open item (, item)* close`, one level deeper.
    #[inline]
    fn seq(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.open(open)?;
        if self.eat(close) {
            self.depth -= 1;
            return Some(());
        }
        loop {
            item(self)?;
            if !self.eat(b',') {
                break;
            }
        }
        self.close(close)
    }

    #[inline]
    fn array(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.seq(b'[', b']', item)
    }

    /// An object: `member(key)` for each member, with the cursor before its value.
    #[inline]
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>,
    ) -> Option<()> {
        self.seq(b'{', b'}', |p| {
            let key = p.string()?;
            p.colon()?;
            member(p, key)
        })
    }

    /// Any value, checked and thrown away.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|p, _| p.skip()),
            b'[' => self.array(Self::skip),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => self.number().map(drop),
        }
    }

    /// A value as a [`Raw`]: an object is only said to be one.
    fn raw(&mut self) -> Option<Raw<'a>> {
        Some(match self.peek()? {
            b'"' => Raw::Str(self.string()?),
            b't' => {
                self.word(b"true")?;
                Raw::Bool(true)
            }
            b'f' => {
                self.word(b"false")?;
                Raw::Bool(false)
            }
            b'n' => {
                self.word(b"null")?;
                Raw::Null
            }
            b'{' => {
                self.skip()?;
                Raw::Object
            }
            b'[' => {
                let mut items = Vec::new();
                self.array(|p| {
                    items.push(p.raw()?);
                    Some(())
                })?;
                Raw::List(items)
            }
            _ => self.number()?,
        })
    }

    /// The lead id: non-empty text or a whole number.
    fn id(&mut self) -> Option<String> {
        match self.peek()? {
            b'"' => Some(self.string()?.into_owned()).filter(|s| !s.is_empty()),
            b'0'..=b'9' => match self.number()? {
                Raw::Int(n) => Some(n.to_string()),
                _ => None,
            },
            _ => None,
        }
    }

    /// An object of traits under `node` of the plan's trait tree.
    fn traits(&mut self, plan: &Plan, node: usize, out: &mut [Value]) -> Option<()> {
        let b = self.b;
        let mut previous = None;
        // The node's keys met so far: one given twice is the serde reader's to report.
        let mut seen = 0u64;
        self.seq(b'{', b'}', |p| {
            // The declared key that followed the previous one last time is tried first,
            // whole: `"key":` against two words.
            let at = follows(node, previous, p.memo.traits.len());
            let guessed = guess(&p.memo.traits, at).and_then(|i| {
                let k = plan.trait_tree.entry(node, i)?;
                Some((i, k, k.head.at(b, p.i)?))
            });
            let known = match guessed {
                Some((i, k, len)) => {
                    p.i += len;
                    Some((i, k))
                }
                None => {
                    let key = p.string()?;
                    p.colon()?;
                    // A dotted or empty key names a path on its own: the serde reader's
                    // business.
                    if key.is_empty() || key.bytes().any(|c| c == b'.') {
                        return None;
                    }
                    let found = plan.trait_tree.position(node, &key);
                    if let Some((i, _)) = found {
                        learn(&mut p.memo.traits, at, i);
                    }
                    found
                }
            };
            let Some((i, k)) = known else {
                return p.skip();
            };
            previous = Some(i);
            first_time(&mut seen, i)?;
            if p.peek()? == b'{' {
                return match (k.slot, k.child) {
                    // An object where one value is declared: a type error.
                    (Some(_), _) => None,
                    (None, Some(child)) => p.traits(plan, child, out),
                    (None, None) => p.skip(),
                };
            }
            match k.slot {
                Some(slot) => p.typed(&plan.traits.get(slot)?.1, out.get_mut(slot)?),
                // Anything but an object where traits are declared below: an error.
                None => None,
            }
        })
    }

    /// `read`, or, when it gives up, the cursor back where it was.
    #[inline(always)]
    fn attempt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let (i, depth) = (self.i, self.depth);
        let got = read(self);
        if got.is_none() {
            (self.i, self.depth) = (i, depth);
        }
        got
    }

    /// An event's instant, if it has a readable one; everything else in it is skipped.
    fn event_at(&mut self) -> Option<Option<i64>> {
        let mut at = None;
        self.object(|p, key| {
            if key != "at" {
                return p.skip();
            }
            if at.is_some() {
                return None;
            }
            at = Some(p.string()?);
            Some(())
        })?;
        Some(at.and_then(|a| crate::time::parse_timestamp(&a).ok().map(|t| t.millis)))
    }

    /// One event: in the compact shape if it has it, else the general way.
    fn event(
        &mut self,
        plan: &Plan,
        lead: &mut Lead,
        unknown: &mut BTreeMap<String, u64>,
        scratch: &mut Vec<(Cow<'a, str>, Raw<'a>)>,
    ) -> Option<()> {
        let props = lead.props.len();
        if self.attempt(|p| p.compact_event(plan, lead)).is_some() {
            return Some(());
        }
        lead.props.truncate(props);
        self.any_event(plan, lead, unknown, scratch)
    }

    /// The rest of a string without escapes, the cursor just past its opening quote.
    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.i;
        self.plain_bytes()?;
        self.s.get(start..self.i - 1)
    }

    /// [`Self::plain_string`] as bytes, for names that are only compared (no check that the
    /// ends are character boundaries: they are next to quotes).
    #[inline(always)]
    fn plain_bytes(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        if self.skip_to_special()? != b'"' {
            return None;
        }
        let s = self.b.get(start..self.i)?;
        self.i += 1;
        Some(s)
    }

    /// A value of a declared type, as [`convert`] would make it from what [`Self::raw`]
    /// reads, with the common cases (text, `true`/`false`, short whole numbers, `null`) read
    /// without the detour. The cursor is at the value, past any blanks.
    #[inline]
    fn typed(&mut self, ty: &Ty, dst: &mut Value) -> Option<()> {
        // Written into its slot, not returned: a returned value is built on the stack in
        // pieces and copied out whole, and the CPU stalls reading back what it just wrote.
        match (ty, *self.b.get(self.i)?) {
            (_, b'n') => {
                self.word(b"null")?;
                *dst = Value::Missing;
            }
            (Ty::Text, b'"') => {
                // Text without escapes, the most common value, straight from the line.
                let from = self.i;
                self.i += 1;
                *dst = Value::Text(match self.plain_string() {
                    Some(text) => text.into(),
                    None => {
                        // Escapes (or a broken string): the careful way, from the quote.
                        self.i = from;
                        self.string()?.as_ref().into()
                    }
                });
            }
            (Ty::Bool, b't') => {
                self.word(b"true")?;
                *dst = Value::Bool(true);
            }
            (Ty::Bool, b'f') => {
                self.word(b"false")?;
                *dst = Value::Bool(false);
            }
            (Ty::Int | Ty::Decimal | Ty::Money | Ty::Percent, b'-' | b'0'..=b'9') => {
                *dst = match self.whole() {
                    Some(n) => Value::Num(n as f64),
                    None => convert(&self.raw()?, ty).ok()?,
                }
            }
            (Ty::List(inner), b'[') => {
                let mut items = Vec::new();
                self.array(|p| {
                    p.peek()?;
                    items.push(Value::Missing);
                    p.typed(inner, items.last_mut()?)
                })?;
                *dst = Value::List(items);
            }
            _ => *dst = convert(&self.raw()?, ty).ok()?,
        }
        Some(())
    }

    /// A whole number of up to 18 digits, which [`Self::number`] would read as `Raw::Int`;
    /// `None`, with the cursor left where it was, for anything else (a fraction, an exponent,
    /// `-0`, a leading zero).
    #[inline]
    fn whole(&mut self) -> Option<i64> {
        let negative = self.b.get(self.i) == Some(&b'-');
        let from = self.i + usize::from(negative);
        let mut n: i64 = 0;
        let mut j = from;
        while let Some(&c @ b'0'..=b'9') = self.b.get(j) {
            if j - from == 18 {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
            j += 1;
        }
        let len = j - from;
        if len == 0
            || (len > 1 && self.b.get(from) == Some(&b'0'))
            || (negative && n == 0)
            || matches!(self.b.get(j), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.i = j;
        Some(if negative { -n } else { n })
    }

    /// One event, in any order of members. When `type` comes first, each property goes
    /// straight to its slot as it is read; otherwise properties wait in `scratch` until the
    /// type is known.
    fn any_event(
        &mut self,
        plan: &Plan,
        lead: &mut Lead,
        unknown: &mut BTreeMap<String, u64>,
        scratch: &mut Vec<(Cow<'a, str>, Raw<'a>)>,
    ) -> Option<()> {
        scratch.clear();
        let (mut ty, mut at) = (None, None);
        // The event type and where its properties start in `lead.props`, once known.
        let mut typed: Option<(u16, usize)> = None;
        let mut first = true;
        // Declared properties met so far, by slot: one given twice is serde's to report.
        let mut seen = 0u64;
        self.object(|p, key| {
            let was_first = std::mem::replace(&mut first, false);
            match key.as_ref() {
                "type" if ty.is_none() => {
                    let t = p.string()?;
                    if let Some(id) = plan.event_id(&t).filter(|_| was_first) {
                        let n = plan.events.get(id as usize)?.props.len();
                        typed = Some((id, lead.props.len()));
                        lead.props.extend(std::iter::repeat_n(Value::Missing, n));
                    }
                    ty = Some(t);
                }
                "at" if at.is_none() => at = Some(p.string()?),
                "type" | "at" => return None,
                _ => match typed {
                    Some((id, start)) => {
                        let decl = plan.events.get(id as usize)?;
                        if decl.props.iter().any(|(name, _)| *name == key) {
                            let raw = p.raw()?;
                            put_prop(decl, lead, start, &key, &raw, &mut seen)?;
                        } else {
                            p.skip()?;
                        }
                    }
                    None => {
                        let v = p.raw()?;
                        scratch.push((key, v));
                    }
                },
            }
            Some(())
        })?;
        let (ty, at) = (ty?, at?);
        let (id, start) = match typed {
            Some(t) => t,
            None => {
                let Some(id) = plan.event_id(&ty) else {
                    *unknown.entry(ty.into_owned()).or_insert(0) += 1;
                    return Some(());
                };
                let decl = plan.events.get(id as usize)?;
                let start = lead.props.len();
                lead.props
                    .extend(std::iter::repeat_n(Value::Missing, decl.props.len()));
                for (key, raw) in scratch.drain(..) {
                    put_prop(decl, lead, start, &key, &raw, &mut seen)?;
                }
                (id, start)
            }
        };
        let at = crate::time::parse_timestamp(&at).ok()?.millis;
        push_event(lead, id, at, start)
    }
}

/// Adds an event whose properties start at `start` in the lead's property list.
#[inline(always)]
fn push_event(lead: &mut Lead, ty: u16, at: i64, start: usize) -> Option<()> {
    lead.events.push(Event {
        ty,
        at,
        props_start: u32::try_from(start).ok()?,
    });
    Some(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
