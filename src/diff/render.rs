//! A [`Diff`] laid out: for a terminal ([`table`]), as a pull-request comment ([`markdown`]),
//! and as JSON ([`json`]). The tables are the comparison's ([`compare::render::tables`]) with
//! the conversions added after the volumes.

use serde::Serialize;

use super::{Conversion, Diff};
use crate::compare::render::{self as cmp, Table, DASH};
use crate::pipeline::thousands;
use crate::report::render::Fmt;
use crate::report::ConversionRow;

/// The version of the JSON output; raised when a field changes meaning or goes away.
pub const SCHEMA: u32 = 1;

fn as_of(d: &Diff) -> String {
    crate::time::format_timestamp(crate::time::Timestamp { millis: d.as_of })
}

/// `+4.0 pts`, `−12.5 pts`, `0.0 pts`: a rate's change in percentage points.
fn points(before: Option<f64>, after: Option<f64>) -> String {
    match (before, after) {
        (Some(a), Some(b)) => {
            let d = (b - a) * 100.0;
            if d.abs() < 0.05 {
                "0.0 pts".into()
            } else if d < 0.0 {
                format!("−{:.1} pts", -d)
            } else {
                format!("+{d:.1} pts")
            }
        }
        _ => DASH.into(),
    }
}

fn conversions(d: &Diff) -> Table {
    let side = |r: &Option<ConversionRow>| -> [String; 2] {
        match r {
            None => [DASH.into(), DASH.into()],
            Some(r) => [
                Fmt::PEOPLE.pct(r.rate),
                r.band.clone().unwrap_or_else(|| DASH.into()),
            ],
        }
    };
    let rows = d
        .conversions
        .iter()
        .map(|c: &Conversion| {
            let [rb, bb] = side(&c.before);
            let [ra, ba] = side(&c.after);
            let rate = |r: &Option<ConversionRow>| r.as_ref().and_then(|r| r.rate);
            vec![
                format!("{} → {}", c.from, c.to),
                rb,
                bb,
                ra,
                ba,
                points(rate(&c.before), rate(&c.after)),
            ]
        })
        .collect();
    let declared: Vec<String> = d
        .conversions
        .iter()
        .filter_map(|c| {
            let bands = |r: &Option<ConversionRow>| {
                r.as_ref()
                    .filter(|r| !r.bands.is_empty())
                    .map(|r| r.bands.clone())
            };
            let (b, a) = (bands(&c.before), bands(&c.after));
            let text = match (b, a) {
                (None, None) => return None,
                (Some(b), Some(a)) if a == b => a,
                (b, a) => format!(
                    "before {}; after {}",
                    b.unwrap_or_else(|| "none".into()),
                    a.unwrap_or_else(|| "none".into())
                ),
            };
            Some(format!("{} → {}: {text}", c.from, c.to))
        })
        .collect();
    Table {
        title: "Conversion between stages".into(),
        header: [
            "conversion",
            "before",
            "band before",
            "after",
            "band after",
            "change",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note: (!declared.is_empty()).then(|| format!("Bands: {}.", declared.join(". "))),
    }
}

/// Every table, in reading order: volumes, conversions, the matrix, the moved leads.
fn tables(d: &Diff) -> Vec<Table> {
    let mut t = cmp::tables(&d.comparison);
    t.insert(1, conversions(d));
    t
}

/// `500 leads from leads.jsonl, evaluated as of …; 3 ended somewhere else.`
fn summary(d: &Diff) -> String {
    let mut s = format!(
        "{} {} from {}, evaluated as of {}; {} ended somewhere else",
        thousands(d.read),
        if d.read == 1 { "lead" } else { "leads" },
        d.data,
        as_of(d),
        thousands(d.comparison.moved_count)
    );
    if d.skipped > 0 {
        s.push_str(&format!("; {} skipped as bad data", thousands(d.skipped)));
    }
    s.push('.');
    s
}

/// What is worth a warning: events of undeclared types.
fn warnings(d: &Diff) -> Vec<String> {
    if d.unknown.is_empty() {
        return Vec::new();
    }
    let total: u64 = d.unknown.values().sum();
    let list: Vec<String> = d
        .unknown
        .iter()
        .map(|(k, v)| format!("{k} ({})", thousands(*v)))
        .collect();
    vec![format!(
        "ignored {} {} of types the new schema does not declare: {}",
        thousands(total),
        if total == 1 { "event" } else { "events" },
        list.join(", ")
    )]
}

/// For a terminal.
pub fn table(d: &Diff) -> String {
    let mut out = format!("{} → {}\n{}\n\n", d.before, d.after, summary(d));
    out.push_str(&cmp::text(&tables(d)));
    for w in warnings(d) {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

/// A pull-request comment: a heading, the summary, the tables; the moved leads folded in a
/// `<details>` block (GitHub and GitLab render it), since they can be many.
pub fn markdown(d: &Diff) -> String {
    let code = |s: &str| format!("`{}`", s.replace('`', "'"));
    let mut out = format!(
        "## Rule change: {} → {}\n\n{}\n\n",
        code(&d.before),
        code(&d.after),
        summary(d)
    );
    let all = tables(d);
    let (moved, rest) = all
        .split_last()
        .map_or((None, &all[..]), |(m, r)| (Some(m), r));
    out.push_str(&cmp::markdown(rest, 3));
    if let Some(m) = moved {
        if d.comparison.moved.is_empty() {
            out.push_str("No lead ended somewhere else.\n\n");
        } else {
            out.push_str(&format!(
                "<details>\n<summary>{}</summary>\n\n",
                m.title.replace('<', "&lt;")
            ));
            out.push_str(&m.markdown_body());
            out.push_str("</details>\n\n");
        }
    }
    for w in warnings(d) {
        out.push_str(&format!("> warning: {w}\n\n"));
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

#[derive(Serialize)]
struct Json<'a> {
    schema: u32,
    before: &'a str,
    after: &'a str,
    data: &'a str,
    as_of: String,
    /// Leads read, and those passed over as bad data (`leads`, from the comparison, counts
    /// those compared).
    read: u64,
    skipped: u64,
    #[serde(flatten)]
    comparison: cmp::View,
    conversions: &'a [Conversion],
    warnings: Vec<String>,
}

/// For a program: pairs are `[before, after]` (see `docs/diff.md`).
pub fn json(d: &Diff) -> String {
    let j = Json {
        schema: SCHEMA,
        before: &d.before,
        after: &d.after,
        data: &d.data,
        as_of: as_of(d),
        read: d.read,
        skipped: d.skipped,
        comparison: cmp::view(&d.comparison),
        conversions: &d.conversions,
        warnings: warnings(d),
    };
    let mut s = serde_json::to_string_pretty(&j).unwrap_or_default();
    s.push('\n');
    s
}
