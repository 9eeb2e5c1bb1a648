//! `funnel::ambiguous_priority`: two exits, or two moves, that can fire from one stage at the
//! same moment with nothing to say which wins.

use crate::diag::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::*;

/// Two rules leaving the same stage, of the same kind (exits run before moves), that could
/// fire at the same moment with nothing to say which wins.
pub(super) fn check<'a>(file: &'a File, diags: &mut Vec<Diagnostic>) {
    struct Leave<'a> {
        exit: bool,
        from: Option<Vec<&'a str>>,
        priority: Option<u32>,
        /// The event type of an `on` trigger: a look replays one event, so two triggers on
        /// different types never fire at the same moment.
        on: Option<&'a str>,
        span: Span,
        what: String,
    }
    let on = |f: &'a Fires| match f {
        Fires::On { event, .. } => match &event.kind {
            ExprKind::Event(q) => Some(q.event.text.as_str()),
            _ => None,
        },
        Fires::When(_) => None,
    };
    let mut leaves = Vec::new();
    for item in &file.items {
        match item {
            Item::Move(m) => leaves.push(Leave {
                exit: false,
                from: Some(vec![m.from.text.as_str()]),
                priority: m.priority.map(|p| p.value),
                on: on(&m.fires),
                span: m.span,
                what: format!("move {} -> {}", m.from.text, m.to.text),
            }),
            Item::Exit(x) => leaves.push(Leave {
                exit: true,
                from: match &x.from {
                    StageSet::Any(_) => None,
                    StageSet::Stages(v) => Some(v.iter().map(|n| n.text.as_str()).collect()),
                },
                priority: x.priority.map(|p| p.value),
                on: on(&x.fires),
                span: x.span,
                what: format!("exit {}", x.name.text),
            }),
            _ => {}
        }
    }
    for (i, a) in leaves.iter().enumerate() {
        for b in leaves.iter().skip(i + 1) {
            if a.exit != b.exit || matches!((a.on, b.on), (Some(x), Some(y)) if x != y) {
                continue;
            }
            let shared: Option<String> = match (&a.from, &b.from) {
                (None, None) => Some("any stage".into()),
                (None, Some(v)) | (Some(v), None) => v.first().map(|s| format!("`{s}`")),
                (Some(x), Some(y)) => x.iter().find(|s| y.contains(s)).map(|s| format!("`{s}`")),
            };
            let Some(shared) = shared else { continue };
            let ordered = matches!((a.priority, b.priority), (Some(p), Some(q)) if p != q);
            if ordered {
                continue;
            }
            diags.push(
                Diagnostic::warning(
                    Code::AmbiguousPriority,
                    b.span,
                    format!("`{}` and `{}` can both fire from {shared} at the same moment", a.what, b.what),
                )
                .with(a.span, "this rule too")
                .help("give them different priorities (`priority 1` runs first), or make their conditions exclude each other"),
            );
        }
    }
}
