//! First pass: collect every declaration into [`Symbols`], reporting duplicates.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use super::symbols::*;
use crate::diag::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::*;

fn duplicate(kind: &str, name: &Name, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateName,
        name.span,
        format!("{kind} `{}` is declared twice", name.text),
    )
    .label("declared again here")
    .with(first, "first declared here")
    .help("rename one of them or merge the two declarations")
}

pub fn collect(file: &File, diags: &mut Vec<Diagnostic>) -> Symbols {
    let mut sym = Symbols::default();
    let mut funnel_seen: Option<Span> = None;
    for item in &file.items {
        match item {
            Item::Funnel(f) => {
                if let Some(first) = funnel_seen {
                    diags.push(
                        Diagnostic::error(Code::DuplicateName, f.span, "the funnel is named twice")
                            .with(first, "first named here")
                            .help("a file describes one funnel: keep one `funnel \"...\"` line"),
                    );
                }
                funnel_seen = Some(f.span);
            }
            Item::Schema(s) => collect_schema(s, &mut sym, diags),
            _ => {}
        }
    }
    // Names that every kind shares: a segment, a score and an event may not be called alike,
    // since a bare name in a condition could then mean either. Traits and events are looked
    // up in their own maps (a trait first), segments and scores in `named` as they come.
    let mut named: BTreeMap<String, (Span, &'static str)> = BTreeMap::new();
    let bare = |named: &BTreeMap<String, (Span, &'static str)>, name: &str| {
        if let Some((_, span)) = sym.traits.get(name) {
            Some((*span, "trait"))
        } else if let Some(ev) = sym.events.get(name) {
            Some((ev.span, "event"))
        } else {
            named.get(name).copied()
        }
    };
    let mut segments = BTreeMap::new();
    let mut scores = BTreeMap::new();
    for item in &file.items {
        match item {
            Item::Segment(s) => {
                if let Some((first, kind)) = bare(&named, &s.name.text) {
                    let d = if kind == "segment" {
                        duplicate("segment", &s.name, first)
                    } else {
                        Diagnostic::error(
                            Code::DuplicateName,
                            s.name.span,
                            format!(
                                "segment `{}` has the same name as {kind} `{}`",
                                s.name.text, s.name.text
                            ),
                        )
                        .label("a condition naming it could mean either")
                        .with(first, format!("the {kind}"))
                        .help(format!(
                            "a segment cannot share its name with a {kind}: rename the segment"
                        ))
                    };
                    diags.push(d);
                    continue;
                }
                named.insert(s.name.text.clone(), (s.name.span, "segment"));
                segments.insert(s.name.text.clone(), s.name.span);
            }
            Item::Score(s) => {
                if let Some((first, kind)) = bare(&named, &s.name.text) {
                    let d = if kind == "score" {
                        duplicate("score", &s.name, first)
                    } else {
                        Diagnostic::error(
                            Code::DuplicateName,
                            s.name.span,
                            format!(
                                "score `{}` has the same name as {kind} `{}`",
                                s.name.text, s.name.text
                            ),
                        )
                        .with(first, format!("the {kind}"))
                        .help(format!(
                            "a score cannot share its name with a {kind}: rename the score"
                        ))
                    };
                    diags.push(d);
                    continue;
                }
                named.insert(s.name.text.clone(), (s.name.span, "score"));
                scores.insert(s.name.text.clone(), score_info(s));
            }
            Item::Stage(s) => {
                if let Some(&i) = sym.stage_pos.get(&s.name.text) {
                    diags.push(duplicate("stage", &s.name, sym.stages[i].span));
                    continue;
                }
                sym.stage_pos.insert(s.name.text.clone(), sym.stages.len());
                sym.stages.push(StageInfo {
                    name: s.name.text.clone(),
                    span: s.name.span,
                });
            }
            _ => {}
        }
    }
    sym.segments = segments;
    sym.scores = scores;
    for item in &file.items {
        if let Item::Exit(e) = item {
            if let Some(&i) = sym.stage_pos.get(&e.name.text) {
                diags.push(
                    duplicate("stage", &e.name, sym.stages[i].span)
                        .help("an exit is where a lead leaves the funnel: give it its own name"),
                );
            } else {
                // Several exits may share a name (`lost` from two stages): one outcome.
                sym.exits.entry(e.name.text.clone()).or_insert(e.name.span);
            }
        }
    }
    sym
}

fn collect_schema(s: &Schema, sym: &mut Symbols, diags: &mut Vec<Diagnostic>) {
    // One walk of each map per entry (`entry`, not `get` then `insert`): a generated schema
    // may declare hundreds of thousands of names.
    for entry in &s.entries {
        match entry {
            SchemaEntry::Trait(t) => match sym.traits.entry(t.path.text.clone()) {
                Entry::Occupied(first) => diags.push(duplicate("trait", &t.path, first.get().1)),
                Entry::Vacant(v) => {
                    v.insert((Ty::from_type(&t.ty), t.path.span));
                }
            },
            SchemaEntry::Event(e) => match sym.events.entry(e.name.text.clone()) {
                Entry::Occupied(first) => diags.push(duplicate("event", &e.name, first.get().span)),
                Entry::Vacant(v) => {
                    let mut props = Props::default();
                    for p in &e.props {
                        let prop = (Ty::from_type(&p.ty), p.name.span);
                        if let Err(first) = props.insert_new(p.name.text.clone(), prop) {
                            diags.push(duplicate("property", &p.name, first));
                        }
                    }
                    v.insert(EventInfo {
                        props,
                        span: e.name.span,
                    });
                }
            },
        }
    }
}

fn score_info(s: &Score) -> ScoreInfo {
    let mut rules_max = Some(0.0);
    let mut rules_min = 0.0;
    for r in &s.rules {
        let p = r.points.value;
        // A capped `per` rule contributes at most its cap (at least -cap when negative).
        let (best, worst) = match &r.kind {
            RuleKind::When(_) => (p.max(0.0), p.min(0.0)),
            RuleKind::Per { cap: Some(c), .. } => {
                if p >= 0.0 {
                    (c.value, 0.0)
                } else {
                    (0.0, -c.value)
                }
            }
            RuleKind::Per { cap: None, .. } => {
                if p > 0.0 {
                    rules_max = None;
                    (0.0, 0.0)
                } else {
                    rules_min = f64::NEG_INFINITY;
                    (0.0, 0.0)
                }
            }
        };
        rules_max = rules_max.map(|m| m + best);
        rules_min += worst;
    }
    ScoreInfo {
        span: s.name.span,
        max: s.max.map(|n| n.value),
        min: s.min.map(|n| n.value),
        rules_max,
        rules_min,
        grades: s
            .grades
            .iter()
            .map(|g| (g.label.text.clone(), g.from.value))
            .collect(),
    }
}
