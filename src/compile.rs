//! The one front end: source text → parsed file → checked symbols and diagnostics → `Plan`.
//! Every command and every library user that needs a rule file goes through [`compile`], so
//! the file is parsed once and diagnostics are filtered the same way everywhere.

use crate::check::{self, Symbols};
use crate::diag::{self, Code, Diagnostic};
use crate::plan::Plan;
use crate::span::Span;
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

/// Whether `d` only follows from declarations that could not be parsed, and so is left out:
/// the syntax error says what to fix, and every declaration that parsed is still checked.
///
/// - a name that a broken declaration declares, reported unknown (`score fit` broken, then
///   `score fit > 5` elsewhere); with the schema broken, every trait, event and property;
/// - "no stages" when a stage is among the broken;
/// - the whole-file warnings that a missing declaration can cause: unused segments and
///   scores (the broken one may use them), stages no lead can enter.
fn knock_on(d: &Diagnostic, source: &str, broken: &[(String, String)]) -> bool {
    let text = source.get(d.span.start..d.span.end).unwrap_or("");
    let declared = |kind: &str| {
        broken.iter().any(|(k, n)| {
            (k == kind || k == "?") && (n == text || text.ends_with(&format!(" {n}")))
        })
    };
    let schema = broken.iter().any(|(k, _)| k == "schema");
    match d.code {
        Code::UnknownEvent | Code::UnknownTrait | Code::UnknownProperty => schema,
        Code::UnknownName => schema || declared("segment") || declared("score"),
        Code::UnknownStage => declared("stage"),
        Code::UnknownScore => declared("score"),
        Code::UnknownGrade => broken.iter().any(|(k, _)| k == "score"),
        Code::UnknownExit => declared("exit"),
        Code::NoStages => broken.iter().any(|(k, _)| k == "stage"),
        Code::UnusedSegment | Code::UnusedScore | Code::UnreachableStage => true,
        _ => false,
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

/// Parses and checks a rule file; [`Compiled::plan`] then plans it. `name` is how the file is
/// named in the plan (and so in explanations and rule-test output).
pub fn compile(source: &str, name: &str) -> Compiled {
    let parsed = syntax::parse(source);
    let syntax_failed = !parsed.diagnostics.is_empty();
    let checked = check::check(&parsed.file, source);
    let mut diagnostics = checked.diagnostics;
    if syntax_failed {
        diagnostics.retain(|d| !knock_on(d, source, &parsed.broken));
    }
    duplicate_meant_as_unknown(&mut diagnostics, source);
    diagnostics.extend(parsed.diagnostics);
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
