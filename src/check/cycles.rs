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
    // Only a segment on a circle can reach itself, and the way back stays inside its strongly
    // connected component: the search from each segment is skipped or kept to that component,
    // so a long chain costs one pass instead of a search from every segment.
    let component = components(deps);
    for item in &file.items {
        let Item::Segment(s) = item else { continue };
        let Some(&(mine, circular)) = component.get(s.name.text.as_str()) else {
            continue;
        };
        // A segment already named in a reported circle would add nothing.
        if !circular || reported.contains(&s.name.text) {
            continue;
        }
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
                    } else if component.get(dep.as_str()).is_some_and(|&(c, _)| c == mine)
                        && visited.insert(dep.as_str())
                    {
                        stack.push((dep.as_str(), 0));
                        on_path.push(dep.as_str());
                    }
                }
            }
        }
    }
    found
}

/// Each segment's strongly connected component (Tarjan's algorithm, with an explicit stack),
/// and whether it lies on a circle: a component of more than one segment, or a segment that
/// names itself.
fn components(deps: &BTreeMap<String, Vec<(String, Span)>>) -> BTreeMap<&str, (usize, bool)> {
    let mut index: BTreeMap<&str, (usize, usize)> = BTreeMap::new(); // (order, low link)
    let mut on_stack: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut out: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    let mut components = 0;
    for root in deps.keys() {
        if index.contains_key(root.as_str()) {
            continue;
        }
        // (segment, next dependency to look at)
        let mut work: Vec<(&str, usize)> = vec![(root.as_str(), 0)];
        while let Some((node, i)) = work.pop() {
            if i == 0 {
                let order = index.len();
                index.insert(node, (order, order));
                stack.push(node);
                on_stack.insert(node);
            }
            let next = deps.get(node).and_then(|d| d.get(i));
            if let Some((dep, _)) = next {
                work.push((node, i + 1));
                // Names that are not segments were reported elsewhere; they lead nowhere.
                if !deps.contains_key(dep.as_str()) {
                    continue;
                }
                match index.get(dep.as_str()) {
                    None => work.push((dep.as_str(), 0)),
                    Some(&(order, _)) if on_stack.contains(dep.as_str()) => {
                        if let Some(n) = index.get_mut(node) {
                            n.1 = n.1.min(order);
                        }
                    }
                    Some(_) => {}
                }
                continue;
            }
            // All of `node`'s dependencies are done: pass its low link to its parent, and
            // close a component at its root.
            let (order, low) = index.get(node).copied().unwrap_or((0, 0));
            if let Some(&(parent, _)) = work.last() {
                if let Some(p) = index.get_mut(parent) {
                    p.1 = p.1.min(low);
                }
            }
            if low == order {
                let mut members = Vec::new();
                while let Some(m) = stack.pop() {
                    on_stack.remove(m);
                    members.push(m);
                    if m == node {
                        break;
                    }
                }
                let names_itself = |m: &str| {
                    deps.get(m)
                        .is_some_and(|d| d.iter().any(|(dep, _)| dep == m))
                };
                let circular = members.len() > 1 || names_itself(node);
                for m in members {
                    out.insert(m, (components, circular));
                }
                components += 1;
            }
        }
    }
    out
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
    fn two_circles_joined_by_a_chain_are_two_errors() {
        let src = "segment a = b\nsegment b = a\nsegment c = a\nsegment d = e\nsegment e = d\n";
        let labels: Vec<String> = cycles(src).into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, ["a → b → a", "d → e → d"]);
    }

    #[test]
    fn components_mark_only_circles() {
        let src = "segment a = b\nsegment b = c\nsegment c = b\nsegment d = d\nsegment e = a\n";
        let deps = deps_of(src);
        let c = components(&deps);
        let circular = |n: &str| c[n].1;
        assert!(!circular("a") && !circular("e"));
        assert!(circular("b") && circular("c") && circular("d"));
        assert_eq!(c["b"].0, c["c"].0);
        assert_ne!(c["a"].0, c["b"].0);
    }

    #[test]
    fn a_long_chain_and_a_long_circle() {
        // 20,000 segments in a chain, then the same closed into one circle: one error.
        let chain: String = (0..20_000)
            .map(|i| format!("segment s{i} = s{}\n", i + 1))
            .collect();
        assert_eq!(cycles(&chain), vec![]);
        let circle = chain.replace("segment s19999 = s20000", "segment s19999 = s0");
        let found = cycles(&circle);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].1.starts_with("s0 → s1 → s2"),
            "{}",
            &found[0].1[..40]
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
