//! `funnelc eval RULES --leads DATA`: classify every lead.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use rayon::prelude::*;

use super::Exit;
use crate::eval::{position, replay, Outcome};
use crate::input::lines::{flow, Batch, LineReader, BATCH_LINES as BATCH};
use crate::input::{jsonl, DataError};
use crate::lead::Lead;
use crate::output;
use crate::plan::Plan;

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum InFormat {
    /// One lead per line: {"id", "traits", "events"}
    Jsonl,
    /// Segment-spec `identify` and `track` calls, one per line, leads interleaved
    Segment,
    /// A leads CSV (`id` and trait columns) plus `--events` (lead_id, type, at, properties)
    Csv,
}

#[derive(clap::Args)]
pub struct Args {
    /// The rule file
    #[arg(value_name = "RULES")]
    pub rules: PathBuf,
    /// Lead data: a file, or `-` for standard input
    #[arg(long, value_name = "DATA")]
    pub leads: PathBuf,
    /// With CSV input: the events file (lead_id, type, at, one column per property)
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// With Segment input: a TOML file whose `[rename]` table maps event names and trait
    /// paths in the data to names in the schema
    #[arg(long, value_name = "FILE")]
    pub rename: Option<PathBuf>,
    /// Input format (default: from the file extension, else jsonl)
    #[arg(long, value_enum)]
    pub input_format: Option<InFormat>,
    /// Evaluate as of this instant (RFC 3339 or a date); `now` for the current time.
    /// Default: the latest event time in the input
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
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

/// Counts for the summary line.
#[derive(Default)]
pub struct Summary {
    pub read: u64,
    pub skipped: u64,
    pub reached: Vec<u64>,
    pub exits: BTreeMap<String, u64>,
    pub unknown: BTreeMap<String, u64>,
}

pub fn run(mut args: Args) -> Exit {
    let (plan, _spool) = match super::prepare(&args.rules, &mut args.leads, args.as_of.is_none()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if args.explain && matches!(args.format, OutFormat::Table | OutFormat::Csv) {
        eprintln!(
            "error: --explain adds a JSON explanation per lead: use it with --format json or jsonl"
        );
        return Exit::Usage;
    }
    let (as_of, input) = match open(&args, &plan) {
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
                    super::io_reason(&e)
                );
                return Exit::Usage;
            }
        },
        None => None,
    };
    let mut summary = Summary {
        reached: vec![0; plan.stages.len()],
        ..Summary::default()
    };
    let mut table_rows = Vec::new();
    let mut first = true;
    if args.format == OutFormat::Csv {
        sink.write(&output::csv_line(&output::csv_header(&plan)));
    }
    if args.format == OutFormat::Json {
        sink.write("[");
    }
    let progress = super::Progress::new();
    let result = for_each_batch(&args, &plan, input, as_of, |batch| {
        for item in batch {
            match item {
                Ok(done) => {
                    summary.read += 1;
                    done.tally.add_to(&mut summary);
                    for (k, v) in done.unknown {
                        *summary.unknown.entry(k).or_insert(0) += v;
                    }
                    match args.format {
                        OutFormat::Table => table_rows.push(done.cells),
                        OutFormat::Json => {
                            sink.write(if first { "\n  " } else { ",\n  " });
                            first = false;
                            sink.write(&done.text);
                        }
                        OutFormat::Jsonl | OutFormat::Csv => sink.write(&done.text),
                    }
                }
                Err(e) => {
                    summary.read += 1;
                    if !args.skip_bad {
                        eprintln!("error: {e}");
                        eprintln!("  help: fix the data, or pass --skip-bad to report bad leads and go on");
                        return false;
                    }
                    summary.skipped += 1;
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
            return e;
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
            sink.write(&output::table(&plan, &table_rows, color))
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
    eprintln!("{}", summary_line(&plan, &summary));
    if !summary.unknown.is_empty() {
        let total: u64 = summary.unknown.values().sum();
        let list: Vec<String> = summary
            .unknown
            .iter()
            .map(|(k, v)| format!("{k} ({})", thousands(*v)))
            .collect();
        eprintln!(
            "warning: ignored {} {} of types the schema does not declare: {}",
            thousands(total),
            if total == 1 { "event" } else { "events" },
            list.join(", ")
        );
    }
    Exit::Ok
}

fn with_explanation(mut obj: serde_json::Value, x: Option<serde_json::Value>) -> serde_json::Value {
    if let (Some(map), Some(x)) = (obj.as_object_mut(), x) {
        map.insert("explain".into(), x);
    }
    obj
}

/// What a lead adds to the summary, taken on the worker so that the lead's outcome is freed
/// there too, not one by one on the thread that writes the output.
struct Tally {
    /// Stages entered: bit `i` for stage `i` below 64, the rest listed.
    reached: u64,
    reached_more: Vec<usize>,
    exit: Option<String>,
}

impl Tally {
    fn of(plan: &Plan, out: &Outcome) -> Self {
        let mut t = Tally {
            reached: 0,
            reached_more: Vec::new(),
            exit: out.state.exit.as_ref().map(|_| position(plan, out)),
        };
        for (i, at) in out.state.latest.iter().enumerate() {
            match (at, i) {
                (None, _) => {}
                (Some(_), 0..=63) => t.reached |= 1 << i,
                (Some(_), _) => t.reached_more.push(i),
            }
        }
        t
    }

    fn add_to(self, s: &mut Summary) {
        for (i, n) in s.reached.iter_mut().enumerate().take(64) {
            *n += (self.reached >> i) & 1;
        }
        for i in self.reached_more {
            if let Some(n) = s.reached.get_mut(i) {
                *n += 1;
            }
        }
        if let Some(x) = self.exit {
            *s.exits.entry(x).or_insert(0) += 1;
        }
    }
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1,000 leads · MCL 1,000 · MEL 466 · … · disqualified 12 · 0 skipped`
pub fn summary_line(plan: &Plan, s: &Summary) -> String {
    let noun = if s.read == 1 { "lead" } else { "leads" };
    let mut parts = vec![format!("{} {noun}", thousands(s.read))];
    for (st, n) in plan.stages.iter().zip(&s.reached) {
        parts.push(format!("{} {}", st.name, thousands(*n)));
    }
    for (x, n) in &s.exits {
        parts.push(format!("{x} {}", thousands(*n)));
    }
    parts.push(format!("{} skipped", thousands(s.skipped)));
    parts.join(" · ")
}

/// One evaluated lead, already rendered on a worker thread: the main thread only counts and
/// writes, so it never holds the cores back.
pub struct Done {
    tally: Tally,
    unknown: BTreeMap<String, u64>,
    /// A line of JSONL or CSV, a JSON object, or (for tables) nothing.
    text: String,
    /// Table cells.
    cells: Vec<String>,
}

type Item = Result<Done, DataError>;
type Parsed = Result<(Lead, BTreeMap<String, u64>), DataError>;

/// Reads the input in fixed-size batches of leads, parsed in parallel, handed to `f` in input
/// order. Stops when `f` returns false; returns whether it ran to the end.
///
/// With `only`, lines of lead-per-line JSONL that cannot hold that lead are passed over
/// unread: a line with no backslash (so no escape could spell the id) that does not contain
/// the id's text anywhere cannot have it as its id. Every other line is read as usual.
pub fn read_leads(
    args: &Args,
    plan: &Plan,
    input: Input,
    only: Option<&str>,
    f: impl FnMut(Vec<Parsed>) -> bool,
) -> Result<bool, Exit> {
    let finder = only.map(|id| memchr::memmem::Finder::new(id.as_bytes()).into_owned());
    let wanted = |line: &[u8]| match &finder {
        Some(f) => memchr::memchr(b'\\', line).is_some() || f.find(line).is_some(),
        None => true,
    };
    stream(args, plan, input, &wanted, &|p| p, f)
}

/// Reads and evaluates leads batch by batch, in parallel, in input order.
pub fn for_each_batch(
    args: &Args,
    plan: &Plan,
    input: Input,
    as_of: i64,
    f: impl FnMut(Vec<Item>) -> bool,
) -> Result<bool, Exit> {
    let lines = output::JsonLines::new(plan);
    let work = |p: Parsed| -> Item {
        let (lead, unknown) = p?;
        let (out, explained) = if args.explain {
            let (out, x) = crate::eval::explain::explain(plan, &lead, as_of);
            (out, serde_json::to_value(&x).ok())
        } else {
            (replay(plan, &lead, as_of), None)
        };
        let mut text = String::new();
        let mut cells = Vec::new();
        match (args.format, explained) {
            (OutFormat::Table, _) => cells = output::table_row(plan, &lead, &out),
            (OutFormat::Csv, _) => text = output::csv_line(&output::csv_row(plan, &lead, &out)),
            (OutFormat::Jsonl, None) => {
                // About what a line takes, so it is not grown a doubling at a time.
                text.reserve(64 + 48 * plan.stages.len());
                lines.write(plan, &lead, &out, &mut text);
                text.push('\n');
            }
            (OutFormat::Jsonl, Some(x)) => {
                text = format!(
                    "{}\n",
                    with_explanation(output::json(plan, &lead, &out), Some(x))
                );
            }
            (OutFormat::Json, x) => {
                text = with_explanation(output::json(plan, &lead, &out), x).to_string()
            }
        }
        Ok(Done {
            tally: Tally::of(plan, &out),
            unknown,
            text,
            cells,
        })
    };
    stream(args, plan, input, &|_| true, &work, f)
}

/// The pipeline behind `eval` and `explain`: batches of leads are read, parsed and put
/// through `work` on every core, and handed to `f` in input order. Lead-per-line JSONL
/// streams through `lines::flow`, so memory holds a few batches whatever the input size.
fn stream<T: Send>(
    args: &Args,
    plan: &Plan,
    input: Input,
    wanted: &(dyn Fn(&[u8]) -> bool + Sync),
    work: &(dyn Fn(Parsed) -> T + Sync),
    mut f: impl FnMut(Vec<T>) -> bool,
) -> Result<bool, Exit> {
    if let Some(leads) = input.loaded {
        let mut it = leads.into_iter();
        loop {
            let batch: Vec<Parsed> = it.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                return Ok(true);
            }
            if !f(batch.into_par_iter().map(work).collect()) {
                return Ok(false);
            }
        }
    }
    let reader = LineReader::new(super::open_input(&args.leads)?);
    let name = super::input_name(&args.leads);
    let parse = |n: usize, line: &[u8]| -> Parsed {
        // Checked with SIMD first; only a bad line is looked at again for where it breaks.
        let text = simdutf8::basic::from_utf8(line).or_else(|_| std::str::from_utf8(line));
        match text {
            Ok(line) => jsonl::parse_line(plan, line, origin(&name, n)),
            // A line that is not UTF-8 is one bad lead, not the end of the run.
            Err(e) => Err(DataError {
                origin: origin(&name, n),
                lead: None,
                field: None,
                message: format!(
                    "the line is not UTF-8 text (bad byte at column {})",
                    e.valid_up_to() + 1
                ),
            }),
        }
    };
    let work = |batch: Batch| -> Vec<T> {
        batch
            .lines
            .iter()
            .filter_map(|(n, r)| {
                let line = batch.line(r);
                wanted(line).then(|| work(parse(*n, line)))
            })
            .collect()
    };
    flow(reader, &work, f).map_err(|e| {
        eprintln!("error: {name}:{}: {}", e.line, super::io_reason(&e.error));
        Exit::Failed
    })
}

/// `file:line`, made for every lead, so without the formatting machinery.
fn origin(name: &str, line: usize) -> String {
    let mut s = String::with_capacity(name.len() + 12);
    s.push_str(name);
    s.push(':');
    output::push_whole(&mut s, line as u64);
    s
}

/// The input format: as given, else `csv` for a `.csv` file, else `segment` when the first
/// line is a Segment call, else lead-per-line JSONL.
pub fn input_format(args: &Args) -> Result<InFormat, Exit> {
    if let Some(f) = args.input_format {
        return Ok(f);
    }
    let name = args.leads.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".csv") {
        return Ok(InFormat::Csv);
    }
    if args.leads.as_os_str() == "-" {
        return Ok(InFormat::Jsonl);
    }
    let mut first = String::new();
    if let Ok(mut r) = super::open_input(&args.leads) {
        let _ = r.read_line(&mut first);
    }
    let call = |k: &str| {
        first.contains(&format!("\"type\":\"{k}\""))
            || first.contains(&format!("\"type\": \"{k}\""))
    };
    let segment = (first.contains("\"userId\"") || first.contains("\"anonymousId\""))
        && (call("identify") || call("track") || call("page") || call("group"));
    Ok(if segment {
        InFormat::Segment
    } else {
        InFormat::Jsonl
    })
}

/// Reads a whole Segment stream or CSV pair (these formats interleave leads, so they cannot be
/// streamed lead by lead). Also returns the latest event instant.
fn load_all(args: &Args, plan: &Plan) -> Result<(Vec<Parsed>, i64), Exit> {
    let name = super::input_name(&args.leads);
    let leads = match input_format(args)? {
        InFormat::Segment => {
            let rename = match &args.rename {
                Some(p) => read_rename(p)?,
                None => BTreeMap::new(),
            };
            let reader = super::open_input(&args.leads)?;
            let read = crate::input::segment::read(plan, reader, &name, &rename).map_err(|e| {
                eprintln!("error: {e}");
                Exit::Failed
            })?;
            if !read.ignored_calls.is_empty() {
                let list: Vec<String> = read
                    .ignored_calls
                    .iter()
                    .map(|(k, v)| format!("{k} ({})", thousands(*v)))
                    .collect();
                eprintln!(
                    "note: ignored Segment calls other than identify and track: {}",
                    list.join(", ")
                );
            }
            read.leads
        }
        InFormat::Csv => {
            let Some(events) = &args.events else {
                eprintln!("error: CSV input needs the events file too: --events FILE");
                return Err(Exit::Usage);
            };
            let leads = super::open_input(&args.leads)?;
            let evs = super::open_input(events)?;
            crate::input::csv::read(plan, leads, &name, evs, &super::input_name(events)).map_err(
                |e| {
                    eprintln!("error: {e}");
                    Exit::Failed
                },
            )?
        }
        InFormat::Jsonl => Vec::new(),
    };
    let latest = leads
        .iter()
        .filter_map(|l| l.as_ref().ok())
        .filter_map(|(lead, _)| lead.events.last().map(|e| e.at))
        .max()
        .unwrap_or(0);
    Ok((leads, latest))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameFile {
    #[serde(default)]
    rename: BTreeMap<String, String>,
}

/// Reads a rename table: `[rename]` with `"name in the data" = "name in the schema"`.
fn read_rename(path: &std::path::Path) -> Result<BTreeMap<String, String>, Exit> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!(
            "error: cannot read `{}`: {}",
            path.display(),
            super::io_reason(&e)
        );
        Exit::Usage
    })?;
    toml::from_str::<RenameFile>(&text)
        .map(|f| f.rename)
        .map_err(|e| {
            eprintln!("error: {}: {}", path.display(), e.message());
            Exit::Failed
        })
}

/// The leads to read: Segment streams and CSV pairs are loaded whole, once; lead-per-line
/// JSONL is streamed.
pub struct Input {
    loaded: Option<Vec<Parsed>>,
}

/// Opens the input and settles the evaluation moment: `--as-of`, or the latest event in the
/// data (a light first pass for JSONL; read off the loaded leads otherwise).
pub fn open(args: &Args, plan: &Plan) -> Result<(i64, Input), Exit> {
    let loaded = if input_format(args)? == InFormat::Jsonl {
        None
    } else {
        Some(load_all(args, plan)?)
    };
    let latest = loaded.as_ref().map(|(_, latest)| *latest);
    let as_of = resolve_as_of(args, plan, latest)?;
    Ok((
        as_of,
        Input {
            loaded: loaded.map(|(leads, _)| leads),
        },
    ))
}

fn resolve_as_of(args: &Args, plan: &Plan, latest: Option<i64>) -> Result<i64, Exit> {
    match args.as_of.as_deref() {
        Some("now") => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)),
        Some(s) => crate::time::parse_timestamp(s)
            .map(|t| t.millis)
            .map_err(|m| {
                eprintln!("error: --as-of: {m}");
                Exit::Usage
            }),
        None => match latest {
            Some(t) => Ok(t),
            None => super::latest_event_time(&args.leads, plan),
        },
    }
}
