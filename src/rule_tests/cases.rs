//! Table-driven tests: a `cases` declaration is a template, and each row of its rows file (CSV
//! with a header, or JSON lines) one test: the template's lead with the row's traits, and the
//! template's expectations with the row's.
//!
//! A column is `name` (the row's name; `row N` without it), `as of`, `expect ...` (the rest of
//! an expectation, the cell completing it: column `expect score fit`, cell `>= 50`), or a
//! trait of the schema by its dotted path. Anything else is an error, never a column ignored.

use std::borrow::Cow;

use super::Runnable;
use crate::check::{self, Symbols};
use crate::input::csv::cell_raw;
use crate::input::Raw;
use crate::plan::Plan;
use crate::syntax::ast::{Test, TimeLit};
use crate::time::parse_timestamp;

/// One cell: its column and value, as text (CSV) or JSON.
enum Cell<'a> {
    Text(&'a str),
    Json(&'a serde_json::Value),
}

/// The tests of a `cases` declaration: `template` is it with its fixture merged in, `rows`
/// the text of its rows file, `rows_name` how that file is named in messages. Every problem
/// in the rows (a column that is no trait, an expectation that does not read or names an
/// unknown stage) is returned, each as `file:line: column: message`.
pub fn expand(
    plan: &Plan,
    symbols: &Symbols,
    template: &Test,
    rows_name: &str,
    rows: &str,
) -> Result<Vec<Runnable>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let csv = rows_name.to_ascii_lowercase().ends_with(".csv");
    if csv {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(rows.as_bytes());
        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.trim().to_string()).collect(),
            Err(e) => return Err(vec![format!("{rows_name}: {e}")]),
        };
        // A column that is no trait is the header's mistake: said once, at line 1, and left
        // out of the rows (whose other mistakes are still said).
        let unknown: Vec<String> = header
            .iter()
            .enumerate()
            .filter(|(_, col)| !known_column(plan, col))
            .map(|(i, col)| format!("{rows_name}:1: column {} `{col}`: {UNKNOWN_COLUMN}", i + 1))
            .collect();
        errors.extend(unknown);
        for (n, rec) in reader.records().enumerate() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    errors.push(format!("{rows_name}: {e}"));
                    continue;
                }
            };
            let line = rec.position().map_or(n + 2, |p| p.line() as usize);
            let cells: Vec<(&str, Cell<'_>)> = header
                .iter()
                .map(String::as_str)
                .zip(rec.iter().map(Cell::Text))
                .filter(|(col, _)| known_column(plan, col))
                .collect();
            row(
                plan,
                symbols,
                template,
                rows_name,
                line,
                n + 1,
                &cells,
                &mut out,
                &mut errors,
            );
        }
    } else {
        let mut n = 0;
        for (i, text) in rows.lines().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            n += 1;
            let line = i + 1;
            let value: serde_json::Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(format!("{rows_name}:{line}: not valid JSON: {e}"));
                    continue;
                }
            };
            let Some(obj) = value.as_object() else {
                errors.push(format!("{rows_name}:{line}: a row is a JSON object"));
                continue;
            };
            let cells: Vec<(&str, Cell<'_>)> = obj
                .iter()
                .map(|(k, v)| (k.as_str(), Cell::Json(v)))
                .collect();
            row(
                plan,
                symbols,
                template,
                rows_name,
                line,
                n,
                &cells,
                &mut out,
                &mut errors,
            );
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(format!(
            "{rows_name}: no rows: a table of cases needs at least one"
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

const UNKNOWN_COLUMN: &str =
    "no trait of the schema has this path (columns are `name`, `as of`, `expect ...` and trait paths)";

/// What a column of a table of cases holds.
enum Column {
    Name,
    AsOf,
    /// `expect ...`: the rest of an expectation, the cell completing it.
    Expect,
    /// A trait of the schema, by its slot.
    Trait(usize),
    Unknown,
}

fn column(plan: &Plan, col: &str) -> Column {
    match col {
        "name" => Column::Name,
        "as of" | "as_of" => Column::AsOf,
        "expect" => Column::Expect,
        _ if col.starts_with("expect ") => Column::Expect,
        _ => plan.trait_slot(col).map_or(Column::Unknown, Column::Trait),
    }
}

/// Whether a column is one a row may have: `name`, `as of`, an expectation, or a trait.
fn known_column(plan: &Plan, col: &str) -> bool {
    !matches!(column(plan, col), Column::Unknown)
}

#[allow(clippy::too_many_arguments)]
fn row(
    plan: &Plan,
    symbols: &Symbols,
    template: &Test,
    rows_name: &str,
    line: usize,
    n: usize,
    cells: &[(&str, Cell<'_>)],
    out: &mut Vec<Runnable>,
    errors: &mut Vec<String>,
) {
    let mut test = template.clone();
    let mut name = format!("row {n}");
    let mut row_traits = Vec::new();
    let before = errors.len();
    let mut fail = |col: &str, msg: String| {
        errors.push(format!("{rows_name}:{line}: column `{col}`: {msg}"));
    };
    for (col, cell) in cells {
        let text: Option<Cow<'_, str>> = match cell {
            Cell::Text(t) if t.trim().is_empty() => None,
            Cell::Text(t) => Some(Cow::Borrowed(t.trim())),
            Cell::Json(serde_json::Value::Null) => None,
            Cell::Json(serde_json::Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
            Cell::Json(v) => Some(Cow::Owned(v.to_string())),
        };
        let Some(text) = text else { continue };
        match column(plan, col) {
            Column::Name => name = text.into_owned(),
            Column::AsOf => match parse_timestamp(&text) {
                Ok(at) => {
                    test.as_of = Some(TimeLit {
                        at,
                        date_only: !text.contains('T') && !text.contains(' '),
                        span: Default::default(),
                    })
                }
                Err(e) => fail(col, e),
            },
            Column::Expect => {
                let source = format!("{col} {text}");
                match crate::syntax::parse_expect(&source) {
                    Ok(x) => {
                        let one = Test {
                            expects: vec![x.clone()],
                            traits: None,
                            events: Vec::new(),
                            as_of: None,
                            base: None,
                            ..template.clone()
                        };
                        let found = check::check_test(&one, symbols);
                        match found.iter().find(|d| d.is_error()) {
                            Some(d) => fail(col, format!("`{source}`: {}", with_help(d))),
                            None => test.expects.push(x),
                        }
                    }
                    Err(d) => fail(col, format!("`{source}` does not read: {}", d.message)),
                }
            }
            Column::Trait(slot) => {
                let raw = match cell {
                    Cell::Text(t) => owned(cell_raw(t, &plan.traits[slot].1)),
                    Cell::Json(v) => json_raw(v),
                };
                row_traits.push((col.to_string(), raw));
            }
            Column::Unknown => fail(col, UNKNOWN_COLUMN.into()),
        }
    }
    if errors.len() > before {
        return;
    }
    // A row adds expectations to the template's; a test with none would pass whatever the
    // rules do.
    if test.expects.is_empty() {
        errors.push(format!(
            "{rows_name}:{line}: the row expects nothing (add an `expect ...` column)"
        ));
        return;
    }
    test.name = format!("{} / {name}", template.name);
    out.push(Runnable {
        name: test.name.clone(),
        origin: format!("{rows_name}:{line}"),
        test,
        row_traits,
    });
}

fn with_help(d: &crate::diag::Diagnostic) -> String {
    match &d.help {
        Some(h) => format!("{} ({h})", d.message),
        None => d.message.clone(),
    }
}

fn owned(r: Raw<'_>) -> Raw<'static> {
    match r {
        Raw::Null => Raw::Null,
        Raw::Bool(b) => Raw::Bool(b),
        Raw::Int(i) => Raw::Int(i),
        Raw::Float(f) => Raw::Float(f),
        Raw::Str(s) => Raw::Str(Cow::Owned(s.into_owned())),
        Raw::List(l) => Raw::List(l.into_iter().map(owned).collect()),
        Raw::Object => Raw::Object,
    }
}

fn json_raw(v: &serde_json::Value) -> Raw<'static> {
    use serde_json::Value as J;
    match v {
        J::Null => Raw::Null,
        J::Bool(b) => Raw::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Raw::Int(i),
            None => Raw::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Raw::Str(Cow::Owned(s.clone())),
        J::Array(items) => Raw::List(items.iter().map(json_raw).collect()),
        J::Object(_) => Raw::Object,
    }
}
