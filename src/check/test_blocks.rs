//! `test` blocks checked against the schema: their traits and events, and the stages, exits,
//! scores and grades they expect. Running them is `funnelc test`'s job.

use super::decls::DeclChecker;
use super::symbols::*;
use super::types::lit_ty;
use crate::diag::suggest::did_you_mean;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

impl DeclChecker<'_> {
    pub(super) fn test(&mut self, t: &Test) {
        if let Some(obj) = &t.traits {
            self.trait_object(obj, "");
        }
        for e in &t.events {
            let Some(ev) = self.event_ref(&e.event) else {
                continue;
            };
            if let Some(obj) = &e.props {
                for f in &obj.fields {
                    match ev.props.get(&f.key.text) {
                        Some((ty, _)) => self.value_fits(&f.value, ty, &f.key.text),
                        None => {
                            let d = self.unknown_prop(&f.key, &e.event.text, ev);
                            self.err(d);
                        }
                    }
                }
            }
        }
        for x in &t.expects {
            match x {
                Expect::Stage { stage: n, .. } => {
                    if self.sym.stage_index(&n.text).is_none()
                        && !self.sym.exits.contains_key(&n.text)
                    {
                        self.unknown_stage(n);
                    }
                }
                Expect::Entered { stage, by, on, .. } => {
                    self.stage_ref(stage);
                    if let Some(EnteredBy::Move(Some(from))) = by {
                        self.stage_ref(from);
                    }
                    if let Some(on) = on {
                        self.event_ref(on);
                    }
                }
                Expect::NotEntered(stage, _) => self.stage_ref(stage),
                Expect::Exited { exit, on, .. } => {
                    if let Some(on) = on {
                        self.event_ref(on);
                    }
                    if !self.sym.exits.contains_key(&exit.text) {
                        let exits: Vec<&str> = self.sym.exits.keys().map(String::as_str).collect();
                        let help =
                            did_you_mean(&exit.text, exits.iter().copied()).unwrap_or_else(|| {
                                if exits.is_empty() {
                                    "declare it with `exit NAME from ... when ...`".into()
                                } else {
                                    format!("the exits are: {}", exits.join(", "))
                                }
                            });
                        self.err(
                            Diagnostic::error(
                                Code::UnknownExit,
                                exit.span,
                                format!("unknown exit `{}`", exit.text),
                            )
                            .label("no exit has this name")
                            .help(help),
                        );
                    }
                }
                Expect::Score { score, .. } => {
                    self.score_ref(score);
                }
                Expect::Grade { score, label, .. } => {
                    if self.score_ref(score) {
                        self.grade_label(&score.text, label);
                    }
                }
            }
        }
    }

    /// Checks a test's `traits { ... }` against the schema; nested objects spell dotted paths.
    fn trait_object(&mut self, obj: &Object, prefix: &str) {
        for f in &obj.fields {
            let path = if prefix.is_empty() {
                f.key.text.clone()
            } else {
                format!("{prefix}.{}", f.key.text)
            };
            match (&f.value, self.sym.traits.get(&path)) {
                (Value::Object(inner), None) if self.sym.is_trait_group(&path) => {
                    self.trait_object(inner, &path)
                }
                (v, Some((ty, _))) => self.value_fits(v, ty, &path),
                (_, None) => {
                    let name = Name {
                        text: path,
                        span: f.key.span,
                    };
                    self.unknown_trait(&name);
                }
            }
        }
    }

    fn value_fits(&mut self, v: &Value, ty: &Ty, what: &str) {
        let got = match v {
            Value::Lit(l, _) => lit_ty(l),
            Value::List(items, _) => match items.first() {
                None => Ty::EmptyList,
                Some(Value::Lit(l, _)) => Ty::List(Box::new(lit_ty(l))),
                Some(_) => Ty::Error,
            },
            Value::Object(_) => {
                self.err(Diagnostic::error(
                    Code::TypeMismatch,
                    v.span(),
                    format!("`{what}` is {}, not a group of fields", ty.describe()),
                ));
                return;
            }
        };
        let fits = match (ty, &got) {
            (Ty::Decimal, Ty::Int) => true,
            (Ty::Timestamp, Ty::Date) => true,
            (Ty::List(_), Ty::EmptyList) => true,
            (Ty::List(a), Ty::List(b)) => **a == **b || (**a == Ty::Decimal && **b == Ty::Int),
            (a, b) => a == b,
        };
        if !fits {
            let help = match (ty, &got) {
                (Ty::Int | Ty::Decimal, Ty::Text) => {
                    Some("write numbers without quotes, e.g. `250`")
                }
                (Ty::Bool, Ty::Text) => Some("write `true` or `false` without quotes"),
                (Ty::Money, Ty::Int | Ty::Decimal) => {
                    Some("write an amount with its currency, e.g. `$4,500`")
                }
                (Ty::Percent, Ty::Int | Ty::Decimal) => {
                    Some("write a percentage with `%`, e.g. `40%`")
                }
                (Ty::Text, _) => Some("write text in double quotes"),
                (Ty::List(_), _) => Some("write a list in brackets, e.g. `[\"NY\", \"NJ\"]`"),
                _ => None,
            };
            self.err(
                Diagnostic::error(
                    Code::TypeMismatch,
                    v.span(),
                    format!(
                        "`{what}` is {}, but this is {}",
                        ty.describe(),
                        got.describe()
                    ),
                )
                .label(format!("expected {}", ty.describe()))
                .maybe_help(help.map(String::from)),
            );
        }
    }
}
