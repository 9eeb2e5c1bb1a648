//! A lead as the readers build it and the interpreter replays it: values in slots resolved by
//! the plan, events sorted. With [`names`], the tables the readers look names up in, this is
//! the data model both sides share, so neither depends on the other for it.

pub mod names;

use std::fmt;

/// A value from the data or a rule file, in the interpreter's few shapes. Numbers of every
/// kind (int, decimal, percent, money amount, duration in milliseconds) are `Num`; dates and
/// timestamps are `Time` in milliseconds since 1970.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Missing,
    Bool(bool),
    Num(f64),
    Time(i64),
    /// Texts of up to 24 bytes (nearly every property value) are kept inline, not allocated.
    Text(compact_str::CompactString),
    List(Vec<Value>),
}

impl Value {
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }

    /// The value as a cell of a table or CSV file: text without quotes, a list's items
    /// joined by `, `; `None` when missing.
    pub fn plain(&self) -> Option<String> {
        match self {
            Value::Missing => None,
            Value::Text(s) => Some(s.to_string()),
            Value::List(items) => Some(
                items
                    .iter()
                    .map(|i| i.plain().unwrap_or_else(|| "missing".into()))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            other => Some(other.to_string()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Missing => f.write_str("missing"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(n) => f.write_str(&fmt_num(*n)),
            Value::Time(t) => f.write_str(&crate::time::format_timestamp(crate::time::Timestamp {
                millis: *t,
            })),
            Value::Text(s) => write!(f, "\"{s}\""),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Numbers as people read them: whole numbers without a fraction, others to two decimals
/// at most, trailing zeros dropped.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// One event of a lead.
#[derive(Clone, Debug)]
pub struct Event {
    /// Index into the plan's event types.
    pub ty: u16,
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub at: i64,
    /// Its properties: `props[start..start + n]` of the lead, in the event type's slot order.
    pub props_start: u32,
}

/// A lead ready to replay: traits by slot, events in replay order.
#[derive(Clone, Debug)]
pub struct Lead {
    pub id: String,
    /// Where it came from, for messages: `file:line` or a CSV record.
    pub origin: String,
    pub traits: Vec<Value>,
    /// Sorted by time; ties keep input order.
    pub events: Vec<Event>,
    pub props: Vec<Value>,
}

impl Drop for Lead {
    /// Values are let go of by kind: most own nothing, and dropping each one through the
    /// generic (recursive, so never inlined) drop cost a call per value on the hot path.
    fn drop(&mut self) {
        for v in self.props.drain(..).chain(self.traits.drain(..)) {
            match v {
                Value::Text(t) => drop(t),
                Value::List(items) => drop(items),
                // Nothing to free.
                Value::Missing | Value::Bool(_) | Value::Num(_) | Value::Time(_) => {
                    std::mem::forget(v)
                }
            }
        }
    }
}

impl Lead {
    pub fn prop(&self, ev: &Event, slot: usize) -> &Value {
        self.props
            .get(ev.props_start as usize + slot)
            .unwrap_or(&Value::Missing)
    }

    /// Sorts events by time, keeping input order among equal instants.
    pub fn sort_events(&mut self) {
        self.events.sort_by_key(|e| e.at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_small() {
        // Leads hold millions of values: inline text must not make each one bigger.
        assert!(std::mem::size_of::<Value>() <= 32);
        let short = Value::Text("organic".into());
        let long = Value::Text("a text too long to be kept inline in the value".into());
        assert_eq!(short.to_string(), "\"organic\"");
        assert!(long.to_string().starts_with("\"a text too long"));
    }
}
