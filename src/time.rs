//! Calendar arithmetic for the few time formats funnelc reads and writes.
//!
//! Hand-written rather than a date crate because the hot path of `eval` parses millions of
//! RFC 3339 stamps and needs nothing but UTC instants: proleptic Gregorian dates, fixed
//! offsets, no time zones.

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

/// An instant, as seconds (and milliseconds) since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub millis: i64,
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    Some(n)
}

/// Parses `YYYY-MM-DD`, checking that the day exists.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(format!("`{s}` is not a date (expected YYYY-MM-DD)"));
    }
    let (y, m, d) = match (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10])) {
        (Some(y), Some(m), Some(d)) => (y as i32, m, d),
        _ => return Err(format!("`{s}` is not a date (expected YYYY-MM-DD)")),
    };
    if !(1..=12).contains(&m) {
        return Err(format!("`{s}` has no month {m}"));
    }
    if d == 0 || d > days_in_month(y, m) {
        return Err(format!("`{s}` is not a day of the calendar"));
    }
    Ok(Date {
        year: y,
        month: m,
        day: d,
    })
}

pub fn date_to_timestamp(d: Date) -> Timestamp {
    Timestamp {
        millis: days_from_civil(d.year, d.month, d.day) * MS_PER_DAY,
    }
}

/// Parses an evaluation moment (`--as-of`, a test's `as of`): an instant as
/// [`parse_timestamp`] reads it, except that a bare date means the *end* of that day, its
/// last millisecond (23:59:59.999 UTC). "As of 2025-03-31" includes the 31st's events; as
/// midnight it would leave out the whole day it names.
pub fn parse_moment(s: &str) -> Result<Timestamp, String> {
    if s.len() == 10 {
        return parse_date(s).map(end_of_day);
    }
    parse_timestamp(s)
}

/// The last millisecond of a day.
pub fn end_of_day(d: Date) -> Timestamp {
    Timestamp {
        millis: date_to_timestamp(d).millis + MS_PER_DAY - 1,
    }
}

/// Parses an RFC 3339 instant (`2025-01-03T10:00:00Z`, `2025-01-03T12:00:00+02:00`,
/// fractional seconds allowed), a date-time with a space and no zone (read as UTC, minutes
/// optional seconds), or a bare date (midnight UTC).
pub fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    if let Some(t) = parse_utc_seconds(s.as_bytes()) {
        return Ok(t);
    }
    let bad = || format!("`{s}` is not a timestamp (expected RFC 3339, e.g. 2025-01-03T10:00:00Z)");
    if s.len() == 10 {
        return parse_date(s).map(date_to_timestamp);
    }
    if s.len() < 16 || !s.is_char_boundary(10) {
        return Err(bad());
    }
    // Its message quotes the whole value: the date part alone reads as a different value.
    let date = parse_date(&s[..10]).map_err(|e| e.replacen(&s[..10], s, 1))?;
    let b = s.as_bytes();
    if !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return Err(bad());
    }
    let hh = digits(&b[11..13]).ok_or_else(bad)?;
    let mm = digits(&b[14..16]).ok_or_else(bad)?;
    let mut i = 16;
    let mut ss = 0;
    let mut ms: i64 = 0;
    if b.get(i) == Some(&b':') {
        ss = digits(b.get(i + 1..i + 3).ok_or_else(bad)?).ok_or_else(bad)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
            // Milliseconds: the first three fractional digits, padded.
            let frac = &b[start..i];
            for k in 0..3 {
                ms = ms * 10 + frac.get(k).map_or(0, |c| i64::from(c - b'0'));
            }
        }
    }
    if hh > 23 || mm > 59 || ss > 60 {
        return Err(format!("`{s}` has a time of day that does not exist"));
    }
    let offset_min: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = i64::from(digits(&b[i + 1..i + 3]).ok_or_else(bad)?);
            let om = i64::from(digits(&b[i + 4..i + 6]).ok_or_else(bad)?);
            // RFC 3339 offsets stop at ±23:59; `+25:00` would move the instant by more than
            // a day without a word.
            if oh > 23 || om > 59 {
                return Err(format!("`{s}` has a UTC offset that does not exist"));
            }
            let total = oh * 60 + om;
            if sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return Err(bad()),
    };
    let secs = i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss) - offset_min * 60;
    Ok(Timestamp {
        millis: days_from_civil(date.year, date.month, date.day) * MS_PER_DAY + secs * 1000 + ms,
    })
}

/// The common shape `YYYY-MM-DDTHH:MM:SSZ`, read in one go (data files hold millions of
/// them); `None` for anything else, which the general reader then reads or refuses.
pub fn parse_utc_seconds(b: &[u8]) -> Option<Timestamp> {
    let b: &[u8; 20] = b.try_into().ok()?;
    if b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let two = |i: usize| -> Option<u32> {
        let (a, c) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
        (a <= 9 && c <= 9).then(|| u32::from(a) * 10 + u32::from(c))
    };
    let year = (two(0)? * 100 + two(2)?) as i32;
    let (month, day) = (two(5)?, two(8)?);
    let (hh, mm, ss) = (two(11)?, two(14)?, two(17)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hh > 23
        || mm > 59
        || ss > 60
    {
        return None;
    }
    let secs = i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss);
    Some(Timestamp {
        millis: days_from_civil(year, month, day) * MS_PER_DAY + secs * 1000,
    })
}

/// [`parse_utc_seconds`] for many instants in a row, remembering where each recent month
/// starts: a lead's events fall in a few months, so the date arithmetic is done about once a
/// month rather than once an event.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonthCache {
    /// By the month's digits (its number, for a valid month): the `YYYY-MM-` bytes, that
    /// month's first day and its length in days. Small, because it is copied in and out for
    /// every line.
    months: [(u64, i32, u32); 16],
}

/// Whether every byte of `d` (the text minus its expected pattern) is a digit's value, 0 to 9,
/// and the bytes under `seps` are 0 (the separator was the expected one). A byte below its
/// pattern wraps to 0xD0 or more and fails; one above 9 gains its top bit when 0x76 is added.
#[inline(always)]
fn digits_and(d: u64, seps: u64) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    (d | d.wrapping_add(0x7676_7676_7676_7676)) & HIGH == 0 && d & seps == 0
}

impl MonthCache {
    /// The same answer as [`parse_utc_seconds`], always.
    #[inline]
    pub fn parse(&mut self, b: &[u8]) -> Option<Timestamp> {
        let b: &[u8; 20] = b.try_into().ok()?;
        let word = |i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
        };
        // `YYYY-MM-`, `DDTHH:MM` and `H:MM:SSZ`, each less the pattern it should have.
        let head = word(0)?;
        let d1 = word(8)?.wrapping_sub(u64::from_le_bytes(*b"00T00:00"));
        let d2 = word(12)?.wrapping_sub(u64::from_le_bytes(*b"0:00:00Z"));
        if !digits_and(d1, 0x0000_FF00_00FF_0000) || !digits_and(d2, 0xFF00_00FF_0000_FF00) {
            return None;
        }
        let slot = usize::from((b[5] & 1) * 10 + (b[6] & 15)) & 15;
        let entry = self.months.get_mut(slot)?;
        if entry.0 != head || head == 0 {
            let d0 = head.wrapping_sub(u64::from_le_bytes(*b"0000-00-"));
            if !digits_and(d0, 0xFF00_00FF_0000_0000) {
                return None;
            }
            let y = d0.to_le_bytes();
            let year = i32::from(y[0]) * 1000
                + i32::from(y[1]) * 100
                + i32::from(y[2]) * 10
                + i32::from(y[3]);
            let month = u32::from(y[5]) * 10 + u32::from(y[6]);
            if !(1..=12).contains(&month) {
                return None;
            }
            // Days since 1970 fit an i32 for any four-digit year.
            let first = i32::try_from(days_from_civil(year, month, 1)).ok()?;
            *entry = (head, first, days_in_month(year, month));
        }
        let (_, first, len) = *entry;
        let first = i64::from(first);
        let (t, u) = (d1.to_le_bytes(), d2.to_le_bytes());
        let day = u32::from(t[0]) * 10 + u32::from(t[1]);
        let (hh, mm) = (
            i64::from(t[3]) * 10 + i64::from(t[4]),
            i64::from(t[6]) * 10 + i64::from(t[7]),
        );
        let ss = i64::from(u[5]) * 10 + i64::from(u[6]);
        if day == 0 || day > len || hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        Some(Timestamp {
            millis: (first + i64::from(day) - 1) * MS_PER_DAY + (hh * 3600 + mm * 60 + ss) * 1000,
        })
    }
}

/// `2025-01-03T10:00:00Z`, with `.123` only when there are milliseconds.
pub fn format_timestamp(t: Timestamp) -> String {
    let days = t.millis.div_euclid(MS_PER_DAY);
    let rem = t.millis.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1000;
    let ms = rem % 1000;
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    if !(0..=9999).contains(&y) {
        return if ms == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
        };
    }
    // Output writes one of these per stage per lead: digits by hand, not `format!`.
    let mut out = String::with_capacity(24);
    push2(&mut out, i64::from(y) / 100);
    push2(&mut out, i64::from(y) % 100);
    out.push('-');
    push2(&mut out, i64::from(m));
    out.push('-');
    push2(&mut out, i64::from(d));
    out.push('T');
    push2(&mut out, hh);
    out.push(':');
    push2(&mut out, mm);
    out.push(':');
    push2(&mut out, ss);
    if ms != 0 {
        out.push('.');
        out.push(char::from(b'0' + (ms / 100) as u8));
        push2(&mut out, ms % 100);
    }
    out.push('Z');
    out
}

fn push2(s: &mut String, v: i64) {
    s.push(char::from(b'0' + (v / 10 % 10) as u8));
    s.push(char::from(b'0' + (v % 10) as u8));
}

/// `2025-01-03`: the UTC date of an instant.
pub fn format_date_of(t: Timestamp) -> String {
    let (y, m, d) = civil_from_days(t.millis.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_date_as_a_moment_is_the_end_of_its_day() {
        let end = parse_moment("2025-03-31").unwrap();
        assert_eq!(format_timestamp(end), "2025-03-31T23:59:59.999Z");
        assert_eq!(
            end.millis + 1,
            parse_timestamp("2025-04-01").unwrap().millis
        );
        // An instant is that instant, midnight included.
        for s in ["2025-03-31T00:00:00Z", "2025-03-31T10:00:00+02:00"] {
            assert_eq!(parse_moment(s), parse_timestamp(s));
        }
        assert_eq!(
            parse_moment("2025-02-30").unwrap_err(),
            "`2025-02-30` is not a day of the calendar"
        );
    }

    #[test]
    fn messages_quote_the_whole_value() {
        for (s, want) in [
            (
                "2025-13-45T10:00:00Z",
                "`2025-13-45T10:00:00Z` has no month 13",
            ),
            (
                "2025-02-30T10:00:00+02:00",
                "`2025-02-30T10:00:00+02:00` is not a day of the calendar",
            ),
            (
                "2025-1x-01T10:00:00Z",
                "`2025-1x-01T10:00:00Z` is not a date (expected YYYY-MM-DD)",
            ),
            ("2025-13-45", "`2025-13-45` has no month 13"),
        ] {
            assert_eq!(parse_timestamp(s).unwrap_err(), want);
        }
    }

    #[test]
    fn civil_round_trip() {
        for z in -800_000..800_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2025, 1, 1), 20_089);
    }

    #[test]
    fn the_common_shape_reads_as_the_general_reader_does() {
        // The general reader, reached through a shape the fast path declines (`z`).
        let general = |s: &str| parse_timestamp(&s.replace('Z', "z"));
        for s in [
            "2025-01-03T10:00:00Z",
            "2024-02-29T23:59:60Z",
            "1970-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_utc_seconds(s.as_bytes()), general(s).ok(), "{s}");
            assert!(parse_utc_seconds(s.as_bytes()).is_some());
        }
        for s in [
            "2025-02-29T10:00:00Z",
            "2025-13-01T10:00:00Z",
            "2025-00-01T10:00:00Z",
            "2025-01-00T10:00:00Z",
            "2025-01-03T24:00:00Z",
            "2025-01-03T10:60:00Z",
            "2025-01-03T10:00:61Z",
            "2025-01-03T1a:00:00Z",
            "2025-01-03 10:00:00Z",
            "2025-01-03T10:00:00+",
        ] {
            assert_eq!(parse_utc_seconds(s.as_bytes()), None, "{s}");
        }
        for day in 0..3000 {
            let t = Timestamp {
                millis: day * MS_PER_DAY + (day * 7919 % 86_400) * 1000,
            };
            let s = format_timestamp(t);
            assert_eq!(parse_utc_seconds(s.as_bytes()), Some(t), "{s}");
        }
    }

    #[test]
    fn the_month_cache_always_answers_as_the_fast_reader() {
        let mut cache = MonthCache::default();
        let mut texts: Vec<String> = Vec::new();
        for day in (0..40_000).step_by(13) {
            let t = Timestamp {
                millis: day * MS_PER_DAY + (day * 7919 % 86_400) * 1000,
            };
            texts.push(format_timestamp(t));
        }
        // Months seen before, bad days and times in cached months, and broken heads that
        // share a month number with a cached one.
        for s in [
            "2025-01-03T10:00:00Z",
            "2025-01-32T10:00:00Z",
            "2025-02-29T10:00:00Z",
            "2024-02-29T10:00:00Z",
            "2025-01-03T24:00:00Z",
            "2025-01-03 10:00:00Z",
            "2025/01-03T10:00:00Z",
            "2025-01/03T10:00:00Z",
            "2025-13-03T10:00:00Z",
            "2025-00-03T10:00:00Z",
            "2025-1a-03T10:00:00Z",
            "20a5-01-03T10:00:00Z",
            concat!("\0\0\0\0\0\0\0\0", "03T10:00:00Z"),
            "2025-01-03T10:00:00",
            "2025-01-03T10:00:00Zx",
        ] {
            texts.push(s.to_string());
        }
        for round in 0..2 {
            for s in &texts {
                assert_eq!(
                    cache.parse(s.as_bytes()),
                    parse_utc_seconds(s.as_bytes()),
                    "{s} (round {round})"
                );
            }
        }
        // Every byte of a good instant replaced in turn by bytes just around the digits and
        // separators (the word-at-a-time checks must see each one).
        for good in [
            "2025-01-03T10:00:00Z",
            "2024-12-31T23:59:59Z",
            "1999-09-09T09:09:09Z",
        ] {
            for at in 0..20 {
                for c in [
                    0u8, b' ', b'+', b'-', b'.', b'/', b'0', b'9', b':', b';', b'T', b'Z', b'a',
                    0x7f, 0xff,
                ] {
                    let mut m = good.as_bytes().to_vec();
                    m[at] = c;
                    assert_eq!(cache.parse(&m), parse_utc_seconds(&m), "{m:?}");
                }
            }
        }
    }

    #[test]
    fn formatting_by_hand_matches_format() {
        let reference = |t: Timestamp| {
            let (y, m, d) = civil_from_days(t.millis.div_euclid(MS_PER_DAY));
            let rem = t.millis.rem_euclid(MS_PER_DAY);
            let (secs, ms) = (rem / 1000, rem % 1000);
            let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
            if ms == 0 {
                format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
            } else {
                format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
            }
        };
        for i in -5_000i64..5_000 {
            let t = Timestamp {
                millis: i * 7_919_993_917 + i % 1000,
            };
            assert_eq!(format_timestamp(t), reference(t));
        }
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2025-01-03T10:00:00Z").unwrap();
        assert_eq!(format_timestamp(t), "2025-01-03T10:00:00Z");
        let u = parse_timestamp("2025-01-03T12:00:00+02:00").unwrap();
        assert_eq!(t, u);
        let v = parse_timestamp("2025-01-03 10:00").unwrap();
        assert_eq!(t, v);
        let w = parse_timestamp("2025-01-03T10:00:00.5Z").unwrap();
        assert_eq!(w.millis - t.millis, 500);
        assert_eq!(format_timestamp(w), "2025-01-03T10:00:00.500Z");
        assert_eq!(
            parse_timestamp("2025-01-03").unwrap().millis,
            20_091 * MS_PER_DAY
        );
    }

    #[test]
    fn offsets_stop_at_23_59() {
        let t = parse_timestamp("2025-01-03T10:00:00Z").unwrap();
        let east = parse_timestamp("2025-01-03T23:59:00+13:59").unwrap();
        assert_eq!(east.millis, t.millis);
        assert!(parse_timestamp("2025-01-03T12:00:00-23:59").is_ok());
        for bad in [
            "2025-01-03T12:00:00+25:00",
            "2025-01-03T12:00:00+99:99",
            "2025-01-03T12:00:00-24:00",
            "2025-01-03T12:00:00+02:60",
        ] {
            let e = parse_timestamp(bad).unwrap_err();
            assert_eq!(e, format!("`{bad}` has a UTC offset that does not exist"));
        }
    }

    #[test]
    fn bad_timestamps() {
        for s in [
            "2025-02-30",
            "2025-13-01",
            "2025-01-03T25:00:00Z",
            "2025-01-03T10:00:00+0200",
            "yesterday",
            "2025-01-03T10:00:00Zjunk",
            "2025-01-03T10:00:00.Z",
            "2025-01-0é",
        ] {
            assert!(parse_timestamp(s).is_err(), "{s}");
        }
    }
}
