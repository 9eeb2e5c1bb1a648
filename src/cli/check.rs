//! `funnelc check FILE...`, and `funnelc check --explain [CODE]`

use std::io::Write;
use std::path::PathBuf;

use super::{color_stdout, read_source, DiagFormat as Format, Exit, Read};
use funnelc::diag::{self, Code};

#[derive(clap::Args)]
pub struct Args {
    /// Rule files to check
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Output format: `human` for people, `json` for editors and tools, `github` for GitHub
    /// Actions annotations, `sarif` for code scanning
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Fail (exit 1) on warnings too
    #[arg(long)]
    deny_warnings: bool,
    /// Explain a diagnostic code (`unknown_event` or `funnel::unknown_event`) with an example;
    /// without a code, list them all
    #[arg(
        long,
        value_name = "CODE",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with_all = ["files", "format", "deny_warnings"]
    )]
    explain: Option<String>,
}

pub fn run(args: Args) -> Exit {
    if let Some(code) = &args.explain {
        return explain(code);
    }
    let mut exit = Exit::Ok;
    let mut json = Vec::new();
    let mut sarif = Vec::new();
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
            Format::Github => {
                out.push_str(&diag::render_github(&diags, &source.name, &source.text))
            }
            Format::Sarif => sarif.push((source.name, source.text, diags)),
        }
    }
    if args.format == Format::Sarif {
        out = format!("{:#}\n", diag::render_sarif(&sarif));
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

/// `--explain CODE`: the code's summary, explanation and example; `--explain` alone: every
/// code with its summary. An unknown code is a usage error, with the closest code.
fn explain(name: &str) -> Exit {
    let text = if name.is_empty() {
        list()
    } else if let Some(code) = Code::from_name(name) {
        code.explain()
    } else {
        // `funnel:unknown_event` and other near spellings of the prefix still get a suggestion.
        let short = name.rsplit(':').next().unwrap_or(name);
        eprintln!("error: no diagnostic code `{name}`");
        match diag::suggest::closest(short, Code::ALL.iter().map(|c| c.short_name())) {
            Some(close) => eprintln!("  help: did you mean `funnel::{close}`?"),
            None => eprintln!("  help: `funnelc check --explain` lists every code"),
        }
        return Exit::Usage;
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).is_err() {
        return Exit::Usage;
    }
    Exit::Ok
}

/// Every code, its severity and its summary, one a line in aligned columns.
fn list() -> String {
    let width = Code::ALL
        .iter()
        .map(|c| c.as_str().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for code in Code::ALL {
        let severity = match code.severity() {
            diag::Severity::Error => "error",
            diag::Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "{:width$}  {severity:7}  {}\n",
            code.as_str(),
            code.summary()
        ));
    }
    out.push_str("\nfunnelc check --explain CODE explains one, with an example.\n");
    out
}
