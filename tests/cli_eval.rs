//! `funnelc eval` and `funnelc explain` from the command line: formats, bad data, output files.

use crate::common::{funnelc, temp_file};
use std::path::PathBuf;

fn temp(name: &str, text: &str) -> PathBuf {
    temp_file(name, text.as_bytes())
}

const RULES: &str = "rules/b2b-saas.funnel";
const AS_OF: &str = "2025-03-01";

#[test]
fn three_input_formats_give_the_same_bytes() {
    let base = [
        "eval", RULES, "--format", "jsonl", "--as-of", AS_OF, "--leads",
    ];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        let (code, out, err) = funnelc(&a);
        assert_eq!(code, 0, "{err}");
        out
    };
    let jsonl = run(&["tests/fixtures/input/leads.jsonl"]);
    let segment = run(&[
        "tests/fixtures/input/segment.jsonl",
        "--rename",
        "tests/fixtures/input/rename.toml",
    ]);
    let csv = run(&[
        "tests/fixtures/input/leads.csv",
        "--events",
        "tests/fixtures/input/events.csv",
    ]);
    assert_eq!(jsonl.lines().count(), 6);
    assert_eq!(jsonl, segment);
    assert_eq!(jsonl, csv);
}

#[test]
fn table_and_summary() {
    let (code, out, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        "tests/fixtures/input/leads.jsonl",
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(format!("{out}----- STDERR\n{err}"));
}

#[test]
fn csv_output_is_quoted_and_complete() {
    let (code, out, _) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        "tests/fixtures/input/leads.jsonl",
        "--as-of",
        AS_OF,
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,stage,last_stage,exit,exited_at,source,company.region,\
         MCL_first_entered_at,MCL_entered_at,MEL_first_entered_at,MEL_entered_at,\
         MQL_first_entered_at,MQL_entered_at,SAL_first_entered_at,SAL_entered_at,\
         SQL_first_entered_at,SQL_entered_at,SQO_first_entered_at,SQO_entered_at,\
         moves,sla_breaches,fit,fit_grade,engagement,as_of"
    );
    assert_eq!(lines.count(), 6);
}

/// The three output formats of `eval` say the same thing about every lead: where it is (an
/// exited lead's `stage` is its exit everywhere), each stage's first and latest entry, its
/// moves and its dimensions. The worked example has returned and disqualified leads.
#[test]
fn table_csv_and_json_agree_on_every_lead() {
    let run = |format: &str| {
        let (code, out, err) = funnelc(&[
            "eval",
            "examples/heshbonit4u/heshbonit4u.funnel",
            "--leads",
            "examples/heshbonit4u/leads.jsonl",
            "--as-of",
            "2025-06-30",
            "--format",
            format,
        ]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let json: Vec<serde_json::Value> = run("jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let csv_text = run("csv");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let table = run("table");
    let table_rows: Vec<Vec<&str>> = table
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(json.len(), rows.len());
    assert_eq!(json.len(), table_rows.len());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (mut exited, mut returned) = (0, 0);
    for ((j, c), t) in json.iter().zip(&rows).zip(&table_rows) {
        let id = j["id"].as_str().unwrap();
        assert_eq!(&c[col("id")], id);
        assert_eq!(t[0], id);
        let stage = j["stage"].as_str().unwrap_or("");
        assert_eq!(&c[col("stage")], stage, "{id}");
        assert_eq!(t[1], stage, "{id}");
        if !j["exit"].is_null() {
            exited += 1;
            assert_eq!(j["exit"]["name"], j["stage"], "{id}");
            assert_eq!(j["exit"]["from"], j["last_stage"], "{id}");
            assert_eq!(&c[col("last_stage")], j["last_stage"].as_str().unwrap());
        }
        for s in ["MCL", "MEL", "MQL", "SAL", "SQL", "SQO"] {
            let first = j["first_entered"][s].as_str().unwrap_or("");
            let last = j["entered"][s].as_str().unwrap_or("");
            assert_eq!(&c[col(&format!("{s}_first_entered_at"))], first, "{id} {s}");
            assert_eq!(&c[col(&format!("{s}_entered_at"))], last, "{id} {s}");
            assert!(first <= last, "{id} {s}: first entry after the latest");
        }
        let moves = j["moves"].as_array().unwrap();
        let csv_moves = &c[col("moves")];
        assert_eq!(
            csv_moves.split(';').filter(|m| !m.is_empty()).count(),
            moves.len(),
            "{id}"
        );
        if !moves.is_empty() {
            returned += 1;
            assert!(j["first_entered"]["MEL"] != j["entered"]["MEL"], "{id}");
            assert!(csv_moves.starts_with("MQL>MEL@"), "{id}: {csv_moves}");
        }
        assert_eq!(
            &c[col("source")],
            j["dimensions"]["source"].as_str().unwrap()
        );
        assert_eq!(
            &c[col("company.region")],
            j["dimensions"]["company.region"].as_str().unwrap()
        );
        assert_eq!(c[col("as_of")], j["as_of"]);
    }
    assert!(
        exited > 0 && returned > 0,
        "{exited} exited, {returned} returned"
    );
}

#[test]
fn a_bad_lead_stops_the_run_and_names_the_place() {
    let data = "{\"id\": \"A1\", \"events\": []}\n{\"id\": \"A2\", \"traits\": {\"company\": {\"employees\": \"many\"}}}\n{\"id\": \"A3\"}\n";
    let p = temp("bad.jsonl", data);
    let ps = p.to_str().unwrap();
    let (code, out, err) = funnelc(&[
        "eval", RULES, "--leads", ps, "--as-of", AS_OF, "--format", "jsonl",
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty() || !out.contains("A2"), "{out}");
    let err = err.replace(ps, "bad.jsonl");
    insta::assert_snapshot!(err);
}

#[test]
fn skip_bad_accounts_for_every_lead() {
    let data = "{\"id\": \"A1\"}\nnot json\n{\"traits\": {}}\n{\"id\": \"A4\", \"events\": [{\"type\": \"email.opened\", \"at\": \"yesterday\"}]}\n{\"id\": \"A5\", \"events\": [{\"type\": \"webinar.attended\", \"at\": \"2025-01-01\"}, {\"type\": \"webinar.attended\", \"at\": \"2025-01-02\"}]}\n";
    let p = temp("skip.jsonl", data);
    let rejects = temp("rejects.txt", "");
    let ps = p.to_str().unwrap();
    let (code, out, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        ps,
        "--as-of",
        AS_OF,
        "--format",
        "jsonl",
        "--skip-bad",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    let rej = std::fs::read_to_string(&rejects)
        .unwrap()
        .replace(ps, "skip.jsonl");
    assert_eq!(rej.lines().count(), 3, "{rej}");
    insta::assert_snapshot!(format!("{rej}----- STDERR\n{err}"));
}

/// `funnelc eval RULES --leads LEADS --as-of AS_OF --format jsonl -o OUT`.
fn eval_jsonl_to(leads: &str, out: &str) -> (i32, String, String) {
    funnelc(&[
        "eval", RULES, "--leads", leads, "--as-of", AS_OF, "--format", "jsonl", "-o", out,
    ])
}

#[test]
fn output_file_is_written_whole_or_not_at_all() {
    let target = temp("out.jsonl", "old contents\n");
    let t = target.to_str().unwrap();
    let (code, _, _) = eval_jsonl_to("tests/fixtures/input/leads.jsonl", t);
    assert_eq!(code, 0);
    let written = std::fs::read_to_string(&target).unwrap();
    assert_eq!(written.lines().count(), 6);
    // A failing run leaves the previous file untouched.
    let bad = temp("bad2.jsonl", "{\"id\": \"X\"}\n{oops\n");
    let (code, _, _) = eval_jsonl_to(bad.to_str().unwrap(), t);
    assert_eq!(code, 1);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), written);
    let leftovers: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("funnelc-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn output_through_a_link_or_into_a_pipe_keeps_the_link_and_the_pipe() {
    let run = |out: &str| eval_jsonl_to("tests/fixtures/input/leads.jsonl", out);
    // A symbolic link: the file it points to gets the output, the link stays a link.
    let target = temp("linked-target.jsonl", "old\n");
    let link = target.with_file_name("link-to-target.jsonl");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (code, _, err) = run(link.to_str().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap().lines().count(), 6);
    // A named pipe: written into, not replaced by a file.
    let fifo = target.with_file_name("out.fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no mkfifo here: the pipe half of this test is skipped");
        return;
    }
    // The reader is a child, so that a pipe wrongly replaced fails the test, not hangs it.
    let mut reader = std::process::Command::new("cat")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (code, _, err) = run(fifo.to_str().unwrap());
    use std::os::unix::fs::FileTypeExt;
    let still_a_pipe = std::fs::metadata(&fifo).unwrap().file_type().is_fifo();
    if !still_a_pipe {
        let _ = reader.kill();
    }
    let read = reader.wait_with_output().unwrap();
    assert!(still_a_pipe, "the pipe was replaced by a file");
    assert_eq!(code, 0, "{err}");
    assert_eq!(String::from_utf8_lossy(&read.stdout).lines().count(), 6);
}

#[test]
fn explain_the_example_lead() {
    let (code, out, err) = funnelc(&[
        "explain",
        RULES,
        "--leads",
        "examples/leads.jsonl",
        "--lead",
        "L146",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn explain_json_and_eval_explain_agree() {
    let (_, one, _) = funnelc(&[
        "explain",
        RULES,
        "--leads",
        "tests/fixtures/input/leads.jsonl",
        "--lead",
        "L2",
        "--as-of",
        AS_OF,
        "--format",
        "json",
    ]);
    let (_, all, _) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        "tests/fixtures/input/leads.jsonl",
        "--as-of",
        AS_OF,
        "--format",
        "jsonl",
        "--explain",
    ]);
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    let line = all.lines().find(|l| l.contains("\"id\":\"L2\"")).unwrap();
    let row: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(row["explain"], one);
}

/// `explain` passes over lines that cannot hold the lead without reading them; an id spelt
/// with escapes, or written as a number, is still found.
#[test]
fn explain_finds_ids_however_they_are_written() {
    let ev = r#""events":[{"type":"form.submitted","at":"2025-01-02T00:00:00Z","form":"x"}]"#;
    let data = format!(
        "{{\"id\":\"L1\",{ev}}}\n{{\"id\":\"L\\u0032\",{ev}}}\n{{\"id\":30,{ev}}}\n{{broken\n"
    );
    let file = temp_file("explain-ids.jsonl", data.as_bytes());
    let file = file.to_str().unwrap();
    for id in ["L2", "30", "L1"] {
        let (code, out, err) = funnelc(&[
            "explain", RULES, "--leads", file, "--lead", id, "--as-of", AS_OF,
        ]);
        assert_eq!(code, 0, "{id}: {err}");
        assert!(out.starts_with(&format!("{id} ·")), "{id}: {out}");
    }
    let (code, _, err) = funnelc(&[
        "explain", RULES, "--leads", file, "--lead", "L3", "--as-of", AS_OF,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no lead `L3`"), "{err}");
}

#[test]
fn unknown_lead_and_bad_arguments() {
    let (code, _, err) = funnelc(&[
        "explain",
        RULES,
        "--leads",
        "examples/leads.jsonl",
        "--lead",
        "NOPE",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no lead `NOPE`"), "{err}");
    let (code, _, _) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        "examples/leads.jsonl",
        "--as-of",
        "someday",
    ]);
    assert_eq!(code, 2);
    let (code, _, err) = funnelc(&["eval", RULES, "--leads", "missing.jsonl", "--as-of", AS_OF]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = funnelc(&["eval", RULES, "--leads", "examples/leads.jsonl", "-j", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--threads"), "{err}");
    let (code, _, _) = funnelc(&[
        "eval",
        "tests/fixtures/check/misspelt-event.funnel",
        "--leads",
        "examples/leads.jsonl",
    ]);
    assert_eq!(code, 1);
}

#[test]
fn hostile_data_is_one_bad_lead_each() {
    let deep = format!(
        "{{\"id\":\"D1\",\"traits\":{{\"x\":{}{}}}}}\n{{\"id\":\"D2\"}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut bytes = deep.into_bytes();
    bytes.extend_from_slice(b"{\"id\":\"U1\",\"traits\":{\"role\":\"\xff\"}}\n");
    let p = temp_file("hostile.jsonl", &bytes);
    let ps = p.to_str().unwrap();
    let (code, out, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        ps,
        "--as-of",
        AS_OF,
        "--format",
        "jsonl",
        "--skip-bad",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1);
    let err = err.replace(ps, "hostile.jsonl");
    assert!(
        err.contains("hostile.jsonl:1: the JSON nests too deeply"),
        "{err}"
    );
    assert!(
        err.contains("hostile.jsonl:3: the line is not UTF-8 text"),
        "{err}"
    );
    assert!(err.contains("1 evaluated, 2 skipped"), "{err}");
    assert!(err.contains("2 skipped"), "{err}");
}

#[test]
fn standard_input_gives_the_same_result_as_the_file() {
    standard_input_as("-");
}

/// A pipe named by a path (`--leads <(zcat leads.jsonl.gz)`; here `/dev/stdin`) is kept for
/// the second pass as standard input is: it once gave 0 leads, the first pass having read it.
#[test]
fn a_pipe_given_as_a_path_gives_the_same_result_as_the_file() {
    standard_input_as("/dev/stdin");
}

fn standard_input_as(path: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let data = std::fs::read("tests/fixtures/input/leads.jsonl").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_funnelc"))
        .args(["eval", RULES, "--leads", path, "--format", "jsonl"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, from_file, _) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        "tests/fixtures/input/leads.jsonl",
        "--format",
        "jsonl",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), from_file);
}

#[test]
fn jsonl_and_json_say_the_same() {
    let args = |f: &'static str| {
        vec![
            "eval",
            RULES,
            "--leads",
            "tests/fixtures/input/leads.jsonl",
            "--as-of",
            AS_OF,
            "--format",
            f,
        ]
    };
    let (_, jsonl, _) = funnelc(&args("jsonl"));
    let (_, json, _) = funnelc(&args("json"));
    let array: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(array, lines);
    // The lead returned from MQL to MEL shows its move.
    let l3 = lines.iter().find(|l| l["id"] == "L3").unwrap();
    assert_eq!(l3["moves"][0]["from"], "MQL");
    assert_eq!(l3["moves"][0]["to"], "MEL");
}

fn data_dir_of(file: &std::path::Path) -> PathBuf {
    file.parent().unwrap().to_path_buf()
}

/// A bad lead deep in the file, in a later batch than the first: without `--skip-bad` the run
/// stops naming its line and writes no output file; with it, every other lead comes out, in
/// input order, and the bad one is in the rejects.
#[test]
fn a_bad_lead_in_a_later_batch() {
    let ev = r#""events":[{"type":"form.submitted","at":"2025-01-02T00:00:00Z","form":"x"}]"#;
    let lines: Vec<String> = (1..=9000)
        .map(|i| match i {
            6000 => format!("{{\"id\":\"L{i}\",{ev},}}"),
            _ => format!("{{\"id\":\"L{i}\",{ev}}}"),
        })
        .collect();
    let data = temp_file("later-batch.jsonl", (lines.join("\n") + "\n").as_bytes());
    let data = data.to_str().unwrap();
    // Its own folder: another test checks that no temporary output is left in the shared one.
    let dir = data_dir_of(&temp_file("later-batch-dir-marker", b"")).join("later-batch");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("out.jsonl");
    // `-j 1` reads, evaluates and writes on one thread; `-j 2` is the parallel pipeline.
    for j in ["1", "2"] {
        a_bad_lead_in_a_later_batch_on(j, data, &target);
    }
}

fn a_bad_lead_in_a_later_batch_on(threads: &str, data: &str, target: &std::path::Path) {
    let _ = std::fs::remove_file(target);
    let out = target.to_str().unwrap();
    let (code, _, err) = funnelc(&[
        "eval", RULES, "--leads", data, "--as-of", AS_OF, "--format", "jsonl", "-o", out, "-j",
        threads,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("later-batch.jsonl:6000"), "{err}");
    assert!(!target.exists(), "a failed run left an output file");

    let rejects = temp_file("later-batch-rejects.txt", b"");
    let (code, _, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        data,
        "--as-of",
        AS_OF,
        "--format",
        "jsonl",
        "-o",
        out,
        "--skip-bad",
        "--rejects",
        rejects.to_str().unwrap(),
        "--threads",
        threads,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("8,999 evaluated, 1 skipped"), "{err}");
    let written = std::fs::read_to_string(target).unwrap();
    let ids: Vec<String> = written
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    let want: Vec<String> = (1..=9000)
        .filter(|i| *i != 6000)
        .map(|i| format!("\"L{i}\""))
        .collect();
    assert_eq!(ids, want);
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert!(rejected.contains("later-batch.jsonl:6000"), "{rejected}");
}

#[test]
fn leads_without_events_need_an_as_of() {
    let leads = temp(
        "no-events.jsonl",
        "{\"id\":\"L1\",\"traits\":{}}\n{\"id\":\"L2\",\"events\":[]}\n",
    );
    let p = leads.to_str().unwrap();
    // No event to take the moment from: an error, not an evaluation at 1970-01-01.
    let (code, out, err) = funnelc(&["eval", RULES, "--leads", p, "--format", "jsonl"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(
        err.replace(p, "no-events.jsonl"),
        "error: no-events.jsonl holds no event with a readable `at` to take the evaluation \
         moment from; pass --as-of (events whose `at` is missing or unreadable are then \
         reported)\n"
    );
    let (code, _, err) = funnelc(&["explain", RULES, "--leads", p, "--lead", "L1"]);
    assert_eq!(code, 2, "{err}");
    // With the moment given, the same leads are evaluated.
    let (code, out, err) = funnelc(&["eval", RULES, "--leads", p, "--as-of", AS_OF]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("L2"), "{out}");
    // The same for a CSV pair whose events file is empty.
    let csv_leads = temp("no-events-leads.csv", "id\nL1\n");
    let csv_events = temp("no-events-events.csv", "lead_id,type,at\n");
    let (code, _, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        csv_leads.to_str().unwrap(),
        "--events",
        csv_events.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pass --as-of"), "{err}");
}

#[test]
fn an_input_without_leads_needs_no_as_of() {
    let empty = temp("empty.jsonl", "\n\n");
    let (code, out, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        empty.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.starts_with("0 leads (0 evaluated, 0 skipped)"), "{err}");
}

#[test]
fn an_offset_beyond_a_day_is_bad_data() {
    let leads = temp(
        "offset.jsonl",
        "{\"id\":\"L1\",\"events\":[{\"type\":\"form.submitted\",\"at\":\"2025-01-03T12:00:00+25:00\"}]}\n",
    );
    let p = leads.to_str().unwrap();
    let (code, _, err) = funnelc(&["eval", RULES, "--leads", p, "--as-of", AS_OF]);
    assert_eq!(code, 1, "{err}");
    let err = err.replace(p, "offset.jsonl");
    assert!(err.contains("offset.jsonl:1"), "{err}");
    assert!(err.contains("lead `L1`"), "{err}");
    assert!(
        err.contains("has a UTC offset that does not exist"),
        "{err}"
    );
}

#[test]
fn an_int_beyond_64_bits_is_bad_data() {
    let leads = temp(
        "big-int.jsonl",
        "{\"id\":\"L1\",\"traits\":{\"company\":{\"employees\":9223372036854775808}},\"events\":[]}\n\
         {\"id\":\"L2\",\"traits\":{\"company\":{\"employees\":9223372036854775807}},\"events\":[]}\n",
    );
    let p = leads.to_str().unwrap();
    let (code, _, err) = funnelc(&["eval", RULES, "--leads", p, "--as-of", AS_OF, "--skip-bad"]);
    assert_eq!(code, 0, "{err}");
    let err = err.replace(p, "big-int.jsonl");
    assert!(
        err.contains("big-int.jsonl:1: lead `L1`, field `traits.company.employees`"),
        "{err}"
    );
    assert!(err.contains("(beyond a 64-bit integer)"), "{err}");
    assert!(!err.contains("lead `L2`"), "{err}");
    assert!(err.contains("1 skipped"), "{err}");
}

#[test]
fn wrong_data_is_an_error_never_a_silent_value() {
    // Each line would once have been read as something it does not say.
    let data = [
        r#"{"id": "W1", "traits": {"company": 5}}"#,
        r#"{"id": "W2", "traits": {"company": {"employees": 10}, "company": {"region": "us-east"}}}"#,
        r#"{"id": "W3", "events": [{"type": "email.opened", "at": "2025-01-01", "step": 1}], "events": []}"#,
        r#"{"id": "W4", "events": [{"type": "opportunity.created", "at": "2025-01-01", "amount": "$1e309"}]}"#,
        r#"{"id": "W5", "events": [{"type": "opportunity.created", "at": "2025-01-01", "amount": "$4,50,0"}]}"#,
        r#"{"id": "W6", "events": [{"type": "email.opened", "at": "2025-13-45T10:00:00Z", "step": 1}]}"#,
        r#"{"id": "W7"}"#,
        r#"{"id": "W7", "traits": {"role": "cfo"}}"#,
        r#"{"id": "W1"}"#,
    ]
    .join("\n");
    let p = temp("wrong.jsonl", &data);
    let ps = p.to_str().unwrap();
    let rejects = temp("wrong-rejects.txt", "");
    let (code, out, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        ps,
        "--as-of",
        AS_OF,
        "--format",
        "jsonl",
        "--skip-bad",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let ids: Vec<&str> = out.lines().map(|l| &l[7..9]).collect();
    assert_eq!(ids, ["W7"], "{out}");
    let rej = std::fs::read_to_string(&rejects)
        .unwrap()
        .replace(ps, "wrong.jsonl");
    insta::assert_snapshot!(rej);
    // Without --skip-bad the first one stops the run.
    let (code, _, err) = funnelc(&["eval", RULES, "--leads", ps, "--as-of", AS_OF]);
    assert_eq!(code, 1);
    assert!(
        err.contains("field `traits.company`: expected an object"),
        "{err}"
    );
}

#[test]
fn a_file_appended_to_itself_has_every_lead_twice() {
    let text = std::fs::read_to_string("examples/leads.jsonl").unwrap();
    let p = temp("twice.jsonl", &format!("{text}{text}"));
    let ps = p.to_str().unwrap();
    for threads in ["1", "3"] {
        let (code, out, err) = funnelc(&[
            "eval",
            RULES,
            "--leads",
            ps,
            "--format",
            "jsonl",
            "--skip-bad",
            "-j",
            threads,
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.lines().count(), 500);
        let skipped: Vec<&str> = err.lines().filter(|l| l.starts_with("skipped:")).collect();
        assert_eq!(skipped.len(), 500);
        assert!(
            skipped[499].ends_with(&format!(
                "lead `L500`, field `id`: the id is already used by the lead at {ps}:500"
            )),
            "{}",
            skipped[499]
        );
    }
}

#[test]
fn eval_warns_of_rule_warnings_and_traits_the_data_lacks() {
    // A grade no score reaches (a rule warning), a trait no lead has (a misspelt path in
    // the data), and one most leads lack.
    let rules = temp(
        "warned.funnel",
        "schema {\n  trait source: text\n  trait plan: text\n  trait company.employees: int\n  event e\n}\n\nscore fit max 10 {\n  +10 when company.employees > 100\n  grade A from 50\n  grade B from 0\n}\n\nstage A {\n  enter when e and source == \"x\"\n}\n",
    );
    let leads = temp(
        "warned.jsonl",
        &[
            r#"{"id": "1", "traits": {"source": "x", "company": {"employees": 120}}, "events": [{"type": "e", "at": "2025-01-01"}]}"#,
            r#"{"id": "2", "traits": {"source": "x", "company": {"employes": 130}}, "events": [{"type": "e", "at": "2025-01-01"}]}"#,
            r#"{"id": "3", "traits": {"source": "y", "Plan": "pro"}, "events": [{"type": "e", "at": "2025-01-01"}]}"#,
        ]
        .join("\n"),
    );
    let (r, l) = (rules.to_str().unwrap(), leads.to_str().unwrap());
    let (code, out, err) = funnelc(&["eval", r, "--leads", l, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    // Standard output is the run's alone.
    assert_eq!(out.lines().count(), 3);
    assert!(out.lines().all(|l| l.starts_with("{\"id\":")), "{out}");
    let err = err.replace(r, "warned.funnel");
    insta::assert_snapshot!(err);
}

#[test]
fn a_bare_date_as_of_is_the_end_of_that_day() {
    let p = temp(
        "eod.jsonl",
        r#"{"id": "E1", "traits": {"consent": true, "role": "cfo", "company": {"employees": 200, "paying_customers": 2000}}, "events": [{"type": "form.submitted", "at": "2025-03-31T18:30:00Z", "form": "oecd-research"}]}"#,
    );
    let ps = p.to_str().unwrap();
    let run = |as_of: &str| {
        let (code, out, err) = funnelc(&[
            "eval", RULES, "--leads", ps, "--as-of", as_of, "--format", "jsonl",
        ]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let day = run("2025-03-31");
    assert!(day.contains(r#""MCL":"2025-03-31T18:30:00Z""#), "{day}");
    assert!(
        day.contains(r#""as_of":"2025-03-31T23:59:59.999Z""#),
        "{day}"
    );
    // Midnight, written out, is the start of the day: the evening's event is not seen yet.
    let midnight = run("2025-03-31T00:00:00Z");
    assert!(midnight.contains(r#""MCL":null"#), "{midnight}");
}

#[test]
fn every_output_format_states_the_as_of() {
    let run = |format: &str| {
        let (code, out, err) = funnelc(&[
            "eval",
            RULES,
            "--leads",
            "tests/fixtures/input/leads.jsonl",
            "--format",
            format,
        ]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let jsonl = run("jsonl");
    let latest = "2025-02-03T17:45:00Z";
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["as_of"], latest, "{line}");
    }
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["as_of"] == latest));
    let csv = run("csv");
    assert!(csv.lines().next().unwrap().ends_with(",as_of"), "{csv}");
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.ends_with(&format!(",{latest}"))),
        "{csv}"
    );
    let table = run("table");
    assert_eq!(table.lines().next().unwrap(), format!("as of {latest}"));
}

#[test]
fn a_default_as_of_far_beyond_the_data_is_warned_of() {
    let text = std::fs::read_to_string("examples/leads.jsonl").unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // One lead's event dated in the future, then well past the others.
    let original = lines[6].clone();
    let with = |at: &str| {
        let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
        let ev = serde_json::json!({"type": "email.opened", "at": at, "step": 1});
        v["events"].as_array_mut().unwrap().push(ev);
        v.to_string()
    };
    let mut stderr = String::new();
    for (name, at) in [
        ("future.jsonl", "9999-01-01T00:00:00Z"),
        ("ahead.jsonl", "2025-12-31T00:00:00Z"),
    ] {
        lines[6] = with(at);
        let p = temp(name, &(lines.join("\n") + "\n"));
        let ps = p.to_str().unwrap();
        let (code, _, err) = funnelc(&["eval", RULES, "--leads", ps, "-o", "/dev/null"]);
        assert_eq!(code, 0, "{err}");
        stderr.push_str(&err.replace(ps, name));
        // Given, the moment is the user's choice: no warning.
        let (_, _, err) = funnelc(&[
            "eval",
            RULES,
            "--leads",
            ps,
            "-o",
            "/dev/null",
            "--as-of",
            "9999-01-01",
        ]);
        assert!(!err.contains("warning"), "{err}");
    }
    // The shipped data, whose latest events spread over months, is not warned of.
    let (_, _, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        "examples/leads.jsonl",
        "-o",
        "/dev/null",
    ]);
    assert!(!err.contains("warning"), "{err}");
    insta::assert_snapshot!(stderr);
}

/// A folder given as lead data is a usage error said once, before anything is read, not a
/// data error on its "line 1"; a missing file is said once too.
#[test]
fn a_folder_or_a_missing_file_as_data_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("funnelc-leads-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let missing = dir.join("missing.jsonl");
    let m = missing.to_str().unwrap();
    for cmd in [
        vec!["eval", "rules/b2b-saas.funnel", "--leads", d],
        vec!["explain", "rules/b2b-saas.funnel", "--leads", d, "L1"],
        vec!["eval", "rules/b2b-saas.funnel", "--leads", m],
    ] {
        let (code, stdout, stderr) = funnelc(&cmd);
        assert_eq!(code, 2, "{cmd:?}: {stderr}");
        assert!(stdout.is_empty(), "{cmd:?}: {stdout}");
        assert_eq!(stderr.matches("error:").count(), 1, "{cmd:?}: {stderr}");
        assert!(!stderr.contains(":1:"), "{cmd:?}: {stderr}");
    }
    let (_, _, stderr) = funnelc(&["eval", "rules/b2b-saas.funnel", "--leads", d]);
    assert!(stderr.contains("is a folder"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_test_file_or_a_fixture_file_is_no_rule_file_to_run() {
    let (code, out, err) = funnelc(&[
        "eval",
        "rules/b2b-saas.test.funnel",
        "--leads",
        "examples/leads.jsonl",
    ]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: `rules/b2b-saas.test.funnel` is a test file (`tests for \"b2b-saas.funnel\"`), not a rule file\n  help: name the rule file it tests, `rules/b2b-saas.funnel`; `funnelc test rules/b2b-saas.test.funnel` runs its tests\n"
    );
    let fixtures = temp_file(
        "only-fixtures.funnel",
        b"fixture \"a form\" {\n  events { 2025-01-01 form.submitted }\n}\n",
    );
    let (code, _, err) = funnelc(&[
        "report",
        fixtures.to_str().unwrap(),
        "--leads",
        "examples/leads.jsonl",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("is a file of shared fixtures, not a rule file\n  help: name a rule file"),
        "{err}"
    );
}
