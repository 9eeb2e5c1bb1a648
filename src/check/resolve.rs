//! Names resolved against the symbols: stages, traits, events and their properties, scores
//! and grades, and the bare names of conditions. An unknown name is an error with the closest
//! declared name, and is typed [`Ty::Error`] so it causes no follow-on errors.

use super::decls::{DeclChecker, Scope};
use super::symbols::*;
use crate::diag::suggest::did_you_mean;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

impl<'a> DeclChecker<'a> {
    pub(super) fn unknown_stage(&mut self, n: &Name) {
        let names = self.sym.stages.iter().map(|s| s.name.as_str());
        let help = did_you_mean(&n.text, names)
            .unwrap_or_else(|| format!("declare it with `stage {} {{ enter when ... }}`", n.text));
        self.err(
            Diagnostic::error(
                Code::UnknownStage,
                n.span,
                format!("unknown stage `{}`", n.text),
            )
            .label("no stage has this name")
            .help(help),
        );
    }

    pub(super) fn stage_ref(&mut self, n: &Name) {
        if self.sym.stage_index(&n.text).is_none() {
            self.unknown_stage(n);
        }
    }

    pub(super) fn trait_ref(&mut self, n: &Name) -> Option<Ty> {
        match self.sym.traits.get(&n.text) {
            Some((t, _)) => Some(t.clone()),
            None => {
                self.unknown_trait(n);
                None
            }
        }
    }

    pub(super) fn unknown_trait(&mut self, n: &Name) {
        let help = did_you_mean(&n.text, self.sym.traits.keys().map(String::as_str))
            .unwrap_or_else(|| format!("declare it in the schema: `trait {}: text`", n.text));
        self.err(
            Diagnostic::error(
                Code::UnknownTrait,
                n.span,
                format!("unknown trait `{}`", n.text),
            )
            .label("not declared in the schema")
            .help(help),
        );
    }

    pub(super) fn event_ref(&mut self, n: &Name) -> Option<&'a EventInfo> {
        let sym = self.sym;
        match sym.events.get(&n.text) {
            Some(e) => Some(e),
            None => {
                let help = did_you_mean(&n.text, sym.events.keys().map(String::as_str))
                    .unwrap_or_else(|| format!("declare it in the schema: `event {}`", n.text));
                self.err(
                    Diagnostic::error(
                        Code::UnknownEvent,
                        n.span,
                        format!("unknown event type `{}`", n.text),
                    )
                    .label("not declared in the schema")
                    .help(help),
                );
                None
            }
        }
    }

    pub(super) fn unknown_prop(&self, p: &Name, event: &str, ev: &EventInfo) -> Diagnostic {
        let help =
            did_you_mean(&p.text, ev.props.keys().map(String::as_str)).unwrap_or_else(|| {
                if ev.props.is_empty() {
                    format!("`{event}` has no properties; declare them in the schema")
                } else {
                    let list: Vec<&str> = ev.props.keys().map(String::as_str).collect();
                    format!("its properties are {}", list.join(", "))
                }
            });
        Diagnostic::error(
            Code::UnknownProperty,
            p.span,
            format!("event `{event}` has no property `{}`", p.text),
        )
        .label("not a property of this event")
        .help(help)
    }

    pub(super) fn score_ref(&mut self, n: &Name) -> bool {
        if self.sym.scores.contains_key(&n.text) {
            self.usage.scores.insert(n.text.clone());
            return true;
        }
        let help = did_you_mean(&n.text, self.sym.scores.keys().map(String::as_str))
            .unwrap_or_else(|| format!("declare it with `score {} {{ ... }}`", n.text));
        self.err(
            Diagnostic::error(
                Code::UnknownScore,
                n.span,
                format!("unknown score `{}`", n.text),
            )
            .label("no score model has this name")
            .help(help),
        );
        false
    }

    pub(super) fn grade_label(&mut self, score: &str, label: &Name) {
        let Some(info) = self.sym.scores.get(score) else {
            return;
        };
        if info.grades.iter().any(|(g, _)| *g == label.text) {
            return;
        }
        let labels: Vec<&str> = info.grades.iter().map(|(g, _)| g.as_str()).collect();
        let help = did_you_mean(&label.text, labels.iter().copied())
            .unwrap_or_else(|| format!("the grades of `{score}` are {}", labels.join(", ")));
        self.err(
            Diagnostic::error(
                Code::UnknownGrade,
                label.span,
                format!("score `{score}` has no grade `{}`", label.text),
            )
            .help(help),
        );
    }

    pub(super) fn name(&mut self, n: &Name, scope: Scope<'_>) -> Ty {
        let sym = self.sym;
        if let Some(ev) = scope.event.and_then(|e| sym.events.get(e)) {
            if let Some((t, _)) = ev.props.get(&n.text) {
                return t.clone();
            }
        }
        if let Some((t, _)) = sym.traits.get(&n.text) {
            return t.clone();
        }
        if sym.segments.contains_key(&n.text) {
            self.usage.segments.insert(n.text.clone());
            self.deps.push((n.text.clone(), n.span));
            return Ty::Bool;
        }
        if sym.scores.contains_key(&n.text) {
            self.usage.scores.insert(n.text.clone());
            return Ty::Decimal;
        }
        if sym.events.contains_key(&n.text) {
            return Ty::Bool;
        }
        if sym.is_trait_group(&n.text) {
            self.err(
                Diagnostic::error(
                    Code::NotAValue,
                    n.span,
                    format!("`{}` is a group of traits, not one value", n.text),
                )
                .help(format!("name one of them, e.g. `{}.…`", n.text)),
            );
            return Ty::Error;
        }
        if sym.stage_index(&n.text).is_some() {
            self.err(
                Diagnostic::error(
                    Code::NotAValue,
                    n.span,
                    format!("`{}` is a stage, not a condition", n.text),
                )
                .help(format!(
                    "to test time in a stage, write `days since entering {} >= 1`",
                    n.text
                )),
            );
            return Ty::Error;
        }
        self.unknown_name(n, scope);
        Ty::Error
    }

    /// An unknown bare name: said as an unknown event, trait or property when its shape says
    /// which was meant, with the closest declared name.
    fn unknown_name(&mut self, n: &Name, scope: Scope<'_>) {
        let sym = self.sym;
        let head = n.text.split('.').next().unwrap_or("");
        let dotted = n.text.contains('.');
        let event_like = dotted && sym.events.keys().any(|e| e.split('.').next() == Some(head));
        let trait_like = dotted && sym.is_trait_group(head);
        if let Some(ev_name) = scope.event {
            if !dotted {
                if let Some(ev) = sym.events.get(ev_name) {
                    let mut d = self.unknown_prop(n, ev_name, ev);
                    if d.help
                        .as_deref()
                        .is_some_and(|h| !h.starts_with("did you mean"))
                    {
                        if let Some(s) =
                            did_you_mean(&n.text, sym.traits.keys().map(String::as_str))
                        {
                            d = d.help(s);
                        }
                    }
                    self.err(d);
                    return;
                }
            }
        }
        if event_like && !trait_like {
            self.event_ref(n);
            return;
        }
        if trait_like {
            self.unknown_trait(n);
            return;
        }
        let all = sym
            .traits
            .keys()
            .chain(sym.segments.keys())
            .chain(sym.scores.keys())
            .chain(sym.events.keys())
            .map(String::as_str);
        let help = did_you_mean(&n.text, all).unwrap_or_else(|| {
            "declare it in the schema as a trait or an event, or as a segment".to_string()
        });
        self.err(
            Diagnostic::error(
                Code::UnknownName,
                n.span,
                format!("unknown name `{}`", n.text),
            )
            .label("not a trait, event, segment or score")
            .help(help),
        );
    }
}
