//! `funnelc report RULES --leads DATA`: the KPIs the rule file declares, measured on the
//! leads, as a terminal table, Markdown, JSON, CSV files or one HTML page.

use std::path::{Path, PathBuf};

use super::Exit;
use funnelc::pipeline;
use funnelc::report::{self, Asked, Range, Spec};
use funnelc::syntax::ast::Period;

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    Table,
    Md,
    Json,
    /// One file per table, into the folder given by -o
    Csv,
    /// One self-contained page
    Html,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum PeriodArg {
    Week,
    Month,
    Quarter,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum CompareArg {
    /// The same length of time just before the range
    Previous,
    /// The same dates a year earlier
    LastYear,
    /// No comparison
    None,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: super::eval::Input,
    /// The periods of the flow table (entries per stage per period)
    #[arg(long, value_enum, default_value = "month")]
    period: PeriodArg,
    /// Also break results down by this trait (the declared `dimensions` always are)
    #[arg(long = "by", value_name = "DIMENSION")]
    by: Vec<String>,
    /// Report on the leads that entered the funnel on or after this date
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Report on the leads that entered the funnel on or before this date
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: OutFormat,
    /// Write to this file (a folder with --format csv) instead of standard output
    #[arg(short = 'o', long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Compare the range's cohort with earlier windows (default: both). A window the data
    /// does not cover is noted under the table, and warned of when asked for by name
    #[arg(long, value_enum, value_delimiter = ',', value_name = "WINDOW")]
    compare: Vec<CompareArg>,
    /// Spend per channel and month: a CSV with the columns channel, month (YYYY-MM), amount
    #[arg(long, value_name = "FILE")]
    spend: Option<PathBuf>,
    /// Keep going past bad leads: report them and count them
    #[arg(long)]
    skip_bad: bool,
}

fn day(flag: &str, s: Option<&str>) -> Result<Option<i64>, Exit> {
    let Some(s) = s else { return Ok(None) };
    match funnelc::time::parse_date(s) {
        Ok(d) => Ok(Some(funnelc::time::days_from_civil(d.year, d.month, d.day))),
        Err(m) => {
            eprintln!("error: {flag}: {m}");
            Err(Exit::Usage)
        }
    }
}

fn read_spend(path: &Path) -> Result<report::Spend, Exit> {
    let text = super::read_text(path)?;
    report::spend::parse(&text, &path.display().to_string()).map_err(|m| {
        eprintln!("error: {m}");
        Exit::Failed
    })
}

/// The longest range a report covers: 100 years.
const MAX_RANGE_DAYS: i64 = 36_525;

pub fn run(mut args: Args) -> Exit {
    let (rules, mut leads) = match args.input.settle("funnelc report RULES --leads DATA") {
        Ok(x) => x,
        Err(e) => return e,
    };
    let (compiled, plan) = match super::load(&rules) {
        Ok(x) => x,
        Err(e) => return e,
    };
    // As `eval` does: a rule that can never fire, or a KPI that runs backwards, explains a
    // number in the report.
    super::show_warnings(&compiled);
    let (from, to) = match (
        day("--from", args.from.as_deref()),
        day("--to", args.to.as_deref()),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            eprintln!(
                "error: --to {} is before --from {}",
                args.to.as_deref().unwrap_or(""),
                args.from.as_deref().unwrap_or("")
            );
            return Exit::Usage;
        }
    }
    if args.format == OutFormat::Csv && args.output.is_none() {
        eprintln!("error: --format csv writes one file per table: name their folder with -o");
        return Exit::Usage;
    }
    let mut spec = match Spec::new(&compiled.file, &plan, &args.by) {
        Ok(s) => s,
        Err(m) => {
            eprintln!("error: --by: {m}");
            return Exit::Usage;
        }
    };
    let spend = match &args.spend {
        Some(p) => Some(match read_spend(p) {
            Ok(s) => s,
            Err(e) => return e,
        }),
        None => None,
    };
    if spend.is_some() && spec.costs.is_empty() {
        if let Err(m) = spec.spend_by_first_dimension() {
            eprintln!("error: --spend: {m}");
            return Exit::Usage;
        }
    }
    let spool = match super::Spool::if_needed(&leads, args.input.as_of.is_none()) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if let Some(s) = &spool {
        leads = s.path().to_path_buf();
    }
    let flags = args.input.flags(&leads, spool.as_ref());
    let (data, opened) = match super::eval::open(&plan, &flags) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let as_of = opened.as_of;
    let progress = super::Progress::new();
    let skip_bad = args.skip_bad;
    let aggregated = report::aggregate(
        &plan,
        &spec,
        &data,
        opened.input,
        report::Scope {
            as_of,
            range: Range { from, to },
        },
        |e| super::eval::bad_lead(e, skip_bad),
        |n| progress.tick(n),
    );
    progress.done();
    let agg = match aggregated {
        Ok(Some(a)) => a,
        Ok(None) => return Exit::Failed,
        Err(e) => return super::eval::fail(e),
    };
    let asked = Asked {
        as_of,
        from,
        to,
        period: match args.period {
            PeriodArg::Week => Period::Weekly,
            PeriodArg::Month => Period::Monthly,
            PeriodArg::Quarter => Period::Quarterly,
        },
        compare: if args.compare.is_empty() {
            vec![report::Compare::Previous, report::Compare::LastYear]
        } else {
            let mut v = Vec::new();
            for c in &args.compare {
                let c = match c {
                    CompareArg::Previous => report::Compare::Previous,
                    CompareArg::LastYear => report::Compare::LastYear,
                    CompareArg::None => continue,
                };
                if !v.contains(&c) {
                    v.push(c);
                }
            }
            v
        },
        compare_given: !args.compare.is_empty(),
    };
    // A range of centuries is a mistyped date (`--as-of 9999-12-31`), and would list every
    // period in it: hundreds of megabytes of empty rows.
    let (first, last) = report::range(&agg, &asked);
    if last - first > MAX_RANGE_DAYS {
        eprintln!(
            "error: the report's range, {} to {}, spans more than 100 years",
            report::period::date(first),
            report::period::date(last)
        );
        eprintln!("  help: check --as-of, --from and --to (the range runs to the --as-of day unless --to ends it)");
        return Exit::Usage;
    }
    let built = report::build(&spec, &agg, &asked, spend.as_ref());
    for w in &built.warnings {
        eprintln!("warning: {w}");
    }
    if args.format == OutFormat::Csv {
        return write_csv(&built, args.output.as_deref().unwrap_or(Path::new(".")));
    }
    let text = match args.format {
        OutFormat::Table => report::render::table(&built),
        OutFormat::Md => report::render::markdown(&built),
        OutFormat::Json => match serde_json::to_string_pretty(&built) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("error: cannot write the report as JSON: {e}");
                return Exit::Failed;
            }
        },
        OutFormat::Html => report::html::html(&built),
        OutFormat::Csv => String::new(),
    };
    let mut sink = match super::Sink::open(args.output.as_deref()) {
        Ok(s) => s,
        Err(e) => return e,
    };
    sink.write(&text);
    match sink.finish() {
        Ok(()) => Exit::Ok,
        Err(e) => e,
    }
}

/// One file per table into `dir` (made if missing), each written atomically.
fn write_csv(r: &report::Report, dir: &Path) -> Exit {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!(
            "error: cannot make the folder `{}`: {}",
            dir.display(),
            pipeline::io_reason(&e)
        );
        return Exit::Usage;
    }
    for (name, text) in report::render::csv_files(r) {
        let mut sink = match super::Sink::open(Some(&dir.join(name))) {
            Ok(s) => s,
            Err(e) => return e,
        };
        sink.write(&text);
        if let Err(e) = sink.finish() {
            return e;
        }
    }
    Exit::Ok
}
