//! A [`Comparison`] laid out: as titled tables ([`tables`]), which [`text`] prints for a
//! terminal and [`markdown`] as pipe tables for a pull-request comment, and as JSON
//! ([`json`], the [`View`] serialised). `funnelc diff` adds its own tables (conversions) and
//! prints them the same way, through [`Table`].

use serde::Serialize;

use super::{Comparison, Decision, Spot, AFTER, BEFORE};
use crate::output::thousands;

/// Shown for a number that does not apply.
pub const DASH: &str = "—";

/// A titled table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// A line under the table.
    pub note: Option<String>,
}

impl Table {
    /// Whether column `col` holds numbers (right-aligned): every cell a number, a change or
    /// a dash.
    fn numeric(&self, col: usize) -> bool {
        col > 0
            && self.rows.iter().all(|r| {
                r.get(col).is_none_or(|c| {
                    c.is_empty()
                        || c == DASH
                        || c.chars()
                            .next()
                            .is_some_and(|ch| ch.is_ascii_digit() || matches!(ch, '+' | '−' | '·'))
                })
            })
    }

    /// The table for a terminal: its title, a rule under the header, right-aligned numbers.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.title);
        // A table of no rows is its title and note: a header over nothing reads as a fault.
        if self.rows.is_empty() {
            if let Some(n) = &self.note {
                out.push_str(n);
                out.push('\n');
            }
            out.push('\n');
            return out;
        }
        let mut t = comfy_table::Table::new();
        // The report's look: a rule under the header and nothing else.
        t.load_preset("     ──            ");
        t.set_header(self.header.clone());
        for row in &self.rows {
            t.add_row(row.clone());
        }
        for c in 0..self.header.len() {
            if self.numeric(c) {
                if let Some(col) = t.column_mut(c) {
                    col.set_cell_alignment(comfy_table::CellAlignment::Right);
                }
            }
        }
        out.push_str(&t.to_string());
        out.push('\n');
        if let Some(n) = &self.note {
            out.push_str(n);
            out.push('\n');
        }
        out.push('\n');
        out
    }

    /// The table as Markdown: a level-`depth` heading and a pipe table.
    pub fn markdown(&self, depth: usize) -> String {
        format!(
            "{} {}\n\n{}",
            "#".repeat(depth),
            md_cell(&self.title),
            self.markdown_body()
        )
    }

    /// The pipe table and its note, without a heading.
    pub fn markdown_body(&self) -> String {
        let cell = md_cell;
        let mut out = String::new();
        if self.rows.is_empty() {
            if let Some(n) = &self.note {
                out.push_str(&format!("{}\n", cell(n)));
            }
            out.push('\n');
            return out;
        }
        let header: Vec<String> = self.header.iter().map(|h| cell(h)).collect();
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        let align: Vec<&str> = (0..self.header.len())
            .map(|c| if self.numeric(c) { "---:" } else { "---" })
            .collect();
        out.push_str(&format!("| {} |\n", align.join(" | ")));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        if let Some(n) = &self.note {
            out.push_str(&format!("\n{}\n", cell(n)));
        }
        out.push('\n');
        out
    }
}

/// A Markdown table cell: pipes escaped, an empty cell a space.
fn md_cell(s: &str) -> String {
    if s.is_empty() {
        " ".into()
    } else {
        s.replace('|', "\\|")
    }
}

/// `+12`, `−3`, `0`: a change in a count.
pub fn change(before: u64, after: u64) -> String {
    match after.cmp(&before) {
        std::cmp::Ordering::Greater => format!("+{}", thousands(after - before)),
        std::cmp::Ordering::Less => format!("−{}", thousands(before - after)),
        std::cmp::Ordering::Equal => "0".into(),
    }
}

/// `enter SQL (rules/b2b.funnel:94), on demo.requested at 2025-03-08T10:00:00Z`
pub fn decision_text(d: &Decision) -> String {
    let why = match &d.event {
        Some(e) => format!("on {e}"),
        None => "by time".into(),
    };
    format!("{} ({}:{}), {why} at {}", d.rule, d.file, d.line, d.at)
}

/// The comparison's tables, in reading order: volumes per stage, the from → to matrix, the
/// leads that moved.
pub fn tables(c: &Comparison) -> Vec<Table> {
    vec![volumes(c), matrix(c), moved(c)]
}

fn volumes(c: &Comparison) -> Table {
    let mut rows = Vec::new();
    let cells = |r: [u64; 2], e: [u64; 2]| {
        vec![
            thousands(r[0]),
            thousands(r[1]),
            change(r[0], r[1]),
            thousands(e[0]),
            thousands(e[1]),
            change(e[0], e[1]),
        ]
    };
    for (i, name) in c.names.stages.iter().enumerate() {
        let mut row = vec![name.clone()];
        row.extend(cells(
            [c.reached[BEFORE][i], c.reached[AFTER][i]],
            [c.ended[BEFORE][i], c.ended[AFTER][i]],
        ));
        rows.push(row);
    }
    for (i, name) in c.names.exits.iter().enumerate() {
        let n = [c.exited[BEFORE][i], c.exited[AFTER][i]];
        let mut row = vec![format!("{name} (exit)")];
        row.extend(cells(n, n));
        rows.push(row);
    }
    let mut row = vec!["(outside)".to_string()];
    let mut out = cells([0, 0], c.outside);
    for cell in out.iter_mut().take(3) {
        *cell = DASH.into();
    }
    row.append(&mut out);
    rows.push(row);
    // Leads on one side only (a snapshot against fresh data): said, since the volumes of the
    // two sides then count different leads.
    let note = (c.absent != [0, 0]).then(|| {
        format!(
            "{} leads only after, {} only before.",
            thousands(c.absent[BEFORE]),
            thousands(c.absent[AFTER])
        )
    });
    Table {
        title: "Leads per stage".into(),
        header: [
            "stage",
            "reached before",
            "reached after",
            "change",
            "at the end before",
            "at the end after",
            "change",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note,
    }
}

fn matrix(c: &Comparison) -> Table {
    let spots = c.spots();
    let (from, to): (Vec<Spot>, Vec<Spot>) = (
        spots
            .iter()
            .copied()
            .filter(|s| c.matrix.keys().any(|(a, _)| a == s))
            .collect(),
        spots
            .iter()
            .copied()
            .filter(|s| c.matrix.keys().any(|(_, b)| b == s))
            .collect(),
    );
    let mut header = vec!["before \u{2192} after".to_string()];
    header.extend(to.iter().map(|s| c.label(*s)));
    let rows = from
        .iter()
        .map(|a| {
            let mut row = vec![c.label(*a)];
            row.extend(to.iter().map(|b| match c.matrix.get(&(*a, *b)) {
                Some(n) => thousands(*n),
                None => "·".into(),
            }));
            row
        })
        .collect();
    Table {
        title: "Where leads ended, before (rows) and after (columns)".into(),
        header,
        rows,
        note: None,
    }
}

fn moved(c: &Comparison) -> Table {
    let rows = c
        .moved
        .iter()
        .map(|m| {
            let d = |d: &Option<Decision>| d.as_ref().map_or(DASH.into(), decision_text);
            vec![
                m.id.clone(),
                c.label(m.before),
                c.label(m.after),
                d(&m.before_decision),
                d(&m.after_decision),
            ]
        })
        .collect();
    let title = if c.moved.len() as u64 == c.moved_count {
        "Leads that moved".to_string()
    } else if c.moved.is_empty() {
        format!(
            "Leads that moved: {}, none listed",
            thousands(c.moved_count)
        )
    } else {
        format!(
            "Leads that moved (the first {} of {})",
            thousands(c.moved.len() as u64),
            thousands(c.moved_count)
        )
    };
    Table {
        title,
        header: ["lead", "before", "after", "why before", "why after"]
            .map(String::from)
            .to_vec(),
        rows,
        note: (c.moved_count == 0).then(|| "No lead ended somewhere else.".to_string()),
    }
}

/// Tables for a terminal.
pub fn text(tables: &[Table]) -> String {
    tables.iter().map(Table::text).collect()
}

/// Tables as Markdown, each under a level-`depth` heading.
pub fn markdown(tables: &[Table], depth: usize) -> String {
    tables.iter().map(|t| t.markdown(depth)).collect()
}

/// One stage (or exit, or outside) before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VolumeView {
    pub name: String,
    /// `stage`, `exit` or `outside`.
    pub kind: &'static str,
    /// Leads that entered it at some point (stages and exits).
    pub reached: Option<[u64; 2]>,
    /// Leads in it at the end.
    pub ended: [u64; 2],
}

/// One cell of the from → to matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CellView {
    pub from: String,
    pub to: String,
    pub leads: u64,
}

/// One lead that moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MovedView {
    pub id: String,
    pub before: String,
    pub after: String,
    pub why_before: Option<Decision>,
    pub why_after: Option<Decision>,
}

/// The comparison as JSON shows it: pairs are `[before, after]`; `(outside)` and
/// `(absent)` name the places that are not stages or exits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct View {
    pub leads: u64,
    /// Leads missing from a side: `[not before (only after), not after (only before)]`.
    pub absent: [u64; 2],
    pub volumes: Vec<VolumeView>,
    pub matrix: Vec<CellView>,
    pub moved_count: u64,
    pub moved: Vec<MovedView>,
}

/// The comparison as data to serialise.
pub fn view(c: &Comparison) -> View {
    let mut volumes = Vec::new();
    for (i, name) in c.names.stages.iter().enumerate() {
        volumes.push(VolumeView {
            name: name.clone(),
            kind: "stage",
            reached: Some([c.reached[BEFORE][i], c.reached[AFTER][i]]),
            ended: [c.ended[BEFORE][i], c.ended[AFTER][i]],
        });
    }
    for (i, name) in c.names.exits.iter().enumerate() {
        let n = [c.exited[BEFORE][i], c.exited[AFTER][i]];
        volumes.push(VolumeView {
            name: name.clone(),
            kind: "exit",
            reached: Some(n),
            ended: n,
        });
    }
    volumes.push(VolumeView {
        name: "(outside)".into(),
        kind: "outside",
        reached: None,
        ended: c.outside,
    });
    View {
        leads: c.leads,
        absent: c.absent,
        volumes,
        matrix: c
            .matrix
            .iter()
            .map(|((a, b), n)| CellView {
                from: c.label(*a),
                to: c.label(*b),
                leads: *n,
            })
            .collect(),
        moved_count: c.moved_count,
        moved: c
            .moved
            .iter()
            .map(|m| MovedView {
                id: m.id.clone(),
                before: c.label(m.before),
                after: c.label(m.after),
                why_before: m.before_decision.clone(),
                why_after: m.after_decision.clone(),
            })
            .collect(),
    }
}

/// The comparison as pretty-printed JSON, with a final newline.
pub fn json(c: &Comparison) -> String {
    let mut s = serde_json::to_string_pretty(&view(c)).unwrap_or_default();
    s.push('\n');
    s
}
