//! What the tests exercised: the stages they entered, the moves and exits they took, the score
//! rules that gave their leads points, and the condition branches that held when a rule fired.
//! Each is counted per plan, so the tests of one rule file (inline and in test files) add up.
//!
//! A *branch* is an alternative of a condition's logic: each part of an `or`, each item of an
//! `at least N of [...]`, and, under a `not` (which turns `and` into `or`), each part of an
//! `and`. A branch is exercised when a rule fired (a stage entered by its `enter when`, a move
//! or exit taken, a score rule giving points at the test's moment) with the branch holding
//! (true, or false under an odd number of `not`s) and every alternative around it holding too:
//! it lay on a path that made the condition true. Two alternatives holding at once are both
//! exercised. The values are those of the lead's explanation ([`explain::fired`]), so coverage
//! and `funnelc explain` cannot disagree. A segment's branches are counted once, at its
//! declaration, exercised through any rule that fired with the segment true.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::eval::explain::{self, Fired, Node};
use crate::eval::outcome::{EnteredBy, Outcome};
use crate::plan::{Cond, LeaveTo, Plan, RulePoints};
use crate::syntax::ast::{self, Expr, ExprKind};

/// The condition a branch belongs to: a rule's, or a segment's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    Rule(Fired),
    Segment(usize),
}

/// A branch is known by its condition and its span in the source.
type Key = (Owner, usize, usize);

/// One branch of a plan: whose it is and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branch {
    pub owner: Owner,
    pub start: usize,
    pub end: usize,
}

/// For each stage, move or exit, score rule and branch of a plan: whether some test exercised
/// it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hits {
    pub stages: Vec<bool>,
    pub leaves: Vec<bool>,
    pub score_rules: Vec<Vec<bool>>,
    pub branches: BTreeMap<Key, bool>,
}

/// One thing a test can exercise, where it is declared, and whether one did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    /// `stage`, `move`, `exit`, `score rule` or `branch`.
    pub kind: &'static str,
    /// How a reader finds it: `MQL`, `MQL -> MEL`, `fit: +10 when ...`,
    /// `` `role == "cfo"` of stage MQL ``.
    pub name: String,
    pub line: usize,
    /// The column, for a branch on a line that holds several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub hit: bool,
}

/// The condition of a rule, as compiled and as written: `None` for a rule without one (a move
/// or exit `on` an event without a guard, a `per` score rule).
fn condition(plan: &Plan, rule: Fired) -> Option<(&Cond, &Expr)> {
    match rule {
        Fired::Enter(s) => plan.stages.get(s).map(|s| (&s.enter, &s.enter_expr)),
        Fired::Leave(l) => {
            let l = plan.leaves.get(l)?;
            let e = match &l.fires {
                ast::Fires::When(e) => Some(e),
                ast::Fires::On { guard, .. } => guard.as_ref(),
            };
            Some((l.when.as_ref()?, e?))
        }
        Fired::Points(s, r) => {
            let rule = plan.scores.get(s)?.rules.get(r)?;
            match (&rule.kind, &rule.expr) {
                (RulePoints::When(c), Some(e)) => Some((c, e)),
                _ => None,
            }
        }
    }
}

/// Every rule that has a condition, in the plan's order.
fn rules(plan: &Plan) -> Vec<Fired> {
    let stages = (0..plan.stages.len()).map(Fired::Enter);
    let leaves = (0..plan.leaves.len()).map(Fired::Leave);
    let points = plan
        .scores
        .iter()
        .enumerate()
        .flat_map(|(s, m)| (0..m.rules.len()).map(move |r| Fired::Points(s, r)));
    stages
        .chain(leaves)
        .chain(points)
        .filter(|r| condition(plan, *r).is_some())
        .collect()
}

/// Whether a part of a condition held: true, or false under a `not`.
fn held(n: &Node, negated: bool) -> bool {
    n.ok != negated
}

/// Walks the logic of a condition the way `explain::node` builds its nodes, calling `found`
/// for each branch. Without `node`, every branch of the condition (a segment it names is
/// left to the segment's own walk); with the condition's node at a moment it held, only the
/// branches on a path that held, and those of the segments it went through.
fn walk(
    plan: &Plan,
    owner: Owner,
    c: &Cond,
    e: &Expr,
    node: Option<&Node>,
    negated: bool,
    found: &mut dyn FnMut(Owner, &Expr),
) {
    let parts = |cs: &[Cond], es: &[Expr]| -> Option<Vec<(usize, Option<usize>)>> {
        // (index into cs and es, index into the node's children)
        if cs.len() != es.len() || node.is_some_and(|n| n.children.len() != cs.len()) {
            return None;
        }
        Some((0..cs.len()).map(|i| (i, node.map(|_| i))).collect())
    };
    let child = |k: Option<usize>| node.and(k).and_then(|k| node?.children.get(k));
    // (the parts, whether they are alternatives, the polarity inside)
    let (cs, es, alternatives, inner): (&[Cond], &[Expr], bool, bool) = match (c, &e.kind) {
        (Cond::Any(cs), ExprKind::Any(es)) => (cs, es, !negated, negated),
        (Cond::All(cs), ExprKind::All(es)) => (cs, es, negated, negated),
        // Under a `not`, `at least N of` is no choice between its items: none is a branch.
        (Cond::AtLeast(_, cs), ExprKind::AtLeast { items, .. }) if !negated => {
            (cs, items, true, false)
        }
        (Cond::Not(c1), ExprKind::Not(e1)) => {
            let n1 = node.and_then(|n| n.children.first());
            if node.is_none() || n1.is_some_and(|n| held(n, !negated)) {
                walk(plan, owner, c1, e1, n1, !negated, found);
            }
            return;
        }
        (Cond::Segment(i), _) => {
            // A segment's branches are walked at its declaration; through a use of it that
            // held (never under a `not`, where its alternatives cannot have made it true).
            if let (Some(n), false) = (node, negated) {
                if let (Some((_, sc, se)), Some(n1)) =
                    (plan.segments.get(*i as usize), n.children.first())
                {
                    if held(n1, false) {
                        walk(
                            plan,
                            Owner::Segment(*i as usize),
                            sc,
                            se,
                            Some(n1),
                            false,
                            found,
                        );
                    }
                }
            }
            return;
        }
        _ => return,
    };
    let Some(parts) = parts(cs, es) else { return };
    for (i, k) in parts {
        let n = child(k);
        if node.is_some() && !n.is_some_and(|n| held(n, inner)) {
            continue;
        }
        if alternatives {
            found(owner, &es[i]);
        }
        walk(plan, owner, &cs[i], &es[i], n, inner, found);
    }
}

/// Every branch of a plan: the segments' first, then the rules', each condition's in the
/// order they are written.
pub fn branches(plan: &Plan) -> Vec<Branch> {
    let mut out = Vec::new();
    let mut found = |owner: Owner, e: &Expr| {
        out.push(Branch {
            owner,
            start: e.span.start,
            end: e.span.end,
        })
    };
    for (i, (_, c, e)) in plan.segments.iter().enumerate() {
        walk(plan, Owner::Segment(i), c, e, None, false, &mut found);
    }
    for r in rules(plan) {
        if let Some((c, e)) = condition(plan, r) {
            walk(plan, Owner::Rule(r), c, e, None, false, &mut found);
        }
    }
    out
}

/// The branches that held in conditions evaluated at moments their rules fired.
pub fn branches_held(plan: &Plan, fired: &[(Fired, Node)]) -> Vec<Key> {
    let mut out = Vec::new();
    let mut found = |owner: Owner, e: &Expr| out.push((owner, e.span.start, e.span.end));
    for (rule, node) in fired {
        if let Some((c, e)) = condition(plan, *rule) {
            if held(node, false) {
                walk(
                    plan,
                    Owner::Rule(*rule),
                    c,
                    e,
                    Some(node),
                    false,
                    &mut found,
                );
            }
        }
    }
    out
}

/// The source of a branch on one line, shortened when long.
fn branch_text(plan: &Plan, b: &Branch) -> String {
    const MAX: usize = 48;
    let text = plan.source.get(b.start..b.end).unwrap_or("");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= MAX {
        text
    } else {
        let cut: String = text.chars().take(MAX - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// How a reader names the rule or segment a branch belongs to.
fn owner_words(plan: &Plan, owner: Owner) -> String {
    match owner {
        Owner::Segment(i) => format!("segment {}", plan.segments[i].0),
        Owner::Rule(Fired::Enter(s)) => format!("stage {}", plan.stages[s].name),
        Owner::Rule(Fired::Leave(l)) => {
            let leave = &plan.leaves[l];
            let from = super::leave_from(plan, leave);
            match &leave.to {
                LeaveTo::Stage(s) => format!("move {from} -> {}", plan.stages[*s as usize].name),
                LeaveTo::Exit(name) => format!("exit {from} -> {name}"),
            }
        }
        Owner::Rule(Fired::Points(s, r)) => {
            let m = &plan.scores[s];
            let p = m.rules[r].points;
            let sign = if p < 0.0 { "-" } else { "+" };
            format!("score {} {sign}{}", m.name, crate::lead::fmt_num(p.abs()))
        }
    }
}

impl Hits {
    pub fn new(plan: &Plan) -> Self {
        Hits {
            stages: vec![false; plan.stages.len()],
            leaves: vec![false; plan.leaves.len()],
            score_rules: plan
                .scores
                .iter()
                .map(|s| vec![false; s.rules.len()])
                .collect(),
            branches: branches(plan)
                .into_iter()
                .map(|b| ((b.owner, b.start, b.end), false))
                .collect(),
        }
    }

    /// Marks what one replay exercised.
    pub fn add(&mut self, out: &Outcome) {
        for e in &out.state.entries {
            self.stages[e.stage as usize] = true;
            if let EnteredBy::Leave(l) = e.by {
                self.leaves[l] = true;
            }
        }
        if let Some(x) = &out.state.exit {
            self.leaves[x.leave] = true;
        }
        for (s, v) in out.scores.iter().enumerate() {
            for &(rule, points, events) in &v.parts {
                if points != 0.0 || events > 0 {
                    self.score_rules[s][rule] = true;
                }
            }
        }
    }

    /// Marks the branches that held in the conditions of the rules that fired in one replay
    /// (see [`explain::fired`]).
    pub fn add_branches(&mut self, plan: &Plan, fired: &[(Fired, Node)]) {
        for key in branches_held(plan, fired) {
            if let Some(hit) = self.branches.get_mut(&key) {
                *hit = true;
            }
        }
    }

    pub fn merge(&mut self, other: &Hits) {
        let or = |a: &mut Vec<bool>, b: &Vec<bool>| {
            for (x, y) in a.iter_mut().zip(b) {
                *x |= *y;
            }
        };
        or(&mut self.stages, &other.stages);
        or(&mut self.leaves, &other.leaves);
        for (a, b) in self.score_rules.iter_mut().zip(&other.score_rules) {
            or(a, b);
        }
        for (k, hit) in &other.branches {
            if let Some(mine) = self.branches.get_mut(k) {
                *mine |= *hit;
            }
        }
    }

    /// Everything that could be exercised, in the order of the file (stages, moves and exits,
    /// score rules, branches by line and column), each with whether it was.
    pub fn items(&self, plan: &Plan) -> Vec<Item> {
        let mut items = Vec::new();
        for (i, s) in plan.stages.iter().enumerate() {
            items.push(Item {
                kind: "stage",
                name: s.name.clone(),
                line: s.line,
                column: None,
                hit: self.stages[i],
            });
        }
        for (i, l) in plan.leaves.iter().enumerate() {
            let from = super::leave_from(plan, l);
            let (kind, to) = match &l.to {
                LeaveTo::Stage(s) => ("move", plan.stages[*s as usize].name.clone()),
                LeaveTo::Exit(name) => ("exit", name.clone()),
            };
            items.push(Item {
                kind,
                name: format!("{from} -> {to}"),
                line: l.line,
                column: None,
                hit: self.leaves[i],
            });
        }
        for (s, model) in plan.scores.iter().enumerate() {
            for (r, rule) in model.rules.iter().enumerate() {
                items.push(Item {
                    kind: "score rule",
                    name: format!("{}: {}", model.name, rule.text),
                    line: rule.line,
                    column: None,
                    hit: self.score_rules[s][r],
                });
            }
        }
        let index = crate::diag::LineIndex::new(&plan.source);
        let mut branch_items: Vec<Item> = branches(plan)
            .iter()
            .map(|b| {
                let (line, col) = index.line_col(&plan.source, b.start);
                Item {
                    kind: "branch",
                    name: format!(
                        "`{}` of {}",
                        branch_text(plan, b),
                        owner_words(plan, b.owner)
                    ),
                    line,
                    column: Some(col),
                    hit: self.branches.get(&(b.owner, b.start, b.end)) == Some(&true),
                }
            })
            .collect();
        // A column only where the line alone does not say which branch is meant.
        let lines: Vec<usize> = branch_items.iter().map(|i| i.line).collect();
        for i in &mut branch_items {
            if lines.iter().filter(|l| **l == i.line).count() < 2 {
                i.column = None;
            }
        }
        items.extend(branch_items);
        // In the file's order, as a reader goes through it (a stable sort: a rule before its
        // branches on the same line).
        items.sort_by_key(|i| (i.line, i.column.unwrap_or(0)));
        items
    }
}

/// Replays a test's lead for coverage: the outcome, with the branches that held marked
/// along with what [`Hits::add`] marks.
pub fn replay_covered(
    plan: &Plan,
    lead: &crate::lead::Lead,
    as_of: i64,
    hits: &mut Hits,
) -> Outcome {
    let (out, fired) = explain::fired(plan, lead, as_of);
    hits.add(&out);
    hits.add_branches(plan, &fired);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::plan::samples::compile_src;

    const RULES: &str = r#"schema {
  trait consent: bool
  trait role: text
  event form.submitted
  event email.opened
}

segment exec = role == "cfo" or role == "ceo"

score interest {
  +5 when form.submitted or email.opened
  +1 per email.opened
}

stage MCL {
  enter when form.submitted and (consent or exec)
}

stage MEL {
  enter when not (consent and role == "intern") and at least 2 of [email.opened, exec, consent]
}
"#;

    fn texts(plan: &Plan, keys: impl IntoIterator<Item = Key>) -> Vec<String> {
        keys.into_iter()
            .map(|(o, s, e)| format!("{}: {}", owner_words(plan, o), &plan.source[s..e]))
            .collect()
    }

    #[test]
    fn every_alternative_is_a_branch() {
        let plan = compile_src(RULES);
        let all = branches(&plan)
            .into_iter()
            .map(|b| (b.owner, b.start, b.end));
        assert_eq!(
            texts(&plan, all),
            [
                "segment exec: role == \"cfo\"",
                "segment exec: role == \"ceo\"",
                "stage MCL: consent",
                "stage MCL: exec",
                // Under `not`, an `and` is a choice: either part false makes it true.
                "stage MEL: consent",
                "stage MEL: role == \"intern\"",
                "stage MEL: email.opened",
                "stage MEL: exec",
                "stage MEL: consent",
                "score interest +5: form.submitted",
                "score interest +5: email.opened",
            ]
        );
    }

    #[test]
    fn no_branches_where_there_is_no_choice() {
        // An `and` alone, `not at least`, a value list, a `where` filter, a `per` rule and an
        // `on` without a guard hold no alternative of the rule's logic.
        let rules = "schema {\n  trait a: bool\n  trait role: text\n  event x { step: int }\n}\nscore s {\n  +1 per x where (step == 1 or step == 2)\n}\nstage S {\n  enter when a and role in [\"cfo\", \"ceo\"] and not at least 1 of [a, x]\n}\nstage T {\n  enter when x\n}\nmove T -> S on x\n";
        let plan = compile_src(rules);
        assert_eq!(branches(&plan), []);
    }

    #[test]
    fn a_long_branch_is_shortened_on_one_line() {
        let rules = "schema {\n  trait a: bool\n  trait role: text\n  event x\n}\nstage S {\n  enter when a or (role == \"chief executive officer\"\n    and x within 30d and role != \"intern\")\n}\n";
        let plan = compile_src(rules);
        let items = Hits::new(&plan).items(&plan);
        let names: Vec<&str> = items
            .iter()
            .filter(|i| i.kind == "branch")
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "`a` of stage S",
                "`(role == \"chief executive officer\" and x within…` of stage S",
            ]
        );
    }

    fn held_by(rules: &str, line: &str, as_of: &str) -> Vec<String> {
        let plan = compile_src(rules);
        let lead = crate::input::jsonl::parse_line(&plan, line, "t".into())
            .unwrap()
            .0;
        let as_of = crate::time::parse_timestamp(as_of).unwrap().millis;
        let (_, fired) = explain::fired(&plan, &lead, as_of);
        texts(&plan, branches_held(&plan, &fired))
    }

    #[test]
    fn a_branch_is_exercised_when_it_held_as_its_rule_fired() {
        // A CFO with consent who submitted a form: both alternatives of MCL held, and the
        // segment's first. MEL was entered too: by `role == "intern"` being false under the
        // `not` (`consent` was true there: not a path), and `exec` and `consent` of the two
        // needed. The score's first alternative held.
        let got = held_by(
            RULES,
            r#"{"id": "a", "traits": {"consent": true, "role": "cfo"}, "events": [{"type": "form.submitted", "at": "2025-01-01"}]}"#,
            "2025-01-31T00:00:00Z",
        );
        assert_eq!(
            got,
            [
                "stage MCL: consent",
                "stage MCL: exec",
                "segment exec: role == \"cfo\"",
                "stage MEL: role == \"intern\"",
                "stage MEL: exec",
                "segment exec: role == \"cfo\"",
                "stage MEL: consent",
                "score interest +5: form.submitted",
            ]
        );
        // An intern with consent who opened an email: no stage is entered (no form); only
        // the score's second alternative held.
        let got = held_by(
            RULES,
            r#"{"id": "b", "traits": {"consent": true, "role": "intern"}, "events": [{"type": "email.opened", "at": "2025-01-01"}]}"#,
            "2025-01-31T00:00:00Z",
        );
        assert_eq!(got, ["score interest +5: email.opened"]);
        // A CEO without consent: MCL by `exec` (through its segment's second alternative),
        // MEL by both parts of the `and` under `not` being false, and two of the three items.
        let got = held_by(
            RULES,
            r#"{"id": "c", "traits": {"consent": false, "role": "ceo"}, "events": [{"type": "form.submitted", "at": "2025-01-01"}, {"type": "email.opened", "at": "2025-01-02"}]}"#,
            "2025-01-31T00:00:00Z",
        );
        assert_eq!(
            got,
            [
                "stage MCL: exec",
                "segment exec: role == \"ceo\"",
                "stage MEL: consent",
                "stage MEL: role == \"intern\"",
                "stage MEL: email.opened",
                "stage MEL: exec",
                "segment exec: role == \"ceo\"",
                "score interest +5: form.submitted",
                "score interest +5: email.opened",
            ]
        );
    }

    #[test]
    fn an_alternative_under_one_that_did_not_hold_is_not_exercised() {
        let rules = "schema {\n  trait a: bool\n  trait b: bool\n  trait c: bool\n  event x\n}\nstage S {\n  enter when x and ((a and (b or c)) or not a)\n}\n";
        // `a` false: the path is `not a`; `b` held but lay under `a and ...`, which did not.
        let got = held_by(
            rules,
            r#"{"id": "a", "traits": {"a": false, "b": true, "c": false}, "events": [{"type": "x", "at": "2025-01-01"}]}"#,
            "2025-01-31T00:00:00Z",
        );
        assert_eq!(got, ["stage S: not a"]);
        let got = held_by(
            rules,
            r#"{"id": "a", "traits": {"a": true, "b": true, "c": true}, "events": [{"type": "x", "at": "2025-01-01"}]}"#,
            "2025-01-31T00:00:00Z",
        );
        assert_eq!(
            got,
            ["stage S: (a and (b or c))", "stage S: b", "stage S: c"]
        );
    }

    #[test]
    fn hits_add_up_and_items_name_the_branch_and_its_place() {
        let plan = compile_src(RULES);
        let mut hits = Hits::new(&plan);
        let lead = crate::input::jsonl::parse_line(
            &plan,
            r#"{"id": "a", "traits": {"consent": true, "role": "ceo"}, "events": [{"type": "form.submitted", "at": "2025-01-01"}]}"#,
            "t".into(),
        )
        .unwrap()
        .0;
        let out = replay_covered(&plan, &lead, 1_800_000_000_000, &mut hits);
        assert_eq!(out.state.entries.len(), 2);
        let mut other = Hits::new(&plan);
        other.merge(&hits);
        assert_eq!(other, hits);
        let items = hits.items(&plan);
        let branch = |name: &str| {
            items
                .iter()
                .find(|i| i.kind == "branch" && i.name == name)
                .unwrap()
                .clone()
        };
        let ceo = branch("`role == \"ceo\"` of segment exec");
        assert!(ceo.hit);
        assert_eq!((ceo.line, ceo.column), (8, Some(33)));
        assert!(!branch("`role == \"cfo\"` of segment exec").hit);
        // Two branches on the line: each with its column.
        let opened = branch("`email.opened` of score interest +5");
        assert_eq!(
            (opened.line, opened.column, opened.hit),
            (11, Some(29), false)
        );
        assert!(branch("`exec` of stage MCL").hit);
        assert!(branch("`role == \"intern\"` of stage MEL").hit);
        assert!(!branch("`email.opened` of stage MEL").hit);
    }
}
