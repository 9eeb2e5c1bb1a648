//! Taking a snapshot: every lead of a sample evaluated through the pipeline, in parallel,
//! kept in id order whatever the thread count.

use std::collections::BTreeMap;

use super::{Record, Snapshot};
use crate::compare::{decision, Decision};
use crate::pipeline::{self, Data, Work};
use crate::plan::Plan;
use crate::time::{format_timestamp, Timestamp};

/// A fresh snapshot and, by lead id, the rule that put each lead where it stands.
pub struct Taken {
    pub snapshot: Snapshot,
    pub decisions: BTreeMap<String, Decision>,
}

/// Evaluates the sample at `as_of` (else at its latest event). `Err` is the first problem with
/// the data, said with its place, or why the file could not be read. `names` are how the
/// snapshot's header names the rule file and the sample: as declared, so the file is the same
/// wherever the command runs from.
pub fn take(
    plan: &Plan,
    data: &Data,
    as_of: Option<i64>,
    names: (&str, &str),
) -> Result<Taken, String> {
    let opened = pipeline::open(plan, data, as_of).map_err(|e| e.to_string())?;
    let at = opened.as_of;
    let finish = |lead: &crate::lead::Lead,
                  out: &crate::eval::outcome::Outcome,
                  _: Option<&crate::eval::explain::Explanation>| {
        (Record::of(plan, lead, out), decision(plan, lead, out))
    };
    let mut records = BTreeMap::new();
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
                        let (record, d) = e.value;
                        if let Some(d) = d {
                            decisions.insert(record.id.clone(), d);
                        }
                        records.insert(record.id.clone(), record);
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
    Ok(Taken {
        snapshot: Snapshot { about, records },
        decisions,
    })
}
