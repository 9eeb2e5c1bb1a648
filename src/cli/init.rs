//! `funnelc init [DIR]`: a new project that passes `funnelc test` at once: `funnel.toml`, a
//! rule file, a test file with a fixture, a table of cases and a snapshot, a sample of leads,
//! and the snapshot taken of them.

use std::path::{Path, PathBuf};

use super::project::FILE;
use super::Exit;
use funnelc::pipeline::Data;
use funnelc::review::take::take;

#[derive(clap::Args)]
pub struct Args {
    /// The folder to make the project in (created if needed) [default: the current folder]
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
}

const TOML: &str = r#"# The funnelc project file: where things are, and defaults for the commands (a flag given on
# the command line always wins).

[paths]
# Rule files, and the test files beside them: what `funnelc check` and `funnelc test` take
# when given no path.
rules = ["rules"]
# Stored snapshots (`funnelc test --accept` writes them).
snapshots = "rules/snapshots"
# Shared fixture files (or folders of them): `fixture` declarations that the test files of
# every rule file may start from. One rule file keeps its fixtures in its test file.
# fixtures = ["fixtures"]
# The lead data `funnelc eval`, `explain`, `report` and `diff` read when --leads is not given
# (with CSV leads, `events` names their events file). Those commands take the rule file under
# `rules` when there is just one.
leads = "data/sample.jsonl"

[defaults]
# The input format of lead data: jsonl, segment or csv. Else it is told from the file: a
# `.csv` name is CSV, a first line of Segment calls is Segment, anything else JSONL.
# input_format = "segment"
# as_of = "2025-03-31"   # evaluate as of this moment (else the latest event in the data)

# Segment input: names in the data -> names in the schema.
[defaults.rename]
"Form Submitted" = "form.submitted"
"#;

const RULES: &str = r#"// A three-stage funnel to start from: replace the schema and the stages with yours.
funnel "My funnel"

schema {
  trait consent: bool
  trait company.employees: int

  event form.submitted
  event email.opened
  event demo.requested
}

score fit max 50 {
  +30 when company.employees >= 100
  +20 when consent
  grade A from 40
  grade B from 0
}

stage lead "Lead" {
  enter when form.submitted and consent
}

stage engaged "Engaged lead" {
  enter when count email.opened >= 2
}

stage qualified "Qualified lead" {
  enter when demo.requested and grade fit == A
}
"#;

const TESTS: &str = r#"// Tests of funnel.funnel: `funnelc test` runs them.
tests for "funnel.funnel"

// The lead most tests start from; a test overrides what it is about.
fixture "a consenting lead" {
  traits { consent: true, company: { employees: 250 } }
  events {
    2025-01-06 form.submitted
  }
}

test "a form with consent makes a lead" from "a consenting lead" {
  expect stage lead
  expect entered lead at 2025-01-06 by enter on form.submitted
}

test "two opens engage, a demo qualifies" from "a consenting lead" {
  events {
    2025-01-07 email.opened
    2025-01-09 email.opened
    2025-01-14 demo.requested
  }
  expect stage engaged at 2025-01-10
  expect stage qualified
  expect grade fit == A
}

// One test per row of the table.
cases "company size decides the fit grade" from "a consenting lead" {
  rows "fit-cases.csv"
}

// Every sample lead's outcome, kept in snapshots/: a rule change that moves leads shows here.
snapshot "sample leads" {
  leads "../data/sample.jsonl"
}
"#;

const CASES: &str = "name,company.employees,expect score fit,expect grade fit
small company,20,== 20,== B
large company,500,== 50,== A
";

const SAMPLE: &str = r#"{"id": "L1", "traits": {"consent": true, "company": {"employees": 250}}, "events": [{"type": "form.submitted", "at": "2025-01-06T09:00:00Z"}, {"type": "email.opened", "at": "2025-01-07T10:00:00Z"}, {"type": "email.opened", "at": "2025-01-09T10:00:00Z"}, {"type": "demo.requested", "at": "2025-01-14T15:30:00Z"}]}
{"id": "L2", "traits": {"consent": true, "company": {"employees": 40}}, "events": [{"type": "form.submitted", "at": "2025-01-08T11:00:00Z"}, {"type": "email.opened", "at": "2025-01-10T08:00:00Z"}]}
{"id": "L3", "traits": {"consent": false, "company": {"employees": 900}}, "events": [{"type": "form.submitted", "at": "2025-01-09T12:00:00Z"}]}
{"id": "L4", "traits": {"consent": true, "company": {"employees": 120}}, "events": [{"type": "form.submitted", "at": "2025-01-10T09:00:00Z"}, {"type": "email.opened", "at": "2025-01-12T09:00:00Z"}, {"type": "email.opened", "at": "2025-01-13T09:00:00Z"}]}
"#;

pub fn run(args: Args) -> Exit {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    if dir.join(FILE).exists() {
        eprintln!(
            "error: `{}` is a project already: it has a {FILE}",
            dir.display()
        );
        return Exit::Usage;
    }
    let files = [
        (FILE, TOML),
        ("rules/funnel.funnel", RULES),
        ("rules/funnel.test.funnel", TESTS),
        ("rules/fit-cases.csv", CASES),
        ("data/sample.jsonl", SAMPLE),
    ];
    // Nothing is overwritten: a folder that has one of these files is left as it is.
    if let Some((name, _)) = files.iter().find(|(n, _)| dir.join(n).exists()) {
        eprintln!(
            "error: `{}` exists: funnelc init writes only new files",
            dir.join(name).display()
        );
        return Exit::Usage;
    }
    for (name, text) in files {
        if let Err(e) = write(&dir.join(name), text) {
            return e;
        }
    }
    // The snapshot of the sample, taken as `funnelc test --accept` would take it.
    let snapshot = match sample_snapshot(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}; please report this");
            return Exit::Failed;
        }
    };
    let snap = "rules/snapshots/sample-leads.snap";
    if let Err(e) = write(&dir.join(snap), &snapshot) {
        return e;
    }
    let mut out = String::new();
    for name in files.iter().map(|f| f.0).chain([snap]) {
        out.push_str(&format!("created {name}\n"));
    }
    let cd = if dir == Path::new(".") {
        String::new()
    } else {
        format!("cd {} && ", dir.display())
    };
    out.push_str(&format!(
        "\nNext: `{cd}funnelc test` runs the tests, and `funnelc eval` runs the rules on \
         data/sample.jsonl; edit rules/funnel.funnel and run them again.\n"
    ));
    print!("{out}");
    Exit::Ok
}

fn write(path: &Path, text: &str) -> Result<(), Exit> {
    let made = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, text));
    made.map_err(|e| {
        eprintln!(
            "error: cannot write `{}`: {}",
            path.display(),
            funnelc::pipeline::io_reason(&e)
        );
        Exit::Usage
    })
}

fn sample_snapshot(dir: &Path) -> Result<String, String> {
    let compiled = funnelc::compile(RULES, "rules/funnel.funnel");
    let plan = compiled
        .plan()
        .ok_or("the starter rule file does not check")?;
    let data = Data {
        leads: dir.join("data/sample.jsonl"),
        name: "data/sample.jsonl".into(),
        format: None,
        events: None,
        rename: Default::default(),
    };
    let taken = take(
        &plan,
        &data,
        None,
        ("funnel.funnel", "../data/sample.jsonl"),
        false,
    )?;
    Ok(taken.text)
}
