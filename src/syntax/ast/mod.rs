//! The typed syntax tree of a rule file: the public model other tools consume.
//!
//! Every node carries a [`Span`] of byte offsets into the source. Names are not resolved here:
//! a bare dotted name in an expression may be a trait, a segment, a score or an event, and the
//! checker (`crate::check`) decides which against the schema.

use std::fmt;

use crate::span::Span;
use crate::time::{Date, Timestamp};

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
            Item::Test(x) => x.span,
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

/// `move MQL -> MEL when sales.returned`: a detour back to an earlier stage.
#[derive(Clone, Debug, PartialEq)]
pub struct Move {
    pub from: Name,
    pub to: Name,
    pub priority: Option<Priority>,
    pub when: Expr,
    pub span: Span,
}

/// `exit disqualified from any when sales.rejected`
#[derive(Clone, Debug, PartialEq)]
pub struct Exit {
    pub name: Name,
    pub from: StageSet,
    pub priority: Option<Priority>,
    pub when: Expr,
    pub span: Span,
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

/// `test "..." { traits {...} events {...} expect ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    pub name: String,
    pub as_of: Option<TimeLit>,
    pub traits: Option<Object>,
    pub events: Vec<TestEvent>,
    pub expects: Vec<Expect>,
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
    Stage(Name, Span),
    Entered {
        stage: Name,
        at: Option<TimeLit>,
        span: Span,
    },
    NotEntered(Name, Span),
    Exited {
        exit: Name,
        at: Option<TimeLit>,
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

impl Expect {
    pub fn span(&self) -> Span {
        match self {
            Expect::Stage(_, s) | Expect::NotEntered(_, s) => *s,
            Expect::Entered { span, .. }
            | Expect::Exited { span, .. }
            | Expect::Score { span, .. }
            | Expect::Grade { span, .. } => *span,
        }
    }
}

// ------------------------------------------------------------------ literals

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

// ------------------------------------------------------------------ expressions

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
    pub fn is_comparison(self) -> bool {
        Operator::Binary(self).prec() == Prec::Compare
    }

    /// The comparison with its sides swapped: `a < b` is `b > a`.
    pub fn mirrored(self) -> BinOp {
        match self {
            BinOp::Lt => BinOp::Gt,
            BinOp::Le => BinOp::Ge,
            BinOp::Gt => BinOp::Lt,
            BinOp::Ge => BinOp::Le,
            other => other,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestOp {
    Contains,
    ContainsAll,
    ContainsAny,
    StartsWith,
    EndsWith,
    Matches,
}

impl TestOp {
    pub fn words(self) -> &'static str {
        match self {
            TestOp::Contains => "contains",
            TestOp::ContainsAll => "contains all",
            TestOp::ContainsAny => "contains any",
            TestOp::StartsWith => "starts with",
            TestOp::EndsWith => "ends with",
            TestOp::Matches => "matches",
        }
    }
}

/// How tightly an operator binds, loosest first; terms bind tighter than any operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prec {
    Or,
    And,
    Not,
    Compare,
    Sum,
    Product,
    Neg,
    Term,
}

impl Prec {
    /// Every level an operator can have, loosest first.
    pub const OPERATORS: [Prec; 7] = [
        Prec::Or,
        Prec::And,
        Prec::Not,
        Prec::Compare,
        Prec::Sum,
        Prec::Product,
        Prec::Neg,
    ];

    /// The next level up; `Term` is the top.
    pub fn tighter(self) -> Prec {
        match self {
            Prec::Or => Prec::And,
            Prec::And => Prec::Not,
            Prec::Not => Prec::Compare,
            Prec::Compare => Prec::Sum,
            Prec::Sum => Prec::Product,
            Prec::Product => Prec::Neg,
            Prec::Neg | Prec::Term => Prec::Term,
        }
    }
}

/// Where an operator stands relative to its operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixity {
    Prefix,
    /// Every infix operator groups to the left: `a - b - c` is `(a - b) - c`.
    Infix,
    Postfix,
}

/// Every operator of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Or,
    And,
    Not,
    Neg,
    Binary(BinOp),
    /// `in`, or `not in` when negated.
    In {
        negated: bool,
    },
    Between,
    Test(TestOp),
    Exists,
    Missing,
}

impl Operator {
    pub const ALL: [Operator; 25] = [
        Operator::Or,
        Operator::And,
        Operator::Not,
        Operator::Neg,
        Operator::Binary(BinOp::Add),
        Operator::Binary(BinOp::Sub),
        Operator::Binary(BinOp::Mul),
        Operator::Binary(BinOp::Div),
        Operator::Binary(BinOp::Eq),
        Operator::Binary(BinOp::Ne),
        Operator::Binary(BinOp::Lt),
        Operator::Binary(BinOp::Le),
        Operator::Binary(BinOp::Gt),
        Operator::Binary(BinOp::Ge),
        Operator::In { negated: false },
        Operator::In { negated: true },
        Operator::Between,
        Operator::Test(TestOp::Contains),
        Operator::Test(TestOp::ContainsAll),
        Operator::Test(TestOp::ContainsAny),
        Operator::Test(TestOp::StartsWith),
        Operator::Test(TestOp::EndsWith),
        Operator::Test(TestOp::Matches),
        Operator::Exists,
        Operator::Missing,
    ];

    /// The precedence table of the language: the parser (`lower.rs` builds its Pratt parser
    /// from it) and the formatter (which parenthesises by it) both read it here.
    pub fn prec(self) -> Prec {
        match self {
            Operator::Or => Prec::Or,
            Operator::And => Prec::And,
            Operator::Not => Prec::Not,
            Operator::Binary(BinOp::Add | BinOp::Sub) => Prec::Sum,
            Operator::Binary(BinOp::Mul | BinOp::Div) => Prec::Product,
            Operator::Binary(
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge,
            )
            | Operator::In { .. }
            | Operator::Between
            | Operator::Test(_)
            | Operator::Exists
            | Operator::Missing => Prec::Compare,
            Operator::Neg => Prec::Neg,
        }
    }

    pub fn fixity(self) -> Fixity {
        match self {
            Operator::Not | Operator::Neg => Fixity::Prefix,
            Operator::Or | Operator::And | Operator::Binary(_) => Fixity::Infix,
            Operator::In { .. }
            | Operator::Between
            | Operator::Test(_)
            | Operator::Exists
            | Operator::Missing => Fixity::Postfix,
        }
    }
}

impl ExprKind {
    /// The operator at the root of this node; `None` for a term.
    pub fn operator(&self) -> Option<Operator> {
        Some(match self {
            ExprKind::Any(_) => Operator::Or,
            ExprKind::All(_) => Operator::And,
            ExprKind::Not(_) => Operator::Not,
            ExprKind::Neg(_) => Operator::Neg,
            ExprKind::Binary { op, .. } => Operator::Binary(*op),
            ExprKind::In { negated, .. } => Operator::In { negated: *negated },
            ExprKind::Between { .. } => Operator::Between,
            ExprKind::Test { op, .. } => Operator::Test(*op),
            ExprKind::Exists(_) => Operator::Exists,
            ExprKind::Missing(_) => Operator::Missing,
            ExprKind::Lit(_)
            | ExprKind::List(_)
            | ExprKind::Name(_)
            | ExprKind::Event(_)
            | ExprKind::Count(_)
            | ExprKind::Rate(..)
            | ExprKind::No(_)
            | ExprKind::DaysSince(..)
            | ExprKind::DaysSinceEntering(_)
            | ExprKind::Has { .. }
            | ExprKind::PropOf { .. }
            | ExprKind::Then(_)
            | ExprKind::AtLeast { .. }
            | ExprKind::Score(_)
            | ExprKind::Grade(_) => return None,
        })
    }

    /// How tightly this node binds: its operator's level, or `Term`.
    pub fn prec(&self) -> Prec {
        self.operator().map_or(Prec::Term, Operator::prec)
    }
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

// ------------------------------------------------------------------ comparing without spans

impl File {
    /// Whether the two trees say the same thing, wherever their nodes sit in the source:
    /// `parse(format(x))` and `x` are the same tree with different spans.
    pub fn same_ignoring_spans(&self, other: &File) -> bool {
        self.without_spans() == other.without_spans()
    }

    /// A copy of the tree with every span set to `Span::default()`.
    pub fn without_spans(&self) -> File {
        let mut copy = self.clone();
        copy.clear_spans();
        copy
    }
}

impl Expr {
    /// [`File::same_ignoring_spans`] for one expression.
    pub fn same_ignoring_spans(&self, other: &Expr) -> bool {
        let (mut a, mut b) = (self.clone(), other.clone());
        a.clear_spans();
        b.clear_spans();
        a == b
    }
}

/// Sets every span of a node and its children to the default. Each impl names every field
/// (no `..`), so a field added to the tree does not compile until it is handled here.
trait ClearSpans {
    fn clear_spans(&mut self);
}

impl ClearSpans for Span {
    fn clear_spans(&mut self) {
        *self = Span::default();
    }
}

impl<T: ClearSpans> ClearSpans for Option<T> {
    fn clear_spans(&mut self) {
        if let Some(x) = self {
            x.clear_spans();
        }
    }
}

impl<T: ClearSpans> ClearSpans for Vec<T> {
    fn clear_spans(&mut self) {
        for x in self {
            x.clear_spans();
        }
    }
}

impl<T: ClearSpans> ClearSpans for Box<T> {
    fn clear_spans(&mut self) {
        (**self).clear_spans();
    }
}

impl ClearSpans for File {
    fn clear_spans(&mut self) {
        let File { items } = self;
        items.clear_spans();
    }
}

impl ClearSpans for Name {
    fn clear_spans(&mut self) {
        let Name { text: _, span } = self;
        span.clear_spans();
    }
}

impl ClearSpans for Number {
    fn clear_spans(&mut self) {
        let Number { value: _, span } = self;
        span.clear_spans();
    }
}

impl ClearSpans for DurationLit {
    fn clear_spans(&mut self) {
        let DurationLit { value: _, span } = self;
        span.clear_spans();
    }
}

impl ClearSpans for TimeLit {
    fn clear_spans(&mut self) {
        let TimeLit {
            at: _,
            date_only: _,
            span,
        } = self;
        span.clear_spans();
    }
}

impl ClearSpans for Priority {
    fn clear_spans(&mut self) {
        let Priority { value: _, span } = self;
        span.clear_spans();
    }
}

impl ClearSpans for Type {
    fn clear_spans(&mut self) {
        let Type {
            scalar: _,
            list: _,
            span,
        } = self;
        span.clear_spans();
    }
}

impl ClearSpans for Item {
    fn clear_spans(&mut self) {
        match self {
            Item::Funnel(FunnelDecl { name: _, span }) => span.clear_spans(),
            Item::Schema(Schema { entries, span }) => {
                entries.clear_spans();
                span.clear_spans();
            }
            Item::Segment(Segment { name, expr, span }) => {
                name.clear_spans();
                expr.clear_spans();
                span.clear_spans();
            }
            Item::Score(s) => s.clear_spans(),
            Item::Stage(Stage {
                name,
                display: _,
                owner,
                sla,
                enter,
                span,
            }) => {
                name.clear_spans();
                owner.clear_spans();
                sla.clear_spans();
                enter.clear_spans();
                span.clear_spans();
            }
            Item::Move(Move {
                from,
                to,
                priority,
                when,
                span,
            }) => {
                from.clear_spans();
                to.clear_spans();
                priority.clear_spans();
                when.clear_spans();
                span.clear_spans();
            }
            Item::Exit(Exit {
                name,
                from,
                priority,
                when,
                span,
            }) => {
                name.clear_spans();
                match from {
                    StageSet::Any(s) => s.clear_spans(),
                    StageSet::Stages(v) => v.clear_spans(),
                }
                priority.clear_spans();
                when.clear_spans();
                span.clear_spans();
            }
            Item::Kpi(k) => k.clear_spans(),
            Item::Target(Target {
                stage,
                period: _,
                from: _,
                base: _,
                growth,
                span,
            }) => {
                stage.clear_spans();
                growth.clear_spans();
                span.clear_spans();
            }
            Item::Dimensions(Dimensions { paths, span }) => {
                paths.clear_spans();
                span.clear_spans();
            }
            Item::Cost(Cost {
                by,
                period: _,
                entries,
                span,
            }) => {
                by.clear_spans();
                for CostEntry {
                    key: _,
                    amount: _,
                    span,
                } in entries
                {
                    span.clear_spans();
                }
                span.clear_spans();
            }
            Item::Revenue(Revenue {
                period: _,
                prop,
                event,
                span,
            }) => {
                prop.clear_spans();
                event.clear_spans();
                span.clear_spans();
            }
            Item::Test(t) => t.clear_spans(),
        }
    }
}

impl ClearSpans for SchemaEntry {
    fn clear_spans(&mut self) {
        match self {
            SchemaEntry::Trait(TraitDecl { path, ty, span }) => {
                path.clear_spans();
                ty.clear_spans();
                span.clear_spans();
            }
            SchemaEntry::Event(EventDecl { name, props, span }) => {
                name.clear_spans();
                for PropDecl { name, ty, span } in props {
                    name.clear_spans();
                    ty.clear_spans();
                    span.clear_spans();
                }
                span.clear_spans();
            }
        }
    }
}

impl ClearSpans for Score {
    fn clear_spans(&mut self) {
        let Score {
            name,
            max,
            min,
            decay,
            rules,
            grades,
            span,
        } = self;
        name.clear_spans();
        max.clear_spans();
        min.clear_spans();
        match decay {
            Some(Decay::HalfLife(d) | Decay::Expire(d)) => d.clear_spans(),
            None => {}
        }
        for ScoreRule { points, kind, span } in rules {
            points.clear_spans();
            match kind {
                RuleKind::When(e) => e.clear_spans(),
                RuleKind::Per { query, cap } => {
                    query.clear_spans();
                    cap.clear_spans();
                }
            }
            span.clear_spans();
        }
        for GradeDecl { label, from, span } in grades {
            label.clear_spans();
            from.clear_spans();
            span.clear_spans();
        }
        span.clear_spans();
    }
}

impl ClearSpans for Kpi {
    fn clear_spans(&mut self) {
        match self {
            Kpi::Conversion {
                from,
                to,
                bands,
                span,
            } => {
                from.clear_spans();
                to.clear_spans();
                for Band { label, range, span } in bands {
                    label.clear_spans();
                    match range {
                        BandRange::Below(n) | BandRange::From(n) => n.clear_spans(),
                        BandRange::Between(a, b) => {
                            a.clear_spans();
                            b.clear_spans();
                        }
                    }
                    span.clear_spans();
                }
                span.clear_spans();
            }
            Kpi::Velocity {
                from,
                to,
                at_most,
                span,
            } => {
                from.clear_spans();
                to.clear_spans();
                at_most.clear_spans();
                span.clear_spans();
            }
        }
    }
}

impl ClearSpans for Test {
    fn clear_spans(&mut self) {
        let Test {
            name: _,
            as_of,
            traits,
            events,
            expects,
            span,
        } = self;
        as_of.clear_spans();
        traits.clear_spans();
        for TestEvent {
            at,
            event,
            props,
            span,
        } in events
        {
            at.clear_spans();
            event.clear_spans();
            props.clear_spans();
            span.clear_spans();
        }
        for e in expects {
            match e {
                Expect::Stage(n, span) | Expect::NotEntered(n, span) => {
                    n.clear_spans();
                    span.clear_spans();
                }
                Expect::Entered { stage: n, at, span } | Expect::Exited { exit: n, at, span } => {
                    n.clear_spans();
                    at.clear_spans();
                    span.clear_spans();
                }
                Expect::Score {
                    score,
                    op: _,
                    value,
                    span,
                } => {
                    score.clear_spans();
                    value.clear_spans();
                    span.clear_spans();
                }
                Expect::Grade { score, label, span } => {
                    score.clear_spans();
                    label.clear_spans();
                    span.clear_spans();
                }
            }
        }
        span.clear_spans();
    }
}

impl ClearSpans for Object {
    fn clear_spans(&mut self) {
        let Object { fields, span } = self;
        for Field { key, value, span } in fields {
            key.clear_spans();
            value.clear_spans();
            span.clear_spans();
        }
        span.clear_spans();
    }
}

impl ClearSpans for Value {
    fn clear_spans(&mut self) {
        match self {
            Value::Lit(_, span) => span.clear_spans(),
            Value::List(items, span) => {
                items.clear_spans();
                span.clear_spans();
            }
            Value::Object(o) => o.clear_spans(),
        }
    }
}

impl ClearSpans for EventQuery {
    fn clear_spans(&mut self) {
        let EventQuery {
            event,
            filter,
            within,
            since,
            span,
        } = self;
        event.clear_spans();
        filter.clear_spans();
        within.clear_spans();
        since.clear_spans();
        span.clear_spans();
    }
}

impl ClearSpans for Expr {
    fn clear_spans(&mut self) {
        let Expr { kind, span } = self;
        span.clear_spans();
        match kind {
            ExprKind::Lit(_) => {}
            ExprKind::List(v) | ExprKind::All(v) | ExprKind::Any(v) => v.clear_spans(),
            ExprKind::AtLeast { k: _, items } => items.clear_spans(),
            ExprKind::Name(n)
            | ExprKind::DaysSinceEntering(n)
            | ExprKind::Score(n)
            | ExprKind::Grade(n) => n.clear_spans(),
            ExprKind::Event(q) | ExprKind::Count(q) | ExprKind::No(q) => q.clear_spans(),
            ExprKind::DaysSince(_, q) => q.clear_spans(),
            ExprKind::Rate(a, b) => {
                a.clear_spans();
                b.clear_spans();
            }
            ExprKind::Has {
                which: _,
                query,
                test,
            } => {
                query.clear_spans();
                match test {
                    HasTest::Prop(p) => p.clear_spans(),
                    HasTest::AtLeast { k: _, props } => props.clear_spans(),
                }
            }
            ExprKind::PropOf {
                prop,
                which: _,
                query,
            } => {
                prop.clear_spans();
                query.clear_spans();
            }
            ExprKind::Then(steps) => steps.clear_spans(),
            ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Exists(x) | ExprKind::Missing(x) => {
                x.clear_spans()
            }
            ExprKind::Binary { op: _, lhs, rhs } => {
                lhs.clear_spans();
                rhs.clear_spans();
            }
            ExprKind::In {
                value,
                list,
                negated: _,
            } => {
                value.clear_spans();
                list.clear_spans();
            }
            ExprKind::Between { value, lo, hi } => {
                value.clear_spans();
                lo.clear_spans();
                hi.clear_spans();
            }
            ExprKind::Test { value, op: _, arg } => {
                value.clear_spans();
                arg.clear_spans();
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    const SOURCE: &str = "segment s = a and not b\nstage A \"x\" sla 2d {\n  enter when count e where x in [1, 2] >= 3\n}\ntest \"t\" {\n  traits { a: [1, { b: 2 }] }\n  expect score fit >= 2\n}\n";

    fn file(src: &str) -> File {
        let p = parse(src);
        assert!(p.diagnostics.is_empty(), "{src}: {:?}", p.diagnostics);
        p.file
    }

    #[test]
    fn spans_count_unless_ignored() {
        let a = file(SOURCE);
        let respaced = file(
            "// moved\nsegment   s =\n  a\n  and not b\n\nstage A \"x\" sla 2d { enter when count e where x in [1,2]>=3 }\ntest \"t\" { traits { a: [1, {b: 2}] } expect score fit >= 2 }\n",
        );
        assert_eq!(a, file(SOURCE));
        assert_ne!(a, respaced);
        assert!(a.same_ignoring_spans(&respaced));
        assert!(respaced.same_ignoring_spans(&a));
        // Any difference of meaning, however deep, still counts.
        for (from, to) in [
            ("a and not b", "a and b"),
            ("a and not b", "a or not b"),
            ("[1, 2]", "[1, 3]"),
            (">= 3", "> 3"),
            ("sla 2d", "sla 2w"),
            ("\"x\"", "\"y\""),
            ("{ b: 2 }", "{ c: 2 }"),
            ("fit >= 2", "fit >= 2.5"),
        ] {
            assert!(SOURCE.contains(from), "{from}");
            let other = file(&SOURCE.replacen(from, to, 1));
            assert!(!a.same_ignoring_spans(&other), "{from} -> {to}");
        }
    }

    #[test]
    fn without_spans_leaves_no_span() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let src = std::fs::read_to_string(&path).unwrap();
            let debug = format!("{:?}", file(&src).without_spans());
            let spans = debug.matches("Span {").count();
            assert!(spans > 100, "{}", path.display());
            assert_eq!(
                debug.matches("Span { start: 0, end: 0 }").count(),
                spans,
                "{}",
                path.display()
            );
            n += 1;
        }
        assert!(n > 0);
        let debug = format!("{:?}", file(SOURCE).without_spans());
        assert_eq!(
            debug.matches("Span { start: 0, end: 0 }").count(),
            debug.matches("Span {").count()
        );
    }
}
