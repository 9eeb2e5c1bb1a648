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
pub mod shared_fixtures;
pub mod symbols;
mod test_blocks;
mod test_names;
mod types;

use crate::diag::{self, Code, Diagnostic};
use crate::syntax::ast::File;
pub use shared_fixtures::SharedFixtures;
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
    let names = test_names::TestNames::collect(file, &mut diagnostics);
    diagnostics.extend(test_names::check_bases(file, &names, None, None));
    diagnostics.extend(test_names::check_test_file(file));
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

/// Checks one test on its own against a rule file's symbols (a row of a `cases` table, built
/// from text that is no file's).
pub fn check_test(test: &crate::syntax::ast::Test, symbols: &Symbols) -> Vec<Diagnostic> {
    let file = File {
        items: vec![crate::syntax::ast::Item::Test(test.clone())],
    };
    let mut diagnostics = Vec::new();
    decls::check_items(&file, "", symbols, &mut diagnostics);
    diagnostics
}

/// Checks a test file (`tests for "..."`) against the rule file it is for: its tests against
/// the rule file's schema, stages and scores, its fixtures, the rule file's and the project's
/// shared ones (`shared`; a fixture of the file itself named like a shared one, and a `from`
/// naming both one of the rule file and a shared one, are errors). Diagnostics are the test
/// file's, sorted; the shared fixtures it uses are checked by
/// [`SharedFixtures::check_against`].
pub fn check_tests(
    tests: &File,
    source: &str,
    rules: &File,
    symbols: &Symbols,
    shared: Option<&SharedFixtures>,
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    decls::check_items(tests, source, symbols, &mut diagnostics);
    let names = test_names::TestNames::collect(tests, &mut diagnostics);
    let mut ignored = Vec::new();
    let theirs = test_names::TestNames::collect(rules, &mut ignored);
    diagnostics.extend(test_names::check_bases(
        tests,
        &names,
        Some(&theirs),
        shared,
    ));
    diagnostics.extend(test_names::named_in_both(&names, &theirs));
    if let Some(shared) = shared {
        diagnostics.extend(test_names::named_like_shared(&names, shared));
    }
    diagnostics.extend(test_names::check_test_file(tests));
    diag::sort(&mut diagnostics);
    diagnostics
}
