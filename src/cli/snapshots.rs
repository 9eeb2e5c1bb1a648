//! The snapshot tests of `funnelc test`: each `snapshot` declaration's sample evaluated and
//! compared with its stored file, `snapshots/NAME.snap` beside the declaring file. A new or
//! changed snapshot is written beside it as pending (`.snap.new`) and fails the run; only
//! `--accept` replaces the stored one. With `CI=true` nothing is written.

use std::path::{Path, PathBuf};

use funnelc::pipeline::Data;
use funnelc::plan::Plan;
use funnelc::review::{self, take::take, Snapshot};
use funnelc::rule_tests::{Hits, TestResult};

/// A snapshot to check: where it is declared, its sample and its stored file.
pub struct Job {
    pub name: String,
    /// `file:line` of the declaration.
    pub origin: String,
    pub leads: PathBuf,
    /// The rule file and the sample as the declaration names them.
    pub names: (String, String),
    pub as_of: Option<i64>,
    pub stored: PathBuf,
    /// The input format and the Segment rename table (the project's defaults).
    pub format: Option<funnelc::pipeline::Format>,
    pub rename: std::collections::BTreeMap<String, String>,
}

/// How snapshot files may be written in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Pending snapshots are written as `.snap.new`.
    Normal,
    /// `--accept`: the stored snapshot is replaced.
    Accept,
    /// `CI=true`: nothing is written.
    Ci,
}

impl Mode {
    pub fn new(accept: bool) -> Mode {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        match (accept, ci) {
            (_, true) => Mode::Ci,
            (true, false) => Mode::Accept,
            (false, false) => Mode::Normal,
        }
    }
}

/// The stored file of a snapshot named `name`: in the project's snapshot folder, else in
/// `snapshots/` beside the declaring file (in `dir`).
pub fn stored_path(project: Option<&Path>, dir: &Path, name: &str) -> PathBuf {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    match project {
        Some(p) => p.join(format!("{slug}.snap")),
        None => dir.join("snapshots").join(format!("{slug}.snap")),
    }
}

/// Where a snapshot's pending outcome is written: `NAME.snap.new`.
pub fn pending(stored: &Path) -> PathBuf {
    let mut p = stored.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| {
        format!(
            "cannot write `{}`: {}",
            path.display(),
            funnelc::pipeline::io_reason(&e)
        )
    })
}

/// `--review`: for each snapshot with a pending outcome, asks on the terminal whether to
/// accept it, and replaces the stored one when told `y`.
pub fn review(jobs: &[&Job]) -> Result<(), String> {
    use std::io::BufRead;
    let mut lines = std::io::stdin().lock().lines();
    for job in jobs {
        let new = pending(&job.stored);
        if !new.is_file() {
            continue;
        }
        eprint!(
            "accept snapshot \"{}\" (`{}` over `{}`)? [y/N] ",
            job.name,
            new.display(),
            job.stored.display()
        );
        let answer = match lines.next() {
            Some(Ok(a)) => a,
            Some(Err(e)) => return Err(format!("cannot read the answer: {e}")),
            None => return Ok(()),
        };
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            std::fs::rename(&new, &job.stored).map_err(|e| {
                format!(
                    "cannot write `{}`: {}",
                    job.stored.display(),
                    funnelc::pipeline::io_reason(&e)
                )
            })?;
            eprintln!("accepted {}", job.stored.display());
        }
    }
    Ok(())
}

/// Checks one snapshot: its result (failures say why, with the summary of what changed) and
/// a note for standard error (what was written).
pub fn check(plan: &Plan, job: &Job, mode: Mode) -> (TestResult, Option<String>) {
    let mut result = TestResult {
        name: format!("snapshot \"{}\"", job.name),
        origin: job.origin.clone(),
        failures: Vec::new(),
        lead: None,
        hits: Hits::new(plan),
    };
    let data = Data {
        leads: job.leads.clone(),
        name: funnelc::pipeline::input_name(&job.leads),
        format: job.format,
        events: None,
        rename: job.rename.clone(),
    };
    let names = (job.names.0.as_str(), job.names.1.as_str());
    let taken = match take(plan, &data, job.as_of, names, false) {
        Ok(t) => t,
        Err(e) => {
            result
                .failures
                .push(format!("cannot evaluate the sample: {e}"));
            return (result, None);
        }
    };
    let text = &taken.text;
    let stored = job.stored.display().to_string();
    let new = pending(&job.stored);
    let stored_text = match std::fs::read_to_string(&job.stored) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            result.failures.push(format!(
                "cannot read `{stored}`: {}",
                funnelc::pipeline::io_reason(&e)
            ));
            return (result, None);
        }
    };
    let accept = |result: &mut TestResult| -> Option<String> {
        match write(&job.stored, text) {
            Ok(()) => {
                let _ = std::fs::remove_file(&new);
                Some(format!("accepted {stored}"))
            }
            Err(e) => {
                result.failures.push(e);
                None
            }
        }
    };
    let keep_pending = |result: &mut TestResult, why: &str| -> Option<String> {
        match mode {
            Mode::Ci => {
                result.failures.push(format!(
                    "{why}; with CI=true nothing is written: run `funnelc test --accept` \
                     where you can review it, and commit `{stored}`"
                ));
                None
            }
            _ => match write(&new, text) {
                Ok(()) => {
                    result.failures.push(format!(
                        "{why}; the new one is pending in `{}`: review it, then \
                         `funnelc test --accept`",
                        new.display()
                    ));
                    None
                }
                Err(e) => {
                    result.failures.push(e);
                    None
                }
            },
        }
    };
    // Unchanged: the same text, and nothing to read back.
    if stored_text.as_deref() == Some(text.as_str()) {
        if mode != Mode::Ci {
            // A pending snapshot left from an earlier run is stale now.
            let _ = std::fs::remove_file(&new);
        }
        return (result, None);
    }
    let Some(stored_text) = stored_text else {
        let note = if mode == Mode::Accept {
            accept(&mut result)
        } else {
            keep_pending(&mut result, &format!("no stored snapshot `{stored}` yet"))
        };
        return (result, note);
    };
    let old = match Snapshot::parse(&stored_text) {
        Ok(s) => s,
        Err((line, why)) => {
            if mode == Mode::Accept {
                let note = accept(&mut result);
                return (result, note);
            }
            result.failures.push(format!(
                "`{stored}` line {line} is not as funnelc writes snapshots: {why}"
            ));
            result.failures.push(
                "a snapshot is written by funnelc, not by hand: if the rules are right, \
                 `funnelc test --accept` writes it again"
                    .into(),
            );
            return (result, None);
        }
    };
    // The deciding rules are worked out only now that they are shown: a second pass over the
    // sample, on the path that fails anyway.
    let decided = match take(plan, &data, job.as_of, names, true) {
        Ok(t) => t.decisions,
        Err(e) => {
            result
                .failures
                .push(format!("cannot evaluate the sample: {e}"));
            return (result, None);
        }
    };
    let decision = |id: &str| decided.get(id).cloned();
    let now = match taken.snapshot() {
        Ok(s) => s,
        Err(e) => {
            result.failures.push(e);
            return (result, None);
        }
    };
    match review::compare(plan, &old, &now, &decision) {
        None => {
            if mode != Mode::Ci {
                // A pending snapshot left from an earlier run is stale now.
                let _ = std::fs::remove_file(&new);
            }
            (result, None)
        }
        Some(_) if mode == Mode::Accept => {
            let note = accept(&mut result);
            (result, note)
        }
        Some(diff) => {
            result
                .failures
                .push(format!("the outcomes differ from `{stored}`:"));
            result
                .failures
                .extend(diff.summary.lines().map(|l| format!("  {l}")));
            let note = keep_pending(&mut result, "the snapshot changed");
            (result, note)
        }
    }
}
