//! The one front end: source text → parsed file → checked symbols and diagnostics → `Plan`.
//! Every command and every library user that needs a rule file goes through [`compile`], so
//! the file is parsed once and diagnostics are filtered the same way everywhere.

use std::collections::{HashMap, HashSet};

use crate::check::{self, Symbols};
use crate::diag::{self, Code, Diagnostic};
use crate::plan::Plan;
use crate::span::Span;
use crate::syntax::recover::{self, Broken};
use crate::syntax::{self, ast::File, scan::Comment};

/// A rule file after the front end: everything each later stage may need.
pub struct Compiled {
    /// The name diagnostics and plans carry (usually the path as given).
    pub name: String,
    /// The text that was compiled.
    pub source: String,
    /// Every declaration that could be read.
    pub file: File,
    /// Comments, for tools that keep them (the formatter re-attaches them by position).
    pub comments: Vec<Comment>,
    pub symbols: Symbols,
    /// Syntax errors, check errors and warnings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The executable plan, when there are no errors and the planner accepts the file. With
    /// no errors and no plan, the checker let through a construct the planner refuses: a bug
    /// of funnelc, not of the file.
    ///
    /// Made on demand, not by [`compile`]: `funnelc check` needs none, and on a 10 MB rule
    /// file planning would cost it about half a second and twice the memory.
    pub fn plan(&self) -> Option<Plan> {
        if self.has_errors() {
            return None;
        }
        crate::plan::compile(&self.file, &self.symbols, &self.source, &self.name)
    }
}

/// The name a diagnostic about a name is about: its span's text, without the quotes of a
/// fixture's name or the `score` of `score fit`.
fn subject<'s>(d: &Diagnostic, source: &'s str) -> &'s str {
    let text = source.get(d.span.start..d.span.end).unwrap_or("");
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted,
        None => text.split_whitespace().last().unwrap_or(""),
    }
}

/// What the broken declarations declare, indexed to tell a knock-on diagnostic from any
/// other (see [`KnockOn::is_knock_on`]).
struct KnockOn<'a> {
    source: &'a str,
    broken: &'a [Broken],
    /// Each declared name and the kinds it is declared as; a trait group (`company` of
    /// `company.size`) as a trait.
    names: HashMap<&'a str, Vec<recover::Kind>>,
    test_file: bool,
    may_be_stage: bool,
    /// Every word of the broken text, read when first needed.
    mentioned: std::cell::OnceCell<HashSet<&'a str>>,
}

impl<'a> KnockOn<'a> {
    fn new(source: &'a str, broken: &'a [Broken]) -> Self {
        use recover::Kind as K;
        let mut names: HashMap<&str, Vec<K>> = HashMap::new();
        let (mut test_file, mut may_be_stage) = (false, false);
        for x in broken.iter().flat_map(|b| &b.declares) {
            test_file |= x.kind == K::TestsFor;
            may_be_stage |= matches!(x.kind, K::Stage | K::Unknown);
            let Some(name) = x.name.as_deref() else {
                continue;
            };
            names.entry(name).or_default().push(x.kind);
            if matches!(x.kind, K::Trait | K::SchemaEntry) {
                for (dot, _) in name.match_indices('.') {
                    names.entry(&name[..dot]).or_default().push(K::Trait);
                }
            }
        }
        KnockOn {
            source,
            broken,
            names,
            test_file,
            may_be_stage,
            mentioned: std::cell::OnceCell::new(),
        }
    }

    /// Whether `d` only follows from declarations that could not be parsed, and so is left
    /// out: the syntax error says what to fix, and every declaration that parsed is still
    /// checked.
    ///
    /// - a name reported unknown that a broken declaration declares, of that kind, wherever
    ///   the broken text names it (`recover::declared`); a name declared nowhere is still
    ///   reported;
    /// - with `tests for` broken, every unknown name: the names are the rule file's;
    /// - "no stages" when a broken declaration may be a stage;
    /// - a segment or score reported unused that a broken declaration names: it may use it.
    fn is_knock_on(&self, d: &Diagnostic) -> bool {
        use recover::Kind as K;
        let name = subject(d, self.source);
        let declares = |kinds: &[K]| {
            self.names
                .get(name)
                .is_some_and(|ks| ks.iter().any(|k| *k == K::Unknown || kinds.contains(k)))
        };
        match d.code {
            Code::UnknownTrait
            | Code::UnknownEvent
            | Code::UnknownProperty
            | Code::UnknownName
            | Code::UnknownStage
            | Code::UnknownScore
            | Code::UnknownGrade
            | Code::UnknownExit
            | Code::UnknownFixture
            | Code::NoStages
                if self.test_file =>
            {
                true
            }
            Code::UnknownTrait => declares(&[K::Trait, K::SchemaEntry]),
            Code::UnknownEvent => declares(&[K::Event, K::SchemaEntry]),
            Code::UnknownProperty => declares(&[K::Property, K::SchemaEntry]),
            Code::UnknownName => declares(&[
                K::Trait,
                K::Event,
                K::Property,
                K::SchemaEntry,
                K::Segment,
                K::Score,
            ]),
            Code::UnknownStage => declares(&[K::Stage]),
            Code::UnknownScore => declares(&[K::Score]),
            Code::UnknownGrade => declares(&[K::Grade]),
            Code::UnknownExit => declares(&[K::Exit]),
            Code::UnknownFixture => declares(&[K::Fixture]),
            Code::NoStages => self.may_be_stage,
            Code::UnusedSegment | Code::UnusedScore => self
                .mentioned
                .get_or_init(|| {
                    self.broken
                        .iter()
                        .filter_map(|b| self.source.get(b.span.start..b.span.end))
                        .flat_map(recover::names_in)
                        .collect()
                })
                .contains(name),
            _ => false,
        }
    }
}

/// A broken declaration without its name (`stage { ... }`) and one name of its kind used but
/// declared nowhere: that is most likely its name. The "unknown" errors are knock-on errors
/// of the missing name, and are left out; the syntax error says which name to write. With
/// two or more such names, which one was meant is a guess, and each is still reported.
fn missing_name_meant_as_unknown(
    diagnostics: &mut Vec<Diagnostic>,
    syntax: &mut [Diagnostic],
    source: &str,
    broken: &[Broken],
) {
    use recover::Kind as K;
    for b in broken {
        for x in b.declares.iter().filter(|x| x.name.is_none()) {
            let (keyword, codes): (&str, &[Code]) = match x.kind {
                K::Stage => ("stage", &[Code::UnknownStage]),
                K::Segment => ("segment", &[Code::UnknownName]),
                K::Score => ("score", &[Code::UnknownScore, Code::UnknownName]),
                K::Exit => ("exit", &[Code::UnknownExit]),
                K::Fixture => ("fixture", &[Code::UnknownFixture]),
                _ => continue,
            };
            let meant = |d: &Diagnostic| {
                codes.contains(&d.code)
                    && (d.code != Code::UnknownName || !subject(d, source).contains('.'))
            };
            let mut names: Vec<&str> = diagnostics
                .iter()
                .filter(|d| meant(d))
                .map(|d| subject(d, source))
                .collect();
            names.sort_unstable();
            names.dedup();
            let [missing] = names.as_slice() else {
                continue;
            };
            let spelt = if x.kind == K::Fixture {
                format!("{keyword} \"{missing}\"")
            } else {
                format!("{keyword} {missing}")
            };
            let note = format!(
                "`{missing}` is used but declared nowhere: if this is it, write `{spelt}` here"
            );
            if let Some(e) = syntax
                .iter_mut()
                .find(|e| b.span.start <= e.span.start && e.span.start <= b.span.end)
            {
                // Said instead of the help that asks for some name.
                e.help = Some(match e.help.take() {
                    Some(h) if !e.message.starts_with("expected a name") => format!("{h}; {note}"),
                    _ => note,
                });
                diagnostics.retain(|d| !meant(d));
            }
        }
    }
}

/// A stage declared twice and one stage name used but never declared: the second
/// declaration was most likely meant to be that stage (copied, not renamed). The "unknown
/// stage" errors are knock-on errors of the duplicate, and are left out; the duplicate says
/// what to type.
fn duplicate_meant_as_unknown(diagnostics: &mut Vec<Diagnostic>, source: &str) {
    let text = |d: &Diagnostic| {
        source
            .get(d.span.start..d.span.end)
            .unwrap_or("")
            .to_string()
    };
    let is_dup_stage =
        |d: &Diagnostic| d.code == Code::DuplicateName && d.message.starts_with("stage ");
    let mut unknown: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownStage)
        .map(text)
        .collect();
    unknown.sort();
    unknown.dedup();
    let [missing] = unknown.as_slice() else {
        return;
    };
    if diagnostics.iter().filter(|d| is_dup_stage(d)).count() != 1 {
        return;
    }
    let missing = missing.clone();
    for d in diagnostics.iter_mut().filter(|d| is_dup_stage(d)) {
        d.help = Some(format!(
            "stage `{missing}` is used but never declared: if this one is `{missing}`, write \
             `stage {missing}` here; else rename one of them or merge the two"
        ));
    }
    diagnostics.retain(|d| d.code != Code::UnknownStage);
}

/// `// allow(funnel::CODE): reason` comments: each silences the warnings with that code whose
/// span starts on its line (a comment at the end of a line) or on the next line (a comment on
/// a line of its own). One that is malformed, names no known warning, gives no reason or
/// silences nothing is itself a `funnel::bad_allow` warning, and silences nothing.
fn apply_allows(diagnostics: &mut Vec<Diagnostic>, comments: &[Comment], source: &str) {
    let index = diag::LineIndex::new(source);
    let mut allows: Vec<(usize, Code, Span, bool)> = Vec::new();
    let mut bad = Vec::new();
    for c in comments {
        let Some(body) = c.text.strip_prefix("//").map(str::trim) else {
            continue;
        };
        let Some(rest) = body.strip_prefix("allow(") else {
            continue;
        };
        let fail = |msg: String, help: &str| {
            Diagnostic::warning(Code::BadAllow, c.span, msg)
                .label("this allow silences nothing")
                .help(help.to_string())
        };
        let Some((name, after)) = rest.split_once(')') else {
            bad.push(fail("an allow without its closing `)`".into(), FORM));
            continue;
        };
        let name = name.trim();
        let code = match Code::from_name(name) {
            Some(code) if code.severity() == diag::Severity::Warning => code,
            Some(code) => {
                bad.push(fail(
                    format!("`{code}` is an error, and only warnings can be allowed"),
                    "fix the error instead",
                ));
                continue;
            }
            None => {
                let help = diag::suggest::closest(
                    name.rsplit(':').next().unwrap_or(name),
                    Code::ALL.iter().map(|c| c.short_name()),
                )
                .map_or_else(
                    || "`funnelc check --explain` lists every code".to_string(),
                    |c| format!("did you mean `funnel::{c}`?"),
                );
                bad.push(fail(format!("no diagnostic code `{name}`"), &help));
                continue;
            }
        };
        let reason = after.trim_start().strip_prefix(':').map(str::trim);
        if reason.is_none_or(str::is_empty) {
            bad.push(fail(
                format!("the allow of `{code}` gives no reason"),
                "say why after a colon: `// allow(funnel::unused_score): kept for the Q3 review`",
            ));
            continue;
        }
        // A comment alone on its line speaks of the next line.
        let line = index.line(c.span.start) + usize::from(!c.trailing);
        allows.push((line, code, c.span, false));
    }
    diagnostics.retain(|d| {
        if d.is_error() {
            return true;
        }
        let line = index.line(d.span.start);
        match allows
            .iter_mut()
            .find(|(l, code, _, _)| *l == line && *code == d.code)
        {
            Some(a) => {
                a.3 = true;
                false
            }
            None => true,
        }
    });
    for (_, code, span, used) in allows {
        if !used {
            bad.push(
                Diagnostic::warning(
                    Code::BadAllow,
                    span,
                    format!("nothing here is warned of with `{code}`"),
                )
                .label("this allow silences nothing")
                .help("remove it: the warning it was for is gone, or is on another line"),
            );
        }
    }
    diagnostics.extend(bad);
    diag::sort(diagnostics);
}

/// How an allow is written, for the help of a malformed one.
const FORM: &str = "write `// allow(funnel::CODE): reason`";

/// Leaves out of `diagnostics` (the checker's) the knock-on errors of the declarations that
/// did not parse, and says in `syntax` (their errors) the name a nameless one most likely has.
fn leave_out_knock_on(
    diagnostics: &mut Vec<Diagnostic>,
    syntax: &mut [Diagnostic],
    broken: &[Broken],
    source: &str,
) {
    if broken.is_empty() {
        return;
    }
    let knock_on = KnockOn::new(source, broken);
    diagnostics.retain(|d| !knock_on.is_knock_on(d));
    missing_name_meant_as_unknown(diagnostics, syntax, source, broken);
}

/// The diagnostics of a test file (`tests for "..."`), `parsed` from `source`, checked
/// against the rule file it is for: its syntax errors, and the checker's but the knock-on
/// errors of its broken declarations. `shared`: the project's shared fixtures, which its
/// tests may start from. Sorted.
pub fn check_test_file(
    parsed: &syntax::Parsed,
    source: &str,
    rules: &Compiled,
    shared: Option<&check::SharedFixtures>,
) -> Vec<Diagnostic> {
    let mut diagnostics =
        check::check_tests(&parsed.file, source, &rules.file, &rules.symbols, shared);
    let mut syntax = parsed.diagnostics.clone();
    leave_out_knock_on(&mut diagnostics, &mut syntax, &parsed.broken, source);
    diagnostics.append(&mut syntax);
    diag::sort(&mut diagnostics);
    diagnostics
}

/// Parses and checks a rule file; [`Compiled::plan`] then plans it. `name` is how the file is
/// named in the plan (and so in explanations and rule-test output).
pub fn compile(source: &str, name: &str) -> Compiled {
    let mut parsed = syntax::parse(source);
    let checked = check::check(&parsed.file, source);
    let mut diagnostics = checked.diagnostics;
    leave_out_knock_on(
        &mut diagnostics,
        &mut parsed.diagnostics,
        &parsed.broken,
        source,
    );
    duplicate_meant_as_unknown(&mut diagnostics, source);
    diagnostics.append(&mut parsed.diagnostics);
    apply_allows(&mut diagnostics, &parsed.comments, source);
    diag::sort(&mut diagnostics);
    Compiled {
        name: name.to_string(),
        source: source.to_string(),
        file: parsed.file,
        comments: parsed.comments,
        symbols: checked.symbols,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_clean_file_has_a_plan_named_as_given() {
        let c = compile(
            "schema { event form.submitted }\nstage MCL { enter when form.submitted }\n",
            "x.funnel",
        );
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
        let plan = c.plan().unwrap();
        assert_eq!(plan.file, "x.funnel");
        assert_eq!(plan.stages.len(), 1);
    }

    #[test]
    fn errors_mean_no_plan() {
        let c = compile("stage MCL { enter when nothing.here }\n", "x.funnel");
        assert!(c.has_errors());
        assert!(c.plan().is_none());
    }

    fn messages(src: &str) -> Vec<String> {
        compile(src, "x.funnel")
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    const SCHEMA: &str = "schema { event a }\n";

    #[test]
    fn a_name_the_broken_text_declares_is_not_unknown_one_declared_nowhere_is() {
        let src = format!(
            "{SCHEMA}stage // the broken one\n  SQL {{ enter when ( }}\n\
             kpi velocity SQL -> SQX {{ target at most 7d }}\nstage A {{ enter when a }}\n"
        );
        assert_eq!(
            messages(&src),
            ["this `(` is never closed", "unknown stage `SQX`"]
        );
    }

    #[test]
    fn a_nameless_declaration_takes_the_one_unknown_name_of_its_kind() {
        let one = format!(
            "{SCHEMA}stage {{ enter when a }}\nstage B {{ enter when a }}\n\
             kpi velocity SQL -> B {{ target at most 7d }}\nmove B -> SQL on a\n"
        );
        let c = compile(&one, "x.funnel");
        assert_eq!(c.diagnostics.len(), 1, "{:?}", c.diagnostics);
        let help = c.diagnostics[0].help.as_deref().unwrap();
        assert!(help.contains("write `stage SQL` here"), "{help}");
        // Two names: which one was meant is a guess, and both are reported.
        let two = one.replace("move B -> SQL", "move B -> SQO");
        let got = messages(&two);
        assert!(got.contains(&"unknown stage `SQL`".to_string()), "{got:?}");
        assert!(got.contains(&"unknown stage `SQO`".to_string()), "{got:?}");
    }

    #[test]
    fn unused_is_left_out_only_for_names_the_broken_text_uses() {
        let src = format!(
            "{SCHEMA}segment used = a\nsegment idle = a\n\
             stage A {{ enter when a }}\nstage B {{ enter when used and (a }}\n"
        );
        assert_eq!(
            messages(&src),
            ["segment `idle` is never used", "this `(` is never closed"]
        );
    }

    #[test]
    fn a_broken_tests_for_makes_no_name_unknown() {
        let src = "tests fr \"rules.funnel\"\ntest \"t\" {\n  expect stage SQL\n}\n";
        assert_eq!(messages(src), ["expected `for`, found `fr`"]);
    }

    #[test]
    fn a_syntax_error_keeps_the_rest_and_drops_noise() {
        let c = compile(
            "schema { event a }\nstage A { enter when a }\nstage B { enter when ( }\n",
            "x.funnel",
        );
        assert!(c.has_errors());
        assert!(c.plan().is_none());
        // The broken stage is missing from the tree, the good one is there.
        assert_eq!(c.symbols.stages.len(), 1);
        assert!(c.diagnostics.iter().all(Diagnostic::is_error));
    }
}
