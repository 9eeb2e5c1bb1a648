//! The declarations of a rule file, collected once: what every name means.

use std::collections::BTreeMap;

use crate::span::Span;
use crate::syntax::ast::*;

/// A value type in a condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Bool,
    Int,
    Decimal,
    Percent,
    Money,
    Duration,
    Date,
    Timestamp,
    Text,
    List(Box<Ty>),
    /// `[]`: fits any list.
    EmptyList,
    /// The grade of a score model (`grade fit`).
    Grade(String),
    /// An already reported error: accepted everywhere so one mistake is reported once.
    Error,
}

impl Ty {
    pub fn from_type(t: &Type) -> Ty {
        let s = match t.scalar {
            Scalar::Bool => Ty::Bool,
            Scalar::Int => Ty::Int,
            Scalar::Decimal => Ty::Decimal,
            Scalar::Percent => Ty::Percent,
            Scalar::Money => Ty::Money,
            Scalar::Duration => Ty::Duration,
            Scalar::Date => Ty::Date,
            Scalar::Timestamp => Ty::Timestamp,
            Scalar::Text => Ty::Text,
        };
        if t.list {
            Ty::List(Box::new(s))
        } else {
            s
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Decimal | Ty::Error)
    }

    /// Can values of these two types be compared with each other?
    pub fn comparable(&self, other: &Ty) -> bool {
        use Ty::*;
        match (self, other) {
            (Error, _) | (_, Error) => true,
            (Int | Decimal, Int | Decimal) => true,
            (Date | Timestamp, Date | Timestamp) => true,
            (List(a), List(b)) => a.comparable(b),
            (List(_) | EmptyList, EmptyList) | (EmptyList, List(_)) => true,
            (a, b) => a == b,
        }
    }

    /// How the type is named to a marketing-ops reader.
    pub fn describe(&self) -> String {
        match self {
            Ty::Bool => "a yes/no value".into(),
            Ty::Int => "a whole number".into(),
            Ty::Decimal => "a number".into(),
            Ty::Percent => "a percentage".into(),
            Ty::Money => "an amount of money".into(),
            Ty::Duration => "a duration".into(),
            Ty::Date => "a date".into(),
            Ty::Timestamp => "a timestamp".into(),
            Ty::Text => "text".into(),
            Ty::List(t) => format!("a list of {}", t.describe_plural()),
            Ty::EmptyList => "an empty list".into(),
            Ty::Grade(s) => format!("a grade of `{s}`"),
            Ty::Error => "a value".into(),
        }
    }

    fn describe_plural(&self) -> String {
        match self {
            Ty::Bool => "yes/no values".into(),
            Ty::Int => "whole numbers".into(),
            Ty::Decimal => "numbers".into(),
            Ty::Percent => "percentages".into(),
            Ty::Money => "amounts".into(),
            Ty::Duration => "durations".into(),
            Ty::Date => "dates".into(),
            Ty::Timestamp => "timestamps".into(),
            Ty::Text => "texts".into(),
            other => other.describe(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct EventInfo {
    pub props: Props,
    pub span: Span,
}

/// An event's properties by name, in name order: a sorted list rather than a map, since an
/// event has a handful of properties and a B-tree node costs hundreds of bytes even for two
/// (a generated schema may declare hundreds of thousands of events).
#[derive(Clone, Debug, Default)]
pub struct Props(Vec<(String, (Ty, Span))>);

impl Props {
    pub fn get(&self, name: &str) -> Option<&(Ty, Span)> {
        let i = self
            .0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()?;
        self.0.get(i).map(|(_, v)| v)
    }

    /// Adds a property; if one of that name is already declared, returns where.
    pub fn insert_new(&mut self, name: String, value: (Ty, Span)) -> Result<(), Span> {
        if let Some((_, first)) = self.get(&name) {
            return Err(*first);
        }
        let at = self.0.partition_point(|(k, _)| *k < name);
        self.0.insert(at, (name, value));
        Ok(())
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &(Ty, Span))> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct ScoreInfo {
    /// Index into the file's items.
    pub span: Span,
    pub max: Option<f64>,
    pub min: Option<f64>,
    /// The most the rules can add up to (before the model cap); `None` when a `per` rule has
    /// no cap, so the rules alone are unbounded.
    pub rules_max: Option<f64>,
    /// The least the rules can add up to (negative points).
    pub rules_min: f64,
    pub grades: Vec<(String, f64)>,
}

impl ScoreInfo {
    /// The highest value the score can take.
    pub fn upper(&self) -> Option<f64> {
        match (self.max, self.rules_max) {
            (Some(m), Some(r)) => Some(m.min(r)),
            (Some(m), None) => Some(m),
            (None, r) => r,
        }
    }
    /// The lowest value the score can take.
    pub fn lower(&self) -> f64 {
        match self.min {
            Some(m) => m.max(self.rules_min),
            None => self.rules_min,
        }
    }
}

#[derive(Clone, Debug)]
pub struct StageInfo {
    pub name: String,
    pub span: Span,
}

/// Every declared name, by kind. Maps are ordered so anything derived from them is stable.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    pub traits: BTreeMap<String, (Ty, Span)>,
    pub events: BTreeMap<String, EventInfo>,
    pub segments: BTreeMap<String, Span>,
    pub scores: BTreeMap<String, ScoreInfo>,
    /// In funnel order.
    pub stages: Vec<StageInfo>,
    /// Stage name → position in `stages`.
    pub stage_pos: BTreeMap<String, usize>,
    pub exits: BTreeMap<String, Span>,
}

impl Symbols {
    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stage_pos.get(name).copied()
    }

    /// Is `path` a prefix of declared trait paths (`company` for `company.employees`)?
    pub fn is_trait_group(&self, path: &str) -> bool {
        let prefix = format!("{path}.");
        self.traits
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }
}
