//! Conditions: the Pratt parser built from the precedence table, the terms it combines, and
//! event queries with their filters and scopes.

use std::sync::LazyLock;

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::{parts, Lower, Lowered};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;
use crate::syntax::Rule;

/// Operators of every kind (`and` and `or` included, inside brackets and `where` filters
/// too) allowed in one condition: the one limit on a condition's size. It bounds the depth of
/// the tree the checker and formatter recurse over (with the bracket-depth limit, far from the
/// stack limit) and the work of every later pass; hand-written conditions stay under 40.
pub const MAX_OPERATORS: usize = 256;

/// The grammar rule of each operator. With the precedence table ([`Operator::prec`]) and
/// fixity, it is all the Pratt parser is built from.
const OPERATOR_RULES: [(Operator, Rule); 25] = [
    (Operator::Or, Rule::kw_or),
    (Operator::And, Rule::kw_and),
    (Operator::Not, Rule::kw_not),
    (Operator::Neg, Rule::op_neg),
    (Operator::Binary(BinOp::Add), Rule::op_add),
    (Operator::Binary(BinOp::Sub), Rule::op_sub),
    (Operator::Binary(BinOp::Mul), Rule::op_mul),
    (Operator::Binary(BinOp::Div), Rule::op_div),
    (Operator::Binary(BinOp::Eq), Rule::op_eq),
    (Operator::Binary(BinOp::Ne), Rule::op_ne),
    (Operator::Binary(BinOp::Lt), Rule::op_lt),
    (Operator::Binary(BinOp::Le), Rule::op_le),
    (Operator::Binary(BinOp::Gt), Rule::op_gt),
    (Operator::Binary(BinOp::Ge), Rule::op_ge),
    (Operator::In { negated: false }, Rule::pf_in),
    (Operator::In { negated: true }, Rule::pf_not_in),
    (Operator::Between, Rule::pf_between),
    (Operator::Test(TestOp::Contains), Rule::pf_contains),
    (Operator::Test(TestOp::ContainsAll), Rule::pf_contains_all),
    (Operator::Test(TestOp::ContainsAny), Rule::pf_contains_any),
    (Operator::Test(TestOp::StartsWith), Rule::pf_starts),
    (Operator::Test(TestOp::EndsWith), Rule::pf_ends),
    (Operator::Test(TestOp::Matches), Rule::pf_matches),
    (Operator::Exists, Rule::pf_exists),
    (Operator::Missing, Rule::pf_missing),
];

/// The operator a grammar rule stands for, if any.
fn operator(rule: Rule) -> Option<Operator> {
    OPERATOR_RULES
        .iter()
        .find(|(_, r)| *r == rule)
        .map(|(op, _)| *op)
}

/// One level of operators per [`Prec`], loosest first.
static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    Prec::OPERATORS
        .into_iter()
        .fold(PrattParser::new(), |pratt, level| {
            let ops = OPERATOR_RULES
                .iter()
                .filter(|(op, _)| op.prec() == level)
                .map(|&(op, rule)| match op.fixity() {
                    Fixity::Prefix => Op::prefix(rule),
                    Fixity::Infix => Op::infix(rule, Assoc::Left),
                    Fixity::Postfix => Op::postfix(rule),
                });
            match ops.reduce(|a, b| a | b) {
                Some(ops) => pratt.op(ops),
                None => pratt,
            }
        })
});

impl Lower {
    pub(super) fn cmp_op(&self, pair: &Pair<'_, Rule>) -> Lowered<BinOp> {
        match operator(pair.as_rule()) {
            Some(Operator::Binary(op)) if op.is_comparison() => Ok(op),
            _ => Err(self.shape(pair, "a comparison")),
        }
    }

    pub fn expr(&self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        // Every operator below this one counts, however it is bracketed; an inner condition
        // counts again, but never more than its outer one, which is refused first.
        let operators = pair
            .clone()
            .into_inner()
            .flatten()
            .filter(|p| operator(p.as_rule()).is_some())
            .take(MAX_OPERATORS + 1)
            .count();
        if operators > MAX_OPERATORS {
            let total = pair
                .clone()
                .into_inner()
                .flatten()
                .filter(|p| operator(p.as_rule()).is_some())
                .count();
            let start = self.span(&pair).start;
            // The start of the condition only: a span over thousands of lines would be drawn
            // in full.
            return Err(Diagnostic::error(
                Code::TooComplex,
                crate::span::Span::new(start, start + 1),
                format!("this condition has {total} operators, more than {MAX_OPERATORS}"),
            )
            .label("the condition starts here")
            .help(
                "split it into named segments (`segment engaged = ...`) and use them by name, \
                 or count events in a score",
            ));
        }
        PRATT
            .map_primary(|p| self.term(p))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let span = self.span(&op).to(rhs.span);
                let kind = if op.as_rule() == Rule::kw_not {
                    ExprKind::Not(Box::new(rhs))
                } else {
                    ExprKind::Neg(Box::new(rhs))
                };
                Ok(Expr { kind, span })
            })
            .map_postfix(|lhs, op| self.postfix(lhs?, op))
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let span = lhs.span.to(rhs.span);
                let kind = match operator(op.as_rule()) {
                    Some(Operator::And) => flatten(lhs, rhs, true),
                    Some(Operator::Or) => flatten(lhs, rhs, false),
                    Some(Operator::Binary(b)) => binary(b, lhs, rhs),
                    _ => return Err(self.shape(&op, "an operator")),
                };
                Ok(Expr { kind, span })
            })
            .parse(pair.into_inner())
    }

    fn postfix(&self, lhs: Expr, op: Pair<'_, Rule>) -> Lowered<Expr> {
        let span = lhs.span.to(self.span(&op));
        let value = Box::new(lhs);
        let mut args = parts(op.clone()).filter(|p| p.as_rule() != Rule::kw_not);
        let mut arg = |what: &str| -> Lowered<Box<Expr>> {
            let p = self.next(&mut args, &op, what)?;
            Ok(Box::new(if p.as_rule() == Rule::bound {
                self.bound(p)?
            } else {
                self.term(p)?
            }))
        };
        let kind = match operator(op.as_rule()) {
            Some(Operator::In { negated }) => ExprKind::In {
                value,
                list: arg("a list")?,
                negated,
            },
            Some(Operator::Between) => {
                let lo = arg("a lower bound")?;
                let hi = arg("an upper bound")?;
                ExprKind::Between { value, lo, hi }
            }
            Some(Operator::Test(test)) => {
                let what = match test {
                    TestOp::Contains => "a value",
                    TestOp::ContainsAll | TestOp::ContainsAny => "a list",
                    TestOp::StartsWith | TestOp::EndsWith => "text",
                    TestOp::Matches => "a pattern",
                };
                ExprKind::Test {
                    value,
                    op: test,
                    arg: arg(what)?,
                }
            }
            Some(Operator::Exists) => ExprKind::Exists(value),
            Some(Operator::Missing) => ExprKind::Missing(value),
            _ => return Err(self.shape(&op, "a test")),
        };
        Ok(Expr { kind, span })
    }

    fn bound(&self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let span = self.span(&pair);
        let mut it = pair.clone().into_inner();
        let first = self.next(&mut it, &pair, "a bound")?;
        if first.as_rule() == Rule::op_neg {
            let t = self.term(self.next(&mut it, &pair, "a bound")?)?;
            Ok(Expr {
                kind: ExprKind::Neg(Box::new(t)),
                span,
            })
        } else {
            self.term(first)
        }
    }

    fn term(&self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::paren => {
                return self
                    .expr(self.only(pair, "a condition")?)
                    .map(|e| Expr { span, ..e })
            }
            Rule::list => ExprKind::List(
                parts(pair)
                    .map(|p| self.expr(p))
                    .collect::<Lowered<Vec<_>>>()?,
            ),
            Rule::count_q => ExprKind::Count(Box::new(self.event_q(self.only(pair, "an event")?)?)),
            Rule::no_q => ExprKind::No(Box::new(self.event_q(self.only(pair, "an event")?)?)),
            Rule::rate_q => {
                let mut it = parts(pair.clone());
                let a = self.event_q(self.next(&mut it, &pair, "an event")?)?;
                let b = self.event_q(self.next(&mut it, &pair, "an event")?)?;
                ExprKind::Rate(Box::new(a), Box::new(b))
            }
            Rule::days_since => {
                let mut it = pair
                    .clone()
                    .into_inner()
                    .filter(|p| !matches!(p.as_rule(), Rule::kw_days | Rule::kw_since));
                let which = self.which(&self.next(&mut it, &pair, "`last` or `first`")?);
                let q = self.event_q(self.next(&mut it, &pair, "an event")?)?;
                ExprKind::DaysSince(which, Box::new(q))
            }
            Rule::days_entering => {
                ExprKind::DaysSinceEntering(self.name(&self.only(pair, "a stage")?))
            }
            Rule::latest_q => {
                let mut it = pair.clone().into_inner();
                let which = self.which(&self.next(&mut it, &pair, "`latest` or `first`")?);
                let query = self.event_q(self.next(&mut it, &pair, "an event")?)?;
                let has = self.next(&mut it, &pair, "`has`")?;
                let mut hi = parts(has.clone());
                let first = self.next(&mut hi, &has, "a property")?;
                let test = if first.as_rule() == Rule::int {
                    let k = self.small_int(&first)?;
                    let list = self.next(&mut hi, &has, "a list of properties")?;
                    HasTest::AtLeast {
                        k,
                        props: parts(list).map(|p| self.name(&p)).collect(),
                    }
                } else {
                    HasTest::Prop(self.name(&first))
                };
                ExprKind::Has {
                    which,
                    query: Box::new(query),
                    test,
                }
            }
            Rule::prop_of => {
                let mut it = pair
                    .clone()
                    .into_inner()
                    .filter(|p| p.as_rule() != Rule::kw_of);
                let prop = self.name(&self.next(&mut it, &pair, "a property")?);
                let which = self.which(&self.next(&mut it, &pair, "`latest` or `first`")?);
                let query = self.event_q(self.next(&mut it, &pair, "an event")?)?;
                ExprKind::PropOf {
                    prop,
                    which,
                    query: Box::new(query),
                }
            }
            Rule::at_least => {
                let mut it = parts(pair.clone());
                let k = self.small_int(&self.next(&mut it, &pair, "a number")?)?;
                let items = it.map(|p| self.expr(p)).collect::<Lowered<Vec<_>>>()?;
                ExprKind::AtLeast { k, items }
            }
            Rule::score_ref => ExprKind::Score(self.name(&self.only(pair, "a score")?)),
            Rule::grade_ref => ExprKind::Grade(self.name(&self.only(pair, "a score")?)),
            Rule::sequence => {
                let whole = pair.clone();
                let mut steps = parts(pair)
                    .map(|p| self.event_q(p))
                    .collect::<Lowered<Vec<_>>>()?;
                if steps.len() > 1 {
                    ExprKind::Then(steps)
                } else {
                    match steps.pop() {
                        Some(q) if q.is_plain() => ExprKind::Name(q.event),
                        Some(q) => ExprKind::Event(Box::new(q)),
                        None => return Err(self.shape(&whole, "an event")),
                    }
                }
            }
            Rule::path => ExprKind::Name(self.name(&pair)),
            Rule::where_pred => return self.where_pred(pair),
            _ => ExprKind::Lit(self.literal(&pair)?),
        };
        Ok(Expr { kind, span })
    }

    fn which(&self, pair: &Pair<'_, Rule>) -> Which {
        if pair.as_rule() == Rule::kw_first {
            Which::First
        } else {
            Which::Last
        }
    }

    fn small_int(&self, pair: &Pair<'_, Rule>) -> Lowered<u32> {
        pair.as_str().parse::<u32>().map_err(|_| {
            Diagnostic::error(
                Code::BadNumber,
                self.span(pair),
                format!("`{}` is too large here", pair.as_str()),
            )
        })
    }

    pub(super) fn event_q(&self, pair: Pair<'_, Rule>) -> Lowered<EventQuery> {
        let span = self.span(&pair);
        let mut it = pair.clone().into_inner();
        let event = self.name(&self.next(&mut it, &pair, "an event")?);
        let mut q = EventQuery {
            event,
            filter: None,
            within: None,
            since: None,
            span,
        };
        for p in it {
            match p.as_rule() {
                Rule::where_clause => {
                    let inner = self.only(p, "a filter")?;
                    q.filter = Some(Box::new(if inner.as_rule() == Rule::paren {
                        self.term(inner)?
                    } else {
                        self.where_pred(inner)?
                    }));
                }
                Rule::within_scope => q.within = Some(self.duration(&self.only(p, "a duration")?)?),
                Rule::since_scope => q.since = Some(self.name(&self.only(p, "a stage")?)),
                _ => return Err(self.shape(&p, "an event filter")),
            }
        }
        Ok(q)
    }

    /// `where step in [1, 2]`: one test on a property, built without the Pratt parser because
    /// the grammar allows only this one shape here.
    fn where_pred(&self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let span = self.span(&pair);
        let mut it = pair.clone().into_inner().peekable();
        let negated = it.peek().is_some_and(|p| p.as_rule() == Rule::kw_not);
        if negated {
            it.next();
        }
        let lhs = self.term(self.next(&mut it, &pair, "a property")?)?;
        let expr = match it.next() {
            None => lhs,
            Some(op) if operator(op.as_rule()).is_some_and(|o| o.fixity() == Fixity::Postfix) => {
                self.postfix(lhs, op)?
            }
            Some(op) => {
                let bop = self.cmp_op(&op)?;
                let mut rhs_pair = self.next(&mut it, &pair, "a value")?;
                let neg = rhs_pair.as_rule() == Rule::op_neg;
                if neg {
                    rhs_pair = self.next(&mut it, &pair, "a value")?;
                }
                let mut rhs = self.term(rhs_pair)?;
                if neg {
                    rhs = Expr {
                        span: rhs.span,
                        kind: ExprKind::Neg(Box::new(rhs)),
                    };
                }
                Expr {
                    span: lhs.span.to(rhs.span),
                    kind: binary(bop, lhs, rhs),
                }
            }
        };
        Ok(if negated {
            Expr {
                kind: ExprKind::Not(Box::new(expr)),
                span,
            }
        } else {
            expr
        })
    }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> ExprKind {
    ExprKind::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

/// `a and b and c` → `All[a, b, c]`: flat lists keep the tree shallow for long conditions and
/// read naturally in explanations ("all of").
fn flatten(lhs: Expr, rhs: Expr, and: bool) -> ExprKind {
    match (lhs.kind, and) {
        (ExprKind::All(mut v), true) => {
            v.push(rhs);
            ExprKind::All(v)
        }
        (ExprKind::Any(mut v), false) => {
            v.push(rhs);
            ExprKind::Any(v)
        }
        (kind, _) => {
            let lhs = Expr {
                kind,
                span: lhs.span,
            };
            if and {
                ExprKind::All(vec![lhs, rhs])
            } else {
                ExprKind::Any(vec![lhs, rhs])
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    #[test]
    fn every_operator_has_one_rule() {
        assert_eq!(OPERATOR_RULES.len(), Operator::ALL.len());
        for op in Operator::ALL {
            assert_eq!(
                OPERATOR_RULES.iter().filter(|(o, _)| *o == op).count(),
                1,
                "{op:?}"
            );
        }
        for (op, rule) in OPERATOR_RULES {
            assert_eq!(operator(rule), Some(op), "{rule:?}");
        }
    }

    #[test]
    fn operator_limit() {
        let code = |src: String| parse(&src).diagnostics.first().map(|d| d.code);
        let n = MAX_OPERATORS;
        assert_eq!(code(format!("segment s = {}x\n", "not ".repeat(n))), None);
        assert_eq!(
            code(format!("segment s = {}x\n", "not ".repeat(n + 1))),
            Some(Code::TooComplex)
        );
        assert_eq!(code(format!("segment s = x{}\n", " + 1".repeat(n))), None);
        assert_eq!(
            code(format!("segment s = x{}\n", " + 1".repeat(n + 1))),
            Some(Code::TooComplex)
        );
        assert_eq!(
            code(format!(
                "segment s = x{}\n",
                " exists == true".repeat(n / 2 + 1)
            )),
            Some(Code::TooComplex)
        );
        // `and` and `or` count like the others.
        assert_eq!(code(format!("segment s = x{}\n", " and y".repeat(n))), None);
        assert_eq!(
            code(format!("segment s = x{}\n", " and y".repeat(n + 1))),
            Some(Code::TooComplex)
        );
        // Brackets do not reset the count: 8 groups of 40 are 320 operators.
        let group = format!("(x{})", " + 1".repeat(40));
        let groups = vec![group; 8].join(" + ");
        assert_eq!(
            code(format!("segment s = {groups} > 1\n")),
            Some(Code::TooComplex)
        );
        // Nor does a `where` filter.
        let filter = format!("count e where (p{}) >= 1", " and q".repeat(n));
        assert_eq!(
            code(format!("segment s = {filter}\n")),
            Some(Code::TooComplex)
        );
    }
}
