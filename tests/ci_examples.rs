//! The CI examples of `examples/ci/` run for real: every `run:` block of the GitHub Actions
//! workflow, in order, with its environment, in a scratch git repository with a base branch
//! on a local `origin`; and the pre-commit hook on staged changes. `cargo install` and `gh`
//! (which need the network and a token) are stood in for by scripts that record how they
//! were called; everything else (git, funnelc, the shell) is the real thing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const OLD: &str = "tests/fixtures/diff/b2b-saas-q1.funnel";
const NEW: &str = "rules/b2b-saas.funnel";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One step of the workflow: its name, environment and `run:` script.
#[derive(Debug)]
struct Step {
    name: String,
    env: BTreeMap<String, String>,
    run: Option<String>,
}

/// A YAML scalar as this workflow writes them: plain, or in double quotes.
fn scalar(v: &str) -> String {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
        .to_string()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The workflow's top-level `env` and its steps. A reader of the block style the file is
/// written in (mappings, one sequence of steps, `|` scripts), not of YAML at large: a line
/// it does not expect fails the test, so the file cannot drift into a shape it misreads.
fn workflow(text: &str) -> (BTreeMap<String, String>, Vec<Step>) {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let mut env = BTreeMap::new();
    let mut steps: Vec<Step> = Vec::new();
    // Sequences before `steps:` (the paths under `on:`) are not steps.
    let mut in_steps = false;
    let mut i = 0;
    let pairs = |from: usize, depth: usize, into: &mut BTreeMap<String, String>| -> usize {
        let mut j = from;
        while j < lines.len() && indent(lines[j]) == depth {
            let (k, v) = lines[j].trim().split_once(':').unwrap();
            into.insert(k.to_string(), scalar(v));
            j += 1;
        }
        j
    };
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        if line == "env:" {
            i = pairs(i + 1, 2, &mut env);
            continue;
        }
        if t == "steps:" {
            in_steps = true;
        }
        if in_steps && indent(line) == 6 && t.starts_with("- ") {
            let (k, v) = t[2..].split_once(':').unwrap();
            steps.push(Step {
                name: if k == "name" {
                    scalar(v)
                } else {
                    format!("{k}: {}", scalar(v))
                },
                env: BTreeMap::new(),
                run: None,
            });
            i += 1;
            continue;
        }
        if in_steps && indent(line) == 8 {
            let step = steps.last_mut().unwrap();
            let (k, v) = t.split_once(':').unwrap();
            match (k, v.trim()) {
                ("env", "") => {
                    i = pairs(i + 1, 10, &mut step.env);
                    continue;
                }
                ("run", "|") => {
                    let mut script = String::new();
                    i += 1;
                    while i < lines.len() && indent(lines[i]) >= 10 {
                        script.push_str(&lines[i][10..]);
                        script.push('\n');
                        i += 1;
                    }
                    step.run = Some(script);
                    continue;
                }
                ("run", cmd) => step.run = Some(format!("{cmd}\n")),
                ("with", _) => {}
                (k, _) => panic!("unexpected key `{k}` in step `{}`", step.name),
            }
        }
        i += 1;
    }
    (env, steps)
}

/// GitHub's `${{ ... }}` expressions, with the values of a pull request to `main`.
fn expand(v: &str) -> String {
    v.replace("${{ github.base_ref }}", "main")
        .replace("${{ github.token }}", "token")
        .replace("${{ github.event.pull_request.number }}", "7")
}

/// A scratch folder: a git repository `work` with `origin` (a bare repository) holding
/// `main`, and stand-ins for `cargo` and `gh` in `bin`.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("funnelc-ci-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("work/rules")).unwrap();
        std::fs::create_dir_all(dir.join("work/examples")).unwrap();
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let s = Scratch { dir };
        // Stand-ins that record their arguments (and the comment's body).
        s.script("cargo", "#!/bin/sh\necho \"$@\" >> \"$CI_LOG/cargo\"\n");
        s.script(
            "gh",
            "#!/bin/sh\necho \"$@\" >> \"$CI_LOG/gh\"\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --body-file ]; then cp \"$2\" \"$CI_LOG/gh-body\"; fi\n  shift\ndone\n",
        );
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_funnelc"), s.dir.join("bin/funnelc"))
            .unwrap();
        s.git(&["init", "-q", "-b", "main"]);
        s
    }

    fn script(&self, name: &str, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = self.dir.join("bin").join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn work(&self) -> PathBuf {
        self.dir.join("work")
    }

    fn git(&self, args: &[&str]) -> String {
        crate::common::git(&self.work(), args)
    }

    /// Copies a file of this repository into the scratch repository.
    fn put(&self, to: &str, from: &str) {
        std::fs::copy(root().join(from), self.work().join(to)).unwrap();
    }

    /// The base branch: the rules before the seed's change and the example leads, committed
    /// on `main` and pushed to `origin`.
    fn base(&self) {
        self.put("rules/b2b-saas.funnel", OLD);
        self.put("examples/leads.jsonl", "examples/leads.jsonl");
        self.git(&["add", "."]);
        self.git(&["commit", "-qm", "the rules as of Q1"]);
        let origin = self.dir.join("origin.git");
        let out = Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&origin)
            .output()
            .unwrap();
        assert!(out.status.success());
        self.git(&[
            "remote",
            "add",
            "origin",
            &format!("file://{}", origin.display()),
        ]);
        self.git(&["push", "-q", "origin", "main"]);
    }

    /// Runs a shell script in the repository as a CI runner would: `bash -eo pipefail`, with
    /// the stand-ins first on the PATH.
    fn run(&self, script: &str, env: &BTreeMap<String, String>) -> (i32, String, String) {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(self.work())
            .envs(env)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("CI_LOG", &self.dir)
            .env("GITHUB_STEP_SUMMARY", self.dir.join("summary.md"))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_workflow() -> (BTreeMap<String, String>, Vec<Step>) {
    workflow(&std::fs::read_to_string(root().join("examples/ci/funnel-rules.yml")).unwrap())
}

/// Runs the workflow's steps in order, stopping at the first that fails: the name of the
/// step that failed, if one did, and what it wrote.
fn run_workflow(s: &Scratch) -> (Option<String>, String) {
    let (env, steps) = read_workflow();
    let mut log = String::new();
    for step in &steps {
        let Some(run) = &step.run else { continue };
        let mut all: BTreeMap<String, String> =
            env.iter().map(|(k, v)| (k.clone(), expand(v))).collect();
        all.extend(step.env.iter().map(|(k, v)| (k.clone(), expand(v))));
        let (code, out, err) = s.run(run, &all);
        log.push_str(&format!("== {}\n{out}{err}", step.name));
        if code != 0 {
            return (Some(step.name.clone()), log);
        }
    }
    (None, log)
}

#[test]
fn the_workflow_reads_as_expected() {
    let (env, steps) = read_workflow();
    assert_eq!(env["RULES"], "rules/b2b-saas.funnel");
    assert_eq!(env["LEADS"], "examples/leads.jsonl");
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "uses: actions/checkout@v4",
            "uses: dtolnay/rust-toolchain@stable",
            "Install funnelc",
            "Check the rules",
            "Run the rule tests",
            "Compare with the base branch",
            "Post the comparison on the pull request",
        ]
    );
    let scripts: Vec<&str> = steps.iter().filter_map(|s| s.run.as_deref()).collect();
    assert!(scripts.iter().any(|r| r.contains("funnelc check $RULES")));
    assert!(scripts.iter().any(|r| r.contains("funnelc test $RULES")));
    assert!(scripts.iter().any(|r| r.contains("--format md")));
}

#[test]
fn the_workflow_posts_the_diff_against_the_base_branch() {
    let s = Scratch::new("workflow");
    s.base();
    s.git(&["checkout", "-qb", "lower-sql-threshold"]);
    s.put("rules/b2b-saas.funnel", NEW);
    s.git(&[
        "commit",
        "-qam",
        "SQL from 70, with points for NY and NJ branches",
    ]);
    let (failed, log) = run_workflow(&s);
    assert_eq!(failed, None, "{log}");
    assert!(log.contains("1 passed, 0 failed"), "{log}");
    assert_eq!(
        s.read("cargo"),
        "install --locked --git https://github.com/your-org/funnelc funnelc\n"
    );
    assert_eq!(s.read("gh"), "pr comment 7 --body-file funnel-diff.md\n");
    let body = s.read("gh-body");
    // What funnelc says of the change, run by hand against the same revision.
    let (code, want, err) = s.run(
        "funnelc diff rules/b2b-saas.funnel --rev origin/main --leads examples/leads.jsonl --format md",
        &BTreeMap::new(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(body, format!("{want}\n"));
    assert!(body.starts_with(
        "## Rule change: `origin/main:rules/b2b-saas.funnel` → `rules/b2b-saas.funnel`\n"
    ));
    assert!(body.contains("2 ended somewhere else"), "{body}");
    assert_eq!(s.read("summary.md"), body);
}

#[test]
fn the_workflow_stops_on_rules_that_do_not_check() {
    let s = Scratch::new("workflow-bad");
    s.base();
    s.git(&["checkout", "-qb", "broken"]);
    let text = std::fs::read_to_string(root().join(NEW))
        .unwrap()
        .replace("enter when sales.accepted", "enter when sales.acepted");
    std::fs::write(s.work().join("rules/b2b-saas.funnel"), text).unwrap();
    s.git(&["commit", "-qam", "a typo"]);
    let (failed, log) = run_workflow(&s);
    assert_eq!(failed.as_deref(), Some("Check the rules"), "{log}");
    assert!(log.contains("sales.acepted"), "{log}");
    assert_eq!(s.read("gh"), "");
}

#[test]
fn a_rule_file_new_in_the_pull_request_is_said_to_be_new() {
    let s = Scratch::new("workflow-new");
    s.base();
    s.git(&["checkout", "-qb", "more-rules"]);
    s.put("rules/aida.funnel", "rules/aida.funnel");
    s.git(&["add", "."]);
    s.git(&["commit", "-qm", "AIDA"]);
    // The workflow's own list of rule files, with the new one.
    let (env, steps) = read_workflow();
    let mut log = String::new();
    for step in steps.iter().filter(|s| s.run.is_some()) {
        let mut all: BTreeMap<String, String> =
            env.iter().map(|(k, v)| (k.clone(), expand(v))).collect();
        all.insert(
            "RULES".into(),
            "rules/b2b-saas.funnel rules/aida.funnel".into(),
        );
        all.extend(step.env.iter().map(|(k, v)| (k.clone(), expand(v))));
        let (code, out, err) = s.run(step.run.as_deref().unwrap_or(""), &all);
        log.push_str(&format!("{out}{err}"));
        assert_eq!(code, 0, "{}: {log}", step.name);
    }
    let body = s.read("gh-body");
    assert!(
        body.contains("## `rules/aida.funnel` is new in this pull request"),
        "{body}"
    );
    // The unchanged file moves nobody.
    assert!(body.contains("0 ended somewhere else"), "{body}");
}

fn hook(s: &Scratch) -> (i32, String, String) {
    let hook = std::fs::read_to_string(root().join("examples/ci/pre-commit")).unwrap();
    let path = s.dir.join("bin/pre-commit");
    std::fs::write(&path, hook).unwrap();
    s.run(&format!("sh {}", path.display()), &BTreeMap::new())
}

#[test]
fn the_pre_commit_hook_checks_tests_and_shows_the_diff() {
    let s = Scratch::new("hook");
    s.base();
    // Nothing staged: nothing to do.
    let (code, out, err) = hook(&s);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    s.put("rules/b2b-saas.funnel", NEW);
    s.git(&["add", "rules/b2b-saas.funnel"]);
    let (code, out, err) = hook(&s);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    assert!(
        err.contains("## Rule change: `main:rules/b2b-saas.funnel` → `rules/b2b-saas.funnel`"),
        "{err}"
    );
    assert!(err.contains("2 ended somewhere else"), "{err}");
}

#[test]
fn the_pre_commit_hook_stops_a_commit_whose_tests_fail() {
    let s = Scratch::new("hook-fail");
    s.base();
    let text = std::fs::read_to_string(root().join(NEW)).unwrap().replace(
        "expect entered MEL at 2025-01-10",
        "expect entered MEL at 2025-01-03",
    );
    std::fs::write(s.work().join("rules/b2b-saas.funnel"), text).unwrap();
    s.git(&["add", "rules/b2b-saas.funnel"]);
    let (code, out, err) = hook(&s);
    assert_ne!(code, 0, "{out}{err}");
    assert!(out.contains("0 passed, 1 failed"), "{out}");
    assert!(!err.contains("Rule change"), "{err}");
}

#[test]
fn the_pre_commit_hook_takes_a_changed_test_file_for_no_rule_change() {
    let s = Scratch::new("hook-tests");
    s.base();
    let tests = |name: &str| {
        format!(
            "tests for \"b2b-saas.funnel\"\n\ntest \"{name}\" {{\n  traits {{ consent: true, role: \"cfo\", company: {{ employees: 220, paying_customers: 1500 }} }}\n  events {{ 2025-01-01 form.submitted {{ form: \"oecd-research\" }} }}\n  expect stage MCL\n}}\n"
        )
    };
    std::fs::write(
        s.work().join("rules/b2b-saas.test.funnel"),
        tests("a research form"),
    )
    .unwrap();
    s.git(&["add", "."]);
    s.git(&["commit", "-qm", "a test"]);
    // Only the test file changes: checked and run, and nothing to compare.
    std::fs::write(
        s.work().join("rules/b2b-saas.test.funnel"),
        tests("the research form captures a CFO"),
    )
    .unwrap();
    s.git(&["add", "rules/b2b-saas.test.funnel"]);
    let (code, out, err) = hook(&s);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    assert!(
        err.contains("note: `rules/b2b-saas.test.funnel` is a test file (`tests for \"b2b-saas.funnel\"`): it holds no rules, so there is nothing to compare"),
        "{err}"
    );
}
