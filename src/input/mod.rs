//! Reading lead data: every format becomes [`Lead`]s through one [`LeadBuilder`], so types are
//! checked against the schema the same way whatever the input looks like.

pub mod chunks;
pub mod csv;
pub mod fastjson;
pub mod ids;
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
    /// A record that belongs to no lead (a CSV event row whose `lead_id` is empty or in no
    /// lead row): reported like the rest, but not counted as a lead.
    pub no_lead: bool,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The id, field and message may quote the data: its control characters are escaped,
        // never sent to the terminal.
        use crate::diag::printable;
        write!(f, "{}", printable(&self.origin))?;
        if let Some(l) = &self.lead {
            write!(f, ": lead `{}`", printable(l))?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{}`", printable(field))?;
        }
        write!(f, ": {}", printable(&self.message))
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

/// A raw value as messages show it.
fn describe(r: &Raw<'_>) -> String {
    match r {
        Raw::Null => "null".to_string(),
        Raw::Bool(b) => format!("{b}"),
        Raw::Int(i) => format!("{i}"),
        Raw::Float(f) => format!("{f}"),
        // Whole: a value cut short in a message is a different value.
        Raw::Str(s) => format!("\"{s}\""),
        Raw::List(_) => "a list".into(),
        Raw::Object => "an object".into(),
    }
}

/// The message for a key given twice in one object: JSON readers keep the last value
/// without a word, so the first would be lost.
pub const GIVEN_TWICE: &str =
    "given twice in the same object; the second value would silently replace the first";

/// Converts a raw value to a declared type, or says why it cannot.
pub fn convert(raw: &Raw<'_>, ty: &Ty) -> Result<Value, String> {
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
        // No reader makes a float that is not finite, but one would poison every sum.
        (Ty::Decimal | Ty::Money | Ty::Percent, Raw::Float(f)) if f.is_finite() => Value::Num(*f),
        (Ty::Percent, Raw::Str(s)) => Value::Num(parse_percent(s).ok_or_else(wrong)?),
        (Ty::Money, Raw::Str(s)) => Value::Num(parse_money(s).ok_or_else(wrong)?),
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

/// A plain decimal, `[-+]digits[.digits]` (or `.digits`), with no exponent, `inf` or `NaN`;
/// with `grouped`, the whole part may instead be written in groups of three digits separated
/// by commas (`4,500`, `1,234,567.5`). `None` for anything else, and for a value too large to
/// be finite: a number either reads exactly as written or is bad data.
pub fn parse_plain_decimal(s: &str, grouped: bool) -> Option<f64> {
    let b = s.as_bytes();
    let unsigned = match b.first() {
        Some(b'-' | b'+') => &b[1..],
        _ => b,
    };
    let (whole, fraction) = match unsigned.iter().position(|&c| c == b'.') {
        Some(dot) => (&unsigned[..dot], Some(&unsigned[dot + 1..])),
        None => (unsigned, None),
    };
    let digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    let whole_ok = if whole.contains(&b',') {
        // `1,234,567`: a first group of one to three digits, then groups of exactly three.
        let mut groups = whole.split(|&c| c == b',');
        grouped
            && groups.next().is_some_and(|g| digits(g) && g.len() <= 3)
            && groups.all(|g| digits(g) && g.len() == 3)
    } else {
        whole.is_empty() || digits(whole)
    };
    let fraction_ok = match fraction {
        Some(f) => digits(f),
        None => !whole.is_empty(),
    };
    if !whole_ok || !fraction_ok {
        return None;
    }
    let text: String = s.chars().filter(|&c| c != ',').collect();
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A money amount written as text: an optional sign, an optional `$`, `€` or `£`, a plain
/// decimal with optional thousands groups (`$4,500.50`, `-$12`), and optionally a space and a
/// three-letter currency code (`4500 USD`; the currency is not checked).
pub fn parse_money(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = match t.rsplit_once(' ') {
        Some((amount, code))
            if code.len() == 3 && code.bytes().all(|c| c.is_ascii_alphabetic()) =>
        {
            amount.trim_end()
        }
        _ => t,
    };
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-') => ("-", &t[1..]),
        Some(b'+') => ("", &t[1..]),
        _ => ("", t),
    };
    let rest = ["$", "€", "£"]
        .iter()
        .find_map(|c| rest.strip_prefix(c))
        .unwrap_or(rest);
    // One sign at most, before or after the currency sign.
    if !sign.is_empty() && rest.starts_with(['-', '+']) {
        return None;
    }
    let n = parse_plain_decimal(rest, true)?;
    Some(if sign.is_empty() { n } else { -n })
}

/// A percentage written as text: a plain decimal followed by `%` (`40%`, `12.5 %`).
pub fn parse_percent(s: &str) -> Option<f64> {
    parse_plain_decimal(s.trim().strip_suffix('%')?.trim_end(), false)
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
            Some(format!("expected {}, found \"{s}\"", ty.describe()))
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
            no_lead: false,
            origin: self.lead.origin.clone(),
            lead: Some(self.lead.id.clone()),
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// Sets a trait by its dotted path; paths the schema does not declare are ignored (data
    /// usually carries more than the rules read).
    ///
    /// A value that is not an object where the schema declares traits below the path
    /// (`"company": 5` with `company.employees` declared) is an error: taken quietly, it would
    /// leave every trait below it missing.
    pub fn set_trait(&mut self, path: &str, raw: &Raw<'_>) -> Result<(), DataError> {
        let Some(slot) = self.plan.trait_slot(path) else {
            if self.plan.trait_tree.has_below(path) {
                let m = format!(
                    "expected an object (the schema declares `{path}.*` traits), found {}",
                    describe(raw)
                );
                return Err(self.error(format!("traits.{path}"), m));
            }
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
        // Slots given so far: a bit each below 64, listed beyond (no allocation per event).
        let (mut seen, mut seen_more) = (0u64, Vec::new());
        for (key, raw) in props {
            if let Some(slot) = decl.props.iter().position(|(p, _)| p == key) {
                let again = match slot {
                    0..=63 => {
                        let before = seen;
                        seen |= 1 << slot;
                        before & 1 << slot != 0
                    }
                    _ if seen_more.contains(&slot) => true,
                    _ => {
                        seen_more.push(slot);
                        false
                    }
                };
                if again {
                    return Err(self.error(format!("{}.{key}", field()), GIVEN_TWICE));
                }
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
    fn money_and_percent_read_exactly_or_not_at_all() {
        let money = |s: &str| convert(&Raw::Str(s.into()), &Ty::Money);
        for (text, want) in [
            ("$4,500", 4500.0),
            ("4500", 4500.0),
            ("$4,500.25", 4500.25),
            ("-$12", -12.0),
            ("$-12", -12.0),
            ("1,234,567", 1_234_567.0),
            ("4500 USD", 4500.0),
            (" €99.5 ", 99.5),
            (".5", 0.5),
        ] {
            assert_eq!(money(text), Ok(Value::Num(want)), "{text}");
        }
        for bad in [
            "NaN", "inf", "-inf", "$1e309", "1e3", "$4,50,0", "1,2", "4,5000", ",500", "4.5.6",
            "45 00", "$", "", "-$-1", "4500 US", "$ 45", "1.", "0x10",
        ] {
            let e = money(bad).unwrap_err();
            assert_eq!(
                e,
                format!("expected an amount of money, found \"{bad}\""),
                "{bad}"
            );
        }
        let pct = |s: &str| convert(&Raw::Str(s.into()), &Ty::Percent);
        assert_eq!(pct("40%"), Ok(Value::Num(40.0)));
        assert_eq!(pct("-12.5 %"), Ok(Value::Num(-12.5)));
        for bad in [
            "NaN%", "inf%", "1e309%", "4.5.6%", "1,2%", "1,000%", "40", "%", "4 0%",
        ] {
            assert!(pct(bad).is_err(), "{bad}");
        }
        assert!(convert(&Raw::Float(f64::NAN), &Ty::Money).is_err());
        assert!(convert(&Raw::Float(f64::INFINITY), &Ty::Percent).is_err());
        let long = "4".repeat(400);
        assert!(
            money(&long).is_err(),
            "a number beyond a float is not infinity"
        );
    }

    #[test]
    fn values_are_quoted_whole() {
        let text = "2025-13-45 and some more text that goes on past forty characters";
        let e = convert(&Raw::Str(text.into()), &Ty::Money).unwrap_err();
        assert!(e.ends_with(&format!("\"{text}\"")), "{e}");
        let d = format!("{}é", "5".repeat(60));
        let e = refuse_unsplittable(&Raw::Str(d.as_str().into()), &Ty::Duration).unwrap();
        assert!(e.ends_with(&format!("\"{d}\"")), "{e}");
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
