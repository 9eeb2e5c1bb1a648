//! A lead's outcome as a CSV row.

use super::ts;
use crate::eval::{position, sla_breaches, Outcome};
use crate::lead::{fmt_num, Lead};
use crate::plan::Plan;

/// The CSV header: id, stage, exit, exited_at, one column per stage, scores and grades.
pub fn csv_header(plan: &Plan) -> Vec<String> {
    let mut h = vec![
        "id".to_string(),
        "stage".into(),
        "exit".into(),
        "exited_at".into(),
    ];
    h.extend(plan.stages.iter().map(|s| s.name.clone()));
    h.push("sla_breaches".into());
    for m in &plan.scores {
        h.push(m.name.clone());
        if !m.grades.is_empty() {
            h.push(format!("{}_grade", m.name));
        }
    }
    h
}

pub fn csv_row(plan: &Plan, lead: &Lead, out: &Outcome) -> Vec<String> {
    let stage = out
        .state
        .stage
        .and_then(|s| plan.stages.get(s as usize))
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let (exit, exited_at) = match &out.state.exit {
        Some(x) => (position(plan, out), ts(x.at)),
        None => (String::new(), String::new()),
    };
    let mut row = vec![lead.id.clone(), stage, exit, exited_at];
    row.extend(
        out.state
            .latest
            .iter()
            .map(|t| t.map(ts).unwrap_or_default()),
    );
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
