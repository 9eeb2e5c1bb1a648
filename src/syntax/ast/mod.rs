//! The typed syntax tree of a rule file: the public model other tools consume.
//!
//! Every node carries a [`Span`] of byte offsets into the source. Names are not resolved here:
//! a bare dotted name in an expression may be a trait, a segment, a score or an event, and the
//! checker (`crate::check`) decides which against the schema.
//!
//! This file holds the declarations; conditions are in `expr`, their operators and the
//! precedence table in `ops`, literal values in `literals`, and the comparison that ignores
//! spans in `spanless`. Every type is re-exported here, so callers name them `ast::X`.

mod expr;
mod literals;
mod ops;
mod spanless;

use std::fmt;

pub use expr::{EventQuery, Expr, ExprKind, HasTest, Which};
pub use literals::{
    Duration, DurationLit, DurationUnit, Literal, Money, Month, Period, TimeLit, TEXT_ESCAPES,
};
pub use ops::{BinOp, Fixity, Operator, Prec, TestOp};

use crate::span::Span;

/// A name as written, possibly dotted (`company.employees`, `email.opened`, `MQL`).
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A whole rule file.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

impl File {
    /// A test file's `tests for "rules.funnel"` (the first, where a broken file has two).
    pub fn tests_for(&self) -> Option<&TestsFor> {
        self.items.iter().find_map(|i| match i {
            Item::TestsFor(t) => Some(t),
            _ => None,
        })
    }

    /// Whether this is a file of rules, and not a test file or a file of shared fixtures
    /// only (a file of nothing is a rule file: an empty funnel).
    pub fn holds_rules(&self) -> bool {
        self.tests_for().is_none()
            && (self.items.is_empty() || !self.items.iter().all(|i| matches!(i, Item::Fixture(_))))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Funnel(FunnelDecl),
    Schema(Schema),
    Segment(Segment),
    Score(Score),
    Stage(Stage),
    Move(Move),
    Exit(Exit),
    Kpi(Kpi),
    Target(Target),
    Dimensions(Dimensions),
    Cost(Cost),
    Revenue(Revenue),
    Test(Test),
    /// `fixture "..." { ... }`: a lead that tests start from; it has no expectations.
    Fixture(Test),
    Cases(Cases),
    TestsFor(TestsFor),
    Snapshot(SnapshotDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Funnel(x) => x.span,
            Item::Schema(x) => x.span,
            Item::Segment(x) => x.span,
            Item::Score(x) => x.span,
            Item::Stage(x) => x.span,
            Item::Move(x) => x.span,
            Item::Exit(x) => x.span,
            Item::Kpi(x) => x.span(),
            Item::Target(x) => x.span,
            Item::Dimensions(x) => x.span,
            Item::Cost(x) => x.span,
            Item::Revenue(x) => x.span,
            Item::Test(x) | Item::Fixture(x) => x.span,
            Item::Cases(x) => x.span,
            Item::TestsFor(x) => x.span,
            Item::Snapshot(x) => x.span,
        }
    }
}

/// `funnel "Heshbonit4U B2B"`: the funnel's display name.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelDecl {
    pub name: String,
    pub span: Span,
}

// ------------------------------------------------------------------ schema

#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    pub entries: Vec<SchemaEntry>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SchemaEntry {
    /// `trait company.employees: int`
    Trait(TraitDecl),
    /// `event email.opened { step: int }`
    Event(EventDecl),
}

impl SchemaEntry {
    pub fn span(&self) -> Span {
        match self {
            SchemaEntry::Trait(t) => t.span,
            SchemaEntry::Event(e) => e.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TraitDecl {
    pub path: Name,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventDecl {
    pub name: Name,
    pub props: Vec<PropDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PropDecl {
    pub name: Name,
    pub ty: Type,
    pub span: Span,
}

/// A declared type: a scalar or `list<scalar>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Type {
    pub scalar: Scalar,
    pub list: bool,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scalar {
    Bool,
    Int,
    Decimal,
    Percent,
    Money,
    Duration,
    Date,
    Timestamp,
    Text,
}

impl Scalar {
    pub const ALL: [Scalar; 9] = [
        Scalar::Bool,
        Scalar::Int,
        Scalar::Decimal,
        Scalar::Percent,
        Scalar::Money,
        Scalar::Duration,
        Scalar::Date,
        Scalar::Timestamp,
        Scalar::Text,
    ];
    pub fn keyword(self) -> &'static str {
        match self {
            Scalar::Bool => "bool",
            Scalar::Int => "int",
            Scalar::Decimal => "decimal",
            Scalar::Percent => "percent",
            Scalar::Money => "money",
            Scalar::Duration => "duration",
            Scalar::Date => "date",
            Scalar::Timestamp => "timestamp",
            Scalar::Text => "text",
        }
    }
    pub fn from_keyword(s: &str) -> Option<Scalar> {
        Scalar::ALL.into_iter().find(|k| k.keyword() == s)
    }
}

// ------------------------------------------------------------------ segments and scores

/// `segment icp = company.employees >= 100 and ...`
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub name: Name,
    pub expr: Expr,
    pub span: Span,
}

/// `score engagement max 40 decay half-life 30d { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    pub name: Name,
    pub max: Option<Number>,
    pub min: Option<Number>,
    pub decay: Option<Decay>,
    pub rules: Vec<ScoreRule>,
    /// Best grade first; each applies from its threshold up to the next better one.
    pub grades: Vec<GradeDecl>,
    pub span: Span,
}

/// A number as written in a rule file, kept with its span.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number {
    pub value: f64,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Decay {
    /// Points lose half their value every `half_life` after they were earned.
    HalfLife(DurationLit),
    /// Points count in full until `after` has passed since they were earned, then vanish.
    Expire(DurationLit),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRule {
    /// Signed points: `+20`, `-10`, `+2.5`.
    pub points: Number,
    pub kind: RuleKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RuleKind {
    /// `+20 when company.employees between 150 and 500`: once, while the condition holds.
    When(Expr),
    /// `+5 per email.opened max 15`: for every matching event, up to the cap.
    Per {
        query: EventQuery,
        cap: Option<Number>,
    },
}

/// `grade A from 50`
#[derive(Clone, Debug, PartialEq)]
pub struct GradeDecl {
    pub label: Name,
    pub from: Number,
    pub span: Span,
}

// ------------------------------------------------------------------ stages, detours, exits

/// `stage SQO "Sales Qualified Opportunity" owner sales sla 7d { enter when ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub name: Name,
    pub display: Option<String>,
    pub owner: Option<Name>,
    pub sla: Option<DurationLit>,
    /// Normally exactly one; the checker reports none or several.
    pub enter: Vec<Expr>,
    pub span: Span,
}

/// `move MQL -> MEL on sales.returned`: a detour back to an earlier stage.
#[derive(Clone, Debug, PartialEq)]
pub struct Move {
    pub from: Name,
    pub to: Name,
    pub priority: Option<Priority>,
    pub fires: Fires,
    pub span: Span,
}

/// `exit disqualified from any on sales.rejected`
#[derive(Clone, Debug, PartialEq)]
pub struct Exit {
    pub name: Name,
    pub from: StageSet,
    pub priority: Option<Priority>,
    pub fires: Fires,
    pub span: Span,
}

/// What makes a move or an exit fire.
#[derive(Clone, Debug, PartialEq)]
pub enum Fires {
    /// `on sales.returned [where ...] [when CONDITION]`: something happens. `event` is an
    /// [`ExprKind::Event`] without scopes, so that checking and planning read it like any
    /// event query.
    On { event: Expr, guard: Option<Expr> },
    /// `when CONDITION`: something is true.
    When(Expr),
}

impl Fires {
    /// The expressions it holds: the trigger's event and its guard, or the condition.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        let (a, b) = match self {
            Fires::On { event, guard } => (event, guard.as_ref()),
            Fires::When(c) => (c, None),
        };
        std::iter::once(a).chain(b)
    }

    /// The condition that must hold besides the trigger: the guard of `on`, or the whole
    /// condition of `when`.
    pub fn condition(&self) -> Option<&Expr> {
        match self {
            Fires::On { guard, .. } => guard.as_ref(),
            Fires::When(c) => Some(c),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StageSet {
    Any(Span),
    Stages(Vec<Name>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Priority {
    pub value: u32,
    pub span: Span,
}

// ------------------------------------------------------------------ KPIs and report inputs

#[derive(Clone, Debug, PartialEq)]
pub enum Kpi {
    /// `kpi conversion MQL -> SAL { failing below 50%, good from 70% }`
    Conversion {
        from: Name,
        to: Name,
        bands: Vec<Band>,
        span: Span,
    },
    /// `kpi velocity SQL -> SQO { target at most 7d }`
    Velocity {
        from: Name,
        to: Name,
        at_most: DurationLit,
        span: Span,
    },
}

impl Kpi {
    pub fn span(&self) -> Span {
        match self {
            Kpi::Conversion { span, .. } | Kpi::Velocity { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub label: Name,
    pub range: BandRange,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BandRange {
    Below(Number),
    From(Number),
    Between(Number, Number),
}

/// `target volume SQL monthly from 2025-01 = 30, growing 10%`
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub stage: Name,
    pub period: Period,
    pub from: Month,
    pub base: u64,
    pub growth: Option<Number>,
    pub span: Span,
}

/// `dimensions [source, company.region]`: the traits reports break results down by.
#[derive(Clone, Debug, PartialEq)]
pub struct Dimensions {
    pub paths: Vec<Name>,
    pub span: Span,
}

/// `cost by source monthly { "linkedin": $4,500, ... }`: spend per value of a trait.
#[derive(Clone, Debug, PartialEq)]
pub struct Cost {
    pub by: Name,
    pub period: Period,
    pub entries: Vec<CostEntry>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CostEntry {
    pub key: String,
    pub amount: Money,
    pub span: Span,
}

/// `revenue monthly amount of opportunity.created`: where revenue comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Revenue {
    pub period: Option<Period>,
    pub prop: Name,
    pub event: Name,
    pub span: Span,
}

// ------------------------------------------------------------------ tests

/// `test "..." [from "fixture"] { traits {...} events {...} expect ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    pub name: String,
    /// The fixture the test starts from (its text and the span of the quoted name).
    pub base: Option<Name>,
    pub as_of: Option<TimeLit>,
    pub traits: Option<Object>,
    pub events: Vec<TestEvent>,
    pub expects: Vec<Expect>,
    pub span: Span,
}

/// `cases "..." [from "fixture"] { rows "file.csv" ... }`: one test per row of the file, each
/// the template with the row's traits and expectations added.
#[derive(Clone, Debug, PartialEq)]
pub struct Cases {
    pub template: Test,
    /// The rows file, as written (relative to the file declaring the cases), and its span.
    pub rows: Name,
    pub span: Span,
}

/// `snapshot "last quarter" { leads "q1.jsonl" as of 2025-03-31 }`: every lead's outcome on
/// a sample, stored in a file beside the declaring one and compared at each test run.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotDecl {
    pub name: String,
    /// The lead file, relative to the declaring file, and its span.
    pub leads: Name,
    /// The moment the leads are evaluated at (else the latest event in the sample).
    pub as_of: Option<TimeLit>,
    pub span: Span,
}

/// `tests for "rules.funnel"`: the first line of a test file, naming the rule file its tests
/// run against (relative to the test file).
#[derive(Clone, Debug, PartialEq)]
pub struct TestsFor {
    pub path: Name,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub fields: Vec<Field>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub key: Name,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Lit(Literal, Span),
    List(Vec<Value>, Span),
    Object(Object),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Lit(_, s) | Value::List(_, s) => *s,
            Value::Object(o) => o.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TestEvent {
    pub at: TimeLit,
    pub event: Name,
    pub props: Option<Object>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// The lead's stage (or exit) at the test's as-of, or at `at`.
    Stage {
        stage: Name,
        at: Option<TimeLit>,
        span: Span,
    },
    /// The stage was entered (its latest entry: at `at`, by this rule, on this event).
    Entered {
        stage: Name,
        at: Option<TimeLit>,
        by: Option<EnteredBy>,
        on: Option<Name>,
        span: Span,
    },
    NotEntered(Name, Span),
    Exited {
        exit: Name,
        at: Option<TimeLit>,
        on: Option<Name>,
        span: Span,
    },
    Score {
        score: Name,
        op: BinOp,
        value: Number,
        span: Span,
    },
    Grade {
        score: Name,
        label: Name,
        span: Span,
    },
}

/// The rule an entry was made by, as an explanation's timeline names it.
#[derive(Clone, Debug, PartialEq)]
pub enum EnteredBy {
    /// The stage's own `enter when`.
    Enter,
    /// A `move`, from the named stage or from any.
    Move(Option<Name>),
}

impl Expect {
    pub fn span(&self) -> Span {
        match self {
            Expect::NotEntered(_, s) => *s,
            Expect::Stage { span, .. }
            | Expect::Entered { span, .. }
            | Expect::Exited { span, .. }
            | Expect::Score { span, .. }
            | Expect::Grade { span, .. } => *span,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn rule_files_are_told_from_test_files_and_fixture_files() {
        let holds = |text: &str| crate::syntax::parse(text).file.holds_rules();
        assert!(holds(""));
        assert!(holds("stage A {\n  enter when x\n}\n"));
        assert!(holds(
            "schema {\n  event x\n}\nfixture \"f\" {\n  events { 2025-01-01 x }\n}\n"
        ));
        assert!(!holds("tests for \"r.funnel\"\n"));
        assert!(!holds("fixture \"f\" {\n  events { 2025-01-01 x }\n}\n"));
    }
}
