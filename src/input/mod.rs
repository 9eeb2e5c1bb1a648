//! Reading lead data: every format becomes [`Lead`]s through one [`LeadBuilder`], so types are
//! checked against the schema the same way whatever the input looks like.

pub mod csv;
pub mod fastjson;
pub mod jsonl;
pub mod lines;
pub mod segment;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use crate::check::Ty;
use crate::lead::{Event, Lead, Value};
use crate::plan::Plan;

/// A problem with one lead's data: where it is, which lead, which field.
#[derive(Clone, Debug, PartialEq)]
pub struct DataError {
    /// `file:line` or `file: record N`.
    pub origin: String,
    pub lead: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(l) = &self.lead {
            write!(f, ": lead `{l}`")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// One lead as a reader returns it: the lead and the unknown event types it had, with counts,
/// or the first error in its data.
pub type LeadResult = Result<(Lead, BTreeMap<String, u64>), DataError>;

/// A JSON-like scalar as read from any input format.
#[derive(Clone, Debug)]
pub enum Raw<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    List(Vec<Raw<'a>>),
    /// An object where a value was expected.
    Object,
}

/// 2^63: the first whole number an `int` (a 64-bit integer) cannot hold.
const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;

/// Converts a raw value to a declared type, or says why it cannot.
pub fn convert(raw: &Raw<'_>, ty: &Ty) -> Result<Value, String> {
    let describe = |r: &Raw<'_>| match r {
        Raw::Null => "null".to_string(),
        Raw::Bool(b) => format!("{b}"),
        Raw::Int(i) => format!("{i}"),
        Raw::Float(f) => format!("{f}"),
        Raw::Str(s) => format!("\"{}\"", s.chars().take(40).collect::<String>()),
        Raw::List(_) => "a list".into(),
        Raw::Object => "an object".into(),
    };
    let wrong = || format!("expected {}, found {}", ty.describe(), describe(raw));
    Ok(match (ty, raw) {
        (_, Raw::Null) => Value::Missing,
        (Ty::Bool, Raw::Bool(b)) => Value::Bool(*b),
        (Ty::Int, Raw::Int(i)) => Value::Num(*i as f64),
        // A whole number beyond 64 bits is not an `int`: taking it would silently round it.
        (Ty::Int, Raw::Float(f)) if f.fract() == 0.0 && f.abs() >= TWO_TO_63 => {
            return Err(format!(
                "expected {}, found {} (beyond a 64-bit integer)",
                ty.describe(),
                describe(raw)
            ))
        }
        (Ty::Int, Raw::Float(f)) if f.fract() == 0.0 => Value::Num(*f),
        (Ty::Decimal | Ty::Money | Ty::Percent, Raw::Int(i)) => Value::Num(*i as f64),
        (Ty::Decimal | Ty::Money | Ty::Percent, Raw::Float(f)) => Value::Num(*f),
        (Ty::Percent, Raw::Str(s)) => Value::Num(
            s.trim()
                .strip_suffix('%')
                .and_then(|n| n.trim().parse::<f64>().ok())
                .ok_or_else(wrong)?,
        ),
        (Ty::Money, Raw::Str(s)) => {
            let t = s.trim().trim_start_matches('$').replace(',', "");
            let t = t.split_whitespace().next().unwrap_or("");
            Value::Num(t.parse::<f64>().map_err(|_| wrong())?)
        }
        (Ty::Duration, Raw::Str(s)) => Value::Num(parse_duration_ms(s).ok_or_else(wrong)? as f64),
        (Ty::Date | Ty::Timestamp, Raw::Str(s)) => Value::Time(
            crate::time::parse_timestamp(s)
                .map_err(|e| e.replace('`', "\""))?
                .millis,
        ),
        (Ty::Text, Raw::Str(s)) => Value::Text(s.as_ref().into()),
        (Ty::List(inner), Raw::List(items)) => Value::List(
            items
                .iter()
                .map(|i| convert(i, inner))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => return Err(wrong()),
    })
}

fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    // Split before the last character, which may be more than one byte.
    let (cut, _) = s.char_indices().next_back()?;
    let (num, unit) = s.split_at(cut);
    let n: i64 = num.parse().ok()?;
    let unit = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// `convert` splits a duration's unit off by byte, which panics when the text ends in a
/// multi-byte character. Such text is no duration anyway: it is refused here, in the words
/// `convert` would use, before it gets there.
fn refuse_unsplittable(raw: &Raw<'_>, ty: &Ty) -> Option<String> {
    match (ty, raw) {
        (Ty::Duration, Raw::Str(s)) if s.chars().next_back().is_some_and(|c| !c.is_ascii()) => {
            let shown: String = s.chars().take(40).collect();
            Some(format!("expected {}, found \"{shown}\"", ty.describe()))
        }
        (Ty::List(inner), Raw::List(items)) => {
            items.iter().find_map(|i| refuse_unsplittable(i, inner))
        }
        _ => None,
    }
}

/// Assembles one lead from any input format.
pub struct LeadBuilder<'p> {
    plan: &'p Plan,
    lead: Lead,
    /// Unknown event types met, with counts: reported once for the whole input.
    pub unknown: BTreeMap<String, u64>,
}

impl<'p> LeadBuilder<'p> {
    pub fn new(plan: &'p Plan, id: String, origin: String) -> Self {
        LeadBuilder {
            plan,
            lead: Lead {
                id,
                origin,
                traits: vec![Value::Missing; plan.traits.len()],
                events: Vec::new(),
                props: Vec::new(),
            },
            unknown: BTreeMap::new(),
        }
    }

    fn error(&self, field: impl Into<String>, message: impl Into<String>) -> DataError {
        DataError {
            origin: self.lead.origin.clone(),
            lead: Some(self.lead.id.clone()),
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// Sets a trait by its dotted path; paths the schema does not declare are ignored (data
    /// usually carries more than the rules read).
    pub fn set_trait(&mut self, path: &str, raw: &Raw<'_>) -> Result<(), DataError> {
        let Some(slot) = self.plan.trait_slot(path) else {
            return Ok(());
        };
        let ty = &self.plan.traits[slot].1;
        let v = convert(raw, ty).map_err(|m| self.error(format!("traits.{path}"), m))?;
        self.lead.traits[slot] = v;
        Ok(())
    }

    /// Whether the schema declares a trait at or below this path (for nested objects).
    pub fn wants_trait_prefix(&self, prefix: &str) -> bool {
        self.plan.trait_tree.has_below(prefix)
    }

    /// Adds an event. `field` names it in errors (e.g. `events[3]`). Unknown types are
    /// counted, not stored.
    pub fn push_event<'r, I>(
        &mut self,
        ty: &str,
        at: &str,
        props: I,
        field: &str,
    ) -> Result<(), DataError>
    where
        I: IntoIterator<Item = (&'r str, Raw<'r>)>,
    {
        self.push_event_lazy(ty, at, props, &|| field.to_string())
    }

    /// [`push_event`](Self::push_event) with the field name made only when it is needed.
    pub fn push_event_lazy<'r, I>(
        &mut self,
        ty: &str,
        at: &str,
        props: I,
        field: &dyn Fn() -> String,
    ) -> Result<(), DataError>
    where
        I: IntoIterator<Item = (&'r str, Raw<'r>)>,
    {
        let Some(id) = self.plan.event_id(ty) else {
            *self.unknown.entry(ty.to_string()).or_insert(0) += 1;
            return Ok(());
        };
        let at = crate::time::parse_timestamp(at)
            .map_err(|m| self.error(format!("{}.at", field()), m.replace('`', "\"")))?
            .millis;
        let decl = &self.plan.events[id as usize];
        let start = self.lead.props.len();
        self.lead
            .props
            .extend(std::iter::repeat_n(Value::Missing, decl.props.len()));
        for (key, raw) in props {
            if let Some(slot) = decl.props.iter().position(|(p, _)| p == key) {
                let v = convert(&raw, &decl.props[slot].1)
                    .map_err(|m| self.error(format!("{}.{key}", field()), m))?;
                self.lead.props[start + slot] = v;
            }
        }
        self.lead.events.push(Event {
            ty: id,
            at,
            props_start: start as u32,
        });
        Ok(())
    }

    pub fn finish(mut self) -> (Lead, BTreeMap<String, u64>) {
        self.lead.sort_events();
        (self.lead, self.unknown)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("7d"), Some(7 * 86_400_000));
        assert_eq!(parse_duration_ms("5é"), None);
        assert_eq!(parse_duration_ms("é"), None);
        assert_eq!(parse_duration_ms(""), None);
        assert!(convert(&Raw::Str("5é".into()), &Ty::Duration).is_err());
    }

    #[test]
    fn ints_stop_at_64_bits() {
        let int = |r: Raw<'_>| convert(&r, &Ty::Int);
        assert_eq!(int(Raw::Int(i64::MAX)), Ok(Value::Num(i64::MAX as f64)));
        assert_eq!(int(Raw::Float(1e3)), Ok(Value::Num(1000.0)));
        assert_eq!(int(Raw::Float(-9.2e18)), Ok(Value::Num(-9.2e18)));
        for beyond in [TWO_TO_63, -TWO_TO_63, 1.2e29] {
            let e = int(Raw::Float(beyond)).unwrap_err();
            assert!(e.ends_with("(beyond a 64-bit integer)"), "{e}");
        }
        // A decimal may be as large as a float goes.
        assert!(convert(&Raw::Float(1.2e29), &Ty::Decimal).is_ok());
    }
}
