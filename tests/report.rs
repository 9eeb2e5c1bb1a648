//! `funnelc report`: the worked example of seed 000 reproduced number by number, snapshots of
//! the table, Markdown and JSON formats, CSV files and the HTML page, and bad input (leads
//! outside the range, a spend file with problems, a dimension some leads lack).

use crate::common::{funnelc, temp_file};
use serde_json::Value;

const RULES: &str = "examples/heshbonit4u/heshbonit4u.funnel";
const LEADS: &str = "examples/heshbonit4u/leads.jsonl";
const SPEND: &str = "examples/heshbonit4u/spend.csv";

fn example(format: &str) -> (i32, String, String) {
    funnelc(&[
        "report",
        RULES,
        "--leads",
        LEADS,
        "--spend",
        SPEND,
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-31",
        "--as-of",
        "2025-06-30",
        "--format",
        format,
    ])
}

fn example_json() -> Value {
    let (code, out, err) = example("json");
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn nums(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// A rate as the seed prints it: a percentage to one decimal.
fn pct(v: &Value) -> String {
    format!("{:.1}", v.as_f64().unwrap() * 100.0)
}

#[test]
fn the_worked_example_reproduces_the_seeds_report() {
    let r = example_json();
    // Stage summary: counts and conversion from the previous stage.
    let stages = r["stages"].as_array().unwrap();
    let counts: Vec<u64> = stages
        .iter()
        .map(|s| s["reached"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [150, 70, 30, 25, 12, 8]);
    let from_previous: Vec<String> = stages[1..]
        .iter()
        .map(|s| pct(&s["from_previous"]))
        .collect();
    assert_eq!(from_previous, ["46.7", "42.9", "83.3", "48.0", "66.7"]);
    assert_eq!(pct(&stages[5]["from_first"]), "5.3");
    // Last year: 120, 60, 22, 18, 9, 6 and 5% overall.
    let ly = &r["comparisons"][1];
    assert_eq!(ly["name"], "same period last year");
    assert_eq!(ly["coverage"], "full");
    // February 2025 has no leads: no comparison, and a note that says so.
    assert_eq!(r["comparisons"][0]["coverage"], "none");
    assert!(r["comparisons"][0]["note"]
        .as_str()
        .unwrap()
        .contains("2025-02-01..2025-02-28"));
    assert_eq!(nums(&ly["reached"]), [120, 60, 22, 18, 9, 6]);
    assert_eq!(pct(&ly["from_first_to_last"]), "5.0");
    // Conversion bands.
    let bands: Vec<(String, Value)> = r["conversions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{} -> {}",
                    c["from"].as_str().unwrap(),
                    c["to"].as_str().unwrap()
                ),
                c["band"].clone(),
            )
        })
        .collect();
    assert_eq!(bands[0], ("MQL -> SAL".into(), Value::from("good")));
    assert_eq!(bands[1], ("SAL -> SQL".into(), Value::from("failing")));
    assert_eq!(bands[2], ("SQL -> SQO".into(), Value::Null));
    // By source and by region: every stage, and the share reaching SQO.
    let table = |i: usize| -> Vec<(String, Vec<u64>, String)> {
        r["breakdowns"][i]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["value"].as_str().unwrap().to_string(),
                    nums(&row["reached"]),
                    pct(&row["from_first_to_last"]),
                )
            })
            .collect()
    };
    let t = |v: &str, n: [u64; 6], p: &str| (v.to_string(), n.to_vec(), p.to_string());
    assert_eq!(r["breakdowns"][0]["dimension"], "source");
    assert_eq!(
        table(0),
        [
            t("linkedin", [65, 34, 15, 13, 7, 5], "7.7"),
            t("email", [40, 22, 9, 7, 3, 2], "5.0"),
            t("facebook", [25, 10, 4, 3, 1, 1], "4.0"),
            t("google", [15, 4, 2, 2, 1, 0], "0.0"),
            t("tiktok", [3, 0, 0, 0, 0, 0], "0.0"),
            t("referral", [2, 0, 0, 0, 0, 0], "0.0"),
        ]
    );
    assert_eq!(r["breakdowns"][1]["dimension"], "company.region");
    assert_eq!(
        table(1),
        [
            t("us-east", [95, 48, 22, 18, 9, 6], "6.3"),
            t("us-west", [25, 10, 4, 3, 1, 1], "4.0"),
            t("europe", [20, 8, 3, 3, 1, 1], "5.0"),
            t("israel", [10, 4, 1, 1, 1, 0], "0.0"),
        ]
    );
    // Average days between stages, and first to last.
    let days: Vec<(String, f64)> = r["velocity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                format!(
                    "{}-{}",
                    v["from"].as_str().unwrap(),
                    v["to"].as_str().unwrap()
                ),
                v["mean_days"].as_f64().unwrap(),
            )
        })
        .collect();
    let d = |a: &str, n: f64| (a.to_string(), n);
    assert_eq!(
        days,
        [
            d("MCL-MEL", 14.0),
            d("MEL-MQL", 7.0),
            d("MQL-SAL", 3.0),
            d("SAL-SQL", 5.0),
            d("SQL-SQO", 12.0),
            d("MCL-SQO", 41.0)
        ]
    );
    // The email sequence: sent, opened, open rate, clicked, click rate, contribution to MEL.
    let steps = &r["steps"][0];
    assert_eq!(steps["family"], "email");
    assert_eq!(steps["helped_stages"][0], "MEL");
    let rows: Vec<(i64, Vec<u64>, String, String, u64)> = steps["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["step"].as_i64().unwrap(),
                nums(&row["leads"]),
                pct(&row["rates"][0]),
                pct(&row["rates"][1]),
                row["helped"][0].as_u64().unwrap(),
            )
        })
        .collect();
    let s = |step: i64, n: [u64; 3], o: &str, c: &str, h: u64| {
        (step, n.to_vec(), o.to_string(), c.to_string(), h)
    };
    assert_eq!(
        rows,
        [
            s(1, [150, 60, 12], "40.0", "8.0", 15),
            s(2, [150, 48, 10], "32.0", "6.7", 10),
            s(3, [90, 36, 9], "40.0", "10.0", 8),
            s(4, [90, 30, 6], "33.3", "6.7", 5),
            s(5, [90, 27, 4], "30.0", "4.4", 2),
        ]
    );
    // Channel efficiency: spend, MCLs, cost per MCL, SQOs, cost per SQO, ROI.
    let ch = &r["channels"][0];
    assert_eq!(ch["by"], "source");
    let rows: Vec<(String, f64, u64, Value, u64, Value, Value)> = ch["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["channel"].as_str().unwrap().to_string(),
                row["spend"].as_f64().unwrap(),
                row["reached"][0].as_u64().unwrap(),
                row["cost_per"][0]
                    .as_f64()
                    .map_or(Value::Null, |v| Value::from(v.round())),
                row["reached"][5].as_u64().unwrap(),
                row["cost_per"][5].clone(),
                row["roi"]
                    .as_f64()
                    .map_or(Value::Null, |v| Value::from(format!("{:+.0}", v * 100.0))),
            )
        })
        .collect();
    let c = |name: &str, spend: f64, mcl: u64, cpl: f64, sqo: u64, cps: Value, roi: Value| {
        (
            name.to_string(),
            spend,
            mcl,
            Value::from(cpl),
            sqo,
            cps,
            roi,
        )
    };
    assert_eq!(
        rows,
        [
            c(
                "linkedin",
                4500.0,
                65,
                69.0,
                5,
                Value::from(900.0),
                Value::from("+220")
            ),
            c(
                "email",
                1800.0,
                40,
                45.0,
                2,
                Value::from(900.0),
                Value::from("+215")
            ),
            c(
                "facebook",
                1500.0,
                25,
                60.0,
                1,
                Value::from(1500.0),
                Value::from("+75")
            ),
            c(
                "google",
                1200.0,
                15,
                80.0,
                0,
                Value::Null,
                Value::from("-45")
            ),
            c(
                "tiktok",
                800.0,
                3,
                267.0,
                0,
                Value::Null,
                Value::from("-100")
            ),
            c("referral", 0.0, 2, 0.0, 0, Value::Null, Value::Null),
        ]
    );
    // The insights the seed draws: SAL → SQL in its failing band, SQL → SQO over 7 days,
    // TikTok (and Google) spending with no SQO.
    let kinds: Vec<String> = r["insights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}: {}",
                i["kind"].as_str().unwrap(),
                i["text"].as_str().unwrap()
            )
        })
        .collect();
    let has = |needle: &str| kinds.iter().any(|k| k.contains(needle));
    assert!(has("failing_band: SAL → SQL converts 48.0%"), "{kinds:#?}");
    assert!(
        has("velocity_target_missed: SQL → SQO takes 12.0 days"),
        "{kinds:#?}"
    );
    assert!(
        has("spend_without_conversion: source `tiktok`"),
        "{kinds:#?}"
    );
    assert!(
        has("weakest_transition: MEL → MQL converts 42.9%"),
        "{kinds:#?}"
    );
}

#[test]
fn the_example_as_a_table() {
    let (code, out, err) = example("table");
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(format!("{out}----- STDERR\n{err}"));
}

#[test]
fn the_example_in_markdown() {
    let (code, out, err) = example("md");
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn the_example_in_json() {
    let (code, out, err) = example("json");
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn the_report_does_not_depend_on_the_thread_count() {
    let run = |threads: &str| {
        funnelc(&[
            "report",
            "rules/b2b-saas.funnel",
            "--leads",
            "examples/leads.jsonl",
            "--format",
            "json",
            "-j",
            threads,
        ])
    };
    let (c1, one, _) = run("1");
    let (c2, two, _) = run("2");
    let (c3, three, _) = run("3");
    assert_eq!((c1, c2, c3), (0, 0, 0));
    assert_eq!(one, two);
    assert_eq!(one, three);
}

#[test]
fn csv_writes_one_file_per_table_with_plain_numbers() {
    let dir = std::env::temp_dir().join(format!("funnelc-report-csv-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let (code, _, err) = funnelc(&[
        "report",
        RULES,
        "--leads",
        LEADS,
        "--spend",
        SPEND,
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-31",
        "--as-of",
        "2025-06-30",
        "--format",
        "csv",
        "-o",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    let stages = std::fs::read_to_string(dir.join("stages.csv")).unwrap();
    assert!(stages.starts_with("stage,reached,straight through,from previous,from first\nMCL,150,150,,1\nMEL,70,70,0.4667,0.4667\n"), "{stages}");
    let compared = std::fs::read_to_string(dir.join("comparisons.csv")).unwrap();
    assert!(
        compared.starts_with(
            "stage,now,rate now,last year,change,rate last year\nMCL,150,,120,0.25,\nMEL,70,0.4667,60,0.1667,0.5\n"
        ),
        "{compared}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(
        summary.contains("as of,2025-06-30T23:59:59.999Z"),
        "{summary}"
    );
    let notes = std::fs::read_to_string(dir.join("notes.csv")).unwrap();
    assert!(
        notes.contains(
            "\ncomparisons,now: 2025-03-01 to 2025-03-31; no comparison with the previous period"
        ),
        "{notes}"
    );
    assert!(dir.join("channels_source.csv").exists());
    assert!(dir.join("steps_email.csv").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_needs_a_folder() {
    let (code, _, err) = funnelc(&["report", RULES, "--leads", LEADS, "--format", "csv"]);
    assert_eq!(code, 2);
    assert!(err.contains("name their folder with -o"), "{err}");
}

#[test]
fn html_is_one_self_contained_page() {
    let (code, out, err) = example("html");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("<!DOCTYPE html>"));
    for banned in ["<script", "http://", "https://", "@import", "url("] {
        // The SVG namespace is an identifier, not something fetched.
        let hits = out.matches(banned).count()
            - out.matches("http://www.w3.org/2000/svg").count() * usize::from(banned == "http://");
        assert_eq!(hits, 0, "`{banned}` in the page");
    }
    assert!(out.contains(
        "<desc id=\"funnel-desc\">MCL 150, MEL 70, MQL 30, SAL 25, SQL 12, SQO 8</desc>"
    ));
    assert!(out.contains("<tr class=\"low\"><th scope=\"row\">SAL → SQL</th>"));
    assert!(out.contains("<tr class=\"mid\"><th scope=\"row\">MQL → SAL</th>"));
}

#[test]
fn leads_outside_the_range_are_counted_and_named() {
    let (code, out, err) = funnelc(&[
        "report",
        RULES,
        "--leads",
        LEADS,
        "--from",
        "2025-03-10",
        "--to",
        "2025-03-20",
        "--as-of",
        "2025-06-30",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let inside = r["leads"]["in_report"].as_u64().unwrap();
    let outside = r["leads"]["outside_range"].as_u64().unwrap();
    assert_eq!(inside + outside, 270);
    assert!(
        err.contains(&format!(
            "warning: {outside} leads entered the funnel outside 2025-03-10..2025-03-20 and are not in the report"
        )),
        "{err}"
    );
}

#[test]
fn a_range_with_no_leads_divides_by_nothing() {
    let (code, out, err) = funnelc(&[
        "report",
        RULES,
        "--leads",
        LEADS,
        "--from",
        "2030-01-01",
        "--to",
        "2030-01-31",
        "--as-of",
        "2025-06-30",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(" MEL           0                  0               —            — "),
        "{out}"
    );
}

#[test]
fn spend_file_problems_are_warnings_that_name_them() {
    let spend = temp_file(
        "spend-bad.csv",
        b"channel,month,amount\nlinkedin,2025-03,4500\nsnapchat,2025-03,300\nemail,2025-03,-20\nfacebook,2025-03,1500\nfacebook,2025-04,1500\n",
    );
    let (code, _, err) = funnelc(&[
        "report",
        RULES,
        "--leads",
        LEADS,
        "--spend",
        spend.to_str().unwrap(),
        "--from",
        "2025-03-01",
        "--to",
        "2025-04-30",
        "--as-of",
        "2025-06-30",
    ]);
    assert_eq!(code, 0, "{err}");
    let name = spend.display().to_string();
    for want in [
        format!("{name}:4: negative spend -20 for `email` in 2025-03 left out"),
        format!("{name}: no spend for `linkedin` in 2025-04: counted as 0"),
        format!("{name}: spend for `snapchat`, but no lead in the report has source `snapchat`"),
    ] {
        assert!(err.contains(&want), "missing `{want}` in:\n{err}");
    }
}

#[test]
fn a_bad_spend_row_is_an_error_with_its_line() {
    let spend = temp_file(
        "spend-worse.csv",
        b"channel,month,amount\nlinkedin,March,4500\n",
    );
    let (code, _, err) = funnelc(&[
        "report",
        RULES,
        "--leads",
        LEADS,
        "--spend",
        spend.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains(":2: `March` is not a month (YYYY-MM)"),
        "{err}"
    );
}

#[test]
fn a_dimension_some_leads_lack_has_a_none_row() {
    let leads = temp_file(
        "no-region.jsonl",
        concat!(
            r#"{"id":"A","traits":{"source":"x","consent":true,"role":"cfo","company":{"employees":120,"paying_customers":1500,"region":"europe"}},"events":[{"type":"form.submitted","at":"2025-03-01T00:00:00Z","form":"oecd-research"}]}"#,
            "\n",
            r#"{"id":"B","traits":{"source":"y","consent":true,"role":"cfo","company":{"employees":120,"paying_customers":1500}},"events":[{"type":"form.submitted","at":"2025-03-02T00:00:00Z","form":"oecd-research"}]}"#,
            "\n"
        )
        .as_bytes(),
    );
    let (code, out, err) = funnelc(&[
        "report",
        RULES,
        "--leads",
        leads.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: 1 lead in the report has no `company.region`: counted under (none)"),
        "{err}"
    );
    let r: Value = serde_json::from_str(&out).unwrap();
    let region = &r["breakdowns"][1];
    assert_eq!(region["missing"], 1);
    assert_eq!(region["rows"][1]["value"], "(none)");
}

#[test]
fn an_unknown_by_dimension_is_a_usage_error() {
    let (code, _, err) = funnelc(&["report", RULES, "--leads", LEADS, "--by", "company.size"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`company.size` is not a trait declared in the schema"),
        "{err}"
    );
}

#[test]
fn to_before_from_is_a_usage_error() {
    let (code, _, err) = funnelc(&[
        "report",
        RULES,
        "--leads",
        LEADS,
        "--from",
        "2025-03-10",
        "--to",
        "2025-03-01",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--to 2025-03-01 is before --from 2025-03-10"),
        "{err}"
    );
}

#[test]
fn weeks_and_quarters_label_their_periods() {
    let run = |period: &str| {
        let (code, out, err) = funnelc(&[
            "report",
            RULES,
            "--leads",
            LEADS,
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--as-of",
            "2025-06-30",
            "--period",
            period,
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        let r: Value = serde_json::from_str(&out).unwrap();
        r["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["period"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(run("quarter"), ["2025-Q1"]);
    // March 2025 touches the weeks starting on Mondays from February 24 to March 31.
    assert_eq!(
        run("week"),
        [
            "2025-02-24",
            "2025-03-03",
            "2025-03-10",
            "2025-03-17",
            "2025-03-24",
            "2025-03-31"
        ]
    );
}

#[test]
fn leads_from_standard_input_give_the_same_report() {
    use std::io::Write;
    let file = example("json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_funnelc"))
        .args([
            "report",
            RULES,
            "--leads",
            "-",
            "--spend",
            SPEND,
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--format",
            "json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/heshbonit4u/leads.jsonl"
    ))
    .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without --as-of, the moment is the latest event: the same stage counts as of then.
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f: Value = serde_json::from_str(&file.1).unwrap();
    assert_eq!(r["stages"], f["stages"]);
}

/// `--compare` picks the windows; one the data does not cover is a warning when asked for by
/// name, and a note in every format.
#[test]
fn compare_asks_for_windows_and_says_when_the_data_lacks_one() {
    let run = |compare: &str, format: &str| {
        funnelc(&[
            "report",
            RULES,
            "--leads",
            LEADS,
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--as-of",
            "2025-06-30",
            "--compare",
            compare,
            "--format",
            format,
        ])
    };
    let (code, out, err) = run("last-year", "json");
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = r["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["same period last year"]);
    assert_eq!(pct(&r["comparisons"][0]["change"][0]), "25.0");
    assert!(!err.contains("no comparison"), "{err}");

    let (code, out, err) = run("previous", "md");
    assert_eq!(code, 0, "{err}");
    let missing = "no comparison with the previous period: no lead in the data entered the funnel in 2025-02-01..2025-02-28";
    assert!(err.contains(&format!("warning: {missing}")), "{err}");
    assert!(out.contains(missing), "{out}");
    for format in ["table", "html"] {
        let (code, out, _) = run("previous", format);
        assert_eq!(code, 0);
        assert!(out.contains(missing), "{format}");
    }
    let (code, out, _) = run("none", "json");
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["comparisons"], serde_json::json!([]));
    // The latest period's table follows the same choice.
    let (_, out, _) = run("none", "md");
    assert!(!out.contains("2025-03 compared"), "{out}");
    let (_, out, _) = run("last-year", "md");
    assert!(
        out.contains("| stage | entries | a year earlier | change |"),
        "{out}"
    );
}

#[test]
fn a_range_of_centuries_is_a_mistyped_date() {
    let (code, out, err) = funnelc(&[
        "report",
        "rules/b2b-saas.funnel",
        "--leads",
        "examples/leads.jsonl",
        "--as-of",
        "9999-12-31",
    ]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.ends_with("error: the report's range, 2025-01-01 to 9999-12-31, spans more than 100 years\n  help: check --as-of, --from and --to (the range runs to the --as-of day unless --to ends it)\n"),
        "{err}"
    );
    // A range that ends in time is fine, whatever the moment.
    let (code, _, err) = funnelc(&[
        "report",
        "rules/b2b-saas.funnel",
        "--leads",
        "examples/leads.jsonl",
        "--as-of",
        "9999-12-31",
        "--to",
        "2025-12-31",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
}
