//! The interpreter's semantics as data: one case per file in `tests/fixtures/eval/*.case`, each
//! a rule of `docs/semantics.md` shown on a small rule file and a few leads, and snapshotted with
//! what `funnelc eval --format jsonl` prints for every lead and why (`funnelc explain`).
//!
//! A case is a text file in four parts, in this order:
//!
//! ```text
//! // What the case shows, in a sentence or three, and the section of docs/semantics.md.
//! --- rules
//! (a complete .funnel text)
//! --- leads
//! // What this lead shows (optional, one or more lines, shown above the lead in the snapshot).
//! {"id": "on-time", "traits": {}, "events": [{"type": "a", "at": "2025-01-01"}]}
//! --- as-of
//! 2025-01-15
//! ```
//!
//! - The description (the `//` lines before `--- rules`) is required: a case is documentation.
//! - The rules are compiled under the case's file name, padded so that their line numbers are
//!   the case file's: an explanation's `then-within.case:9` points at the line in the case.
//!   They must check without errors; warnings are shown at the top of the snapshot.
//! - Leads are JSONL, one lead per line, as `funnelc eval --leads` reads them; blank lines and
//!   `//` comment lines (attached to the lead that follows) are allowed. Ids must be distinct.
//!   A lead that does not read, or that has events of a type the schema does not declare,
//!   fails the case: a misspelt event type would otherwise be quietly left out.
//! - As-of: one or more instants (RFC 3339, or a date meaning midnight UTC), one per line;
//!   every lead is replayed at each of them, in order.
//!
//! For each lead and instant the snapshot holds the outcome line and the explanation; the
//! driver also checks that the explanation's outcome is exactly `replay`'s.

use std::path::Path;

use funnelc::eval::{explain, replay};
use funnelc::output;
use funnelc::plan::Plan;

/// A case read from its file.
struct Case {
    description: Vec<String>,
    /// The rule text, preceded by one empty line per line of the case before it.
    rules: String,
    leads: Vec<LeadLine>,
    as_of: Vec<i64>,
}

struct LeadLine {
    /// The `//` lines just above the lead.
    comments: Vec<String>,
    text: String,
    /// 1-based, in the case file.
    line: usize,
}

const SECTIONS: [&str; 3] = ["--- rules", "--- leads", "--- as-of"];

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with("//")
}

/// Splits a case into its parts; an error says what is wrong and where.
fn parse_case(name: &str, text: &str) -> Result<Case, String> {
    let lines: Vec<&str> = text.lines().collect();
    // Where each section's header line is, in order.
    let mut at = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("---") {
            let want = SECTIONS.get(at.len()).ok_or_else(|| {
                format!("{name}:{}: `{l}` after the last section `--- as-of`", i + 1)
            })?;
            if l.trim_end() != *want {
                return Err(format!("{name}:{}: expected `{want}`, found `{l}`", i + 1));
            }
            at.push(i);
        }
    }
    if at.len() != SECTIONS.len() {
        return Err(format!(
            "{name}: expected the sections {}, in this order; found {} of them",
            SECTIONS.join(", "),
            at.len()
        ));
    }
    let (rules_at, leads_at, as_of_at) = (at[0], at[1], at[2]);

    let mut description = Vec::new();
    for (i, l) in lines[..rules_at].iter().enumerate() {
        if is_comment(l) {
            description.push(l.trim().to_string());
        } else if !l.trim().is_empty() {
            return Err(format!(
                "{name}:{}: only `//` comment lines may come before `--- rules`",
                i + 1
            ));
        }
    }
    if description.is_empty() {
        return Err(format!(
            "{name}: the case needs a `//` comment before `--- rules` saying what it shows"
        ));
    }

    let mut rules = "\n".repeat(rules_at + 1);
    for l in &lines[rules_at + 1..leads_at] {
        rules.push_str(l);
        rules.push('\n');
    }

    let mut leads: Vec<LeadLine> = Vec::new();
    let mut comments = Vec::new();
    for (i, l) in lines.iter().enumerate().take(as_of_at).skip(leads_at + 1) {
        if is_comment(l) {
            comments.push(l.trim().to_string());
        } else if !l.trim().is_empty() {
            leads.push(LeadLine {
                comments: std::mem::take(&mut comments),
                text: l.trim().to_string(),
                line: i + 1,
            });
        }
    }
    if !comments.is_empty() {
        return Err(format!(
            "{name}: a comment at the end of `--- leads` belongs to no lead"
        ));
    }
    if leads.is_empty() {
        return Err(format!("{name}: `--- leads` holds no lead"));
    }

    let mut as_of = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(as_of_at + 1) {
        let l = l.trim();
        if l.is_empty() || is_comment(l) {
            continue;
        }
        // Read as `--as-of` reads it: a bare date is the end of that day.
        let t = funnelc::time::parse_moment(l).map_err(|e| format!("{name}:{}: {e}", i + 1))?;
        as_of.push(t.millis);
    }
    if as_of.is_empty() {
        return Err(format!("{name}: `--- as-of` holds no instant"));
    }
    Ok(Case {
        description,
        rules,
        leads,
        as_of,
    })
}

/// Parses, checks and compiles a rule file: the plan, and the warnings the check gave (one
/// line each). Errors are the rendered diagnostics. Kept in one place on purpose: the whole
/// pipeline is one call away from being a single library function.
fn compile_rules(source: &str, name: &str) -> Result<(Plan, Vec<String>), String> {
    let compiled = funnelc::compile(source, name);
    if compiled.has_errors() {
        return Err(funnelc::diag::render_human(
            &compiled.diagnostics,
            name,
            source,
            false,
        ));
    }
    let warnings = compiled
        .diagnostics
        .iter()
        .map(|d| format!("warning {}: {}", d.code, d.message))
        .collect();
    let plan = compiled
        .plan()
        .ok_or_else(|| format!("{name}: the rules check but do not compile"))?;
    Ok((plan, warnings))
}

fn ts(ms: i64) -> String {
    funnelc::time::format_timestamp(funnelc::time::Timestamp { millis: ms })
}

/// Runs one case: the text to snapshot.
fn run_case(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let case = parse_case(&name, &text).unwrap_or_else(|e| panic!("{e}"));
    let (plan, warnings) =
        compile_rules(&case.rules, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let lines = output::JsonLines::new(&plan);

    let mut snap = case.description.join("\n");
    snap.push('\n');
    for w in &warnings {
        snap.push_str(&format!("{w}\n"));
    }
    let mut ids = std::collections::BTreeSet::new();
    for l in &case.leads {
        let origin = format!("{name}:{}", l.line);
        let (lead, unknown) = funnelc::input::jsonl::parse_line(&plan, &l.text, origin.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            unknown.is_empty(),
            "{origin}: events of types the schema does not declare: {unknown:?}"
        );
        assert!(
            ids.insert(lead.id.clone()),
            "{origin}: a second lead `{}`",
            lead.id
        );
        snap.push_str(&format!("\n===== lead {}\n", lead.id));
        for c in &l.comments {
            snap.push_str(&format!("{c}\n"));
        }
        snap.push_str(&format!("{}\n", l.text));
        for &as_of in &case.as_of {
            let out = replay(&plan, &lead, as_of);
            let (explained_out, x) = explain::explain(&plan, &lead, as_of);
            assert_eq!(
                output::json(&plan, &lead, &explained_out),
                output::json(&plan, &lead, &out),
                "{origin}: explain and eval disagree as of {}",
                ts(as_of)
            );
            let mut line = String::new();
            lines.write(&plan, &lead, &out, &mut line);
            snap.push_str(&format!(
                "\n--- as of {}: eval --format jsonl\n{line}\n--- explain\n{}",
                ts(as_of),
                output::explain::render(&x)
            ));
        }
    }
    snap
}

#[test]
fn eval() {
    insta::glob!("fixtures/eval/*.case", |path| {
        insta::assert_snapshot!(run_case(path));
    });
}

/// Guards the corpus against a folder emptied or renamed by mistake (a glob matching nothing
/// would test nothing), and against a stray file that is not a case.
#[test]
fn every_file_in_the_folder_is_a_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval");
    let mut cases = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file == "README.md" {
            continue;
        }
        assert!(
            file.ends_with(".case"),
            "{file}: tests/fixtures/eval holds `.case` files and its README only"
        );
        assert!(
            file.trim_end_matches(".case")
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{file}: case names are kebab-case"
        );
        cases += 1;
    }
    assert!(cases >= 40, "only {cases} cases in tests/fixtures/eval");
}

/// A malformed case is refused with a message saying what is wrong, rather than testing less.
#[test]
fn malformed_cases_are_refused() {
    let rules = "--- rules\nschema {\n  event a\n}\nstage A {\n  enter when a\n}\n";
    let lead = "{\"id\": \"x\", \"events\": []}\n";
    let good = format!("// What it shows.\n{rules}--- leads\n{lead}--- as-of\n2025-01-02\n");
    let case = parse_case("good", &good).unwrap();
    // The rules keep the case file's line numbers.
    let line_in_case = good.lines().position(|l| l == "stage A {");
    let line_in_rules = case.rules.lines().position(|l| l == "stage A {");
    assert!(line_in_case.is_some());
    assert_eq!(line_in_rules, line_in_case);
    // A bare date is the end of its day, as for `--as-of`.
    assert_eq!(case.as_of, vec![86_400_000 * 20_091 - 1]);
    let bad = [
        (
            good.replace("// What it shows.\n", ""),
            "needs a `//` comment",
        ),
        (
            good.replace("--- leads", "--- lead"),
            "expected `--- leads`",
        ),
        (
            good.replace("--- as-of\n", "")
                .replace(rules, &format!("{rules}--- as-of\n")),
            "expected `--- leads`",
        ),
        (good.replace("2025-01-02", ""), "holds no instant"),
        (good.replace("2025-01-02", "2025-13-02"), "good:12:"),
        (good.replace(lead, ""), "holds no lead"),
        (
            good.replace(lead, &format!("{lead}// about nothing\n")),
            "belongs to no lead",
        ),
        (format!("{good}--- more\n"), "after the last section"),
    ];
    for (text, why) in bad {
        let err = parse_case("good", &text).err().unwrap_or_default();
        assert!(
            err.contains(why),
            "expected `{why}`, got `{err}` for\n{text}"
        );
    }
    assert!(compile_rules("stage A {\n", "broken.case").is_err());
}
