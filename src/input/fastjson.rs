//! The fast path for lead-per-line JSONL: one pass over the bytes of a line, straight into a
//! [`Lead`], reading only what the plan declares and skipping the rest.
//!
//! It is an optimisation, never the judge: whenever a line is anything but plainly valid
//! (a syntax error, a wrong type, a `\u` escape, a duplicate key, a number out of the easy
//! range…) it gives up and returns `None`, and the serde reader in [`super::jsonl`] reads the
//! line again. That reader decides what every unusual line means and words every error, so
//! the two can only differ by speed; `tests/fast_jsonl.rs` checks that they agree.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{convert, Raw};
use crate::eval::{Event, Lead, Plan, Value};

/// Deeper than this, the serde reader takes over (its own limit is 128).
const MAX_DEPTH: u32 = 100;

/// Reads one line, or `None` when the serde reader must.
pub fn parse_line(plan: &Plan, line: &str) -> Option<(Lead, BTreeMap<String, u64>)> {
    let mut p = P {
        s: line,
        b: line.as_bytes(),
        i: 0,
        depth: 0,
    };
    let mut lead = Lead {
        id: String::new(),
        origin: String::new(),
        traits: vec![Value::Missing; plan.traits.len()],
        // Room for about as many events and properties as a line of this length holds, so
        // the lists do not grow one doubling at a time.
        events: Vec::with_capacity(line.len() / 96),
        props: Vec::with_capacity(line.len() / 64),
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

/// The latest event instant on a line, as [`super::jsonl::latest_at`] finds it: `Some(x)`
/// when the line is plain, `None` when serde must look.
pub fn latest_at(line: &str) -> Option<Option<i64>> {
    let mut p = P {
        s: line,
        b: line.as_bytes(),
        i: 0,
        depth: 0,
    };
    let mut latest: Option<i64> = None;
    let mut events = false;
    p.object(|p, key| match key.as_ref() {
        "events" if !events => {
            events = true;
            if p.peek()? == b'n' {
                return p.word(b"null");
            }
            p.array(|p| {
                latest = latest.max(p.event_at()?);
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
/// schema does not declare is ignored. `None` when the value has the wrong type.
fn put_prop(
    decl: &crate::eval::plan::EventType,
    lead: &mut Lead,
    start: usize,
    key: &str,
    raw: &Raw<'_>,
) -> Option<()> {
    if let Some(slot) = decl.props.iter().position(|(name, _)| name == key) {
        let v = convert(raw, &decl.props.get(slot)?.1).ok()?;
        *lead.props.get_mut(start + slot)? = v;
    }
    Some(())
}

struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: u32,
}

impl<'a> P<'a> {
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
        loop {
            // Eight bytes at a time up to the first quote, backslash or control byte.
            while let Some(w) = self.b.get(self.i..self.i + 8) {
                let m = special(u64::from_le_bytes(w.try_into().ok()?));
                if m != 0 {
                    self.i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            match *self.b.get(self.i)? {
                b'"' => {
                    let s = self.s.get(start..self.i)?;
                    self.i += 1;
                    return Some(Cow::Borrowed(s));
                }
                b'\\' => return self.escaped(start),
                0..=0x1f => return None,
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
        self.object(|p, key| {
            // A dotted or empty key names a path on its own: the serde reader's business.
            if key.is_empty() || key.contains('.') {
                return None;
            }
            match plan.trait_tree.get(node, &key) {
                None => p.skip(),
                Some(k) if p.peek()? == b'{' => match (k.slot, k.child) {
                    // An object where one value is declared: a type error.
                    (Some(_), _) => None,
                    (None, Some(child)) => p.traits(plan, child, out),
                    (None, None) => p.skip(),
                },
                Some(k) => {
                    let raw = p.raw()?;
                    if let Some(slot) = k.slot {
                        let ty = &plan.traits.get(slot)?.1;
                        *out.get_mut(slot)? = convert(&raw, ty).ok()?;
                    }
                    Some(())
                }
            }
        })
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

    /// One event. Nearly every producer writes `type` first: then each property goes straight
    /// to its slot as it is read. Otherwise properties wait in `scratch` until the type is
    /// known.
    fn event(
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
                            put_prop(decl, lead, start, &key, &raw)?;
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
                    put_prop(decl, lead, start, &key, &raw)?;
                }
                (id, start)
            }
        };
        let at = crate::time::parse_timestamp(&at).ok()?.millis;
        lead.events.push(Event {
            ty: id,
            at,
            props_start: u32::try_from(start).ok()?,
        });
        Some(())
    }
}
