//! Outcomes as an aligned table for a terminal.

use crate::eval::{position, Outcome};
use crate::lead::{fmt_num, Lead, Value};
use crate::plan::Plan;
use crate::time::format_date_of;
use crate::time::Timestamp;

/// The table's cells for one lead: id, position (a stage, or the exit taken), dimensions,
/// the date of each stage's latest entry, then each score and, for graded models, its grade.
pub fn table_row(plan: &Plan, lead: &Lead, out: &Outcome) -> Vec<String> {
    // The id and trait values are the data's: their control characters are escaped, never
    // sent to the terminal.
    let mut row = vec![
        crate::diag::printable(&lead.id).into_owned(),
        // A lead whose traits meet no stage's condition is in no stage: a dash, like every
        // other cell without a value, rather than a blank a reader takes for a rendering fault.
        Some(position(plan, out))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "—".into()),
    ];
    row.extend(plan.dimensions.iter().map(|slot| {
        lead.traits
            .get(*slot)
            .and_then(Value::plain)
            .map_or_else(|| "—".into(), |v| crate::diag::printable(&v).into_owned())
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

/// Rows gathered for an aligned table, whose column widths are known only once the last row
/// is in. Every cell is kept in one buffer, its length before its text: a million leads' rows
/// held as ten million small strings took most of a run's memory, and the allocations and
/// page faults a tenth of its time.
pub struct Table {
    cells: Vec<u8>,
    widths: Vec<usize>,
    rows: usize,
    header: Vec<String>,
    exits: Vec<String>,
    /// Score columns are right-aligned; grade columns (after their score) are not.
    right: Vec<bool>,
}

impl Table {
    pub fn new(plan: &Plan) -> Self {
        let header = table_header(plan);
        let exits = plan.exit_names().into_iter().map(String::from).collect();
        let mut right = vec![false; header.len()];
        let mut i = 2 + plan.dimensions.len() + plan.stages.len();
        for m in &plan.scores {
            if let Some(r) = right.get_mut(i) {
                *r = true;
            }
            i += 1 + usize::from(!m.grades.is_empty());
        }
        Table {
            cells: Vec::new(),
            widths: header.iter().map(|h| width(h)).collect(),
            rows: 0,
            header,
            exits,
            right,
        }
    }

    /// Adds a row of [`table_row`]'s cells; cells beyond the header's columns are not kept,
    /// and missing ones are empty.
    pub fn push(&mut self, row: &[String]) {
        for (i, width) in self.widths.iter_mut().enumerate() {
            let cell = row.get(i).map_or("", String::as_str);
            *width = (*width).max(self::width(cell));
            // The length as a base-128 varint: seven bits a byte, the high bit set on all but
            // the last.
            let mut n = cell.len();
            while n >= 0x80 {
                self.cells.push((n as u8 & 0x7f) | 0x80);
                n >>= 7;
            }
            self.cells.push(n as u8);
            self.cells.extend_from_slice(cell.as_bytes());
        }
        self.rows += 1;
    }

    /// Writes the table a line at a time, aligned by display width: scores right, everything
    /// else left.
    ///
    /// With `color`, the header is bold, a lead's position is green (in a stage) or red
    /// (exited), and stages never entered are dim; padding is computed on the plain text.
    pub fn write(&self, color: bool, mut out: impl FnMut(&str)) {
        let cols = self.widths.len();
        let mut line = String::new();
        let mut at = 0;
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        self.line(&mut line, color, true, &header);
        out(&line);
        let mut row: Vec<&str> = Vec::with_capacity(cols);
        for _ in 0..self.rows {
            row.clear();
            for _ in 0..cols {
                let (cell, next) = self.cell(at);
                row.push(cell);
                at = next;
            }
            self.line(&mut line, color, false, &row);
            out(&line);
        }
    }

    /// The cell whose length starts at `at`, and where the next one starts.
    fn cell(&self, mut at: usize) -> (&str, usize) {
        let mut len = 0usize;
        let mut shift = 0;
        while let Some(&b) = self.cells.get(at) {
            at += 1;
            len |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let text = self.cells.get(at..at + len).unwrap_or_default();
        // Each cell was pushed whole from a `str`, so its bytes are UTF-8.
        (std::str::from_utf8(text).unwrap_or_default(), at + len)
    }

    fn line(&self, line: &mut String, color: bool, header: bool, row: &[&str]) {
        line.clear();
        for (i, (c, width)) in row.iter().zip(&self.widths).enumerate() {
            let pad = width.saturating_sub(self::width(c));
            if i > 0 {
                line.push_str("  ");
            }
            use anstyle::{AnsiColor, Style};
            let style = match (color, header, i) {
                (false, _, _) => Style::new(),
                (true, true, _) => Style::new().bold(),
                (true, _, 1) if self.exits.iter().any(|e| e == c) => AnsiColor::Red.on_default(),
                (true, _, 1) if !c.is_empty() => AnsiColor::Green.on_default(),
                (true, _, _) if *c == "—" => Style::new().dimmed(),
                _ => Style::new(),
            };
            let right = self.right.get(i).copied().unwrap_or(false);
            if right {
                line.extend(std::iter::repeat_n(' ', pad));
            }
            if style == Style::new() {
                line.push_str(c);
            } else {
                use std::fmt::Write as _;
                let _ = write!(line, "{style}{c}{style:#}");
            }
            if !right {
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        line.truncate(line.trim_end().len());
        line.push('\n');
    }
}

/// The whole table for `rows` at once (see [`Table`]).
pub fn table(plan: &Plan, rows: &[Vec<String>], color: bool) -> String {
    let mut t = Table::new(plan);
    for r in rows {
        t.push(r);
    }
    let mut out = String::new();
    t.write(color, |l| out.push_str(l));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn cells_of_any_length_come_back_whole_and_aligned() {
        let src = "schema {\n  event e\n}\nstage A {\n  enter when e\n}\n";
        let plan = crate::compile(src, "t").plan().unwrap();
        // Lengths that take one, two and three bytes to write, and a wide character.
        let ids = ["L1".to_string(), "x".repeat(200), "é".repeat(9000)];
        let rows: Vec<Vec<String>> = ids
            .iter()
            .map(|id| vec![id.clone(), "A".into(), "2025-01-01".into()])
            .collect();
        let text = table(&plan, &rows, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        for (line, id) in lines[1..].iter().zip(&ids) {
            assert!(line.starts_with(id.as_str()), "{}", &line[..20]);
            assert!(
                line.ends_with("A      2025-01-01"),
                "{}",
                &line[line.len() - 20..]
            );
            // Every row is as wide as the widest id, counted in characters.
            assert_eq!(line.chars().count(), 9000 + 2 + 5 + 2 + 10);
        }
    }

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
