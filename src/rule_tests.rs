//! Running the `test` blocks of a rule file: each is a lead written in the file, replayed
//! through the plan, and its expectations compared with the outcome. It sits above both the
//! readers (a test's lead is built as read data is) and the interpreter.

use std::borrow::Cow;

use crate::eval::{compare, position, replay, Operand};
use crate::input::{DataError, LeadBuilder, Raw};
use crate::lead::{Lead, Value};
use crate::plan::{LeaveTo, Plan};
use crate::syntax::ast::{self, Expect, Literal, Object, Test};
use crate::time::{format_date, format_timestamp};

/// One test's result: its name and line, and every expectation that did not hold.
#[derive(Clone, Debug, PartialEq)]
pub struct TestResult {
    pub name: String,
    pub line: usize,
    pub failures: Vec<String>,
}

fn raw_of(l: &Literal) -> Raw<'static> {
    match l {
        Literal::Int(i) => Raw::Int(*i),
        Literal::Decimal(d) | Literal::Percent(d) => Raw::Float(*d),
        Literal::Money(m) => Raw::Float(m.amount),
        Literal::Duration(d) => Raw::Str(Cow::Owned(format!("{}{}", d.value, d.unit.suffix()))),
        Literal::Date(d) => Raw::Str(Cow::Owned(format_date(*d))),
        Literal::Timestamp(t) => Raw::Str(Cow::Owned(format_timestamp(*t))),
        Literal::Text(s) => Raw::Str(Cow::Owned(s.clone())),
        Literal::Bool(b) => Raw::Bool(*b),
    }
}

fn raw_value(v: &ast::Value) -> Raw<'static> {
    match v {
        ast::Value::Lit(l, _) => raw_of(l),
        ast::Value::List(items, _) => Raw::List(items.iter().map(raw_value).collect()),
        ast::Value::Object(_) => Raw::Object,
    }
}

fn set_traits(b: &mut LeadBuilder<'_>, prefix: &str, obj: &Object) -> Result<(), DataError> {
    for f in &obj.fields {
        let path = if prefix.is_empty() {
            f.key.text.clone()
        } else {
            format!("{prefix}.{}", f.key.text)
        };
        match &f.value {
            ast::Value::Object(inner) if b.wants_trait_prefix(&path) => {
                set_traits(b, &path, inner)?
            }
            v => b.set_trait(&path, &raw_value(v))?,
        }
    }
    Ok(())
}

/// The lead a test describes.
pub fn lead_of(plan: &Plan, test: &Test, origin: &str) -> Result<Lead, DataError> {
    let mut b = LeadBuilder::new(plan, test.name.clone(), origin.to_string());
    if let Some(t) = &test.traits {
        set_traits(&mut b, "", t)?;
    }
    for (i, e) in test.events.iter().enumerate() {
        let props: Vec<(&str, Raw<'static>)> = e
            .props
            .iter()
            .flat_map(|o| o.fields.iter())
            .map(|f| (f.key.text.as_str(), raw_value(&f.value)))
            .collect();
        b.push_event(
            &e.event.text,
            &format_timestamp(e.at.at),
            props,
            &format!("events[{i}]"),
        )?;
    }
    Ok(b.finish().0)
}

fn when(ms: i64) -> String {
    format_timestamp(crate::time::Timestamp { millis: ms })
}

/// Runs one test of a checked file.
pub fn run_test(plan: &Plan, test: &Test, line: usize) -> TestResult {
    let mut failures = Vec::new();
    let lead = match lead_of(plan, test, &format!("{}:{line}", plan.file)) {
        Ok(l) => l,
        Err(e) => {
            return TestResult {
                name: test.name.clone(),
                line,
                failures: vec![format!("the test's lead is not valid: {e}")],
            }
        }
    };
    // A bare date is the end of that day, as for `--as-of`.
    let as_of = test
        .as_of
        .map(|t| {
            if t.date_only {
                t.at.millis + 86_400_000 - 1
            } else {
                t.at.millis
            }
        })
        .or_else(|| lead.events.iter().map(|e| e.at).max())
        .unwrap_or(0);
    let out = replay(plan, &lead, as_of);
    let stage_of = |name: &str| plan.stages.iter().position(|s| s.name == name);
    for x in &test.expects {
        match x {
            Expect::Stage(n, _) => {
                let got = position(plan, &out);
                if got != n.text {
                    let got = if got.is_empty() {
                        "outside the funnel".into()
                    } else {
                        got
                    };
                    failures.push(format!("expected stage {}, got {got}", n.text));
                }
            }
            Expect::Entered { stage, at, .. } => {
                let entered = stage_of(&stage.text).and_then(|i| out.state.latest[i]);
                match (entered, at) {
                    (None, _) => failures.push(format!(
                        "expected {} to be entered; it never was",
                        stage.text
                    )),
                    (Some(got), Some(want)) if got != want.at.millis => failures.push(format!(
                        "expected {} entered at {}, got {}",
                        stage.text,
                        when(want.at.millis),
                        when(got)
                    )),
                    _ => {}
                }
            }
            Expect::NotEntered(stage, _) => {
                if let Some(got) = stage_of(&stage.text).and_then(|i| out.state.latest[i]) {
                    failures.push(format!(
                        "expected {} never to be entered; it was at {}",
                        stage.text,
                        when(got)
                    ));
                }
            }
            Expect::Exited { exit, at, .. } => {
                let got = out
                    .state
                    .exit
                    .as_ref()
                    .and_then(|x| match &plan.leaves[x.leave].to {
                        LeaveTo::Exit(name) => Some((name.clone(), x.at)),
                        LeaveTo::Stage(_) => None,
                    });
                match (got, at) {
                    (Some((name, _)), _) if name != exit.text => {
                        failures.push(format!("expected exit {}, got exit {name}", exit.text))
                    }
                    (None, _) => failures.push(format!(
                        "expected exit {}; the lead did not exit",
                        exit.text
                    )),
                    (Some((_, got)), Some(want)) if got != want.at.millis => {
                        failures.push(format!(
                            "expected exit {} at {}, got {}",
                            exit.text,
                            when(want.at.millis),
                            when(got)
                        ))
                    }
                    _ => {}
                }
            }
            Expect::Score {
                score, op, value, ..
            } => {
                if let Some(i) = plan.scores.iter().position(|s| s.name == score.text) {
                    let got = out.scores[i].total;
                    let ok = compare(
                        *op,
                        Operand::Num(got),
                        Operand::Ref(&Value::Num(value.value)),
                    );
                    if !ok {
                        failures.push(format!(
                            "expected score {} {} {}, got {}",
                            score.text,
                            op.symbol(),
                            crate::lead::fmt_num(value.value),
                            crate::lead::fmt_num(got)
                        ));
                    }
                }
            }
            Expect::Grade { score, label, .. } => {
                if let Some(i) = plan.scores.iter().position(|s| s.name == score.text) {
                    let got = out.scores[i]
                        .grade
                        .and_then(|g| plan.scores[i].grades.get(g))
                        .map(|(l, _)| l.clone())
                        .unwrap_or_else(|| "none".into());
                    if got != label.text {
                        failures.push(format!(
                            "expected grade {} == {}, got {got}",
                            score.text, label.text
                        ));
                    }
                }
            }
        }
    }
    TestResult {
        name: test.name.clone(),
        line,
        failures,
    }
}
