//! The examples in the documentation are real: the README's tour checks clean, and every
//! example in the language reference parses.

fn strip_comment(line: &str) -> &str {
    // Examples keep `//` out of strings, so the first one starts the comment.
    line.split("//").next().unwrap_or("").trim()
}

#[test]
fn readme_tour_checks_clean() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let tours: Vec<String> = crate::common::code_blocks(&readme)
        .into_iter()
        .filter(|b| b.starts_with("funnel \""))
        .collect();
    assert_eq!(tours.len(), 1);
    let compiled = funnelc::compile(&tours[0], "README.md");
    assert!(
        compiled.diagnostics.is_empty(),
        "{}",
        funnelc::diag::render_human(&compiled.diagnostics, "README.md", &tours[0], false)
    );
}

#[test]
fn language_reference_examples_parse() {
    let doc = std::fs::read_to_string("docs/language.md").unwrap();
    let mut declarations = 0;
    let mut conditions = 0;
    for block in crate::common::code_blocks(&doc) {
        let first = block.split_whitespace().next().unwrap_or("");
        if funnelc::syntax::scan::TOP_LEVEL.contains(&first) {
            let parsed = funnelc::syntax::parse(&block);
            assert!(
                parsed.diagnostics.is_empty(),
                "{}",
                funnelc::diag::render_human(&parsed.diagnostics, "example", &block, false)
            );
            declarations += 1;
        } else if !first.starts_with("//") {
            // A block of conditions, one per line.
            for line in block.lines().map(strip_comment).filter(|l| !l.is_empty()) {
                if let Err(d) = funnelc::syntax::parse_expr(line) {
                    panic!("`{line}`: {}", d.message);
                }
                conditions += 1;
            }
        }
    }
    assert!(declarations >= 8, "{declarations}");
    assert!(conditions >= 25, "{conditions}");
}

/// The words of a text, whatever its line breaks.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `docs/diagnostics.md` has a section for exactly the codes of `diag::Code`, in its order,
/// under the heading of its severity, each with the registry's summary, explanation, and
/// example before and after the fix.
#[test]
fn diagnostics_reference_lists_exactly_the_codes() {
    use funnelc::diag::{Code, Severity};
    let doc = std::fs::read_to_string("docs/diagnostics.md").unwrap();
    let mut severity = None;
    let mut sections: Vec<(String, Option<Severity>, String)> = Vec::new();
    for line in doc.lines() {
        match line {
            "## Errors" => severity = Some(Severity::Error),
            "## Warnings" => severity = Some(Severity::Warning),
            _ => {}
        }
        if let Some(heading) = line.strip_prefix("### ") {
            let code = heading.trim_matches('`').to_string();
            sections.push((code, severity, String::new()));
        } else if let Some((_, _, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    let listed: Vec<&str> = sections.iter().map(|(c, _, _)| c.as_str()).collect();
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        listed, codes,
        "docs/diagnostics.md and diag::Code list different codes"
    );
    for ((name, severity, body), code) in sections.iter().zip(Code::ALL) {
        assert_eq!(
            *severity,
            Some(code.severity()),
            "{name} is under the wrong heading"
        );
        let kind = match code.severity() {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        };
        let summary = format!("{kind}: {}.", code.summary());
        assert!(body.contains(&summary), "{name}: not `{summary}`");
        assert!(
            words(body).contains(&words(code.explanation())),
            "{name}: the explanation differs from the registry's"
        );
        assert_eq!(
            crate::common::code_blocks(body),
            vec![code.mistake().to_string(), code.fix().to_string()],
            "{name}: the examples differ from the registry's"
        );
    }
}

/// The table of codes in the language reference names the same codes.
#[test]
fn language_reference_table_names_every_code() {
    let doc = std::fs::read_to_string("docs/language.md").unwrap();
    let section = doc.split("## Diagnostics").nth(1).unwrap();
    let mut named: Vec<&str> = section
        .split('`')
        .filter(|s| s.starts_with("funnel::"))
        .collect();
    named.sort_unstable();
    named.dedup();
    let mut codes: Vec<&str> = funnelc::diag::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    codes.sort_unstable();
    assert_eq!(named, codes);
}
