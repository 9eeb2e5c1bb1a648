//! `funnel::never_fires`: a score rule, move or exit whose condition can never be true, or a
//! move or exit that leaves only from stages no lead can reach.

use std::collections::BTreeSet;

use super::never::{never, Never};
use crate::check::symbols::*;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// Checks every score rule, move and exit; `unreachable` are the stages no lead can reach.
pub(super) fn check(
    file: &File,
    src: &str,
    sym: &Symbols,
    unreachable: &BTreeSet<&str>,
    diags: &mut Vec<Diagnostic>,
) {
    for item in &file.items {
        let Item::Score(s) = item else { continue };
        for r in &s.rules {
            if let RuleKind::When(e) = &r.kind {
                if let Some(n) = never(src, e, sym).filter(|n| !n.threshold) {
                    diags.push(never_fires(n, "this rule can never give points"));
                }
            }
        }
    }
    for item in &file.items {
        let (fires, from): (&Fires, Vec<&Name>) = match item {
            Item::Move(m) => (&m.fires, vec![&m.from]),
            Item::Exit(x) => match &x.from {
                StageSet::Stages(v) => (&x.fires, v.iter().collect()),
                StageSet::Any(_) => (&x.fires, Vec::new()),
            },
            _ => continue,
        };
        // The trigger's event and the guard must both be possible.
        if let Some(n) = fires.exprs().find_map(|e| never(src, e, sym)) {
            if !n.threshold {
                diags.push(never_fires(n, "this rule can never fire"));
            }
            continue;
        }
        if !from.is_empty() && from.iter().all(|f| unreachable.contains(&f.text.as_str())) {
            diags.push(
                Diagnostic::warning(Code::NeverFires, item.span(), "this rule can never fire")
                    .label(format!("no lead can reach `{}`", from[0].text)),
            );
        }
    }
}

fn never_fires(n: Never, msg: &str) -> Diagnostic {
    Diagnostic::warning(Code::NeverFires, n.span, msg)
        .label(n.reason)
        .help(n.help)
}
