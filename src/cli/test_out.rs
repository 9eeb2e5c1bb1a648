//! What `funnelc test` prints: one line per test, the failures with what was expected and what
//! happened and an excerpt of the lead's explanation, the counts; as text, JSON or JUnit XML;
//! and, asked for, what the tests exercised.

use funnelc::diag::{printable, printable_lines};
use std::fmt::Write;

use clap::ValueEnum;
use funnelc::plan::Plan;
use funnelc::rule_tests::{coverage::Item, Hits, TestResult};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Junit,
}

/// One test run: the file that declares it, the plan it ran against, its result.
pub struct Outcome<'a> {
    pub group: &'a str,
    pub plan: &'a Plan,
    /// Which rule file (index) the plan is.
    pub rules: usize,
    pub result: TestResult,
}

/// Lines of the lead's explanation shown under a failure.
const EXCERPT_LINES: usize = 12;

/// The start of the explanation of a failed test's lead, indented.
fn excerpt(o: &Outcome<'_>) -> Vec<String> {
    let Some((lead, as_of)) = &o.result.lead else {
        return Vec::new();
    };
    let (_, x) = funnelc::eval::explain::explain(o.plan, lead, *as_of);
    let text = funnelc::output::explain::render(&x);
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = lines
        .iter()
        .take(EXCERPT_LINES)
        .map(|l| l.to_string())
        .collect();
    if lines.len() > EXCERPT_LINES {
        out.push(format!(
            "… {} more lines (`funnelc explain` shows the whole)",
            lines.len() - EXCERPT_LINES
        ));
    }
    out
}

/// The tests that did not run: left out by `--filter`, or declared in a file that does not
/// check (a table of cases counts once).
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub filtered: usize,
    pub not_run: usize,
}

pub fn render(
    format: Format,
    outcomes: &[Outcome<'_>],
    counts: Counts,
    coverage: Option<&Coverage>,
) -> String {
    match format {
        Format::Human => human(outcomes, counts, coverage),
        Format::Json => json(outcomes, counts, coverage),
        Format::Junit => junit(outcomes),
    }
}

fn tally(outcomes: &[Outcome<'_>]) -> (usize, usize) {
    let failed = outcomes
        .iter()
        .filter(|o| !o.result.failures.is_empty())
        .count();
    (outcomes.len() - failed, failed)
}

/// The human output's `ok` in green and `FAILED` in red, at the start of a test's line; the
/// text is otherwise unchanged.
pub fn color_status(text: &str, on: bool) -> String {
    if !on {
        return text.to_string();
    }
    use anstyle::AnsiColor;
    let (g, r) = (AnsiColor::Green.on_default(), AnsiColor::Red.on_default());
    text.split_inclusive('\n')
        .map(|line| {
            if let Some(rest) = line.strip_prefix("  ok      ") {
                format!("  {g}ok{g:#}      {rest}")
            } else if let Some(rest) = line.strip_prefix("  FAILED  ") {
                format!("  {r}FAILED{r:#}  {rest}")
            } else {
                line.to_string()
            }
        })
        .collect()
}

fn human(outcomes: &[Outcome<'_>], counts: Counts, coverage: Option<&Coverage>) -> String {
    let mut out = String::new();
    let mut group = None;
    for o in outcomes {
        if group != Some(o.group) {
            group = Some(o.group);
            let _ = writeln!(out, "{}", printable(o.group));
        }
        let r = &o.result;
        if r.failures.is_empty() {
            let _ = writeln!(out, "  ok      {}", printable(&r.name));
        } else {
            let _ = writeln!(
                out,
                "  FAILED  {} ({})",
                printable(&r.name),
                printable(&r.origin.to_string())
            );
        }
    }
    let failed: Vec<&Outcome<'_>> = outcomes
        .iter()
        .filter(|o| !o.result.failures.is_empty())
        .collect();
    if !failed.is_empty() {
        out.push_str("\nfailures:\n");
        for o in failed {
            let _ = writeln!(
                out,
                "\n  {} ({})",
                printable(&o.result.name),
                printable(&o.result.origin.to_string())
            );
            for f in &o.result.failures {
                // Tables pad their cells: no spaces at the ends of lines. The values are the
                // data's: control characters are escaped.
                let f = printable_lines(&f.to_string()).into_owned();
                let _ = writeln!(out, "{}", format!("    {f}").trim_end());
            }
            let ex = excerpt(o);
            if !ex.is_empty() {
                out.push_str("    the lead, explained:\n");
                for l in ex {
                    if l.is_empty() {
                        out.push('\n');
                    } else {
                        let _ = writeln!(out, "      {l}");
                    }
                }
            }
        }
        out.push('\n');
    }
    let (passed, failed) = tally(outcomes);
    let _ = write!(out, "{passed} passed, {failed} failed");
    if counts.filtered > 0 {
        let _ = write!(out, ", {} filtered out", counts.filtered);
    }
    if counts.not_run > 0 {
        let _ = write!(
            out,
            ", {} not run (their file does not check)",
            counts.not_run
        );
    }
    out.push('\n');
    if let Some(c) = coverage {
        out.push_str(&c.human());
    }
    out
}

fn json(outcomes: &[Outcome<'_>], counts: Counts, coverage: Option<&Coverage>) -> String {
    let tests: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            serde_json::json!({
                "name": o.result.name,
                "file": o.group,
                "origin": o.result.origin,
                "ok": o.result.failures.is_empty(),
                "failures": o.result.failures,
            })
        })
        .collect();
    let (passed, failed) = tally(outcomes);
    let mut doc = serde_json::json!({
        "tests": tests,
        "passed": passed,
        "failed": failed,
        "filtered": counts.filtered,
        "not_run": counts.not_run,
    });
    if let Some(c) = coverage {
        doc["coverage"] = c.json();
    }
    format!("{doc:#}\n")
}

/// Text for an XML attribute or element.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0, escaped or not.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `testsuite` per file that declares tests, one `testcase` per test, no
/// timings (the output is the same at every run).
fn junit(outcomes: &[Outcome<'_>]) -> String {
    let (passed, failed) = tally(outcomes);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"funnelc test\" tests=\"{}\" failures=\"{failed}\">",
        passed + failed
    );
    let mut i = 0;
    while i < outcomes.len() {
        let group = outcomes[i].group;
        let end = outcomes[i..]
            .iter()
            .position(|o| o.group != group)
            .map_or(outcomes.len(), |n| i + n);
        let suite = &outcomes[i..end];
        let (_, f) = tally(suite);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\">",
            xml(group),
            suite.len()
        );
        for o in suite {
            let r = &o.result;
            let line = r.origin.rsplit(':').next().unwrap_or("");
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
                xml(&r.name),
                xml(group),
                xml(r.origin.rsplit_once(':').map_or(&r.origin, |(f, _)| f)),
                xml(line)
            );
            if r.failures.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            let mut body = r.failures.join("\n");
            for l in excerpt(o) {
                body.push('\n');
                body.push_str(&l);
            }
            let _ = writeln!(
                out,
                "      <failure message=\"{}\">{}</failure>",
                xml(&r.failures[0]),
                xml(&body)
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
        i = end;
    }
    out.push_str("</testsuites>\n");
    out
}

/// What the tests exercised, per rule file.
pub struct Coverage {
    pub files: Vec<(String, Vec<Item>)>,
}

/// Adds up what each rule file's tests exercised. Rule files without a test count too: none
/// of their rules was exercised.
pub fn coverage<'a>(plans: impl Iterator<Item = &'a Plan>, outcomes: &[Outcome<'_>]) -> Coverage {
    let mut files = Vec::new();
    for (i, plan) in plans.enumerate() {
        let mut hits = Hits::new(plan);
        for o in outcomes.iter().filter(|o| o.rules == i) {
            hits.merge(&o.result.hits);
        }
        files.push((plan.file.clone(), hits.items(plan)));
    }
    Coverage { files }
}

pub fn percent_text(p: f64) -> String {
    format!("{}%", funnelc::lead::fmt_num((p * 10.0).round() / 10.0))
}

impl Coverage {
    fn totals(&self) -> (usize, usize) {
        let all = self.files.iter().flat_map(|(_, items)| items);
        let total = all.clone().count();
        (all.filter(|i| i.hit).count(), total)
    }

    /// The share exercised, in percent (100 when there is nothing to exercise).
    pub fn percent(&self) -> f64 {
        match self.totals() {
            (_, 0) => 100.0,
            (hit, total) => hit as f64 * 100.0 / total as f64,
        }
    }

    fn human(&self) -> String {
        let (hit, total) = self.totals();
        let mut out = format!(
            "\ncoverage: {hit} of {total} stages, moves, exits, score rules and condition branches \
             exercised ({})\n",
            percent_text(self.percent())
        );
        for (file, items) in &self.files {
            let h = items.iter().filter(|i| i.hit).count();
            let _ = writeln!(out, "  {file}: {h} of {}", items.len());
            for i in items.iter().filter(|i| !i.hit) {
                let col = i.column.map(|c| format!(":{c}")).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "    not exercised: {} {} ({file}:{}{col})",
                    i.kind,
                    printable(&i.name),
                    i.line
                );
            }
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let (hit, total) = self.totals();
        serde_json::json!({
            "exercised": hit,
            "total": total,
            "percent": (self.percent() * 10.0).round() / 10.0,
            "files": self.files.iter().map(|(file, items)| serde_json::json!({
                "file": file,
                "items": items,
            })).collect::<Vec<_>>(),
        })
    }
}
