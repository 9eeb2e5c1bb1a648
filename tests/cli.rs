//! The command line as a user meets it: exit codes, output formats, bad input.

use crate::common::{funnelc, shipped_rules, temp_file};
use std::path::Path;

const BROKEN: &str = "schema {\n  event email.opened { step: int }\n}\n\nstage MCL {\n  enter when email.opend\n}\n\nstage MEL {\n  enter when count email.opened >= 40%\n}\n";

#[test]
fn shipped_rules_check_clean() {
    let files = shipped_rules();
    assert!(files.len() >= 3);
    let mut args = vec!["check", "--deny-warnings"];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, _) = funnelc(&args);
    assert_eq!(code, 0, "{stdout}");
    for f in &files {
        assert!(stdout.contains(&format!("{f}: ok")), "{stdout}");
    }
}

#[test]
fn errors_exit_one_and_report_every_mistake() {
    let path = temp_file("broken.funnel", BROKEN.as_bytes());
    let (code, stdout, _) = funnelc(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    let shown = stdout.replace(path.to_str().unwrap(), "broken.funnel");
    insta::assert_snapshot!(shown);
}

#[test]
fn json_diagnostics_for_machines() {
    let path = temp_file("broken-json.funnel", BROKEN.as_bytes());
    let (code, stdout, _) = funnelc(&["check", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["errors"], 2);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["code"], "funnel::unknown_event");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["line"], 6);
    assert_eq!(first["column"], 14);
    assert_eq!(first["help"], "did you mean `email.opened`?");
    let second = &doc["diagnostics"][1];
    assert_eq!(second["code"], "funnel::type_mismatch");
    assert_eq!(second["line"], 10);
}

#[test]
fn warnings_pass_unless_denied() {
    let src = "schema {\n  event form.submitted\n}\nsegment unused = form.submitted\nstage MCL {\n  enter when form.submitted\n}\n";
    let path = temp_file("warn.funnel", src.as_bytes());
    let p = path.to_str().unwrap();
    let (code, stdout, _) = funnelc(&["check", p]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("0 errors, 1 warning"), "{stdout}");
    let (code, _, _) = funnelc(&["check", "--deny-warnings", p]);
    assert_eq!(code, 1);
}

#[test]
fn unreadable_file_is_a_usage_error() {
    let (code, _, stderr) = funnelc(&["check", "no/such/file.funnel"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: cannot read `no/such/file.funnel`: no such file\n"
    );
    let (code, _, _) = funnelc(&["check"]);
    assert_eq!(code, 2);
    let (code, _, _) = funnelc(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn bad_bytes_get_a_diagnostic_not_a_panic() {
    let mut bytes = b"stage MCL {\n  enter when x\n}\n".to_vec();
    bytes.insert(20, 0xff);
    let path = temp_file("latin1.funnel", &bytes);
    let (code, stdout, stderr) = funnelc(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("funnel::not_utf8"), "{stdout}");
    assert!(stdout.contains(":2:9]"), "{stdout}");
}

#[test]
fn hostile_inputs_never_crash() {
    let big_ident = format!(
        "schema {{\n  event e\n}}\nstage A {{\n  enter when {}\n}}\n",
        "x".repeat(1 << 20)
    );
    let nested = format!(
        "schema {{\n  event e\n}}\nstage A {{\n  enter when {}e{}\n}}\n",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let nots = format!(
        "schema {{\n  event e\n}}\nstage A {{\n  enter when {}e\n}}\n",
        "not ".repeat(50_000)
    );
    let long_or = format!(
        "schema {{\n  event e\n}}\nstage A {{\n  enter when e{}\n}}\n",
        " or e".repeat(200_000)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ident", big_ident.into_bytes()),
        ("nested", nested.into_bytes()),
        ("nots", nots.into_bytes()),
        ("long-or", long_or.into_bytes()),
        ("nul", b"stage A {\n  enter when \0 x\n}\n".to_vec()),
        ("only-braces", "}".repeat(100_000).into_bytes()),
        ("unterminated", b"stage A \"never closed\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let path = temp_file(&format!("{name}.funnel"), &bytes);
        let (code, stdout, stderr) = funnelc(&["check", path.to_str().unwrap()]);
        assert!(code == 0 || code == 1, "{name}: exit {code}\n{stderr}");
        assert!(stderr.is_empty(), "{name}: {stderr}");
        assert!(
            stdout.contains("funnel::") || stdout.contains(": ok"),
            "{name}"
        );
    }
}

#[test]
fn ten_megabyte_file_checks() {
    // Many stages, each naming the events: a big but legal file.
    let mut src =
        String::from("schema {\n  event form.submitted\n  event email.opened { step: int }\n}\n");
    let mut i = 0;
    while src.len() < 10 << 20 {
        src.push_str(&format!(
            "stage S{i} \"Stage {i}\" owner marketing {{\n  enter when form.submitted and count email.opened where step in [1, 2, 3] >= {} or email.opened within 14d\n}}\n\n",
            i % 5
        ));
        i += 1;
    }
    let path = temp_file("ten-mb.funnel", src.as_bytes());
    let (code, stdout, _) = funnelc(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{}", &stdout[..stdout.len().min(2000)]);
    assert!(Path::new(&path).exists());
}

#[test]
fn shipped_files_are_formatted() {
    let mut files: Vec<String> = ["rules", "examples"]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten())
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".funnel"))
        .collect();
    files.sort();
    let mut args = vec!["fmt", "--check"];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, stderr) = funnelc(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn fmt_check_shows_a_diff_and_fmt_rewrites() {
    let messy = "stage   MCL {\nenter when form.submitted   and consent // why\n}\nschema { trait consent: bool\nevent form.submitted }\n";
    let path = temp_file("messy.funnel", messy.as_bytes());
    let p = path.to_str().unwrap();
    let (code, stdout, _) = funnelc(&["fmt", "--check", p]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout.replace(p, "messy.funnel"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        messy,
        "--check wrote the file"
    );
    let (code, _, stderr) = funnelc(&["fmt", p]);
    assert_eq!(code, 0, "{stderr}");
    let formatted = std::fs::read_to_string(&path).unwrap();
    let (code, stdout, _) = funnelc(&["fmt", "--check", p]);
    assert_eq!(code, 0, "not idempotent:\n{stdout}");
    assert!(formatted.contains("// why"));
}

#[test]
fn fmt_refuses_a_file_that_does_not_parse() {
    let path = temp_file("broken-fmt.funnel", b"stage A {\n  enter when (x\n}\n");
    let (code, _, stderr) = funnelc(&["fmt", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not formatted"), "{stderr}");
}

#[test]
fn human_and_json_columns_agree_on_non_ascii_lines() {
    let f = "tests/fixtures/check/hebrew-text-misspelt-trait.funnel";
    let (_, human, _) = funnelc(&["check", f]);
    let (_, json, _) = funnelc(&["check", "--format", "json", f]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let d = &doc["diagnostics"][0];
    let at = format!("{f}:{}:{}]", d["line"], d["column"]);
    assert!(human.contains(&at), "{at} not in\n{human}");
}

#[test]
fn a_large_schema_parsed_in_pieces_reads_the_same_as_whole() {
    // Above 256 KB a schema block is parsed in pieces; the result must not change, and an
    // error in one piece must still be reported with its place.
    let mut src = String::from("schema {\n");
    for i in 0..12_000 {
        src.push_str(&format!(
            "  trait t{i}.x: int // trait {i}\n  event e{i} {{ a: text, b: int }}\n"
        ));
    }
    src.push_str("}\n\nstage A {\n  enter when e1 and t5.x > 3\n}\n");
    assert!(src.len() > 300 << 10);
    let big = funnelc::syntax::parse(&src);
    assert!(big.diagnostics.is_empty());
    let funnelc::syntax::ast::Item::Schema(s) = &big.file.items[0] else {
        panic!("no schema")
    };
    assert_eq!(s.entries.len(), 24_000);
    let compiled = funnelc::compile(&src, "big.funnel");
    assert!(compiled.diagnostics.is_empty());
    let broken = src.replace("  trait t7000.x: int", "  trait t7000.x: integer");
    let (code, stdout, _) = funnelc(&[
        "check",
        temp_file("bigschema.funnel", broken.as_bytes())
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("bigschema.funnel:14002:18]"),
        "{}",
        &stdout[..stdout.len().min(800)]
    );
}

#[test]
fn rule_file_tests_run() {
    let files = shipped_rules();
    let mut args = vec!["test"];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, stderr) = funnelc(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.ends_with("35 passed, 0 failed\n"), "{stdout}");
}

/// The shipped models are the demonstration of rule tests: their tests exercise every stage,
/// move, exit, score rule and condition branch, and a rule added without a test fails here.
#[test]
fn shipped_rules_are_fully_covered_by_their_tests() {
    let (code, stdout, stderr) =
        funnelc(&["test", "rules", "--coverage", "--min-coverage", "100%"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn a_failing_rule_file_test_says_what_differs() {
    let src = "schema {\n  trait consent: bool\n  event form.submitted\n  event email.opened\n}\n\nstage MCL {\n  enter when form.submitted and consent\n}\n\nstage MEL {\n  enter when email.opened\n}\n\ntest \"captured and engaged\" {\n  traits { consent: true }\n  events {\n    2025-01-01 form.submitted\n  }\n  expect stage MEL\n  expect entered MCL at 2025-01-02\n  expect not entered MCL\n}\n";
    let path = temp_file("failing-test.funnel", src.as_bytes());
    let p = path.to_str().unwrap();
    let (code, stdout, _) = funnelc(&["test", p]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout.replace(p, "failing-test.funnel"));
}

#[test]
fn a_test_as_of_a_bare_date_sees_that_whole_day() {
    // As for `eval --as-of`: a bare date is the end of the day, so the evening's event
    // counts; midnight written out does not see it.
    let src = "schema {\n  event form.submitted\n  event ping\n}\n\nstage MCL {\n  enter when form.submitted\n}\n\ntest \"the day counts\" {\n  as of 2025-01-05\n  events {\n    2025-01-01 ping\n    2025-01-05T21:00:00Z form.submitted\n  }\n  expect stage MCL\n}\n\ntest \"midnight does not\" {\n  as of 2025-01-05T00:00:00Z\n  events {\n    2025-01-01 ping\n    2025-01-05T21:00:00Z form.submitted\n  }\n  expect not entered MCL\n}\n";
    let path = temp_file("as-of-day.funnel", src.as_bytes());
    let (code, stdout, stderr) = funnelc(&["test", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn explain_a_diagnostic_code() {
    let (code, stdout, stderr) = funnelc(&["check", "--explain", "unknown_event"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let (_, prefixed, _) = funnelc(&["check", "--explain", "funnel::unknown_event"]);
    assert_eq!(prefixed, stdout);
    insta::assert_snapshot!(stdout);
}

#[test]
fn explain_without_a_code_lists_every_code() {
    let (code, stdout, stderr) = funnelc(&["check", "--explain"]);
    assert_eq!(code, 0, "{stderr}");
    for c in funnelc::diag::Code::ALL {
        let line = format!("\n{c} ");
        assert!(format!("\n{stdout}").contains(&line), "{c} is not listed");
    }
    insta::assert_snapshot!(stdout);
}

#[test]
fn explain_an_unknown_code_is_a_usage_error() {
    let (code, stdout, stderr) = funnelc(&["check", "--explain", "funnel::unknown_evnt"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    insta::assert_snapshot!(stderr);
    let (code, _, stderr) = funnelc(&["check", "--explain", "frobnicated"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`funnelc check --explain` lists every code"),
        "{stderr}"
    );
    // Explaining is its own mode: rule files with it are a mistake, not ignored.
    let (code, _, _) = funnelc(&["check", "--explain", "syntax", "rules/aida.funnel"]);
    assert_eq!(code, 2);
}

#[test]
fn the_not_utf8_explanation_example_is_real() {
    use funnelc::diag::Code;
    // The example is shown as UTF-8 text; its mistake is the same text saved as Windows-1252.
    let latin1: Vec<u8> = Code::NotUtf8
        .mistake()
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let path = temp_file("cafe-1252.funnel", &latin1);
    let (code, stdout, _) = funnelc(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("funnel::not_utf8"), "{stdout}");
    let path = temp_file("cafe-utf8.funnel", Code::NotUtf8.fix().as_bytes());
    let (code, stdout, _) = funnelc(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
}

/// A mistake past column 65,535 is shown around its label with its true column, in every
/// command that renders diagnostics; thousands of mistakes are drawn up to a limit and
/// counted after it, and the run ends with exit 1, never a panic.
#[test]
fn long_lines_and_many_mistakes_are_shown_in_part() {
    // 200 operators (within the one limit on a condition) spread over 100,000 characters.
    let chain = format!(
        "{}{}{}",
        "a or ".repeat(100),
        " ".repeat(99_000),
        "a or ".repeat(100)
    );
    // An unknown name for `check` and `test`; a syntax error for `fmt`, which does not check.
    let unknown = format!("schema {{ event a }}\nstage A {{ enter when {chain}zz }}\n");
    let broken = format!("schema {{ event a }}\nstage A {{ enter when {chain}or }}\n");
    let unknown = temp_file("long-line.funnel", unknown.as_bytes());
    let broken = temp_file("long-line-broken.funnel", broken.as_bytes());
    let (u, b) = (unknown.to_str().unwrap(), broken.to_str().unwrap());
    for cmd in [vec!["check", u], vec!["test", u], vec!["fmt", "--check", b]] {
        let (code, stdout, stderr) = funnelc(&cmd);
        let shown = format!("{stdout}{stderr}");
        // Never the whole line in a failure message: it is 100,000 characters.
        let head: String = shown.chars().take(600).collect();
        // `test` tells a file that does not check (3) from tests that failed (1).
        let want = if cmd[0] == "test" { 3 } else { 1 };
        assert_eq!(code, want, "{cmd:?}: {head}");
        assert!(
            shown.len() < 4_000,
            "{cmd:?}: {} bytes: {head}",
            shown.len()
        );
        assert!(shown.contains(":2:10002"), "{cmd:?}: {head}");
        assert!(shown.contains("a or…a or"), "{cmd:?}: {head}");
    }
    let mut many = String::from("schema { event a }\n");
    for i in 0..16_000 {
        many.push_str(&format!("stage S{i} {{ enter when zz{i} }}\n"));
    }
    let path = temp_file("many-mistakes.funnel", many.as_bytes());
    let (code, stdout, _) = funnelc(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(stdout.matches("× unknown name").count(), 100);
    assert!(
        stdout.contains("… and 15900 more diagnostics in"),
        "{}",
        &stdout[stdout.len() - 300..]
    );
    assert!(stdout.ends_with("16000 errors, 0 warnings\n"));
    let (_, json, _) = funnelc(&["check", "--format", "json", path.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["diagnostics"].as_array().unwrap().len(), 16_000);
}

/// `fmt` rewrites the file a symbolic link points to, leaves the link a link, and keeps the
/// file's permissions.
#[cfg(unix)]
#[test]
fn fmt_writes_through_links_and_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let messy = "schema {event a}\nstage A {enter when a}\n";
    for mode in [0o600, 0o440] {
        let real = temp_file(&format!("real-{mode:o}.funnel"), messy.as_bytes());
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(mode)).unwrap();
        let link = real.with_file_name(format!("link-{mode:o}.funnel"));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let (code, _, stderr) = funnelc(&["fmt", link.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let text = std::fs::read_to_string(&real).unwrap();
        assert!(text.starts_with("schema {\n  event a\n}\n"), "{text}");
        let got = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "{got:o}");
    }
}
