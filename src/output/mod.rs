//! Rendering outcomes: JSON lines, CSV, and an aligned table. Pure functions of the plan and
//! the outcomes, so output is the same bytes whatever thread computed it.

use crate::eval::{position, sla_breaches, Outcome};
use crate::lead::{fmt_num, Lead};
use crate::plan::{LeaveTo, Plan};
use crate::syntax::ast::Timestamp;
use crate::time::{format_date_of, format_timestamp};

fn ts(ms: i64) -> String {
    format_timestamp(Timestamp { millis: ms })
}

/// JSON string quoting (RFC 8259): quotes, backslashes and control characters escaped.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Names and ids rarely need escaping: then they go in whole.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A whole number's digits, for the hot paths that write one per lead.
pub fn push_whole(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut rest = n;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
}

fn push_num(out: &mut String, v: f64) {
    use std::fmt::Write;
    if v.fract() == 0.0 && v.abs() < 1e15 {
        // Whole numbers (nearly every score) digit by digit, not through `fmt`.
        let n = v as i64;
        if n < 0 {
            out.push('-');
        }
        push_whole(out, n.unsigned_abs());
    } else if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str("null");
    }
}

/// Leads as lines of JSON, written directly (the hot path of `eval --format jsonl`); the same
/// object as [`json`], key for key. The plan's names are quoted once, here, rather than for
/// every lead.
pub struct JsonLines {
    /// Each stage's name, quoted.
    stages: Vec<String>,
    /// `"MCL":` for each stage, after a comma from the second on.
    entered: Vec<String>,
    /// The same for each score model.
    scores: Vec<String>,
    /// For each model with grades: its key, and its grade labels quoted.
    grades: Vec<Option<(String, Vec<String>)>>,
}

impl JsonLines {
    pub fn new(plan: &Plan) -> Self {
        let quoted = |s: &str| {
            let mut q = String::new();
            push_json_str(&mut q, s);
            q
        };
        let key =
            |i: usize, name: &str| format!("{}{}:", if i > 0 { "," } else { "" }, quoted(name));
        let mut with_grades = 0;
        JsonLines {
            stages: plan.stages.iter().map(|s| quoted(&s.name)).collect(),
            entered: plan
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| key(i, &s.name))
                .collect(),
            scores: plan
                .scores
                .iter()
                .enumerate()
                .map(|(i, m)| key(i, &m.name))
                .collect(),
            grades: plan
                .scores
                .iter()
                .map(|m| {
                    if m.grades.is_empty() {
                        return None;
                    }
                    with_grades += 1;
                    let labels = m.grades.iter().map(|(l, _)| quoted(l)).collect();
                    Some((key(with_grades - 1, &m.name), labels))
                })
                .collect(),
        }
    }

    /// One lead's line, without its newline.
    pub fn write(&self, plan: &Plan, lead: &Lead, out: &Outcome, buf: &mut String) {
        let stage =
            |buf: &mut String, s: Option<u16>| match s.and_then(|s| self.stages.get(s as usize)) {
                Some(q) => buf.push_str(q),
                None => buf.push_str("null"),
            };
        buf.push_str("{\"id\":");
        push_json_str(buf, &lead.id);
        buf.push_str(",\"stage\":");
        stage(buf, out.state.stage);
        buf.push_str(",\"exit\":");
        match &out.state.exit {
            Some(x) => {
                buf.push_str("{\"name\":");
                push_json_str(buf, &position(plan, out));
                buf.push_str(",\"from\":");
                stage(buf, Some(x.from));
                buf.push_str(",\"at\":");
                push_json_str(buf, &ts(x.at));
                buf.push('}');
            }
            None => buf.push_str("null"),
        }
        buf.push_str(",\"moves\":");
        let mv = moves(plan, out);
        if mv.is_empty() {
            buf.push_str("[]");
        } else {
            buf.push_str(&serde_json::Value::Array(mv).to_string());
        }
        buf.push_str(",\"entered\":{");
        for (key, at) in self.entered.iter().zip(&out.state.latest) {
            buf.push_str(key);
            match at {
                Some(t) => push_json_str(buf, &ts(*t)),
                None => buf.push_str("null"),
            }
        }
        buf.push_str("},\"scores\":{");
        for (key, v) in self.scores.iter().zip(&out.scores) {
            buf.push_str(key);
            push_num(buf, v.total);
        }
        buf.push_str("},\"grades\":{");
        for (g, v) in self.grades.iter().zip(&out.scores) {
            let Some((key, labels)) = g else {
                continue;
            };
            buf.push_str(key);
            match v.grade.and_then(|g| labels.get(g)) {
                Some(l) => buf.push_str(l),
                None => buf.push_str("null"),
            }
        }
        buf.push_str("},\"sla_breaches\":");
        let breaches = sla_breaches(plan, out);
        if breaches.is_empty() {
            buf.push_str("[]");
        } else {
            buf.push_str(&serde_json::to_string(&breaches).unwrap_or_else(|_| "[]".into()));
        }
        buf.push('}');
    }
}

/// The moves (detours back to an earlier stage) a lead took, in order.
pub fn moves(plan: &Plan, out: &Outcome) -> Vec<serde_json::Value> {
    let mut v = Vec::new();
    let mut prev: Option<u16> = None;
    for e in &out.state.entries {
        if let crate::eval::EnteredBy::Leave(_) = e.by {
            v.push(serde_json::json!({
                "from": prev.and_then(|p| plan.stages.get(p as usize)).map(|s| s.name.clone()),
                "to": plan.stages.get(e.stage as usize).map(|s| s.name.clone()),
                "at": ts(e.at),
            }));
        }
        prev = Some(e.stage);
    }
    v
}

/// One lead as a JSON object.
pub fn json(plan: &Plan, lead: &Lead, out: &Outcome) -> serde_json::Value {
    let mut entered = serde_json::Map::new();
    for (i, s) in plan.stages.iter().enumerate() {
        let v = out.state.latest[i].map_or(serde_json::Value::Null, |t| ts(t).into());
        entered.insert(s.name.clone(), v);
    }
    let mut scores = serde_json::Map::new();
    let mut grades = serde_json::Map::new();
    for (m, v) in plan.scores.iter().zip(&out.scores) {
        scores.insert(m.name.clone(), number(v.total));
        if !m.grades.is_empty() {
            let g = v
                .grade
                .and_then(|g| m.grades.get(g))
                .map(|(l, _)| l.clone());
            grades.insert(
                m.name.clone(),
                g.map_or(serde_json::Value::Null, Into::into),
            );
        }
    }
    let exit = out.state.exit.as_ref().map(|x| {
        serde_json::json!({
            "name": position(plan, out),
            "from": plan.stages.get(x.from as usize).map(|s| s.name.clone()),
            "at": ts(x.at),
        })
    });
    let stage = out
        .state
        .stage
        .and_then(|s| plan.stages.get(s as usize))
        .map(|s| s.name.clone());
    serde_json::json!({
        "id": lead.id,
        "stage": stage,
        "exit": exit,
        "moves": moves(plan, out),
        "entered": entered,
        "scores": scores,
        "grades": grades,
        "sla_breaches": sla_breaches(plan, out),
    })
}

fn number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        (v as i64).into()
    } else {
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into)
    }
}

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

/// The table's cells for one lead: id, position, the date of each stage entry, scores.
pub fn table_row(plan: &Plan, lead: &Lead, out: &Outcome) -> Vec<String> {
    let mut row = vec![lead.id.clone(), position(plan, out)];
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
        let parsed = crate::syntax::parse(src);
        let checked = crate::check::check_source(src);
        let plan = crate::plan::compile(&parsed.file, &checked.symbols, src, "t").unwrap();
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
    fn numbers_are_written_as_format_writes_them() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            9.0,
            10.0,
            99.0,
            100.0,
            12_800.0,
            -250.0,
            999_999_999_999_999.0,
            -999_999_999_999_999.0,
            1e15,
            2.5,
            -0.25,
            1.0 / 3.0,
        ] {
            let mut s = String::new();
            push_num(&mut s, v);
            let want = if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{}", v as i64)
            } else {
                format!("{v}")
            };
            assert_eq!(s, want, "{v}");
        }
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\u0001é\"");
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }
}
