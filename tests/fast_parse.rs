//! The hand-written parser (`syntax::fast`) against pest, the reference: on every rule file
//! and documentation example, and on random formatted trees, both give the same tree with the
//! same spans, and the fast path does not give up on the language's common shapes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/ast_gen.rs"]
mod ast_gen;
mod common;

use funnelc::syntax::ast::{File, Item, Segment};
use funnelc::syntax::fmt::format_file;
use funnelc::syntax::{fast, parse, parse_pest_only};
use proptest::prelude::*;

/// Debug output prints every span's offsets; `Span`'s `==` ignores them on purpose.
fn shown<T: std::fmt::Debug>(x: &T) -> String {
    format!("{x:#?}")
}

/// The first line where two printed trees differ, with some context.
fn first_difference(a: &str, b: &str) -> String {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = al
        .iter()
        .zip(&bl)
        .position(|(x, y)| x != y)
        .unwrap_or(al.len().min(bl.len()));
    let from = i.saturating_sub(12);
    format!(
        "pest:\n{}\nfast:\n{}",
        al[from..(i + 3).min(al.len())].join("\n"),
        bl[from..(i + 3).min(bl.len())].join("\n")
    )
}

/// Asserts that `parse` (fast path, pest on fallback) and pest alone agree on `src`, trees and
/// diagnostics. Returns whether pest found it clean and the fast path read it whole.
fn agrees(src: &str, what: &str) -> (bool, bool) {
    let reference = parse_pest_only(src);
    let both = parse(src);
    let (a, b) = (shown(&reference.file), shown(&both.file));
    assert!(a == b, "{what}: trees differ\n{}", first_difference(&a, &b));
    assert_eq!(
        shown(&reference.diagnostics),
        shown(&both.diagnostics),
        "{what}: diagnostics differ"
    );
    let clean = reference.diagnostics.is_empty();
    let fast_whole = fast::parse_items(src, 0).map(|items| File { items });
    if let Some(f) = &fast_whole {
        let c = shown(f);
        assert!(
            a == c,
            "{what}: the fast parser read the whole file differently\n{}",
            first_difference(&a, &c)
        );
        assert!(
            clean,
            "{what}: the fast parser accepted a file pest refuses"
        );
    }
    (clean, fast_whole.is_some())
}

fn funnel_files(dir: &str, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // bench/data holds generated files of many megabytes.
            if !path.ends_with("data") {
                funnel_files(path.to_str().unwrap(), out);
            }
        } else if path.extension().is_some_and(|e| e == "funnel") {
            out.push(path);
        }
    }
}

/// The funnel examples of a Markdown file: blocks of declarations as they are, and each line
/// of a block of conditions as a segment.
fn doc_examples(path: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for block in common::code_blocks(&doc) {
        let first = block.split_whitespace().next().unwrap_or("");
        if funnelc::syntax::scan::TOP_LEVEL.contains(&first) {
            out.push(block);
        } else if !first.starts_with("//") && !first.is_empty() {
            for line in block.lines() {
                let cond = line.split("//").next().unwrap_or("").trim();
                if !cond.is_empty() {
                    out.push(format!("segment example = {cond}\n"));
                }
            }
        }
    }
    out
}

#[test]
fn rule_files_and_fixtures_agree() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = Vec::new();
    for dir in ["rules", "bench", "tests/fixtures"] {
        funnel_files(&format!("{root}/{dir}"), &mut files);
    }
    files.sort();
    assert!(files.len() > 50, "{}", files.len());
    let mut not_fast = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).unwrap_or_else(|_| {
            // A fixture that is not UTF-8 is read as the CLI reads it.
            String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
        });
        let (clean, fast) = agrees(&src, &path.display().to_string());
        if clean && !fast {
            not_fast.push(path.display().to_string());
        }
    }
    assert!(
        not_fast.is_empty(),
        "the fast parser gave up on clean files: {not_fast:?}"
    );
}

#[test]
fn shipped_rules_take_the_fast_path() {
    for f in common::shipped_rules() {
        let src = std::fs::read_to_string(format!("{}/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(fast::parse_items(&src, 0).is_some(), "{f}");
    }
}

#[test]
fn documentation_examples_agree() {
    let mut not_fast = Vec::new();
    let mut n = 0;
    for doc in ["docs/language.md", "README.md"] {
        for (i, ex) in doc_examples(doc).into_iter().enumerate() {
            let (clean, fast) = agrees(&ex, &format!("{doc} example {i}:\n{ex}"));
            n += 1;
            if clean && !fast {
                not_fast.push(ex);
            }
        }
    }
    assert!(n > 40, "{n}");
    assert!(
        not_fast.is_empty(),
        "the fast parser gave up on clean examples:\n{}",
        not_fast.join("\n")
    );
}

/// The shapes `bench/check_big.py` writes, smaller.
#[test]
fn generated_large_file_shapes_take_the_fast_path() {
    let mut dense =
        String::from("schema {\n  event form.submitted\n  event email.opened { step: int }\n}\n");
    for i in 0..300 {
        dense.push_str(&format!(
            "stage S{i} \"Stage {i}\" owner marketing {{\n  enter when form.submitted and count \
             email.opened where step in [1, 2, 3] >= {} or email.opened within 14d\n}}\n\n",
            i % 5
        ));
    }
    let mut schema = String::from("schema {\n");
    for i in 0..300 {
        schema.push_str(&format!(
            "  trait t{i}.x: int\n  event e{i} {{ a: text, b: int }}\n"
        ));
    }
    schema.push_str("}\n\nstage A {\n  enter when e1\n}\n");
    let comment = format!(
        "/* {} */\nschema {{\n  event e\n}}\n\nstage A {{\n  enter when e\n}}\n",
        "x".repeat(10_000)
    );
    for (what, src) in [("dense", dense), ("schema", schema), ("comment", comment)] {
        assert_eq!(agrees(&src, what), (true, true), "{what}");
    }
}

/// A schema block over 256 KB is parsed in pieces, each by the fast path.
#[test]
fn large_schema_in_pieces() {
    let mut schema = String::from("schema {\n");
    let mut i = 0;
    while schema.len() < 300 << 10 {
        schema.push_str(&format!(
            "  trait t{i}.x: int // {i}\n  event e{i} {{ a: text, b: list<int> }}\n"
        ));
        i += 1;
    }
    schema.push_str("}\n\nstage A {\n  enter when e1\n}\n");
    assert_eq!(agrees(&schema, "large schema"), (true, true));
    // A broken piece: pest reads the block whole and reports the error.
    let broken = schema.replacen("trait t7.x: int", "trait t7.x: integer", 1);
    assert!(!agrees(&broken, "broken large schema").0);
}

/// Every declaration of the corpus on its own: how many the fast path reads, and that it
/// reads every one pest reads without a diagnostic.
#[test]
fn declarations_that_fall_back_to_pest() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = Vec::new();
    for dir in ["rules", "bench", "tests/fixtures"] {
        funnel_files(&format!("{root}/{dir}"), &mut files);
    }
    let mut sources: Vec<String> = files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    for doc in ["docs/language.md", "README.md"] {
        sources.extend(doc_examples(doc));
    }
    let (mut chunks, mut clean, mut fast_read) = (0, 0, 0);
    for src in &sources {
        let mut bounds = funnelc::syntax::scan::scan(src).chunk_starts;
        if bounds.first() != Some(&0) {
            bounds.insert(0, 0);
        }
        bounds.push(src.len());
        for w in bounds.windows(2) {
            let chunk = &src[w[0]..w[1]];
            chunks += 1;
            let is_clean = parse_pest_only(chunk).diagnostics.is_empty();
            let is_fast = fast::parse_items(chunk, w[0]).is_some();
            clean += usize::from(is_clean);
            fast_read += usize::from(is_fast);
            assert!(
                is_clean || !is_fast,
                "fast path accepted a broken chunk:\n{chunk}"
            );
            assert!(
                !is_clean || is_fast,
                "fast path gave up on a clean chunk:\n{chunk}"
            );
        }
    }
    eprintln!(
        "{chunks} declarations: {clean} clean, {fast_read} read by the fast path, {} left to pest",
        chunks - fast_read
    );
}

/// Whitespace between tokens, as a mutation may write it: the grammar's blanks, comments of
/// both kinds, CRLF, or nothing at all (which may merge two tokens into one word).
const TRIVIA: &[&str] = &[
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\n\n  ",
    "/* c */",
    " /* c\n */ ",
    "// c\n",
    " // c\r\n\t",
    "/**/",
    "/*/ c */",
];

/// `text` with each run of blanks outside strings replaced by the trivia `pick` chooses.
fn retrivia(text: &str, mut pick: impl FnMut() -> &'static str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            // `4500 EUR`: the blank inside an amount is part of the token.
            ' ' if out.ends_with(|c: char| c.is_ascii_digit())
                && chars.peek().is_some_and(|c| c.is_ascii_uppercase()) =>
            {
                out.push(c)
            }
            ' ' | '\n' => {
                let newline = c == '\n' || chars.peek() == Some(&'\n');
                while chars.next_if(|c| *c == ' ' || *c == '\n').is_some() {}
                let t = pick();
                // `rate a / b`: a comment right after the `/` would swallow it.
                if out.ends_with('/') && t.starts_with('/') {
                    out.push(' ');
                }
                // A declaration must start a line for the file to be cut there; keep the
                // line break and put the trivia before it.
                if newline {
                    out.push_str(t.trim_end_matches(['\n', ' ', '\t']));
                    out.push('\n');
                } else {
                    out.push_str(t);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn formatted(items: Vec<Item>) -> String {
    format_file(&File { items }, &[], "")
}

/// 256 cases, or `PROPTEST_CASES` for a longer run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Formatted random trees: both parsers agree, and the fast path reads them whole.
    #[test]
    fn formatted_trees(items in proptest::collection::vec(ast_gen::item(), 0..5)) {
        let out = formatted(items);
        let (clean, fast) = agrees(&out, &out);
        prop_assert!(clean, "{}", out);
        prop_assert!(fast, "the fast parser gave up on:\n{}", out);
    }

    #[test]
    fn formatted_operators(exprs in proptest::collection::vec(ast_gen::operators(), 1..4)) {
        let items = exprs
            .into_iter()
            .enumerate()
            .map(|(i, expr)| Item::Segment(Segment {
                name: ast_gen::name(format!("s{i}")),
                expr,
                span: ast_gen::sp(),
            }))
            .collect();
        let out = formatted(items);
        let (clean, fast) = agrees(&out, &out);
        prop_assert!(clean && fast, "{}", out);
    }

    /// The same files with their blanks rewritten: the parsers agree whatever happens, and
    /// with plain blanks and comments (no token merged) the fast path still reads them.
    #[test]
    fn rewritten_blanks(
        items in proptest::collection::vec(ast_gen::item(), 1..4),
        picks in proptest::collection::vec(0..TRIVIA.len(), 64),
    ) {
        let out = formatted(items);
        let mut k = 0;
        let mutated = retrivia(&out, || {
            k += 1;
            TRIVIA[picks[k % picks.len()]]
        });
        agrees(&mutated, &mutated);
        let mut k = 0;
        let spaced = retrivia(&out, || {
            k += 1;
            match TRIVIA[picks[k % picks.len()]] {
                "" => " ",
                t => t,
            }
        });
        let (clean, fast) = agrees(&spaced, &spaced);
        prop_assert!(clean && fast, "{}", spaced);
    }

    /// Random runs of the language's tokens, most of them broken, in the places expressions
    /// and declarations go: whatever the fast path accepts must be what pest reads.
    #[test]
    fn token_soup(
        context in 0..CONTEXTS.len(),
        tokens in proptest::collection::vec((0..SOUP.len(), 0..TRIVIA.len()), 1..12),
    ) {
        let mut soup = String::new();
        for (t, sep) in tokens {
            soup.push_str(SOUP[t]);
            soup.push_str(match TRIVIA[sep] {
                "" if soup.ends_with('/') => " ",
                t => t,
            });
        }
        let src = CONTEXTS[context].replace("SOUP", &soup);
        agrees(&src, &src);
    }

    /// Text cut short or with a byte range deleted: mostly broken, so mostly pest's errors,
    /// and the two must still agree.
    #[test]
    fn damaged_files(
        items in proptest::collection::vec(ast_gen::item(), 1..3),
        a in 0.0..1.0f64,
        len in 0usize..6,
    ) {
        let out = formatted(items);
        let mut at = (a * out.len() as f64) as usize;
        while !out.is_char_boundary(at) {
            at -= 1;
        }
        let mut to = (at + len).min(out.len());
        while !out.is_char_boundary(to) {
            to += 1;
        }
        let damaged = format!("{}{}", &out[..at], &out[to..]);
        agrees(&damaged, &damaged);
    }
}

/// Tokens, near-tokens and words that look like keywords.
const SOUP: &[&str] = &[
    "a",
    "b.c",
    "x_1",
    "notes",
    "order",
    "inx",
    "all",
    "any",
    "last",
    "entering",
    "missing",
    "with",
    "stage",
    "list",
    "below",
    "monthly",
    "A",
    "and",
    "or",
    "not",
    "in",
    "between",
    "contains",
    "exists",
    "is",
    "starts",
    "ends",
    "matches",
    "count",
    "rate",
    "no",
    "days",
    "since",
    "latest",
    "first",
    "at",
    "least",
    "of",
    "has",
    "score",
    "grade",
    "then",
    "where",
    "within",
    "true",
    "false",
    "when",
    "per",
    "max",
    "half-life",
    "0",
    "12",
    "2.5",
    "40%",
    "$4,500",
    "$1,2345",
    "$12345",
    "$4.5",
    "4500 USD",
    "4500  EUR",
    "4500 usd",
    "7d",
    "2w",
    "12h",
    "30m",
    "7dx",
    "2025-01-03",
    "2025-02-30",
    "2025-01-03T10:00:00Z",
    "2025-01-03 10:00",
    "2025-01-03T10:00+02:00",
    "2025-01-03T10:00:00.5+02:00",
    "2025-01",
    "\"s\"",
    "\"a\\\"b\"",
    "\"bad\\q\"",
    "99999999999999999999",
    "1.",
    "(",
    ")",
    "[",
    "]",
    ",",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "->",
    "=",
    "+5",
    "-10",
    ":",
    "{",
    "}",
    "int",
    "list<int>",
    "trait",
    "event",
    "expect",
    "entered",
    "as",
    "traits",
    "events",
];

const CONTEXTS: &[&str] = &[
    "segment s = SOUP\n",
    "segment s = a and SOUP or b\n",
    "score s max 10 {\n  +5 when SOUP\n  -3 per e\n  grade A from 1\n}\n",
    "score s {\n  +5 per SOUP\n}\n",
    "stage S \"S\" owner o sla 7d {\n  enter when SOUP\n}\n",
    "move A -> B priority 1 when SOUP\n",
    "exit x from [A, B] when SOUP\n",
    "test \"t\" {\n  SOUP\n}\n",
    "test \"t\" {\n  traits { a: SOUP }\n}\n",
    "kpi conversion A -> B { SOUP }\n",
    "schema {\n  SOUP\n}\n",
    "target volume A monthly from SOUP\n",
    "cost by a monthly { SOUP }\n",
    "SOUP\n",
];
