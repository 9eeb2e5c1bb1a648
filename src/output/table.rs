//! Outcomes as an aligned table for a terminal.

use crate::eval::{position, Outcome};
use crate::lead::{fmt_num, Lead, Value};
use crate::plan::{LeaveTo, Plan};
use crate::time::format_date_of;
use crate::time::Timestamp;

/// The table's cells for one lead: id, position (a stage, or the exit taken), dimensions,
/// the date of each stage's latest entry, then each score and, for graded models, its grade.
pub fn table_row(plan: &Plan, lead: &Lead, out: &Outcome) -> Vec<String> {
    let mut row = vec![lead.id.clone(), position(plan, out)];
    row.extend(plan.dimensions.iter().map(|slot| {
        lead.traits
            .get(*slot)
            .and_then(Value::plain)
            .unwrap_or_else(|| "—".into())
    }));
    row.extend(out.state.latest.iter().map(|t| {
        t.map_or("—".to_string(), |ms| {
            format_date_of(Timestamp { millis: ms })
        })
    }));
    for (m, v) in plan.scores.iter().zip(&out.scores) {
        row.push(fmt_num(v.total));
        if !m.grades.is_empty() {
            row.push(
                v.grade
                    .and_then(|g| m.grades.get(g))
                    .map_or("—".to_string(), |(l, _)| l.clone()),
            );
        }
    }
    row
}

pub fn table_header(plan: &Plan) -> Vec<String> {
    let mut h = vec!["lead".to_string(), "stage".into()];
    h.extend(super::dimension_names(plan).map(String::from));
    h.extend(plan.stages.iter().map(|s| s.name.clone()));
    for m in &plan.scores {
        h.push(m.name.clone());
        if !m.grades.is_empty() {
            h.push(format!("{} grade", m.name));
        }
    }
    h
}

/// Columns a cell takes in a terminal: wide characters (CJK, most emoji) take two.
fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// Aligns rows into columns by display width: scores right, everything else left.
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
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(width(c));
        }
    }
    // Score columns are right-aligned; grade columns (after their score) are not.
    let first_score = 2 + plan.dimensions.len() + plan.stages.len();
    let mut right = vec![false; cols];
    let mut i = first_score;
    for m in &plan.scores {
        if let Some(r) = right.get_mut(i) {
            *r = true;
        }
        i += 1 + usize::from(!m.grades.is_empty());
    }
    let mut out = String::new();
    for (row, r) in std::iter::once(&header).chain(rows).enumerate() {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate().take(cols) {
            let pad = widths[i].saturating_sub(width(c));
            if i > 0 {
                line.push_str("  ");
            }
            let style = match (color, row, i) {
                (false, _, _) => "",
                (true, 0, _) => "\x1b[1m",
                (true, _, 1) if exits.contains(&c.as_str()) => "\x1b[31m",
                (true, _, 1) if !c.is_empty() => "\x1b[32m",
                (true, _, _) if c == "—" => "\x1b[2m",
                _ => "",
            };
            let cell = if style.is_empty() {
                c.clone()
            } else {
                format!("{style}{c}\x1b[0m")
            };
            if right[i] {
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

    #[test]
    fn wide_characters_are_aligned_by_display_width() {
        let src = "schema {\n  event e\n}\nstage A {\n  enter when e\n}\n";
        let plan = crate::compile(src, "t").plan().unwrap();
        let rows = vec![
            vec!["日本語".to_string(), "A".into(), "2025-01-01".into()],
            vec!["abc".to_string(), "A".into(), "2025-01-02".into()],
        ];
        let text = table(&plan, &rows, false);
        let cols: Vec<usize> = text
            .lines()
            .map(|l| width(&l[..l.find('A').unwrap()]))
            .collect();
        // The header's `stage` starts where each row's `A` does.
        let header = text.lines().next().unwrap();
        assert_eq!(width(&header[..header.find("stage").unwrap()]), 8);
        assert_eq!(cols[1..], [8, 8], "{text}");
    }
}
