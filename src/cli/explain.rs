//! `funnelc explain RULES --leads DATA --lead ID`: one lead's timeline, conditions and scores.

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
    #[command(flatten)]
    pub input: super::eval::Input,
    /// The id of the lead to explain
    #[arg(long, value_name = "ID")]
    lead: String,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(mut args: Args) -> Exit {
    let input = &mut args.input;
    let (rules, mut leads) = match input.settle("funnelc explain RULES --leads DATA --lead ID") {
        Ok(x) => x,
        Err(e) => return e,
    };
    let (plan, spool) = match super::prepare(&rules, &mut leads, input.as_of.is_none()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let flags = args.input.flags(&leads, spool.as_ref());
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
        Format::Text => print!(
            "{}",
            super::color_marks(&funnelc::output::explain::render(&x), super::color_stdout())
        ),
        Format::Json => match serde_json::to_string_pretty(&x) {
            Ok(s) => println!("{s}"),
            Err(_) => return Exit::Failed,
        },
    }
    Exit::Ok
}
