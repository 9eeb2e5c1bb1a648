//! Literal values as a rule file writes them, and the tables of their spellings (text
//! escapes, duration units, report periods) that the parser reads and the formatter writes.

use crate::span::Span;
use crate::time::{Date, Timestamp};

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Int(i64),
    Decimal(f64),
    /// `40%` is `Percent(40.0)`.
    Percent(f64),
    Money(Money),
    Duration(Duration),
    Date(Date),
    Timestamp(Timestamp),
    Text(String),
    Bool(bool),
}

/// The escapes of text literals: the character written after a backslash, and the one it
/// stands for. The parser reads them and the formatter writes them from this table.
pub const TEXT_ESCAPES: [(char, char); 4] = [('"', '"'), ('\\', '\\'), ('n', '\n'), ('t', '\t')];

#[derive(Clone, Debug, PartialEq)]
pub struct Money {
    pub amount: f64,
    /// ISO 4217 code; `$` is `USD`.
    pub currency: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
    pub value: u64,
    pub unit: DurationUnit,
}

impl Duration {
    pub fn seconds(self) -> i64 {
        let unit = match self.unit {
            DurationUnit::Minutes => 60,
            DurationUnit::Hours => 3_600,
            DurationUnit::Days => 86_400,
            DurationUnit::Weeks => 604_800,
        };
        i64::try_from(self.value)
            .unwrap_or(i64::MAX)
            .saturating_mul(unit)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationUnit {
    Minutes,
    Hours,
    Days,
    Weeks,
}

impl DurationUnit {
    pub const ALL: [DurationUnit; 4] = [
        DurationUnit::Minutes,
        DurationUnit::Hours,
        DurationUnit::Days,
        DurationUnit::Weeks,
    ];
    pub fn from_suffix(s: &str) -> Option<DurationUnit> {
        DurationUnit::ALL.into_iter().find(|u| u.suffix() == s)
    }
    pub fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
            DurationUnit::Weeks => "w",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DurationLit {
    pub value: Duration,
    pub span: Span,
}

/// A date or an instant, where tests accept either (a date means midnight UTC).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeLit {
    pub at: Timestamp,
    /// Written as a bare date; kept so the formatter prints it back the same way.
    pub date_only: bool,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    Weekly,
    Monthly,
    Quarterly,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Weekly, Period::Monthly, Period::Quarterly];
    pub fn keyword(self) -> &'static str {
        match self {
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Quarterly => "quarterly",
        }
    }
    pub fn from_keyword(s: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.keyword() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}
