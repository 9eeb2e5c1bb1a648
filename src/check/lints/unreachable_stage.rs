//! `funnel::unreachable_stage`: a stage no lead can enter, because its entry condition can
//! never be true or an earlier stage's cannot (leads pass through the stages in order).

use std::collections::BTreeSet;

use super::never::never;
use crate::check::symbols::*;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// Reports the stages no lead can reach, and returns their names.
pub(super) fn check<'a>(
    file: &'a File,
    src: &str,
    sym: &Symbols,
    diags: &mut Vec<Diagnostic>,
) -> BTreeSet<&'a str> {
    let mut blocked: Option<&Name> = None;
    let mut unreachable: BTreeSet<&str> = BTreeSet::new();
    for item in &file.items {
        let Item::Stage(s) = item else { continue };
        if let Some(b) = blocked {
            unreachable.insert(&s.name.text);
            diags.push(
                Diagnostic::warning(
                    Code::UnreachableStage,
                    s.name.span,
                    format!("no lead can reach stage `{}`", s.name.text),
                )
                .label("unreachable")
                .with(b.span, "no lead can enter this earlier stage")
                .help(format!(
                    "every lead passes `{}` first; fix its entry condition",
                    b.text
                )),
            );
            continue;
        }
        if let Some(n) = s.enter.first().and_then(|e| never(src, e, sym)) {
            blocked = Some(&s.name);
            unreachable.insert(&s.name.text);
            // A score threshold has its own warning, `unreachable_threshold`.
            if !n.threshold {
                diags.push(
                    Diagnostic::warning(
                        Code::UnreachableStage,
                        n.span,
                        format!("no lead can reach stage `{}`", s.name.text),
                    )
                    .label(n.reason)
                    .help(n.help),
                );
            }
        }
    }
    unreachable
}
