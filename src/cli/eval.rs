//! `funnelc eval RULES --leads DATA`: classify every lead.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::project::InFormat;
use super::Exit;
use funnelc::output;
use funnelc::pipeline::{self, Data, Summary, Work};
use funnelc::plan::Plan;

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: Input,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutFormat,
    /// Write the output to this file (atomically) instead of standard output
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep going past bad leads: report them and count them
    #[arg(long)]
    pub skip_bad: bool,
    /// With --skip-bad: write the bad leads' reasons to this file instead of standard error
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Add each lead's explanation (json and jsonl formats)
    #[arg(long)]
    pub explain: bool,
}

/// The rule file and the lead data, as every command that reads leads takes them.
#[derive(clap::Args)]
pub struct Input {
    /// The rule file (default: the project's one rule file, under funnel.toml's `[paths]
    /// rules`)
    #[arg(value_name = "RULES")]
    pub rules: Option<PathBuf>,
    /// Lead data: a file, or `-` for standard input (default: funnel.toml's `[paths] leads`)
    #[arg(long, value_name = "DATA")]
    pub leads: Option<PathBuf>,
    /// With CSV input: the events file (lead_id, type, at, one column per property)
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// With Segment input: a TOML file whose `[rename]` table maps event names and trait
    /// paths in the data to names in the schema
    #[arg(long, value_name = "FILE")]
    pub rename: Option<PathBuf>,
    /// Input format (default: funnel.toml's `input_format`, else told from the data: a `.csv`
    /// name is CSV, a first line of Segment calls is Segment, anything else JSONL)
    #[arg(long, value_enum)]
    pub input_format: Option<InFormat>,
    /// Evaluate as of this instant (RFC 3339, or a date: the end of that day); `now` for the
    /// current time. Default: the latest event time in the input
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Threads to evaluate leads on (default: the RAYON_NUM_THREADS environment variable,
    /// else one per core). With 1, everything runs on a single thread
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
    /// The project here, found by [`Input::settle`].
    #[arg(skip)]
    pub project: Option<super::project::Project>,
}

impl Input {
    /// The rule file and the lead data, the project's where the command line names none
    /// (`usage` shows how to name them); the project's events file comes with its leads.
    pub fn settle(&mut self, usage: &str) -> Result<(PathBuf, PathBuf), Exit> {
        let given = super::project::settle(
            self.rules.as_deref(),
            self.leads.as_deref(),
            self.events.as_deref(),
            usage,
        )?;
        self.events = given.events;
        self.project = given.project;
        Ok((given.rules, given.leads))
    }

    /// The data flags as [`open`] takes them; `spool` when `leads` is the scratch copy of
    /// standard input or a pipe.
    pub fn flags<'a>(&'a self, leads: &'a Path, spool: Option<&'a super::Spool>) -> DataFlags<'a> {
        DataFlags {
            leads,
            spooled: spool.map(super::Spool::name),
            format: self.input_format,
            events: self.events.as_deref(),
            rename: self.rename.as_deref(),
            as_of: self.as_of.as_deref(),
            project: self.project.as_ref(),
        }
    }
}

/// Prints a pipeline error the way every command does, and gives its exit code.
pub fn fail(e: pipeline::Error) -> Exit {
    eprintln!("error: {e}");
    match e {
        pipeline::Error::Usage(_) => Exit::Usage,
        pipeline::Error::Failed(_) => Exit::Failed,
    }
}

/// The data flags `eval` and `explain` share.
pub struct DataFlags<'a> {
    pub leads: &'a Path,
    /// How the input is named when `leads` is a scratch copy of it (standard input, a pipe).
    pub spooled: Option<&'a str>,
    pub format: Option<InFormat>,
    pub events: Option<&'a Path>,
    pub rename: Option<&'a Path>,
    pub as_of: Option<&'a str>,
    /// The project here, for its defaults (`funnel.toml`); a flag always wins.
    pub project: Option<&'a super::project::Project>,
}

/// The data flags as the pipeline takes them, with the project's defaults (`funnel.toml`)
/// where a flag is not given. A rename table is read here, when the input is a Segment
/// stream (the only format it applies to).
fn data(flags: &DataFlags<'_>, defaults: Option<&super::project::Defaults>) -> Result<Data, Exit> {
    let mut data = Data {
        leads: flags.leads.to_path_buf(),
        name: flags
            .spooled
            .map_or_else(|| pipeline::input_name(flags.leads), String::from),
        format: flags
            .format
            .or(defaults.and_then(|d| d.input_format))
            .map(Into::into),
        events: flags.events.map(Path::to_path_buf),
        rename: BTreeMap::new(),
    };
    // Told once, here: telling it may read the file's first line.
    let format = data.format().map_err(fail)?;
    data.format = Some(format);
    // A rename table renames Segment calls only: with another format it would be silently
    // ignored, so it is refused (and so is an events file without CSV leads).
    if let Some(p) = flags.rename {
        if format != pipeline::Format::Segment {
            eprintln!(
                "error: --rename `{}` applies to Segment input only, and this input is {}",
                p.display(),
                format_name(format)
            );
            eprintln!("  help: drop --rename, or pass --input-format segment if the data is a Segment stream");
            return Err(Exit::Usage);
        }
        data.rename = read_rename(p)?;
    }
    if let Some(p) = flags.events {
        if format != pipeline::Format::Csv {
            eprintln!(
                "error: --events `{}` goes with CSV leads only, and this input is {}",
                p.display(),
                format_name(format)
            );
            eprintln!("  help: drop --events (JSONL and Segment data carry their events), or pass --input-format csv");
            return Err(Exit::Usage);
        }
    }
    // The project's rename table (funnel.toml) is a default for Segment input, whatever
    // else the project's data may be.
    if let (pipeline::Format::Segment, None, Some(d)) = (format, flags.rename, defaults) {
        data.rename = d.rename.clone();
    }
    Ok(data)
}

fn format_name(f: pipeline::Format) -> &'static str {
    match f {
        pipeline::Format::Jsonl => "JSONL",
        pipeline::Format::Segment => "a Segment stream",
        pipeline::Format::Csv => "CSV",
    }
}

/// Says a bad lead on standard error: skipped, or the error that stops the run with the
/// way to go on. Returns whether to go on.
pub fn bad_lead(e: &impl std::fmt::Display, skip_bad: bool) -> bool {
    if skip_bad {
        eprintln!("skipped: {e}");
    } else {
        eprintln!("error: {e}");
        eprintln!("  help: fix the data, or pass --skip-bad to report bad leads and go on");
    }
    skip_bad
}

/// `--as-of`: an instant or date, or `now`; `None` when not given (the latest event in the
/// data).
pub fn as_of(given: Option<&str>) -> Result<Option<i64>, Exit> {
    match given {
        None => Ok(None),
        Some("now") => Ok(Some(now())),
        // A bare date is the end of that day: `--as-of 2025-03-31` includes the 31st.
        Some(s) => funnelc::time::parse_moment(s)
            .map(|t| Some(t.millis))
            .map_err(|m| {
                eprintln!("error: --as-of: {m}");
                Exit::Usage
            }),
    }
}

/// The wall clock, in milliseconds since 1970.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Opens the data the flags name and settles the moment; notes about the input go to
/// standard error.
pub fn open(plan: &Plan, flags: &DataFlags<'_>) -> Result<(Data, pipeline::Opened), Exit> {
    let defaults = flags.project.map(|p| &p.config.defaults);
    let data = data(flags, defaults)?;
    let given = flags.as_of.or(defaults.and_then(|d| d.as_of.as_deref()));
    let opened = pipeline::open(plan, &data, as_of(given)?).map_err(fail)?;
    for n in &opened.notes {
        eprintln!("note: {n}");
    }
    if let Some(line) = opened.latest.as_ref().and_then(|l| l.future_line(now())) {
        eprintln!("warning: {line}");
    }
    Ok((data, opened))
}

pub fn run(mut args: Args) -> Exit {
    let input = &mut args.input;
    let (rules, mut leads) = match input.settle("funnelc eval RULES --leads DATA") {
        Ok(x) => x,
        Err(e) => return e,
    };
    let (plan, spool) = match super::prepare(&rules, &mut leads, input.as_of.is_none()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if args.rejects.is_some() && !args.skip_bad {
        eprintln!("error: --rejects names where skipped leads go, and without --skip-bad none are skipped");
        eprintln!("  help: add --skip-bad, or drop --rejects");
        return Exit::Usage;
    }
    if args.explain && matches!(args.format, OutFormat::Table | OutFormat::Csv) {
        eprintln!(
            "error: --explain adds a JSON explanation per lead: use it with --format json or jsonl"
        );
        return Exit::Usage;
    }
    let flags = args.input.flags(&leads, spool.as_ref());
    let (data, opened) = match open(&plan, &flags) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let mut sink = match super::Sink::open(args.output.as_deref()) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut rejects = match &args.rejects {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Some(std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!(
                    "error: cannot write `{}`: {}",
                    p.display(),
                    pipeline::io_reason(&e)
                );
                return Exit::Usage;
            }
        },
        None => None,
    };
    let mut summary = Summary::new(&plan);
    let mut table = output::Table::new(&plan);
    let mut first = true;
    // Every format says the moment it was evaluated at: a file of results read later, or
    // by a program, must not have to guess it.
    let as_of_text = funnelc::time::format_timestamp(funnelc::time::Timestamp {
        millis: opened.as_of,
    });
    if args.format == OutFormat::Csv {
        let mut header = output::csv_header(&plan);
        header.push("as_of".into());
        sink.write(&output::csv_line(&header));
    }
    if args.format == OutFormat::Json {
        sink.write("[");
    }
    let lines = output::JsonLines::new(&plan).with_as_of(opened.as_of);
    // Each lead is rendered on the worker that evaluated it: the thread that writes the
    // output in order only counts and writes.
    let render = |lead: &funnelc::lead::Lead,
                  out: &funnelc::eval::Outcome,
                  x: Option<&funnelc::eval::explain::Explanation>|
     -> Rendered {
        let explained = x.and_then(|x| serde_json::to_value(x).ok());
        let json = || {
            let mut obj = output::json(&plan, lead, out);
            if let Some(map) = obj.as_object_mut() {
                map.insert("as_of".into(), as_of_text.clone().into());
            }
            obj
        };
        match (args.format, explained) {
            (OutFormat::Table, _) => Rendered::Cells(output::table_row(&plan, lead, out)),
            (OutFormat::Csv, _) => {
                let mut row = output::csv_row(&plan, lead, out);
                row.push(as_of_text.clone());
                Rendered::Text(output::csv_line(&row))
            }
            (OutFormat::Jsonl, None) => {
                // About what a line takes, so it is not grown a doubling at a time.
                let mut text = String::with_capacity(64 + 48 * plan.stages.len());
                lines.write(&plan, lead, out, &mut text);
                text.push('\n');
                Rendered::Text(text)
            }
            (OutFormat::Jsonl, Some(x)) => {
                Rendered::Text(format!("{}\n", with_explanation(json(), Some(x))))
            }
            (OutFormat::Json, x) => Rendered::Text(with_explanation(json(), x).to_string()),
        }
    };
    let opened_latest = opened.latest.clone();
    let work = Work {
        as_of: opened.as_of,
        explain: args.explain,
        finish: &render,
    };
    let progress = super::Progress::new();
    let result = pipeline::evaluate(&plan, &data, opened.input, work, |batch| {
        for item in batch {
            match item {
                Ok(done) => {
                    summary.add(done.tally, done.unknown);
                    match done.value {
                        Rendered::Cells(cells) => table.push(&cells),
                        Rendered::Text(text) if args.format == OutFormat::Json => {
                            sink.write(if first { "\n  " } else { ",\n  " });
                            first = false;
                            sink.write(&text);
                        }
                        Rendered::Text(text) => sink.write(&text),
                    }
                }
                Err(e) => {
                    if !args.skip_bad {
                        eprintln!("error: {e}");
                        eprintln!("  help: fix the data, or pass --skip-bad to report bad leads and go on");
                        return false;
                    }
                    summary.add_skipped(&e);
                    match rejects.as_mut() {
                        Some(w) => {
                            let _ = writeln!(w, "{e}");
                        }
                        None => eprintln!("skipped: {e}"),
                    }
                }
            }
        }
        progress.tick(summary.read);
        true
    });
    progress.done();
    let completed = match result {
        Ok(c) => c,
        Err(e) => {
            sink.abandon();
            return fail(e);
        }
    };
    if !completed {
        sink.abandon();
        return Exit::Failed;
    }
    match args.format {
        OutFormat::Table => {
            // Colour only for a person at a terminal, never into a file.
            let color = args.output.is_none() && super::color_stdout();
            sink.write(&format!("as of {as_of_text}\n"));
            table.write(color, |line| sink.write(line));
        }
        OutFormat::Json => sink.write(if first { "]\n" } else { "\n]\n" }),
        _ => {}
    }
    if let Some(mut w) = rejects {
        let _ = w.flush();
    }
    if let Err(e) = sink.finish() {
        return e;
    }
    eprintln!("{}", summary.line(&plan));
    if let Some(line) = summary.unknown_line() {
        eprintln!("warning: {line}");
    }
    for line in summary.trait_lines(&plan) {
        eprintln!("warning: {line}");
    }
    // Said once: a moment in the future was warned of before the run.
    let future = opened_latest.as_ref().and_then(|l| l.future_line(now()));
    if let Some(line) = opened_latest
        .as_ref()
        .filter(|_| future.is_none())
        .and_then(|l| summary.as_of_line(l))
    {
        eprintln!("warning: {line}");
    }
    Exit::Ok
}

/// One lead as the chosen format shows it.
enum Rendered {
    /// A line of JSONL or CSV, or a JSON object.
    Text(String),
    /// A table row.
    Cells(Vec<String>),
}

fn with_explanation(mut obj: serde_json::Value, x: Option<serde_json::Value>) -> serde_json::Value {
    if let (Some(map), Some(x)) = (obj.as_object_mut(), x) {
        map.insert("explain".into(), x);
    }
    obj
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameFile {
    #[serde(default)]
    rename: BTreeMap<String, String>,
}

/// Reads a rename table: `[rename]` with `"name in the data" = "name in the schema"`.
fn read_rename(path: &Path) -> Result<BTreeMap<String, String>, Exit> {
    let text = super::read_text(path)?;
    toml::from_str::<RenameFile>(&text)
        .map(|f| f.rename)
        .map_err(|e| {
            eprintln!("error: {}: {}", path.display(), e.message());
            Exit::Failed
        })
}
