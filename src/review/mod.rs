//! Snapshots of a rule file's outcomes on a sample of leads, and what changed between two of
//! them. A snapshot is text made to read well in a git diff: one line per lead, sorted by id,
//! `id<TAB>stage<TAB>entries<TAB>scores`. Comparing a stored snapshot with a fresh one gives
//! the summary `funnelc diff` gives ([`crate::compare`]): stage counts before and after, the
//! from → to matrix, the first leads that moved with the rule that moved them.

mod compare;
pub mod take;

pub use compare::{compare, Difference};

use std::collections::BTreeMap;

use crate::eval::outcome::Outcome;
use crate::lead::{fmt_num, Lead};
use crate::plan::Plan;
use crate::time::{format_timestamp, parse_timestamp, Timestamp};

/// The first line of every snapshot file: what it is, and the format's version.
pub const HEADER: &str = "# funnelc snapshot v1";

/// What a snapshot keeps of one lead.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: String,
    /// The stage or exit it is in; empty outside the funnel.
    pub stage: String,
    /// The latest entry into each stage it entered, in the funnel's order.
    pub entries: Vec<(String, i64)>,
    pub scores: Vec<(String, f64)>,
}

impl Record {
    pub fn of(plan: &Plan, lead: &Lead, out: &Outcome) -> Record {
        Record {
            id: lead.id.clone(),
            stage: crate::eval::position(plan, out),
            entries: out
                .state
                .latest
                .iter()
                .enumerate()
                .filter_map(|(i, at)| at.map(|at| (plan.stages[i].name.clone(), at)))
                .collect(),
            scores: plan
                .scores
                .iter()
                .zip(&out.scores)
                .map(|(m, v)| (m.name.clone(), v.total))
                .collect(),
        }
    }

    /// The record as one line of the snapshot (without the newline).
    pub fn line(&self) -> String {
        let id = if self.id.is_empty()
            || self.id.starts_with(['"', '#'])
            || self.id.contains(['\t', '\n', '\r'])
        {
            serde_json::to_string(&self.id).unwrap_or_default()
        } else {
            self.id.clone()
        };
        let stage = if self.stage.is_empty() {
            "-"
        } else {
            &self.stage
        };
        let entries: Vec<String> = self
            .entries
            .iter()
            .map(|(s, at)| format!("{s}={}", format_timestamp(Timestamp { millis: *at })))
            .collect();
        let scores: Vec<String> = self
            .scores
            .iter()
            .map(|(s, v)| format!("{s}={}", fmt_num(*v)))
            .collect();
        format!("{id}\t{stage}\t{}\t{}", entries.join(" "), scores.join(" "))
    }

    /// Reads a line back; `Err` says what is wrong with it.
    pub fn parse(line: &str) -> Result<Record, String> {
        let fields: Vec<&str> = line.split('\t').collect();
        let [id, stage, entries, scores] = fields.as_slice() else {
            return Err(format!(
                "expected 4 fields separated by tabs (id, stage, entries, scores), found {}",
                fields.len()
            ));
        };
        let id = if id.starts_with('"') {
            serde_json::from_str(id).map_err(|_| format!("the id {id} is not a quoted text"))?
        } else if id.is_empty() {
            return Err("the id is empty".into());
        } else {
            id.to_string()
        };
        let stage = match *stage {
            "-" => String::new(),
            "" => return Err("the stage is empty (`-` is outside the funnel)".into()),
            s => s.to_string(),
        };
        let pairs = |text: &str, what: &str| -> Result<Vec<(String, String)>, String> {
            text.split(' ')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.split_once('=')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .ok_or_else(|| format!("`{p}` is not a {what} like `NAME=VALUE`"))
                })
                .collect()
        };
        let entries = pairs(entries, "stage entry")?
            .into_iter()
            .map(|(s, at)| {
                parse_timestamp(&at)
                    .map(|t| (s.clone(), t.millis))
                    .map_err(|e| format!("the entry of {s}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        let scores = pairs(scores, "score")?
            .into_iter()
            .map(|(s, v)| {
                v.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(|v| (s.clone(), v))
                    .ok_or_else(|| format!("the score {s}: `{v}` is not a number"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Record {
            id,
            stage,
            entries,
            scores,
        })
    }
}

/// A snapshot: its header lines after the first (what was evaluated) and its records by id.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub about: Vec<String>,
    pub records: BTreeMap<String, Record>,
}

impl Snapshot {
    /// The snapshot as its file's text: the header, then one line per lead in id order.
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(self.records.len() * 96 + 256);
        out.push_str(HEADER);
        out.push('\n');
        for a in &self.about {
            out.push_str("# ");
            out.push_str(a);
            out.push('\n');
        }
        for r in self.records.values() {
            out.push_str(&r.line());
            out.push('\n');
        }
        out
    }

    /// Reads a snapshot file; `Err((line, why))` for the first line that is not as written.
    pub fn parse(text: &str) -> Result<Snapshot, (usize, String)> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err((1, format!("the file does not start `{HEADER}`"))),
        }
        let mut about = Vec::new();
        let mut records = BTreeMap::new();
        let mut last: Option<String> = None;
        for (i, line) in lines {
            if let Some(a) = line.strip_prefix("# ") {
                if records.is_empty() {
                    about.push(a.to_string());
                    continue;
                }
            }
            let r = Record::parse(line).map_err(|e| (i + 1, e))?;
            if last.as_ref().is_some_and(|l| *l >= r.id) {
                return Err((
                    i + 1,
                    format!(
                        "lead `{}` is out of order or repeated (lines are sorted by id)",
                        r.id
                    ),
                ));
            }
            last = Some(r.id.clone());
            records.insert(r.id.clone(), r);
        }
        Ok(Snapshot { about, records })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_record_reads_back() {
        let r = Record {
            id: "L\t1".into(),
            stage: String::new(),
            entries: vec![("MCL".into(), 1_735_689_600_000)],
            scores: vec![("fit".into(), 12.5), ("e".into(), 0.0)],
        };
        let line = r.line();
        assert_eq!(line, "\"L\\t1\"\t-\tMCL=2025-01-01T00:00:00Z\tfit=12.5 e=0");
        assert_eq!(Record::parse(&line).unwrap(), r);
    }

    #[test]
    fn a_damaged_snapshot_says_which_line() {
        let good = format!("{HEADER}\n# about\nA\tMCL\t\tfit=1\nB\t-\t\t\n");
        assert_eq!(Snapshot::parse(&good).unwrap().records.len(), 2);
        assert_eq!(Snapshot::parse(&good).unwrap().text(), good);
        let bad = |t: &str| Snapshot::parse(&format!("{HEADER}\n{t}\n")).unwrap_err();
        assert_eq!(bad("A\tMCL\t\tfit=x").0, 2);
        assert!(bad("A\tMCL\t\tfit=x").1.contains("not a number"));
        assert!(bad("A\tMCL").1.contains("4 fields"));
        assert!(bad("A\tMCL\tMCL=yesterday\t").1.contains("MCL"));
        assert!(bad("B\t-\t\t\nA\t-\t\t").1.contains("out of order"));
        assert_eq!(Snapshot::parse("A\tMCL\t\t\n").unwrap_err().0, 1);
    }
}
