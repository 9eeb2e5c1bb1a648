//! The floor for `funnelc eval` on lead-per-line JSONL: read the file line by line, parse each
//! line into a `serde_json::Value`, count the leads and their events. Nothing else.
//!
//!     serde_baseline FILE [--threads N]
//!
//! With `--threads N` (N > 1), lines are read in batches of 4096 (as funnelc does) and each
//! batch is parsed by N scoped threads.

use std::io::{BufRead, BufReader};

fn events_in(line: &str) -> u64 {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) => v.get("events").and_then(|e| e.as_array()).map_or(0, |a| a.len() as u64),
        Err(e) => {
            eprintln!("bad line: {e}");
            std::process::exit(1);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: serde_baseline FILE [--threads N]");
        std::process::exit(2);
    };
    let threads: usize = match args.iter().position(|a| a == "--threads") {
        Some(i) => args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(1),
        None => 1,
    };
    let file = std::fs::File::open(path).unwrap_or_else(|e| {
        eprintln!("cannot open {path}: {e}");
        std::process::exit(2);
    });
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let (mut leads, mut events) = (0u64, 0u64);
    let mut batch: Vec<String> = Vec::with_capacity(4096);
    loop {
        batch.clear();
        while batch.len() < 4096 {
            let mut buf = String::new();
            match reader.read_line(&mut buf) {
                Ok(0) => break,
                Ok(_) if buf.trim().is_empty() => {}
                Ok(_) => batch.push(buf),
                Err(e) => {
                    eprintln!("read error: {e}");
                    std::process::exit(1);
                }
            }
        }
        if batch.is_empty() {
            break;
        }
        leads += batch.len() as u64;
        if threads <= 1 {
            events += batch.iter().map(|l| events_in(l)).sum::<u64>();
        } else {
            let per = batch.len().div_ceil(threads);
            events += std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .chunks(per)
                    .map(|c| s.spawn(move || c.iter().map(|l| events_in(l)).sum::<u64>()))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or(0)).sum::<u64>()
            });
        }
    }
    println!("{leads} leads, {events} events");
}
