//! Taking a snapshot: every lead of a sample evaluated through the pipeline, in parallel,
//! kept in id order whatever the thread count.

use std::collections::BTreeMap;

use super::{Record, Snapshot};
use crate::compare::{decision, Decision};
use crate::pipeline::{self, Data, Work};
use crate::plan::Plan;
use crate::time::{format_timestamp, Timestamp};

/// A fresh snapshot, as its file's text, and by lead id the rule that put each lead where it
/// stands. The records themselves are read back from the text only when it differs from the
/// stored one ([`Taken::snapshot`]): an unchanged snapshot costs one comparison of texts.
pub struct Taken {
    pub text: String,
    pub decisions: BTreeMap<String, Decision>,
}

impl Taken {
    /// The records, read back from the text funnelc just wrote.
    pub fn snapshot(&self) -> Result<Snapshot, String> {
        Snapshot::parse(&self.text).map_err(|(line, why)| {
            format!(
                "funnelc wrote a snapshot it cannot read (line {line}: {why}); please report this"
            )
        })
    }
}

/// Evaluates the sample at `as_of` (else at its latest event). `Err` is the first problem with
/// the data, said with its place, or why the file could not be read. `names` are how the
/// snapshot's header names the rule file and the sample: as declared, so the file is the same
/// wherever the command runs from. With `decide`, the deciding rule of each lead is worked out
/// too (only needed to explain a difference).
pub fn take(
    plan: &Plan,
    data: &Data,
    as_of: Option<i64>,
    names: (&str, &str),
    decide: bool,
) -> Result<Taken, String> {
    let opened = pipeline::open(plan, data, as_of).map_err(|e| e.to_string())?;
    let at = opened.as_of;
    let finish = |lead: &crate::lead::Lead,
                  out: &crate::eval::outcome::Outcome,
                  _: Option<&crate::eval::explain::Explanation>| {
        // The line is made on the worker: formatting is most of a snapshot's own cost.
        (
            lead.id.clone(),
            Record::of(plan, lead, out).line(),
            decide.then(|| decision(plan, lead, out)).flatten(),
        )
    };
    // Ids are unique (the pipeline checks them), so sorting once at the end is enough.
    let mut records: Vec<(String, String)> = Vec::new();
    let mut decisions = BTreeMap::new();
    let mut error = None;
    pipeline::evaluate(
        plan,
        data,
        opened.input,
        Work {
            as_of: at,
            explain: false,
            finish: &finish,
        },
        |batch| {
            for r in batch {
                match r {
                    Ok(e) => {
                        let (id, line, d) = e.value;
                        if let Some(d) = d {
                            decisions.insert(id.clone(), d);
                        }
                        records.push((id, line));
                    }
                    Err(e) => {
                        error = Some(e.to_string());
                        return false;
                    }
                }
            }
            true
        },
    )
    .map_err(|e| e.to_string())?;
    if let Some(e) = error {
        return Err(e);
    }
    let about = vec![
        format!("rules: {}", names.0),
        format!("leads: {}", names.1),
        format!("as of: {}", format_timestamp(Timestamp { millis: at })),
    ];
    let mut text =
        String::with_capacity(records.iter().map(|l| l.1.len() + 1).sum::<usize>() + 256);
    text.push_str(super::HEADER);
    text.push('\n');
    for a in &about {
        text.push_str("# ");
        text.push_str(a);
        text.push('\n');
    }
    records.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (_, line) in &records {
        text.push_str(line);
        text.push('\n');
    }
    Ok(Taken { text, decisions })
}
