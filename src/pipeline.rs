//! The lead pipeline, as a library: where the leads come from, the moment they are evaluated
//! at, and batches of leads read, parsed and evaluated on every core and handed on in input
//! order. `eval`, `explain` and the features built on them (reports, diffs) all run leads
//! through here; the command line only chooses what to do with each evaluated lead.
//!
//! Lead-per-line JSONL is streamed (memory holds a few batches whatever the input size);
//! Segment streams and CSV pairs interleave leads, so they are read whole, once, by [`open`].

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::eval::explain::Explanation;
use crate::eval::{position, replay, Outcome};
use crate::input::ids::{Duplicates, IdKey};
use crate::input::lines::{flow, Batch, LineReader, BATCH_LINES};
use crate::input::{jsonl, DataError};
use crate::lead::Lead;
use crate::output;
use crate::plan::Plan;

mod latest;
mod pair;
pub use pair::{evaluate_pair, same_schema, PairEvaluated, PairWork, Subset};

/// The shapes lead data comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One lead per line: `{"id", "traits", "events"}`.
    Jsonl,
    /// Segment-spec `identify` and `track` calls, one per line, leads interleaved.
    Segment,
    /// A leads CSV (`id` and trait columns) plus an events CSV.
    Csv,
}

/// Where the leads are and how to read them.
#[derive(Clone, Debug)]
pub struct Data {
    /// A file, or `-` for standard input.
    pub leads: PathBuf,
    /// How the input is named in messages and lead origins (see [`input_name`]; a caller
    /// reading a copy of standard input names it `<stdin>`).
    pub name: String,
    /// As given; `None` to tell from the file (see [`Data::format`]).
    pub format: Option<Format>,
    /// The events file of a CSV pair.
    pub events: Option<PathBuf>,
    /// Segment input: names in the data → names in the schema.
    pub rename: BTreeMap<String, String>,
}

/// Why the pipeline could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input could not be opened or is missing a part: the command was asked wrongly.
    Usage(String),
    /// The input was opened but could not be read through.
    Failed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) | Error::Failed(m) => f.write_str(m),
        }
    }
}

/// One lead as read: the lead and the counts of event types the schema does not declare, or
/// what is wrong with its data.
pub type Read = Result<(Lead, BTreeMap<String, u64>), DataError>;

impl Data {
    /// The input format: as given, else `csv` for a `.csv` file, else `segment` when the
    /// first line is a Segment call, else lead-per-line JSONL.
    pub fn format(&self) -> Result<Format, Error> {
        if let Some(f) = self.format {
            return Ok(f);
        }
        let name = self.leads.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".csv") {
            return Ok(Format::Csv);
        }
        if self.leads.as_os_str() == "-" {
            return Ok(Format::Jsonl);
        }
        let mut first = String::new();
        // An unreadable file is reported when it is opened for the read itself.
        if let Ok(mut r) = open_input(&self.leads) {
            let _ = r.read_line(&mut first);
        }
        let call = |k: &str| {
            first.contains(&format!("\"type\":\"{k}\""))
                || first.contains(&format!("\"type\": \"{k}\""))
        };
        let segment = (first.contains("\"userId\"") || first.contains("\"anonymousId\""))
            && (call("identify") || call("track") || call("page") || call("group"));
        Ok(if segment {
            Format::Segment
        } else {
            Format::Jsonl
        })
    }
}

/// `<stdin>` for standard input, else the path as given.
pub fn input_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Why a file or device could not be used, in a few words.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Opens lead data for reading, with a large buffer.
pub fn open_input(path: &Path) -> Result<Box<dyn BufRead + Send>, Error> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::io::stdin(),
        )));
    }
    Ok(Box::new(std::io::BufReader::with_capacity(
        1 << 20,
        open_file(path)?,
    )))
}

/// Opens a file of lead data; a folder or a file that cannot be opened is a usage error.
fn open_file(path: &Path) -> Result<std::fs::File, Error> {
    // A folder opens on Linux, and fails only at its first read, as a data error on line
    // 1: it is a usage error, said before anything is read.
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "`{}` is a folder: lead data is a file, or `-` for standard input",
            path.display()
        )));
    }
    std::fs::File::open(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read `{}`: {}",
            path.display(),
            io_reason(&e)
        ))
    })
}

/// The leads to read, once opened: Segment streams and CSV pairs are loaded whole; lead-per-
/// line JSONL is streamed from `data.leads` when read.
pub struct Input {
    loaded: Option<Vec<Read>>,
}

/// An opened input and the moment its leads are evaluated at.
pub struct Opened {
    pub input: Input,
    /// Milliseconds since 1970.
    pub as_of: i64,
    /// Things worth telling about the input that are not errors (Segment calls passed over).
    pub notes: Vec<String>,
    /// When the moment was not given: the event it was taken from.
    pub latest: Option<LatestEvent>,
}

/// The event the default evaluation moment was taken from: the latest in the whole input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatestEvent {
    pub at: i64,
    /// `file:line` of its lead.
    pub origin: String,
    pub lead: Option<String>,
    /// `events[3] (email.opened)`, or the event's type alone where the format has no list.
    pub event: String,
}

impl LatestEvent {
    /// `2999-01-01T00:00:00Z, the latest event in the data (lead `L7` at leads.jsonl:7,
    /// events[2] (email.opened))`
    fn described(&self) -> String {
        let lead = self
            .lead
            .as_ref()
            .map_or(String::new(), |l| format!("lead `{l}` at "));
        format!(
            "{}, the latest event in the data ({lead}{}, {})",
            crate::time::format_timestamp(crate::time::Timestamp { millis: self.at }),
            self.origin,
            self.event
        )
    }

    /// A warning when the default moment lies after `now` (the wall clock, in
    /// milliseconds): one event dated in the future moves every lead's evaluation there.
    pub fn future_line(&self, now: i64) -> Option<String> {
        (self.at > now).then(|| {
            format!(
                "evaluating as of {}, which is in the future; pass --as-of to choose the moment",
                self.described()
            )
        })
    }
}

/// Opens the input and settles the evaluation moment: `as_of` as given, else the latest
/// event instant in the data (a light first pass for JSONL; read off the loaded leads
/// otherwise). Standard input cannot be read twice: without `as_of`, JSONL on standard input
/// is an error (the command line keeps a scratch copy to avoid it).
pub fn open(plan: &Plan, data: &Data, as_of: Option<i64>) -> Result<Opened, Error> {
    let mut notes = Vec::new();
    // Told once: telling it may read the file's first line.
    let format = data.format()?;
    let loaded = if format == Format::Jsonl {
        None
    } else {
        Some(load_all(plan, data, format, &mut notes)?)
    };
    let (as_of, latest) = match (as_of, &loaded) {
        (Some(t), _) => (Some(t), None),
        (None, Some((leads, latest))) => {
            (*latest, latest.and_then(|t| latest_loaded(plan, leads, t)))
        }
        (None, None) => match latest_event_time(&data.leads)? {
            Some((t, Some(place))) => (Some(t), latest::on_line(data, t, place)),
            Some((t, None)) => (Some(t), None),
            None => (None, None),
        },
    };
    // Without events there is no latest one: evaluating at 1970-01-01 would be a silent
    // guess, so the moment has to be given.
    let Some(as_of) = as_of else {
        return Err(Error::Usage(format!(
            "{} holds no event with a readable `at` to take the evaluation moment from; pass \
             --as-of (events whose `at` is missing or unreadable are then reported)",
            data.name
        )));
    };
    Ok(Opened {
        input: Input {
            loaded: loaded.map(|(leads, _)| leads),
        },
        as_of,
        notes,
        latest,
    })
}

/// The first loaded lead with an event at `at`, and that event.
fn latest_loaded(plan: &Plan, leads: &[Read], at: i64) -> Option<LatestEvent> {
    leads
        .iter()
        .filter_map(|l| l.as_ref().ok())
        .find_map(|(lead, _)| {
            let e = lead.events.iter().find(|e| e.at == at)?;
            Some(LatestEvent {
                at,
                origin: lead.origin.clone(),
                lead: Some(lead.id.clone()),
                event: plan.events.get(usize::from(e.ty))?.name.clone(),
            })
        })
}

/// Reads a whole Segment stream or CSV pair. Also returns the latest event instant.
fn load_all(
    plan: &Plan,
    data: &Data,
    format: Format,
    notes: &mut Vec<String>,
) -> Result<(Vec<Read>, Option<i64>), Error> {
    let name = &data.name;
    let leads = match format {
        Format::Segment => {
            let reader = open_input(&data.leads)?;
            let read = crate::input::segment::read(plan, reader, name, &data.rename)
                .map_err(|e| Error::Failed(e.to_string()))?;
            if !read.ignored_calls.is_empty() {
                let list: Vec<String> = read
                    .ignored_calls
                    .iter()
                    .map(|(k, v)| format!("{k} ({})", thousands(*v)))
                    .collect();
                notes.push(format!(
                    "ignored Segment calls other than identify and track: {}",
                    list.join(", ")
                ));
            }
            read.leads
        }
        Format::Csv => {
            let Some(events) = &data.events else {
                return Err(Error::Usage(
                    "CSV input needs the events file too: --events FILE".into(),
                ));
            };
            let leads = open_input(&data.leads)?;
            let evs = open_input(events)?;
            crate::input::csv::read(plan, leads, name, evs, &input_name(events))
                .map_err(|e| Error::Failed(e.to_string()))?
        }
        Format::Jsonl => Vec::new(),
    };
    let latest = leads
        .iter()
        .filter_map(|l| l.as_ref().ok())
        .filter_map(|(lead, _)| lead.events.last().map(|e| e.at))
        .max()
        // No leads: nothing will be evaluated, so any moment will do.
        .or(leads.is_empty().then_some(0));
    Ok((leads, latest))
}

pub use latest::{latest_event_time, Place};

/// Reads leads batch by batch, parsed in parallel, handed to `take` in input order, without
/// evaluating them. Stops when `take` returns false; returns whether it ran to the end.
///
/// With `only`, lines of lead-per-line JSONL that cannot hold that lead are passed over
/// unread: a line with no backslash (so no escape could spell the id) that does not contain
/// the id's text anywhere cannot have it as its id. Every other line is read as usual.
pub fn read_leads(
    plan: &Plan,
    data: &Data,
    input: Input,
    only: Option<&str>,
    take: impl FnMut(Vec<Read>) -> bool,
) -> Result<bool, Error> {
    let finder = only.map(|id| memchr::memmem::Finder::new(id.as_bytes()).into_owned());
    let wanted = |line: &[u8]| match &finder {
        Some(f) => memchr::memchr(b'\\', line).is_some() || f.find(line).is_some(),
        None => true,
    };
    stream(
        plan,
        None,
        data,
        input,
        &wanted,
        &|p, _| p,
        &Err,
        &|batch| batch,
        take,
    )
}

/// One lead evaluated on a worker thread: what it adds to the [`Summary`], and what the
/// caller's `finish` made of it there (a rendered line, a row, a report's counts), so the
/// thread that takes results in order never holds the cores back.
pub struct Evaluated<T> {
    pub tally: Tally,
    /// Events of types the schema does not declare, by type.
    pub unknown: BTreeMap<String, u64>,
    pub value: T,
}

/// How each lead is evaluated and what is kept of it.
pub struct Work<'a, T> {
    /// The evaluation moment (milliseconds since 1970).
    pub as_of: i64,
    /// Also build each lead's explanation (slower: every decision is evaluated again).
    pub explain: bool,
    /// Runs on the worker, with the lead, its outcome and (with `explain`) its explanation.
    pub finish: &'a (dyn Fn(&Lead, &Outcome, Option<&Explanation>) -> T + Sync),
}

/// Reads and evaluates leads batch by batch, in parallel, handed to `take` in input order:
/// each lead's result, or what is wrong with its data. Stops when `take` returns false;
/// returns whether it ran to the end.
pub fn evaluate<T: Send>(
    plan: &Plan,
    data: &Data,
    input: Input,
    work: Work<'_, T>,
    take: impl FnMut(Vec<Result<Evaluated<T>, DataError>>) -> bool,
) -> Result<bool, Error> {
    evaluate_batches(plan, data, input, work, &|batch| batch, take)
}

/// [`evaluate`], with each batch's results first handed to `gather`, and what it makes of
/// them to `take` in input order: a caller that folds a batch into one partial result (a
/// report's sums) hands `take` one value per batch. `gather` runs on the thread that takes
/// results, after the batch's lead ids were checked against the earlier ones (a lead whose
/// id was taken is an error, not a contribution).
pub fn evaluate_batches<T: Send, U: Send>(
    plan: &Plan,
    data: &Data,
    input: Input,
    work: Work<'_, T>,
    gather: &(dyn Fn(Vec<Result<Evaluated<T>, DataError>>) -> U + Sync),
    take: impl FnMut(U) -> bool,
) -> Result<bool, Error> {
    let each = |p: Read| -> Result<Evaluated<T>, DataError> {
        let (lead, unknown) = p?;
        let (out, explained) = if work.explain {
            let (out, x) = crate::eval::explain::explain(plan, &lead, work.as_of);
            (out, Some(x))
        } else {
            (replay(plan, &lead, work.as_of), None)
        };
        let value = (work.finish)(&lead, &out, explained.as_ref());
        Ok(Evaluated {
            tally: Tally::of(plan, &lead, &out, work.as_of),
            unknown,
            value,
        })
    };
    let each = |p: Read, _: Option<Read>| each(p);
    stream(
        plan,
        None,
        data,
        input,
        &|_| true,
        &each,
        &Err,
        gather,
        take,
    )
}

/// One batch of lead-per-line JSONL as the workers hand it on: where its lines are, and
/// each lead's line, what its id is known by, and its work.
struct Worked<T> {
    first_line: usize,
    last_line: usize,
    offset: u64,
    leads: Vec<(usize, Option<IdKey>, T)>,
}

/// Batches of leads are read, parsed and put through `work` on every core (with `also`,
/// each line of lead-per-line JSONL is parsed a second time by that plan's schema, and
/// `work` gets both), and handed to
/// `take` in input order. Lead-per-line JSONL streams through `lines::flow`, so memory holds
/// a few batches whatever the input size; a lead whose id an earlier one has is made an
/// error by `reject` (Segment streams gather a lead's calls by id, and CSV checks its own).
#[allow(clippy::too_many_arguments)]
fn stream<T: Send, U: Send>(
    plan: &Plan,
    also: Option<&Plan>,
    data: &Data,
    input: Input,
    wanted: &(dyn Fn(&[u8]) -> bool + Sync),
    work: &(dyn Fn(Read, Option<Read>) -> T + Sync),
    reject: &dyn Fn(DataError) -> T,
    gather: &(dyn Fn(Vec<T>) -> U + Sync),
    mut take: impl FnMut(U) -> bool,
) -> Result<bool, Error> {
    if let Some(leads) = input.loaded {
        let mut it = leads.into_iter();
        loop {
            let batch: Vec<Read> = it.by_ref().take(BATCH_LINES).collect();
            if batch.is_empty() {
                return Ok(true);
            }
            let each = |r: Read| work(r, None);
            if !take(gather(batch.into_par_iter().map(each).collect())) {
                return Ok(false);
            }
        }
    }
    let reader = LineReader::new(open_input(&data.leads)?);
    let name = &data.name;
    let parse = |plan: &Plan, n: usize, line: &[u8]| -> Read {
        // Checked with SIMD first; only a bad line is looked at again for where it breaks.
        let text = simdutf8::basic::from_utf8(line).or_else(|_| std::str::from_utf8(line));
        match text {
            Ok(line) => jsonl::parse_line(plan, line, origin(name, n)),
            // A line that is not UTF-8 is one bad lead, not the end of the run.
            Err(e) => Err(DataError {
                no_lead: false,
                origin: origin(name, n),
                lead: None,
                field: None,
                message: format!(
                    "the line is not UTF-8 text (bad byte at column {})",
                    e.valid_up_to() + 1
                ),
            }),
        }
    };
    let mut duplicates = Duplicates::new(plan, name, &data.leads);
    let exact = duplicates.exact();
    let work = |batch: Batch| -> Worked<T> {
        let leads = batch
            .lines
            .iter()
            .filter_map(|(n, r)| {
                let line = batch.line(r);
                wanted(line).then(|| {
                    let read = parse(plan, *n, line);
                    let again = also.map(|p| parse(p, *n, line));
                    let id = match &read {
                        Ok((lead, _)) => Some(lead.id.as_str()),
                        Err(e) => e.lead.as_deref(),
                    };
                    let key = id.map(|id| Duplicates::key(exact, id));
                    (*n, key, work(read, again))
                })
            })
            .collect();
        let (first, last) = (batch.lines.first(), batch.lines.last());
        Worked {
            first_line: first.map_or(0, |(n, _)| *n),
            last_line: last.map_or(0, |(n, _)| *n),
            offset: batch.base + first.map_or(0, |(_, r)| r.start as u64),
            leads,
        }
    };
    // In input order, on the thread that takes results: the first lead with an id is the
    // one that keeps it, whatever order the workers finished in.
    let checked = |worked: Worked<T>| {
        let b = duplicates.batch(worked.first_line, worked.last_line, worked.offset);
        duplicates.warm(worked.leads.iter().filter_map(|(_, k, _)| k.as_ref()));
        let leads = worked
            .leads
            .into_iter()
            .map(
                |(n, key, t)| match key.and_then(|k| duplicates.check(b, n, k)) {
                    Some(e) => reject(e),
                    None => t,
                },
            )
            .collect();
        take(gather(leads))
    };
    flow(reader, &work, checked)
        .map_err(|e| Error::Failed(format!("{name}:{}: {}", e.line, io_reason(&e.error))))
}

/// `file:line`, made for every lead, so without the formatting machinery.
fn origin(name: &str, line: usize) -> String {
    let mut s = String::with_capacity(name.len() + 12);
    s.push_str(name);
    s.push(':');
    output::push_whole(&mut s, line as u64);
    s
}

/// How recent a lead's latest event must be, before the evaluation moment, to count as part
/// of the bulk of the data (see [`Summary::as_of_line`]).
pub const RECENT: i64 = 30 * 86_400_000;

/// What one lead adds to the [`Summary`], taken on the worker so that the lead's outcome is
/// freed there too, not one by one on the thread that takes the results.
pub struct Tally {
    /// Stages entered: bit `i` for stage `i` below 64, the rest listed.
    reached: u64,
    reached_more: Vec<usize>,
    exit: Option<String>,
    /// Declared traits the lead has a value for: bit `i` for slot `i` below 64, the rest
    /// listed.
    carried: u64,
    carried_more: Vec<usize>,
    /// Whether the lead has events, and its latest is within [`RECENT`] of the moment.
    events: bool,
    recent: bool,
    /// Whether the lead is in no stage and took no exit (its traits meet no stage's
    /// condition).
    outside: bool,
}

impl Tally {
    pub fn of(plan: &Plan, lead: &Lead, out: &Outcome, as_of: i64) -> Self {
        let latest = lead.events.last().map(|e| e.at);
        let mut t = Tally {
            reached: 0,
            reached_more: Vec::new(),
            exit: out.state.exit.as_ref().map(|_| position(plan, out)),
            carried: 0,
            carried_more: Vec::new(),
            events: latest.is_some(),
            recent: latest.is_some_and(|at| at >= as_of.saturating_sub(RECENT)),
            outside: out.state.stage.is_none() && out.state.exit.is_none(),
        };
        for (i, at) in out.state.latest.iter().enumerate() {
            match (at, i) {
                (None, _) => {}
                (Some(_), 0..=63) => t.reached |= 1 << i,
                (Some(_), _) => t.reached_more.push(i),
            }
        }
        for (i, v) in lead.traits.iter().enumerate() {
            match (v.is_missing(), i) {
                (true, _) => {}
                (false, 0..=63) => t.carried |= 1 << i,
                (false, _) => t.carried_more.push(i),
            }
        }
        t
    }
}

/// The counts of a run: leads read and skipped, how many entered each stage, how many left
/// by each exit, and the events of undeclared types.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub read: u64,
    pub skipped: u64,
    /// Bad records that belong to no lead (CSV event rows naming none), skipped.
    pub orphans: u64,
    /// Per stage, in declaration order.
    pub reached: Vec<u64>,
    pub exits: BTreeMap<String, u64>,
    pub unknown: BTreeMap<String, u64>,
    /// Per declared trait, in slot order: how many evaluated leads have a value for it.
    pub carried: Vec<u64>,
    /// Evaluated leads with events, and those whose latest is within [`RECENT`] of the
    /// moment.
    pub with_events: u64,
    pub recent: u64,
    /// Evaluated leads in no stage (see [`Tally::outside`]).
    pub outside: u64,
}

impl Summary {
    pub fn new(plan: &Plan) -> Self {
        Summary {
            reached: vec![0; plan.stages.len()],
            carried: vec![0; plan.traits.len()],
            ..Summary::default()
        }
    }

    /// Counts one evaluated lead.
    pub fn add(&mut self, tally: Tally, unknown: BTreeMap<String, u64>) {
        self.read += 1;
        for (i, n) in self.carried.iter_mut().enumerate().take(64) {
            *n += (tally.carried >> i) & 1;
        }
        for i in tally.carried_more {
            if let Some(n) = self.carried.get_mut(i) {
                *n += 1;
            }
        }
        self.with_events += u64::from(tally.events);
        self.recent += u64::from(tally.recent);
        self.outside += u64::from(tally.outside);
        for (i, n) in self.reached.iter_mut().enumerate().take(64) {
            *n += (tally.reached >> i) & 1;
        }
        for i in tally.reached_more {
            if let Some(n) = self.reached.get_mut(i) {
                *n += 1;
            }
        }
        if let Some(x) = tally.exit {
            *self.exits.entry(x).or_insert(0) += 1;
        }
        for (k, v) in unknown {
            *self.unknown.entry(k).or_insert(0) += v;
        }
    }

    /// Counts a lead whose data could not be read and which was passed over; a record of no
    /// lead is counted apart.
    pub fn add_skipped(&mut self, e: &DataError) {
        if e.no_lead {
            self.orphans += 1;
        } else {
            self.read += 1;
            self.skipped += 1;
        }
    }

    /// `6 leads (5 evaluated, 1 skipped) · reached: MCL 3 · MEL 2 · exited: lost 1 · in no
    /// stage: 1`: the leads that reached each stage at some point (wherever they are now),
    /// those that took each declared exit (none too: a zero is an answer), and those in no
    /// stage at all, so that every evaluated lead is accounted for.
    pub fn line(&self, plan: &Plan) -> String {
        let noun = if self.read == 1 { "lead" } else { "leads" };
        let mut out = format!(
            "{} {noun} ({} evaluated, {} skipped)",
            thousands(self.read),
            thousands(self.read - self.skipped),
            thousands(self.skipped)
        );
        if self.orphans > 0 {
            let rows = if self.orphans == 1 { "row" } else { "rows" };
            out.push_str(&format!(
                " · {} event {rows} of no lead skipped",
                thousands(self.orphans)
            ));
        }
        let list = |items: Vec<String>| items.join(" · ");
        if !plan.stages.is_empty() {
            out.push_str(" · reached: ");
            out.push_str(&list(
                plan.stages
                    .iter()
                    .zip(&self.reached)
                    .map(|(st, n)| format!("{} {}", st.name, thousands(*n)))
                    .collect(),
            ));
        }
        let exits = plan.exit_names();
        if !exits.is_empty() {
            out.push_str(" · exited: ");
            out.push_str(&list(
                exits
                    .iter()
                    .map(|x| {
                        let n = self.exits.get(*x).copied().unwrap_or(0);
                        format!("{x} {}", thousands(n))
                    })
                    .collect(),
            ));
        }
        if self.outside > 0 {
            out.push_str(&format!(" · in no stage: {}", thousands(self.outside)));
        }
        out
    }

    /// `ignored 3 events of types the schema does not declare: x (2), y (1)`, when there were
    /// any.
    pub fn unknown_line(&self) -> Option<String> {
        if self.unknown.is_empty() {
            return None;
        }
        let total: u64 = self.unknown.values().sum();
        let list: Vec<String> = self
            .unknown
            .iter()
            .map(|(k, v)| format!("{k} ({})", thousands(*v)))
            .collect();
        Some(format!(
            "ignored {} {} of types the schema does not declare: {}",
            thousands(total),
            if total == 1 { "event" } else { "events" },
            list.join(", ")
        ))
    }
}

impl Summary {
    /// A warning when the default moment lies far beyond the bulk of the data: at most one
    /// lead in a hundred (and at least one) of those with events (of the types the schema
    /// declares: the ones evaluated) has its latest event within
    /// [`RECENT`] (30 days) before it, that is, the moment is more than 30 days after the
    /// 99th percentile of the leads' latest events. One event dated years ahead (a typo, a
    /// test record) moves every other lead's evaluation there: windows close, scores decay,
    /// SLAs breach. Two counts per lead, summed, so cheap and the same on any thread count.
    pub fn as_of_line(&self, latest: &LatestEvent) -> Option<String> {
        let bulk = self.with_events - self.recent;
        let outliers = (self.with_events / 100).max(1);
        (self.with_events >= 2 && self.recent <= outliers).then(|| {
            format!(
                "evaluating as of {}, but only {} of the {} leads with events of the schema's \
                 types had one in the 30 days before it; pass --as-of to choose the moment",
                latest.described(),
                thousands(self.recent),
                thousands(bulk + self.recent),
            )
        })
    }

    /// A warning for each declared trait that no evaluated lead has a value for, or that more
    /// than half of them lack: a schema that does not match the data (a misspelt path, a
    /// renamed field) otherwise shows only as leads stuck at an early stage. Counts are sums
    /// over leads, so the same whatever the thread count.
    pub fn trait_lines(&self, plan: &Plan) -> Vec<String> {
        let evaluated = self.read - self.skipped;
        if evaluated == 0 {
            return Vec::new();
        }
        let noun = |n: u64| if n == 1 { "lead" } else { "leads" };
        plan.traits
            .iter()
            .zip(&self.carried)
            .filter_map(|((path, _), &carried)| {
                let lacking = evaluated - carried;
                if carried == 0 {
                    Some(format!(
                        "trait `{path}` is declared but none of the {} {} evaluated has it",
                        thousands(evaluated),
                        noun(evaluated)
                    ))
                } else if lacking * 2 > evaluated {
                    Some(format!(
                        "trait `{path}` is missing from {} of {} {} ({}%)",
                        thousands(lacking),
                        thousands(evaluated),
                        noun(evaluated),
                        lacking * 100 / evaluated
                    ))
                } else {
                    None
                }
            })
            .collect()
    }
}

/// `1234567` → `1,234,567` (kept in `output`, beside the other number formats, so that
/// modules beside the pipeline can use it too).
pub use crate::output::thousands;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn format_is_told_from_the_name_and_the_first_line() {
        let dir = std::env::temp_dir().join(format!("funnelc-pipeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let seg = dir.join("calls.jsonl");
        std::fs::write(
            &seg,
            "{\"type\":\"identify\",\"userId\":\"u1\",\"traits\":{}}\n",
        )
        .unwrap();
        let lead = dir.join("leads.jsonl");
        std::fs::write(&lead, "{\"id\":\"L1\",\"events\":[]}\n").unwrap();
        let data = |p: &Path| Data {
            leads: p.to_path_buf(),
            name: input_name(p),
            format: None,
            events: None,
            rename: BTreeMap::new(),
        };
        assert_eq!(data(&seg).format(), Ok(Format::Segment));
        assert_eq!(data(&lead).format(), Ok(Format::Jsonl));
        assert_eq!(data(Path::new("x.CSV")).format(), Ok(Format::Csv));
        assert_eq!(data(Path::new("-")).format(), Ok(Format::Jsonl));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_is_a_usage_error() {
        let e = latest_event_time(Path::new("no/such/leads.jsonl"))
            .err()
            .unwrap();
        assert_eq!(
            e,
            Error::Usage("cannot read `no/such/leads.jsonl`: no such file".into())
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_twice_is_a_usage_error() {
        // A character device stands for a pipe: neither gives its bytes a second time.
        let e = latest_event_time(Path::new("/dev/null")).err().unwrap();
        assert_eq!(
            e,
            Error::Usage(
                "/dev/null is not a regular file, so it cannot be read twice; pass --as-of".into()
            )
        );
    }
}
