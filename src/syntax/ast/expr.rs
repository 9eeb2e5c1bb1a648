//! Conditions and values: the expression nodes, and the event queries they are built on.

use super::{BinOp, DurationLit, Literal, Name, TestOp};
use crate::span::Span;

/// Event queries are boxed inside expressions: they are the largest node, and a dense file has
/// millions of expressions, most of them small.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Lit(Literal),
    List(Vec<Expr>),
    /// A bare name: trait path, segment, score, event presence, event property or grade label.
    Name(Name),
    /// `sales.accepted within 14d`, `email.opened where step == 1`: the event happened.
    Event(Box<EventQuery>),
    /// `count email.opened where step in [1, 2]`
    Count(Box<EventQuery>),
    /// `rate email.opened / email.sent`: a percentage
    Rate(Box<EventQuery>, Box<EventQuery>),
    /// `no email.opened within 60d`
    No(Box<EventQuery>),
    /// `days since last page.viewed`
    DaysSince(Which, Box<EventQuery>),
    /// `days since entering MEL`
    DaysSinceEntering(Name),
    /// `latest bant.assessed has at least 3 of [budget, authority, need, timeline]`
    Has {
        which: Which,
        query: Box<EventQuery>,
        test: HasTest,
    },
    /// `amount of latest opportunity.created`
    PropOf {
        prop: Name,
        which: Which,
        query: Box<EventQuery>,
    },
    /// `form.submitted then demo.requested within 30d`: each step's `within` is measured from
    /// the step before it.
    Then(Vec<EventQuery>),
    /// `at least 2 of [a, b, c]`
    AtLeast {
        k: u32,
        items: Vec<Expr>,
    },
    /// `score fit`
    Score(Name),
    /// `grade fit`
    Grade(Name),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    /// `a and b and c`, kept flat.
    All(Vec<Expr>),
    /// `a or b or c`, kept flat.
    Any(Vec<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `x in [..]`, `x not in [..]`
    In {
        value: Box<Expr>,
        list: Box<Expr>,
        negated: bool,
    },
    /// `x between lo and hi` (inclusive)
    Between {
        value: Box<Expr>,
        lo: Box<Expr>,
        hi: Box<Expr>,
    },
    /// `x contains y`, `x contains all [..]`, `x contains any [..]`, `x starts with "..."`,
    /// `x ends with "..."`, `x matches "regex"`
    Test {
        value: Box<Expr>,
        op: TestOp,
        arg: Box<Expr>,
    },
    /// `x exists`
    Exists(Box<Expr>),
    /// `x is missing`
    Missing(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    First,
    Last,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HasTest {
    /// `has budget`: a bool property is true.
    Prop(Name),
    /// `has at least 3 of [budget, authority, need, timeline]`
    AtLeast { k: u32, props: Vec<Name> },
}
/// An event type with an optional property filter and scopes.
#[derive(Clone, Debug, PartialEq)]
pub struct EventQuery {
    pub event: Name,
    pub filter: Option<Box<Expr>>,
    /// `within 14d`: only events in the last 14 days (for the steps of a `then` sequence
    /// after the first: within 14 days of the step before).
    pub within: Option<DurationLit>,
    /// `since entering MEL`: only events at or after the lead's latest entry into MEL.
    pub since: Option<Name>,
    pub span: Span,
}

impl EventQuery {
    pub fn is_plain(&self) -> bool {
        self.filter.is_none() && self.within.is_none() && self.since.is_none()
    }
}
