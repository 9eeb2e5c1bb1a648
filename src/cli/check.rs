//! `funnelc check FILE...`, and `funnelc check --explain [CODE]`

use std::io::Write;
use std::path::{Path, PathBuf};

use super::discover::{discover, read_stdin, Input};
use super::project::Fixtures;
use super::{color_stdout, read_source, DiagFormat as Format, Exit, Read, Source};
use funnelc::check::SharedFixtures;
use funnelc::diag::{self, Code, Diagnostic};

#[derive(clap::Args)]
pub struct Args {
    /// Rule files and test files to check, folders (every `*.funnel` under them, as
    /// `.gitignore` allows), or `-` for standard input [default: the project's rules, from
    /// funnel.toml]
    #[arg(value_name = "PATH")]
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
    // The project (if any) names the shared fixture files, which test files may use.
    let project = match super::project::Project::find() {
        Ok(p) => p,
        Err(e) => return e,
    };
    let paths = if args.files.is_empty() {
        match &project {
            // The shared fixture files too, wherever they lie: they are the project's.
            Some(p) => [p.rule_paths(), p.fixture_paths()].concat(),
            None => {
                eprintln!(
                    "error: no rule files named, and no funnel.toml here or above to name them"
                );
                eprintln!("  help: `funnelc check rules/` checks every rule file under rules/");
                return Exit::Usage;
            }
        }
    } else {
        args.files.clone()
    };
    let fixtures = match Fixtures::of(project.as_ref()) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let inputs = match discover(&paths) {
        Ok(i) => i,
        Err(e) => return e,
    };
    // Sources and their diagnostics, in order: each input, then the shared fixture files where
    // a test file's use of them found something (each problem once).
    let mut checked: Vec<(Source, Vec<Diagnostic>)> = Vec::new();
    let mut shared_found: Vec<(Source, Vec<Diagnostic>)> = Vec::new();
    for input in &inputs {
        let read = match input {
            Input::File(path) => read_source(path),
            Input::Stdin => read_stdin().map(stdin_source),
        };
        let dir = match input {
            Input::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
            Input::Stdin => PathBuf::new(),
        };
        let shared_file = match input {
            Input::File(p) if fixtures.holds(p) => {
                let k = super::discover::key(p);
                fixtures.keys.iter().position(|f| *f == k)
            }
            _ => None,
        };
        match read {
            Err(_) => {
                exit = Exit::Usage;
                continue;
            }
            Ok(Read::Bad(source, d)) => checked.push((source, vec![d])),
            Ok(Read::Ok(source)) => {
                if let Some(i) = shared_file {
                    // A shared fixture file: checked on its own; its fixtures against the
                    // schemas of the test files that use them.
                    let diags = fixtures.shared.files[i].diagnostics.clone();
                    checked.push((source, diags));
                    continue;
                }
                let (diagnostics, found) = diagnostics_of(&source, &dir, fixtures.get());
                checked.push((source, diagnostics));
                for (i, diags) in found {
                    let f = &fixtures.shared.files[i];
                    let entry = match shared_found.iter().position(|(s, _)| s.name == f.name) {
                        Some(k) => k,
                        None => {
                            shared_found.push((
                                Source {
                                    name: f.name.clone(),
                                    text: f.source.clone(),
                                },
                                Vec::new(),
                            ));
                            shared_found.len() - 1
                        }
                    };
                    let mine = &mut shared_found[entry].1;
                    for d in diags {
                        if !mine.contains(&d) {
                            mine.push(d);
                        }
                    }
                }
            }
        }
    }
    for (_, diags) in &mut shared_found {
        diag::sort(diags);
    }
    for (source, diags) in checked.into_iter().chain(shared_found) {
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

/// Standard input as a rule file named `<stdin>`.
pub fn stdin_source(bytes: Vec<u8>) -> Read {
    super::source_from_bytes("<stdin>".to_string(), bytes)
}

/// Every diagnostic of a rule file, or of a test file (`tests for "..."`) checked against the
/// rule file it names, relative to `dir`; and, by fixture file (index into `shared.files`),
/// those of the shared fixtures the test file starts from, checked against that rule file's
/// schema.
pub fn diagnostics_of(
    source: &Source,
    dir: &Path,
    shared: Option<&SharedFixtures>,
) -> (Vec<Diagnostic>, Vec<(usize, Vec<Diagnostic>)>) {
    let parsed = funnelc::syntax::parse(&source.text);
    let tests_for = parsed.file.tests_for().cloned();
    let Some(tests_for) = tests_for else {
        let mut compiled = funnelc::compile(&source.text, &source.name);
        let diagnostics = std::mem::take(&mut compiled.diagnostics);
        // A large tree and its symbol tables take a while to free, and the process is about
        // to end anyway.
        std::mem::forget(compiled);
        return (diagnostics, Vec::new());
    };
    let rules_path = dir.join(&tests_for.path.text);
    let problem = |why: String| {
        vec![Diagnostic::error(Code::TestFile, tests_for.path.span, why)
            .label("the rule file these tests are for")
            .help("the path is relative to the test file's folder")]
    };
    let text = match std::fs::read_to_string(&rules_path) {
        Ok(t) => t,
        Err(e) => {
            return (
                problem(format!(
                    "cannot read `{}`: {}",
                    rules_path.display(),
                    funnelc::pipeline::io_reason(&e)
                )),
                Vec::new(),
            )
        }
    };
    let rules = funnelc::compile(&text, &rules_path.display().to_string());
    if rules.has_errors() {
        return (
            problem(format!(
                "`{}` does not check, so its tests cannot be checked (`funnelc check {0}`)",
                rules_path.display()
            )),
            Vec::new(),
        );
    }
    let diags = funnelc::check_test_file(&parsed, &source.text, &rules, shared);
    let found = shared
        .map(|s| {
            s.check_against(&s.used_by(&parsed.file), &rules.symbols)
                .into_iter()
                .collect()
        })
        .unwrap_or_default();
    (diags, found)
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
