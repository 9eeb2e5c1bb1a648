//! Running rule tests: each test (a `test` block, a `fixture` it starts from, or a row of a
//! `cases` table) is a lead, replayed through the plan, and its expectations compared with
//! the outcome. It sits above both the readers (a test's lead is built as read data is) and
//! the interpreter.

pub mod cases;
pub mod coverage;

use std::borrow::Cow;

use crate::eval::outcome::{EnteredBy as By, Outcome, Trigger};
use crate::eval::{compare, position, replay, Operand};
use crate::input::{DataError, LeadBuilder, Raw};
use crate::lead::{Lead, Value};
use crate::plan::{LeaveTo, Plan};
use crate::syntax::ast::{self, EnteredBy, Expect, Field, Item, Literal, Object, Test};
use crate::time::{format_date, format_timestamp};

pub use coverage::Hits;

/// One test's result: its name and place, every expectation that did not hold, and what it
/// exercised.
#[derive(Clone, Debug)]
pub struct TestResult {
    pub name: String,
    /// `file:line` of the test (for a row of cases, of the row).
    pub origin: String,
    pub failures: Vec<String>,
    /// The lead and the moment it was replayed to, for an explanation of a failure (`None`
    /// when the lead could not be built).
    pub lead: Option<(Lead, i64)>,
    pub hits: Hits,
}

/// A test ready to run: a `test` block with its fixture merged in, or a row of cases.
#[derive(Clone, Debug)]
pub struct Runnable {
    pub name: String,
    pub origin: String,
    pub test: Test,
    /// Traits a row of cases sets, after the test's own.
    pub row_traits: Vec<(String, Raw<'static>)>,
}

/// The fixture named `name`, in the file's own declarations or the rule file's.
pub fn find_fixture<'a>(name: &str, files: &[&'a ast::File]) -> Option<&'a Test> {
    files
        .iter()
        .flat_map(|f| f.items.iter())
        .find_map(|i| match i {
            Item::Fixture(t) if t.name == name => Some(t),
            _ => None,
        })
}

/// A test with the fixture it starts from: the fixture's lead, the test's traits over it
/// (field by field, nested groups merged), the fixture's events then the test's, the test's
/// `as of` if it has one.
pub fn merge(fixture: &Test, test: &Test) -> Test {
    let traits = match (&fixture.traits, &test.traits) {
        (Some(f), Some(t)) => Some(merge_objects(f, t)),
        (f, t) => t.clone().or_else(|| f.clone()),
    };
    let mut events = fixture.events.clone();
    events.extend(test.events.iter().cloned());
    Test {
        name: test.name.clone(),
        base: test.base.clone(),
        as_of: test.as_of.or(fixture.as_of),
        traits,
        events,
        expects: test.expects.clone(),
        span: test.span,
    }
}

fn merge_objects(base: &Object, over: &Object) -> Object {
    let mut fields: Vec<Field> = base.fields.clone();
    for f in &over.fields {
        match fields.iter_mut().find(|b| b.key.text == f.key.text) {
            Some(b) => {
                b.value = match (&b.value, &f.value) {
                    (ast::Value::Object(x), ast::Value::Object(y)) => {
                        ast::Value::Object(merge_objects(x, y))
                    }
                    _ => f.value.clone(),
                }
            }
            None => fields.push(f.clone()),
        }
    }
    Object {
        fields,
        span: over.span,
    }
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
pub fn lead_of(plan: &Plan, r: &Runnable) -> Result<Lead, DataError> {
    let test = &r.test;
    let mut b = LeadBuilder::new(plan, r.name.clone(), r.origin.clone());
    if let Some(t) = &test.traits {
        set_traits(&mut b, "", t)?;
    }
    for (path, raw) in &r.row_traits {
        b.set_trait(path, raw)?;
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

/// A test's moment: a bare date is the end of that day, as for `--as-of`.
fn moment(t: &ast::TimeLit) -> i64 {
    if t.date_only {
        t.at.millis + 86_400_000 - 1
    } else {
        t.at.millis
    }
}

/// How a step's rule reads in a failure: `its enter rule (rules.funnel:12)`.
fn rule_words(plan: &Plan, by: By, stage: usize) -> String {
    match by {
        By::Enter => format!("its enter rule ({}:{})", plan.file, plan.stages[stage].line),
        By::Leave(l) => leave_words(plan, l),
    }
}

/// The stages a move or exit leaves from, as written: `any`, or their names.
pub(crate) fn leave_from(plan: &Plan, leave: &crate::plan::Leave) -> String {
    match &leave.from {
        None => "any".to_string(),
        Some(v) => v
            .iter()
            .map(|s| plan.stages[*s as usize].name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn leave_words(plan: &Plan, l: usize) -> String {
    let leave = &plan.leaves[l];
    let from = leave_from(plan, leave);
    let kind = match leave.to {
        LeaveTo::Stage(_) => "move",
        LeaveTo::Exit(_) => "exit",
    };
    format!("the {kind} from {from} ({}:{})", plan.file, leave.line)
}

fn trigger_words(plan: &Plan, lead: &Lead, t: Trigger) -> String {
    match t {
        Trigger::Event(i) => lead
            .events
            .get(i)
            .and_then(|e| plan.events.get(e.ty as usize))
            .map_or_else(|| "an event".into(), |e| e.name.clone()),
        Trigger::Timer => "the passage of time".into(),
    }
}

fn trigger_is(plan: &Plan, lead: &Lead, t: Trigger, event: &str) -> bool {
    matches!(t, Trigger::Event(_)) && trigger_words(plan, lead, t) == event
}

/// Runs one test against a plan; with `coverage`, also works out the condition branches it
/// exercised (which evaluates the conditions of the rules that fired again).
pub fn run(plan: &Plan, r: &Runnable, coverage: bool) -> TestResult {
    let mut failures = Vec::new();
    let lead = match lead_of(plan, r) {
        Ok(l) => l,
        Err(e) => {
            return TestResult {
                name: r.name.clone(),
                origin: r.origin.clone(),
                failures: vec![format!("the test's lead is not valid: {e}")],
                lead: None,
                hits: Hits::new(plan),
            }
        }
    };
    let test = &r.test;
    let as_of = test
        .as_of
        .as_ref()
        .map(moment)
        .or_else(|| lead.events.iter().map(|e| e.at).max())
        .unwrap_or(0);
    let mut hits = Hits::new(plan);
    let out = if coverage {
        coverage::replay_covered(plan, &lead, as_of, &mut hits)
    } else {
        let out = replay(plan, &lead, as_of);
        hits.add(&out);
        out
    };
    let stage_of = |name: &str| plan.stages.iter().position(|s| s.name == name);
    for x in &test.expects {
        if let Some(f) = expectation(plan, &lead, &out, x, &stage_of) {
            failures.push(f);
        }
    }
    TestResult {
        name: r.name.clone(),
        origin: r.origin.clone(),
        failures,
        lead: Some((lead, as_of)),
        hits,
    }
}

/// Why one expectation does not hold, or `None` when it does.
fn expectation(
    plan: &Plan,
    lead: &Lead,
    out: &Outcome,
    x: &Expect,
    stage_of: &dyn Fn(&str) -> Option<usize>,
) -> Option<String> {
    match x {
        Expect::Stage { stage, at, .. } => {
            let (got, when_) = match at {
                Some(t) => (
                    position(plan, &replay(plan, lead, moment(t))),
                    format!(" at {}", when(moment(t))),
                ),
                None => (position(plan, out), String::new()),
            };
            (got != stage.text).then(|| {
                let got = if got.is_empty() {
                    "outside the funnel".into()
                } else {
                    got
                };
                format!("expected stage {}{when_}, got {got}", stage.text)
            })
        }
        Expect::Entered {
            stage, at, by, on, ..
        } => {
            let i = stage_of(&stage.text)?;
            let Some(entry) = out
                .state
                .entries
                .iter()
                .rev()
                .find(|e| e.stage as usize == i)
            else {
                return Some(format!(
                    "expected {} to be entered; it never was",
                    stage.text
                ));
            };
            if let Some(want) = at {
                if entry.at != want.at.millis {
                    return Some(format!(
                        "expected {} entered at {}, got {}",
                        stage.text,
                        when(want.at.millis),
                        when(entry.at)
                    ));
                }
            }
            if let Some(by) = by {
                let ok = match (by, entry.by) {
                    (EnteredBy::Enter, By::Enter) => true,
                    (EnteredBy::Move(from), By::Leave(l)) => {
                        let leave = &plan.leaves[l];
                        matches!(leave.to, LeaveTo::Stage(_))
                            && from.as_ref().is_none_or(|f| {
                                stage_of(&f.text).is_some_and(|fi| {
                                    leave
                                        .from
                                        .as_ref()
                                        .is_some_and(|v| v.contains(&(fi as u16)))
                                })
                            })
                    }
                    _ => false,
                };
                if !ok {
                    let want = match by {
                        EnteredBy::Enter => "its enter rule".to_string(),
                        EnteredBy::Move(None) => "a move".to_string(),
                        EnteredBy::Move(Some(f)) => format!("the move from {f}"),
                    };
                    return Some(format!(
                        "expected {} entered by {want}, got by {}",
                        stage.text,
                        rule_words(plan, entry.by, i)
                    ));
                }
            }
            match on {
                Some(ev) if !trigger_is(plan, lead, entry.trigger, &ev.text) => Some(format!(
                    "expected {} entered on {}, got on {}",
                    stage.text,
                    ev.text,
                    trigger_words(plan, lead, entry.trigger)
                )),
                _ => None,
            }
        }
        Expect::NotEntered(stage, _) => {
            let got = stage_of(&stage.text).and_then(|i| out.state.latest[i])?;
            Some(format!(
                "expected {} never to be entered; it was at {}",
                stage.text,
                when(got)
            ))
        }
        Expect::Exited { exit, at, on, .. } => {
            let Some(x) = out.state.exit.as_ref() else {
                return Some(format!(
                    "expected exit {}; the lead did not exit",
                    exit.text
                ));
            };
            let name = match &plan.leaves[x.leave].to {
                LeaveTo::Exit(name) => name.clone(),
                LeaveTo::Stage(_) => String::new(),
            };
            if name != exit.text {
                return Some(format!("expected exit {}, got exit {name}", exit.text));
            }
            if let Some(want) = at {
                if x.at != want.at.millis {
                    return Some(format!(
                        "expected exit {} at {}, got {}",
                        exit.text,
                        when(want.at.millis),
                        when(x.at)
                    ));
                }
            }
            match on {
                Some(ev) if !trigger_is(plan, lead, x.trigger, &ev.text) => Some(format!(
                    "expected exit {} on {}, got on {}",
                    exit.text,
                    ev.text,
                    trigger_words(plan, lead, x.trigger)
                )),
                _ => None,
            }
        }
        Expect::Score {
            score, op, value, ..
        } => {
            let i = plan.scores.iter().position(|s| s.name == score.text)?;
            let got = out.scores[i].total;
            let ok = compare(
                *op,
                Operand::Num(got),
                Operand::Ref(&Value::Num(value.value)),
            );
            (!ok).then(|| {
                format!(
                    "expected score {} {} {}, got {}",
                    score.text,
                    op.symbol(),
                    crate::lead::fmt_num(value.value),
                    crate::lead::fmt_num(got)
                )
            })
        }
        Expect::Grade { score, label, .. } => {
            let i = plan.scores.iter().position(|s| s.name == score.text)?;
            let got = out.scores[i]
                .grade
                .and_then(|g| plan.scores[i].grades.get(g))
                .map(|(l, _)| l.clone())
                .unwrap_or_else(|| "none".into());
            (got != label.text)
                .then(|| format!("expected grade {} == {}, got {got}", score.text, label.text))
        }
    }
}

/// The `test` blocks of a file, each with its fixture merged in, in file order. `fixtures`
/// are the files fixtures are looked up in (the file itself, and for a test file its rule
/// file); a base not found there was reported by the checker, and the test runs on its own.
pub fn tests_of(
    file: &ast::File,
    name: &str,
    source: &str,
    fixtures: &[&ast::File],
) -> Vec<Runnable> {
    let index = crate::diag::LineIndex::new(source);
    file.items
        .iter()
        .filter_map(|i| match i {
            Item::Test(t) => Some(t),
            _ => None,
        })
        .map(|t| Runnable {
            name: t.name.clone(),
            origin: format!("{name}:{}", index.line_col(source, t.span.start).0),
            test: with_fixture(t, fixtures),
            row_traits: Vec::new(),
        })
        .collect()
}

/// A test (or a cases template) with its fixture merged in.
pub fn with_fixture(t: &Test, fixtures: &[&ast::File]) -> Test {
    match t
        .base
        .as_ref()
        .and_then(|b| find_fixture(&b.text, fixtures))
    {
        Some(f) => merge(f, t),
        None => t.clone(),
    }
}
