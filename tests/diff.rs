//! `funnelc diff`: the seed's rule change (SQL at 80 → 70, plus points for branches in NY and
//! NJ) on the shipped example leads in every format, the same result on any thread count
//! and batch split, schemas that differ, `--rev` through git, and the errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{funnelc, temp_file};

const OLD: &str = "tests/fixtures/diff/b2b-saas-q1.funnel";
const NEW: &str = "rules/b2b-saas.funnel";
const LEADS: &str = "examples/leads.jsonl";

fn seed_change(format: &str) -> String {
    let (code, out, err) = funnelc(&["diff", OLD, NEW, "--leads", LEADS, "--format", format]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    out
}

#[test]
fn the_seeds_change_as_a_table() {
    insta::assert_snapshot!(seed_change("table"));
}

#[test]
fn the_seeds_change_in_markdown() {
    insta::assert_snapshot!(seed_change("md"));
}

#[test]
fn the_seeds_change_in_json() {
    insta::assert_snapshot!(seed_change("json"));
}

/// The worked example of seed 000, where the change moves 21 of 270 leads.
#[test]
fn the_seeds_change_on_the_worked_example_in_markdown() {
    let (code, out, err) = funnelc(&[
        "diff",
        "tests/fixtures/diff/heshbonit4u-q1.funnel",
        "examples/heshbonit4u/heshbonit4u.funnel",
        "--leads",
        "examples/heshbonit4u/leads.jsonl",
        "--as-of",
        "2025-06-30",
        "--format",
        "md",
        "--show",
        "5",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn the_json_adds_up() {
    let v: serde_json::Value = serde_json::from_str(&seed_change("json")).unwrap();
    assert_eq!(v["read"], 500);
    assert_eq!(v["leads"], 500);
    let cells: u64 = v["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["leads"].as_u64().unwrap())
        .sum();
    assert_eq!(cells, 500);
    let moved: u64 = v["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["from"] != c["to"])
        .map(|c| c["leads"].as_u64().unwrap())
        .sum();
    assert_eq!(v["moved_count"].as_u64(), Some(moved));
    // The change can only lower the SQL bar: nobody leaves SQL, and every lead that moved
    // went from SAL to SQL.
    for m in v["moved"].as_array().unwrap() {
        assert_eq!(
            (m["before"].as_str(), m["after"].as_str()),
            (Some("SAL"), Some("SQL"))
        );
        assert_eq!(m["why_after"]["rule"], "enter SQL");
        assert_eq!(m["why_after"]["file"], NEW);
    }
}

/// `n` copies of the example leads with their ids made distinct: many batches.
fn many_leads(n: usize) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/heshbonit4u/leads.jsonl"),
    )
    .unwrap();
    let mut out = String::new();
    for k in 0..n {
        for line in text.lines() {
            out.push_str(&line.replacen("\"id\":\"", &format!("\"id\":\"c{k}-"), 1));
            out.push('\n');
        }
    }
    temp_file(&format!("diff-many-{n}.jsonl"), out.as_bytes())
}

#[test]
fn the_result_is_the_same_on_any_thread_count_and_adds_up_over_batches() {
    let leads = many_leads(20);
    let leads = leads.to_str().unwrap();
    let run = |threads: &str| {
        let (code, out, err) = funnelc(&[
            "diff",
            "tests/fixtures/diff/heshbonit4u-q1.funnel",
            "examples/heshbonit4u/heshbonit4u.funnel",
            "--leads",
            leads,
            "--as-of",
            "2025-06-30",
            "--format",
            "json",
            "--show",
            "1000",
            "-j",
            threads,
        ]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let one = run("1");
    assert_eq!(one, run("2"));
    assert_eq!(one, run("4"));
    let v: serde_json::Value = serde_json::from_str(&one).unwrap();
    // 20 copies of 270 leads, 21 of which move in each copy.
    assert_eq!(v["leads"], 20 * 270);
    assert_eq!(v["moved_count"], 20 * 21);
    let ids: Vec<&str> = v["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 420);
    // In input order: every copy's moved leads before the next copy's.
    let copies: Vec<usize> = ids
        .iter()
        .map(|id| id[1..id.find('-').unwrap()].parse().unwrap())
        .collect();
    assert!(copies.windows(2).all(|w| w[0] <= w[1]), "{copies:?}");
}

#[test]
fn an_old_schema_that_declares_more_reads_each_lead_once() {
    // The old file declares one trait more, which no rule reads: leads are parsed by it,
    // and the new side's lead is made from that parse. The result is the one of the
    // same-schema diff.
    let old = std::fs::read_to_string(OLD).unwrap().replace(
        "  trait company.invoicing_pain: bool\n",
        "  trait company.invoicing_pain: bool\n  trait company.founded: int\n",
    );
    let old = temp_file("b2b-saas-q1-more.funnel", old.as_bytes());
    let (code, out, err) = funnelc(&[
        "diff",
        old.to_str().unwrap(),
        NEW,
        "--leads",
        LEADS,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut got: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut want: serde_json::Value = serde_json::from_str(&seed_change("json")).unwrap();
    for m in got["moved"].as_array_mut().unwrap() {
        // One line more above every rule of the old file.
        let line = m["why_before"]["line"].as_u64().unwrap();
        m["why_before"]["line"] = (line - 1).into();
    }
    for v in [&mut got, &mut want] {
        v["before"] = "old".into();
        for m in v["moved"].as_array_mut().unwrap() {
            m["why_before"]["file"] = "old".into();
        }
    }
    assert_eq!(got, want);
}

#[test]
fn a_new_schema_that_declares_more_reads_each_lead_once() {
    // The new file declares one trait more: leads are parsed by it, and the old side's lead
    // is made from that parse. The result is the one of the same-schema diff.
    let new = std::fs::read_to_string(NEW).unwrap().replace(
        "  trait company.invoicing_pain: bool\n",
        "  trait company.invoicing_pain: bool\n  trait company.founded: int\n",
    );
    let new = temp_file("b2b-saas-more.funnel", new.as_bytes());
    let (code, out, err) = funnelc(&[
        "diff",
        OLD,
        new.to_str().unwrap(),
        "--leads",
        LEADS,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut got: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut want: serde_json::Value = serde_json::from_str(&seed_change("json")).unwrap();
    for m in got["moved"].as_array_mut().unwrap() {
        let line = m["why_after"]["line"].as_u64().unwrap();
        m["why_after"]["line"] = (line - 1).into();
    }
    for v in [&mut got, &mut want] {
        v["after"] = "new".into();
        for m in v["moved"].as_array_mut().unwrap() {
            m["why_after"]["file"] = "new".into();
        }
    }
    assert_eq!(got, want);
}

/// The seed's leads with `webinar.attended` events added to the first lead, a type the
/// shipped rules do not declare.
fn leads_with_webinars() -> PathBuf {
    let text = std::fs::read_to_string(LEADS).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    let webinar = r#""events":[{"type":"webinar.attended","at":"2025-01-05T10:00:00Z","topic":"pricing"},{"type":"webinar.attended","at":"2025-01-06T10:00:00Z","topic":"roi"},"#;
    assert!(first.contains("\"events\":["), "{first}");
    let first = first.replacen("\"events\":[", webinar, 1);
    temp_file("diff-webinars.jsonl", format!("{first}\n{rest}").as_bytes())
}

/// `diff OLD NEW --format json` on `leads`, with each side's rule lines and names made
/// comparable: `shift` lines taken off the old side's and the new side's rule lines.
fn diff_json(old: &Path, new: &Path, leads: &Path, shift: [u64; 2]) -> (serde_json::Value, String) {
    let (code, out, err) = funnelc(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--leads",
        leads.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["before"] = "old".into();
    v["after"] = "new".into();
    for m in v["moved"].as_array_mut().unwrap() {
        for (side, by) in [("why_before", shift[0]), ("why_after", shift[1])] {
            let line = m[side]["line"].as_u64().unwrap();
            m[side]["line"] = (line - by).into();
            m[side]["file"] = side.into();
        }
    }
    (v, err)
}

#[test]
fn events_only_the_old_schema_declares_are_counted_as_the_new_one_ignores_them() {
    // The old file declares `webinar.attended` (an event type more, which no rule reads), so
    // leads are read by the old schema; the new one ignores those events, and the diff says
    // so, with the counts and result of the plain diff, where both files ignore them.
    let leads = leads_with_webinars();
    let declared = std::fs::read_to_string(OLD).unwrap().replace(
        "  event demo.requested\n",
        "  event demo.requested\n  event webinar.attended { topic: text }\n",
    );
    let wider = temp_file("b2b-saas-q1-webinar.funnel", declared.as_bytes());
    let (got, got_err) = diff_json(&wider, Path::new(NEW), &leads, [1, 0]);
    let (want, want_err) = diff_json(Path::new(OLD), Path::new(NEW), &leads, [0, 0]);
    assert_eq!(got, want);
    assert_eq!(got_err, want_err);
    assert_eq!(
        want["warnings"],
        serde_json::json!([
            "ignored 2 events of types the new schema does not declare: webinar.attended (2)"
        ])
    );
    // Each file declaring something the other lacks: every line is parsed by both, and the
    // result is the same again.
    let declared = std::fs::read_to_string(NEW).unwrap().replace(
        "  trait company.invoicing_pain: bool\n",
        "  trait company.invoicing_pain: bool\n  trait company.founded: int\n",
    );
    let other = temp_file("b2b-saas-founded.funnel", declared.as_bytes());
    let (both, both_err) = diff_json(&wider, &other, &leads, [1, 1]);
    assert_eq!(both, want);
    assert_eq!(both_err, want_err);
}

#[test]
fn schemas_that_differ_need_lead_per_line_input() {
    let old = std::fs::read_to_string(OLD).unwrap().replace(
        "  trait company.invoicing_pain: bool\n",
        "  trait company.invoicing_pain: bool\n  trait company.founded: int\n",
    );
    let old = temp_file("b2b-saas-q1-segment.funnel", old.as_bytes());
    let calls = temp_file(
        "diff-calls.jsonl",
        br#"{"type":"identify","userId":"u1","traits":{"consent":true},"timestamp":"2025-01-01T00:00:00Z"}
"#,
    );
    let (code, _, err) = funnelc(&[
        "diff",
        old.to_str().unwrap(),
        NEW,
        "--leads",
        calls.to_str().unwrap(),
        "--as-of",
        "2025-01-01",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("declare different schemas"), "{err}");
}

#[test]
fn a_bad_lead_stops_the_diff_with_its_line() {
    let leads = temp_file(
        "diff-bad.jsonl",
        b"{\"id\":\"L1\",\"events\":[]}\n{\"id\":\"L2\",\"traits\":{\"consent\":\"yes\"},\"events\":[]}\n",
    );
    let leads = leads.to_str().unwrap();
    let (code, out, err) = funnelc(&["diff", OLD, NEW, "--leads", leads, "--as-of", "2025-01-01"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("diff-bad.jsonl:2") && err.contains("traits.consent"),
        "{err}"
    );
    let (code, out, err) = funnelc(&[
        "diff",
        OLD,
        NEW,
        "--leads",
        leads,
        "--as-of",
        "2025-01-01",
        "--skip-bad",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("2 leads from") && out.contains("1 skipped as bad data"),
        "{out}"
    );
}

/// Every shipped rule file against itself on the example leads: nobody moves, every lead is
/// on the diagonal, and each side's counts are the ones `eval` prints.
#[test]
fn a_file_against_itself_moves_nobody_and_counts_what_eval_counts() {
    // Test files (`*.test.funnel`) hold tests of a rule file, not a funnel to diff.
    let rule_files = crate::common::shipped_rules()
        .into_iter()
        .filter(|f| !f.ends_with(".test.funnel"));
    for rules in rule_files {
        let (code, out, err) =
            funnelc(&["diff", &rules, &rules, "--leads", LEADS, "--format", "json"]);
        assert_eq!(code, 0, "{rules}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["moved_count"], 0, "{rules}");
        for cell in v["matrix"].as_array().unwrap() {
            assert_eq!(cell["from"], cell["to"], "{rules}");
        }
        let (code, _, summary) = funnelc(&["eval", &rules, "--leads", LEADS, "-o", "/dev/null"]);
        assert_eq!(code, 0, "{summary}");
        // `500 leads (500 evaluated, 0 skipped) · reached: A 1 · B 0 · exited: x 2`: the
        // counts by name, in order (below 1,000 here, so without separators either way).
        let line = summary
            .lines()
            .find(|l| l.contains(" evaluated, "))
            .unwrap_or("");
        let eval_counts: Vec<String> = line
            .split(" · ")
            .skip(1)
            .map(|p| {
                p.trim_start_matches("reached: ")
                    .trim_start_matches("exited: ")
            })
            .map(String::from)
            .collect();
        let mut counted = Vec::new();
        for vol in v["volumes"].as_array().unwrap() {
            // `eval` names every stage and exit, and the leads in no stage when there are any.
            if vol["kind"] == "outside" {
                let [a, b] = [&vol["ended"][0], &vol["ended"][1]];
                assert_eq!(a, b, "{rules}");
                if a != 0 {
                    counted.push(format!("in no stage: {a}"));
                }
                continue;
            }
            let [a, b] = [&vol["reached"][0], &vol["reached"][1]];
            assert_eq!(a, b, "{rules}");
            counted.push(format!("{} {a}", vol["name"].as_str().unwrap()));
        }
        assert!(
            line.starts_with(&format!("{} leads (", v["read"])),
            "{line}"
        );
        assert_eq!(eval_counts, counted, "{rules}: {line}");
    }
}

#[test]
fn show_0_counts_the_moved_leads_without_listing_them() {
    let (code, out, err) = funnelc(&[
        "diff", OLD, NEW, "--leads", LEADS, "--format", "md", "--show", "0",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with("\nLeads that moved: 2, none listed.\n"),
        "{out}"
    );
    assert!(!out.contains("<details>"), "{out}");
}

#[test]
fn a_new_file_or_a_revision_is_needed() {
    let (code, _, err) = funnelc(&["diff", OLD, "--leads", LEADS]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--rev"), "{err}");
}

/// A scratch git repository holding `rules.funnel` at the seed's old threshold in its first
/// commit, with the working file at the new one.
struct Repo {
    dir: PathBuf,
}

impl Repo {
    fn new(name: &str) -> Repo {
        let dir = std::env::temp_dir().join(format!("funnelc-diff-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rules")).unwrap();
        let repo = Repo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn git(&self, args: &[&str]) -> String {
        crate::common::git(&self.dir, args)
    }

    fn write(&self, path: &str, from: &str) {
        let text = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(from)).unwrap();
        std::fs::write(self.dir.join(path), text).unwrap();
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn rev_compares_the_working_file_with_its_committed_version() {
    let repo = Repo::new("rev");
    repo.write("rules/b2b.funnel", OLD);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "q1 rules"]);
    repo.write("rules/b2b.funnel", NEW);
    let file = repo.dir.join("rules/b2b.funnel");
    let leads = Path::new(env!("CARGO_MANIFEST_DIR")).join(LEADS);
    let (code, out, err) = funnelc(&[
        "diff",
        file.to_str().unwrap(),
        "--rev",
        "main",
        "--leads",
        leads.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut got: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The committed version is named by revision and path from the repository's root.
    assert_eq!(got["before"], "main:rules/b2b.funnel");
    let mut want: serde_json::Value = serde_json::from_str(&seed_change("json")).unwrap();
    for v in [&mut got, &mut want] {
        v["before"] = "old".into();
        v["after"] = "new".into();
        v["data"] = "leads".into();
        for m in v["moved"].as_array_mut().unwrap() {
            m["why_before"]["file"] = "old".into();
            m["why_after"]["file"] = "new".into();
        }
    }
    assert_eq!(got, want);
    // The working tree was not touched.
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(NEW)).unwrap()
    );
    assert!(repo
        .git(&["status", "--porcelain"])
        .contains(" M rules/b2b.funnel"));
}

#[test]
fn rev_errors_say_what_is_missing() {
    let repo = Repo::new("rev-errors");
    repo.write("other.funnel", OLD);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "first"]);
    repo.write("rules/b2b.funnel", NEW);
    let file = repo.dir.join("rules/b2b.funnel");
    let file = file.to_str().unwrap();
    let run = |rev: &str| {
        let (code, out, err) = funnelc(&["diff", file, "--rev", rev, "--leads", LEADS]);
        assert!(out.is_empty());
        (code, err)
    };
    let (code, err) = run("no-such-branch");
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!("error: --rev: `no-such-branch` is not a revision of the repository of `{file}`\n")
    );
    let (code, err) = run("main");
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: `rules/b2b.funnel` does not exist at revision `main` (added since, or renamed?)\n"
    );
    let (code, err) = run("--help");
    assert_eq!(code, 2, "{err}");
    // Outside a repository.
    let lone = temp_file("lone.funnel", NEW.as_bytes());
    let (code, _, err) = funnelc(&[
        "diff",
        lone.to_str().unwrap(),
        "--rev",
        "main",
        "--leads",
        LEADS,
    ]);
    if Command::new("git")
        .args(["-C", lone.parent().unwrap().to_str().unwrap(), "rev-parse"])
        .output()
        .is_ok_and(|o| !o.status.success())
    {
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("needs") && err.contains("git repository"),
            "{err}"
        );
    }
}
