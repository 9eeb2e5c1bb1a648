//! `funnelc explain RULES --leads DATA --lead ID`: one lead's timeline, conditions and scores.

use std::path::PathBuf;

use super::Exit;
use crate::eval::explain;

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
    /// Explain as of this instant (default: the latest event time in the input)
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(mut args: Args) -> Exit {
    let (plan, _spool) = match super::prepare(&args.rules, &mut args.leads, args.as_of.is_none()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let eval_args = super::eval::Args {
        rules: args.rules.clone(),
        leads: args.leads.clone(),
        input_format: args.input_format,
        events: args.events.clone(),
        rename: args.rename.clone(),
        as_of: args.as_of.clone(),
        format: super::eval::OutFormat::Jsonl,
        output: None,
        skip_bad: true,
        rejects: None,
        explain: false,
    };
    let (as_of, input) = match super::eval::open(&eval_args, &plan) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let mut found = None;
    let mut bad = None;
    let only = Some(args.lead.as_str());
    let result = super::eval::read_leads(&eval_args, &plan, input, only, |batch| {
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
        return e;
    }
    if let Some(e) = bad {
        eprintln!("error: {e}");
        return Exit::Failed;
    }
    let Some(lead) = found else {
        eprintln!(
            "error: no lead `{}` in {}",
            args.lead,
            super::input_name(&args.leads)
        );
        return Exit::Failed;
    };
    let (_, x) = explain::explain(&plan, &lead, as_of);
    match args.format {
        Format::Text => print!("{}", crate::output::explain::render(&plan, &x)),
        Format::Json => match serde_json::to_string_pretty(&x) {
            Ok(s) => println!("{s}"),
            Err(_) => return Exit::Failed,
        },
    }
    Exit::Ok
}
