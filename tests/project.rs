//! A project's rule file and lead data as defaults: `funnelc eval` (and `explain`, `report`,
//! `diff --rev`) in a folder with a `funnel.toml` runs the project's one rule file on its
//! `[paths] leads`, says so, and refuses to guess between several rule files.

use std::path::Path;

use super::rule_tests::run_in;

/// A project made by `funnelc init` in a scratch folder.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_in(dir.path(), &["init"]);
    assert_eq!(code, 0, "{stderr}");
    dir
}

/// Runs funnelc in `dir`, expecting success: (stdout, stderr).
fn ok(dir: &Path, args: &[&str]) -> (String, String) {
    let (code, stdout, stderr) = run_in(dir, args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    (stdout, stderr)
}

#[test]
fn eval_explain_and_report_take_the_projects_rule_file_and_leads() {
    let dir = project();
    let p = dir.path();
    let named = ["rules/funnel.funnel", "--leads", "data/sample.jsonl"];
    for (command, extra) in [
        ("eval", &[][..]),
        ("eval", &["--format", "csv"][..]),
        ("explain", &["--lead", "L1"][..]),
        ("report", &["--format", "md"][..]),
    ] {
        let (out, err) = ok(p, &[&[command][..], extra].concat());
        let (want, _) = ok(p, &[&[command][..], &named[..], extra].concat());
        assert_eq!(out, want, "{command} {extra:?}");
        assert!(
            err.starts_with(
                "note: from funnel.toml: rules rules/funnel.funnel, leads data/sample.jsonl\n"
            ),
            "{err}"
        );
    }
    // Only what the command line leaves out is taken, and said.
    let (_, err) = ok(p, &["eval", "rules/funnel.funnel"]);
    assert!(
        err.starts_with("note: from funnel.toml: leads data/sample.jsonl\n"),
        "{err}"
    );
    let (_, err) = ok(p, &["eval", "--leads", "data/sample.jsonl"]);
    assert!(
        err.starts_with("note: from funnel.toml: rules rules/funnel.funnel\n"),
        "{err}"
    );
    let (_, err) = ok(p, &[&["eval"][..], &named[..]].concat());
    assert!(!err.contains("note: from"), "{err}");
    // From a folder below, paths are said as they would be typed there.
    let (below, err) = ok(&p.join("data"), &["eval", "--format", "jsonl"]);
    let (want, _) = ok(p, &["eval", "--format", "jsonl"]);
    assert_eq!(below, want);
    assert!(
        err.starts_with(
            "note: from ../funnel.toml: rules ../rules/funnel.funnel, leads ../data/sample.jsonl\n"
        ),
        "{err}"
    );
}

#[test]
fn several_rule_files_are_never_guessed_between() {
    let dir = project();
    let p = dir.path();
    // Test files and shared fixture files are not rule files.
    std::fs::create_dir_all(p.join("rules/shared")).unwrap();
    std::fs::write(
        p.join("rules/shared/leads.funnel"),
        "fixture \"a form\" {\n  events { 2025-01-01 form.submitted }\n}\n",
    )
    .unwrap();
    let toml = std::fs::read_to_string(p.join("funnel.toml")).unwrap();
    let toml = toml.replace(
        "# fixtures = [\"fixtures\"]",
        "fixtures = [\"rules/shared\"]",
    );
    std::fs::write(p.join("funnel.toml"), toml).unwrap();
    ok(p, &["eval"]);
    // A second rule file: the command must name one.
    std::fs::copy(p.join("rules/funnel.funnel"), p.join("rules/other.funnel")).unwrap();
    let (code, out, err) = run_in(p, &["eval"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: no rule file named, and the project has 2: rules/funnel.funnel, rules/other.funnel\n  help: name one: `funnelc eval rules/funnel.funnel`\n"
    );
    let (code, _, err) = run_in(p, &["report", "--leads", "data/sample.jsonl"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("help: name one: `funnelc report rules/funnel.funnel --leads DATA`"),
        "{err}"
    );
    ok(p, &["eval", "rules/other.funnel"]);
}

#[test]
fn missing_defaults_are_usage_errors_that_say_where_to_name_them() {
    let dir = project();
    let p = dir.path();
    let toml = std::fs::read_to_string(p.join("funnel.toml")).unwrap();
    // A file the project names that is not there.
    std::fs::write(
        p.join("funnel.toml"),
        toml.replace("leads = \"data/sample.jsonl\"", "leads = \"data/q3.jsonl\""),
    )
    .unwrap();
    let (code, _, err) = run_in(p, &["eval"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(
            "error: funnel.toml: `[paths] leads` names `data/q3.jsonl`, which cannot be read: "
        ),
        "{err}"
    );
    // No data named at all.
    std::fs::write(
        p.join("funnel.toml"),
        toml.replace("leads = \"data/sample.jsonl\"", ""),
    )
    .unwrap();
    let (code, _, err) = run_in(p, &["eval"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: no lead data named: pass --leads DATA\n  help: a project names its usual data in funnel.toml: `[paths] leads = \"data/leads.jsonl\"`\n"
    );
    // Outside any project, the rule file must be named.
    let outside = tempfile::tempdir().unwrap();
    let (code, _, err) = run_in(
        outside.path(),
        &["explain", "--leads", "x.jsonl", "--lead", "L1"],
    );
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: no rule file named, and no funnel.toml here or above to take one from\n  help: `funnelc explain RULES --leads DATA --lead ID`\n"
    );
}

#[test]
fn csv_leads_bring_their_events_file() {
    let dir = project();
    let p = dir.path();
    std::fs::write(
        p.join("data/leads.csv"),
        "id,consent,company.employees\nC1,true,250\nC2,false,10\n",
    )
    .unwrap();
    std::fs::write(
        p.join("data/events.csv"),
        "lead_id,type,at\nC1,form.submitted,2025-01-02\nC1,email.opened,2025-01-03\nC1,email.opened,2025-01-04\nC2,form.submitted,2025-01-02\n",
    )
    .unwrap();
    let toml = std::fs::read_to_string(p.join("funnel.toml")).unwrap();
    std::fs::write(
        p.join("funnel.toml"),
        toml.replace(
            "leads = \"data/sample.jsonl\"",
            "leads = \"data/leads.csv\"\nevents = \"data/events.csv\"",
        ),
    )
    .unwrap();
    let (out, err) = ok(p, &["eval", "--format", "csv"]);
    let (want, _) = ok(
        p,
        &[
            "eval",
            "rules/funnel.funnel",
            "--leads",
            "data/leads.csv",
            "--events",
            "data/events.csv",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out, want);
    assert!(out.contains("\nC1,engaged,"), "{out}");
    assert!(
        err.starts_with("note: from funnel.toml: rules rules/funnel.funnel, leads data/leads.csv, events data/events.csv\n"),
        "{err}"
    );
    // Data named on the command line comes without the project's events file.
    let (code, _, err) = run_in(p, &["eval", "--leads", "data/sample.jsonl"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn diff_against_a_revision_takes_the_projects_rule_file() {
    let dir = project();
    let p = dir.path();
    let git = |args: &[&str]| crate::common::git(p, args);
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "start"]);
    let rules = std::fs::read_to_string(p.join("rules/funnel.funnel")).unwrap();
    std::fs::write(
        p.join("rules/funnel.funnel"),
        rules.replace("count email.opened >= 2", "count email.opened >= 1"),
    )
    .unwrap();
    let (out, err) = ok(p, &["diff", "--rev", "HEAD", "--format", "md"]);
    let (want, _) = ok(
        p,
        &[
            "diff",
            "rules/funnel.funnel",
            "--rev",
            "HEAD",
            "--leads",
            "data/sample.jsonl",
            "--format",
            "md",
        ],
    );
    assert_eq!(out, want);
    assert!(out.contains("1 ended somewhere else"), "{out}");
    assert!(
        err.starts_with(
            "note: from funnel.toml: rules rules/funnel.funnel, leads data/sample.jsonl\n"
        ),
        "{err}"
    );
    // Without --rev there is nothing to compare the file with.
    let (code, _, err) = run_in(p, &["diff"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: name the new rule file"), "{err}");
}
