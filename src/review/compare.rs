//! What changed between a stored snapshot and a fresh one, as a reviewer reads it.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Snapshot;
use crate::pipeline::thousands;
use crate::plan::Plan;

/// A stage's place in the funnel's order (exits after the stages by name, the outside last).
type Place = (usize, String);

/// How many moved leads are listed by name.
const FIRST_MOVED: usize = 5;

/// The changes between two snapshots of one rule file's outcomes.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// Leads in both whose line differs.
    pub changed: usize,
    /// Of those, the ones whose stage differs.
    pub moved: usize,
    pub only_stored: usize,
    pub only_now: usize,
    /// The readable summary.
    pub summary: String,
}

fn shown(stage: &str) -> &str {
    if stage.is_empty() {
        "(outside)"
    } else {
        stage
    }
}

/// Compares `now` with `stored`. `why` gives, by lead id, the rule that decided where the
/// lead stands now (from the fresh evaluation). `None` when they are the same.
pub fn compare(
    plan: &Plan,
    stored: &Snapshot,
    now: &Snapshot,
    why: &dyn Fn(&str) -> String,
) -> Option<Difference> {
    if stored.records == now.records {
        return None;
    }
    // Stage order: the funnel's, then exits and the outside by name.
    let order = |s: &str| -> Place {
        match plan.stages.iter().position(|x| x.name == s) {
            Some(i) => (i, String::new()),
            None if s.is_empty() => (usize::MAX, String::new()),
            None => (plan.stages.len(), s.to_string()),
        }
    };
    let mut before: BTreeMap<Place, (String, u64)> = BTreeMap::new();
    let mut after: BTreeMap<Place, (String, u64)> = BTreeMap::new();
    for r in stored.records.values() {
        before
            .entry(order(&r.stage))
            .or_insert((r.stage.clone(), 0))
            .1 += 1;
    }
    for r in now.records.values() {
        after
            .entry(order(&r.stage))
            .or_insert((r.stage.clone(), 0))
            .1 += 1;
    }
    let mut matrix: BTreeMap<(Place, Place), (String, String, u64)> = BTreeMap::new();
    let (mut changed, mut moved) = (0, 0);
    let mut first = Vec::new();
    for (id, old) in &stored.records {
        let Some(new) = now.records.get(id) else {
            continue;
        };
        if old == new {
            continue;
        }
        changed += 1;
        if old.stage != new.stage {
            moved += 1;
            matrix
                .entry((order(&old.stage), order(&new.stage)))
                .or_insert((old.stage.clone(), new.stage.clone(), 0))
                .2 += 1;
            if first.len() < FIRST_MOVED {
                let reason = lost(plan, old, new).unwrap_or_else(|| why(id));
                first.push(format!(
                    "{id}: {} → {}, {reason}",
                    shown(&old.stage),
                    shown(&new.stage)
                ));
            }
        }
    }
    let only_stored = stored
        .records
        .keys()
        .filter(|k| !now.records.contains_key(*k))
        .count();
    let only_now = now
        .records
        .keys()
        .filter(|k| !stored.records.contains_key(*k))
        .count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} of {} leads changed: {} moved to another stage, {} changed entry dates or scores only",
        thousands(changed as u64),
        thousands(stored.records.len() as u64),
        thousands(moved as u64),
        thousands((changed - moved) as u64)
    );
    if only_stored + only_now > 0 {
        let _ = writeln!(
            s,
            "{} leads only in the stored snapshot, {} only in the sample now",
            thousands(only_stored as u64),
            thousands(only_now as u64)
        );
    }
    // Stage counts, every stage either side has.
    let mut keys: Vec<&Place> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let rows: Vec<(String, u64, u64)> = keys
        .iter()
        .map(|k| {
            let name = before
                .get(*k)
                .or_else(|| after.get(*k))
                .map(|(n, _)| shown(n).to_string())
                .unwrap_or_default();
            let b = before.get(*k).map_or(0, |x| x.1);
            let a = after.get(*k).map_or(0, |x| x.1);
            (name, b, a)
        })
        .filter(|(_, b, a)| b != a)
        .collect();
    if !rows.is_empty() {
        s.push_str("stage counts, stored → now:\n");
        let w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        for (name, b, a) in rows {
            let delta = a as i64 - b as i64;
            let _ = writeln!(
                s,
                "  {name:w$}  {} → {} ({}{})",
                thousands(b),
                thousands(a),
                if delta > 0 { "+" } else { "" },
                delta
            );
        }
    }
    if !matrix.is_empty() {
        s.push_str("moves, from → to:\n");
        let w = matrix
            .values()
            .map(|(f, t, _)| shown(f).chars().count() + shown(t).chars().count() + 3)
            .max()
            .unwrap_or(0);
        for (f, t, n) in matrix.values() {
            let pair = format!("{} → {}", shown(f), shown(t));
            let _ = writeln!(s, "  {pair:w$}  {}", thousands(*n));
        }
    }
    if !first.is_empty() {
        s.push_str(if moved > first.len() {
            "first leads that moved:\n"
        } else {
            "leads that moved:\n"
        });
        for f in first {
            let _ = writeln!(s, "  {f}");
        }
    }
    Some(Difference {
        changed,
        moved,
        only_stored,
        only_now,
        summary: s,
    })
}

/// For a lead that no longer reaches a stage it reached: that stage's enter rule.
fn lost(plan: &Plan, old: &super::Record, new: &super::Record) -> Option<String> {
    let (stage, _) = old
        .entries
        .iter()
        .find(|(s, _)| !new.entries.iter().any(|(n, _)| n == s))?;
    let p = plan.stages.iter().find(|s| s.name == *stage)?;
    Some(format!(
        "no longer enters {stage} (its enter rule, {}:{})",
        plan.file, p.line
    ))
}
