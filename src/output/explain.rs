//! An explanation as text for a terminal: the lead's position, the timeline of its steps
//! with the condition tree behind each, its scores, SLA breaches and what the next stage needs.

use crate::eval::explain::{short_ts, Explanation, Node};
use crate::lead::fmt_num;
use crate::plan::Plan;

/// The explanation as text for a terminal.
pub fn render(plan: &Plan, x: &Explanation) -> String {
    let mut out = String::new();
    let day = |s: &str| s.get(..10).unwrap_or(s).to_string();
    let mut head = vec![x.id.clone()];
    head.extend(x.about.iter().map(|(k, v)| {
        if k == "name" || k.ends_with(".name") {
            v.clone()
        } else {
            format!("{} {v}", k.rsplit('.').next().unwrap_or(k))
        }
    }));
    head.push(format!("as of {}", day(&x.as_of)));
    out.push_str(&head.join(" · "));
    out.push('\n');
    let display = plan
        .stages
        .iter()
        .find(|s| s.name == x.position)
        .and_then(|s| s.display.clone());
    match (&x.since, x.position.is_empty()) {
        (_, true) => out.push_str("stage: none yet (outside the funnel)\n"),
        (Some(since), false) => {
            let name = match display {
                Some(d) => format!("{} ({d})", x.position),
                None => x.position.clone(),
            };
            let days = match (
                crate::time::parse_timestamp(since),
                crate::time::parse_timestamp(&x.as_of),
            ) {
                (Ok(a), Ok(b)) => {
                    let d = (b.millis - a.millis) / 86_400_000;
                    if d == 1 {
                        " (1 day)".to_string()
                    } else {
                        format!(" ({d} days)")
                    }
                }
                _ => String::new(),
            };
            out.push_str(&format!(
                "stage: {name}, since {}{days}\n",
                short_ts_str(since)
            ));
        }
        (None, false) => out.push_str(&format!("stage: {}\n", x.position)),
    }
    if !x.timeline.is_empty() {
        out.push_str("\ntimeline\n");
        for step in &x.timeline {
            out.push_str(&format!(
                "  {}  {}  by {}, triggered by {}\n",
                short_ts_str(&step.at),
                step.to,
                step.rule,
                step.trigger
            ));
            tree(&mut out, &step.condition, 6);
        }
    }
    if !x.scores.is_empty() {
        out.push_str(&format!("\nscores as of {}\n", day(&x.as_of)));
        let width = x.scores.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for s in &x.scores {
            let grade = s
                .grade
                .as_ref()
                .map(|g| format!(" (grade {g})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {:<width$}  {}{grade}",
                s.name,
                fmt_num(s.total)
            ));
            if s.parts.is_empty() {
                out.push_str(" (no rule applies)");
            }
            out.push('\n');
            for p in &s.parts {
                let times = if p.events > 1 {
                    format!(" × {} events", p.events)
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "  {:<width$}    {:>7}  {}{times} (line {})\n",
                    "",
                    signed(p.points),
                    p.rule,
                    p.line
                ));
            }
            let mut notes = Vec::new();
            if let Some(raw) = s.capped_from {
                notes.push(format!("{} before the cap", fmt_num(raw)));
            }
            if !s.decay.is_empty() {
                notes.push(s.decay.clone());
            }
            if !notes.is_empty() {
                out.push_str(&format!("  {:<width$}    {}\n", "", notes.join(" · ")));
            }
        }
    }
    if !x.sla_breaches.is_empty() {
        out.push_str("\nSLA breaches\n");
        for b in &x.sla_breaches {
            let how = if b.ongoing {
                "so far"
            } else {
                "before leaving"
            };
            out.push_str(&format!(
                "  {}  entered {}, {} days in the stage {how}; the SLA is {} days\n",
                b.stage,
                short_ts_str(&b.entered),
                fmt_num(b.days),
                fmt_num(b.sla_days)
            ));
        }
    }
    if let Some(n) = &x.next {
        out.push_str(&format!("\nto reach {}\n", n.stage));
        tree(&mut out, &n.condition, 2);
    }
    out
}

fn signed(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", fmt_num(v))
    } else {
        fmt_num(v)
    }
}

fn short_ts_str(s: &str) -> String {
    crate::time::parse_timestamp(s).map_or_else(|_| s.to_string(), |t| short_ts(t.millis))
}

fn tree(out: &mut String, n: &Node, indent: usize) {
    let mark = if n.ok { "✓" } else { "✗" };
    let pad = " ".repeat(indent);
    if n.value.is_empty() {
        out.push_str(&format!("{pad}{mark} {}\n", n.text));
    } else {
        out.push_str(&format!("{pad}{mark} {}  =  {}\n", n.text, n.value));
    }
    for c in &n.children {
        tree(out, c, indent + 2);
    }
}
