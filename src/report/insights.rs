//! Findings read off the numbers: the weakest and the slowest transition, conversions in their
//! lowest band, velocity targets missed, SLA breaches, channels that spend and convert
//! nothing. Each is computed from the report; none is written unless its numbers say so.

use super::model::{thousands, Insight, Report};

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

pub fn insights(r: &Report) -> Vec<Insight> {
    let mut out = Vec::new();
    let mut add = |kind: &str, text: String| {
        out.push(Insight {
            kind: kind.into(),
            text,
        })
    };
    // Transitions with a rate, lowest first; ties keep funnel order.
    let mut rates: Vec<(usize, f64)> = r
        .stages
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.from_previous.map(|v| (i, v)))
        .collect();
    rates.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let names = |i: usize| format!("{} → {}", r.stages[i - 1].name, r.stages[i].name);
    if let Some((i, v)) = rates.first() {
        let mut text = format!("{} converts {}, the weakest transition", names(*i), pct(*v));
        if let Some((j, w)) = rates.get(1) {
            text.push_str(&format!("; next weakest {} at {}", names(*j), pct(*w)));
        }
        add("weakest_transition", text);
    }
    let n = r.stages.len();
    let slowest = r
        .velocity
        .iter()
        .take(n.saturating_sub(1))
        .filter_map(|t| t.mean_days.map(|m| (t, m)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((t, m)) = slowest {
        add(
            "slowest_transition",
            format!(
                "{} → {} takes {:.1} days on average, the slowest transition",
                t.from, t.to, m
            ),
        );
    }
    for c in &r.conversions {
        if let (Some("low"), Some(rate), Some(band)) = (c.tone.as_deref(), c.rate, &c.band) {
            add(
                "failing_band",
                format!(
                    "{} → {} converts {}: `{band}` ({})",
                    c.from,
                    c.to,
                    pct(rate),
                    c.bands
                ),
            );
        }
    }
    for v in &r.velocity_targets {
        if let (Some(false), Some(mean)) = (v.met, v.mean_days) {
            add(
                "velocity_target_missed",
                format!(
                    "{} → {} takes {:.1} days on average, over its target of {}; {} of {} leads took longer",
                    v.from,
                    v.to,
                    mean,
                    v.target,
                    thousands(v.over_target),
                    thousands(v.leads)
                ),
            );
        }
    }
    for s in &r.sla {
        if s.breached > 0 {
            add(
                "sla_breaches",
                format!(
                    "{} {} stayed in {} longer than its SLA of {} days ({} still there)",
                    thousands(s.breached),
                    if s.breached == 1 { "lead" } else { "leads" },
                    s.stage,
                    crate::lead::fmt_num(s.sla_days),
                    thousands(s.ongoing)
                ),
            );
        }
    }
    let last = r.stages.last().map(|s| s.name.clone()).unwrap_or_default();
    for t in &r.channels {
        for row in &t.rows {
            let reached_last = row.reached.last().copied().unwrap_or(0);
            if row.spend.is_some_and(|s| s > 0.0) && reached_last == 0 {
                add(
                    "spend_without_conversion",
                    format!(
                        "{} `{}`: {} spent, {} {} in, none reached {last}",
                        t.by,
                        row.channel,
                        super::render::money(row.spend.unwrap_or(0.0), &t.currency),
                        thousands(row.reached.first().copied().unwrap_or(0)),
                        if row.reached.first() == Some(&1) {
                            "lead"
                        } else {
                            "leads"
                        },
                    ),
                );
            }
        }
    }
    out
}
