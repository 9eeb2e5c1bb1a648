//! `funnelc test [PATHS]`: run the rule tests of rule files and test files (found under
//! folders), in parallel, reported in the order the files and tests are declared.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::discover::{discover, key, read_stdin, Input};
use super::project::Fixtures;
use super::snapshots::{self, Mode};
use super::test_out::{self, Outcome};
use super::{color_stderr, read_source, Exit, Read, Source};
use funnelc::diag;
use funnelc::plan::Plan;
use funnelc::rule_tests::{self, cases, Runnable};
use funnelc::syntax::ast::{File, Item};

const EXIT_CODES: &str = "Exit codes:
  0  every test passed (and coverage met --min-coverage)
  1  a test failed, or coverage is below --min-coverage
  2  usage error: bad arguments, a file or folder that cannot be read
  3  a rule file, test file or table of cases does not check (its tests did not run)";

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct Args {
    /// Rule files, test files (`tests for "rules.funnel"`) and folders to search for both;
    /// `-` reads one rule file from standard input [default: the current folder]
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Threads to run tests and snapshots on (default: the RAYON_NUM_THREADS environment
    /// variable, else one per core). With 1, everything runs on a single thread
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
    /// Run only the tests whose name contains this text (case-insensitive)
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Output format: `human`, `json`, or `junit` (JUnit XML, for CI)
    #[arg(long, value_enum, default_value = "human")]
    format: test_out::Format,
    /// Also report which stages, moves, exits, score rules and condition branches (each
    /// alternative of an `or`) the tests exercised, naming the ones none did
    #[arg(long)]
    coverage: bool,
    /// Fail (exit 1) when the tests exercise less than this share of the stages, moves, exits,
    /// score rules and condition branches, e.g. `80%` (implies --coverage)
    #[arg(long, value_name = "N%", value_parser = parse_percent)]
    min_coverage: Option<f64>,
    /// Replace stored snapshots with the outcomes now (new and changed ones, and pending
    /// `.snap.new` files); never with CI=true
    #[arg(long)]
    accept: bool,
    /// After the run, ask on the terminal, snapshot by snapshot, whether to accept each
    /// pending one (shown in the failures above)
    #[arg(long, conflicts_with = "accept")]
    review: bool,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage like `80%`"))?;
    if (0.0..=100.0).contains(&n) {
        Ok(n)
    } else {
        Err(format!("`{s}` is not between 0% and 100%"))
    }
}

/// A rule file whose plan the tests run against.
pub struct Rules {
    pub name: String,
    pub compiled: funnelc::Compiled,
    pub plan: Plan,
}

/// A test ready to run, with the rule file it runs against and the file that declares it.
struct Job {
    rules: usize,
    group: String,
    work: Work,
}

enum Work {
    Test(Runnable),
    Snapshot(snapshots::Job),
}

impl Job {
    fn name(&self) -> String {
        match &self.work {
            Work::Test(r) => r.name.clone(),
            Work::Snapshot(s) => format!("snapshot \"{}\"", s.name),
        }
    }
}

pub fn run(args: Args) -> Exit {
    let project = match super::project::Project::find() {
        Ok(p) => p,
        Err(e) => return e,
    };
    let paths = match (&project, args.paths.is_empty()) {
        (_, false) => args.paths.clone(),
        (Some(p), true) => p.test_paths(),
        (None, true) => vec![PathBuf::from(".")],
    };
    let fixtures = match Fixtures::of(project.as_ref()) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let mut inputs = match discover(&paths) {
        Ok(i) => i,
        Err(e) => return e,
    };
    // The shared fixture files hold no tests: they are read once, above, for the test files.
    inputs.retain(|i| !matches!(i, Input::File(p) if fixtures.holds(p)));
    let defaults = project.as_ref().map(|p| &p.config.defaults);
    let default_as_of = match super::eval::as_of(defaults.and_then(|d| d.as_of.as_deref())) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let mut loader = Loader {
        snapshots: project.as_ref().and_then(|p| p.snapshots()),
        default_as_of,
        default_format: defaults.and_then(|d| d.input_format).map(Into::into),
        rename: defaults.map(|d| d.rename.clone()).unwrap_or_default(),
        ..Loader::default()
    };
    for f in &fixtures.shared.files {
        let source = Source {
            name: f.name.clone(),
            text: f.source.clone(),
        };
        if !report(&f.diagnostics, &source) {
            loader.invalid = true;
        }
    }
    loader.fixtures = fixtures;
    let mut jobs = Vec::new();
    for input in &inputs {
        loader.input(input, &mut jobs);
    }
    if loader.usage {
        return Exit::Usage;
    }
    let total = jobs.len();
    if let Some(f) = &args.filter {
        let f = f.to_lowercase();
        jobs.retain(|j| j.name().to_lowercase().contains(&f));
    }
    let filtered = total - jobs.len();
    let rules = &loader.rules;
    let mode = Mode::new(args.accept);
    if (args.accept || args.review) && mode == Mode::Ci {
        eprintln!("error: --accept or --review with CI=true: snapshots are never written in CI");
        return Exit::Usage;
    }
    if args.review
        && !(std::io::IsTerminal::is_terminal(&std::io::stdin())
            && std::io::IsTerminal::is_terminal(&std::io::stderr()))
    {
        eprintln!("error: --review asks on a terminal; without one, use --accept");
        return Exit::Usage;
    }
    let want_coverage = args.coverage || args.min_coverage.is_some();
    // Tests on every core; then each snapshot, whose sample is itself evaluated in parallel.
    let mut results: Vec<_> = jobs
        .par_iter()
        .map(|j| match &j.work {
            Work::Test(r) => Some(rule_tests::run(&rules[j.rules].plan, r, want_coverage)),
            Work::Snapshot(_) => None,
        })
        .collect();
    for (j, r) in jobs.iter().zip(results.iter_mut()) {
        if let Work::Snapshot(s) = &j.work {
            let (result, note) = snapshots::check(&rules[j.rules].plan, s, mode);
            if let Some(n) = note {
                eprintln!("{n}");
            }
            *r = Some(result);
        }
    }
    let results: Vec<_> = results.into_iter().flatten().collect();
    let outcomes: Vec<Outcome<'_>> = jobs
        .iter()
        .zip(results)
        .map(|(j, result)| Outcome {
            group: &j.group,
            plan: &rules[j.rules].plan,
            rules: j.rules,
            result,
        })
        .collect();
    let coverage =
        want_coverage.then(|| test_out::coverage(rules.iter().map(|r| &r.plan), &outcomes));
    let counts = test_out::Counts {
        filtered,
        not_run: loader.not_run,
    };
    let mut text = test_out::render(args.format, &outcomes, counts, coverage.as_ref());
    if args.format == test_out::Format::Human {
        text = test_out::color_status(&text, super::color_stdout());
    }
    let mut exit = Exit::Ok;
    if outcomes.iter().any(|o| !o.result.failures.is_empty()) {
        exit = Exit::Failed;
    }
    if let (Some(min), Some(c)) = (args.min_coverage, &coverage) {
        if c.percent() < min {
            eprintln!(
                "error: the tests exercise {} of the rules, below --min-coverage {}%",
                test_out::percent_text(c.percent()),
                funnelc::lead::fmt_num(min)
            );
            exit = Exit::Failed;
        }
    }
    if loader.invalid {
        exit = Exit::Invalid;
    }
    {
        let mut stdout = std::io::stdout().lock();
        if std::io::Write::write_all(&mut stdout, text.as_bytes())
            .and_then(|()| std::io::Write::flush(&mut stdout))
            .is_err()
        {
            return Exit::Usage;
        }
    }
    if args.review {
        let snaps: Vec<&snapshots::Job> = jobs
            .iter()
            .filter_map(|j| match &j.work {
                Work::Snapshot(s) => Some(s),
                Work::Test(_) => None,
            })
            .collect();
        if let Err(e) = snapshots::review(&snaps) {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    }
    exit
}

/// Reads rule files and test files, checks them, and collects their tests.
#[derive(Default)]
struct Loader {
    rules: Vec<Rules>,
    /// Rule files loaded, by path as found (canonical where it exists).
    loaded: Vec<(PathBuf, Option<usize>)>,
    /// A file did not check.
    invalid: bool,
    /// A file could not be read.
    usage: bool,
    /// Tests, cases and snapshots declared in files that do not check.
    not_run: usize,
    /// The project's snapshot folder, if it names one.
    snapshots: Option<PathBuf>,
    /// The project's defaults for snapshot samples.
    default_as_of: Option<i64>,
    default_format: Option<funnelc::pipeline::Format>,
    rename: std::collections::BTreeMap<String, String>,
    /// The project's shared fixtures.
    fixtures: Fixtures,
    /// The shared fixtures checked against a rule file's schema already (name, rule file),
    /// so that each problem is told once.
    shared_checked: std::collections::BTreeSet<(String, usize)>,
}

impl Loader {
    fn input(&mut self, input: &Input, jobs: &mut Vec<Job>) {
        let source = match input {
            Input::Stdin => match read_stdin() {
                Ok(b) => match String::from_utf8(b) {
                    Ok(text) => Source {
                        name: "<stdin>".into(),
                        text,
                    },
                    Err(_) => {
                        eprintln!("error: standard input is not UTF-8 text");
                        self.invalid = true;
                        return;
                    }
                },
                Err(_) => {
                    self.usage = true;
                    return;
                }
            },
            Input::File(p) => match self.read(p) {
                Some(s) => s,
                None => return,
            },
        };
        let dir = match input {
            Input::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
            Input::Stdin => PathBuf::new(),
        };
        let parsed = funnelc::syntax::parse(&source.text);
        let tests_for = parsed.file.tests_for().map(|t| t.path.text.clone());
        match tests_for {
            None => {
                let key = match input {
                    Input::File(p) => Some(key(p)),
                    Input::Stdin => None,
                };
                if let Some(k) = &key {
                    if let Some((_, done)) = self.loaded.iter().find(|(p, _)| p == k) {
                        // Loaded already for a test file: now its own tests run too.
                        if let Some(r) = *done {
                            self.inline(r, &dir, jobs);
                        }
                        return;
                    }
                }
                let r = self.compile(source);
                if r.is_none() {
                    self.not_run += declared_tests(&parsed.file);
                }
                if let Some(k) = key {
                    self.loaded.push((k, r));
                }
                if let Some(r) = r {
                    self.inline(r, &dir, jobs);
                }
            }
            Some(rel) => {
                let rules_path = dir.join(&rel);
                let Some(r) = self.rules_for(&rules_path, &source.name) else {
                    self.not_run += declared_tests(&parsed.file);
                    return;
                };
                let diags = funnelc::check_test_file(
                    &parsed,
                    &source.text,
                    &self.rules[r].compiled,
                    self.fixtures.get(),
                );
                let checks = report(&diags, &source);
                if !(checks && self.shared_fit(r, &parsed.file, &source.name)) {
                    self.invalid = true;
                    self.not_run += declared_tests(&parsed.file);
                    return;
                }
                let mut files = vec![&parsed.file, &self.rules[r].compiled.file];
                files.extend(self.fixtures.shared.parsed());
                let failed = self.collect(r, &parsed.file, &source, &files, &dir, jobs);
                self.tables_failed(failed);
            }
        }
    }

    /// Whether the shared fixtures a test file starts from check, and fit the schema of its
    /// rule file `r`; what does not is shown on standard error, in the fixture file, once.
    fn shared_fit(&mut self, r: usize, tests: &File, test_file: &str) -> bool {
        let Some(shared) = self.fixtures.get() else {
            return true;
        };
        let mut ok = true;
        for name in shared.used_by(tests) {
            let Some((_, i)) = shared.get(&name) else {
                continue;
            };
            if !shared.file_ok(i) {
                eprintln!(
                    "error: {test_file}: its tests did not run: the shared fixture \"{name}\" \
                     is in `{}`, which does not check",
                    shared.files[i].name
                );
                ok = false;
                continue;
            }
            let found = shared.check_against(
                &std::collections::BTreeSet::from([name.clone()]),
                &self.rules[r].compiled.symbols,
            );
            let first = self.shared_checked.insert((name, r));
            for (i, diags) in found {
                let file = &shared.files[i];
                if first {
                    report(
                        &diags,
                        &Source {
                            name: file.name.clone(),
                            text: file.source.clone(),
                        },
                    );
                    eprintln!(
                        "note: `{}` was checked against the schema of `{}`, whose tests start \
                         from it",
                        file.name, self.rules[r].name
                    );
                }
                ok &= !diags.iter().any(diag::Diagnostic::is_error);
            }
        }
        ok
    }

    fn read(&mut self, path: &Path) -> Option<Source> {
        match read_source(path) {
            Ok(Read::Ok(s)) => Some(s),
            Ok(Read::Bad(s, d)) => {
                report(&[d], &s);
                self.invalid = true;
                None
            }
            Err(_) => {
                self.usage = true;
                None
            }
        }
    }

    /// Checks and plans a rule file; its diagnostics go to standard error.
    fn compile(&mut self, source: Source) -> Option<usize> {
        let compiled = funnelc::compile(&source.text, &source.name);
        if !report(&compiled.diagnostics, &source) {
            self.invalid = true;
            return None;
        }
        let Some(plan) = compiled.plan() else {
            eprintln!(
                "error: `{}` checks clean but could not be compiled; please report this",
                source.name
            );
            self.invalid = true;
            return None;
        };
        self.rules.push(Rules {
            name: source.name,
            compiled,
            plan,
        });
        Some(self.rules.len() - 1)
    }

    /// The rule file a test file names, loaded once.
    fn rules_for(&mut self, path: &Path, test_file: &str) -> Option<usize> {
        let k = key(path);
        if let Some((_, r)) = self.loaded.iter().find(|(p, _)| *p == k) {
            return *r;
        }
        if !path.is_file() {
            eprintln!(
                "error: {test_file}: its rule file `{}` does not exist",
                path.display()
            );
            self.invalid = true;
            self.loaded.push((k, None));
            return None;
        }
        let r = self.read(path).and_then(|s| self.compile(s));
        self.loaded.push((k, r));
        r
    }

    /// The tests written in a rule file itself.
    fn inline(&mut self, r: usize, dir: &Path, jobs: &mut Vec<Job>) {
        let rules = &self.rules[r];
        let file = &rules.compiled.file;
        let source = Source {
            name: rules.name.clone(),
            text: rules.compiled.source.clone(),
        };
        let failed = self.collect(r, file, &source, &[file], dir, jobs);
        self.tables_failed(failed);
    }

    /// Tables of cases that could not be read or do not check: their tests did not run.
    fn tables_failed(&mut self, n: usize) {
        if n > 0 {
            self.invalid = true;
            self.not_run += n;
        }
    }

    /// The tests and cases of one file, in declaration order; how many tables of cases could
    /// not be read or do not check (said on standard error).
    fn collect(
        &self,
        r: usize,
        file: &File,
        source: &Source,
        fixtures: &[&File],
        dir: &Path,
        jobs: &mut Vec<Job>,
    ) -> usize {
        let mut failed = 0;
        let index = diag::LineIndex::new(&source.text);
        let tests = rule_tests::tests_of(file, &source.name, &source.text, fixtures);
        let mut tests = tests.into_iter();
        for item in &file.items {
            match item {
                Item::Test(_) => {
                    if let Some(t) = tests.next() {
                        jobs.push(Job {
                            rules: r,
                            group: source.name.clone(),
                            work: Work::Test(t),
                        });
                    }
                }
                Item::Cases(c) => {
                    let rows_path = dir.join(&c.rows.text);
                    let line = index.line_col(&source.text, c.span.start).0;
                    let shown = rows_path.display().to_string();
                    let text = match std::fs::read_to_string(&rows_path) {
                        Ok(t) => t,
                        Err(e) => {
                            eprintln!(
                                "error: {}:{line}: cannot read the cases' rows `{shown}`: {}",
                                source.name,
                                funnelc::pipeline::io_reason(&e)
                            );
                            failed += 1;
                            continue;
                        }
                    };
                    let template = rule_tests::with_fixture(&c.template, fixtures);
                    let rules = &self.rules[r];
                    match cases::expand(
                        &rules.plan,
                        &rules.compiled.symbols,
                        &template,
                        &shown,
                        &text,
                    ) {
                        Ok(rows) => jobs.extend(rows.into_iter().map(|runnable| Job {
                            rules: r,
                            group: source.name.clone(),
                            work: Work::Test(runnable),
                        })),
                        Err(errors) => {
                            for e in errors {
                                eprintln!("error: {e}");
                            }
                            failed += 1;
                        }
                    }
                }
                Item::Snapshot(d) => {
                    let line = index.line_col(&source.text, d.span.start).0;
                    jobs.push(Job {
                        rules: r,
                        group: source.name.clone(),
                        work: Work::Snapshot(snapshots::Job {
                            name: d.name.clone(),
                            origin: format!("{}:{line}", source.name),
                            leads: dir.join(&d.leads.text),
                            names: (
                                Path::new(&self.rules[r].name)
                                    .file_name()
                                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                                d.leads.text.clone(),
                            ),
                            as_of: d
                                .as_of
                                .as_ref()
                                .map(|t| {
                                    if t.date_only {
                                        t.at.millis + 86_400_000 - 1
                                    } else {
                                        t.at.millis
                                    }
                                })
                                .or(self.default_as_of),
                            format: self.default_format,
                            rename: self.rename.clone(),
                            stored: snapshots::stored_path(self.snapshots.as_deref(), dir, &d.name),
                        }),
                    });
                }
                _ => {}
            }
        }
        failed
    }
}

/// How many tests, tables of cases and snapshots a file declares.
fn declared_tests(file: &File) -> usize {
    file.items
        .iter()
        .filter(|i| matches!(i, Item::Test(_) | Item::Cases(_) | Item::Snapshot(_)))
        .count()
}

/// Shows a file's diagnostics on standard error; whether it has no errors.
fn report(diags: &[diag::Diagnostic], source: &Source) -> bool {
    if diags.is_empty() {
        return true;
    }
    eprint!(
        "{}",
        diag::render_human(diags, &source.name, &source.text, color_stderr())
    );
    eprintln!("{}", diag::summary_line(&source.name, diags));
    !diags.iter().any(diag::Diagnostic::is_error)
}
