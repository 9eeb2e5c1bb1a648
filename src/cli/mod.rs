//! The command line: argument parsing and the IO edge. Everything here reads files and writes
//! to the terminal; the library underneath never does.

mod check;
mod diff;
mod discover;
mod eval;
mod explain;
mod fmt;
mod init;
mod project;
mod report;
mod snapshots;
mod test;
mod test_out;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use funnelc::diag::{self, Code, Diagnostic};
use funnelc::pipeline::io_reason;
use funnelc::plan::Plan;
use funnelc::span::Span;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything is fine (warnings allowed unless denied).
    Ok = 0,
    /// The input has errors: a rule file that does not check, a file not formatted.
    Failed = 1,
    /// The command could not run: bad arguments, a file that cannot be read or written.
    Usage = 2,
    /// `test`: a rule file, test file or table of cases does not check, so its tests did not
    /// run (told apart from tests that ran and failed).
    Invalid = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

#[derive(Parser)]
#[command(
    name = "funnelc",
    version,
    about = "Rules for marketing and sales funnels: check them, format them, run them on lead histories"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Threads to evaluate leads on (default: the RAYON_NUM_THREADS environment variable,
    /// else one per core). With 1, everything runs on a single thread
    #[arg(long, short = 'j', global = true, value_name = "N")]
    threads: Option<std::num::NonZeroUsize>,
}

#[derive(Subcommand)]
enum Command {
    /// Check rule files: every mistake at once, and warnings for rules that can never fire
    Check(check::Args),
    /// Replay lead histories through the stage machine: every lead's stage, entries and scores
    Eval(eval::Args),
    /// Rewrite rule files in the one canonical layout (comments kept)
    Fmt(fmt::Args),
    /// Run rule tests: `test` blocks, test files, tables of cases and snapshots, under folders
    Test(test::Args),
    /// Start a project: funnel.toml, a rule file, tests, a sample of leads and its snapshot
    Init(init::Args),
    /// Explain one lead: its timeline, every condition with actual values, its scores
    Explain(explain::Args),
    /// Measure the rule file's KPIs on the leads: stage counts, conversions against their
    /// bands, velocity, breakdowns, targets, spend and revenue
    Report(report::Args),
    /// Compare two versions of a rule file on the same leads: stage volumes, where each lead
    /// ended before and after, conversions and their bands, the leads that moved and why
    Diff(diff::Args),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            }
            .into();
        }
    };
    if let Some(n) = cli.threads {
        // The pool is built here first, before anything could have started it.
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n.get())
            .build_global()
        {
            eprintln!("error: cannot start {n} threads: {e}");
            return Exit::Usage.into();
        }
    }
    let exit = match cli.command {
        Command::Check(a) => check::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Fmt(a) => fmt::run(a),
        Command::Report(a) => report::run(a),
        Command::Test(a) => test::run(a),
        Command::Init(a) => init::run(a),
    };
    exit.into()
}

/// A rule file as read from disk: its text, or the reason it has none.
pub struct Source {
    pub name: String,
    pub text: String,
}

pub enum Read {
    Ok(Source),
    /// The file exists but is not UTF-8 text: a diagnostic against a lossy copy.
    Bad(Source, Diagnostic),
}

/// Reads a rule file; an unreadable file is a usage error, reported here.
pub fn read_source(path: &Path) -> Result<Read, Exit> {
    let name = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read `{name}`: {}", io_reason(&e));
            return Err(Exit::Usage);
        }
    };
    Ok(source_from_bytes(name, bytes))
}

/// A rule file's bytes as text, or a diagnostic when they are not UTF-8.
pub fn source_from_bytes(name: String, bytes: Vec<u8>) -> Read {
    match String::from_utf8(bytes) {
        Ok(text) => Read::Ok(Source { name, text }),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            // The lossy copy is the same up to the first bad byte, so the offset holds.
            let d = Diagnostic::error(
                Code::NotUtf8,
                Span::new(at, at + 1),
                "the file is not UTF-8 text",
            )
            .label("this byte is not UTF-8")
            .help("save the file as UTF-8 (most editors have an encoding option)");
            Read::Bad(Source { name, text }, d)
        }
    }
}

/// Colour only when a person is watching.
pub fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Reads, checks and compiles a rule file; diagnostics go to standard error. Returns the
/// compiled file with its plan taken out.
pub fn load(path: &Path) -> Result<(funnelc::Compiled, Plan), Exit> {
    load_read(read_source(path)?)
}

/// [`load`] for a rule file already read (from git, say).
pub fn load_read(read: Read) -> Result<(funnelc::Compiled, Plan), Exit> {
    let source = match read {
        Read::Ok(s) => s,
        Read::Bad(s, d) => {
            eprint!(
                "{}",
                diag::render_human(&[d], &s.name, &s.text, color_stderr())
            );
            return Err(Exit::Failed);
        }
    };
    let mut compiled = funnelc::compile(&source.text, &source.name);
    if compiled.has_errors() {
        let errors: Vec<_> = std::mem::take(&mut compiled.diagnostics)
            .into_iter()
            .filter(|d| d.is_error())
            .collect();
        eprint!(
            "{}",
            diag::render_human(&errors, &source.name, &source.text, color_stderr())
        );
        eprintln!("{}", diag::summary_line(&source.name, &errors));
        return Err(Exit::Failed);
    }
    match compiled.plan() {
        Some(plan) => Ok((compiled, plan)),
        None => {
            eprintln!(
                "error: `{}` checks clean but could not be compiled; please report this",
                source.name
            );
            Err(Exit::Failed)
        }
    }
}

pub fn color_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Where output goes: standard output, or a file written atomically (a temporary file in the
/// same folder, renamed over the target only when everything succeeded; through a symbolic
/// link, over the file it points to; with the replaced file's permissions), or a device or
/// pipe, written to directly.
pub struct Sink {
    out: Box<dyn std::io::Write>,
    target: Option<(std::path::PathBuf, std::path::PathBuf)>,
    failed: Option<String>,
}

impl Sink {
    pub fn open(path: Option<&Path>) -> Result<Sink, Exit> {
        let Some(path) = path else {
            return Ok(Sink {
                out: Box::new(std::io::BufWriter::with_capacity(
                    1 << 20,
                    std::io::stdout().lock(),
                )),
                target: None,
                failed: None,
            });
        };
        let cannot = |e: std::io::Error| {
            eprintln!(
                "error: cannot write `{}`: {}",
                path.display(),
                io_reason(&e)
            );
            Exit::Usage
        };
        // Something other than a file (`/dev/null`, a named pipe, a terminal) is written to
        // as it is: renaming a finished file over it would replace the device itself.
        if let Ok(m) = std::fs::metadata(path) {
            if !m.is_file() && !m.is_dir() {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(cannot)?;
                return Ok(Sink {
                    out: Box::new(std::io::BufWriter::with_capacity(1 << 20, f)),
                    target: None,
                    failed: None,
                });
            }
        }
        // Through a symbolic link, the file it points to is the one replaced, and the link
        // stays.
        let resolved;
        let path = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                resolved = std::fs::canonicalize(path).map_err(cannot)?;
                resolved.as_path()
            }
            _ => path,
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.funnelc-tmp-{}", std::process::id()));
        match std::fs::File::create(&tmp) {
            Ok(f) => Ok(Sink {
                out: Box::new(std::io::BufWriter::with_capacity(1 << 20, f)),
                target: Some((tmp, path.to_path_buf())),
                failed: None,
            }),
            Err(e) => Err(cannot(e)),
        }
    }

    pub fn write(&mut self, s: &str) {
        if self.failed.is_none() {
            if let Err(e) = self.out.write_all(s.as_bytes()) {
                self.failed = Some(io_reason(&e));
            }
        }
    }

    pub fn abandon(self) {
        if let Some((tmp, _)) = &self.target {
            let _ = std::fs::remove_file(tmp);
        }
    }

    pub fn finish(mut self) -> Result<(), Exit> {
        if self.failed.is_none() {
            if let Err(e) = self.out.flush() {
                self.failed = Some(io_reason(&e));
            }
        }
        if let Some(why) = self.failed.take() {
            eprintln!("error: cannot write the output: {why}");
            self.abandon();
            return Err(Exit::Usage);
        }
        if let Some((tmp, target)) = &self.target {
            // A file replaced keeps its permissions (a rule file kept at 0600 or 0440 stays
            // so): the new file was created with the default ones.
            if let Ok(m) = std::fs::metadata(target) {
                let _ = std::fs::set_permissions(tmp, m.permissions());
            }
            if let Err(e) = std::fs::rename(tmp, target) {
                eprintln!(
                    "error: cannot write `{}`: {}",
                    target.display(),
                    io_reason(&e)
                );
                let _ = std::fs::remove_file(tmp);
                return Err(Exit::Usage);
            }
        }
        Ok(())
    }
}

/// A count of leads on standard error while a long run goes, only when a person watches.
pub struct Progress {
    on: bool,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            on: std::io::stderr().is_terminal(),
        }
    }
    pub fn tick(&self, n: u64) {
        if self.on {
            eprint!("\r{} leads…", funnelc::pipeline::thousands(n));
        }
    }
    pub fn done(&self) {
        if self.on {
            eprint!("\r\x1b[K");
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// What `eval` and `explain` do first: load the plan, and keep standard input in a scratch
/// file when the default as-of needs a second pass over it (`leads` then names that file).
pub fn prepare(
    rules: &Path,
    leads: &mut std::path::PathBuf,
    two_passes: bool,
) -> Result<(Plan, Option<Spool>), Exit> {
    let (compiled, plan) = load(rules)?;
    show_warnings(&compiled);
    let spool = Spool::stdin_if_needed(leads, two_passes)?;
    if let Some(s) = &spool {
        *leads = s.path().to_path_buf();
    }
    Ok((plan, spool))
}

/// The rule file's warnings on standard error, as `check` shows them, before a run that
/// uses the file: a rule that can never fire explains a funnel nobody enters. Standard output
/// stays the run's alone.
pub fn show_warnings(compiled: &funnelc::Compiled) {
    let warnings: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .cloned()
        .collect();
    if warnings.is_empty() {
        return;
    }
    eprint!(
        "{}",
        diag::render_human(&warnings, &compiled.name, &compiled.source, color_stderr())
    );
    eprintln!("{}", diag::summary_line(&compiled.name, &warnings));
}

/// Standard input copied to a scratch file, for the commands that read their input twice (the
/// default `--as-of` is the latest event in the data). Removed when dropped.
pub struct Spool {
    path: std::path::PathBuf,
}

impl Spool {
    /// When `path` is `-` and a second pass is needed, copies standard input to a scratch
    /// file and returns it; the caller reads that file instead.
    pub fn stdin_if_needed(path: &Path, needed: bool) -> Result<Option<Spool>, Exit> {
        if path.as_os_str() != "-" || !needed {
            return Ok(None);
        }
        let spool = Spool {
            path: std::env::temp_dir().join(format!("funnelc-stdin-{}.jsonl", std::process::id())),
        };
        let copied = std::fs::File::create(&spool.path)
            .and_then(|mut f| std::io::copy(&mut std::io::stdin().lock(), &mut f));
        match copied {
            Ok(_) => Ok(Some(spool)),
            Err(e) => {
                eprintln!(
                    "error: cannot keep standard input for a second pass: {}",
                    io_reason(&e)
                );
                Err(Exit::Usage)
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
