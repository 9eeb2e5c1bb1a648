//! The checker: names resolved against the schema, types checked, and the lints that find
//! rules which can never fire. It never stops at the first error: every declaration is checked,
//! and a name or type already reported is typed [`Ty::Error`] so it causes no follow-on errors.

mod collect;
mod costs;
mod cycles;
mod decls;
mod lints;
pub mod pattern;
mod resolve;
pub mod symbols;
mod test_blocks;
mod types;

use crate::diag::{self, Code, Diagnostic};
use crate::syntax::ast::File;
pub use symbols::{Symbols, Ty};

/// A checked rule file: its symbols and every diagnostic, sorted by position.
pub struct Checked {
    pub symbols: Symbols,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks a parsed file.
pub fn check(file: &File, source: &str) -> Checked {
    let mut diagnostics = Vec::new();
    let symbols = collect::collect(file, &mut diagnostics);
    let ((usage, typed), linted) = rayon::join(
        || {
            let mut d = Vec::new();
            (decls::check_items(file, source, &symbols, &mut d), d)
        },
        || lints::run(file, source, &symbols),
    );
    diagnostics.extend(typed);
    diagnostics.extend(linted);
    diagnostics.extend(costs::check(file));
    lints::run_unused(file, &symbols, &usage, &mut diagnostics);
    if symbols.stages.is_empty() {
        let what = if source.trim().is_empty() {
            "the file is empty"
        } else {
            "the file declares no stages"
        };
        diagnostics.push(
            Diagnostic::error(Code::NoStages, crate::span::Span::new(0, 0), what).help(
                "a funnel needs at least one stage, e.g. `stage MCL { enter when form.submitted }`",
            ),
        );
    }
    diag::sort(&mut diagnostics);
    Checked {
        symbols,
        diagnostics,
    }
}
