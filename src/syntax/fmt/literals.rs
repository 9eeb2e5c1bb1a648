//! The canonical spelling of each literal: the shortest text that reads back to the same
//! value.

use crate::syntax::ast::{Duration, Literal, Money, TimeLit, TEXT_ESCAPES};
use crate::time;

pub(super) fn num(v: f64) -> String {
    // `{}` of an f64 is the shortest text that reads back to the same value, never exponent
    // notation, so it always fits the grammar's `digits ("." digits)?`.
    format!("{v}")
}

/// A decimal keeps a `.` so it reads back as a decimal, not an int: `3.0`, not `3`.
fn decimal(v: f64) -> String {
    let s = num(v);
    if s.contains('.') || !v.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

pub(super) fn points(v: f64) -> String {
    if v.is_sign_negative() {
        num(v)
    } else {
        format!("+{}", num(v))
    }
}

pub(super) fn duration(d: Duration) -> String {
    format!("{}{}", d.value, d.unit.suffix())
}

pub(super) fn time_lit(t: &TimeLit) -> String {
    if t.date_only {
        time::format_date_of(t.at)
    } else {
        time::format_timestamp(t.at)
    }
}

pub(super) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match TEXT_ESCAPES.iter().find(|(_, meant)| *meant == c) {
            Some(&(written, _)) => {
                out.push('\\');
                out.push(written);
            }
            None => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(super) fn money(m: &Money) -> String {
    if m.currency == "USD" {
        usd(m.amount)
    } else {
        format!("{} {}", num(m.amount), m.currency)
    }
}

/// `$4,500`, `$4,500.50`; amounts with fractions of a cent fall back to `$0.125`, which the
/// grammar also reads.
fn usd(amount: f64) -> String {
    let plain = format!("${}", num(amount));
    let cents = (amount * 100.0).round();
    // Beyond 2^53 cents the arithmetic below is no longer exact.
    if !(0.0..9.0e15).contains(&cents) {
        return plain;
    }
    let cents = cents as u64;
    let (whole, frac) = (cents / 100, cents % 100);
    let frac = if frac == 0 {
        String::new()
    } else {
        // Always two digits: the grammar reads `$4.5` as `$4` and then fails on `.5`.
        format!(".{frac:02}")
    };
    if format!("{whole}{frac}").parse::<f64>() != Ok(amount) {
        return plain;
    }
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("${grouped}{frac}")
}

pub(super) fn lit(l: &Literal) -> String {
    match l {
        Literal::Int(i) => i.to_string(),
        Literal::Decimal(d) => decimal(*d),
        Literal::Percent(p) => format!("{}%", num(*p)),
        Literal::Money(m) => money(m),
        Literal::Duration(d) => duration(*d),
        Literal::Date(d) => time::format_date(*d),
        Literal::Timestamp(t) => time::format_timestamp(*t),
        Literal::Text(s) => text(s),
        Literal::Bool(b) => b.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::syntax::fmt::tests::ex;

    #[test]
    fn literals_print_canonically() {
        assert_eq!(ex("x == 007"), "x == 7");
        assert_eq!(ex("x == 2.50"), "x == 2.5");
        assert_eq!(ex("x == 3.0"), "x == 3.0");
        assert_eq!(ex("x == 0.1"), "x == 0.1");
        assert_eq!(ex("x == 40.0%"), "x == 40%");
        assert_eq!(ex("x == 12.5%"), "x == 12.5%");
        assert_eq!(ex("x == $4500"), "x == $4,500");
        assert_eq!(ex("x == $4,500.00"), "x == $4,500");
        assert_eq!(ex("x == $1234567.5"), "x == $1,234,567.50");
        assert_eq!(ex("x == $0.125"), "x == $0.125");
        assert_eq!(ex("x == $0"), "x == $0");
        assert_eq!(ex("x == 4500.50 EUR"), "x == 4500.5 EUR");
        assert_eq!(
            ex("x == 7d or y == 2w or z == 3h or w == 90m"),
            "x == 7d or y == 2w or z == 3h or w == 90m"
        );
        assert_eq!(ex("x == 2025-01-03"), "x == 2025-01-03");
        assert_eq!(
            ex("x == 2025-01-03T12:00:00+02:00"),
            "x == 2025-01-03T10:00:00Z"
        );
        assert_eq!(ex("x == 2025-01-03 10:00"), "x == 2025-01-03T10:00:00Z");
        assert_eq!(
            ex("x == 2025-01-03T10:00:00.5Z"),
            "x == 2025-01-03T10:00:00.500Z"
        );
        assert_eq!(ex(r#"x == "a\"b\\c\nd	e""#), r#"x == "a\"b\\c\nd\te""#);
        assert_eq!(ex("x == true and y != false"), "x == true and y != false");
    }

    #[test]
    fn usd_amounts() {
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(999.0), "$999");
        assert_eq!(usd(1000.0), "$1,000");
        assert_eq!(usd(4500.5), "$4,500.50");
        assert_eq!(usd(0.07), "$0.07");
        assert_eq!(usd(123_456_789.0), "$123,456,789");
        assert_eq!(usd(1.0e20), "$100000000000000000000");
    }
}
