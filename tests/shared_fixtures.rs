//! Shared fixtures: fixture files named in `funnel.toml`, used by the test files of a project;
//! how a clash, a misspelt name, a missing path and a broken fixture file are told.

use super::rule_tests::{project, run_in, RULES};

const TOML: &str = "[paths]\nrules = [\"rules\"]\nfixtures = \"fixtures\"\n";

/// A lead from marketing's export, kept once for every rule file's tests.
const SHARED: &str = r#"// Leads every test file may start from.
fixture "a cfo with consent" {
  traits { consent: true, role: "cfo" }
  events { 2025-01-01 form.submitted }
}
"#;

const USES: &str = r#"tests for "rules.funnel"

test "a cfo with consent captures" from "a cfo with consent" {
  expect stage MCL
}

test "without consent the cfo is not captured" from "a cfo with consent" {
  traits { consent: false }
  expect not entered MCL
}
"#;

fn shared_project(uses: &str, shared: &str) -> tempfile::TempDir {
    project(&[
        ("funnel.toml", TOML),
        ("rules/rules.funnel", RULES),
        ("rules/rules.test.funnel", uses),
        ("fixtures/leads.funnel", shared),
    ])
}

#[test]
fn a_test_file_starts_from_a_shared_fixture_and_overrides_it() {
    let dir = shared_project(USES, SHARED);
    let (code, stdout, stderr) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    insta::assert_snapshot!(stdout);
    // `check` takes the fixture file for what it is, and the test file with it.
    let (code, stdout, _) = run_in(
        dir.path(),
        &["check", "fixtures/leads.funnel", "rules/rules.test.funnel"],
    );
    assert_eq!(code, 0, "{stdout}");
    // The override matters: without it the second test fails.
    let same = USES.replace("  traits { consent: false }\n", "");
    std::fs::write(dir.path().join("rules/rules.test.funnel"), same).unwrap();
    let (code, stdout, _) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("expected MCL never to be entered; it was at 2025-01-01T00:00:00Z"),
        "{stdout}"
    );
}

#[test]
fn a_clash_and_a_misspelt_name_are_check_errors() {
    let clash = format!(
        "{USES}\nfixture \"a cfo with consent\" {{\n  traits {{ role: \"ceo\" }}\n}}\n\ntest \"typo\" from \"a cfo with consnt\" {{\n  expect stage MCL\n}}\n\ntest \"near the rule file's\" from \"consenting from\" {{\n  expect stage MCL\n}}\n"
    );
    let dir = shared_project(&clash, SHARED);
    let (code, stdout, _) = run_in(dir.path(), &["check", "rules/rules.test.funnel"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
    let (code, _, stderr) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 3, "{stderr}");
    // A fixture of the rule file named like a shared one: a test file naming it is ambiguous.
    let ambiguous = SHARED.replace("a cfo with consent", "consenting form");
    let uses = "tests for \"rules.funnel\"\ntest \"x\" from \"consenting form\" {\n  expect stage MCL\n}\n";
    let dir = shared_project(uses, &ambiguous);
    let (code, stdout, _) = run_in(dir.path(), &["check", "rules/rules.test.funnel"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains(
            "two fixtures are named \"consenting form\": the rule file's and a shared one"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("fixtures/leads.funnel:2"), "{stdout}");
}

#[test]
fn a_missing_fixtures_path_is_a_usage_error() {
    let dir = project(&[
        (
            "funnel.toml",
            "[paths]\nfixtures = [\"fixtures\", \"more/leads.funnel\"]\n",
        ),
        ("rules/rules.funnel", RULES),
        ("fixtures/leads.funnel", SHARED),
    ]);
    for cmd in ["test", "check"] {
        let (code, stdout, stderr) = run_in(dir.path(), &[cmd]);
        assert_eq!(code, 2, "{cmd}: {stdout}{stderr}");
        assert_eq!(
            stderr,
            "error: funnel.toml: `[paths] fixtures` names `more/leads.funnel`, which cannot be \
             read: no such file\n",
            "{cmd}"
        );
    }
}

#[test]
fn a_broken_fixture_file_says_where() {
    // A property missing its value: the file does not parse, its fixture is not known.
    let broken = "fixture \"a cfo with consent\" {\n  traits { consent: true, role: }\n}\n";
    let dir = shared_project(USES, broken);
    let (code, stdout, stderr) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stderr.contains("fixtures/leads.funnel:2:33"), "{stderr}");
    assert!(
        stderr.contains("help: the shared fixture file `fixtures/leads.funnel` does not check"),
        "{stderr}"
    );
    assert!(stdout.contains("2 not run"), "{stdout}");
    // A fixture file that reads, with something other than a fixture in it.
    let stage = format!("{SHARED}\nstage MCL {{ enter when form.submitted }}\n");
    let dir = shared_project(USES, &stage);
    let (code, stdout, _) = run_in(dir.path(), &["check", "fixtures/leads.funnel"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
    // `check` with no path checks the project's fixture files too, outside `rules/` as here.
    let (code, all, _) = run_in(dir.path(), &["check"]);
    assert_eq!(code, 1, "{all}");
    assert!(all.contains(&stdout), "{all}");
    let (code, stdout, stderr) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "error: rules/rules.test.funnel: its tests did not run: the shared fixture \"a cfo \
             with consent\" is in `fixtures/leads.funnel`, which does not check"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("2 not run"), "{stdout}");
    // A fixture that does not fit the schema of the rule file whose tests use it: said in
    // the fixture file.
    let unfit = SHARED.replace("role: \"cfo\"", "title: \"cfo\"");
    let dir = shared_project(USES, &unfit);
    let (code, _, stderr) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("fixtures/leads.funnel:3:"), "{stderr}");
    assert!(stderr.contains("unknown trait `title`"), "{stderr}");
    assert!(
        stderr.contains("was checked against the schema of `rules/rules.funnel`"),
        "{stderr}"
    );
    let (code, stdout, _) = run_in(dir.path(), &["check", "rules/rules.test.funnel"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("fixtures/leads.funnel:3:"), "{stdout}");
}

#[test]
fn fixture_files_under_the_rules_folder_are_no_rule_files() {
    let dir = project(&[
        (
            "funnel.toml",
            "[paths]\nrules = [\"rules\"]\nfixtures = [\"rules/shared/leads.funnel\"]\n",
        ),
        ("rules/rules.funnel", RULES),
        ("rules/rules.test.funnel", USES),
        ("rules/shared/leads.funnel", SHARED),
    ]);
    let (code, stdout, stderr) = run_in(dir.path(), &["check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("rules/shared/leads.funnel: ok\n"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run_in(dir.path(), &["test"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("leads.funnel"), "{stdout}");
    assert!(stdout.starts_with("rules/rules.funnel\n"), "{stdout}");
}
