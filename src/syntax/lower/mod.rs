//! pest pairs → AST: one function per grammar rule, no panics on pair shapes.
//!
//! A shape the grammar guarantees but the code cannot prove is reported as an internal
//! `funnel::syntax` error rather than unwrapped, so a grammar change can never crash `check`.

use std::sync::LazyLock;

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::*;
use super::{scan, Rule};
use crate::diag::{Code, Diagnostic};
use crate::span::Span;
use crate::time;

/// Operators (prefix, infix and postfix) allowed in one expression, not counting `and` and
/// `or`, which are kept flat. Bounds the depth of the tree the checker and formatter recurse
/// over; together with the bracket-depth limit this keeps every file far from the stack limit.
pub const MAX_OPERATORS: usize = 64;

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

type R<T> = Result<T, Diagnostic>;

/// Lowering context: the byte offset of the chunk being lowered within the whole file.
#[derive(Clone, Copy)]
pub struct Lower {
    pub offset: usize,
}

fn is_keyword(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        kw_and
            | kw_any
            | kw_all
            | kw_as
            | kw_at
            | kw_between
            | kw_by
            | kw_contains
            | kw_conversion
            | kw_cost
            | kw_count
            | kw_days
            | kw_decay
            | kw_dimensions
            | kw_ends
            | kw_enter
            | kw_entered
            | kw_entering
            | kw_events
            | kw_exists
            | kw_exit
            | kw_exited
            | kw_expect
            | kw_expire
            | kw_after
            | kw_event
            | kw_from
            | kw_funnel
            | kw_grade
            | kw_growing
            | kw_half_life
            | kw_has
            | kw_in
            | kw_is
            | kw_kpi
            | kw_least
            | kw_matches
            | kw_max
            | kw_min
            | kw_missing
            | kw_most
            | kw_move
            | kw_no
            | kw_of
            | kw_or
            | kw_owner
            | kw_per
            | kw_priority
            | kw_rate
            | kw_revenue
            | kw_schema
            | kw_score
            | kw_segment
            | kw_since
            | kw_sla
            | kw_stage
            | kw_starts
            | kw_target
            | kw_test
            | kw_then
            | kw_trait
            | kw_traits
            | kw_velocity
            | kw_volume
            | kw_when
            | kw_where
            | kw_with
            | kw_within
    )
}

/// The meaningful children of a pair: everything but plain keywords. `first`, `last`,
/// `latest` and `not` carry meaning where they appear and are kept.
fn parts(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

impl Lower {
    /// A node's span, ending where its content ends: pest counts the whitespace and
    /// comments skipped before a repetition that then matched nothing as part of the rule.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        // Fast path: with no `/` inside and no blank at the end, nothing can trail.
        let text = s.as_str();
        if !text.ends_with(|c: char| c.is_ascii_whitespace()) && !text.contains('/') {
            return Span::new(s.start() + self.offset, s.end() + self.offset);
        }
        let end = match pair.clone().into_inner().last() {
            // Keep closing brackets after the last child; drop whitespace and comments.
            Some(last) => {
                let inner_end = self.span(&last).end - self.offset;
                let gap = s.as_str().get(inner_end - s.start()..).unwrap_or("");
                inner_end + content_len(gap)
            }
            None => s.end(),
        };
        Span::new(s.start() + self.offset, end.max(s.start()) + self.offset)
    }

    fn shape(&self, pair: &Pair<'_, Rule>, what: &str) -> Diagnostic {
        Diagnostic::error(
            Code::Syntax,
            self.span(pair),
            format!("could not read {what} here"),
        )
        .help("this is a bug in funnelc's parser: please report it with the file")
    }

    fn next<'i>(
        &self,
        it: &mut impl Iterator<Item = Pair<'i, Rule>>,
        parent: &Pair<'i, Rule>,
        what: &str,
    ) -> R<Pair<'i, Rule>> {
        it.next().ok_or_else(|| self.shape(parent, what))
    }

    fn name(&self, pair: &Pair<'_, Rule>) -> Name {
        Name {
            text: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    // -------------------------------------------------------------- items

    pub fn file(&self, pairs: Pairs<'_, Rule>, out: &mut Vec<Item>, diags: &mut Vec<Diagnostic>) {
        for pair in pairs {
            for item in pair.into_inner() {
                if item.as_rule() == Rule::EOI {
                    continue;
                }
                match self.item(item) {
                    Ok(i) => out.push(i),
                    Err(d) => diags.push(d),
                }
            }
        }
    }

    fn item(&self, pair: Pair<'_, Rule>) -> R<Item> {
        Ok(match pair.as_rule() {
            Rule::funnel_decl => Item::Funnel(self.funnel_decl(pair)?),
            Rule::schema => Item::Schema(self.schema(pair)?),
            Rule::segment => Item::Segment(self.segment(pair)?),
            Rule::score => Item::Score(self.score(pair)?),
            Rule::stage => Item::Stage(self.stage(pair)?),
            Rule::move_decl => Item::Move(self.move_decl(pair)?),
            Rule::exit_decl => Item::Exit(self.exit_decl(pair)?),
            Rule::kpi => Item::Kpi(self.kpi(pair)?),
            Rule::target => Item::Target(self.target(pair)?),
            Rule::dimensions => Item::Dimensions(self.dimensions(pair)?),
            Rule::cost => Item::Cost(self.cost(pair)?),
            Rule::revenue => Item::Revenue(self.revenue(pair)?),
            Rule::test_decl => Item::Test(self.test(pair)?),
            _ => return Err(self.shape(&pair, "a declaration")),
        })
    }

    fn funnel_decl(&self, pair: Pair<'_, Rule>) -> R<FunnelDecl> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let s = self.next(&mut it, &pair, "the funnel name")?;
        Ok(FunnelDecl {
            name: self.string(&s)?,
            span,
        })
    }

    fn schema(&self, pair: Pair<'_, Rule>) -> R<Schema> {
        let span = self.span(&pair);
        let mut entries = Vec::new();
        self.schema_entries(parts(pair), &mut entries)?;
        Ok(Schema { entries, span })
    }

    /// Trait and event declarations, in order (the body of a schema, or a piece of one).
    pub fn schema_entries<'i>(
        &self,
        pairs: impl Iterator<Item = Pair<'i, Rule>>,
        entries: &mut Vec<SchemaEntry>,
    ) -> R<()> {
        for p in pairs {
            entries.push(match p.as_rule() {
                Rule::trait_decl => SchemaEntry::Trait(self.trait_decl(p)?),
                Rule::event_decl => SchemaEntry::Event(self.event_decl(p)?),
                Rule::EOI | Rule::schema_entries => continue,
                _ => return Err(self.shape(&p, "a schema entry")),
            });
        }
        Ok(())
    }

    fn trait_decl(&self, pair: Pair<'_, Rule>) -> R<TraitDecl> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let path = self.name(&self.next(&mut it, &pair, "a trait name")?);
        let ty = self.type_expr(self.next(&mut it, &pair, "a type")?)?;
        Ok(TraitDecl { path, ty, span })
    }

    fn event_decl(&self, pair: Pair<'_, Rule>) -> R<EventDecl> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let name = self.name(&self.next(&mut it, &pair, "an event name")?);
        let mut props = Vec::new();
        for p in it {
            let pspan = self.span(&p);
            let mut pi = parts(p.clone());
            let pname = self.name(&self.next(&mut pi, &p, "a property name")?);
            let ty = self.type_expr(self.next(&mut pi, &p, "a type")?)?;
            props.push(PropDecl {
                name: pname,
                ty,
                span: pspan,
            });
        }
        Ok(EventDecl { name, props, span })
    }

    fn type_expr(&self, pair: Pair<'_, Rule>) -> R<Type> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let inner = self.next(&mut it, &pair, "a type")?;
        let (list, scalar_pair) = if inner.as_rule() == Rule::list_type {
            let mut li = parts(inner.clone());
            (true, self.next(&mut li, &inner, "a type")?)
        } else {
            (false, inner)
        };
        let scalar = Scalar::from_keyword(scalar_pair.as_str())
            .ok_or_else(|| self.shape(&scalar_pair, "a type"))?;
        Ok(Type { scalar, list, span })
    }

    fn segment(&self, pair: Pair<'_, Rule>) -> R<Segment> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let name = self.name(&self.next(&mut it, &pair, "a segment name")?);
        let expr = self.expr(self.next(&mut it, &pair, "a condition")?)?;
        Ok(Segment { name, expr, span })
    }

    fn score(&self, pair: Pair<'_, Rule>) -> R<Score> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let name = self.name(&self.next(&mut it, &pair, "a score name")?);
        let mut score = Score {
            name,
            max: None,
            min: None,
            decay: None,
            rules: Vec::new(),
            grades: Vec::new(),
            span,
        };
        for p in it {
            match p.as_rule() {
                Rule::score_max => score.max = Some(self.number(&self.only(p, "a number")?)?),
                Rule::score_min => score.min = Some(self.number(&self.only(p, "a number")?)?),
                Rule::score_decay => {
                    let d = self.only(p, "a decay")?;
                    let rule = d.as_rule();
                    let dur = self.duration(&self.only(d, "a duration")?)?;
                    score.decay = Some(if rule == Rule::half_life {
                        Decay::HalfLife(dur)
                    } else {
                        Decay::Expire(dur)
                    });
                }
                Rule::score_rule => score.rules.push(self.score_rule(p)?),
                Rule::grade_decl => {
                    let gspan = self.span(&p);
                    let mut gi = parts(p.clone());
                    let label = self.name(&self.next(&mut gi, &p, "a grade")?);
                    let from = self.number(&self.next(&mut gi, &p, "a number")?)?;
                    score.grades.push(GradeDecl {
                        label,
                        from,
                        span: gspan,
                    });
                }
                _ => return Err(self.shape(&p, "a score rule")),
            }
        }
        Ok(score)
    }

    fn only<'i>(&self, pair: Pair<'i, Rule>, what: &str) -> R<Pair<'i, Rule>> {
        let mut it = parts(pair.clone());
        self.next(&mut it, &pair, what)
    }

    fn score_rule(&self, pair: Pair<'_, Rule>) -> R<ScoreRule> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let points = self.number(&self.next(&mut it, &pair, "points")?)?;
        let body = self.next(&mut it, &pair, "`when` or `per`")?;
        let kind = match body.as_rule() {
            Rule::rule_when => RuleKind::When(self.expr(self.only(body, "a condition")?)?),
            Rule::rule_per => {
                let mut bi = parts(body.clone());
                let query = self.event_q(self.next(&mut bi, &body, "an event")?)?;
                let cap = match bi.next() {
                    Some(c) => Some(self.number(&self.only(c, "a number")?)?),
                    None => None,
                };
                RuleKind::Per { query, cap }
            }
            _ => return Err(self.shape(&body, "a score rule")),
        };
        Ok(ScoreRule { points, kind, span })
    }

    fn stage(&self, pair: Pair<'_, Rule>) -> R<Stage> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let name = self.name(&self.next(&mut it, &pair, "a stage name")?);
        let mut stage = Stage {
            name,
            display: None,
            owner: None,
            sla: None,
            enter: Vec::new(),
            span,
        };
        for p in it {
            match p.as_rule() {
                Rule::string => stage.display = Some(self.string(&p)?),
                Rule::stage_owner => stage.owner = Some(self.name(&self.only(p, "an owner")?)),
                Rule::stage_sla => stage.sla = Some(self.duration(&self.only(p, "a duration")?)?),
                Rule::enter_rule => stage.enter.push(self.expr(self.only(p, "a condition")?)?),
                _ => return Err(self.shape(&p, "a stage clause")),
            }
        }
        Ok(stage)
    }

    fn priority(&self, pair: &Pair<'_, Rule>) -> R<Priority> {
        let v = self.only(pair.clone(), "a number")?;
        let value = v.as_str().parse::<u32>().map_err(|_| {
            Diagnostic::error(Code::BadNumber, self.span(&v), "priority is too large")
                .help("use a small whole number: 1 runs first")
        })?;
        Ok(Priority {
            value,
            span: self.span(pair),
        })
    }

    /// The tail of a move or an exit: `[priority N] when CONDITION`.
    fn priority_and_when<'i>(
        &self,
        it: &mut impl Iterator<Item = Pair<'i, Rule>>,
        pair: &Pair<'i, Rule>,
    ) -> R<(Option<Priority>, Expr)> {
        let mut next = self.next(it, pair, "a condition")?;
        let mut priority = None;
        if next.as_rule() == Rule::priority {
            priority = Some(self.priority(&next)?);
            next = self.next(it, pair, "a condition")?;
        }
        Ok((priority, self.expr(next)?))
    }

    fn move_decl(&self, pair: Pair<'_, Rule>) -> R<Move> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let from = self.name(&self.next(&mut it, &pair, "a stage")?);
        let to = self.name(&self.next(&mut it, &pair, "a stage")?);
        let (priority, when) = self.priority_and_when(&mut it, &pair)?;
        Ok(Move {
            from,
            to,
            priority,
            when,
            span,
        })
    }

    fn exit_decl(&self, pair: Pair<'_, Rule>) -> R<Exit> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let name = self.name(&self.next(&mut it, &pair, "an exit name")?);
        let set = self.next(&mut it, &pair, "stages")?;
        let from = {
            let set_span = self.span(&set);
            let names: Vec<Name> = parts(set).map(|p| self.name(&p)).collect();
            if names.is_empty() {
                StageSet::Any(set_span)
            } else {
                StageSet::Stages(names)
            }
        };
        let (priority, when) = self.priority_and_when(&mut it, &pair)?;
        Ok(Exit {
            name,
            from,
            priority,
            when,
            span,
        })
    }

    fn kpi(&self, pair: Pair<'_, Rule>) -> R<Kpi> {
        let span = self.span(&pair);
        let body = self.only(pair, "a KPI")?;
        let rule = body.as_rule();
        let mut it = parts(body.clone());
        let from = self.name(&self.next(&mut it, &body, "a stage")?);
        let to = self.name(&self.next(&mut it, &body, "a stage")?);
        if rule == Rule::kpi_velocity {
            let at_most = self.duration(&self.next(&mut it, &body, "a duration")?)?;
            return Ok(Kpi::Velocity {
                from,
                to,
                at_most,
                span,
            });
        }
        let mut bands = Vec::new();
        for b in it {
            let bspan = self.span(&b);
            let mut bi = parts(b.clone());
            let label = self.name(&self.next(&mut bi, &b, "a band name")?);
            let r = self.next(&mut bi, &b, "a range")?;
            let r_rule = r.as_rule();
            let nums = parts(r.clone())
                .map(|p| self.percent(&p))
                .collect::<R<Vec<_>>>()?;
            let range = match (r_rule, nums.as_slice()) {
                (Rule::band_below, [n]) => BandRange::Below(*n),
                (Rule::band_from, [n]) => BandRange::From(*n),
                (Rule::band_between, [a, b]) => BandRange::Between(*a, *b),
                _ => return Err(self.shape(&r, "a band")),
            };
            bands.push(Band {
                label,
                range,
                span: bspan,
            });
        }
        Ok(Kpi::Conversion {
            from,
            to,
            bands,
            span,
        })
    }

    fn period(&self, pair: &Pair<'_, Rule>) -> R<Period> {
        Period::from_keyword(pair.as_str()).ok_or_else(|| self.shape(pair, "a period"))
    }

    fn target(&self, pair: Pair<'_, Rule>) -> R<Target> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let stage = self.name(&self.next(&mut it, &pair, "a stage")?);
        let period = self.period(&self.next(&mut it, &pair, "a period")?)?;
        let m = self.next(&mut it, &pair, "a month")?;
        let from = self.month(&m)?;
        let b = self.next(&mut it, &pair, "a number")?;
        let base = b.as_str().parse::<u64>().map_err(|_| {
            Diagnostic::error(Code::BadNumber, self.span(&b), "the target is too large")
        })?;
        let growth = match it.next() {
            Some(g) => Some(self.percent(&g)?),
            None => None,
        };
        Ok(Target {
            stage,
            period,
            from,
            base,
            growth,
            span,
        })
    }

    fn month(&self, pair: &Pair<'_, Rule>) -> R<Month> {
        let s = pair.as_str();
        let bad = || {
            Diagnostic::error(
                Code::BadDate,
                self.span(pair),
                format!("`{s}` is not a month"),
            )
            .help("write a month as YYYY-MM, e.g. 2025-01")
        };
        let (year, month) = year_month(s).ok_or_else(bad)?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    fn dimensions(&self, pair: Pair<'_, Rule>) -> R<Dimensions> {
        let span = self.span(&pair);
        let paths = parts(pair).map(|p| self.name(&p)).collect();
        Ok(Dimensions { paths, span })
    }

    fn cost(&self, pair: Pair<'_, Rule>) -> R<Cost> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let by = self.name(&self.next(&mut it, &pair, "a trait")?);
        let period = self.period(&self.next(&mut it, &pair, "a period")?)?;
        let mut entries = Vec::new();
        for e in it {
            let espan = self.span(&e);
            let mut ei = parts(e.clone());
            let key = self.string(&self.next(&mut ei, &e, "a value")?)?;
            let m = self.next(&mut ei, &e, "an amount")?;
            let Literal::Money(amount) = self.literal(&m)? else {
                return Err(self.shape(&m, "an amount"));
            };
            entries.push(CostEntry {
                key,
                amount,
                span: espan,
            });
        }
        Ok(Cost {
            by,
            period,
            entries,
            span,
        })
    }

    fn revenue(&self, pair: Pair<'_, Rule>) -> R<Revenue> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone()).peekable();
        let period = match it.peek() {
            Some(p) if p.as_rule() == Rule::period => {
                let p = self.period(p)?;
                it.next();
                Some(p)
            }
            _ => None,
        };
        let prop = self.name(&self.next(&mut it, &pair, "a property")?);
        let event = self.name(&self.next(&mut it, &pair, "an event")?);
        Ok(Revenue {
            period,
            prop,
            event,
            span,
        })
    }

    // -------------------------------------------------------------- tests

    fn test(&self, pair: Pair<'_, Rule>) -> R<Test> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let name = self.string(&self.next(&mut it, &pair, "a test name")?)?;
        let mut test = Test {
            name,
            as_of: None,
            traits: None,
            events: Vec::new(),
            expects: Vec::new(),
            span,
        };
        for p in it {
            match p.as_rule() {
                Rule::test_as_of => test.as_of = Some(self.time_lit(&self.only(p, "a date")?)?),
                Rule::test_traits => test.traits = Some(self.object(self.only(p, "traits")?)?),
                Rule::test_events => {
                    for e in parts(p) {
                        let espan = self.span(&e);
                        let mut ei = parts(e.clone());
                        let at = self.time_lit(&self.next(&mut ei, &e, "a time")?)?;
                        let event = self.name(&self.next(&mut ei, &e, "an event")?);
                        let props = match ei.next() {
                            Some(o) => Some(self.object(o)?),
                            None => None,
                        };
                        test.events.push(TestEvent {
                            at,
                            event,
                            props,
                            span: espan,
                        });
                    }
                }
                Rule::expect => test.expects.push(self.expect(p)?),
                _ => return Err(self.shape(&p, "a test clause")),
            }
        }
        Ok(test)
    }

    fn expect(&self, pair: Pair<'_, Rule>) -> R<Expect> {
        let span = self.span(&pair);
        let body = self.only(pair, "an expectation")?;
        let rule = body.as_rule();
        let mut it = parts(body.clone()).filter(|p| p.as_rule() != Rule::kw_not);
        let name = self.name(&self.next(&mut it, &body, "a name")?);
        let at = |it: &mut dyn Iterator<Item = Pair<'_, Rule>>| -> R<Option<TimeLit>> {
            match it.next() {
                Some(t) => Ok(Some(self.time_lit(&t)?)),
                None => Ok(None),
            }
        };
        Ok(match rule {
            Rule::expect_stage => Expect::Stage(name, span),
            Rule::expect_not_entered => Expect::NotEntered(name, span),
            Rule::expect_entered => Expect::Entered {
                stage: name,
                at: at(&mut it)?,
                span,
            },
            Rule::expect_exited => Expect::Exited {
                exit: name,
                at: at(&mut it)?,
                span,
            },
            Rule::expect_score => {
                let op_pair = self.next(&mut it, &body, "a comparison")?;
                let op = self.cmp_op(&op_pair)?;
                let value = self.number(&self.next(&mut it, &body, "a number")?)?;
                Expect::Score {
                    score: name,
                    op,
                    value,
                    span,
                }
            }
            Rule::expect_grade => Expect::Grade {
                score: name,
                label: self.name(&self.next(&mut it, &body, "a grade")?),
                span,
            },
            _ => return Err(self.shape(&body, "an expectation")),
        })
    }

    fn object(&self, pair: Pair<'_, Rule>) -> R<Object> {
        let span = self.span(&pair);
        let mut fields = Vec::new();
        for f in parts(pair) {
            let fspan = self.span(&f);
            let mut fi = parts(f.clone());
            let key = self.name(&self.next(&mut fi, &f, "a field name")?);
            let value = self.value(self.next(&mut fi, &f, "a value")?)?;
            fields.push(Field {
                key,
                value,
                span: fspan,
            });
        }
        Ok(Object { fields, span })
    }

    fn value(&self, pair: Pair<'_, Rule>) -> R<Value> {
        let inner = self.only(pair, "a value")?;
        let span = self.span(&inner);
        Ok(match inner.as_rule() {
            Rule::object => Value::Object(self.object(inner)?),
            Rule::value_list => Value::List(
                parts(inner).map(|v| self.value(v)).collect::<R<Vec<_>>>()?,
                span,
            ),
            _ => Value::Lit(self.literal(&inner)?, span),
        })
    }

    // -------------------------------------------------------------- literals

    fn number(&self, pair: &Pair<'_, Rule>) -> R<Number> {
        self.finite(
            pair,
            pair.as_str().trim_start_matches('+'),
            "a number funnelc can hold",
        )
    }

    fn percent(&self, pair: &Pair<'_, Rule>) -> R<Number> {
        self.finite(pair, pair.as_str().trim_end_matches('%'), "a percentage")
    }

    /// `text` (a piece of the pair) as a finite number, or why not: the one reading of every
    /// number, percentage and amount.
    fn finite(&self, pair: &Pair<'_, Rule>, text: &str, what: &str) -> R<Number> {
        let span = self.span(pair);
        let value = text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                Diagnostic::error(
                    Code::BadNumber,
                    span,
                    format!("`{}` is not {what}", pair.as_str()),
                )
            })?;
        Ok(Number { value, span })
    }

    fn duration(&self, pair: &Pair<'_, Rule>) -> R<DurationLit> {
        match self.literal(pair)? {
            Literal::Duration(value) => Ok(DurationLit {
                value,
                span: self.span(pair),
            }),
            _ => Err(self.shape(pair, "a duration")),
        }
    }

    fn string(&self, pair: &Pair<'_, Rule>) -> R<String> {
        let raw = pair.as_str();
        let body = raw
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .ok_or_else(|| self.shape(pair, "text"))?;
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let after = chars.next();
            let escaped = TEXT_ESCAPES
                .iter()
                .find(|(written, _)| Some(*written) == after);
            match escaped {
                Some(&(_, meant)) => out.push(meant),
                None => {
                    let shown = after.map(String::from).unwrap_or_default();
                    return Err(Diagnostic::error(
                        Code::BadEscape,
                        self.span(pair),
                        format!("unknown escape `\\{shown}` in text"),
                    )
                    .help("text may contain \\\", \\\\, \\n and \\t"));
                }
            }
        }
        Ok(out)
    }

    fn time_lit(&self, pair: &Pair<'_, Rule>) -> R<TimeLit> {
        let span = self.span(pair);
        let date_only = pair.as_rule() == Rule::date;
        let at = time::parse_timestamp(pair.as_str()).map_err(|msg| {
            Diagnostic::error(Code::BadDate, span, msg).help(date_help(pair.as_str()))
        })?;
        Ok(TimeLit {
            at,
            date_only,
            span,
        })
    }

    fn literal(&self, pair: &Pair<'_, Rule>) -> R<Literal> {
        let s = pair.as_str();
        let span = self.span(pair);
        let bad_number = || {
            Diagnostic::error(
                Code::BadNumber,
                span,
                format!("`{s}` is not a number funnelc can hold"),
            )
        };
        Ok(match pair.as_rule() {
            Rule::number => {
                if s.contains('.') {
                    Literal::Decimal(self.number(pair)?.value)
                } else {
                    Literal::Int(s.parse::<i64>().map_err(|_| bad_number())?)
                }
            }
            Rule::percent => Literal::Percent(self.percent(pair)?.value),
            Rule::money => {
                let (amount_text, currency) = if let Some(rest) = s.strip_prefix('$') {
                    (rest.replace(',', ""), "USD".to_string())
                } else {
                    let (num, cur) = s.rsplit_once(' ').ok_or_else(bad_number)?;
                    (num.trim().to_string(), cur.to_string())
                };
                let amount = self
                    .finite(pair, &amount_text, "a number funnelc can hold")?
                    .value;
                Literal::Money(Money { amount, currency })
            }
            Rule::duration => {
                let (num, unit) = s.split_at(s.len() - 1);
                let unit = DurationUnit::from_suffix(unit)
                    .ok_or_else(|| self.shape(pair, "a duration"))?;
                let value = num
                    .parse::<u64>()
                    .ok()
                    .filter(|v| *v <= 1_000_000)
                    .ok_or_else(|| {
                        Diagnostic::error(
                            Code::BadNumber,
                            span,
                            format!("`{s}` is longer than funnelc can measure"),
                        )
                        .help("durations may be at most 1,000,000 units")
                    })?;
                Literal::Duration(Duration { value, unit })
            }
            Rule::date => {
                Literal::Date(time::parse_date(s).map_err(|msg| {
                    Diagnostic::error(Code::BadDate, span, msg).help(date_help(s))
                })?)
            }
            Rule::timestamp => Literal::Timestamp(self.time_lit(pair)?.at),
            Rule::string => Literal::Text(self.string(pair)?),
            Rule::boolean => Literal::Bool(s == "true"),
            _ => return Err(self.shape(pair, "a value")),
        })
    }

    fn cmp_op(&self, pair: &Pair<'_, Rule>) -> R<BinOp> {
        match operator(pair.as_rule()) {
            Some(Operator::Binary(op)) if op.is_comparison() => Ok(op),
            _ => Err(self.shape(pair, "a comparison")),
        }
    }

    // -------------------------------------------------------------- expressions

    pub fn expr(&self, pair: Pair<'_, Rule>) -> R<Expr> {
        // `and` and `or` do not count: their chains are flat lists.
        let operators = pair
            .clone()
            .into_inner()
            .filter(|p| {
                operator(p.as_rule()).is_some_and(|op| !matches!(op, Operator::And | Operator::Or))
            })
            .count();
        if operators > MAX_OPERATORS {
            return Err(Diagnostic::error(
                Code::TooComplex,
                self.span(&pair),
                format!("this condition chains {operators} operators"),
            )
            .help(format!(
                "split it into named segments: one condition may chain at most {MAX_OPERATORS}"
            )));
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

    fn postfix(&self, lhs: Expr, op: Pair<'_, Rule>) -> R<Expr> {
        let span = lhs.span.to(self.span(&op));
        let value = Box::new(lhs);
        let mut args = parts(op.clone()).filter(|p| p.as_rule() != Rule::kw_not);
        let mut arg = |what: &str| -> R<Box<Expr>> {
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

    fn bound(&self, pair: Pair<'_, Rule>) -> R<Expr> {
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

    fn term(&self, pair: Pair<'_, Rule>) -> R<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::paren => {
                return self
                    .expr(self.only(pair, "a condition")?)
                    .map(|e| Expr { span, ..e })
            }
            Rule::list => ExprKind::List(parts(pair).map(|p| self.expr(p)).collect::<R<Vec<_>>>()?),
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
                let items = it.map(|p| self.expr(p)).collect::<R<Vec<_>>>()?;
                ExprKind::AtLeast { k, items }
            }
            Rule::score_ref => ExprKind::Score(self.name(&self.only(pair, "a score")?)),
            Rule::grade_ref => ExprKind::Grade(self.name(&self.only(pair, "a score")?)),
            Rule::sequence => {
                let whole = pair.clone();
                let mut steps = parts(pair)
                    .map(|p| self.event_q(p))
                    .collect::<R<Vec<_>>>()?;
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

    fn small_int(&self, pair: &Pair<'_, Rule>) -> R<u32> {
        pair.as_str().parse::<u32>().map_err(|_| {
            Diagnostic::error(
                Code::BadNumber,
                self.span(pair),
                format!("`{}` is too large here", pair.as_str()),
            )
        })
    }

    fn event_q(&self, pair: Pair<'_, Rule>) -> R<EventQuery> {
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
    fn where_pred(&self, pair: Pair<'_, Rule>) -> R<Expr> {
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

/// The length of `gap` up to the end of its last character that is not whitespace or part
/// of a comment.
fn content_len(gap: &str) -> usize {
    let b = gap.as_bytes();
    let (mut i, mut end) = (0, 0);
    while i < b.len() {
        if let Some(after) = scan::comment_end(b, i) {
            i = after;
        } else if matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        } else {
            i += 1;
            end = i;
        }
    }
    end
}

/// Help for a date that does not exist: how long its month is, or the format.
fn date_help(s: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match year_month(s) {
        Some((y, m)) if (1..=12).contains(&m) => {
            let name = MONTHS[(m - 1) as usize];
            format!("{name} {y} has {} days", time::days_in_month(y, m))
        }
        Some(_) => "months run from 01 to 12".into(),
        None => "write dates as YYYY-MM-DD and instants as 2025-01-03T10:00:00Z".into(),
    }
}

/// The year and month a month, date or timestamp literal starts with (`2025-01...`).
fn year_month(s: &str) -> Option<(i32, u32)> {
    let mut parts = s.splitn(3, '-');
    let year = parts.next()?.parse::<i32>().ok()?;
    let month = parts.next()?.parse::<u32>().ok()?;
    Some((year, month))
}

pub(super) fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> ExprKind {
    ExprKind::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

/// `a and b and c` → `All[a, b, c]`: flat lists keep the tree shallow for long conditions and
/// read naturally in explanations ("all of").
pub(super) fn flatten(lhs: Expr, rhs: Expr, and: bool) -> ExprKind {
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
}
