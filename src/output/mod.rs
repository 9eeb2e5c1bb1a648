//! Rendering outcomes: JSON and JSON lines, CSV, an aligned table, and explanations as text.
//! Pure functions of the plan and the outcomes, so output is the same bytes whatever thread
//! computed it.

mod csv;
pub mod explain;
mod json;
mod table;

pub use self::csv::{csv_header, csv_line, csv_row};
pub use json::{json, move_list, moves, JsonLines};
pub use table::{table, table_header, table_row, Table};

use crate::plan::Plan;
use crate::time::format_timestamp;
use crate::time::Timestamp;

/// The declared `dimensions`, by trait path, in declaration order: every format has a column
/// (or member) for each.
fn dimension_names(plan: &Plan) -> impl Iterator<Item = &str> {
    plan.dimensions
        .iter()
        .map(|slot| plan.traits.get(*slot).map_or("", |(path, _)| path.as_str()))
}

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

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

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
