//! `funnelc explain RULES --leads DATA --lead ID`: one lead's timeline, conditions and scores.

use std::path::PathBuf;

use super::Exit;
use funnelc::eval::explain;
use funnelc::pipeline;

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The rule file
    #[arg(value_name = "RULES")]
    rules: PathBuf,
    /// Lead data: a file, or `-` for standard input
    #[arg(long, value_name = "DATA")]
    leads: PathBuf,
    /// With CSV input: the events file
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Input format (default: from the file)
    #[arg(long, value_enum)]
    input_format: Option<super::eval::InFormat>,
    /// With Segment input: a TOML rename table
    #[arg(long, value_name = "FILE")]
    rename: Option<PathBuf>,
    /// The id of the lead to explain
    #[arg(long, value_name = "ID")]
    lead: String,
    /// Explain as of this instant (RFC 3339, or a date: the end of that day; default: the
    /// latest event time in the input)
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(mut args: Args) -> Exit {
    let (plan, spool) = match super::prepare(&args.rules, &mut args.leads, args.as_of.is_none()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let flags = super::eval::DataFlags {
        leads: &args.leads,
        spooled: spool.is_some(),
        format: args.input_format,
        events: args.events.as_deref(),
        rename: args.rename.as_deref(),
        as_of: args.as_of.as_deref(),
    };
    let (data, opened) = match super::eval::open(&plan, &flags) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let mut found = None;
    let mut bad = None;
    let only = Some(args.lead.as_str());
    let result = pipeline::read_leads(&plan, &data, opened.input, only, |batch| {
        for item in batch {
            match item {
                Ok((lead, _)) if lead.id == args.lead => {
                    found = Some(lead);
                    return false;
                }
                Err(e) if e.lead.as_deref() == Some(args.lead.as_str()) => {
                    bad = Some(e);
                    return false;
                }
                _ => {}
            }
        }
        true
    });
    if let Err(e) = result {
        return super::eval::fail(e);
    }
    if let Some(e) = bad {
        eprintln!("error: {e}");
        return Exit::Failed;
    }
    let Some(lead) = found else {
        eprintln!("error: no lead `{}` in {}", args.lead, data.name);
        return Exit::Failed;
    };
    let as_of = opened.as_of;
    let (_, x) = explain::explain(&plan, &lead, as_of);
    match args.format {
        Format::Text => print!("{}", funnelc::output::explain::render(&x)),
        Format::Json => match serde_json::to_string_pretty(&x) {
            Ok(s) => println!("{s}"),
            Err(_) => return Exit::Failed,
        },
    }
    Exit::Ok
}
