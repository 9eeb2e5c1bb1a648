//! Declarations: the items of a file and the clauses inside them, one function per rule.

use pest::iterators::{Pair, Pairs};

use super::{parts, Lower, Lowered};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;
use crate::syntax::Rule;

impl Lower {
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

    fn item(&self, pair: Pair<'_, Rule>) -> Lowered<Item> {
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
            Rule::fixture_decl => Item::Fixture(self.test(pair)?),
            Rule::cases_decl => Item::Cases(self.cases(pair)?),
            Rule::tests_for => Item::TestsFor(self.tests_for(pair)?),
            Rule::snapshot_decl => Item::Snapshot(self.snapshot(pair)?),
            _ => return Err(self.shape(&pair, "a declaration")),
        })
    }

    fn funnel_decl(&self, pair: Pair<'_, Rule>) -> Lowered<FunnelDecl> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let s = self.next(&mut it, &pair, "the funnel name")?;
        Ok(FunnelDecl {
            name: self.string(&s)?,
            span,
        })
    }

    fn schema(&self, pair: Pair<'_, Rule>) -> Lowered<Schema> {
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
    ) -> Lowered<()> {
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

    fn trait_decl(&self, pair: Pair<'_, Rule>) -> Lowered<TraitDecl> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let path = self.name(&self.next(&mut it, &pair, "a trait name")?);
        let ty = self.type_expr(self.next(&mut it, &pair, "a type")?)?;
        Ok(TraitDecl { path, ty, span })
    }

    fn event_decl(&self, pair: Pair<'_, Rule>) -> Lowered<EventDecl> {
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

    fn type_expr(&self, pair: Pair<'_, Rule>) -> Lowered<Type> {
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

    fn segment(&self, pair: Pair<'_, Rule>) -> Lowered<Segment> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let name = self.name(&self.next(&mut it, &pair, "a segment name")?);
        let expr = self.expr(self.next(&mut it, &pair, "a condition")?)?;
        Ok(Segment { name, expr, span })
    }

    fn score(&self, pair: Pair<'_, Rule>) -> Lowered<Score> {
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

    fn score_rule(&self, pair: Pair<'_, Rule>) -> Lowered<ScoreRule> {
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

    fn stage(&self, pair: Pair<'_, Rule>) -> Lowered<Stage> {
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

    fn priority(&self, pair: &Pair<'_, Rule>) -> Lowered<Priority> {
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

    /// The tail of a move or an exit: `[priority N] on EVENT [when CONDITION]` or
    /// `[priority N] when CONDITION`.
    fn priority_and_fires<'i>(
        &self,
        it: &mut impl Iterator<Item = Pair<'i, Rule>>,
        pair: &Pair<'i, Rule>,
    ) -> Lowered<(Option<Priority>, Fires)> {
        let mut next = self.next(it, pair, "a condition")?;
        let mut priority = None;
        if next.as_rule() == Rule::priority {
            priority = Some(self.priority(&next)?);
            next = self.next(it, pair, "a condition")?;
        }
        if next.as_rule() != Rule::on_event {
            return Ok((priority, Fires::When(self.expr(next)?)));
        }
        let mut on = parts(next.clone());
        let q = self.next(&mut on, &next, "an event")?;
        let event = Expr {
            span: self.span(&q),
            kind: ExprKind::Event(Box::new(self.event_q(q)?)),
        };
        let guard = on.next().map(|g| self.expr(g)).transpose()?;
        Ok((priority, Fires::On { event, guard }))
    }

    fn move_decl(&self, pair: Pair<'_, Rule>) -> Lowered<Move> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let from = self.name(&self.next(&mut it, &pair, "a stage")?);
        let to = self.name(&self.next(&mut it, &pair, "a stage")?);
        let (priority, fires) = self.priority_and_fires(&mut it, &pair)?;
        Ok(Move {
            from,
            to,
            priority,
            fires,
            span,
        })
    }

    fn exit_decl(&self, pair: Pair<'_, Rule>) -> Lowered<Exit> {
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
        let (priority, fires) = self.priority_and_fires(&mut it, &pair)?;
        Ok(Exit {
            name,
            from,
            priority,
            fires,
            span,
        })
    }

    fn kpi(&self, pair: Pair<'_, Rule>) -> Lowered<Kpi> {
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
                .collect::<Lowered<Vec<_>>>()?;
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

    fn period(&self, pair: &Pair<'_, Rule>) -> Lowered<Period> {
        Period::from_keyword(pair.as_str()).ok_or_else(|| self.shape(pair, "a period"))
    }

    fn target(&self, pair: Pair<'_, Rule>) -> Lowered<Target> {
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

    fn dimensions(&self, pair: Pair<'_, Rule>) -> Lowered<Dimensions> {
        let span = self.span(&pair);
        let paths = parts(pair).map(|p| self.name(&p)).collect();
        Ok(Dimensions { paths, span })
    }

    fn cost(&self, pair: Pair<'_, Rule>) -> Lowered<Cost> {
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

    fn revenue(&self, pair: Pair<'_, Rule>) -> Lowered<Revenue> {
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
}
