//! What changed between a stored snapshot and a fresh one, as a reviewer reads it: the
//! comparison `funnelc diff` makes ([`crate::compare`]), fed from the two snapshots' records.

use super::{Record, Snapshot};
use crate::compare::{render, Comparison, Decision, Names, Side, StageSet};
use crate::pipeline::thousands;
use crate::plan::Plan;

/// How many moved leads are listed by name.
const FIRST_MOVED: usize = 5;

/// The changes between two snapshots of one rule file's outcomes.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// Leads whose line differs (or that are on one side only).
    pub changed: usize,
    /// Of those, the ones that ended somewhere else.
    pub moved: u64,
    /// The readable summary: a headline, then the comparison's tables.
    pub summary: String,
}

/// The stored side's names: the rule file's, and any stage or exit the stored snapshot names
/// that the file no longer declares.
fn stored_names(plan: &Plan, stored: &Snapshot) -> Names {
    let mut names = Names::of(plan);
    for r in stored.records.values() {
        for (s, _) in &r.entries {
            if !names.stages.contains(s) {
                names.stages.push(s.clone());
            }
        }
    }
    for r in stored.records.values() {
        if !r.stage.is_empty() && names.place(&r.stage).is_none() {
            names.exits.push(r.stage.clone());
        }
    }
    names
}

fn side(names: &Names, r: &Record, decision: Option<Decision>) -> Side {
    let mut reached = StageSet::default();
    for (s, _) in &r.entries {
        if let Some(i) = names.stages.iter().position(|n| n == s) {
            reached.insert(i as u16);
        }
    }
    Side {
        place: names
            .place(&r.stage)
            .unwrap_or(crate::compare::Place::Outside),
        reached,
        decision,
    }
}

/// Compares `now` with `stored`; `decision` gives, by lead id, the rule that put the lead
/// where it is now. `None` when they are the same.
pub fn compare(
    plan: &Plan,
    stored: &Snapshot,
    now: &Snapshot,
    decision: &dyn Fn(&str) -> Option<Decision>,
) -> Option<Difference> {
    if stored.records == now.records {
        return None;
    }
    let before = stored_names(plan, stored);
    let after = Names::of(plan);
    let mut c = Comparison::new(&before, &after, FIRST_MOVED);
    let mut changed = 0;
    // Every lead of either side, in id order.
    let mut ids: Vec<&String> = stored.records.keys().chain(now.records.keys()).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let (b, a) = (stored.records.get(id), now.records.get(id));
        if b != a {
            changed += 1;
        }
        let b = b.map(|r| side(&before, r, None));
        let a = a.map(|r| side(&after, r, decision(id)));
        c.add(id, b, a);
    }
    let mut summary = format!(
        "{} of {} leads changed: {} ended elsewhere, {} changed entry dates or scores only\n\n",
        thousands(changed as u64),
        thousands(c.leads),
        thousands(c.moved_count),
        thousands(changed as u64 - c.moved_count),
    );
    summary.push_str(&render::text(&render::tables(&c)));
    Some(Difference {
        changed,
        moved: c.moved_count,
        summary,
    })
}
