//! The formatter's round-trip property on random trees: `parse(format(tree)) == tree`, spans
//! aside (the generated trees have none; the formatted text puts nodes at new offsets).
//!
//! The trees come from `common/ast_gen.rs`, which builds only trees the parser can produce.

use crate::common::ast_gen::*;
use funnelc::syntax::ast::*;
use funnelc::syntax::fmt::{format_file, format_source};
use funnelc::syntax::parse;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn formatted_trees_read_back(items in proptest::collection::vec(item(), 0..5)) {
        let file = File { items };
        let out = format_file(&file, &[], "");
        let parsed = parse(&out);
        prop_assert!(parsed.diagnostics.is_empty(), "{out}\n{:?}", parsed.diagnostics);
        prop_assert_eq!(parsed.file.without_spans(), file.without_spans(), "output:\n{}", out);
        // And the canonical layout is a fixed point.
        prop_assert_eq!(format_file(&parsed.file, &parsed.comments, &out), out.clone());
    }

    #[test]
    fn operators_keep_their_grouping(exprs in proptest::collection::vec(operators(), 1..4)) {
        let items = exprs
            .into_iter()
            .enumerate()
            .map(|(i, expr)| Item::Segment(Segment { name: name(format!("s{i}")), expr, span: sp() }))
            .collect();
        let file = File { items };
        let out = format_file(&file, &[], "");
        let parsed = parse(&out);
        prop_assert!(parsed.diagnostics.is_empty(), "{out}\n{:?}", parsed.diagnostics);
        prop_assert_eq!(parsed.file.without_spans(), file.without_spans(), "output:\n{}", out);
    }
}

/// Every fixture that parses must format to a file that parses to the same tree, keeps its
/// comments, and formats to itself.
#[test]
fn fixtures_round_trip() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut stack = vec![std::path::PathBuf::from(root)];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "funnel") {
                continue;
            }
            let Ok(src) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(out) = format_source(&src) else {
                continue;
            };
            let (a, b) = (parse(&src), parse(&out));
            assert_eq!(
                b.file.without_spans(),
                a.file.without_spans(),
                "{}:\n{out}",
                path.display()
            );
            let texts = |c: &[funnelc::syntax::scan::Comment]| -> Vec<String> {
                c.iter().map(|c| c.text.clone()).collect()
            };
            assert_eq!(texts(&b.comments), texts(&a.comments), "{}", path.display());
            assert_eq!(format_source(&out).unwrap(), out, "{}", path.display());
            checked += 1;
        }
    }
    // The directory belongs to the checker's tests; nothing to assert if it is absent.
    let _ = checked;
}
