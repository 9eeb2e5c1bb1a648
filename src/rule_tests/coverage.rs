//! What the tests exercised: the stages they entered, the moves and exits they took, the score
//! rules that gave their leads points. Each is counted per plan, so the tests of one rule file
//! (inline and in test files) add up.

use serde::Serialize;

use crate::eval::outcome::{EnteredBy, Outcome};
use crate::plan::{LeaveTo, Plan};

/// For each stage, move or exit, and score rule of a plan: whether some test exercised it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hits {
    pub stages: Vec<bool>,
    pub leaves: Vec<bool>,
    pub score_rules: Vec<Vec<bool>>,
}

/// One thing a test can exercise, where it is declared, and whether one did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    /// `stage`, `move`, `exit` or `score rule`.
    pub kind: &'static str,
    /// How a reader finds it: `MQL`, `MQL -> MEL`, `fit: +10 when ...`.
    pub name: String,
    pub line: usize,
    pub hit: bool,
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
    }

    /// Everything that could be exercised, in the plan's order (stages, moves and exits,
    /// score rules), each with whether it was.
    pub fn items(&self, plan: &Plan) -> Vec<Item> {
        let mut items = Vec::new();
        for (i, s) in plan.stages.iter().enumerate() {
            items.push(Item {
                kind: "stage",
                name: s.name.clone(),
                line: s.line,
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
                hit: self.leaves[i],
            });
        }
        for (s, model) in plan.scores.iter().enumerate() {
            for (r, rule) in model.rules.iter().enumerate() {
                items.push(Item {
                    kind: "score rule",
                    name: format!("{}: {}", model.name, rule.text),
                    line: rule.line,
                    hit: self.score_rules[s][r],
                });
            }
        }
        // In the file's order, as a reader goes through it.
        items.sort_by_key(|i| i.line);
        items
    }
}
