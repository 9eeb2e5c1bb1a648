//! `funnelc fmt [--check] FILE...`

use std::io::Write;
use std::path::PathBuf;

use super::{color_stderr, read_source, Exit, Read};
use funnelc::diag;

#[derive(clap::Args)]
pub struct Args {
    /// Rule files to format in place
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Write nothing: show the differences and fail (exit 1) when a file is not formatted
    #[arg(long)]
    check: bool,
}

pub fn run(args: Args) -> Exit {
    let mut exit = Exit::Ok;
    let mut stdout = std::io::stdout().lock();
    for path in &args.files {
        let source = match read_source(path) {
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
        if formatted == source.text {
            continue;
        }
        if args.check {
            let diff = similar::TextDiff::from_lines(&source.text, &formatted);
            let _ = write!(
                stdout,
                "{}",
                diff.unified_diff()
                    .context_radius(2)
                    .header(&source.name, &format!("{} (formatted)", source.name))
            );
            exit = worst(exit, Exit::Failed);
        } else {
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
