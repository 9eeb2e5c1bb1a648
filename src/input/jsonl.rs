//! Lead-per-line JSONL: `{"id": "L1", "traits": {...}, "events": [{"type": ..., "at": ..., ...}]}`.
//!
//! Parsed with serde straight into borrowed pieces: no generic JSON tree for events, the
//! hot part of the file.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{DataError, LeadBuilder, Raw};
use crate::lead::Lead;
use crate::plan::Plan;

/// A JSON value as a [`Raw`], borrowing strings where the text has no escapes.
struct JsonRaw<'a>(Raw<'a>);

impl<'de> Deserialize<'de> for JsonRaw<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonRaw<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(JsonRaw(Raw::Null))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
                Ok(JsonRaw(Raw::Bool(b)))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Self::Value, E> {
                Ok(JsonRaw(Raw::Int(i)))
            }
            fn visit_u64<E>(self, u: u64) -> Result<Self::Value, E> {
                Ok(JsonRaw(
                    i64::try_from(u).map_or(Raw::Float(u as f64), Raw::Int),
                ))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Self::Value, E> {
                Ok(JsonRaw(Raw::Float(f)))
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(JsonRaw(Raw::Str(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(JsonRaw(Raw::Str(Cow::Owned(s.to_string()))))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(JsonRaw(Raw::Str(Cow::Owned(s))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(JsonRaw(r)) = seq.next_element()? {
                    items.push(r);
                }
                Ok(JsonRaw(Raw::List(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(JsonRaw(Raw::Object))
            }
        }
        d.deserialize_any(V)
    }
}

/// Every event of a line, flattened: one allocation per lead, not one per event.
#[derive(Default)]
struct Flat<'a> {
    events: Vec<FlatEvent<'a>>,
    props: Vec<(Cow<'a, str>, Raw<'a>)>,
}

struct FlatEvent<'a> {
    ty: Option<Cow<'a, str>>,
    at: Option<Raw<'a>>,
    props: std::ops::Range<usize>,
    /// `type` or `at` given a second time.
    twice: Option<&'static str>,
}

/// The `events` array, read into a [`Flat`].
struct EventsSeed<'x, 'a>(&'x mut Flat<'a>);

impl<'de: 'a, 'a> de::DeserializeSeed<'de> for EventsSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for EventsSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`events` as a list of event objects")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(EventSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// One event: `type`, `at`, and every other key a property.
struct EventSeed<'x, 'a>(&'x mut Flat<'a>);

impl<'de: 'a, 'a> de::DeserializeSeed<'de> for EventSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for EventSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let flat = self.0;
        let start = flat.props.len();
        let (mut ty, mut at, mut twice) = (None, None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let JsonRaw(v) = map.next_value()?;
            let again = match key.as_ref() {
                "type" => ty.is_some().then_some("type"),
                "at" => at.is_some().then_some("at"),
                _ => None,
            };
            if let Some(k) = again {
                twice = twice.or(Some(k));
                continue;
            }
            match key.as_ref() {
                "type" => match v {
                    Raw::Str(s) => ty = Some(s),
                    _ => return Err(de::Error::custom("an event's `type` must be text")),
                },
                "at" => at = Some(v),
                _ => flat.props.push((key, v)),
            }
        }
        let end = flat.props.len();
        flat.events.push(FlatEvent {
            ty,
            at,
            props: start..end,
            twice,
        });
        Ok(())
    }
}

/// The `traits` object, walked straight into dotted paths: no generic JSON tree.
struct TraitsSeed<'x, 'a, 'p> {
    out: &'x mut Vec<(String, Raw<'a>)>,
    plan: &'p Plan,
    path: String,
    /// The first declared path given twice in one object.
    twice: &'x mut Option<String>,
}

impl<'de: 'a, 'a> de::DeserializeSeed<'de> for TraitsSeed<'_, 'a, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for TraitsSeed<'_, 'a, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`traits` as an object")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        if !self.path.is_empty() {
            self.out.push((self.path, Raw::Null));
        }
        Ok(())
    }
    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        self.leaf(Raw::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<(), E> {
        self.leaf(Raw::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<(), E> {
        self.leaf(i64::try_from(u).map_or(Raw::Float(u as f64), Raw::Int))
    }
    fn visit_f64<E>(self, f: f64) -> Result<(), E> {
        self.leaf(Raw::Float(f))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<(), E> {
        self.leaf(Raw::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        self.leaf(Raw::Str(Cow::Owned(s.to_string())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut items = Vec::new();
        while let Some(JsonRaw(r)) = seq.next_element()? {
            items.push(r);
        }
        self.leaf(Raw::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // An object where the schema declares a single value is that value's type error.
        if !self.path.is_empty() && self.plan.trait_slot(&self.path).is_some() {
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {}
            self.out.push((self.path, Raw::Object));
            return Ok(());
        }
        // Keys the schema reads at or below, met so far in this object; a key it does not
        // read is ignored, and so is its repetition.
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let path = if self.path.is_empty() {
                key.as_ref().to_string()
            } else {
                format!("{}.{key}", self.path)
            };
            let declared =
                self.plan.trait_slot(&path).is_some() || self.plan.trait_tree.has_below(&path);
            if declared {
                if seen.iter().any(|k| *k == key) {
                    self.twice.get_or_insert(path);
                    map.next_value::<de::IgnoredAny>()?;
                    continue;
                }
                seen.push(key.into_owned());
            }
            map.next_value_seed(TraitsSeed {
                out: &mut *self.out,
                plan: self.plan,
                path,
                twice: &mut *self.twice,
            })?;
        }
        Ok(())
    }
}

impl<'a> TraitsSeed<'_, 'a, '_> {
    fn leaf<E>(self, raw: Raw<'a>) -> Result<(), E> {
        if self.path.is_empty() {
            // `traits` itself must be an object; said by the caller.
            self.out.push((String::new(), raw));
        } else {
            self.out.push((self.path, raw));
        }
        Ok(())
    }
}

/// A whole line: `id`, `traits` and `events` in any order, other keys ignored.
struct LineSeed<'x, 'a, 'p> {
    plan: &'p Plan,
    id: &'x mut Option<serde_json::Value>,
    traits: &'x mut Vec<(String, Raw<'a>)>,
    flat: &'x mut Flat<'a>,
    /// The first key of the lead or its traits given twice (`id`, `traits.company`…).
    twice: &'x mut Option<String>,
    /// The key whose value is being read, for an error in it.
    reading: &'x mut Option<&'static str>,
}

impl<'de: 'a, 'a> de::DeserializeSeed<'de> for LineSeed<'_, 'a, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for LineSeed<'_, 'a, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a lead object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = [false; 3];
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let known = ["id", "traits", "events"].iter().position(|k| *k == key);
            if let Some(k) = known {
                if std::mem::replace(&mut seen[k], true) {
                    self.twice.get_or_insert_with(|| key.into_owned());
                    map.next_value::<de::IgnoredAny>()?;
                    continue;
                }
            }
            *self.reading = known.and_then(|k| ["id", "traits", "events"].get(k).copied());
            match key.as_ref() {
                "id" => *self.id = Some(map.next_value()?),
                "traits" => map.next_value_seed(TraitsSeed {
                    out: &mut *self.traits,
                    plan: self.plan,
                    path: String::new(),
                    twice: &mut *self.twice,
                })?,
                "events" => map.next_value_seed(EventsSeed(&mut *self.flat))?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
            *self.reading = None;
        }
        Ok(())
    }
}

/// Reads one line of lead-per-line JSONL into a lead: by the fast path when the line is plain
/// (nearly always), else by serde, which also words every error.
pub fn parse_line(
    plan: &Plan,
    line: &str,
    origin: String,
) -> Result<(Lead, std::collections::BTreeMap<String, u64>), DataError> {
    if let Some((mut lead, unknown)) = super::fastjson::parse_line(plan, line) {
        lead.origin = origin;
        return Ok((lead, unknown));
    }
    parse_line_serde(plan, line, origin)
}

/// The reference reader: serde, for every line the fast path declines. Public so that tests
/// can hold the two readers against each other.
pub fn parse_line_serde(
    plan: &Plan,
    line: &str,
    origin: String,
) -> Result<(Lead, std::collections::BTreeMap<String, u64>), DataError> {
    use de::DeserializeSeed;
    let fail = |lead: Option<String>, field: Option<&str>, message: String| DataError {
        no_lead: false,
        origin: origin.clone(),
        lead,
        field: field.map(String::from),
        message,
    };
    let mut id = None;
    let mut traits = Vec::new();
    let mut flat = Flat::default();
    let mut twice = None;
    let mut reading = None;
    let mut de = serde_json::Deserializer::from_str(line);
    LineSeed {
        plan,
        id: &mut id,
        traits: &mut traits,
        flat: &mut flat,
        twice: &mut twice,
        reading: &mut reading,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| {
        // A value of the wrong shape is told with the lead it belongs to, when its id came
        // first, and the key being read; broken JSON is told by its column alone.
        let (lead, field) = match e.classify() {
            serde_json::error::Category::Data => {
                let lead = match &id {
                    Some(v) => id_text(v),
                    // The id may come after the broken value: read it alone.
                    None => serde_json::from_str::<IdOnly>(line)
                        .ok()
                        .and_then(|x| x.id.as_ref().and_then(id_text)),
                };
                (lead, reading)
            }
            _ => (None, None),
        };
        fail(lead, field, json_reason(&e))
    })?;
    if let Some(key) = twice {
        // The lead is named when its one `id` says who it is.
        let lead = match &id {
            Some(serde_json::Value::String(s)) if key != "id" && !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) if key != "id" && (n.is_u64() || n.is_i64()) => {
                Some(n.to_string())
            }
            _ => None,
        };
        let field = if key == "id" || key == "traits" || key == "events" {
            key
        } else {
            format!("traits.{key}")
        };
        return Err(fail(lead, Some(&field), super::GIVEN_TWICE.into()));
    }
    let id = match id {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s,
        Some(serde_json::Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(serde_json::Value::String(_)) => {
            return Err(fail(None, Some("id"), "the id is empty".into()))
        }
        Some(serde_json::Value::Number(n)) => {
            // Quoted as typed: serde has already rounded it (`1e+30`).
            let written = serde_json::from_str::<IdRaw>(line)
                .ok()
                .and_then(|x| x.id)
                .map_or_else(|| n.to_string(), |r| r.get().to_string());
            let huge = n
                .as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() >= 9_223_372_036_854_775_808.0);
            let message = if huge {
                format!(
                    "the id {written} is a whole number beyond 64 bits, so its digits cannot \
                     all be kept: write it as text, in quotes"
                )
            } else {
                format!("the id {written} must be text or a whole number written in digits")
            };
            return Err(fail(None, Some("id"), message));
        }
        Some(_) => {
            return Err(fail(
                None,
                Some("id"),
                "the id must be text or a whole number".into(),
            ))
        }
        None => return Err(fail(None, Some("id"), "the lead has no `id`".into())),
    };
    // One trait reached by two spellings (`{"company.employees": 1, "company": {"employees":
    // 2}}`) is given twice as surely as a repeated key.
    let mut paths = std::collections::HashSet::with_capacity(traits.len());
    for (path, _) in &traits {
        if !paths.insert(path.as_str()) && plan.trait_slot(path).is_some() {
            let field = format!("traits.{path}");
            return Err(fail(Some(id), Some(&field), super::GIVEN_TWICE.into()));
        }
    }
    let mut b = LeadBuilder::new(plan, id.clone(), origin.clone());
    for (path, raw) in &traits {
        if path.is_empty() {
            if matches!(raw, Raw::Null) {
                continue;
            }
            return Err(fail(
                Some(id),
                Some("traits"),
                "`traits` must be an object".into(),
            ));
        }
        b.set_trait(path, raw)?;
    }
    for (i, ev) in flat.events.iter().enumerate() {
        let field = || format!("events[{i}]");
        if let Some(key) = ev.twice {
            let f = format!("{}.{key}", field());
            return Err(fail(Some(id), Some(&f), super::GIVEN_TWICE.into()));
        }
        let Some(ty) = &ev.ty else {
            return Err(fail(
                Some(id),
                Some(&format!("{}.type", field())),
                "the event has no `type`".into(),
            ));
        };
        let at = match &ev.at {
            Some(Raw::Str(s)) => s,
            Some(_) => {
                return Err(fail(
                    Some(id),
                    Some(&format!("{}.at", field())),
                    "`at` must be an RFC 3339 timestamp in a string".into(),
                ))
            }
            None => {
                return Err(fail(
                    Some(id),
                    Some(&format!("{}.at", field())),
                    "the event has no `at`".into(),
                ))
            }
        };
        let props = flat.props[ev.props.clone()]
            .iter()
            .map(|(k, v)| (k.as_ref(), v.clone()));
        b.push_event_lazy(ty, at, props, &field)?;
    }
    Ok(b.finish())
}

#[derive(Deserialize)]
struct IdOnly {
    id: Option<serde_json::Value>,
}

/// The id as written in the line, for a number serde can only hold rounded.
#[derive(Deserialize)]
struct IdRaw<'a> {
    #[serde(borrow)]
    id: Option<&'a serde_json::value::RawValue>,
}

/// An id as a lead is named by: text, or a whole number; `None` for anything else.
fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// serde's message in the user's words, without its line number (the caller names the line).
fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    if msg.contains("recursion limit") {
        return "the JSON nests too deeply (more than 128 levels)".to_string();
    }
    match e.classify() {
        Category::Syntax => format!("not valid JSON at column {}", e.column()),
        Category::Eof => "the line ends in the middle of a JSON value".to_string(),
        Category::Data => format!("{msg} (column {})", e.column()),
        Category::Io => msg,
    }
}

#[derive(Deserialize)]
struct AtOnly<'a> {
    #[serde(borrow)]
    events: Option<Vec<AtEvent<'a>>>,
}

#[derive(Deserialize)]
struct AtEvent<'a> {
    #[serde(borrow)]
    at: Option<Cow<'a, str>>,
}

/// The latest event instant on a line, reading nothing else; `None` for a line with no
/// readable instant (the full read reports what is wrong with it). Instants before `floor`
/// may be passed over, as in [`super::fastjson::latest_at`].
pub fn latest_at(line: &str, floor: Option<i64>) -> Option<i64> {
    if let Some(latest) = super::fastjson::latest_at(line, floor) {
        return latest;
    }
    latest_at_serde(line)
}

/// [`latest_at`] by serde alone: the reference.
pub fn latest_at_serde(line: &str) -> Option<i64> {
    let raw: AtOnly<'_> = serde_json::from_str(line).ok()?;
    raw.events?
        .iter()
        .filter_map(|e| crate::time::parse_timestamp(e.at.as_deref()?).ok())
        .map(|t| t.millis)
        .max()
}
