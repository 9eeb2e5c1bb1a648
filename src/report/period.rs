//! Calendar periods for flows, targets and spend: weeks (from Monday), months and quarters,
//! on day numbers (days since 1970-01-01, UTC).

use crate::syntax::ast::Period;
use crate::time::{civil_from_days, days_from_civil};

/// The first day of the period holding `day`.
pub fn start_of(day: i64, p: Period) -> i64 {
    match p {
        // 1970-01-01 was a Thursday: Monday is 3 days earlier in the cycle.
        Period::Weekly => day - (day + 3).rem_euclid(7),
        Period::Monthly => {
            let (y, m, _) = civil_from_days(day);
            days_from_civil(y, m, 1)
        }
        Period::Quarterly => {
            let (y, m, _) = civil_from_days(day);
            days_from_civil(y, (m - 1) / 3 * 3 + 1, 1)
        }
    }
}

/// The first day of the period after the one starting on `start`.
pub fn next(start: i64, p: Period) -> i64 {
    match p {
        Period::Weekly => start + 7,
        Period::Monthly | Period::Quarterly => {
            let (y, m, _) = civil_from_days(start);
            let step = if p == Period::Monthly { 1 } else { 3 };
            let m0 = m - 1 + step;
            days_from_civil(y + (m0 / 12) as i32, m0 % 12 + 1, 1)
        }
    }
}

/// The same period a year earlier: a month or quarter of the year before, or 52 weeks back.
pub fn year_before(start: i64, p: Period) -> i64 {
    match p {
        Period::Weekly => start - 364,
        Period::Monthly | Period::Quarterly => {
            let (y, m, _) = civil_from_days(start);
            days_from_civil(y - 1, m, 1)
        }
    }
}

/// The starts of the periods that `from..=to` touches.
pub fn starts(from: i64, to: i64, p: Period) -> Vec<i64> {
    let mut out = Vec::new();
    let mut s = start_of(from, p);
    while s <= to {
        out.push(s);
        s = next(s, p);
    }
    out
}

/// `2025-03`, `2025-Q1`, or the week's Monday `2025-03-03`.
pub fn label(start: i64, p: Period) -> String {
    let (y, m, d) = civil_from_days(start);
    match p {
        Period::Weekly => format!("{y:04}-{m:02}-{d:02}"),
        Period::Monthly => format!("{y:04}-{m:02}"),
        Period::Quarterly => format!("{y:04}-Q{}", (m - 1) / 3 + 1),
    }
}

/// `month`, `quarter`, `week`: the word the command line takes.
pub fn noun(p: Period) -> &'static str {
    match p {
        Period::Weekly => "week",
        Period::Monthly => "month",
        Period::Quarterly => "quarter",
    }
}

/// `2025-03-01`.
pub fn date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Whether `from..=to` is whole calendar months (then comparisons shift by months).
pub fn whole_months(from: i64, to: i64) -> Option<u32> {
    let (y1, m1, d1) = civil_from_days(from);
    let (y2, m2, d2) = civil_from_days(to + 1);
    (d1 == 1 && d2 == 1 && to >= from).then(|| ((y2 - y1) * 12 + m2 as i32 - m1 as i32) as u32)
}

/// Shifts a day by whole months (day 1 of a month stays day 1).
pub fn add_months(day: i64, months: i32) -> i64 {
    let (y, m, d) = civil_from_days(day);
    let m0 = y * 12 + m as i32 - 1 + months;
    let (ny, nm) = (m0.div_euclid(12), m0.rem_euclid(12) as u32 + 1);
    days_from_civil(ny, nm, d.min(crate::time::days_in_month(ny, nm)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_and_follow_each_other() {
        let d = days_from_civil(2025, 3, 19); // a Wednesday
        assert_eq!(date(start_of(d, Period::Weekly)), "2025-03-17");
        assert_eq!(date(start_of(d, Period::Monthly)), "2025-03-01");
        assert_eq!(date(start_of(d, Period::Quarterly)), "2025-01-01");
        assert_eq!(
            date(next(start_of(d, Period::Quarterly), Period::Quarterly)),
            "2025-04-01"
        );
        let dec = days_from_civil(2024, 12, 1);
        assert_eq!(date(next(dec, Period::Monthly)), "2025-01-01");
        assert_eq!(label(dec, Period::Quarterly), "2024-Q4");
        assert_eq!(date(year_before(dec, Period::Monthly)), "2023-12-01");
        assert_eq!(starts(d, d, Period::Monthly).len(), 1);
        assert_eq!(
            starts(days_from_civil(2025, 1, 31), d, Period::Monthly).len(),
            3
        );
    }

    #[test]
    fn whole_months_and_shifts() {
        let from = days_from_civil(2025, 3, 1);
        let to = days_from_civil(2025, 3, 31);
        assert_eq!(whole_months(from, to), Some(1));
        assert_eq!(whole_months(from, to - 1), None);
        assert_eq!(date(add_months(from, -1)), "2025-02-01");
        assert_eq!(
            date(add_months(days_from_civil(2024, 2, 29), -12)),
            "2023-02-28"
        );
    }
}
