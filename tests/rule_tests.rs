//! `funnelc test` as a user meets it: test files beside the rules, fixtures, tables of cases,
//! the three output formats, coverage, exit codes, and the check errors of tests.

use std::path::Path;
use std::process::Command;

/// A project in a scratch folder: the rule file, its test file and a table of cases below.
pub(crate) const RULES: &str = r#"schema {
  trait consent: bool
  trait role: text
  event form.submitted
  event email.opened
  event sales.returned
}

score interest {
  +10 per email.opened max 30
  +5 when form.submitted
}

stage MCL {
  enter when form.submitted and consent
}

stage MEL {
  enter when count email.opened >= 2
}

move MEL -> MCL on sales.returned

fixture "consenting form" {
  traits { consent: true, role: "cfo" }
  events { 2025-01-01 form.submitted }
}

test "a form with consent captures" from "consenting form" {
  expect stage MCL
}
"#;

const TESTS: &str = r#"tests for "rules.funnel"

test "two opens engage" from "consenting form" {
  events {
    2025-01-02 email.opened
    2025-01-03 email.opened
  }
  expect stage MEL
  expect stage MCL at 2025-01-02
  expect entered MEL at 2025-01-03 by enter on email.opened
  expect score interest == 25
}

test "a returned lead is back in MCL by the move" from "consenting form" {
  events {
    2025-01-02 email.opened
    2025-01-03 email.opened
    2025-01-04 sales.returned
  }
  expect entered MCL at 2025-01-04 by move from MEL on sales.returned
}

cases "consent decides" from "consenting form" {
  rows "cases/consent.csv"
}
"#;

const CASES: &str = "name,consent,expect stage,expect score interest\nwith consent,true,MCL,== 5\nwithout,false,,== 5\n";

const FAILING: &str = r#"tests for "rules.funnel"

test "one open is not enough" from "consenting form" {
  events { 2025-01-02 email.opened }
  expect stage MEL
  expect score interest >= 20
}
"#;

pub(crate) fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn passing() -> tempfile::TempDir {
    project(&[
        ("rules.funnel", RULES),
        ("rules.test.funnel", TESTS),
        ("cases/consent.csv", CASES),
    ])
}

/// Runs `funnelc` in `dir`: (exit code, stdout, stderr).
pub(crate) fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_funnelc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_passing_project() {
    let dir = passing();
    let (code, stdout, stderr) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    insta::assert_snapshot!(stdout);
    // A folder named on the command line is the same as the current one.
    let (_, named, _) = run_in(
        dir.path().parent().unwrap(),
        &["test", dir.path().to_str().unwrap()],
    );
    assert_eq!(
        named.replace(&format!("{}/", dir.path().display()), ""),
        stdout
    );
}

#[test]
fn a_failing_test_shows_expected_actual_and_the_explanation() {
    let dir = project(&[("rules.funnel", RULES), ("more.test.funnel", FAILING)]);
    let (code, stdout, _) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 1, "{stdout}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn the_same_output_on_one_thread_and_on_several() {
    let dir = project(&[
        ("rules.funnel", RULES),
        ("rules.test.funnel", TESTS),
        ("cases/consent.csv", CASES),
        ("more.test.funnel", FAILING),
    ]);
    for format in ["human", "json", "junit"] {
        let one = run_in(
            dir.path(),
            &["test", "-j", "1", "--coverage", "--format", format],
        );
        let two = run_in(
            dir.path(),
            &["test", "-j", "2", "--coverage", "--format", format],
        );
        assert_eq!(one, two, "{format}");
    }
}

#[test]
fn junit_for_ci() {
    let dir = project(&[("rules.funnel", RULES), ("more.test.funnel", FAILING)]);
    let (code, stdout, _) = run_in(dir.path(), &["test", "--format", "junit"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
}

#[test]
fn json_results() {
    let dir = project(&[("rules.funnel", RULES), ("more.test.funnel", FAILING)]);
    let (code, stdout, _) = run_in(
        dir.path(),
        &["test", "--format", "json", "--filter", "OPEN"],
    );
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["passed"], 0);
    assert_eq!(doc["failed"], 1);
    assert_eq!(doc["filtered"], 1);
    assert_eq!(doc["tests"][0]["name"], "one open is not enough");
    assert_eq!(
        doc["tests"][0]["failures"][0],
        "expected stage MEL, got MCL"
    );
}

#[test]
fn coverage_names_what_no_test_exercised() {
    let dir = passing();
    let (code, stdout, _) = run_in(dir.path(), &["test", "--coverage", "--filter", "captures"]);
    assert_eq!(code, 0, "{stdout}");
    insta::assert_snapshot!(stdout);
    // Below the threshold the run fails; at it, it passes.
    let (code, _, stderr) = run_in(dir.path(), &["test", "--min-coverage", "90%"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run_in(
        dir.path(),
        &["test", "--filter", "captures", "--min-coverage", "50%"],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("below --min-coverage 50%"), "{stderr}");
    let (code, _, _) = run_in(dir.path(), &["test", "--min-coverage", "150%"]);
    assert_eq!(code, 2);
}

/// A stage entered by consent or by the role: a test of each alternative, or of one only.
const EITHER: &str = r#"schema {
  trait consent: bool
  trait role: text
  event form.submitted
}

stage MCL {
  enter when form.submitted and (consent or role == "cfo")
}

fixture "form" {
  events { 2025-01-01 form.submitted }
}

test "consent captures" from "form" {
  traits { consent: true, role: "intern" }
  expect stage MCL
}
"#;

const CFO: &str = r#"tests for "rules.funnel"

test "a cfo is captured without consent" from "form" {
  traits { consent: false, role: "cfo" }
  expect stage MCL
}
"#;

#[test]
fn coverage_names_an_alternative_no_test_took() {
    let dir = project(&[("rules.funnel", EITHER)]);
    let (code, stdout, stderr) = run_in(dir.path(), &["test", "--coverage"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout);
    assert!(
        stdout.contains("not exercised: branch `role == \"cfo\"` of stage MCL (rules.funnel:8:45)"),
        "{stdout}"
    );
    let (_, json, _) = run_in(dir.path(), &["test", "--coverage", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let items = doc["coverage"]["files"][0]["items"].as_array().unwrap();
    let branches: Vec<_> = items.iter().filter(|i| i["kind"] == "branch").collect();
    assert_eq!(branches.len(), 2, "{json}");
    assert_eq!(branches[0]["name"], "`consent` of stage MCL");
    assert_eq!(branches[0]["hit"], true);
    assert_eq!(branches[1]["line"], 8);
    assert_eq!(branches[1]["column"], 45);
    assert_eq!(branches[1]["hit"], false);
    assert_eq!(doc["coverage"]["exercised"], 2);
    assert_eq!(doc["coverage"]["total"], 3);
    // The stage is entered: only the untaken alternative keeps coverage below 100%.
    let (code, _, stderr) = run_in(dir.path(), &["test", "--min-coverage", "100%"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("exercise 66.7% of the rules, below --min-coverage 100%"),
        "{stderr}"
    );
    // A test of the other alternative, in a test file: every branch taken.
    std::fs::write(dir.path().join("rules.test.funnel"), CFO).unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["test", "--min-coverage", "100%"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("3 of 3"), "{stdout}");
}

#[test]
fn exit_codes_tell_failed_tests_from_files_that_do_not_check() {
    // A test naming an unknown stage: the test file does not check (3), nothing runs.
    let bad = "tests for \"rules.funnel\"\n\ntest \"x\" {\n  expect stage MQL\n}\n";
    let dir = project(&[("rules.funnel", RULES), ("bad.test.funnel", bad)]);
    let (code, stdout, stderr) = run_in(dir.path(), &["test", "bad.test.funnel"]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(
        stdout,
        "0 passed, 0 failed, 1 not run (their file does not check)\n"
    );
    assert!(stderr.contains("unknown stage `MQL`"), "{stderr}");
    assert!(stderr.contains("bad.test.funnel:4:16"), "{stderr}");
    // The same through `check`, which takes test files too.
    let (code, stdout, _) = run_in(dir.path(), &["check", "bad.test.funnel"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("unknown stage `MQL`"), "{stdout}");
    // A test named like one of the rule file's.
    let twice = "tests for \"rules.funnel\"\n\ntest \"a form with consent captures\" {\n  expect stage MCL\n}\n";
    std::fs::write(dir.path().join("bad.test.funnel"), twice).unwrap();
    let (code, stdout, _) = run_in(dir.path(), &["check", "bad.test.funnel"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("the rule file has a test named \"a form with consent captures\" already"),
        "{stdout}"
    );
    // A path that does not exist is a usage error.
    let (code, _, _) = run_in(dir.path(), &["test", "nowhere"]);
    assert_eq!(code, 2);
}

#[test]
fn test_names_and_fixtures_are_checked() {
    let src = format!(
        "{RULES}\ntest \"a form with consent captures\" {{\n  expect stage MCL\n}}\n\ntest \"y\" from \"consenting from\" {{\n  expect stage MCL\n}}\n"
    );
    let dir = project(&[("rules.funnel", &src)]);
    let (code, stdout, _) = run_in(dir.path(), &["check", "rules.funnel"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
}

#[test]
fn a_table_of_cases_with_a_mistake_says_where() {
    let rows = "name,consent,colour,expect stage\na,true,red,MCL\nb,true,,SQL\n";
    let dir = project(&[
        ("rules.funnel", RULES),
        ("rules.test.funnel", TESTS),
        ("cases/consent.csv", rows),
    ]);
    let (code, stdout, stderr) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 3);
    // The table's tests did not run, and the summary says so.
    assert!(
        stdout.ends_with(", 1 not run (their file does not check)\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "cases/consent.csv:1: column 3 `colour`: no trait of the schema has this path"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "cases/consent.csv:3: column `expect stage`: `expect stage SQL`: unknown stage `SQL`"
        ),
        "{stderr}"
    );
}

#[test]
fn cases_from_json_lines() {
    let rows = "{\"name\": \"cfo\", \"role\": \"cfo\", \"expect stage\": \"MCL\"}\n\n{\"consent\": false, \"expect not entered\": \"MCL\"}\n";
    let tests = "tests for \"rules.funnel\"\ncases \"roles\" from \"consenting form\" {\n  rows \"roles.jsonl\"\n}\n";
    let dir = project(&[
        ("rules.funnel", RULES),
        ("r.test.funnel", tests),
        ("roles.jsonl", rows),
    ]);
    let (code, stdout, stderr) = run_in(dir.path(), &["test", "--filter", "roles"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ok      roles / cfo\n"), "{stdout}");
    assert!(stdout.contains("ok      roles / row 2\n"), "{stdout}");
}

const LEADS: &str = r#"{"id": "L1", "traits": {"consent": true}, "events": [{"type": "form.submitted", "at": "2025-01-01"}, {"type": "email.opened", "at": "2025-01-02"}, {"type": "email.opened", "at": "2025-01-03"}]}
{"id": "L2", "traits": {"consent": true}, "events": [{"type": "form.submitted", "at": "2025-01-01"}, {"type": "email.opened", "at": "2025-01-05"}]}
{"id": "L3", "traits": {"consent": false}, "events": [{"type": "form.submitted", "at": "2025-01-01"}]}
"#;

const SNAPSHOT: &str = "tests for \"rules.funnel\"\n\nsnapshot \"january\" {\n  leads \"leads.jsonl\"\n  as of 2025-01-31\n}\n";

fn with_snapshot() -> tempfile::TempDir {
    project(&[
        ("rules.funnel", RULES),
        ("leads.jsonl", LEADS),
        ("snap.test.funnel", SNAPSHOT),
    ])
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

#[test]
fn a_new_snapshot_is_pending_until_accepted() {
    let dir = with_snapshot();
    let p = dir.path();
    let (code, stdout, _) = run_in(p, &["test", "--filter", "snapshot"]);
    assert_eq!(code, 1, "{stdout}");
    insta::assert_snapshot!("pending", stdout);
    let pending = read(p, "snapshots/january.snap.new").unwrap();
    assert!(read(p, "snapshots/january.snap").is_none());
    insta::assert_snapshot!("stored", pending);
    let (code, stdout, stderr) = run_in(p, &["test", "--accept"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.ends_with("\naccepted snapshots/january.snap\n"),
        "{stderr}"
    );
    assert_eq!(read(p, "snapshots/january.snap").unwrap(), pending);
    assert!(read(p, "snapshots/january.snap.new").is_none());
    let (code, stdout, stderr) = run_in(p, &["test"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("ok      snapshot \"january\"\n"),
        "{stdout}"
    );
}

#[test]
fn a_changed_rule_shows_what_moved() {
    let dir = with_snapshot();
    let p = dir.path();
    let (code, _, _) = run_in(p, &["test", "--accept"]);
    assert_eq!(code, 0);
    let stored = read(p, "snapshots/january.snap").unwrap();
    // One open is enough now: L2 moves from MCL to MEL.
    let changed = RULES.replace("count email.opened >= 2", "count email.opened >= 1");
    std::fs::write(p.join("rules.funnel"), changed).unwrap();
    let (code, stdout, _) = run_in(p, &["test", "--filter", "january"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("changed", stdout);
    assert_eq!(read(p, "snapshots/january.snap").unwrap(), stored);
    let pending = read(p, "snapshots/january.snap.new").unwrap();
    assert!(pending.contains("L2\tMEL\t"), "{pending}");
    // The same on one thread.
    let (_, one, _) = run_in(p, &["test", "-j", "1", "--filter", "january"]);
    assert_eq!(one, stdout);
}

#[test]
fn ci_never_writes_a_snapshot() {
    let dir = with_snapshot();
    let p = dir.path();
    let ci = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_funnelc"))
            .args(args)
            .current_dir(p)
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .output()
            .unwrap()
    };
    let out = ci(&["test"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("with CI=true nothing is written"),
        "{stdout}"
    );
    assert!(!p.join("snapshots").exists());
    // `--accept` in CI is refused, and writes nothing either.
    let out = ci(&["test", "--accept"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!p.join("snapshots").exists());
    // A stored snapshot that no longer matches fails, and nothing is written beside it.
    let (code, _, _) = run_in(p, &["test", "--accept"]);
    assert_eq!(code, 0);
    let changed = RULES.replace("count email.opened >= 2", "count email.opened >= 1");
    std::fs::write(p.join("rules.funnel"), changed).unwrap();
    let out = ci(&["test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!p.join("snapshots/january.snap.new").exists());
}

#[test]
fn a_hand_edited_snapshot_says_where_and_how_to_mend_it() {
    let dir = with_snapshot();
    let p = dir.path();
    run_in(p, &["test", "--accept"]);
    let stored = read(p, "snapshots/january.snap").unwrap();
    let edited = stored.replace("L2\tMCL\t", "L2\tMCL ");
    std::fs::write(p.join("snapshots/january.snap"), edited).unwrap();
    let (code, stdout, _) = run_in(p, &["test"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("`snapshots/january.snap` line 6 is not as funnelc writes snapshots: expected 4 fields separated by tabs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("`funnelc test --accept` writes it again"),
        "{stdout}"
    );
    run_in(p, &["test", "--accept"]);
    assert_eq!(read(p, "snapshots/january.snap").unwrap(), stored);
}

#[test]
fn init_then_test_is_green() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let (code, init, stderr) = run_in(p, &["init", "project"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("init", init);
    let project = p.join("project");
    let (code, test, stderr) = run_in(&project, &["test"]);
    assert_eq!(code, 0, "{test}{stderr}");
    assert_eq!(stderr, "", "the starter files have no warnings");
    insta::assert_snapshot!("init_test", test);
    // `check` with no path checks the project's rules, test files included.
    let (code, stdout, _) = run_in(&project, &["check"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout,
        "rules/funnel.funnel: ok\nrules/funnel.test.funnel: ok\n"
    );
    // From a folder below, the project is the same.
    let (_, below, _) = run_in(&project.join("data"), &["test"]);
    assert_eq!(below, test.replace("rules/", "../rules/"));
    // No second init over a project.
    let (code, _, stderr) = run_in(p, &["init", "project"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("is a project already"), "{stderr}");
}

#[test]
fn the_project_file_gives_defaults_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    run_in(p, &["init"]);
    let toml = std::fs::read_to_string(p.join("funnel.toml")).unwrap();
    let toml = toml.replace("# as_of = \"2025-03-31\"", "as_of = \"2025-01-07\"");
    std::fs::write(p.join("funnel.toml"), toml).unwrap();
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "rules/funnel.funnel",
            "--leads",
            "data/sample.jsonl",
            "--format",
            "jsonl",
        ];
        args.extend(extra);
        let (code, stdout, stderr) = run_in(p, &args);
        assert_eq!(code, 0, "{stderr}");
        stdout.lines().next().unwrap().to_string()
    };
    assert!(
        eval(&[]).contains("\"as_of\":\"2025-01-07T23:59:59.999Z\""),
        "{}",
        eval(&[])
    );
    assert!(eval(&["--as-of", "2025-02-01"]).contains("\"as_of\":\"2025-02-01T23:59:59.999Z\""));
    // A misspelt key is an error, not a key ignored.
    std::fs::write(p.join("funnel.toml"), "[defaults]\nasof = \"2025-01-07\"\n").unwrap();
    let (code, _, stderr) = run_in(p, &["test"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("funnel.toml:1: unknown field `asof`, expected one of `as_of`"),
        "{stderr}"
    );
}

#[test]
fn review_asks_on_a_terminal_only() {
    let dir = with_snapshot();
    let p = dir.path();
    let (code, _, stderr) = run_in(p, &["test", "--review"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--review asks on a terminal"), "{stderr}");
    // On a terminal (util-linux `script` gives one), `y` accepts the pending snapshot.
    let has_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_script {
        eprintln!("no `script` here: the terminal half of this test did not run");
        return;
    }
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("{} test --review", env!("CARGO_BIN_EXE_funnelc")),
            "/dev/null",
        ])
        .current_dir(p)
        .env_remove("CI")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("accepted snapshots/january.snap"), "{shown}");
    assert!(read(p, "snapshots/january.snap").is_some());
    assert!(read(p, "snapshots/january.snap.new").is_none());
}
