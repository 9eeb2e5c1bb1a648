//! The names of tests and fixtures across a rule file and its test files: each test (or table
//! of cases) named once, each fixture a test starts from declared, and a test file holding
//! nothing but tests.

use std::collections::BTreeMap;

use crate::diag::suggest::did_you_mean;
use crate::diag::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::*;

use super::shared_fixtures::SharedFixtures;

/// The tests and fixtures declared in one file, by name, first declaration first.
#[derive(Default)]
pub struct TestNames {
    pub tests: BTreeMap<String, Span>,
    pub fixtures: BTreeMap<String, Span>,
    pub snapshots: BTreeMap<String, Span>,
}

impl TestNames {
    /// Collects the names of `file`, reporting the second declaration of a name.
    pub fn collect(file: &File, diags: &mut Vec<Diagnostic>) -> TestNames {
        let mut names = TestNames::default();
        for item in &file.items {
            let (map, kind, name, span) = match item {
                Item::Test(t) => (&mut names.tests, "test", &t.name, t.span),
                Item::Cases(c) => (&mut names.tests, "test", &c.template.name, c.span),
                Item::Fixture(f) => (&mut names.fixtures, "fixture", &f.name, f.span),
                Item::Snapshot(s) => (&mut names.snapshots, "snapshot", &s.name, s.span),
                _ => continue,
            };
            // The keyword that starts the declaration: the name has no span of its own.
            let keyword = match item {
                Item::Cases(_) => "cases",
                _ => kind,
            };
            let at = Span::new(span.start, span.start + keyword.len());
            if let Some(first) = map.get(name) {
                diags.push(named_twice(kind, name, at, *first));
            } else {
                map.insert(name.clone(), at);
            }
        }
        names
    }
}

fn named_twice(kind: &str, name: &str, at: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateName,
        at,
        format!("there is already a {kind} named \"{name}\""),
    )
    .label("declared again here")
    .with(first, "first declared here")
    .help(format!(
        "give each {kind} its own name: results and filters find a {kind} by its name"
    ))
}

/// A test, fixture or snapshot of a test file named like one of its rule file: results,
/// filters and `from` would not know which is meant.
pub fn named_in_both(own: &TestNames, rules: &TestNames) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (kind, mine, theirs) in [
        ("test", &own.tests, &rules.tests),
        ("fixture", &own.fixtures, &rules.fixtures),
        ("snapshot", &own.snapshots, &rules.snapshots),
    ] {
        for (name, at) in mine {
            if theirs.contains_key(name) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateName,
                        *at,
                        format!("the rule file has a {kind} named \"{name}\" already"),
                    )
                    .label("declared again here")
                    .help(format!("give each {kind} its own name")),
                );
            }
        }
    }
    diags
}

/// A fixture of a test file named like one of the project's shared fixtures: `from` would not
/// say which is meant, and a shared fixture added later would change the test unseen.
pub fn named_like_shared(own: &TestNames, shared: &SharedFixtures) -> Vec<Diagnostic> {
    own.fixtures
        .iter()
        .filter_map(|(name, at)| {
            let place = shared.place(name)?;
            Some(
                Diagnostic::error(
                    Code::DuplicateName,
                    *at,
                    format!(
                        "the project's shared fixtures have a fixture named \"{name}\" already"
                    ),
                )
                .label("declared again here")
                .help(format!(
                    "it is declared in {place}: rename this one, or start from the shared one"
                )),
            )
        })
        .collect()
}

/// Each test's `from "fixture"` names a fixture of its own file, of `also` (the rule file, for
/// a test file) or, for a test file, of the project's shared fixtures; a name both the rule
/// file and the shared fixtures declare is ambiguous.
pub fn check_bases(
    file: &File,
    own: &TestNames,
    also: Option<&TestNames>,
    shared: Option<&SharedFixtures>,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for item in &file.items {
        let base = match item {
            Item::Test(t) => t.base.as_ref(),
            Item::Cases(c) => c.template.base.as_ref(),
            _ => None,
        };
        let Some(base) = base else { continue };
        let known = |n: &TestNames| n.fixtures.contains_key(&base.text);
        let in_shared = shared.and_then(|s| s.place(&base.text));
        if known(own) {
            continue;
        }
        if also.is_some_and(known) {
            if let Some(place) = in_shared {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateName,
                        base.span,
                        format!(
                            "two fixtures are named \"{}\": the rule file's and a shared one",
                            base.text
                        ),
                    )
                    .label("the test starts from this fixture")
                    .help(format!(
                        "the shared one is declared in {place}: rename one of them"
                    )),
                );
            }
            continue;
        }
        if in_shared.is_some() {
            continue;
        }
        let all = own
            .fixtures
            .keys()
            .chain(also.into_iter().flat_map(|a| a.fixtures.keys()))
            .map(String::as_str)
            .chain(shared.into_iter().flat_map(SharedFixtures::names));
        let broken = shared.map(SharedFixtures::broken).unwrap_or_default();
        let help = did_you_mean(&base.text, all).unwrap_or_else(|| match broken.first() {
            // The fixture may be in a file that could not be read whole.
            Some(file) => format!(
                "the shared fixture file `{file}` does not check, so not all its fixtures are \
                 known: mend it first"
            ),
            None => format!(
                "declare it with `fixture \"{}\" {{ traits {{ ... }} events {{ ... }} }}`",
                base.text
            ),
        });
        diags.push(
            Diagnostic::error(
                Code::UnknownFixture,
                base.span,
                format!("no fixture is named \"{}\"", base.text),
            )
            .label("the test starts from this fixture")
            .help(help),
        );
    }
    diags
}

/// In a file that starts `tests for "..."`: every declaration but tests, fixtures and cases is
/// an error (the rules live in the rule file), as is a second `tests for`.
pub fn check_test_file(file: &File) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let Some(first) = file.tests_for().map(|t| t.span) else {
        return diags;
    };
    for item in &file.items {
        match item {
            Item::Test(_) | Item::Fixture(_) | Item::Cases(_) | Item::Snapshot(_) => {}
            Item::TestsFor(t) if t.span == first => {}
            Item::TestsFor(t) => diags.push(
                Diagnostic::error(
                    Code::TestFile,
                    t.span,
                    "a test file names its rule file once",
                )
                .with(first, "first named here"),
            ),
            other => {
                let at = other.span();
                diags.push(
                    Diagnostic::error(
                        Code::TestFile,
                        Span::new(at.start, at.start),
                        "a test file holds only tests, fixtures, cases and snapshots",
                    )
                    .with(first, "this makes the file a test file")
                    .help("move this declaration to the rule file the tests are for"),
                );
            }
        }
    }
    diags
}
