//! The report laid out as titled tables ([`Section`]s), and those tables as terminal text,
//! Markdown and CSV files. HTML (`html.rs`) lays out the same sections with a chart; JSON is
//! the [`Report`] itself.

use super::model::{thousands, Report};

/// A titled table.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// The file name stem in CSV output, and the HTML anchor.
    pub id: String,
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Per row: `low`, `mid` or `high` (a conversion band), for colour.
    pub tones: Vec<Option<String>>,
    /// A line under the table.
    pub note: Option<String>,
}

impl Section {
    fn new(id: &str, title: &str, header: Vec<String>) -> Self {
        Section {
            id: id.into(),
            title: title.into(),
            header,
            rows: Vec::new(),
            tones: Vec::new(),
            note: None,
        }
    }

    fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
        self.tones.push(None);
    }
}

pub const DASH: &str = "—";

/// How numbers are written: for people (`46.7%`, `$4,500`, `—`), or plain for CSV (`0.4667`,
/// `4500`, empty), so that a dashboard reads them as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fmt {
    pub plain: bool,
}

impl Fmt {
    pub const PEOPLE: Fmt = Fmt { plain: false };
    pub const PLAIN: Fmt = Fmt { plain: true };

    fn dash(self) -> String {
        if self.plain {
            String::new()
        } else {
            DASH.into()
        }
    }

    /// `46.7%`; `—` without a value.
    pub fn pct(self, v: Option<f64>) -> String {
        match v {
            None => self.dash(),
            Some(v) if self.plain => plain(v),
            Some(v) => format!("{:.1}%", v * 100.0),
        }
    }

    /// `+25.0%`, `−20.0%`: a change.
    pub fn change(self, v: Option<f64>) -> String {
        match v {
            None => self.dash(),
            Some(v) if self.plain => plain(v),
            Some(v) if v < 0.0 => format!("−{:.1}%", -v * 100.0),
            Some(v) => format!("+{:.1}%", v * 100.0),
        }
    }

    /// `+1.5 pp`, `−0.3 pp`: a change of a rate (a fraction), in percentage points.
    fn points(self, v: f64) -> String {
        if self.plain {
            return plain(v);
        }
        let pp = v * 100.0;
        if pp < 0.0 {
            format!("−{:.1} pp", -pp)
        } else {
            format!("+{pp:.1} pp")
        }
    }

    /// `14.0`; `—` without a value.
    pub fn days(self, v: Option<f64>) -> String {
        match v {
            None => self.dash(),
            Some(v) if self.plain => plain(v),
            Some(v) => format!("{v:.1}"),
        }
    }

    fn num1(self, v: f64) -> String {
        self.days(Some(v))
    }

    pub fn money(self, v: f64, currency: &str) -> String {
        if self.plain {
            return plain(v);
        }
        money(v, currency)
    }

    fn opt_money(self, v: Option<f64>, currency: &str) -> String {
        v.map_or(self.dash(), |v| self.money(v, currency))
    }

    fn count(self, n: u64) -> String {
        if self.plain {
            n.to_string()
        } else {
            thousands(n)
        }
    }
}

/// A number for a machine: up to four decimals, trailing zeros dropped (`0.4667`, `4500`).
fn plain(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// `$4,500`, `1,200 EUR`: whole units, as a spend table reads.
pub fn money(v: f64, currency: &str) -> String {
    let whole = v.round();
    let sign = if whole < 0.0 { "−" } else { "" };
    let n = thousands(whole.abs() as u64);
    if currency == "USD" {
        format!("{sign}${n}")
    } else {
        format!("{sign}{n} {currency}")
    }
}

/// Every table of the report, in reading order.
pub fn sections(r: &Report, f: Fmt) -> Vec<Section> {
    let mut out = Vec::new();
    let names: Vec<String> = r.stages.iter().map(|s| s.name.clone()).collect();
    let first = names.first().cloned().unwrap_or_default();
    let last = names.last().cloned().unwrap_or_default();

    let mut s = Section::new("summary", "Summary", vec!["".into(), "".into()]);
    if let Some(f) = &r.funnel {
        s.push(vec!["funnel".into(), f.clone()]);
    }
    s.push(vec!["as of".into(), r.as_of.clone()]);
    s.push(vec![
        "leads entering the funnel".into(),
        format!("{} to {}", r.range.from, r.range.to),
    ]);
    s.push(vec![
        "leads in the report".into(),
        f.count(r.leads.in_report),
    ]);
    s.push(vec![
        "outside the range".into(),
        f.count(r.leads.outside_range),
    ]);
    s.push(vec![
        "never in the funnel".into(),
        f.count(r.leads.not_in_funnel),
    ]);
    s.push(vec!["skipped (bad data)".into(), f.count(r.leads.skipped)]);
    out.push(s);

    let header: Vec<String> = [
        "stage",
        "reached",
        "straight through",
        "from previous",
        "from first",
    ]
    .map(String::from)
    .to_vec();
    let mut s = Section::new("stages", "Stages", header);
    for st in &r.stages {
        s.push(vec![
            st.name.clone(),
            f.count(st.reached),
            f.count(st.straight),
            f.pct(st.from_previous),
            f.pct(st.from_first),
        ]);
    }
    let overall = r.stages.last().and_then(|x| x.from_first);
    s.note = Some(format!("{first} → {last}: {}", f.pct(overall)));
    out.push(s);

    if !r.comparisons.is_empty() {
        out.push(comparisons(r, f, &first, &last));
    }

    if !r.conversions.is_empty() {
        let mut s = Section::new(
            "conversions",
            "Conversion KPIs",
            ["transition", "from", "to", "rate", "band", "bands"]
                .map(String::from)
                .to_vec(),
        );
        for c in &r.conversions {
            s.rows.push(vec![
                format!("{} → {}", c.from, c.to),
                f.count(c.from_count),
                f.count(c.to_count),
                f.pct(c.rate),
                c.band.clone().unwrap_or_else(|| f.dash()),
                c.bands.clone(),
            ]);
            s.tones.push(c.tone.clone());
        }
        out.push(s);
    }

    let mut s = Section::new(
        "velocity",
        "Days between stages (from each stage's first entry)",
        ["transition", "leads", "mean", "median", "p90"]
            .map(String::from)
            .to_vec(),
    );
    for t in &r.velocity {
        s.push(vec![
            format!("{} → {}", t.from, t.to),
            f.count(t.leads),
            f.days(t.mean_days),
            f.days(t.median_days),
            f.days(t.p90_days),
        ]);
    }
    if r.velocity.iter().any(|t| !t.exact) {
        s.note = Some("median and p90 within 0.5% (see docs/kpis.md)".into());
    }
    out.push(s);

    if !r.velocity_targets.is_empty() {
        let mut s = Section::new(
            "velocity_targets",
            "Velocity targets",
            [
                "transition",
                "target",
                "leads",
                "mean days",
                "median days",
                "over target",
                "met",
            ]
            .map(String::from)
            .to_vec(),
        );
        for v in &r.velocity_targets {
            s.rows.push(vec![
                format!("{} → {}", v.from, v.to),
                format!("at most {}", v.target),
                f.count(v.leads),
                f.days(v.mean_days),
                f.days(v.median_days),
                f.count(v.over_target),
                match v.met {
                    None => f.dash(),
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                },
            ]);
            s.tones
                .push(v.met.map(|m| if m { "high" } else { "low" }.into()));
        }
        out.push(s);
    }

    if !r.sla.is_empty() {
        let mut s = Section::new(
            "sla",
            "SLA breaches",
            ["stage", "SLA (days)", "leads over it", "still there"]
                .map(String::from)
                .to_vec(),
        );
        for x in &r.sla {
            s.push(vec![
                x.stage.clone(),
                crate::lead::fmt_num(x.sla_days),
                f.count(x.breached),
                f.count(x.ongoing),
            ]);
        }
        out.push(s);
    }

    for b in &r.breakdowns {
        let mut header = vec![b.dimension.clone()];
        header.extend(names.iter().cloned());
        header.push(format!("{first} → {last}"));
        let mut s = Section::new(
            &format!("by_{}", b.dimension.replace('.', "_")),
            &format!("By {}", b.dimension),
            header,
        );
        for row in &b.rows {
            let mut cells = vec![row.value.clone()];
            cells.extend(row.reached.iter().map(|n| f.count(*n)));
            cells.push(f.pct(row.from_first_to_last));
            s.push(cells);
        }
        out.push(s);
        breakdown_tables(&mut out, b, f);
    }

    if !r.periods.is_empty() {
        let mut header = vec![r.period.clone()];
        header.extend(names.iter().cloned());
        let mut s = Section::new(
            "periods",
            &format!("Entries per {} (first entry into each stage)", r.period),
            header,
        );
        for p in &r.periods {
            let mut cells = vec![p.period.clone()];
            cells.extend(p.entries.iter().map(|n| f.count(*n)));
            s.push(cells);
        }
        out.push(s);
        // The latest period against the windows `--compare` asked for.
        let asked = |name: &str| r.comparisons.iter().any(|c| c.name == name);
        let (previous, last_year) = (asked("previous period"), asked("same period last year"));
        if let Some(p) = r.periods.last().filter(|_| previous || last_year) {
            let mut header = vec!["stage".to_string(), "entries".into()];
            if previous {
                header.push("change from previous".into());
            }
            if last_year {
                header.push("a year earlier".into());
                header.push("change".into());
            }
            let mut s = Section::new("latest_period", &format!("{} compared", p.period), header);
            for (i, name) in names.iter().enumerate() {
                let now = p.entries.get(i).copied().unwrap_or(0);
                let ly = p.last_year.as_ref().and_then(|v| v.get(i).copied());
                let mut row = vec![name.clone(), f.count(now)];
                if previous {
                    row.push(f.change(p.change.as_ref().and_then(|c| c.get(i).copied().flatten())));
                }
                if last_year {
                    row.push(ly.map_or(f.dash(), |n| f.count(n)));
                    row.push(f.change(
                        ly.and_then(|l| super::model::ratio(now as f64 - l as f64, l as f64)),
                    ));
                }
                s.push(row);
            }
            out.push(s);
        }
    }

    if !r.inventory.is_empty() {
        let mut s = Section::new(
            "inventory",
            &format!("Stage inventory per {}", r.period),
            [
                r.period.as_str(),
                "stage",
                "at start",
                "entered",
                "left",
                "at end",
                "mean days in stage",
            ]
            .map(String::from)
            .to_vec(),
        );
        for row in &r.inventory {
            s.push(vec![
                row.period.clone(),
                row.stage.clone(),
                f.count(row.start),
                f.count(row.entered),
                f.count(row.left),
                f.count(row.end),
                f.days(row.mean_days_in_stage),
            ]);
        }
        s.note = Some(
            "every lead's stays, whatever its cohort; a stay ends when the lead moves on, moves back or exits"
                .into(),
        );
        out.push(s);
    }

    for t in &r.targets {
        let mut s = Section::new(
            &format!("target_{}", t.stage),
            &format!("Volume target: {} per {}", t.stage, t.period),
            ["period", "actual", "target", "actual vs target"]
                .map(String::from)
                .to_vec(),
        );
        for row in &t.rows {
            s.rows.push(vec![
                row.period.clone(),
                f.count(row.actual),
                crate::lead::fmt_num(row.target),
                f.change(row.vs_target),
            ]);
            s.tones.push(
                row.vs_target
                    .map(|v| if v < 0.0 { "low" } else { "high" }.into()),
            );
        }
        if t.rows.is_empty() {
            s.note = Some("the target starts after the report's range".into());
        }
        out.push(s);
    }

    for t in &r.channels {
        let cur = t.currency.as_str();
        let mut s = Section::new(
            &format!("channels_{}", t.by.replace('.', "_")),
            &format!("Channel efficiency by {}", t.by),
            vec![
                t.by.clone(),
                "spend".into(),
                first.clone(),
                format!("cost per {first}"),
                last.clone(),
                format!("cost per {last}"),
                "revenue".into(),
                "ROI".into(),
            ],
        );
        for row in t.rows.iter().chain(std::iter::once(&t.total)) {
            s.push(vec![
                row.channel.clone(),
                f.opt_money(row.spend, cur),
                f.count(row.reached.first().copied().unwrap_or(0)),
                f.opt_money(row.cost_per.first().copied().flatten(), cur),
                f.count(row.reached.last().copied().unwrap_or(0)),
                f.opt_money(row.cost_per.last().copied().flatten(), cur),
                f.money(row.revenue, cur),
                f.change(row.roi),
            ]);
        }
        out.push(s);
        let mut s = Section::new(
            &format!("cost_per_stage_{}", t.by.replace('.', "_")),
            "Cost per stage",
            ["stage", "leads", "cost per lead"]
                .map(String::from)
                .to_vec(),
        );
        for (i, name) in names.iter().enumerate() {
            s.push(vec![
                name.clone(),
                f.count(t.total.reached.get(i).copied().unwrap_or(0)),
                f.opt_money(t.total.cost_per.get(i).copied().flatten(), cur),
            ]);
        }
        out.push(s);
    }

    if let Some(rev) = &r.revenue {
        let cur = r
            .channels
            .first()
            .map_or("USD".to_string(), |c| c.currency.clone());
        let mut s = Section::new(
            "revenue",
            &format!("Revenue ({})", rev.sources.join(", ")),
            vec!["".into(), "".into()],
        );
        s.push(vec!["total".into(), f.money(rev.total, &cur)]);
        for (i, name) in names.iter().enumerate() {
            s.push(vec![
                format!("per {name}"),
                f.opt_money(rev.per_stage.get(i).copied().flatten(), &cur),
            ]);
        }
        s.push(vec!["monthly".into(), f.opt_money(rev.monthly, &cur)]);
        s.push(vec!["spend".into(), f.opt_money(rev.spend, &cur)]);
        s.push(vec![
            "months to payback".into(),
            rev.months_to_payback.map_or(f.dash(), |m| f.num1(m)),
        ]);
        out.push(s);
    }

    for t in &r.steps {
        let mut header = vec!["step".to_string()];
        for (i, ty) in t.types.iter().enumerate() {
            let short = ty.rsplit_once('.').map_or(ty.as_str(), |(_, x)| x);
            header.push(short.to_string());
            if i > 0 {
                header.push(format!("{short} rate"));
            }
        }
        for st in &t.helped_stages {
            header.push(format!("helped {st}"));
        }
        let mut s = Section::new(
            &format!("steps_{}", t.family.replace('.', "_")),
            &format!("{} sequence (leads per step)", t.family),
            header,
        );
        for row in &t.rows {
            let mut cells = vec![row.step.to_string()];
            for (i, n) in row.leads.iter().enumerate() {
                cells.push(f.count(*n));
                if i > 0 {
                    cells.push(f.pct(row.rates.get(i - 1).copied().flatten()));
                }
            }
            cells.extend(row.helped.iter().map(|n| f.count(*n)));
            s.push(cells);
        }
        out.push(s);
    }

    if !r.insights.is_empty() {
        let mut s = Section::new("insights", "Insights", vec!["finding".into(), "".into()]);
        for i in &r.insights {
            s.push(vec![i.kind.replace('_', " "), i.text.clone()]);
        }
        out.push(s);
    }
    out
}

/// Per breakdown value, the tables the whole cohort has: conversion KPIs with their bands,
/// days between stages, and SLA breaches.
fn breakdown_tables(out: &mut Vec<Section>, b: &super::model::Breakdown, f: Fmt) {
    let id = b.dimension.replace('.', "_");
    let Some(sample) = b.rows.first() else {
        return;
    };
    if !sample.conversions.is_empty() {
        let mut header = vec![b.dimension.clone()];
        for c in &sample.conversions {
            header.push(format!("{} → {}", c.from, c.to));
            header.push("band".into());
        }
        let mut s = Section::new(
            &format!("by_{id}_conversions"),
            &format!("Conversion KPIs by {}", b.dimension),
            header,
        );
        for row in &b.rows {
            let mut cells = vec![row.value.clone()];
            for c in &row.conversions {
                cells.push(f.pct(c.rate));
                cells.push(c.band.clone().unwrap_or_else(|| f.dash()));
            }
            s.push(cells);
        }
        out.push(s);
    }
    let mut s = Section::new(
        &format!("by_{id}_velocity"),
        &format!("Days between stages by {}", b.dimension),
        [
            b.dimension.as_str(),
            "transition",
            "leads",
            "mean",
            "median",
            "p90",
        ]
        .map(String::from)
        .to_vec(),
    );
    for row in &b.rows {
        // A value's transitions that no lead made say nothing: left out of the table.
        for t in row.velocity.iter().filter(|t| t.leads > 0) {
            s.push(vec![
                row.value.clone(),
                format!("{} → {}", t.from, t.to),
                f.count(t.leads),
                f.days(t.mean_days),
                f.days(t.median_days),
                f.days(t.p90_days),
            ]);
        }
    }
    if b.rows.iter().flat_map(|r| &r.velocity).any(|t| !t.exact) {
        s.note = Some("median and p90 within 0.5% (see docs/kpis.md)".into());
    }
    out.push(s);
    if !sample.sla.is_empty() {
        let mut header = vec![b.dimension.clone()];
        header.extend(sample.sla.iter().map(|x| format!("over {} SLA", x.stage)));
        let mut s = Section::new(
            &format!("by_{id}_sla"),
            &format!("SLA breaches by {}", b.dimension),
            header,
        );
        for row in &b.rows {
            let mut cells = vec![row.value.clone()];
            cells.extend(row.sla.iter().map(|x| f.count(x.breached)));
            s.push(cells);
        }
        out.push(s);
    }
}

/// The cohort against each earlier window the data has leads in: per stage the counts, the
/// change, and the rate from the previous stage, then first to last. The note gives each
/// window's dates and says which the data does not cover.
fn comparisons(r: &Report, f: Fmt, first: &str, last: &str) -> Section {
    let short = |name: &str| match name {
        "previous period" => "previous".to_string(),
        "same period last year" => "last year".to_string(),
        other => other.to_string(),
    };
    let shown: Vec<&super::model::Comparison> = r
        .comparisons
        .iter()
        .filter(|c| c.coverage != "none")
        .collect();
    let mut header = vec!["stage".to_string(), "now".into(), "rate now".into()];
    for c in &shown {
        let name = short(&c.name);
        header.push(name.clone());
        header.push("change".into());
        header.push(format!("rate {name}"));
    }
    let mut s = Section::new("comparisons", "Compared with earlier windows", header);
    for (i, st) in r.stages.iter().enumerate() {
        let mut row = vec![
            st.name.clone(),
            f.count(st.reached),
            f.pct(st.from_previous),
        ];
        for c in &shown {
            row.push(f.count(c.reached.get(i).copied().unwrap_or(0)));
            row.push(f.change(c.change.get(i).copied().flatten()));
            row.push(f.pct(c.from_previous.get(i).copied().flatten()));
        }
        s.push(row);
    }
    let now = r.stages.last().and_then(|x| x.from_first);
    let mut row = vec![format!("{first} → {last}"), f.pct(now), f.dash()];
    for c in &shown {
        row.push(f.pct(c.from_first_to_last));
        // A change of a rate is in percentage points.
        row.push(match (now, c.from_first_to_last) {
            (Some(a), Some(b)) => f.points(a - b),
            _ => f.dash(),
        });
        row.push(f.dash());
    }
    s.push(row);
    let mut notes = vec![format!("now: {} to {}", r.range.from, r.range.to)];
    for c in &r.comparisons {
        match &c.note {
            Some(n) => notes.push(n.clone()),
            None => notes.push(format!("{}: {} to {}", short(&c.name), c.from, c.to)),
        }
    }
    s.note = Some(notes.join("; "));
    s
}

/// Whether a column holds numbers (right-aligned): every cell looks like one.
fn numeric(s: &Section, col: usize) -> bool {
    col > 0
        && s.rows.iter().all(|r| {
            r.get(col).is_none_or(|c| {
                c == DASH
                    || c.chars().next().is_some_and(|ch| {
                        ch.is_ascii_digit() || matches!(ch, '$' | '+' | '−' | '-')
                    })
            })
        })
}

/// The terminal format: each section a titled table.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    for s in sections(r, Fmt::PEOPLE) {
        out.push_str(&s.title);
        out.push('\n');
        let mut t = comfy_table::Table::new();
        // A rule under the header and nothing else: quiet enough for many tables in a row.
        t.load_preset("     ──            ");
        if s.header.iter().any(|h| !h.is_empty()) {
            t.set_header(s.header.clone());
        }
        for row in &s.rows {
            t.add_row(row.clone());
        }
        for c in 0..s.header.len() {
            if numeric(&s, c) {
                if let Some(col) = t.column_mut(c) {
                    col.set_cell_alignment(comfy_table::CellAlignment::Right);
                }
            }
        }
        out.push_str(&t.to_string());
        out.push('\n');
        if let Some(n) = &s.note {
            out.push_str(n);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Markdown: a heading and a pipe table per section, then the warnings.
pub fn markdown(r: &Report) -> String {
    let mut out = String::new();
    let title = r.funnel.clone().unwrap_or_else(|| "Funnel".into());
    out.push_str(&format!("# {} report\n\n", md_cell(&title)));
    for s in sections(r, Fmt::PEOPLE) {
        out.push_str(&format!("## {}\n\n", md_cell(&s.title)));
        let header: Vec<String> = s
            .header
            .iter()
            .map(|h| if h.is_empty() { " ".into() } else { md_cell(h) })
            .collect();
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        let align: Vec<&str> = (0..s.header.len())
            .map(|c| if numeric(&s, c) { "---:" } else { "---" })
            .collect();
        out.push_str(&format!("| {} |\n", align.join(" | ")));
        for row in &s.rows {
            let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        if let Some(n) = &s.note {
            out.push_str(&format!("\n{}\n", md_cell(n)));
        }
        out.push('\n');
    }
    if !r.warnings.is_empty() {
        out.push_str("## Warnings\n\n");
        for w in &r.warnings {
            out.push_str(&format!("- {}\n", md_cell(w)));
        }
        out.push('\n');
    }
    out
}

/// CSV: one file per section, `(file name, text)`; the summary carries the as-of moment, and
/// `notes.csv` the line under each table that has one (what the other formats print there).
pub fn csv_files(r: &Report) -> Vec<(String, String)> {
    let text = |w: csv::Writer<Vec<u8>>| {
        w.into_inner()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let sections = sections(r, Fmt::PLAIN);
    let mut notes = csv::Writer::from_writer(Vec::new());
    let _ = notes.write_record(["table", "note"]);
    let mut files: Vec<(String, String)> = sections
        .into_iter()
        .map(|s| {
            let mut w = csv::Writer::from_writer(Vec::new());
            let header: Vec<String> = if s.id == "summary" || s.id == "revenue" {
                vec!["what".into(), "value".into()]
            } else {
                s.header.clone()
            };
            let _ = w.write_record(&header);
            for row in &s.rows {
                let _ = w.write_record(row);
            }
            if let Some(n) = &s.note {
                let _ = notes.write_record([s.id.as_str(), n.as_str()]);
            }
            (format!("{}.csv", s.id), text(w))
        })
        .collect();
    files.push(("notes.csv".into(), text(notes)));
    files
}
