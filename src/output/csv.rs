//! A lead's outcome as a CSV row.

use super::ts;
use crate::eval::{position, sla_breaches, Outcome};
use crate::lead::{fmt_num, Lead, Value};
use crate::plan::Plan;

/// The CSV header: id, where the lead is (`stage`, `last_stage`, `exit`, `exited_at`), the
/// declared dimensions, each stage's first and latest entry, the moves, the SLA breaches,
/// then scores and grades. Names say what a column holds (`MCL_first_entered_at`).
pub fn csv_header(plan: &Plan) -> Vec<String> {
    let mut h = vec![
        "id".to_string(),
        "stage".into(),
        "last_stage".into(),
        "exit".into(),
        "exited_at".into(),
    ];
    h.extend(super::dimension_names(plan).map(String::from));
    for s in &plan.stages {
        h.push(format!("{}_first_entered_at", s.name));
        h.push(format!("{}_entered_at", s.name));
    }
    h.push("moves".into());
    h.push("sla_breaches".into());
    for m in &plan.scores {
        h.push(m.name.clone());
        if !m.grades.is_empty() {
            h.push(format!("{}_grade", m.name));
        }
    }
    h
}

/// One lead's fields, in [`csv_header`]'s order. `stage` is what the table shows: the
/// stage, or the exit name for a lead that exited (then `last_stage` is the stage it left).
pub fn csv_row(plan: &Plan, lead: &Lead, out: &Outcome) -> Vec<String> {
    let last_stage = out
        .state
        .stage
        .and_then(|s| plan.stages.get(s as usize))
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let (exit, exited_at) = match &out.state.exit {
        Some(x) => (position(plan, out), ts(x.at)),
        None => (String::new(), String::new()),
    };
    let stage = if exit.is_empty() {
        last_stage.clone()
    } else {
        exit.clone()
    };
    let mut row = vec![lead.id.clone(), stage, last_stage, exit, exited_at];
    row.extend(plan.dimensions.iter().map(|slot| {
        lead.traits
            .get(*slot)
            .and_then(Value::plain)
            .unwrap_or_default()
    }));
    let first = out.state.first_entries(plan.stages.len());
    for (f, l) in first.iter().zip(&out.state.latest) {
        let text = f.map(ts).unwrap_or_default();
        // Most stages were entered once: the first entry is the latest.
        let latest = if l == f {
            text.clone()
        } else {
            l.map(ts).unwrap_or_default()
        };
        row.push(text);
        row.push(latest);
    }
    // `MQL>MEL@2025-03-20T10:00:00Z`, `;` between moves.
    let moves: Vec<String> = super::move_list(plan, out)
        .into_iter()
        .map(|(from, to, at)| format!("{from}>{to}@{}", ts(at)))
        .collect();
    row.push(moves.join(";"));
    let breaches: Vec<String> = sla_breaches(plan, out)
        .into_iter()
        .map(|b| b.stage)
        .collect();
    row.push(breaches.join(";"));
    for (m, v) in plan.scores.iter().zip(&out.scores) {
        row.push(fmt_num(v.total));
        if !m.grades.is_empty() {
            row.push(
                v.grade
                    .and_then(|g| m.grades.get(g))
                    .map(|(l, _)| l.clone())
                    .unwrap_or_default(),
            );
        }
    }
    row
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_line(fields: &[String]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
    out
}
