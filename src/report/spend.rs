//! A spend file: CSV with a header `channel,month,amount`, one row per channel and month
//! (`linkedin,2025-03,4500`). The channel is a value of the cost trait (`source`), the month
//! `YYYY-MM`, the amount a number in the currency of the `cost by` declaration (a `$` and
//! thousands commas are allowed when quoted). Read from text: the command line opens the file.

/// One month's spend on one channel.
#[derive(Clone, Debug, PartialEq)]
pub struct SpendRow {
    pub channel: String,
    pub year: i32,
    pub month: u32,
    pub amount: f64,
}

/// The rows of a spend file, and what was wrong with rows that were left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spend {
    /// How the file is named in warnings.
    pub name: String,
    pub rows: Vec<SpendRow>,
    pub warnings: Vec<String>,
}

/// Reads a spend file. A row that cannot be read at all is an error (line and reason); a
/// negative amount is left out with a warning, as spend cannot be negative.
pub fn parse(text: &str, name: &str) -> Result<Spend, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("{name}: {e}"))?
        .clone();
    let col = |want: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(want));
    let (Some(c), Some(m), Some(a)) = (col("channel"), col("month"), col("amount")) else {
        return Err(format!(
            "{name}: the header must name the columns `channel`, `month` and `amount`"
        ));
    };
    let mut spend = Spend {
        name: name.to_string(),
        ..Spend::default()
    };
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("{name}:{line}: {e}"))?;
        let field = |k: usize| rec.get(k).unwrap_or("");
        let channel = field(c).to_string();
        if channel.is_empty() {
            return Err(format!("{name}:{line}: the channel is empty"));
        }
        let (year, month) = month_of(field(m))
            .ok_or_else(|| format!("{name}:{line}: `{}` is not a month (YYYY-MM)", field(m)))?;
        let raw = field(a);
        let amount: f64 = raw
            .replace(['$', ','], "")
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("{name}:{line}: `{raw}` is not an amount"))?;
        if amount < 0.0 {
            spend.warnings.push(format!(
                "{name}:{line}: negative spend {raw} for `{channel}` in {year:04}-{month:02} left out"
            ));
            continue;
        }
        spend.rows.push(SpendRow {
            channel,
            year,
            month,
            amount,
        });
    }
    Ok(spend)
}

/// `2025-03` → (2025, 3).
pub fn month_of(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    (y.to_string().len() == 4 && (1..=12).contains(&m)).then_some((y, m))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_rows_and_leaves_out_negative_amounts_with_a_warning() {
        let s = parse(
            "channel,month,amount\nlinkedin,2025-03,4500\nemail,2025-03,\"$1,800\"\ntiktok,2025-03,-5\n",
            "spend.csv",
        )
        .unwrap();
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[1].amount, 1800.0);
        assert_eq!(
            s.warnings,
            ["spend.csv:4: negative spend -5 for `tiktok` in 2025-03 left out"]
        );
    }

    #[test]
    fn bad_rows_are_errors_with_their_line() {
        assert_eq!(
            parse("channel,month,amount\nx,March,1\n", "s.csv").unwrap_err(),
            "s.csv:2: `March` is not a month (YYYY-MM)"
        );
        assert_eq!(
            parse("channel,month,amount\nx,2025-03,lots\n", "s.csv").unwrap_err(),
            "s.csv:2: `lots` is not an amount"
        );
        assert!(parse("a,b\n1,2\n", "s.csv").unwrap_err().contains("header"));
    }
}
