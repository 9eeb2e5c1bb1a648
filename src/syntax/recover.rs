//! What a declaration that does not parse would have declared, read from its words alone.
//!
//! A broken declaration is missing from the tree, so every use of the names it declares would
//! be reported unknown: knock-on errors that hide the one error worth reading. The front end
//! leaves those out (`compile::knock_on`), and needs for that the names the broken text
//! declares, wherever they stand: on a later line, after a comment, after a keyword written
//! in capitals or misspelt, inside a schema or a score that does not parse.
//!
//! This is a light token scan, not a parser: it must read text the grammar refuses.

use super::{is_reserved, scan};
use crate::diag::suggest;
use crate::span::Span;

/// What a declared name names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Trait,
    Event,
    /// A property of an event.
    Property,
    /// An entry of a schema whose keyword is misspelt: a trait, an event or a property.
    SchemaEntry,
    Segment,
    Score,
    Grade,
    Stage,
    Exit,
    Fixture,
    /// A test, a `cases` table or a snapshot.
    Test,
    /// `tests for "..."`: the file is a test file, and its names are another file's.
    TestsFor,
    /// A declaration whose keyword is not recognisable (`foo MQL { ... }`): any kind.
    Unknown,
}

/// A name a broken declaration declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    pub kind: Kind,
    /// `None` when the declaration has no name where its name should be (`stage { ... }`).
    pub name: Option<String>,
}

/// A region of the source that did not parse: one declaration or a run of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub span: Span,
    pub declares: Vec<Declared>,
}

impl Broken {
    pub fn read(source: &str, span: Span) -> Broken {
        let text = source.get(span.start..span.end).unwrap_or("");
        Broken {
            span,
            declares: declared(text),
        }
    }
}

/// The names and words of `text` (`icp` in `icp and x`), outside comments and text: those the
/// broken text may use.
pub fn names_in(text: &str) -> Vec<&str> {
    tokens(text)
        .into_iter()
        .filter_map(|t| match t.what {
            Tok::Word(w) => Some(w),
            _ => None,
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok<'a> {
    /// A name or keyword, dotted parts included (`company.region`); also numbers.
    Word(&'a str),
    /// A text literal's content, without its quotes.
    Text(&'a str),
    Punct(char),
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    what: Tok<'a>,
    /// Where it starts in the text.
    at: usize,
    /// First token of its line.
    line_start: bool,
    /// Brackets open before it, within the text scanned.
    depth: usize,
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    let mut depth = 0usize;
    while i < b.len() {
        if let Some(end) = scan::comment_end(b, i) {
            i = end;
            continue;
        }
        let c = b[i];
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let what = if c.is_ascii_alphanumeric() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.')) {
                i += 1;
            }
            // A hyphen joins only `half-life`; elsewhere it is a minus.
            Tok::Word(text[start..i].trim_end_matches('.'))
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            if b.get(j) == Some(&b'"') {
                i = j + 1;
                Tok::Text(&text[start + 1..j])
            } else {
                // Never closed: what follows may be code (`"us-east and icp`), so it is read
                // on as such.
                i += 1;
                Tok::Punct('"')
            }
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            i += ch.len_utf8();
            Tok::Punct(ch)
        };
        let here = depth;
        match what {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(Token {
            what,
            at: start,
            line_start,
            depth: here,
        });
        line_start = false;
    }
    out
}

/// Where a line of `text` after its first starts with the keyword of a declaration, at any
/// indentation, in any case, or misspelt in the first column: where a declaration that `scan`
/// did not cut at may start.
pub fn declaration_starts(text: &str) -> Vec<usize> {
    tokens(text)
        .iter()
        .filter(|t| t.line_start && t.at > 0)
        .filter(|t| {
            // Misspelt only in the first column: an indented line is most often an entry
            // (`trait`, `enter`) that a loose match would take for a keyword.
            let first_column = text[..t.at].ends_with('\n');
            matches!(t.what, Tok::Word(w) if keyword_of(w, first_column).is_some())
        })
        .map(|t| t.at)
        .collect()
}

/// The top-level keyword `word` stands for: itself, the same in other case (`Stage`), or a
/// close misspelling (`stge`) when `loose`.
pub fn keyword_of(word: &str, loose: bool) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    if let Some(k) = scan::TOP_LEVEL.iter().find(|k| **k == lower) {
        return Some(k);
    }
    if !loose || word.len() < 4 {
        return None;
    }
    let close = suggest::closest(word, scan::TOP_LEVEL)?;
    scan::TOP_LEVEL.iter().copied().find(|k| *k == close)
}

/// The kind a top-level keyword declares, and whether its name is text (`fixture "warm"`).
fn kind_of(keyword: &str) -> Option<(Kind, bool)> {
    Some(match keyword {
        "segment" => (Kind::Segment, false),
        "score" => (Kind::Score, false),
        "stage" => (Kind::Stage, false),
        "exit" => (Kind::Exit, false),
        "fixture" => (Kind::Fixture, true),
        "test" | "cases" | "snapshot" => (Kind::Test, true),
        _ => return None,
    })
}

/// Whether `t` could come right after the name of a declaration of `kind`: the check that a
/// keyword starting a line inside other text (`score fit > 5` continuing a condition) really
/// starts a declaration.
fn follows_name(kind: Kind, t: Option<&Token>) -> bool {
    let Some(t) = t else { return true };
    if t.line_start {
        return true;
    }
    matches!(
        (kind, t.what),
        (Kind::Segment, Tok::Punct('='))
            | (
                Kind::Score | Kind::Stage | Kind::Fixture | Kind::Test,
                Tok::Punct('{')
            )
            | (Kind::Score, Tok::Word("max" | "min" | "decay"))
            | (Kind::Stage, Tok::Word("owner" | "sla") | Tok::Text(_))
            | (Kind::Exit | Kind::Test, Tok::Word("from"))
    )
}

fn is_name(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && !is_reserved(w)
}

/// The names the broken text `text` declares, in order.
pub fn declared<'t>(text: &'t str) -> Vec<Declared> {
    let toks = tokens(text);
    let mut out: Vec<Declared> = Vec::new();
    let mut seen: std::collections::HashSet<(Kind, Option<&'t str>)> = Default::default();
    let mut push = |kind: Kind, name: Option<&'t str>| {
        if seen.insert((kind, name)) {
            out.push(Declared {
                kind,
                name: name.map(str::to_string),
            });
        }
    };
    // The schema body, from its `{` to its `}` (or the end): the depth of its entries.
    let mut schema_depth: Option<usize> = None;
    // The depth of the properties of the event being read.
    let mut in_event: Option<usize> = None;
    // `schema` or `event NAME` was read, and its `{` is next.
    let (mut schema_opens, mut event_opens) = (false, false);
    for (i, t) in toks.iter().enumerate() {
        let next = toks.get(i + 1);
        let next_word = match next.map(|n| n.what) {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        };
        let first = i == 0;
        if in_event.is_some_and(|d| t.depth < d) {
            in_event = None;
        }
        if schema_depth.is_some_and(|d| t.depth < d) {
            schema_depth = None;
        }
        if t.what == Tok::Punct('{') {
            if std::mem::take(&mut schema_opens) {
                schema_depth = Some(t.depth + 1);
            }
            if std::mem::take(&mut event_opens) {
                in_event = Some(t.depth + 1);
            }
        }
        let Tok::Word(word) = t.what else { continue };
        // A declaration: the text's first word, or a keyword starting a line (inside a block
        // left open too) followed by what follows that declaration's name.
        if first || t.line_start {
            match keyword_of(word, first) {
                Some("schema") => {
                    schema_opens = true;
                    continue;
                }
                Some("tests") => {
                    push(Kind::TestsFor, None);
                    continue;
                }
                Some(k) => {
                    if let Some((kind, text_name)) = kind_of(k) {
                        let name = match next.map(|n| n.what) {
                            Some(Tok::Text(s)) if text_name => Some(s),
                            Some(Tok::Word(w)) if !text_name && is_name(w) => Some(w),
                            _ => None,
                        };
                        let after = toks.get(i + 1 + usize::from(name.is_some()));
                        if first || (name.is_some() && follows_name(kind, after)) {
                            push(kind, name);
                        }
                    }
                    continue;
                }
                None if first => {
                    // Not a keyword at all (`foo MQL {`): what follows may be anything.
                    if let Some(w) = next_word.filter(|w| is_name(w)) {
                        push(Kind::Unknown, Some(w));
                    }
                    continue;
                }
                None => {}
            }
        }
        match word {
            "trait" => {
                if let Some(w) = next_word {
                    push(Kind::Trait, Some(w));
                }
            }
            "event" => {
                if let Some(w) = next_word {
                    push(Kind::Event, Some(w));
                    event_opens = toks.get(i + 2).is_some_and(|n| n.what == Tok::Punct('{'));
                }
            }
            // `grade A from 20`, not `grade fit == A`.
            "grade" => {
                let compared =
                    matches!(toks.get(i + 2).map(|n| n.what), Some(Tok::Punct('=' | '!')));
                if let Some(w) = next_word.filter(|w| is_name(w) && !compared) {
                    push(Kind::Grade, Some(w));
                }
            }
            _ => {
                let colon = next.is_some_and(|n| n.what == Tok::Punct(':'));
                let after_keyword = i > 0 && matches!(toks[i - 1].what, Tok::Word("trait"));
                if in_event.is_some_and(|d| t.depth == d) && colon {
                    push(Kind::Property, Some(word));
                } else if schema_depth.is_some_and(|d| t.depth == d)
                    && in_event.is_none()
                    && !after_keyword
                {
                    // An entry whose keyword is misspelt (`evnt demo.requested`,
                    // `trai x: int`), or a trait without its keyword (`region: text`).
                    if colon && t.line_start {
                        push(Kind::SchemaEntry, Some(word));
                    } else if t.line_start && !colon {
                        if let Some(w) = next_word.filter(|_| !next.is_some_and(|n| n.line_start)) {
                            push(Kind::SchemaEntry, Some(w));
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(Kind, Option<String>)> {
        declared(text)
            .into_iter()
            .map(|d| (d.kind, d.name))
            .collect()
    }

    fn one(kind: Kind, name: &str) -> Vec<(Kind, Option<String>)> {
        vec![(kind, Some(name.to_string()))]
    }

    #[test]
    fn the_name_after_the_keyword_wherever_it_stands() {
        assert_eq!(names("stage MQL { enter when ("), one(Kind::Stage, "MQL"));
        assert_eq!(names("stage\n  MQL {"), one(Kind::Stage, "MQL"));
        assert_eq!(
            names("stage // qualified\n /* x */ MQL {"),
            one(Kind::Stage, "MQL")
        );
        assert_eq!(names("segment icp = (x"), one(Kind::Segment, "icp"));
        assert_eq!(names("exit lost from any on"), one(Kind::Exit, "lost"));
        assert_eq!(
            names("fixture \"warm lead\" { traits {"),
            one(Kind::Fixture, "warm lead")
        );
    }

    #[test]
    fn a_keyword_in_capitals_or_misspelt() {
        assert_eq!(names("Stage MQL {"), one(Kind::Stage, "MQL"));
        assert_eq!(names("stge MQL {"), one(Kind::Stage, "MQL"));
        assert_eq!(names("SCORE fit {"), one(Kind::Score, "fit"));
        assert_eq!(names("foo MQL {"), one(Kind::Unknown, "MQL"));
    }

    #[test]
    fn a_missing_name_is_said_as_none() {
        assert_eq!(names("stage { enter when x }"), vec![(Kind::Stage, None)]);
        assert_eq!(names("segment = x"), vec![(Kind::Segment, None)]);
        // `max` is a word of the language, not a name.
        assert_eq!(names("score max 60 {"), vec![(Kind::Score, None)]);
    }

    #[test]
    fn schema_entries_even_misspelt() {
        let got = names(
            "schema {\n  trait role:\n  evnt demo.requested\n  event form.submitted { form: text, step int }\n  Trait company.size: int\n  region: text\n}",
        );
        assert_eq!(
            got,
            vec![
                (Kind::Trait, Some("role".into())),
                (Kind::SchemaEntry, Some("demo.requested".into())),
                (Kind::Event, Some("form.submitted".into())),
                (Kind::Property, Some("form".into())),
                (Kind::SchemaEntry, Some("company.size".into())),
                (Kind::SchemaEntry, Some("region".into())),
            ]
        );
    }

    #[test]
    fn grades_not_grade_tests() {
        let got = names("score fit {\n  +10 when grade other == A\n  grade B form 10\n}");
        assert_eq!(
            got,
            vec![
                (Kind::Score, Some("fit".into())),
                (Kind::Grade, Some("B".into())),
            ]
        );
    }

    #[test]
    fn declarations_starting_later_lines() {
        let got = names("stage A {\n  enter when x and\n  stage B { enter when (y }\n");
        assert_eq!(
            got,
            vec![
                (Kind::Stage, Some("A".into())),
                (Kind::Stage, Some("B".into()))
            ]
        );
        // A condition going on on a line that starts with `score`: a use, not a declaration.
        let got = names("segment hot = x and\n  score fit > (5\n");
        assert_eq!(got, one(Kind::Segment, "hot"));
        assert_eq!(names("tests for \"x.funnel"), vec![(Kind::TestsFor, None)]);
    }

    #[test]
    fn names_are_whole_words_outside_comments_and_text() {
        assert!(names_in("stage A { enter when icp and (").contains(&"icp"));
        let names = names_in("stage A { enter when icpx // icp\n \"icp\"");
        assert!(!names.contains(&"icp"), "{names:?}");
        // After a quote never closed, the words may be code.
        assert!(names_in("enter when a == \"x and icp").contains(&"icp"));
    }
}
