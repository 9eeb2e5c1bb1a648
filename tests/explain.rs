//! `funnelc explain` on the seed's scenarios: one fixture per scenario in
//! `tests/fixtures/explain/*.jsonl`, each snapshotted with its leads and the text explanation.
//!
//! A fixture's first line is a header object naming the rule file (relative to the crate root),
//! the lead to explain and, optionally, the evaluation moment:
//! `{"rules": "rules/b2b-saas.funnel", "lead": "L1", "as_of": "2025-03-31T00:00:00Z"}`.
//! The other lines are leads, one per line, as `funnelc eval --leads` reads them. Without
//! `as_of`, the moment is the latest event instant of the leads, as on the command line.
//!
//! Each fixture is also snapshotted as the JSON of `funnelc explain --format json`, whose
//! fields `docs/explain.md` documents: a renamed or moved field fails here.
//!
//! Besides the snapshot, each fixture checks that the explanation's outcome is exactly what
//! `eval` computes, and that the binary prints the same explanation.

use std::path::Path;
use std::process::Command;

use funnelc::eval::{explain, replay};
use funnelc::output;
use funnelc::plan::Plan;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Header {
    rules: String,
    lead: String,
    as_of: Option<String>,
}

fn header(line: &str) -> Header {
    let v: serde_json::Value = serde_json::from_str(line).expect("the header is a JSON object");
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
    let known = ["rules", "lead", "as_of"];
    for k in v.as_object().expect("the header is an object").keys() {
        assert!(known.contains(&k.as_str()), "unknown header key `{k}`");
    }
    Header {
        rules: text("rules").expect("the header names `rules`"),
        lead: text("lead").expect("the header names `lead`"),
        as_of: text("as_of"),
    }
}

fn load_plan(rules: &str) -> Plan {
    let source = std::fs::read_to_string(Path::new(ROOT).join(rules)).unwrap();
    let compiled = funnelc::compile(&source, rules);
    assert!(!compiled.has_errors(), "{rules} does not check");
    compiled.plan().expect("the plan compiles")
}

fn ms(s: &str) -> i64 {
    funnelc::time::parse_timestamp(s).unwrap().millis
}

fn ts(ms: i64) -> String {
    funnelc::time::format_timestamp(funnelc::time::Timestamp { millis: ms })
}

/// Runs the binary's `explain` on the fixture's leads, from the crate root.
fn cli_explain(
    name: &str,
    rules: &str,
    leads: &str,
    lead: &str,
    as_of: &str,
    format: &str,
) -> String {
    let dir = std::env::temp_dir().join(format!("funnelc-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, leads).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_funnelc"))
        .args(["explain", rules, "--leads"])
        .arg(&path)
        .args(["--lead", lead, "--as-of", as_of, "--format", format])
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .output()
        .expect("run funnelc");
    assert!(
        out.status.success(),
        "{name}: funnelc explain failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Explains one fixture: the text to snapshot, and the explanation's JSON.
fn explain_fixture(path: &Path) -> (String, serde_json::Value) {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let h = header(lines.next().expect("a header line"));
    let lead_lines: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    let plan = load_plan(&h.rules);
    let leads: Vec<_> = lead_lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            funnelc::input::jsonl::parse_line(&plan, l, format!("{name}:{}", i + 2))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .0
        })
        .collect();
    let as_of = match &h.as_of {
        Some(t) => ms(t),
        None => leads
            .iter()
            .flat_map(|l| l.events.iter().map(|e| e.at))
            .max()
            .expect("a fixture without as_of needs events"),
    };
    let lead = leads
        .iter()
        .find(|l| l.id == h.lead)
        .unwrap_or_else(|| panic!("{name}: no lead `{}`", h.lead));
    let (out, x) = explain::explain(&plan, lead, as_of);
    // The explanation's outcome is the evaluation's outcome.
    assert_eq!(
        output::json(&plan, lead, &out),
        output::json(&plan, lead, &replay(&plan, lead, as_of)),
        "{name}: explain and eval disagree"
    );
    let rendered = output::explain::render(&x);
    // The command line shows the same explanation.
    let leads = lead_lines.join("\n");
    let cli = cli_explain(&name, &h.rules, &leads, &h.lead, &ts(as_of), "text");
    assert_eq!(
        cli, rendered,
        "{name}: `funnelc explain` prints something else"
    );
    let json = serde_json::to_value(&x).unwrap();
    let cli = cli_explain(&name, &h.rules, &leads, &h.lead, &ts(as_of), "json");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&cli).unwrap(),
        json,
        "{name}: `funnelc explain --format json` prints something else"
    );
    let text = format!(
        "----- LEADS\n{}\n----- EXPLANATION\n{}",
        lead_lines.join("\n"),
        rendered
    );
    (text, json)
}

#[test]
fn explain_fixtures() {
    insta::glob!("fixtures/explain/*.jsonl", |path| {
        let (text, json) = explain_fixture(path);
        insta::assert_snapshot!(text);
        insta::assert_snapshot!("json", serde_json::to_string_pretty(&json).unwrap());
    });
}

/// Every key path of a JSON value (array items share their array's path).
fn key_paths(v: &serde_json::Value, at: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}.{k}");
                out.insert(p.clone());
                key_paths(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| key_paths(x, &format!("{at}[]"), out)),
        _ => {}
    }
}

/// The example in `docs/explain.md` is an abridged explanation of its fixture: each field it
/// shows is one the explanation has, at the same place.
#[test]
fn the_documented_json_example_is_real() {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/explain.md")).unwrap();
    let example = doc
        .split("```json\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("docs/explain.md has a JSON example");
    let example: serde_json::Value = serde_json::from_str(example).unwrap();
    let (_, real) =
        explain_fixture(&Path::new(ROOT).join("tests/fixtures/explain/why-not-each-reason.jsonl"));
    let (mut shown, mut has) = (Default::default(), Default::default());
    key_paths(&example, "", &mut shown);
    key_paths(&real, "", &mut has);
    let missing: Vec<&String> = shown.difference(&has).collect();
    assert!(
        missing.is_empty(),
        "docs/explain.md shows fields the JSON lacks: {missing:?}"
    );
    assert_eq!(example["id"], real["id"]);
}
