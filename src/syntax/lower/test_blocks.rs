//! `test` blocks: their traits, events and expectations, and the object values they hold.

use pest::iterators::Pair;

use super::{parts, Lower, Lowered};
use crate::syntax::ast::*;
use crate::syntax::Rule;

impl Lower {
    /// A `test` or a `fixture` (the same clauses; a fixture has no expectations).
    pub(super) fn test(&self, pair: Pair<'_, Rule>) -> Lowered<Test> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let name = self.string(&self.next(&mut it, &pair, "a test name")?)?;
        let mut test = Test {
            name,
            base: None,
            as_of: None,
            traits: None,
            events: Vec::new(),
            expects: Vec::new(),
            span,
        };
        self.test_clauses(it, &mut test)?;
        Ok(test)
    }

    pub(super) fn cases(&self, pair: Pair<'_, Rule>) -> Lowered<Cases> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone()).peekable();
        let name = self.string(&self.next(&mut it, &pair, "a name")?)?;
        let mut template = Test {
            name,
            base: None,
            as_of: None,
            traits: None,
            events: Vec::new(),
            expects: Vec::new(),
            span,
        };
        if let Some(b) = it.next_if(|p| p.as_rule() == Rule::test_base) {
            template.base = Some(self.quoted_name(&self.only(b, "a fixture name")?)?);
        }
        let rows = self.next(&mut it, &pair, "`rows`")?;
        let rows = self.quoted_name(&self.only(rows, "a file name")?)?;
        self.test_clauses(it, &mut template)?;
        Ok(Cases {
            template,
            rows,
            span,
        })
    }

    pub(super) fn tests_for(&self, pair: Pair<'_, Rule>) -> Lowered<TestsFor> {
        let span = self.span(&pair);
        let path = self.quoted_name(&self.only(pair, "a file name")?)?;
        Ok(TestsFor { path, span })
    }

    pub(super) fn snapshot(&self, pair: Pair<'_, Rule>) -> Lowered<SnapshotDecl> {
        let span = self.span(&pair);
        let mut it = parts(pair.clone());
        let name = self.string(&self.next(&mut it, &pair, "a name")?)?;
        let leads = self.next(&mut it, &pair, "`leads`")?;
        let leads = self.quoted_name(&self.only(leads, "a file name")?)?;
        let as_of = match it.next() {
            Some(p) => Some(self.time_lit(&self.only(p, "a date")?)?),
            None => None,
        };
        Ok(SnapshotDecl {
            name,
            leads,
            as_of,
            span,
        })
    }

    /// A quoted string as a name whose span is the quoted text's.
    fn quoted_name(&self, pair: &Pair<'_, Rule>) -> Lowered<Name> {
        Ok(Name {
            text: self.string(pair)?,
            span: self.span(pair),
        })
    }

    fn test_clauses<'i>(
        &self,
        it: impl Iterator<Item = Pair<'i, Rule>>,
        test: &mut Test,
    ) -> Lowered<()> {
        for p in it {
            match p.as_rule() {
                Rule::test_base => {
                    test.base = Some(self.quoted_name(&self.only(p, "a fixture name")?)?)
                }
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
        Ok(())
    }

    pub(in crate::syntax) fn expect(&self, pair: Pair<'_, Rule>) -> Lowered<Expect> {
        let span = self.span(&pair);
        let body = self.only(pair, "an expectation")?;
        let rule = body.as_rule();
        let mut it = parts(body.clone())
            .filter(|p| p.as_rule() != Rule::kw_not)
            .peekable();
        let name = self.name(&self.next(&mut it, &body, "a name")?);
        // The optional clauses, in the grammar's order: `at T`, `by ...`, `on EVENT`.
        let mut at = None;
        let mut by = None;
        let mut on = None;
        if !matches!(rule, Rule::expect_score | Rule::expect_grade) {
            for p in it.by_ref() {
                match p.as_rule() {
                    Rule::date | Rule::timestamp => at = Some(self.time_lit(&p)?),
                    Rule::expect_by => {
                        let b = self.only(p, "a rule")?;
                        by = Some(match b.as_rule() {
                            Rule::by_enter => EnteredBy::Enter,
                            Rule::by_move => {
                                EnteredBy::Move(parts(b).next().map(|s| self.name(&s)))
                            }
                            _ => return Err(self.shape(&b, "a rule")),
                        });
                    }
                    Rule::expect_on => on = Some(self.name(&self.only(p, "an event")?)),
                    _ => return Err(self.shape(&p, "an expectation")),
                }
            }
        }
        Ok(match rule {
            Rule::expect_stage => Expect::Stage {
                stage: name,
                at,
                span,
            },
            Rule::expect_not_entered => Expect::NotEntered(name, span),
            Rule::expect_entered => Expect::Entered {
                stage: name,
                at,
                by,
                on,
                span,
            },
            Rule::expect_exited => Expect::Exited {
                exit: name,
                at,
                on,
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

    fn object(&self, pair: Pair<'_, Rule>) -> Lowered<Object> {
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

    fn value(&self, pair: Pair<'_, Rule>) -> Lowered<Value> {
        let inner = self.only(pair, "a value")?;
        let span = self.span(&inner);
        Ok(match inner.as_rule() {
            Rule::object => Value::Object(self.object(inner)?),
            Rule::value_list => Value::List(
                parts(inner)
                    .map(|v| self.value(v))
                    .collect::<Lowered<Vec<_>>>()?,
                span,
            ),
            _ => Value::Lit(self.literal(&inner)?, span),
        })
    }
}
