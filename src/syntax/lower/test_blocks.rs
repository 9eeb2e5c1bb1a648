//! `test` blocks: their traits, events and expectations, and the object values they hold.

use pest::iterators::Pair;

use super::{parts, Lower, Lowered};
use crate::syntax::ast::*;
use crate::syntax::Rule;

impl Lower {
    pub(super) fn test(&self, pair: Pair<'_, Rule>) -> Lowered<Test> {
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

    fn expect(&self, pair: Pair<'_, Rule>) -> Lowered<Expect> {
        let span = self.span(&pair);
        let body = self.only(pair, "an expectation")?;
        let rule = body.as_rule();
        let mut it = parts(body.clone()).filter(|p| p.as_rule() != Rule::kw_not);
        let name = self.name(&self.next(&mut it, &body, "a name")?);
        let at = |it: &mut dyn Iterator<Item = Pair<'_, Rule>>| -> Lowered<Option<TimeLit>> {
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
