//! The operators of a condition and the language's one precedence table, read by both the
//! parser and the formatter.

use super::ExprKind;

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

    /// The precedence table of the language: the parser (`lower/expr.rs` builds its Pratt
    /// parser from it) and the formatter (which parenthesises by it) both read it here.
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
