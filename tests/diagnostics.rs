//! The corpus of rule-file mistakes a marketing-ops person really makes: one fixture per
//! mistake in `tests/fixtures/check/`, each snapshotted with its source and the diagnostics
//! `funnelc check` shows for it.
//!
//! A fixture's first line is a `// ` comment saying, in the user's words, what mistake it
//! shows; a fixture whose first comment line contains the word `clean` is a correct file that
//! must check without any diagnostic.

use std::path::{Path, PathBuf};

use funnelc::diag::{render_human, summary_line, Code, Diagnostic};
use funnelc::span::Span;

/// Reads a fixture as text. Fixtures are kept UTF-8; a stray invalid byte is shown, not fatal.
fn read_fixture(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Makes carriage returns and NUL bytes visible so snapshots stay plain text.
fn visible(text: &str) -> String {
    text.replace('\r', "␍").replace('\0', "␀")
}

fn assert_span_sane(fixture: &str, source: &str, diag: &Diagnostic, span: Span, what: &str) {
    let Span { start, end } = span;
    assert!(
        start <= end && end <= source.len(),
        "{fixture}: {what} span {start}..{end} of `{}` is outside the source ({} bytes)",
        diag.code,
        source.len()
    );
    assert!(
        source.is_char_boundary(start) && source.is_char_boundary(end),
        "{fixture}: {what} span {start}..{end} of `{}` splits a character",
        diag.code
    );
}

#[test]
fn check() {
    insta::glob!("fixtures/check/*.funnel", |path| {
        let name = file_name(path);
        let source = read_fixture(path);
        let diags = funnelc::compile(&source, "fixture.funnel").diagnostics;
        for d in &diags {
            assert_span_sane(&name, &source, d, d.span, "primary");
            for (span, _) in &d.secondary {
                assert_span_sane(&name, &source, d, *span, "secondary");
            }
        }
        let rendered = render_human(&diags, &name, &source, false);
        let text = format!(
            "----- SOURCE\n{}\n----- DIAGNOSTICS\n{}{}\n",
            visible(&source),
            visible(&rendered),
            summary_line(&name, &diags)
        );
        insta::assert_snapshot!(text);
    });
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "funnel"))
        .collect();
    paths.sort();
    paths
}

/// Whether the fixture's first line is a comment containing the word `clean`.
fn expected_clean(source: &str) -> bool {
    let first = source.lines().next().unwrap_or("");
    first.trim_start().starts_with("//")
        && first
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word.eq_ignore_ascii_case("clean"))
}

/// Guards against blindly accepted snapshots: a mistake fixture that stops being detected, or a
/// clean one that starts being flagged, fails here whatever its snapshot says.
#[test]
fn clean_fixtures_pass_and_every_mistake_is_caught() {
    let paths = fixtures();
    assert!(
        paths.len() >= 45,
        "only {} fixtures in tests/fixtures/check",
        paths.len()
    );
    let mut wrong = Vec::new();
    for path in &paths {
        let name = file_name(path);
        let bytes = std::fs::read(path).unwrap();
        let Ok(source) = String::from_utf8(bytes) else {
            wrong.push(format!("{name}: fixtures must be UTF-8"));
            continue;
        };
        let diags = funnelc::compile(&source, "fixture.funnel").diagnostics;
        let clean = expected_clean(&source);
        if clean && !diags.is_empty() {
            wrong.push(format!(
                "{name}: expected no diagnostics, got {}",
                summary_line(&name, &diags)
            ));
        } else if !clean && diags.is_empty() {
            wrong.push(format!(
                "{name}: the mistake it shows is no longer reported"
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// Every code's example in `funnelc check --explain` is real: the mistake is reported with that
/// code, and the fix checks without a single diagnostic.
#[test]
fn every_code_example_shows_its_mistake_and_its_fix() {
    let mut wrong = Vec::new();
    for &code in Code::ALL {
        // A shared fixture file's examples are fixture files, read as `funnel.toml` names one.
        if code == Code::FixtureFile {
            let shared = |text: &str| {
                funnelc::check::SharedFixtures::new(vec![("f.funnel".into(), text.into())])
                    .files
                    .remove(0)
                    .diagnostics
            };
            let fixed = shared(code.fix());
            if !fixed.is_empty() {
                wrong.push(format!(
                    "{code}: the fix is not clean:\n{}",
                    render_human(&fixed, "fix", code.fix(), false)
                ));
            }
            if !shared(code.mistake()).iter().any(|d| d.code == code) {
                wrong.push(format!("{code}: the mistake is not reported as such"));
            }
            continue;
        }
        let fixed = funnelc::compile(code.fix(), "fix.funnel").diagnostics;
        if !fixed.is_empty() {
            wrong.push(format!(
                "{code}: the fix is not clean:\n{}",
                render_human(&fixed, "fix", code.fix(), false)
            ));
        }
        // Three mistakes cannot be shown as they are: bytes that are not UTF-8, and
        // conditions too long to print. `limits_the_explanations_state` covers the last two.
        if matches!(code, Code::NotUtf8 | Code::TooDeep | Code::TooComplex) {
            continue;
        }
        let found = funnelc::compile(code.mistake(), "mistake.funnel").diagnostics;
        if !found.iter().any(|d| d.code == code) {
            wrong.push(format!(
                "{code}: the mistake is not reported as such:\n{}",
                render_human(&found, "mistake", code.mistake(), false)
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// The limits `funnel::too_deep` and `funnel::too_complex` explain: 64 brackets deep (the
/// stage's braces count), 256 operators in one condition (`and` and `or` too, through
/// brackets).
#[test]
fn limits_the_explanations_state() {
    let codes = |src: &str| -> Vec<Code> {
        funnelc::compile(src, "limit.funnel")
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect()
    };
    let nested = |depth: usize| {
        format!(
            "schema {{ event form.submitted }}\nstage MCL {{ enter when {}form.submitted{} }}\n",
            "(".repeat(depth),
            ")".repeat(depth)
        )
    };
    assert_eq!(codes(&nested(63)), vec![]);
    assert_eq!(codes(&nested(64)), vec![Code::TooDeep]);
    let summed = |terms: usize| {
        let sum = vec!["count email.opened"; terms].join(" + ");
        format!("schema {{ event email.opened }}\nstage MEL {{ enter when {sum} >= 100 }}\n")
    };
    // n terms: n - 1 `+` and one `>=`.
    assert_eq!(codes(&summed(256)), vec![]);
    assert_eq!(codes(&summed(257)), vec![Code::TooComplex]);
    let chained = |terms: usize| {
        let chain = vec!["(email.opened)"; terms].join(" and ");
        format!("schema {{ event email.opened }}\nstage MEL {{ enter when {chain} }}\n")
    };
    assert_eq!(codes(&chained(257)), vec![]);
    assert_eq!(codes(&chained(258)), vec![Code::TooComplex]);
}

/// The knock-on corpus (`knock-on-*.funnel`): one file with a mistake planted in several
/// declarations, and one other declaration broken in one way each. Its second line lists every
/// diagnostic `funnelc check` must give, as `LINE CODE`: the broken declaration's syntax error
/// and the planted mistakes, which must all survive it; no knock-on error about a name the
/// broken declaration declares.
#[test]
fn knock_on_corpus_reports_exactly_the_expected() {
    let mut wrong = Vec::new();
    let mut cases = 0;
    for path in fixtures() {
        let name = file_name(&path);
        if !name.starts_with("knock-on-") {
            continue;
        }
        cases += 1;
        let source = read_fixture(&path);
        let expected = source
            .lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("// expect: "))
            .unwrap_or_else(|| {
                panic!("{name}: the second line must be `// expect: LINE CODE, ...`")
            });
        let diags = funnelc::compile(&source, "fixture.funnel").diagnostics;
        let mut got: Vec<(usize, &str)> = diags
            .iter()
            .map(|d| {
                let line = source[..d.span.start].matches('\n').count() + 1;
                (line, d.code.short_name())
            })
            .collect();
        got.sort();
        let got = got
            .iter()
            .map(|(l, c)| format!("{l} {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        if got != expected {
            wrong.push(format!("{name}:\n  expected {expected}\n  got      {got}"));
        }
        // Exactly the one broken declaration is reported as such.
        let syntax = diags
            .iter()
            .filter(|d| matches!(d.code, Code::Syntax | Code::Unbalanced))
            .count();
        let broken = if name.contains("two-broken") { 2 } else { 1 };
        if syntax != broken {
            wrong.push(format!("{name}: {syntax} syntax errors, not {broken}"));
        }
    }
    assert!(cases >= 50, "only {cases} knock-on fixtures");
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// One line of a shipped rule file broken in one of the common ways: the file then has exactly
/// one syntax error, and every other diagnostic is the one the intact file gives outside the
/// broken declaration. No knock-on error, none lost. (With the schema broken, a misspelt
/// trait or event is an unknown name: the three count as one here.)
#[test]
fn a_line_broken_in_a_shipped_rule_file_costs_only_its_declaration() {
    fn quoted(l: &str) -> String {
        let Some(a) = l.find('"') else {
            return l.to_string();
        };
        let Some(b) = l[a + 1..].find('"') else {
            return l.to_string();
        };
        let b = a + 1 + b;
        format!("{}'{}'{}", &l[..a], &l[a + 1..b], &l[b + 1..])
    }
    fn capital(l: &str) -> String {
        let mut c = l.chars();
        match c.next() {
            Some(f) if f.is_alphabetic() => f.to_uppercase().chain(c).collect(),
            _ => l.to_string(),
        }
    }
    // The word after the first comparison left out: `a >= 3 and b` → `a >= and b`.
    fn no_operand(l: &str) -> String {
        let Some(end) = [" >= ", " <= ", " == ", " > ", " < "]
            .iter()
            .filter_map(|op| l.find(op).map(|at| at + op.len()))
            .min()
        else {
            return l.to_string();
        };
        let rest = &l[end..];
        let word = rest.find(' ').unwrap_or(rest.len());
        format!("{}{}", &l[..end - 1], &rest[word..])
    }
    type Mutation = fn(&str) -> String;
    let mutations: [(&str, Mutation); 9] = [
        ("`=` for `==`", |l| l.replacen(" == ", " = ", 1)),
        ("single quotes", quoted),
        ("`AND`", |l| l.replacen(" and ", " AND ", 1)),
        ("capital first word", capital),
        ("missing operand", no_operand),
        ("extra `(`", |l| l.replacen('(', "((", 1)),
        ("extra `{`", |l| l.replacen('{', "{{", 1)),
        ("stray `;`", |l| format!("{l} ;")),
        ("text never closed", |l| l.replacen('"', "", 1)),
    ];
    let rules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    // A test file is checked against its rule file, as `funnelc check` does.
    let diagnostics = |src: &str| -> Vec<Diagnostic> {
        let parsed = funnelc::syntax::parse(src);
        let tests_for = parsed.file.items.iter().find_map(|i| match i {
            funnelc::syntax::ast::Item::TestsFor(t) => Some(t.path.text.clone()),
            _ => None,
        });
        match tests_for {
            Some(rules) => {
                let text = std::fs::read_to_string(rules_dir.join(rules)).unwrap();
                let rules = funnelc::compile(&text, "rules.funnel");
                funnelc::check_test_file(&parsed, src, &rules, None)
            }
            None => funnelc::compile(src, "t.funnel").diagnostics,
        }
    };
    let found = |src: &str| -> (Vec<Diagnostic>, Vec<(usize, &'static str)>) {
        let diags = diagnostics(src);
        let mut other: Vec<(usize, &str)> = diags
            .iter()
            .filter(|d| !matches!(d.code, Code::Syntax | Code::Unbalanced))
            .map(|d| {
                let line = src[..d.span.start].matches('\n').count() + 1;
                let code = match d.code {
                    Code::UnknownTrait | Code::UnknownEvent => Code::UnknownName,
                    c => c,
                };
                (line, code.short_name())
            })
            .collect();
        other.sort();
        let syntax = diags
            .into_iter()
            .filter(|d| matches!(d.code, Code::Syntax | Code::Unbalanced))
            .collect();
        (syntax, other)
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&rules_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".funnel"))
        .collect();
    files.sort();
    let (mut wrong, mut runs) = (Vec::new(), 0);
    for path in &files {
        let name = file_name(path);
        let source = read_fixture(path);
        let lines: Vec<&str> = source.split('\n').collect();
        let (_, intact) = found(&source);
        // Each declaration's lines: from a keyword in the first column to the next one.
        let starts: Vec<usize> = (0..lines.len())
            .filter(|&i| {
                let word = lines[i].split([' ', '{']).next().unwrap_or("");
                funnelc::syntax::scan::TOP_LEVEL.contains(&word)
            })
            .collect();
        for (k, &first) in starts.iter().enumerate() {
            let last = starts.get(k + 1).map_or(lines.len(), |n| n - 1);
            let outside = |line: usize| line < first + 1 || line > last + 1;
            let expected: Vec<(usize, &str)> = intact
                .iter()
                .copied()
                .filter(|(l, _)| outside(*l))
                .collect();
            for i in first..=last.min(lines.len() - 1) {
                let line = lines[i];
                if line.trim().is_empty() || line.trim_start().starts_with("//") {
                    continue;
                }
                for (what, mutate) in &mutations {
                    let broken = mutate(line);
                    if broken == line {
                        continue;
                    }
                    let mut changed = lines.clone();
                    changed[i] = &broken;
                    let text = changed.join("\n");
                    let (syntax, other) = found(&text);
                    if syntax.is_empty() {
                        continue;
                    }
                    runs += 1;
                    if syntax.len() != 1 || other != expected {
                        wrong.push(format!(
                            "{name}:{} {what}: `{}`\n  {} syntax errors: {:?}\n  expected {expected:?}\n  got      {other:?}",
                            i + 1,
                            broken.trim(),
                            syntax.len(),
                            syntax.iter().map(|d| &d.message).collect::<Vec<_>>(),
                        ));
                    }
                }
            }
        }
    }
    eprintln!("{runs} broken files tried");
    assert!(runs > 300, "only {runs} broken files tried");
    assert!(
        wrong.is_empty(),
        "{} of {runs}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
