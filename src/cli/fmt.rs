//! `funnelc fmt [--check] PATH...`: files, folders (every `*.funnel` under them) and `-`
//! (standard input, formatted to standard output). A file keeps its line endings: one whose
//! first line ends in CRLF is written with CRLF throughout.

use std::io::Write;
use std::path::PathBuf;

use super::discover::{discover, read_stdin, Input};
use super::{color_stderr, read_source, Exit, Read};
use funnelc::diag;

#[derive(clap::Args)]
pub struct Args {
    /// Rule files to format in place, folders (every `*.funnel` under them, as `.gitignore`
    /// allows), or `-` to format standard input to standard output
    #[arg(required = true, value_name = "PATH")]
    files: Vec<PathBuf>,
    /// Write nothing: show the differences and fail (exit 1) when a file is not formatted
    #[arg(long)]
    check: bool,
}

/// The line ending a file uses: that of its first line.
fn crlf(text: &str) -> bool {
    text.find('\n')
        .is_some_and(|i| i > 0 && text.as_bytes()[i - 1] == b'\r')
}

fn lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

pub fn run(args: Args) -> Exit {
    let inputs = match discover(&args.files) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let mut exit = Exit::Ok;
    let mut stdout = std::io::stdout().lock();
    for input in &inputs {
        let read = match input {
            Input::File(path) => read_source(path),
            Input::Stdin => read_stdin().map(super::check::stdin_source),
        };
        let source = match read {
            Err(_) => {
                exit = Exit::Usage;
                continue;
            }
            Ok(Read::Bad(s, d)) => {
                eprint!(
                    "{}",
                    diag::render_human(&[d], &s.name, &s.text, color_stderr())
                );
                exit = worst(exit, Exit::Failed);
                continue;
            }
            Ok(Read::Ok(s)) => s,
        };
        let formatted = match funnelc::syntax::fmt::format_source(&source.text) {
            Ok(f) => f,
            Err(diags) => {
                // A file that does not parse cannot be formatted: say why, leave it alone.
                eprint!(
                    "{}",
                    diag::render_human(&diags, &source.name, &source.text, color_stderr())
                );
                eprintln!(
                    "{}: not formatted (fix the syntax errors first)",
                    source.name
                );
                exit = worst(exit, Exit::Failed);
                continue;
            }
        };
        // The formatter writes LF; the file's own ending is put back.
        let formatted = if crlf(&source.text) {
            lf(&formatted).replace('\n', "\r\n")
        } else {
            lf(&formatted)
        };
        if *input == Input::Stdin && !args.check {
            // Editors format on save through standard input: the text goes back whole, changed
            // or not.
            if stdout.write_all(formatted.as_bytes()).is_err() {
                return Exit::Usage;
            }
            continue;
        }
        if formatted == source.text {
            continue;
        }
        if args.check {
            let (old, new) = (lf(&source.text), lf(&formatted));
            if old == new {
                let ending = if crlf(&source.text) { "CRLF" } else { "LF" };
                let _ = writeln!(
                    stdout,
                    "{}: only line endings differ (they are mixed; fmt writes {ending} throughout, as the first line has)",
                    source.name
                );
            } else {
                let diff = similar::TextDiff::from_lines(&old, &new);
                let _ = write!(
                    stdout,
                    "{}",
                    diff.unified_diff()
                        .context_radius(2)
                        .header(&source.name, &format!("{} (formatted)", source.name))
                );
            }
            exit = worst(exit, Exit::Failed);
        } else if let Input::File(path) = input {
            // The same replacement as `eval -o`: atomic, through a link, keeping the mode.
            let written = super::Sink::open(Some(path)).and_then(|mut sink| {
                sink.write(&formatted);
                sink.finish()
            });
            match written {
                Ok(()) => eprintln!("formatted {}", source.name),
                Err(e) => exit = worst(exit, e),
            }
        }
    }
    exit
}

fn worst(a: Exit, b: Exit) -> Exit {
    if (a as u8) >= (b as u8) {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_says_the_ending() {
        assert!(crlf("a\r\nb\n"));
        assert!(!crlf("a\nb\r\n"));
        assert!(!crlf("\n"));
        assert!(!crlf("no ending"));
    }
}
