//! `funnelc diff OLD NEW --leads DATA`, or `funnelc diff FILE --rev GIT_REV --leads DATA`:
//! two versions of a rule file on the same leads. A committed version is read through git
//! (`git show REV:path`), without touching the working tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::eval::DataFlags;
use super::project::InFormat;
use super::{Exit, Read};
use funnelc::diff::{self, Options, Version};
use funnelc::report::Spec;

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    Table,
    /// Markdown, ready to paste into a pull-request comment
    Md,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The rule file before the change; with --rev, the working file, compared with its
    /// version at that revision (default with --rev: the project's one rule file)
    #[arg(value_name = "OLD")]
    old: Option<PathBuf>,
    /// The rule file after the change
    #[arg(value_name = "NEW")]
    new: Option<PathBuf>,
    /// Compare the working file OLD with its committed version at this git revision (a
    /// commit, branch or tag), read through git without a checkout
    #[arg(long, value_name = "GIT_REV", conflicts_with = "new")]
    rev: Option<String>,
    /// Lead data: a file, or `-` for standard input (default: funnel.toml's `[paths] leads`)
    #[arg(long, value_name = "DATA")]
    leads: Option<PathBuf>,
    /// With CSV input: the events file (lead_id, type, at, one column per property)
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// With Segment input: a TOML file whose `[rename]` table maps event names and trait
    /// paths in the data to names in the schema
    #[arg(long, value_name = "FILE")]
    rename: Option<PathBuf>,
    /// Input format (default: funnel.toml's `input_format`, else told from the data: a `.csv`
    /// name is CSV, a first line of Segment calls is Segment, anything else JSONL)
    #[arg(long, value_enum)]
    input_format: Option<InFormat>,
    /// Evaluate both versions as of this instant (RFC 3339, or a date: the end of that day);
    /// `now` for the current time. Default: the latest event time in the input
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Threads to evaluate leads on (default: the RAYON_NUM_THREADS environment variable,
    /// else one per core). With 1, everything runs on a single thread
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: OutFormat,
    /// Write to this file (atomically) instead of standard output
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// How many of the leads that moved to list (the first ones in the data)
    #[arg(long, value_name = "N", default_value_t = 20)]
    show: usize,
    /// Keep going past bad leads: report them and count them
    #[arg(long)]
    skip_bad: bool,
}

/// Runs git in `dir`; its standard output, or its first line of complaint.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {}", funnelc::pipeline::io_reason(&e)))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(err
        .lines()
        .next()
        .unwrap_or("git failed")
        .trim()
        .to_string())
}

/// The rule file `path` as committed at `rev`, named `REV:path` (the path from the root of
/// its repository).
fn committed(path: &Path, rev: &str) -> Result<Read, Exit> {
    let fail = |m: String| {
        eprintln!("error: {m}");
        Exit::Usage
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Err(fail(format!("`{}` is not a file name", path.display())));
    };
    if !dir.is_dir() {
        return Err(fail(format!(
            "cannot read `{}`: no such file",
            path.display()
        )));
    }
    let prefix = git(dir, &["rev-parse", "--show-prefix"]).map_err(|m| {
        fail(format!(
            "--rev needs `{}` to be in a git repository ({m})",
            path.display()
        ))
    })?;
    let prefix = String::from_utf8_lossy(&prefix).trim_end().to_string();
    let in_repo = format!("{prefix}{name}");
    // A revision that does not exist, and a file absent at one that does, are told apart.
    if rev.starts_with('-')
        || git(
            dir,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .is_err()
    {
        return Err(fail(format!(
            "--rev: `{rev}` is not a revision of the repository of `{}`",
            path.display()
        )));
    }
    let spec = format!("{rev}:{in_repo}");
    if git(dir, &["cat-file", "-e", &spec]).is_err() {
        return Err(fail(format!(
            "`{in_repo}` does not exist at revision `{rev}` (added since, or renamed?)"
        )));
    }
    let bytes =
        git(dir, &["show", &spec]).map_err(|m| fail(format!("cannot read `{spec}`: {m}")))?;
    Ok(super::source_from_bytes(spec, bytes))
}

/// What the rule file is compared with.
enum Against<'a> {
    /// Another rule file: `funnelc diff OLD NEW`.
    File(&'a Path),
    /// Its committed version at a git revision: `funnelc diff FILE --rev GIT_REV`.
    Rev(&'a str),
}

pub fn run(args: Args) -> Exit {
    let against = match (&args.new, &args.rev) {
        (Some(new), _) => Against::File(new),
        (None, Some(rev)) => Against::Rev(rev),
        (None, None) => {
            eprintln!(
                "error: name the new rule file (`funnelc diff OLD NEW`), or compare with a git revision (`funnelc diff FILE --rev GIT_REV`)"
            );
            return Exit::Usage;
        }
    };
    // With --rev and no file named, the project's rule file; without --leads, its data.
    let given = match super::project::settle(
        args.old.as_deref(),
        args.leads.as_deref(),
        args.events.as_deref(),
        "funnelc diff RULES --rev GIT_REV --leads DATA",
    ) {
        Ok(g) => g,
        Err(e) => return e,
    };
    // The old version first: with --rev, it is the working file's committed version.
    let (old, new) = match against {
        Against::File(new) => (super::read_source(&given.rules), super::read_source(new)),
        Against::Rev(rev) => (
            committed(&given.rules, rev),
            super::read_source(&given.rules),
        ),
    };
    let (old, new) = match (
        old.and_then(super::compile_read),
        new.and_then(super::compile_read),
    ) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    // A test file or a fixture file changes no rule: with --rev (or as both sides) there is
    // nothing to compare, which is no error (a hook passes every changed `.funnel` file).
    if let Some(what) = super::not_rules(&new.file) {
        if matches!(against, Against::Rev(_)) || super::not_rules(&old.file).is_some() {
            eprintln!(
                "note: `{}` is {what}: it holds no rules, so there is nothing to compare",
                new.name
            );
            return Exit::Ok;
        }
    }
    let (old, new) = match (super::rules_of(old), super::rules_of(new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    super::show_warnings(&old.0);
    super::show_warnings(&new.0);
    let specs = (
        Spec::new(&old.0.file, &old.1, &[]),
        Spec::new(&new.0.file, &new.1, &[]),
    );
    let (old_spec, new_spec) = match specs {
        (Ok(a), Ok(b)) => (a, b),
        (Err(m), _) | (_, Err(m)) => {
            eprintln!("error: {m}");
            return Exit::Failed;
        }
    };
    let mut leads = given.leads;
    let spool = match super::Spool::if_needed(&leads, args.as_of.is_none()) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if let Some(s) = &spool {
        leads = s.path().to_path_buf();
    }
    let flags = DataFlags {
        leads: &leads,
        spooled: spool.as_ref().map(super::Spool::name),
        format: args.input_format,
        events: given.events.as_deref(),
        rename: args.rename.as_deref(),
        as_of: args.as_of.as_deref(),
        project: given.project.as_ref(),
    };
    // Opened with the new version's schema: the one leads are read by (see
    // `pipeline::evaluate_pair`).
    let (data, opened) = match super::eval::open(&new.1, &flags) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let before = Version {
        name: old.0.name.clone(),
        plan: &old.1,
        spec: &old_spec,
    };
    let after = Version {
        name: new.0.name.clone(),
        plan: &new.1,
        spec: &new_spec,
    };
    let progress = super::Progress::new();
    let skip_bad = args.skip_bad;
    let options = Options {
        as_of: opened.as_of,
        keep: args.show,
    };
    let result = diff::run(
        &before,
        &after,
        &data,
        opened.input,
        &options,
        |e| super::eval::bad_lead(e, skip_bad),
        |n| progress.tick(n),
    );
    progress.done();
    let d = match result {
        Ok(Some(d)) => d,
        Ok(None) => return Exit::Failed,
        Err(e) => return super::eval::fail(e),
    };
    let text = match args.format {
        OutFormat::Table => diff::render::table(&d),
        OutFormat::Md => diff::render::markdown(&d),
        OutFormat::Json => diff::render::json(&d),
    };
    let mut sink = match super::Sink::open(args.output.as_deref()) {
        Ok(s) => s,
        Err(e) => return e,
    };
    sink.write(&text);
    match sink.finish() {
        Ok(()) => Exit::Ok,
        Err(e) => e,
    }
}
