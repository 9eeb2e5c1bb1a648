//! CSV: a leads file and an events file, joined by lead id.
//!
//! - Leads: an `id` column and one column per trait, named by its dotted path
//!   (`company.employees`). Columns the schema does not declare are ignored.
//! - Events: `lead_id`, `type`, `at`, and one column per property; each row reads only the
//!   properties its event type declares. Rows may be in any order; events at the same
//!   instant keep their order in the file.
//!
//! Cells are text, read according to the declared type: int, decimal, percent (`40%` or
//! `40`), money (`$4,500` or `4500`), bool (`true/false/yes/no/1/0`), dates and timestamps,
//! text; a list is its items separated by `;` (`NY;NJ`). An empty (or blank) cell is
//! missing. The value then goes through [`LeadBuilder`] like every other format's.
//!
//! Errors name `file:line`, the line the record starts on (the header is line 1; a quoted
//! cell may span lines, so it is not always the record count + 1), and the column.
//!
//! Events may come in any order, so every lead of the leads file is held in memory until
//! the events file has been read.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

use super::{refuse_unsplittable, DataError, LeadBuilder, LeadResult, Raw};
use crate::check::Ty;
use crate::plan::Plan;

/// Reads a leads file and an events file into leads, in leads-file order.
///
/// The outer `Err` fails the whole read: an unreadable file, or a header without its required
/// columns. A bad record fails only its lead: a ragged row or a cell that does not read. An
/// event row that belongs to no lead (its `lead_id` is empty or in no row of the leads file,
/// or the row cannot be read at all) is an error of its own, after the leads: under
/// `--skip-bad` it is reported and the run goes on, as a bad JSONL line is.
pub fn read(
    plan: &Plan,
    leads: impl Read,
    leads_name: &str,
    events: impl Read,
    events_name: &str,
) -> Result<Vec<LeadResult>, DataError> {
    let mut pending = read_leads(plan, leads, leads_name)?;
    read_events(plan, &mut pending, events, events_name)?;
    // Reported with the leads' errors, but none of them is a lead.
    let orphans = pending
        .orphans
        .into_iter()
        .map(|e| Err(DataError { no_lead: true, ..e }));
    Ok(pending
        .slots
        .into_iter()
        .map(|s| s.map(LeadBuilder::finish))
        .chain(orphans)
        .collect())
}

struct Pending<'p> {
    /// One per leads-file record: a builder, or the lead's first error.
    slots: Vec<Result<LeadBuilder<'p>, DataError>>,
    /// Lead id → its slot.
    by_id: HashMap<String, usize>,
    leads_name: String,
    /// Event rows that belong to no lead.
    orphans: Vec<DataError>,
}

/// Rows of any length are read (`flexible`), so that a ragged row fails its own lead, named
/// by its id, instead of the whole read.
fn reader<R: Read>(r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(r)
}

/// A record that cannot be read: its error, when it fails only itself (the reader goes on
/// after it), else the error that fails the whole read.
fn record_or_skip(
    rec: Result<csv::StringRecord, csv::Error>,
    name: &str,
) -> Result<Result<csv::StringRecord, DataError>, DataError> {
    match rec {
        Ok(r) => Ok(Ok(r)),
        Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => Ok(Err(csv_error(name, &e))),
        Err(e) => Err(csv_error(name, &e)),
    }
}

/// A row with another number of cells than the header: the message, else `None`.
fn ragged(rec: &csv::StringRecord, header: usize) -> Option<String> {
    (rec.len() != header).then(|| {
        format!(
            "the record has {} cells where the header has {header}",
            rec.len()
        )
    })
}

/// The header's column names (trimmed), refusing duplicates and requiring `required`.
fn header<R: Read>(
    rdr: &mut csv::Reader<R>,
    name: &str,
    required: &[&str],
) -> Result<Vec<String>, DataError> {
    let rec = rdr.headers().map_err(|e| csv_error(name, &e))?;
    let line = rec.position().map_or(1, csv::Position::line);
    let cols: Vec<String> = rec.iter().map(|c| c.trim().to_string()).collect();
    let fail = |field: &str, message: String| DataError {
        no_lead: false,
        origin: format!("{name}:{line}"),
        lead: None,
        field: Some(field.to_string()),
        message,
    };
    for (i, c) in cols.iter().enumerate() {
        if cols[..i].contains(c) {
            return Err(fail(c, format!("the header names column `{c}` twice")));
        }
    }
    if let Some(missing) = required.iter().find(|r| !cols.iter().any(|c| c == *r)) {
        let has = if cols.iter().all(String::is_empty) {
            "it is empty".to_string()
        } else {
            format!("it has: {}", cols.join(", "))
        };
        return Err(fail(
            missing,
            format!("the header has no `{missing}` column ({has})"),
        ));
    }
    Ok(cols)
}

fn read_leads<'p>(plan: &'p Plan, leads: impl Read, name: &str) -> Result<Pending<'p>, DataError> {
    let mut rdr = reader(leads);
    let cols = header(&mut rdr, name, &["id"])?;
    let id_col = cols.iter().position(|c| c == "id").unwrap_or(0);
    // Resolved once: the declared type of each trait column.
    let traits: Vec<(usize, &str, &Ty)> = cols
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != id_col)
        .filter_map(|(i, c)| {
            let slot = plan.trait_slot(c)?;
            Some((i, c.as_str(), &plan.traits.get(slot)?.1))
        })
        .collect();
    let mut pending = Pending {
        slots: Vec::new(),
        by_id: HashMap::new(),
        leads_name: name.to_string(),
        orphans: Vec::new(),
    };
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for rec in rdr.records() {
        let rec = match record_or_skip(rec, name)? {
            Ok(r) => r,
            Err(e) => {
                pending.slots.push(Err(e));
                continue;
            }
        };
        let origin = record_origin(name, &rec);
        let fail = |lead: Option<&str>, field: &str, message: String| {
            record_error(&origin, lead, field, message)
        };
        let id = rec.get(id_col).unwrap_or("").trim();
        if let Some(m) = ragged(&rec, cols.len()) {
            let e = DataError {
                no_lead: false,
                origin: origin.clone(),
                lead: (!id.is_empty()).then(|| id.to_string()),
                field: None,
                message: m,
            };
            // Its id is still taken: events naming it belong to this failed lead.
            if !id.is_empty() && !pending.by_id.contains_key(id) {
                pending.by_id.insert(id.to_string(), pending.slots.len());
                first_line.insert(
                    id.to_string(),
                    rec.position().map_or(0, csv::Position::line),
                );
            }
            pending.slots.push(Err(e));
            continue;
        }
        if id.is_empty() {
            let e = fail(None, "id", "the lead has no `id`".into());
            pending.slots.push(Err(e));
            continue;
        }
        if let Some(first) = first_line.get(id) {
            let m = format!("the id is already used by the lead at {name}:{first}");
            pending.slots.push(Err(fail(Some(id), "id", m)));
            continue;
        }
        first_line.insert(
            id.to_string(),
            rec.position().map_or(0, csv::Position::line),
        );
        let mut b = LeadBuilder::new(plan, id.to_string(), origin.clone());
        let mut res = Ok(());
        for &(i, col, ty) in &traits {
            let cell = rec.get(i).unwrap_or("");
            if cell.trim().is_empty() {
                continue;
            }
            let raw = cell_raw(cell, ty);
            res = match refuse_unsplittable(&raw, ty) {
                Some(m) => Err(fail(Some(id), col, m)),
                // The builder names the trait path; in CSV the column is the field.
                None => b.set_trait(col, &raw).map_err(|mut e| {
                    e.field = Some(col.to_string());
                    e
                }),
            };
            if res.is_err() {
                break;
            }
        }
        pending.by_id.insert(id.to_string(), pending.slots.len());
        pending.slots.push(res.map(|()| b));
    }
    Ok(pending)
}

fn read_events(
    plan: &Plan,
    pending: &mut Pending<'_>,
    events: impl Read,
    name: &str,
) -> Result<(), DataError> {
    let mut rdr = reader(events);
    let cols = header(&mut rdr, name, &["lead_id", "type", "at"])?;
    let col = |c: &str| cols.iter().position(|x| x == c).unwrap_or(0);
    let (lead_col, type_col, at_col) = (col("lead_id"), col("type"), col("at"));
    let prop_cols: Vec<(usize, &str)> = cols
        .iter()
        .enumerate()
        .filter(|(i, _)| ![lead_col, type_col, at_col].contains(i))
        .map(|(i, c)| (i, c.as_str()))
        .collect();
    for rec in rdr.records() {
        let rec = match record_or_skip(rec, name)? {
            Ok(r) => r,
            Err(e) => {
                pending.orphans.push(e);
                continue;
            }
        };
        let origin = record_origin(name, &rec);
        let fail = |lead: Option<&str>, field: &str, message: String| {
            record_error(&origin, lead, field, message)
        };
        let lead_id = rec.get(lead_col).unwrap_or("").trim();
        if lead_id.is_empty() {
            let e = fail(None, "lead_id", "the event has no `lead_id`".into());
            pending.orphans.push(e);
            continue;
        }
        let Some(&slot) = pending.by_id.get(lead_id) else {
            let m = format!("no lead `{lead_id}` in {}", pending.leads_name);
            pending.orphans.push(fail(Some(lead_id), "lead_id", m));
            continue;
        };
        let Some(Ok(b)) = pending.slots.get_mut(slot) else {
            // The lead already failed; its first error is the one reported.
            continue;
        };
        if let Some(m) = ragged(&rec, cols.len()) {
            let e = DataError {
                no_lead: false,
                origin: origin.clone(),
                lead: Some(lead_id.to_string()),
                field: None,
                message: m,
            };
            pending.slots[slot] = Err(e);
            continue;
        }
        let ty = rec.get(type_col).unwrap_or("").trim();
        let at = rec.get(at_col).unwrap_or("").trim();
        let res = if ty.is_empty() {
            Err(fail(
                Some(lead_id),
                "type",
                "the event has no `type`".into(),
            ))
        } else if at.is_empty() {
            Err(fail(Some(lead_id), "at", "the event has no `at`".into()))
        } else if let Err(m) = crate::time::parse_timestamp(at) {
            // Checked here, not left to the builder, which skips it for unknown types.
            Err(fail(Some(lead_id), "at", m.replace('`', "\"")))
        } else {
            push(plan, b, &rec, &prop_cols, ty, at).map_err(|mut e| {
                e.origin = origin.clone();
                e.lead.get_or_insert_with(|| lead_id.to_string());
                e
            })
        };
        if let Err(e) = res {
            pending.slots[slot] = Err(e);
        }
    }
    Ok(())
}

/// Adds one event row to its lead, reading the cells of the properties its type declares.
fn push(
    plan: &Plan,
    b: &mut LeadBuilder<'_>,
    rec: &csv::StringRecord,
    prop_cols: &[(usize, &str)],
    ty: &str,
    at: &str,
) -> Result<(), DataError> {
    let decl = plan
        .event_id(ty)
        .and_then(|i| plan.events.get(usize::from(i)));
    let mut props = Vec::new();
    if let Some(decl) = decl {
        for &(i, col) in prop_cols {
            let cell = rec.get(i).unwrap_or("");
            let Some((_, pty)) = decl.props.iter().find(|(p, _)| p == col) else {
                continue;
            };
            if cell.trim().is_empty() {
                continue;
            }
            let raw = cell_raw(cell, pty);
            if let Some(message) = refuse_unsplittable(&raw, pty) {
                return Err(DataError {
                    no_lead: false,
                    origin: String::new(),
                    lead: None,
                    field: Some(col.to_string()),
                    message,
                });
            }
            props.push((col, raw));
        }
    }
    // An empty field name: the builder's `{field}.{key}` becomes `.{key}`, and the key is
    // the column, so the column is what the error names.
    b.push_event(ty, at, props, "").map_err(|mut e| {
        if let Some(f) = e.field.as_mut().and_then(|f| f.strip_prefix('.')) {
            e.field = Some(f.to_string());
        }
        e
    })
}

/// A cell as the raw value of its declared type. Text that does not read as the type stays
/// text, so `convert` reports it in the same words as for JSON.
pub fn cell_raw<'a>(cell: &'a str, ty: &Ty) -> Raw<'a> {
    let t = cell.trim();
    let number = || t.parse::<f64>().ok().filter(|f| f.is_finite());
    let text = || Raw::Str(Cow::Borrowed(t));
    match ty {
        Ty::List(inner) => Raw::List(
            t.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| cell_raw(s, inner))
                .collect(),
        ),
        Ty::Int => match t.parse::<i64>() {
            Ok(i) => Raw::Int(i),
            // `220.0` is whole and accepted; `2.5` is refused by `convert` as a fraction.
            Err(_) => number().map_or_else(text, Raw::Float),
        },
        Ty::Decimal => number().map_or_else(text, Raw::Float),
        // `40%` is read by `convert`; a bare number is points, written plainly (no `1e3`, no
        // `inf`: the same strict reading as `40%`).
        Ty::Percent if t.ends_with('%') => text(),
        Ty::Percent => super::parse_plain_decimal(t, false).map_or_else(text, Raw::Float),
        Ty::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Raw::Bool(true),
            "false" | "no" | "0" => Raw::Bool(false),
            _ => text(),
        },
        // Text keeps its spaces: they may mean something.
        Ty::Text => Raw::Str(Cow::Borrowed(cell)),
        // Money (`$4,500`), durations, dates and timestamps are parsed from text by `convert`.
        _ => text(),
    }
}

fn csv_error(name: &str, e: &csv::Error) -> DataError {
    let origin = match e.position() {
        Some(p) => format!("{name}:{}", p.line()),
        None => name.to_string(),
    };
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the record has {len} cells where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "the data is not UTF-8 text".to_string(),
        csv::ErrorKind::Io(io) => format!("cannot read the file: {io}"),
        _ => e.to_string(),
    };
    DataError {
        no_lead: false,
        origin,
        lead: None,
        field: None,
        message,
    }
}

/// `file:line` of a CSV record: the line where it starts (the header is line 1).
fn record_origin(name: &str, rec: &csv::StringRecord) -> String {
    format!("{name}:{}", rec.position().map_or(0, csv::Position::line))
}

fn record_error(origin: &str, lead: Option<&str>, field: &str, message: String) -> DataError {
    DataError {
        no_lead: false,
        origin: origin.to_string(),
        lead: lead.map(String::from),
        field: Some(field.to_string()),
        message,
    }
}
