//! Shared fixtures: the fixture files `funnel.toml` names (`[paths] fixtures`), whose fixtures
//! every test file of the project may start from. A fixture file is `.funnel` text holding
//! only `fixture` declarations; it is parsed once, and each fixture a test file uses is
//! checked against the schema of that test file's rule file (a fixture file has no schema of
//! its own), its diagnostics in the fixture file.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::{self, Code, Diagnostic, LineIndex};
use crate::span::Span;
use crate::syntax::ast::{File, Item, Test};

use super::symbols::Symbols;

/// One fixture file: its name as shown, its text, what it declares, and what is wrong with it
/// on its own (it does not parse, it declares something other than fixtures, a name is
/// taken), sorted.
pub struct FixtureFile {
    pub name: String,
    pub source: String,
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
}

/// The project's shared fixtures, from every fixture file, by name.
#[derive(Default)]
pub struct SharedFixtures {
    pub files: Vec<FixtureFile>,
    /// Each fixture: its file (index into `files`) and the span of its `fixture` keyword.
    names: BTreeMap<String, (usize, Span)>,
}

impl SharedFixtures {
    /// Parses and checks fixture files given as (name, text), in the order given (a name
    /// declared twice is reported at its second declaration).
    pub fn new(files: Vec<(String, String)>) -> SharedFixtures {
        let mut shared = SharedFixtures::default();
        for (name, source) in files {
            let parsed = crate::syntax::parse(&source);
            let mut diags = parsed.diagnostics;
            let index = shared.files.len();
            for item in &parsed.file.items {
                let Item::Fixture(f) = item else {
                    let at = item.span();
                    diags.push(
                        Diagnostic::error(
                            Code::FixtureFile,
                            Span::new(at.start, at.start),
                            "a shared fixture file holds only fixtures",
                        )
                        .help(
                            "funnel.toml names this file in `[paths] fixtures`: move this \
                             declaration to a rule file or a test file",
                        ),
                    );
                    continue;
                };
                let at = Span::new(f.span.start, f.span.start + "fixture".len());
                match shared.names.get(&f.name) {
                    Some(&(i, first)) if i == index => diags.push(
                        Diagnostic::error(
                            Code::DuplicateName,
                            at,
                            format!("there is already a fixture named \"{}\"", f.name),
                        )
                        .label("declared again here")
                        .with(first, "first declared here")
                        .help("give each shared fixture its own name"),
                    ),
                    Some(_) => diags.push(
                        Diagnostic::error(
                            Code::DuplicateName,
                            at,
                            format!(
                                "the shared fixtures have a fixture named \"{}\" already",
                                f.name
                            ),
                        )
                        .label("declared again here")
                        .help(format!(
                            "it is declared in {} too: give each shared fixture its own name",
                            shared.place(&f.name).unwrap_or_default()
                        )),
                    ),
                    None => {
                        shared.names.insert(f.name.clone(), (index, at));
                    }
                }
            }
            diag::sort(&mut diags);
            shared.files.push(FixtureFile {
                name,
                source,
                file: parsed.file,
                diagnostics: diags,
            });
        }
        shared
    }

    /// The fixture named `name`, and the index of its file.
    pub fn get(&self, name: &str) -> Option<(&Test, usize)> {
        let (i, at) = *self.names.get(name)?;
        self.files[i].file.items.iter().find_map(|item| match item {
            Item::Fixture(t) if t.span.start == at.start => Some((t, i)),
            _ => None,
        })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }

    /// Where a shared fixture is declared: `fixtures/leads.funnel:3`.
    pub fn place(&self, name: &str) -> Option<String> {
        let (i, at) = *self.names.get(name)?;
        let f = &self.files[i];
        let line = LineIndex::new(&f.source).line_col(&f.source, at.start).0;
        Some(format!("{}:{line}", f.name))
    }

    /// Whether file `i` has no error of its own.
    pub fn file_ok(&self, i: usize) -> bool {
        !self.files[i].diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The fixture files with errors of their own, by name: a fixture in one may not have
    /// been read.
    pub fn broken(&self) -> Vec<&str> {
        (0..self.files.len())
            .filter(|i| !self.file_ok(*i))
            .map(|i| self.files[i].name.as_str())
            .collect()
    }

    /// Every parsed fixture file, for looking fixtures up as tests are built.
    pub fn parsed(&self) -> Vec<&File> {
        self.files.iter().map(|f| &f.file).collect()
    }

    /// The shared fixtures `tests` starts tests from (those it does not declare itself), by
    /// name.
    pub fn used_by(&self, tests: &File) -> BTreeSet<String> {
        let own: BTreeSet<&str> = tests
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Fixture(f) => Some(f.name.as_str()),
                _ => None,
            })
            .collect();
        tests
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Test(t) => t.base.as_ref(),
                Item::Cases(c) => c.template.base.as_ref(),
                _ => None,
            })
            .filter(|b| !own.contains(b.text.as_str()) && self.names.contains_key(&b.text))
            .map(|b| b.text.clone())
            .collect()
    }

    /// The named shared fixtures checked against a rule file's schema: their traits and
    /// events, and their diagnostics, by fixture file (index into `files`), each sorted.
    pub fn check_against(
        &self,
        names: &BTreeSet<String>,
        symbols: &Symbols,
    ) -> BTreeMap<usize, Vec<Diagnostic>> {
        let mut out: BTreeMap<usize, Vec<Diagnostic>> = BTreeMap::new();
        for name in names {
            let Some((t, i)) = self.get(name) else {
                continue;
            };
            let one = File {
                items: vec![Item::Fixture(t.clone())],
            };
            let mut diags = Vec::new();
            super::decls::check_items(&one, &self.files[i].source, symbols, &mut diags);
            out.entry(i).or_default().extend(diags);
        }
        for diags in out.values_mut() {
            diag::sort(diags);
        }
        out.retain(|_, d| !d.is_empty());
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn shared(files: &[(&str, &str)]) -> SharedFixtures {
        SharedFixtures::new(
            files
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
        )
    }

    #[test]
    fn fixtures_by_name_across_files() {
        let s = shared(&[
            (
                "a.funnel",
                "fixture \"cfo\" {\n  traits { role: \"cfo\" }\n}\n",
            ),
            (
                "b.funnel",
                "\nfixture \"ceo\" {\n  traits { role: \"ceo\" }\n}\n",
            ),
        ]);
        assert!(s.file_ok(0) && s.file_ok(1));
        assert_eq!(s.names().collect::<Vec<_>>(), ["ceo", "cfo"]);
        assert_eq!(s.get("ceo").unwrap().1, 1);
        assert_eq!(s.place("ceo").unwrap(), "b.funnel:2");
        assert!(s.get("cto").is_none());
    }

    #[test]
    fn anything_but_fixtures_and_a_name_twice_are_errors() {
        let s = shared(&[
            (
                "a.funnel",
                "fixture \"cfo\" {\n}\nstage MCL { enter when x }\n",
            ),
            (
                "b.funnel",
                "fixture \"cfo\" {\n}\nfixture \"x\" {\n}\nfixture \"x\" {\n}\n",
            ),
        ]);
        let codes = |i: usize| -> Vec<(&str, &str)> {
            s.files[i]
                .diagnostics
                .iter()
                .map(|d| (d.code.as_str(), d.message.as_str()))
                .collect()
        };
        assert_eq!(
            codes(0),
            [(
                "funnel::fixture_file",
                "a shared fixture file holds only fixtures"
            )]
        );
        assert_eq!(
            codes(1),
            [
                (
                    "funnel::duplicate_name",
                    "the shared fixtures have a fixture named \"cfo\" already"
                ),
                (
                    "funnel::duplicate_name",
                    "there is already a fixture named \"x\""
                ),
            ]
        );
        assert!(s.files[1].diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("a.funnel:1"));
        // The first of each name is the one tests get.
        assert_eq!(s.get("cfo").unwrap().1, 0);
    }

    #[test]
    fn a_file_that_does_not_parse_says_where() {
        let s = shared(&[("a.funnel", "fixture \"cfo\" {\n  traits { role: }\n}\n")]);
        assert!(!s.file_ok(0));
        let d = &s.files[0].diagnostics[0];
        let line = LineIndex::new(&s.files[0].source)
            .line_col(&s.files[0].source, d.span.start)
            .0;
        assert_eq!(line, 2);
    }
}
