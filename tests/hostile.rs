//! Hostile input and the edges of the command line (issue #13): scratch files, interrupted
//! runs, flags that do nothing, damaged data. Each test is a regression test for one finding.

use crate::common::funnelc;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RULES: &str = "rules/b2b-saas.funnel";

fn first_lead() -> String {
    let all = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/leads.jsonl"))
        .unwrap();
    format!("{}\n", all.lines().next().unwrap())
}

/// A fresh empty folder of its own for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("funnelc-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Waits until `dir` holds a file whose name contains `part`, for at most 20 seconds.
fn wait_for(dir: &Path, part: &str) -> PathBuf {
    let start = Instant::now();
    loop {
        if let Some(name) = entries(dir).into_iter().find(|n| n.contains(part)) {
            return dir.join(name);
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no file with `{part}` in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Standard input, held open: the run waits on it while its scratch file exists.
fn spawn(args: &[&str], tmpdir: &Path) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_funnelc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("TMPDIR", tmpdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lead = first_lead();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(lead.as_bytes())
        .unwrap();
    child
}

#[test]
fn the_stdin_spool_is_private_and_removed_on_interrupt() {
    use std::os::unix::fs::PermissionsExt;
    for sig in ["INT", "TERM"] {
        let tmp = fresh_dir(&format!("spool-{sig}"));
        // A planted link under the old predictable name is never followed.
        let victim = tmp.join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let mut child = spawn(&["eval", RULES, "--leads", "-"], &tmp);
        let planted = tmp.join(format!("funnelc-stdin-{}.jsonl", child.id()));
        let _ = std::os::unix::fs::symlink(&victim, &planted);
        let spool = wait_for(&tmp, ".jsonl");
        let spool = if spool == planted {
            // The listing may find the planted link first: look for the real one.
            let start = Instant::now();
            loop {
                let found = entries(&tmp)
                    .into_iter()
                    .map(|n| tmp.join(n))
                    .find(|p| p.to_string_lossy().contains("funnelc-stdin-") && *p != planted);
                if let Some(f) = found {
                    break f;
                }
                assert!(start.elapsed() < Duration::from_secs(20));
                std::thread::sleep(Duration::from_millis(20));
            }
        } else {
            spool
        };
        let mode = std::fs::metadata(&spool).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the spool is readable by its owner only");
        // Standard input stays open until the run has ended: `wait` would close it, and the
        // run, reading to its end, could then finish before the signal is handled.
        let stdin = child.stdin.take();
        signal(&child, sig);
        let status = child.wait().unwrap();
        drop(stdin);
        assert_eq!(status.code(), Some(130), "after SIG{sig}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        let _ = std::fs::remove_file(&planted);
        assert_eq!(entries(&tmp), ["victim"], "after SIG{sig}");
    }
}

#[test]
fn an_interrupted_output_leaves_nothing_behind() {
    for sig in ["INT", "TERM"] {
        let dir = fresh_dir(&format!("out-{sig}"));
        let out = dir.join("result.json");
        std::fs::write(&out, "the previous result").unwrap();
        let out_arg = out.to_string_lossy().into_owned();
        let args = [
            "eval",
            RULES,
            "--leads",
            "-",
            "--as-of",
            "2025-03-01",
            "--format",
            "json",
            "-o",
            &out_arg,
        ];
        let mut child = spawn(&args, &dir);
        wait_for(&dir, ".funnelc-tmp-");
        // Standard input stays open until the run has ended: `wait` would close it, and the
        // run, reading to its end, could then finish before the signal is handled.
        let stdin = child.stdin.take();
        signal(&child, sig);
        let status = child.wait().unwrap();
        drop(stdin);
        assert_eq!(status.code(), Some(130), "after SIG{sig}");
        assert_eq!(entries(&dir), ["result.json"], "after SIG{sig}");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "the previous result"
        );
    }
}

#[test]
fn a_killed_runs_leftover_is_removed_by_the_next_run() {
    let dir = fresh_dir("out-KILL");
    let out = dir.join("result.json");
    let out_arg = out.to_string_lossy().into_owned();
    let args = [
        "eval",
        RULES,
        "--leads",
        "-",
        "--as-of",
        "2025-03-01",
        "--format",
        "json",
        "-o",
        &out_arg,
    ];
    let mut child = spawn(&args, &dir);
    wait_for(&dir, ".funnelc-tmp-");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(entries(&dir).len(), 1, "SIGKILL cannot be caught");
    let (code, _, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        "examples/leads.jsonl",
        "--as-of",
        "2025-03-01",
        "-o",
        &out_arg,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(entries(&dir), ["result.json"]);
}

#[test]
fn a_new_output_file_gets_the_usual_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = fresh_dir("perm");
    let out = dir.join("r.csv");
    let (code, _, err) = funnelc(&[
        "eval",
        RULES,
        "--leads",
        "examples/leads.jsonl",
        "--format",
        "csv",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // Whatever the umask, what a plain create gives, not the scratch file's private mode.
    let plain = dir.join("plain");
    std::fs::write(&plain, "").unwrap();
    assert_eq!(mode(&out), mode(&plain));
}

#[test]
fn flags_that_would_do_nothing_are_refused() {
    let base = ["eval", RULES, "--as-of", "2025-03-01", "--leads"];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        funnelc(&a)
    };
    // A rename table with JSONL input, even one that does not exist.
    for rename in ["tests/fixtures/input/rename.toml", "no/such/rename.toml"] {
        let (code, out, err) = run(&["examples/leads.jsonl", "--rename", rename]);
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert!(err.contains("applies to Segment input only"), "{err}");
    }
    // With a Segment stream, a missing rename file is an error, not an empty table.
    let (code, _, err) = run(&[
        "tests/fixtures/input/segment.jsonl",
        "--rename",
        "no/such/rename.toml",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot read `no/such/rename.toml`"), "{err}");
    // An events file with JSONL leads.
    let (code, _, err) = run(&[
        "examples/leads.jsonl",
        "--events",
        "tests/fixtures/input/events.csv",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("goes with CSV leads only"), "{err}");
    // Rejects without --skip-bad.
    let rejects = std::env::temp_dir().join(format!("funnelc-rej-{}", std::process::id()));
    let (code, _, err) = run(&[
        "examples/leads.jsonl",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("without --skip-bad"), "{err}");
    assert!(
        !rejects.exists(),
        "nothing is written when the flags are refused"
    );
}

#[test]
fn the_summary_says_evaluated_and_skipped() {
    let data = format!("{}{{\"id\": 1, \"events\": 7}}\n", first_lead());
    let path = std::env::temp_dir().join(format!("funnelc-sum-{}.jsonl", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let (code, _, err) = funnelc(&[
        "eval",
        RULES,
        "--as-of",
        "2025-03-01",
        "--skip-bad",
        "--leads",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("2 leads (1 evaluated, 1 skipped) · reached: MCL "),
        "{err}"
    );
}

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = fresh_dir(name);
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_missing_leads_file_is_reported_once() {
    for cmd in [
        vec!["eval", RULES],
        vec!["report", RULES],
        vec!["explain", RULES, "--lead", "x"],
    ] {
        let mut a = cmd.clone();
        a.extend_from_slice(&["--leads", "no/such/leads.jsonl"]);
        let (code, out, err) = funnelc(&a);
        assert_eq!(code, 2, "{cmd:?}: {err}");
        assert!(out.is_empty());
        assert_eq!(
            err, "error: cannot read `no/such/leads.jsonl`: no such file\n",
            "{cmd:?}"
        );
    }
}

#[test]
fn a_byte_order_mark_before_lead_data_is_accepted() {
    let plain = first_lead();
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), plain.as_bytes()].concat();
    let plain_path = scratch("plain.jsonl", plain.as_bytes());
    let bom_path = scratch("bom.jsonl", &with_bom);
    let run = |p: &Path| {
        let (code, out, err) = funnelc(&[
            "eval",
            RULES,
            "--as-of",
            "2025-03-01",
            "--format",
            "jsonl",
            "--leads",
            p.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        out
    };
    assert_eq!(run(&bom_path), run(&plain_path));
    // A Segment stream too.
    let seg = std::fs::read("tests/fixtures/input/segment.jsonl").unwrap();
    let seg_bom = scratch("seg.jsonl", &[b"\xEF\xBB\xBF".as_slice(), &seg].concat());
    let (code, _, err) = funnelc(&[
        "eval",
        RULES,
        "--as-of",
        "2025-03-01",
        "--input-format",
        "segment",
        "--rename",
        "tests/fixtures/input/rename.toml",
        "--leads",
        seg_bom.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_wrongly_typed_value_names_the_lead_and_a_huge_id_says_why() {
    let data = concat!(
        "{\"id\": \"A\", \"events\": {\"type\": \"x\"}}\n",
        "{\"events\": 7, \"id\": \"B\"}\n",
        "{\"id\": 1000000000000000000000000000000, \"events\": []}\n",
        "{\"id\": 1.5, \"events\": []}\n",
        "{\"id\": 7e2, \"events\": []}\n",
    );
    let path = scratch("typed.jsonl", data.as_bytes());
    let (code, _, err) = funnelc(&[
        "eval",
        RULES,
        "--as-of",
        "2025-03-01",
        "--skip-bad",
        "--leads",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let err = err.replace(path.to_str().unwrap(), "typed.jsonl");
    assert!(
        err.contains("typed.jsonl:1: lead `A`, field `events`: invalid type: map"),
        "{err}"
    );
    assert!(
        err.contains("typed.jsonl:2: lead `B`, field `events`: invalid type: integer"),
        "{err}"
    );
    assert!(
        err.contains(
            "typed.jsonl:3, field `id`: the id 1000000000000000000000000000000 is a whole number \
             beyond 64 bits"
        ),
        "{err}"
    );
    assert!(
        err.contains("typed.jsonl:4, field `id`: the id 1.5 must be text or a whole number"),
        "{err}"
    );
    // Whole, but not beyond 64 bits: the exponent form is the problem, not the size.
    assert!(
        err.contains("typed.jsonl:5, field `id`: the id 7e2 must be text or a whole number"),
        "{err}"
    );
}

#[test]
fn csv_under_skip_bad_rejects_the_bad_record_and_goes_on() {
    let leads = scratch("leads.csv", b"id,source\nL1,x\nL2,y,extra\nL3,z\n");
    let events = scratch(
        "events.csv",
        b"lead_id,type,at\nL1,form.submitted,2025-01-02\nGHOST,form.submitted,2025-01-02\nL3,form.submitted\n",
    );
    let args = |skip: bool| {
        let mut a = vec![
            "eval".to_string(),
            RULES.into(),
            "--as-of".into(),
            "2025-03-01".into(),
            "--format".into(),
            "jsonl".into(),
            "--leads".into(),
            leads.to_string_lossy().into_owned(),
            "--events".into(),
            events.to_string_lossy().into_owned(),
        ];
        if skip {
            a.push("--skip-bad".into());
        }
        a
    };
    let a = args(true);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, out, err) = funnelc(&a);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "L1 is evaluated: {out}");
    assert!(out.contains("\"id\":\"L1\""), "{out}");
    assert!(
        err.contains("lead `L2`: the record has 3 cells where the header has 2"),
        "{err}"
    );
    assert!(
        err.contains("lead `L3`: the record has 2 cells where the header has 3"),
        "{err}"
    );
    assert!(
        err.contains("lead `GHOST`, field `lead_id`: no lead `GHOST`"),
        "{err}"
    );
    // The event row of no lead is reported but is no lead: three leads, one event row.
    assert!(
        err.contains("3 leads (1 evaluated, 2 skipped) · 1 event row of no lead skipped"),
        "{err}"
    );
    // Without --skip-bad the first bad record stops the run, and nothing is written.
    let a = args(false);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, out, err) = funnelc(&a);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("lead `L2`: the record has 3 cells"), "{err}");
    assert!(!out.contains("L3"), "{out}");
}

/// No byte 0x1b (and no raw line break inside a value) reaches a terminal from the data or
/// the rule file: table, explain, check, test and the errors on standard error.
#[test]
fn control_characters_are_escaped_in_human_output() {
    let id = "EV\u{1b}[31mIL\nfake line";
    let line = format!(
        "{}\n{}\n",
        serde_json::json!({
            "id": id,
            "traits": {"source": "a\u{1b}]0;title\u{7}", "consent": true},
            "events": [{"type": "form.submitted", "at": "2025-01-02T00:00:00Z", "form": "x\u{1b}[2J"}],
        }),
        serde_json::json!({"id": "B\u{1b}[1m", "events": 5}),
    );
    let data = scratch("inject.jsonl", line.as_bytes());
    let data = data.to_str().unwrap();
    let (code, out, err) = funnelc(&["eval", RULES, "--skip-bad", "--leads", data]);
    assert_eq!(code, 0, "{err}");
    for text in [&out, &err] {
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(!text.contains("\nfake line"), "{text}");
    }
    assert!(out.contains("EV\\u{1b}[31mIL\\nfake line"), "{out}");
    assert!(err.contains("lead `B\\u{1b}[1m`"), "{err}");
    let (code, out, err) = funnelc(&["explain", RULES, "--leads", data, "--lead", id]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
    assert!(out.starts_with("EV\\u{1b}[31mIL\\nfake line ·"), "{out}");
    assert!(out.contains("form \"x\\u{1b}[2J\""), "{out}");
    // JSON keeps the data as it is.
    let (_, out, _) = funnelc(&[
        "eval",
        RULES,
        "--format",
        "jsonl",
        "--skip-bad",
        "--leads",
        data,
    ]);
    assert!(out.contains("EV\\u001b[31mIL\\nfake line"), "{out}");

    let rules = scratch(
        "inject.funnel",
        "funnel \"x\u{1b}[2J\"\nschema {\n  event e\n}\nstage A { enter when e and zzz\u{1b}[31m }\n\
         test \"t\u{1b}[5m\" {\n  events {\n    2025-01-01 e\n  }\n  expect stage A\n}\n"
            .as_bytes(),
    );
    let rules = rules.to_str().unwrap();
    let (code, out, err) = funnelc(&["check", rules]);
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains('\u{1b}') && !err.contains('\u{1b}'), "{err}");
    let all = format!("{out}{err}");
    assert!(all.contains("zzz?[31m"), "the snippet shows `?`: {all}");
    let fixed = std::fs::read_to_string(rules)
        .unwrap()
        .replace(" and zzz\u{1b}[31m", "");
    let rules = scratch("inject-ok.funnel", fixed.as_bytes());
    let (code, out, err) = funnelc(&["test", rules.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains('\u{1b}') && !err.contains('\u{1b}'), "{out}");
    assert!(out.contains("ok      t\\u{1b}[5m"), "{out}");
}

/// One limit on a condition's size, whatever its operators and brackets: a 50,000-term `and`
/// chain is refused at once with `funnel::too_complex`, pointing at its start (not drawing
/// 50,000 lines), and so is a sum split into bracketed groups.
#[test]
fn huge_conditions_meet_the_one_limit() {
    let chain: String = (0..50_000).map(|_| "  and x\n").collect();
    let src =
        format!("schema {{\n  event e\n  trait x: bool\n}}\nstage A {{ enter when e\n{chain}}}\n");
    let path = scratch("chain.funnel", src.as_bytes());
    let (code, out, err) = funnelc(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let all = format!("{out}{err}");
    assert!(all.contains("funnel::too_complex"), "{all}");
    assert!(all.contains("50000 operators, more than 256"), "{all}");
    assert!(all.lines().count() < 30, "{all}");
    let group = format!("(n{})", " + 1".repeat(60));
    let sum = vec![group; 5].join(" + ");
    let src = format!(
        "schema {{\n  event e\n  trait n: int\n}}\nstage A {{ enter when e and {sum} > 3 }}\n"
    );
    let path = scratch("groups.funnel", src.as_bytes());
    let (code, out, err) = funnelc(&["check", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("funnel::too_complex"), "{out}");
}

/// `matches` patterns: an oversized one is refused after milliseconds, not seconds, and the
/// file's patterns together are capped.
#[test]
fn regex_memory_is_capped_per_pattern_and_in_total() {
    let head = "schema {\n  trait email: text\n  event e\n}\n";
    let big = format!("{head}stage A {{ enter when e and email matches \"\\\\w{{10000}}\" }}\n");
    let path = scratch("bigpattern.funnel", big.as_bytes());
    let (code, out, err) = funnelc(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("this pattern is too large"), "{out}");
    assert!(out.contains("more than 2 MB"), "{out}");
    // Seven patterns of 2.2 MB pass; the eighth passes the 16 MB total.
    let pats: Vec<String> = (0..10)
        .map(|i| format!("email matches \"x{i}\\\\w{{40}}\""))
        .collect();
    let many = format!(
        "{head}stage A {{ enter when e and ({}) }}\n",
        pats.join(" or ")
    );
    let path = scratch("manypatterns.funnel", many.as_bytes());
    let (code, out, _) = funnelc(&["check", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let diags = v
        .as_array()
        .or_else(|| v["diagnostics"].as_array())
        .unwrap()
        .clone();
    assert_eq!(diags.len(), 1, "{out}");
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("more than 16 MB"));
    let eighth = many.find("x7").unwrap();
    let line_start = many[..eighth].rfind('\n').unwrap() + 1;
    // The eighth pattern's opening quote, one column before its `x7` (columns count from 1).
    assert_eq!(
        diags[0]["column"].as_u64().unwrap() as usize,
        many[line_start..eighth].chars().count()
    );
}

fn check_codes(src: &str) -> Vec<(String, String)> {
    funnelc::compile(src, "t.funnel")
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str().to_string(), d.message.clone()))
        .collect()
}

/// The slips a newcomer makes are each one error saying what to type, with no knock-on
/// errors after them, and the declarations that parse are still checked, warnings included.
#[test]
fn misleading_diagnostics_say_what_to_type() {
    let head = "schema {\n  trait region: text\n  trait role: text\n  event form.submitted\n}\n";
    let src = format!(
        "{head}score fit {{\n  +10 when region = \"us-east\"\n}}\n\
         stage MCL {{ enter when form.submitted and score fit > 5 }}\n\
         stage MEL {{ enter when form.submitted AND role == \"cfo\" }}\n\
         stage MQL {{ enter when role == 'cfo' }}\n\
         stage SQL {{ enter when form.submitted and\n}}\n\
         stage SQO {{ enter when form.submitted and nope == 1 }}\n"
    );
    let got = check_codes(&src);
    let messages: Vec<&str> = got.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "a single `=` does not compare",
            "`AND` is written in lowercase: `and`",
            "text is written in double quotes",
            "`and` needs a condition after it",
            "unknown name `nope`",
        ],
        "{got:?}"
    );
    let compiled = funnelc::compile(&src, "t.funnel");
    let quote = &compiled.diagnostics[2];
    assert_eq!(quote.label.as_deref(), Some("write \"cfo\""));
    // The missing operand points at `and`, on its own line, not at the `}` below.
    let and = &compiled.diagnostics[3];
    assert_eq!(&src[and.span.start..and.span.end], "and");
    // A warning in a declaration that parsed is still shown beside a syntax error.
    let warned = format!(
        "{head}stage A {{ enter when form.submitted }}\nmove A -> B when form.submitted\n\
         stage B {{ enter when form.submitted and }}\n"
    );
    let got = check_codes(&warned);
    assert!(
        got.iter().any(|(c, _)| c == "funnel::event_condition"),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|(c, _)| c == "funnel::unknown_stage"),
        "{got:?}"
    );
}

/// A test file (`tests for`) with a broken fixture: `check` and `test` give its syntax error,
/// not "no fixture is named" for the tests that start from it, and still the errors of the
/// declarations that parse.
#[test]
fn a_test_file_with_a_broken_fixture_reports_no_knock_on_error() {
    let dir = fresh_dir("knock-on-tests");
    std::fs::write(
        dir.join("rules.funnel"),
        "schema {\n  event demo.requested\n}\nstage SQL { enter when demo.requested }\n",
    )
    .unwrap();
    let tests = "tests for \"rules.funnel\"\n\n\
                 fixture \"warm lead\" {\n  events { 2025-01-02 demo.requested\n}\n\n\
                 test \"a demo qualifies\" from \"warm lead\" {\n  expect stage SQL\n}\n\n\
                 test \"a typo\" from \"warm lead\" {\n  expect stage SQX\n}\n\n\
                 test \"no such fixture\" from \"cold lead\" {\n  expect stage SQL\n}\n";
    let path = dir.join("rules.test.funnel");
    std::fs::write(&path, tests).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, _) = funnelc(&["check", p, "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let got: Vec<(String, u64)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("funnel::unbalanced".to_string(), 3),
            ("funnel::unknown_stage".to_string(), 12),
            ("funnel::unknown_fixture".to_string(), 15),
        ],
        "{out}"
    );
    // `funnelc test` refuses the file for the same errors, and no others.
    let (code, out, err) = funnelc(&["test", p]);
    assert_ne!(code, 0);
    let all = format!("{out}{err}");
    assert!(all.contains("no fixture is named \"cold lead\""), "{all}");
    assert!(!all.contains("no fixture is named \"warm lead\""), "{all}");
    assert!(all.contains("unknown stage `SQX`"), "{all}");
}

#[test]
fn a_duplicate_stage_meant_as_another_says_so_once() {
    let src = "schema {\n  event form.submitted\n}\nstage SQL { enter when form.submitted }\n\
               stage SQL { enter when form.submitted }\nmove SQL -> SQO on form.submitted\n\
               exit lost from SQO on form.submitted\n";
    let compiled = funnelc::compile(src, "t.funnel");
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].message, "stage `SQL` is declared twice");
    assert!(
        errors[0]
            .help
            .as_deref()
            .unwrap()
            .contains("write `stage SQO` here"),
        "{errors:?}"
    );
}

/// CI formats: JSON keeps secondary places and certain fixes; GitHub annotations and SARIF
/// carry the same diagnostics.
#[test]
fn diagnostics_for_ci_and_editors() {
    let src = "schema {\n  event form.submitted\n}\nstage MCL { enter when form.submitted }\n\
               stage MCL { enter when form.submitted }\nstage MEL { enter when form.submited }\n";
    let path = scratch("ci.funnel", src.as_bytes());
    let p = path.to_str().unwrap();
    let (code, out, _) = funnelc(&["check", p, "--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let diags = doc["diagnostics"].as_array().unwrap();
    let dup = diags
        .iter()
        .find(|d| d["code"] == "funnel::duplicate_name")
        .unwrap();
    assert_eq!(dup["secondary"][0]["label"], "first declared here");
    assert_eq!(dup["secondary"][0]["line"], 4);
    let typo = diags
        .iter()
        .find(|d| d["code"] == "funnel::unknown_event")
        .unwrap();
    let fix = &typo["fixes"][0];
    assert_eq!(fix["replacement"], "form.submitted");
    assert_eq!(fix["applicability"], "machine-applicable");
    let (a, b) = (
        fix["start_byte"].as_u64().unwrap() as usize,
        fix["end_byte"].as_u64().unwrap() as usize,
    );
    assert_eq!(&src[a..b], "form.submited");

    let (code, out, _) = funnelc(&["check", p, "--format", "github"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), diags.len(), "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with("::error file=")
            && l.contains(
                ",line=6,col=24,endLine=6,endColumn=37,title=funnel%3A%3Aunknown_event::"
            )),
        "{out}"
    );

    let (code, out, _) = funnelc(&["check", p, "--format", "sarif"]);
    assert_eq!(code, 1);
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), diags.len());
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "funnel::unknown_event"
            && r["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
                == "form.submitted"));
}

/// `// allow(funnel::CODE): reason` silences one warning at one place; a bad allow is
/// itself reported and silences nothing.
#[test]
fn allow_comments_silence_one_warning_with_a_reason() {
    let src = "schema { event demo.requested }\n\
               // allow(funnel::unused_score): kept for the review\n\
               score a { +20 when demo.requested }\n\
               score b { +20 when demo.requested } // allow(funnel::unused_score): trailing\n\
               score c { +20 when demo.requested } // allow(funnel::unused_score)\n\
               score d { +20 when demo.requested } // allow(funnel::unused_scor): typo\n\
               score e { +20 when demo.requested } // allow(funnel::syntax): an error\n\
               // allow(funnel::unused_segment): nothing to silence\n\
               stage SQL { enter when demo.requested }\n\
               score f { +20 when demo.requested }\n";
    let compiled = funnelc::compile(src, "t.funnel");
    let got: Vec<(usize, &str, &str)> = compiled
        .diagnostics
        .iter()
        .map(|d| {
            let line = src[..d.span.start].matches('\n').count() + 1;
            (line, d.code.short_name(), d.message.as_str())
        })
        .collect();
    assert_eq!(
        got,
        [
            (5, "unused_score", "score `c` is never used"),
            (
                5,
                "bad_allow",
                "the allow of `funnel::unused_score` gives no reason"
            ),
            (6, "unused_score", "score `d` is never used"),
            (6, "bad_allow", "no diagnostic code `funnel::unused_scor`"),
            (7, "unused_score", "score `e` is never used"),
            (
                7,
                "bad_allow",
                "`funnel::syntax` is an error, and only warnings can be allowed"
            ),
            (
                8,
                "bad_allow",
                "nothing here is warned of with `funnel::unused_segment`"
            ),
            (10, "unused_score", "score `f` is never used"),
        ]
    );
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_funnelc"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env("TERM", "xterm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One colour decision for every command: `--color`, else the environment's conventions
/// (the tests' output is a pipe, so `auto` means no colour unless forced).
#[test]
fn colour_follows_the_flag_and_the_environment_in_every_command() {
    let unformatted = scratch(
        "ugly.funnel",
        b"schema {\n event e\n}\nstage A {   enter when e }\n",
    );
    let ugly = unformatted.to_str().unwrap();
    let bad = scratch(
        "bad.funnel",
        b"schema {\n event e\n}\nstage A { enter when f }\n",
    );
    let commands: Vec<Vec<&str>> = vec![
        vec!["check", bad.to_str().unwrap()],
        vec![
            "eval",
            RULES,
            "--leads",
            "examples/leads.jsonl",
            "--as-of",
            "2025-03-01",
        ],
        vec![
            "explain",
            RULES,
            "--leads",
            "examples/leads.jsonl",
            "--lead",
            "L1",
        ],
        vec!["test", RULES],
        vec!["fmt", "--check", ugly],
    ];
    for cmd in &commands {
        let coloured = |extra: &[&str], env: &[(&str, &str)]| {
            let mut a = cmd.clone();
            a.extend_from_slice(extra);
            run_env(&a, env).contains('\u{1b}')
        };
        assert!(
            coloured(&["--color", "always"], &[]),
            "{cmd:?} --color always"
        );
        assert!(
            !coloured(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]),
            "{cmd:?} never"
        );
        assert!(!coloured(&[], &[]), "{cmd:?}: a pipe gets no colour");
        assert!(
            coloured(&[], &[("CLICOLOR_FORCE", "1")]),
            "{cmd:?} CLICOLOR_FORCE"
        );
        assert!(
            !coloured(&[], &[("CLICOLOR_FORCE", "0")]),
            "{cmd:?} CLICOLOR_FORCE=0 forces nothing"
        );
        // no-color.org: an empty NO_COLOR does not turn colour off.
        assert!(
            coloured(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]),
            "{cmd:?}"
        );
        assert!(
            coloured(&["--color=always"], &[("NO_COLOR", "1")]),
            "{cmd:?}: the flag wins"
        );
    }
}

#[test]
fn help_lists_exit_codes_and_examples_and_threads_only_where_leads_are_read() {
    let (code, out, _) = funnelc(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Exit status:") && out.contains("130  interrupted"),
        "{out}"
    );
    for cmd in ["check", "fmt", "test", "eval", "explain", "report"] {
        assert!(out.contains(&format!("  funnelc {cmd} ")), "{cmd}: {out}");
        let (code, help, _) = funnelc(&[cmd, "--help"]);
        assert_eq!(code, 0);
        assert!(help.contains("Example:\n  funnelc "), "{cmd}: {help}");
        // `test` reads the sample leads of snapshots.
        let reads_leads = matches!(cmd, "eval" | "explain" | "report" | "test");
        assert_eq!(help.contains("--threads"), reads_leads, "{cmd}: {help}");
        assert!(help.contains("--color"), "{cmd}: {help}");
    }
    let (code, _, err) = funnelc(&["check", RULES, "-j", "2"]);
    assert_eq!(code, 2, "{err}");
}

/// `funnelc eval ... | head`: the reader going away is not an error. The output pipe is
/// closed before anything is read, so every write meets a broken pipe.
#[test]
fn a_closed_output_pipe_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_funnelc"))
        .args([
            "eval",
            RULES,
            "--leads",
            "examples/leads.jsonl",
            "--as-of",
            "2025-03-01",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("Broken pipe") && !err.contains("error"),
        "{err}"
    );
    assert!(
        err.contains("500 leads"),
        "the summary is still said: {err}"
    );
}
