//! The examples in the documentation are real: the README's tour checks clean, and every
//! example in the language reference parses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

fn strip_comment(line: &str) -> &str {
    // Examples keep `//` out of strings, so the first one starts the comment.
    line.split("//").next().unwrap_or("").trim()
}

#[test]
fn readme_tour_checks_clean() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let tours: Vec<String> = common::code_blocks(&readme)
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
    for block in common::code_blocks(&doc) {
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
