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
mod scratch;
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

/// What `funnelc --help` ends with: the exit statuses, and a first example of each command.
const AFTER_HELP: &str = "\
Exit status:
  0    success (warnings allowed, unless --deny-warnings)
  1    the input has errors: a rule file that does not check, a failing test, a file not
       formatted (fmt --check), bad lead data without --skip-bad
  2    the command could not run: bad arguments, a file that cannot be read or written
  3    test: a rule file, test file or table of cases does not check (its tests did not run)
  130  interrupted (Ctrl-C, SIGTERM); scratch files are removed first

Examples:
  funnelc check rules/b2b-saas.funnel
  funnelc fmt --check rules/*.funnel
  funnelc test rules/b2b-saas.funnel
  funnelc eval rules/b2b-saas.funnel --leads examples/leads.jsonl
  funnelc explain rules/b2b-saas.funnel --leads examples/leads.jsonl --lead L1
  funnelc report rules/b2b-saas.funnel --leads examples/leads.jsonl --format html -o report.html

docs/cli.md describes the conventions (exit status, colour, formats).";

#[derive(Parser)]
#[command(
    name = "funnelc",
    version,
    about = "Rules for marketing and sales funnels: check them, format them, run them on lead histories",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to colour the output: `auto` (a terminal, unless NO_COLOR is set non-empty or
    /// TERM=dumb; CLICOLOR_FORCE forces it), `always` or `never`
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    color: ColorWhen,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Check rule files: every mistake at once, and warnings for rules that can never fire
    #[command(after_help = "Example:\n  funnelc check rules/b2b-saas.funnel --format github")]
    Check(check::Args),
    /// Replay lead histories through the stage machine: every lead's stage, entries and scores
    #[command(
        after_help = "Example:\n  funnelc eval rules/b2b-saas.funnel --leads examples/leads.jsonl --format csv -o stages.csv"
    )]
    Eval(eval::Args),
    /// Rewrite rule files in the one canonical layout (comments kept)
    #[command(after_help = "Example:\n  funnelc fmt --check rules/b2b-saas.funnel")]
    Fmt(fmt::Args),
    /// Run rule tests: `test` blocks, test files, tables of cases and snapshots, under folders
    #[command(after_help = "Example:\n  funnelc test rules/")]
    Test(test::Args),
    /// Start a project: funnel.toml, a rule file, tests, a sample of leads and its snapshot
    Init(init::Args),
    /// Explain one lead: its timeline, every condition with actual values, its scores
    #[command(
        after_help = "Example:\n  funnelc explain rules/b2b-saas.funnel --leads examples/leads.jsonl --lead L1"
    )]
    Explain(explain::Args),
    /// Measure the rule file's KPIs on the leads: stage counts, conversions against their
    /// bands, velocity, breakdowns, targets, spend and revenue
    #[command(
        after_help = "Example:\n  funnelc report rules/b2b-saas.funnel --leads examples/leads.jsonl --format html -o report.html"
    )]
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

/// How `check` reports diagnostics.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum DiagFormat {
    /// For people: the source around each problem
    Human,
    /// One JSON document: every diagnostic with its places and certain fixes
    Json,
    /// GitHub Actions workflow commands: annotations on the pull request
    Github,
    /// SARIF 2.1.0, for code scanning
    Sarif,
}

pub fn main() -> ExitCode {
    scratch::install_cleanup();
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
    // CLICOLOR_FORCE=0 does not force colour (the CLICOLOR convention: forced when set and
    // not 0), but anstream takes any value as on; taken out before any thread starts.
    if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v == "0") {
        std::env::remove_var("CLICOLOR_FORCE");
    }
    // One decision for every command and both streams, by anstream's rules (no-color.org,
    // CLICOLOR, CLICOLOR_FORCE, TERM=dumb) unless the flag says.
    anstream::ColorChoice::write_global(match cli.color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    });
    // Only the commands that read leads take a thread count.
    let threads = match &cli.command {
        Command::Eval(a) => a.input.threads,
        Command::Explain(a) => a.input.threads,
        Command::Report(a) => a.input.threads,
        Command::Diff(a) => a.threads,
        Command::Test(a) => a.threads,
        Command::Check(_) | Command::Fmt(_) | Command::Init(_) => None,
    };
    if let Some(n) = threads {
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

/// Reads a text file the command was given (a rename table, a spend file, the project
/// file); an unreadable one is a usage error, reported here.
pub fn read_text(path: &Path) -> Result<String, Exit> {
    std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read `{}`: {}", path.display(), io_reason(&e));
        Exit::Usage
    })
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

/// Whether standard output is coloured: `--color`, else a terminal with colour allowed by
/// the environment (NO_COLOR set non-empty, TERM=dumb and CLICOLOR=0 turn it off,
/// CLICOLOR_FORCE on).
pub fn color_stdout() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// What a file that holds no rules is, told to a user who gave it where a rule file goes:
/// `None` for a rule file.
pub fn not_rules(file: &funnelc::syntax::ast::File) -> Option<String> {
    if file.holds_rules() {
        return None;
    }
    Some(match file.tests_for() {
        Some(t) => format!("a test file (`tests for \"{}\"`)", t.path.text),
        None => "a file of shared fixtures".to_string(),
    })
}

/// Reads, checks and compiles a rule file; diagnostics go to standard error. Returns the
/// compiled file with its plan taken out.
pub fn load(path: &Path) -> Result<(funnelc::Compiled, Plan), Exit> {
    load_read(read_source(path)?)
}

/// [`load`] for a rule file already read (from git, say).
pub fn load_read(read: Read) -> Result<(funnelc::Compiled, Plan), Exit> {
    rules_of(compile_read(read)?)
}

/// A rule file read, compiled; its diagnostics are not shown yet. A file that is not UTF-8
/// is reported here.
pub fn compile_read(read: Read) -> Result<funnelc::Compiled, Exit> {
    match read {
        Read::Ok(s) => Ok(funnelc::compile(&s.text, &s.name)),
        Read::Bad(s, d) => {
            eprint!(
                "{}",
                diag::render_human(&[d], &s.name, &s.text, color_stderr())
            );
            Err(Exit::Failed)
        }
    }
}

/// The compiled file with its plan taken out, when it is a rule file that checks; else its
/// errors are reported here.
pub fn rules_of(mut compiled: funnelc::Compiled) -> Result<(funnelc::Compiled, Plan), Exit> {
    let name = &compiled.name;
    // A test file or a fixture file given where a rule file goes: its diagnostics as a rule
    // file (no stages, unknown traits) would bury the mistake.
    if let Some(what) = not_rules(&compiled.file) {
        eprintln!("error: `{name}` is {what}, not a rule file");
        match compiled.file.tests_for() {
            Some(t) => {
                let dir = Path::new(name).parent().unwrap_or(Path::new(""));
                let rules = dir.join(&t.path.text);
                eprintln!(
                    "  help: name the rule file it tests, `{}`; `funnelc test {name}` runs its tests",
                    rules.display(),
                );
            }
            None => eprintln!(
                "  help: name a rule file (this one holds only `fixture` declarations, which test files start from)"
            ),
        }
        return Err(Exit::Usage);
    }
    if compiled.has_errors() {
        let errors: Vec<_> = std::mem::take(&mut compiled.diagnostics)
            .into_iter()
            .filter(|d| d.is_error())
            .collect();
        eprint!(
            "{}",
            diag::render_human(&errors, &compiled.name, &compiled.source, color_stderr())
        );
        eprintln!("{}", diag::summary_line(&compiled.name, &errors));
        return Err(Exit::Failed);
    }
    match compiled.plan() {
        Some(plan) => Ok((compiled, plan)),
        None => {
            eprintln!(
                "error: `{}` checks clean but could not be compiled; please report this",
                compiled.name
            );
            Err(Exit::Failed)
        }
    }
}

/// [`color_stdout`], for standard error.
pub fn color_stderr() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// The marks of passed and failed checks (`✓`, `✗`) in green and red, for the outputs that
/// use them (explain, test); the text is otherwise unchanged.
pub fn color_marks(text: &str, on: bool) -> String {
    if !on {
        return text.to_string();
    }
    use anstyle::AnsiColor;
    let (g, r) = (AnsiColor::Green.on_default(), AnsiColor::Red.on_default());
    text.replace('✓', &format!("{g}✓{g:#}"))
        .replace('✗', &format!("{r}✗{r:#}"))
}

/// Where output goes: standard output, or a file written atomically (a temporary file in the
/// same folder, renamed over the target only when everything succeeded; through a symbolic
/// link, over the file it points to; with the replaced file's permissions), or a device or
/// pipe, written to directly.
pub struct Sink {
    out: Box<dyn std::io::Write>,
    target: Option<(tempfile::TempPath, std::path::PathBuf)>,
    failed: Option<String>,
    /// Standard output's reader went away (`funnelc eval ... | head`): not an error, as with
    /// other command-line tools; nothing more is written.
    closed: bool,
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
                closed: false,
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
                    closed: false,
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
        scratch::remove_stale(path);
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // A new output gets the permissions a plain create would give (0666 less the umask);
        // a replaced one gets its own in `finish`.
        let made = tempfile::Builder::new()
            .prefix(&format!(
                "{}{}-",
                scratch::output_prefix(&name),
                std::process::id()
            ))
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir);
        match made {
            Ok(f) => {
                let (file, tmp) = f.into_parts();
                scratch::track(&tmp);
                Ok(Sink {
                    out: Box::new(std::io::BufWriter::with_capacity(1 << 20, file)),
                    target: Some((tmp, path.to_path_buf())),
                    failed: None,
                    closed: false,
                })
            }
            Err(e) => Err(cannot(e)),
        }
    }

    pub fn write(&mut self, s: &str) {
        if self.failed.is_none() && !self.closed {
            if let Err(e) = self.out.write_all(s.as_bytes()) {
                self.fail(&e);
            }
        }
    }

    fn fail(&mut self, e: &std::io::Error) {
        if e.kind() == std::io::ErrorKind::BrokenPipe && self.target.is_none() {
            self.closed = true;
        } else {
            self.failed = Some(io_reason(e));
        }
    }

    pub fn abandon(self) {
        if let Some((tmp, _)) = self.target {
            scratch::untrack(&tmp);
            // Dropping the path removes the file.
            drop(tmp);
        }
    }

    pub fn finish(mut self) -> Result<(), Exit> {
        if self.failed.is_none() && !self.closed {
            if let Err(e) = self.out.flush() {
                self.fail(&e);
            }
        }
        if let Some(why) = self.failed.take() {
            eprintln!("error: cannot write the output: {why}");
            self.abandon();
            return Err(Exit::Usage);
        }
        if let Some((tmp, target)) = self.target.take() {
            // A file replaced keeps its permissions (a rule file kept at 0600 or 0440 stays
            // so): the new file was created with the default ones.
            if let Ok(m) = std::fs::metadata(&target) {
                let _ = std::fs::set_permissions(&tmp, m.permissions());
            }
            let path = tmp.to_path_buf();
            let persisted = tmp.persist(&target);
            scratch::untrack(&path);
            if let Err(e) = persisted {
                eprintln!(
                    "error: cannot write `{}`: {}",
                    target.display(),
                    io_reason(&e.error)
                );
                // Dropping the path given back removes the file.
                drop(e.path);
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

/// What `eval` and `explain` do first: load the plan, and keep standard input or a pipe in a
/// scratch file when the default as-of needs a second pass over it (`leads` then names that
/// file).
pub fn prepare(
    rules: &Path,
    leads: &mut std::path::PathBuf,
    two_passes: bool,
) -> Result<(Plan, Option<Spool>), Exit> {
    let (compiled, plan) = load(rules)?;
    show_warnings(&compiled);
    let spool = Spool::if_needed(leads, two_passes)?;
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

/// Standard input, or a pipe given as a path (`--leads <(zcat leads.jsonl.gz)`), copied to a
/// scratch file, for the commands that read their input twice (the default `--as-of` is the
/// latest event in the data): a pipe read by the first pass would be empty for the second.
/// A private file with an unguessable name (see [`scratch`]), removed when dropped or when
/// the run is interrupted.
pub struct Spool {
    file: tempfile::TempPath,
    /// How the input is named in messages: `<stdin>`, or the path given.
    name: String,
}

impl Spool {
    /// When a second pass is needed and `path` is `-` or not a regular file (a pipe, a FIFO,
    /// a character device), copies it to a scratch file and returns it; the caller reads that
    /// file instead.
    pub fn if_needed(path: &Path, needed: bool) -> Result<Option<Spool>, Exit> {
        let stdin = path.as_os_str() == "-";
        // A folder or a missing file is left to the reader, which says what is wrong.
        let pipe = || std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
        if !needed || !(stdin || pipe()) {
            return Ok(None);
        }
        let name = if stdin {
            "<stdin>".to_string()
        } else {
            funnelc::pipeline::input_name(path)
        };
        let failed = |e: std::io::Error| {
            eprintln!(
                "error: cannot keep {name} for a second pass: {}",
                io_reason(&e)
            );
            Exit::Usage
        };
        let made = tempfile::Builder::new()
            .prefix("funnelc-stdin-")
            .suffix(".jsonl")
            .tempfile()
            .map_err(failed)?;
        let (mut file, scratch_path) = made.into_parts();
        scratch::track(&scratch_path);
        let spool = Spool {
            file: scratch_path,
            name: name.clone(),
        };
        if stdin {
            std::io::copy(&mut std::io::stdin().lock(), &mut file).map_err(failed)?;
        } else {
            let mut from = std::fs::File::open(path).map_err(failed)?;
            std::io::copy(&mut from, &mut file).map_err(failed)?;
        }
        Ok(Some(spool))
    }

    pub fn path(&self) -> &Path {
        &self.file
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        // The file itself goes when `file` is dropped, right after this.
        scratch::untrack(&self.file);
    }
}
