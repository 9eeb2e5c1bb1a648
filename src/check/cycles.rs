//! Segments defined in terms of themselves, directly or through other segments.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::*;

/// Segments may name other segments but not themselves, directly or through others: one error
/// per circle, at the name that closes it. `deps` holds, for each segment, the segments its
/// condition names and where.
pub(super) fn segment_cycles(
    file: &File,
    deps: &BTreeMap<String, Vec<(String, Span)>>,
) -> Vec<Diagnostic> {
    let mut reported: BTreeSet<String> = BTreeSet::new();
    let mut found = Vec::new();
    for item in &file.items {
        let Item::Segment(s) = item else { continue };
        // Depth-first search with an explicit stack, so a long chain cannot overflow.
        let mut stack: Vec<(&str, usize)> = vec![(s.name.text.as_str(), 0)];
        let mut on_path: Vec<&str> = vec![s.name.text.as_str()];
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        while let Some((node, i)) = stack.pop() {
            let next = deps.get(node).and_then(|d| d.get(i));
            match next {
                None => {
                    on_path.pop();
                }
                Some((dep, span)) => {
                    stack.push((node, i + 1));
                    if dep == &s.name.text {
                        if !reported.contains(&s.name.text) {
                            reported.extend(on_path.iter().map(|n| n.to_string()));
                            let path = on_path.join(" → ");
                            found.push(
                                Diagnostic::error(
                                    Code::SegmentCycle,
                                    *span,
                                    format!(
                                        "segment `{}` is defined in terms of itself",
                                        s.name.text
                                    ),
                                )
                                .label(format!("{path} → {}", s.name.text))
                                .help("a segment may use other segments, but not in a circle"),
                            );
                        }
                    } else if visited.insert(dep.as_str()) {
                        stack.push((dep.as_str(), 0));
                        on_path.push(dep.as_str());
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The dependencies of `segment NAME = OTHER` lines, each at the name it uses.
    fn deps_of(src: &str) -> BTreeMap<String, Vec<(String, Span)>> {
        let mut deps = BTreeMap::new();
        let mut at = 0;
        for line in src.lines() {
            let (name, used) = line["segment ".len()..].split_once(" = ").unwrap();
            let start = at + line.len() - used.len();
            deps.insert(
                name.to_string(),
                vec![(used.to_string(), Span::new(start, start + used.len()))],
            );
            at += line.len() + 1;
        }
        deps
    }

    fn cycles(src: &str) -> Vec<(Span, String)> {
        let file = crate::syntax::parse(src).file;
        segment_cycles(&file, &deps_of(src))
            .into_iter()
            .map(|d| (d.span, d.label.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn a_circle_is_reported_once_where_it_closes() {
        let src = "segment a = b\nsegment b = c\nsegment c = a\nsegment d = a\n";
        let closing = src.find("c = a").unwrap() + 4;
        assert_eq!(
            cycles(src),
            vec![(Span::new(closing, closing + 1), "a → b → c → a".to_string())]
        );
    }

    #[test]
    fn a_segment_naming_itself_is_a_circle() {
        assert_eq!(
            cycles("segment s = s\n"),
            vec![(Span::new(12, 13), "s → s".to_string())]
        );
    }

    #[test]
    fn a_chain_is_not_a_circle() {
        assert_eq!(
            cycles("segment a = b\nsegment b = c\nsegment c = d\n"),
            vec![]
        );
    }
}
