//! The registry held to its own rules: unique codes, every one documented.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;

#[test]
fn every_code_string_is_unique_and_prefixed() {
    let mut seen = std::collections::BTreeSet::new();
    for c in Code::ALL {
        let s = c.as_str();
        assert!(s.starts_with(PREFIX), "{s}");
        assert!(
            s[PREFIX.len()..]
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
                && s.len() > PREFIX.len(),
            "{s}"
        );
        assert!(seen.insert(s), "{s} is used twice");
    }
}

#[test]
fn every_code_is_documented() {
    for c in Code::ALL {
        for (what, text) in [
            ("summary", c.summary()),
            ("explanation", c.explanation()),
            ("mistake", c.mistake()),
            ("fix", c.fix()),
        ] {
            assert!(!text.trim().is_empty(), "{c} has no {what}");
        }
        // The summary is one line in the house style: lowercase, no final period.
        let summary = c.summary();
        assert!(!summary.contains('\n') && !summary.ends_with('.'), "{c}");
        assert!(!summary.starts_with(|ch: char| ch.is_uppercase()), "{c}");
        assert!(c.explanation().ends_with('.'), "{c}");
        assert_ne!(c.mistake(), c.fix(), "{c}");
    }
}

#[test]
fn names_with_and_without_prefix() {
    assert_eq!(
        Code::from_name("funnel::unknown_event"),
        Some(Code::UnknownEvent)
    );
    assert_eq!(Code::from_name("unknown_event"), Some(Code::UnknownEvent));
    assert_eq!(Code::from_name("unknown_evnt"), None);
    assert_eq!(Code::from_name("funnel::"), None);
    for c in Code::ALL {
        assert_eq!(Code::from_name(c.as_str()), Some(*c));
        assert_eq!(Code::from_name(c.short_name()), Some(*c));
    }
}

#[test]
fn shown_and_serialized_as_the_string() {
    assert_eq!(Code::TypeMismatch.to_string(), "funnel::type_mismatch");
    assert_eq!(
        serde_json::to_string(&Code::TypeMismatch).unwrap(),
        "\"funnel::type_mismatch\""
    );
}

#[test]
fn explanations_wrap_for_a_terminal() {
    for c in Code::ALL {
        let text = c.explain();
        assert!(text.starts_with(&format!("{} (", c.as_str())), "{text}");
        let prose = wrap(c.explanation(), 80);
        assert_eq!(
            prose.split_whitespace().collect::<Vec<_>>(),
            c.explanation().split_whitespace().collect::<Vec<_>>()
        );
        assert!(prose.lines().all(|l| l.chars().count() <= 80), "{prose}");
        assert!(text.contains(&indent(c.fix())), "{text}");
    }
    assert_eq!(wrap("a bb ccc", 4), "a bb\nccc\n");
    assert_eq!(wrap("a `b c` d", 4), "a\n`b c`\nd\n");
    assert_eq!(wrap("x `y z` w", 9), "x `y z` w\n");
    assert_eq!(indent("a\n\nb\n"), "    a\n\n    b\n");
}
