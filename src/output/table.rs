//! Outcomes as an aligned table for a terminal.

use crate::eval::{position, Outcome};
use crate::lead::{fmt_num, Lead};
use crate::plan::{LeaveTo, Plan};
use crate::time::format_date_of;
use crate::time::Timestamp;

/// The table's cells for one lead: id, position, the date of each stage entry, scores.
pub fn table_row(plan: &Plan, lead: &Lead, out: &Outcome) -> Vec<String> {
    // The id is the data's: its control characters are escaped, never sent to the terminal.
    let mut row = vec![
        crate::diag::printable(&lead.id).into_owned(),
        position(plan, out),
    ];
    row.extend(out.state.latest.iter().map(|t| {
        t.map_or("—".to_string(), |ms| {
            format_date_of(Timestamp { millis: ms })
        })
    }));
    for (m, v) in plan.scores.iter().zip(&out.scores) {
        let grade = v
            .grade
            .and_then(|g| m.grades.get(g))
            .map(|(l, _)| format!(" {l}"))
            .unwrap_or_default();
        row.push(format!("{}{grade}", fmt_num(v.total)));
    }
    row
}

pub fn table_header(plan: &Plan) -> Vec<String> {
    let mut h = vec!["lead".to_string(), "stage".into()];
    h.extend(plan.stages.iter().map(|s| s.name.clone()));
    h.extend(plan.scores.iter().map(|m| m.name.clone()));
    h
}

/// Aligns rows into columns: text left, scores right.
///
/// With `color`, the header is bold, a lead's position is green (in a stage) or red (exited),
/// and stages never entered are dim; padding is computed on the plain text.
pub fn table(plan: &Plan, rows: &[Vec<String>], color: bool) -> String {
    let header = table_header(plan);
    let exits: Vec<&str> = plan
        .leaves
        .iter()
        .filter_map(|l| match &l.to {
            LeaveTo::Exit(n) => Some(n.as_str()),
            LeaveTo::Stage(_) => None,
        })
        .collect();
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let first_score = 2 + plan.stages.len();
    let mut out = String::new();
    for (row, r) in std::iter::once(&header).chain(rows).enumerate() {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate().take(cols) {
            let pad = widths[i].saturating_sub(c.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            use anstyle::{AnsiColor, Style};
            let style = match (color, row, i) {
                (false, _, _) => Style::new(),
                (true, 0, _) => Style::new().bold(),
                (true, _, 1) if exits.contains(&c.as_str()) => AnsiColor::Red.on_default(),
                (true, _, 1) if !c.is_empty() => AnsiColor::Green.on_default(),
                (true, _, _) if c == "—" => Style::new().dimmed(),
                _ => Style::new(),
            };
            let cell = if style == Style::new() {
                c.clone()
            } else {
                format!("{style}{c}{style:#}")
            };
            if i >= first_score {
                line.push_str(&" ".repeat(pad));
                line.push_str(&cell);
            } else {
                line.push_str(&cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn colour_does_not_change_the_text() {
        let src = "schema {\n  event e\n}\nstage A {\n  enter when e\n}\n";
        let plan = crate::compile(src, "t").plan().unwrap();
        let rows = vec![vec!["L1".to_string(), "A".into(), "2025-01-01".into()]];
        let plain = table(&plan, &rows, false);
        let coloured = table(&plan, &rows, true);
        assert_ne!(plain, coloured);
        let stripped = regex::Regex::new("\x1b\\[[0-9]+m")
            .unwrap()
            .replace_all(&coloured, "");
        assert_eq!(stripped, plain);
    }
}
