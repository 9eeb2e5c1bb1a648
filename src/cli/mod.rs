//! The command line: argument parsing and the IO edge. Everything here reads files and writes
//! to the terminal; the library underneath never does.

mod check;
// mod fmt;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diag::Diagnostic;
use crate::syntax::ast::Span;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything is fine (warnings allowed unless denied).
    Ok = 0,
    /// The input has errors: a rule file that does not check, a file not formatted.
    Failed = 1,
    /// The command could not run: bad arguments, a file that cannot be read or written.
    Usage = 2,
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
}

#[derive(Subcommand)]
enum Command {
    /// Check rule files: every mistake at once, and warnings for rules that can never fire
    Check(check::Args),
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
    let exit = match cli.command {
        Command::Check(a) => check::run(a),
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
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Read::Ok(Source { name, text })),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            // The lossy copy is the same up to the first bad byte, so the offset holds.
            let d = Diagnostic::error(
                "funnel::not_utf8",
                Span::new(at, at + 1),
                "the file is not UTF-8 text",
            )
            .label("this byte is not UTF-8")
            .help("save the file as UTF-8 (most editors have an encoding option)");
            Ok(Read::Bad(Source { name, text }, d))
        }
    }
}

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Colour only when a person is watching.
pub fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
