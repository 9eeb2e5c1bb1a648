//! `funnelc test FILE...`: run the `test` blocks written in rule files.

use std::path::PathBuf;

use super::{load, Exit};
use funnelc::diag::{printable, printable_lines};
use funnelc::rule_tests::run_test;
use funnelc::syntax::ast::Item;

#[derive(clap::Args)]
pub struct Args {
    /// Rule files whose tests to run
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> Exit {
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut exit = Exit::Ok;
    let mut out = String::new();
    for path in &args.files {
        let (compiled, plan) = match load(path) {
            Ok(p) => p,
            Err(e) => {
                exit = e;
                continue;
            }
        };
        let index = funnelc::diag::LineIndex::new(&plan.source);
        out.push_str(&format!("{}\n", printable(&plan.file)));
        let mut any = false;
        for item in &compiled.file.items {
            let Item::Test(t) = item else { continue };
            any = true;
            let line = index.line_col(&plan.source, t.span.start).0;
            let r = run_test(&plan, t, line);
            if r.failures.is_empty() {
                passed += 1;
                out.push_str(&format!("  ✓ {}\n", printable(&r.name)));
            } else {
                failed += 1;
                out.push_str(&format!(
                    "  ✗ {} ({}:{})\n",
                    printable(&r.name),
                    printable(&plan.file),
                    r.line
                ));
                for f in &r.failures {
                    out.push_str(&format!("      {}\n", printable_lines(f)));
                }
            }
        }
        if !any {
            out.push_str("  (no tests)\n");
        }
    }
    out.push_str(&format!("{passed} passed, {failed} failed\n"));
    print!("{}", super::color_marks(&out, super::color_stdout()));
    if failed > 0 && exit == Exit::Ok {
        exit = Exit::Failed;
    }
    exit
}
