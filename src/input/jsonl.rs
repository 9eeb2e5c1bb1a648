//! Lead-per-line JSONL: `{"id": "L1", "traits": {...}, "events": [{"type": ..., "at": ..., ...}]}`.
//!
//! Parsed with serde straight into borrowed pieces: no generic JSON tree for events, the
//! hot part of the file.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{DataError, LeadBuilder, Raw};
use crate::eval::{Lead, Plan};

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

/// One event: `type`, `at`, and every other key a property.
struct RawEvent<'a> {
    ty: Option<Cow<'a, str>>,
    at: Option<Raw<'a>>,
    props: Vec<(Cow<'a, str>, Raw<'a>)>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawEvent<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEvent<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut ev = RawEvent {
                    ty: None,
                    at: None,
                    props: Vec::new(),
                };
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let JsonRaw(v) = map.next_value()?;
                    match key.as_ref() {
                        "type" => match v {
                            Raw::Str(s) => ev.ty = Some(s),
                            _ => return Err(de::Error::custom("`type` must be text")),
                        },
                        "at" => ev.at = Some(v),
                        _ => ev.props.push((key, v)),
                    }
                }
                Ok(ev)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(borrow)]
    traits: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    events: Option<Vec<RawEvent<'a>>>,
}

/// Reads one line of lead-per-line JSONL into a lead.
pub fn parse_line(
    plan: &Plan,
    line: &str,
    origin: String,
) -> Result<(Lead, std::collections::BTreeMap<String, u64>), DataError> {
    let fail = |lead: Option<String>, field: Option<&str>, message: String| DataError {
        origin: origin.clone(),
        lead,
        field: field.map(String::from),
        message,
    };
    let raw: RawLine<'_> =
        serde_json::from_str(line).map_err(|e| fail(None, None, json_reason(&e)))?;
    let id = match raw.id {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s,
        Some(serde_json::Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(serde_json::Value::String(_)) => {
            return Err(fail(None, Some("id"), "the id is empty".into()))
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
    let mut b = LeadBuilder::new(plan, id.clone(), origin.clone());
    if let Some(traits) = raw.traits {
        let value: serde_json::Value = serde_json::from_str(traits.get())
            .map_err(|e| fail(Some(id.clone()), Some("traits"), json_reason(&e)))?;
        match &value {
            serde_json::Value::Object(map) => set_traits(&mut b, "", map)?,
            serde_json::Value::Null => {}
            _ => {
                return Err(fail(
                    Some(id),
                    Some("traits"),
                    "`traits` must be an object".into(),
                ))
            }
        }
    }
    for (i, ev) in raw.events.unwrap_or_default().into_iter().enumerate() {
        let field = format!("events[{i}]");
        let Some(ty) = ev.ty else {
            return Err(fail(
                Some(id),
                Some(&format!("{field}.type")),
                "the event has no `type`".into(),
            ));
        };
        let at = match ev.at {
            Some(Raw::Str(s)) => s,
            Some(_) => {
                return Err(fail(
                    Some(id),
                    Some(&format!("{field}.at")),
                    "`at` must be an RFC 3339 timestamp in a string".into(),
                ))
            }
            None => {
                return Err(fail(
                    Some(id),
                    Some(&format!("{field}.at")),
                    "the event has no `at`".into(),
                ))
            }
        };
        let props = ev.props.iter().map(|(k, v)| (k.as_ref(), v.clone()));
        b.push_event(&ty, &at, props, &field)?;
    }
    Ok(b.finish())
}

fn set_traits(
    b: &mut LeadBuilder<'_>,
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), DataError> {
    for (k, v) in map {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::Object(inner) if b.wants_trait_prefix(&path) => {
                set_traits(b, &path, inner)?
            }
            other => b.set_trait(&path, &from_json(other))?,
        }
    }
    Ok(())
}

fn from_json(v: &serde_json::Value) -> Raw<'_> {
    match v {
        serde_json::Value::Null => Raw::Null,
        serde_json::Value::Bool(b) => Raw::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Raw::Int(i),
            None => Raw::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Raw::Str(Cow::Borrowed(s)),
        serde_json::Value::Array(items) => Raw::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(_) => Raw::Object,
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
/// readable instant (the full read reports what is wrong with it).
pub fn latest_at(line: &str) -> Option<i64> {
    let raw: AtOnly<'_> = serde_json::from_str(line).ok()?;
    raw.events?
        .iter()
        .filter_map(|e| crate::time::parse_timestamp(e.at.as_deref()?).ok())
        .map(|t| t.millis)
        .max()
}
