//! `funnelc check FILE...`

use std::io::Write;
use std::path::PathBuf;

use super::{color_stdout, read_source, Exit, Format, Read};
use funnelc::diag;

#[derive(clap::Args)]
pub struct Args {
    /// Rule files to check
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Output format: `human` for people, `json` for CI and editors
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Fail (exit 1) on warnings too
    #[arg(long)]
    deny_warnings: bool,
}

pub fn run(args: Args) -> Exit {
    let mut exit = Exit::Ok;
    let mut json = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    let mut out = String::new();
    for path in &args.files {
        let (source, diags) = match read_source(path) {
            Err(_) => {
                exit = Exit::Usage;
                continue;
            }
            Ok(Read::Bad(source, d)) => (source, vec![d]),
            Ok(Read::Ok(source)) => {
                let mut compiled = funnelc::compile(&source.text, &source.name);
                let diagnostics = std::mem::take(&mut compiled.diagnostics);
                // A large tree and its symbol tables take a while to free, and the process is
                // about to end anyway.
                std::mem::forget(compiled);
                (source, diagnostics)
            }
        };
        let (e, w) = diag::counts(&diags);
        errors += e;
        warnings += w;
        if (e > 0 || (args.deny_warnings && w > 0)) && exit == Exit::Ok {
            exit = Exit::Failed;
        }
        match args.format {
            Format::Human => {
                out.push_str(&diag::render_human(
                    &diags,
                    &source.name,
                    &source.text,
                    color_stdout(),
                ));
                out.push_str(&diag::summary_line(&source.name, &diags));
                out.push('\n');
            }
            Format::Json => json.extend(diag::render_json(&diags, &source.name, &source.text)),
        }
    }
    if args.format == Format::Json {
        let doc = serde_json::json!({
            "diagnostics": json,
            "errors": errors,
            "warnings": warnings,
        });
        out = format!("{doc:#}\n");
    }
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).is_err() {
        return Exit::Usage;
    }
    exit
}
