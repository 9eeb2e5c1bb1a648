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
                let diff = line_diff(&old, &new);
                let text = diff
                    .unified_diff()
                    .context_radius(2)
                    .header(&source.name, &format!("{} (formatted)", source.name))
                    .to_string();
                let _ = write!(stdout, "{}", color_diff(&text, super::color_stdout()));
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

/// A unified diff coloured as `git diff` does: removed lines red, added green, hunk heads
/// cyan. The text is otherwise unchanged.
fn color_diff(text: &str, on: bool) -> String {
    if !on {
        return text.to_string();
    }
    use anstyle::{AnsiColor, Style};
    text.split_inclusive('\n')
        .map(|line| {
            let style = if line.starts_with("---") || line.starts_with("+++") {
                Style::new().bold()
            } else if line.starts_with('-') {
                AnsiColor::Red.on_default()
            } else if line.starts_with('+') {
                AnsiColor::Green.on_default()
            } else if line.starts_with("@@") {
                AnsiColor::Cyan.on_default()
            } else {
                return line.to_string();
            };
            let body = line.trim_end_matches('\n');
            let end = &line[body.len()..];
            format!("{style}{body}{style:#}{end}")
        })
        .collect()
}

/// The lines that differ. Patience diff matches the lines that occur once in each text first,
/// so a file whose every line changed (16,000 re-indented lines) costs O(N log N), where Myers
/// diff took seconds; the deadline bounds any remaining worst case, giving a coarser (still
/// correct) diff past it.
fn line_diff<'a>(old: &'a str, new: &'a str) -> similar::TextDiff<'a, 'a, 'a, str> {
    similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .deadline(std::time::Instant::now() + std::time::Duration::from_secs(1))
        .diff_lines(old, new)
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

    /// The diff of a file whose every line changed holds every line of both texts, in order,
    /// and takes well under the seconds the default diff took (12 s in a release build).
    #[test]
    fn a_wholly_changed_file_diffs_quickly_and_completely() {
        let old: String = (0..16_000)
            .map(|i| format!("      trait t{i}:   int\n"))
            .collect();
        let new: String = (0..16_000)
            .map(|i| format!("  trait t{i}: int\n"))
            .collect();
        let started = std::time::Instant::now();
        let diff = line_diff(&old, &new);
        let (mut a, mut b) = (String::new(), String::new());
        for c in diff.iter_all_changes() {
            match c.tag() {
                similar::ChangeTag::Delete => a.push_str(c.value()),
                similar::ChangeTag::Insert => b.push_str(c.value()),
                similar::ChangeTag::Equal => {
                    a.push_str(c.value());
                    b.push_str(c.value());
                }
            }
        }
        assert_eq!((a, b), (old, new));
        let took = started.elapsed();
        assert!(took.as_secs() < 10, "took {took:?}");
    }

    #[test]
    fn the_first_line_says_the_ending() {
        assert!(crlf("a\r\nb\n"));
        assert!(!crlf("a\nb\r\n"));
        assert!(!crlf("\n"));
        assert!(!crlf("no ending"));
    }
}
