//! An explanation as text for a terminal: the lead's position, the timeline of its steps
//! with the condition tree behind each, its scores, SLA breaches, what the next stage needs,
//! and the events that changed nothing, with why. Everything is rendered from the
//! explanation's data.

use crate::diag::printable;
use crate::eval::explain::{
    short_ts, Datum, Earlier, EventRef, Explanation, Node, Outside, Position, Reading, RuleRef,
    Scope, StageRef, TriggerRef, Unmoved, Why,
};
use crate::lead::{fmt_num, Value};

/// The explanation as text for a terminal.
pub fn render(x: &Explanation) -> String {
    let mut out = String::new();
    let day = |ms: i64| short_ts(ms).get(..10).unwrap_or_default().to_string();
    // Ids and values are the data's: their control characters are escaped, never sent to the
    // terminal.
    let mut head = vec![printable(&x.id).into_owned()];
    head.extend(x.about.iter().map(|a| {
        let v = match &a.value.0 {
            Value::Text(t) => printable(t).into_owned(),
            other => printable(&other.to_string()).into_owned(),
        };
        if a.path == "name" || a.path.ends_with(".name") {
            v
        } else {
            format!("{} {v}", a.path.rsplit('.').next().unwrap_or(&a.path))
        }
    }));
    head.push(format!("as of {}", day(x.as_of.0)));
    out.push_str(&head.join(" · "));
    out.push('\n');
    let name = match &x.position {
        Position::Outside => None,
        Position::Stage { stage } => Some(titled(stage)),
        Position::Exited { name, .. } => Some(name.clone()),
    };
    match (&x.since, name) {
        (_, None) => out.push_str("stage: none yet (outside the funnel)\n"),
        (Some(since), Some(name)) => {
            let d = (x.as_of.0 - since.0) / 86_400_000;
            let days = if d == 1 {
                " (1 day)".to_string()
            } else {
                format!(" ({d} days)")
            };
            out.push_str(&format!(
                "stage: {name}, since {}{days}\n",
                short_ts(since.0)
            ));
        }
        (None, Some(name)) => out.push_str(&format!("stage: {name}\n")),
    }
    if !x.timeline.is_empty() {
        out.push_str("\ntimeline\n");
        for step in &x.timeline {
            out.push_str(&format!(
                "  {}  {}  by {}, triggered by {}\n",
                short_ts(step.at.0),
                step.to.name,
                rule_text(&step.rule, step.from.as_ref(), true),
                trigger_text(&step.trigger)
            ));
            tree(&mut out, &step.condition, 6, false);
        }
    }
    scores(&mut out, x, &day(x.as_of.0));
    if !x.sla_breaches.is_empty() {
        out.push_str("\nSLA breaches\n");
        for b in &x.sla_breaches {
            let how = if b.ongoing {
                "so far"
            } else {
                "before leaving"
            };
            let entered = crate::time::parse_timestamp(&b.entered)
                .map_or_else(|_| b.entered.clone(), |t| short_ts(t.millis));
            out.push_str(&format!(
                "  {}  entered {entered}, {} days in the stage {how}; the SLA is {} days\n",
                b.stage,
                fmt_num(b.days),
                fmt_num(b.sla_days)
            ));
        }
    }
    if let Some(n) = &x.next {
        out.push_str(&format!("\nto reach {}\n", titled(&n.stage)));
        tree(&mut out, &n.condition, 2, false);
    }
    unmoved(&mut out, &x.unmoved);
    // Whatever else quotes the data (an event type the schema does not know, a list item)
    // is escaped here too; the values above also had their line breaks escaped.
    crate::diag::printable_lines(&out).into_owned()
}

fn scores(out: &mut String, x: &Explanation, day: &str) {
    let list = &x.scores.list;
    if list.is_empty() {
        return;
    }
    out.push_str(&format!("\nscores as of {day}\n"));
    let width = list.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in list {
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
        if let Some(d) = &s.decay {
            let how = if d.kind == "expire" {
                "expire after"
            } else {
                d.kind
            };
            notes.push(format!("{how} {}d", fmt_num(d.days)));
        }
        if !notes.is_empty() {
            out.push_str(&format!("  {:<width$}    {}\n", "", notes.join(" · ")));
        }
    }
}

fn titled(s: &StageRef) -> String {
    match &s.title {
        Some(t) => format!("{} ({t})", s.name),
        None => s.name.clone(),
    }
}

/// `stage MEL (file:39)`, `move MQL -> MEL (file:97)`: with `located`, the file and line;
/// otherwise the line only. A move names the stage the lead left when known.
fn rule_text(r: &RuleRef, left: Option<&StageRef>, located: bool) -> String {
    let at = |file: &str, line: usize| {
        if located {
            format!("({file}:{line})")
        } else {
            format!("(line {line})")
        }
    };
    match r {
        RuleRef::Stage { name, file, line } => format!("stage {name} {}", at(file, *line)),
        RuleRef::Move {
            from,
            to,
            file,
            line,
        } => {
            let from = match (left, from) {
                (Some(s), _) => s.name.clone(),
                (None, Some(f)) => f.join(", "),
                (None, None) => "any".into(),
            };
            format!("move {from} -> {to} {}", at(file, *line))
        }
        RuleRef::Exit {
            name, file, line, ..
        } => format!("exit {name} {}", at(file, *line)),
    }
}

fn trigger_text(t: &TriggerRef) -> String {
    match t {
        TriggerRef::Timer { .. } => "time".into(),
        TriggerRef::Event(e) => {
            let mut s = e.ty.clone();
            for (p, v) in &e.properties {
                s.push_str(&format!(" {p} {}", printable(&v.0.to_string())));
            }
            s
        }
    }
}

fn signed(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", fmt_num(v))
    } else {
        fmt_num(v)
    }
}

fn op_symbol(op: &str) -> &str {
    match op {
        ">=" => "≥",
        "<=" => "≤",
        "!=" => "≠",
        "==" => "=",
        other => other,
    }
}

fn days(ms: i64) -> String {
    format!("{}d", fmt_num(ms as f64 / 86_400_000.0))
}

/// `none` with what it means in a scoped query: not in this stay or window, though earlier.
fn none_in(base: &str, scope: Option<&Scope>, earlier: Option<&Earlier>) -> String {
    let (Some(scope), Some(e)) = (scope, earlier) else {
        return base.to_string();
    };
    match (e.outside, &scope.since, scope.within_ms) {
        (Outside::Stay, Some(s), _) => format!(
            "{base} since entering {s} (last {} before it)",
            short_ts(e.at.0)
        ),
        (Outside::Window, _, Some(w)) => {
            format!("{base} in the last {} (last {})", days(w), short_ts(e.at.0))
        }
        _ => base.to_string(),
    }
}

/// What a leaf read, as the tree shows it after `=`.
fn reading_text(r: &Reading, ok: bool) -> String {
    let show = |d: &Datum| printable(&d.0.to_string()).into_owned();
    match r {
        Reading::Compare {
            op,
            left,
            right,
            threshold,
            scores,
        } => {
            // Text equality reads best as just the value the lead has.
            let text_eq =
                matches!(*op, "==" | "!=") && matches!(threshold, Some(Datum(Value::Text(_))));
            let mut s = if text_eq {
                show(left)
            } else {
                format!("{} {} {}", show(left), op_symbol(op), show(right))
            };
            if let Some(sc) = scores {
                let parts: Vec<String> =
                    sc.0.iter()
                        .map(|(n, v)| format!("{n} {}", fmt_num(*v)))
                        .collect();
                s.push_str(&format!(" ({})", parts.join(", ")));
            }
            s
        }
        Reading::Grade { op, left, right } => format!(
            "{} {} {}",
            left.as_deref().unwrap_or("none"),
            op_symbol(op),
            right.as_deref().unwrap_or("none")
        ),
        Reading::Value { value } => show(value),
        Reading::Events {
            count,
            last,
            earlier,
            scope,
        } => match last {
            Some(at) => {
                let times = if *count == 1 {
                    String::new()
                } else {
                    format!("{count} times, ")
                };
                format!("yes ({times}last {})", short_ts(at.0))
            }
            None => none_in("none", scope.as_ref(), earlier.as_ref()),
        },
        Reading::Absence {
            last,
            earlier,
            scope,
        } => match (last, scope.within_ms) {
            (Some(at), Some(w)) if ok => {
                format!("none in the last {} (last {})", days(w), short_ts(at.0))
            }
            (Some(at), _) => format!("last {}", short_ts(at.0)),
            (None, _) => match earlier {
                Some(e) => none_in("none", Some(scope), Some(e)),
                None => "none ever".into(),
            },
        },
        Reading::Has {
            at,
            props,
            earlier,
            scope,
        } => match at {
            Some(at) => {
                let marks: Vec<String> = props
                    .iter()
                    .map(|p| format!("{} {}", p.name, if p.value { "✓" } else { "✗" }))
                    .collect();
                format!("{}: {}", short_ts(at.0), marks.join(" "))
            }
            None => none_in("none recorded", scope.as_ref(), earlier.as_ref()),
        },
    }
}

/// A condition tree; `brief` leaves out the parts of a false `all of` (or `at least`) that
/// held, so a reason shows what failed.
fn tree(out: &mut String, n: &Node, indent: usize, brief: bool) {
    let mark = if n.ok { "✓" } else { "✗" };
    let pad = " ".repeat(indent);
    match &n.value {
        Some(r) => out.push_str(&format!(
            "{pad}{mark} {}  =  {}\n",
            n.text,
            reading_text(r, n.ok)
        )),
        None => out.push_str(&format!("{pad}{mark} {}\n", n.text)),
    }
    let prune = brief && !n.ok && (n.text == "all of" || n.text.starts_with("at least "));
    for c in n.children.iter().filter(|c| !(prune && c.ok)) {
        tree(out, c, indent + 2, brief);
    }
}

fn place(p: &Position) -> String {
    match p {
        Position::Outside => "the lead was outside the funnel".into(),
        Position::Stage { stage } => format!("the lead was in {}", stage.name),
        Position::Exited { name, .. } => format!("the lead had exited ({name})"),
    }
}

/// Why a group changed nothing, in a line; `many`: said of several events.
fn reason(u: &Unmoved, many: bool) -> String {
    let it = if many { "them" } else { "it" };
    let here = place(&u.position);
    match &u.why {
        Why::Unread => "no rule reads this event type".into(),
        Why::ScoresOnly { scores } => {
            format!("only scores read this event type ({})", scores.join(", "))
        }
        Why::Exited { exit, at } => format!("after the exit {exit} on {}", short_ts(at.0)),
        Why::Passed { stages, scores } => {
            let mut s = format!(
                "read only for the entry of {}, which the lead had reached",
                stages.join(", ")
            );
            if !scores.is_empty() {
                s.push_str(&format!(" (and by {})", scores.join(", ")));
            }
            s
        }
        Why::NotFrom { rule } => {
            let from = match rule {
                RuleRef::Move { from, .. } | RuleRef::Exit { from, .. } => from.clone(),
                RuleRef::Stage { .. } => None,
            };
            let leaves = match from {
                Some(f) => format!("leaves only from {}", f.join(", ")),
                None => "leaves only from a stage".into(),
            };
            format!("{here}; {} {leaves}", rule_text(rule, None, false))
        }
        Why::Filtered { rule, .. } => format!(
            "{here}; {} did not fire: its filter or guard did not hold",
            rule_text(rule, None, false)
        ),
        Why::NotMet { stage, .. } => {
            format!(
                "{here}; {}'s condition read {it} and did not hold",
                stage.name
            )
        }
        Why::RuleNotMet { rule, spent, .. } => {
            let how = if *spent {
                "holds, but has fired and not been false since"
            } else {
                "did not hold"
            };
            format!(
                "{here}; {} read {it} and {how}",
                rule_text(rule, None, false)
            )
        }
        Why::Later { stage, needs } => {
            format!("{here}, and {} needs {} first", stage.name, needs.name)
        }
    }
}

/// A line of the "changed nothing" section: one group, or the groups of one stay with one
/// reason and no condition to show.
struct Line<'a> {
    first: &'a EventRef,
    last: &'a EventRef,
    /// Events by type, in order of appearance.
    counts: Vec<(&'a str, usize)>,
    /// The first group's reason, said of one event (the key lines are merged by).
    reason: String,
    group: &'a Unmoved,
    tree: Option<&'a Node>,
}

impl Line<'_> {
    fn head(&self) -> String {
        let span = if self.first.at == self.last.at {
            short_ts(self.first.at.0)
        } else {
            format!(
                "{} … {}",
                short_ts(self.first.at.0),
                short_ts(self.last.at.0)
            )
        };
        match self.counts.as_slice() {
            [(_, 1)] => format!(
                "{}  {}",
                short_ts(self.first.at.0),
                trigger_text(&TriggerRef::Event(self.first.clone()))
            ),
            [(ty, n)] => format!("{span}  {n} × {ty}"),
            many => {
                let parts: Vec<String> = many.iter().map(|(t, n)| format!("{n} {t}")).collect();
                format!("{span}  {}", parts.join(", "))
            }
        }
    }
}

/// The events that changed nothing: those a stage condition, move or exit reads where the
/// lead was (or ahead of it), a line per group with the failing part of the condition; the
/// others summed up by type and reason.
fn unmoved(out: &mut String, groups: &[Unmoved]) {
    if groups.is_empty() {
        return;
    }
    out.push_str("\nevents that changed nothing\n");
    let mut summary: Vec<(String, String, usize)> = Vec::new();
    let mut lines: Vec<Line<'_>> = Vec::new();
    for u in groups {
        let (Some(first), Some(last)) = (u.events.first(), u.events.last()) else {
            continue;
        };
        let why = reason(u, false);
        if !u.why.notable() {
            match summary
                .iter_mut()
                .find(|(ty, w, _)| *ty == first.ty && *w == why)
            {
                Some(s) => s.2 += u.events.len(),
                None => summary.push((first.ty.clone(), reason(u, true), u.events.len())),
            }
            continue;
        }
        let tree = match &u.why {
            Why::Filtered { condition, .. }
            | Why::NotMet { condition, .. }
            | Why::RuleNotMet { condition, .. } => Some(condition),
            _ => None,
        };
        // Groups of one stay told apart only by their event type (`SQL needs MQL first`):
        // one line.
        if let Some(prev) = lines.iter_mut().find(|l| {
            l.tree.is_none()
                && tree.is_none()
                && l.group.steps_before == u.steps_before
                && l.reason == why
        }) {
            if last.at > prev.last.at {
                prev.last = last;
            }
            match prev.counts.iter_mut().find(|(t, _)| *t == first.ty) {
                Some(c) => c.1 += u.events.len(),
                None => prev.counts.push((&first.ty, u.events.len())),
            }
            continue;
        }
        lines.push(Line {
            first,
            last,
            counts: vec![(&first.ty, u.events.len())],
            reason: why,
            group: u,
            tree,
        });
    }
    for l in &lines {
        let n: usize = l.counts.iter().map(|c| c.1).sum();
        let reason = reason(l.group, n > 1);
        out.push_str(&format!("  {}: {reason}\n", l.head()));
        if let Some(t) = l.tree {
            tree(out, t, 6, true);
        }
    }
    for (ty, why, n) in summary {
        out.push_str(&format!("  {n} {ty}: {why}\n"));
    }
}
