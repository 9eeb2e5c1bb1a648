//! Source text → AST. pest stays behind this module: nothing outside `syntax` sees a pest type.

pub mod ast;
mod errors;
pub mod fmt;
mod lower;
pub mod recover;
pub mod scan;

use pest::error::{ErrorVariant, InputLocation};
use pest::Parser as _;
use rayon::prelude::*;

use crate::diag::{Code, Diagnostic};
use crate::span::Span;
use ast::File;
use errors::syntax_error;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/funnel.pest"]
struct FunnelParser;

/// The result of parsing: every declaration that could be read, and a diagnostic for each
/// part that could not.
pub struct Parsed {
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
    pub comments: Vec<scan::Comment>,
    /// The regions that could not be read, each with the names it would have declared.
    /// Errors that only follow from their absence (an unknown stage of that name) are
    /// knock-on errors the front end leaves out.
    pub broken: Vec<recover::Broken>,
}

/// Parses a whole rule file.
///
/// The file is cut at each top-level keyword that starts a line and each piece is parsed on
/// its own, so a broken declaration costs only itself: a file with two broken stages reports
/// both, and the declarations around them are still checked.
pub fn parse(source: &str) -> Parsed {
    let scanned = scan::scan(source);
    let mut bounds: Vec<usize> = scanned.chunk_starts.clone();
    if bounds.first() != Some(&0) {
        bounds.insert(0, 0);
    }
    bounds.push(source.len());
    // Declarations parse independently, so a large file parses on every core; the results
    // are joined in file order, so the tree does not depend on the thread count. Small
    // declarations are parsed in groups (one pest run costs a few microseconds of setup); a
    // group with any problem is parsed again one declaration at a time, so each broken
    // declaration is still reported on its own.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for w in bounds.windows(2) {
        let (start, end) = (w[0], w[1]);
        match groups.last_mut() {
            Some(g) if g.1 == start && g.1 - g.0 < GROUP_BYTES && end - start < GROUP_BYTES => {
                g.1 = end
            }
            _ => groups.push((start, end)),
        }
    }
    let pieces: Vec<Piece> = groups
        .par_iter()
        .map(|&(start, end)| {
            let single =
                bounds.binary_search(&end).ok() == bounds.binary_search(&start).ok().map(|i| i + 1);
            let whole = parse_chunk(source, start, end, scanned.too_deep, single);
            if whole.diagnostics.is_empty() || single {
                return whole;
            }
            let (lo, hi) = match (bounds.binary_search(&start), bounds.binary_search(&end)) {
                (Ok(lo), Ok(hi)) => (lo, hi),
                _ => return whole,
            };
            let mut all = Piece::default();
            for w in bounds[lo..=hi].windows(2) {
                all.extend(parse_chunk(source, w[0], w[1], scanned.too_deep, true));
            }
            all
        })
        .collect();
    // Sized once: a large file has tens of thousands of items of a few hundred bytes.
    let mut all = Piece {
        items: Vec::with_capacity(pieces.iter().map(|p| p.items.len()).sum()),
        ..Piece::default()
    };
    for p in pieces {
        all.extend(p);
    }
    let broken = all
        .broken
        .iter()
        .map(|span| recover::Broken::read(source, *span))
        .collect();
    Parsed {
        file: File { items: all.items },
        diagnostics: all.diagnostics,
        comments: scanned.comments,
        broken,
    }
}

/// What parsing a piece of the source gave: its declarations, its diagnostics, and the
/// regions that did not parse.
#[derive(Default)]
struct Piece {
    items: Vec<ast::Item>,
    diagnostics: Vec<Diagnostic>,
    broken: Vec<Span>,
}

impl Piece {
    fn extend(&mut self, other: Piece) {
        self.items.extend(other.items);
        self.diagnostics.extend(other.diagnostics);
        self.broken.extend(other.broken);
    }
}

/// Parses the declarations in `source[start..end]`. When pest refuses them and `recover`
/// is set, the text is read again in pieces ([`recover_pieces`]).
fn parse_chunk(
    source: &str,
    start: usize,
    end: usize,
    too_deep: Option<usize>,
    recover: bool,
) -> Piece {
    let mut piece = Piece::default();
    let chunk = &source[start..end];
    if let Some(deep) = too_deep.filter(|d| (start..end).contains(d)) {
        piece.diagnostics.push(
            Diagnostic::error(
                Code::TooDeep,
                Span::new(deep, deep + 1),
                format!("brackets nest more than {} deep", scan::MAX_DEPTH),
            )
            .label("too deep from here")
            .help("split the condition into named segments"),
        );
        piece.broken.push(Span::new(start, end));
        return piece;
    }
    if chunk.len() > SPLIT_SCHEMA_ABOVE && chunk.starts_with("schema") {
        if let Some(schema) = parse_schema_in_pieces(chunk, start) {
            piece.items.push(ast::Item::Schema(schema));
            return piece;
        }
    }
    let lower = lower::Lower { offset: start };
    match FunnelParser::parse(Rule::file, chunk) {
        Ok(pairs) => {
            lower.file(pairs, &mut piece.items, &mut piece.diagnostics);
            if !piece.diagnostics.is_empty() {
                piece.broken.push(Span::new(start, end));
            }
        }
        Err(e) if recover => return recover_pieces(source, start, end, &e),
        Err(e) => {
            piece.diagnostics.push(syntax_error(&e, chunk, start));
            piece.broken.push(Span::new(start, end));
        }
    }
    piece
}

/// A declaration pest refused, read again in pieces, so that declarations it swallowed are
/// still read: it is cut where a line starts with a declaration's keyword (indented, in
/// capitals or misspelt: `scan` cuts only at a keyword in the first column) and where pest
/// had read whole declarations before the text it refused (`stage A { ... } stray`). Pieces
/// that parse are kept; each run of pieces that do not is one broken region with one error.
fn recover_pieces(source: &str, start: usize, end: usize, e: &pest::error::Error<Rule>) -> Piece {
    let chunk = &source[start..end];
    let mut cuts = recover::declaration_starts(chunk);
    if let ErrorVariant::ParsingError { positives, .. } = &e.variant {
        let at = match e.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
        // EOI expected at the start of a line or after a `}`: everything before was whole
        // declarations. (Not anywhere: in `when region = "x"`, `when region` is whole too.)
        let at = at.min(chunk.len());
        let line_start = chunk[..at].rfind('\n').map_or(0, |n| n + 1);
        if positives.contains(&Rule::EOI)
            && (chunk[line_start..at].trim().is_empty() || chunk[..at].trim_end().ends_with('}'))
            && !scan::only_blanks(&chunk[..at])
        {
            cuts.push(at);
        }
    }
    cuts.retain(|c| *c > 0 && *c < chunk.len());
    cuts.sort_unstable();
    cuts.dedup();
    let whole_error = || Piece {
        items: Vec::new(),
        diagnostics: vec![syntax_error(e, chunk, start)],
        broken: vec![Span::new(start, end)],
    };
    if cuts.is_empty() {
        return whole_error();
    }
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(chunk.len());
    let parsed: Vec<Piece> = bounds
        .windows(2)
        .map(|w| parse_chunk(source, start + w[0], start + w[1], None, false))
        .collect();
    if parsed.iter().all(|p| !p.broken.is_empty()) {
        return whole_error();
    }
    let mut all = Piece::default();
    // The start of the run of pieces that did not parse, if in one.
    let mut failing: Option<usize> = None;
    for (i, p) in parsed.into_iter().enumerate() {
        match (p.broken.is_empty(), failing) {
            (true, Some(from)) => {
                all.extend(parse_chunk(
                    source,
                    start + bounds[from],
                    start + bounds[i],
                    None,
                    false,
                ));
                failing = None;
                all.items.extend(p.items);
            }
            (true, None) => all.items.extend(p.items),
            (false, None) => failing = Some(i),
            (false, Some(_)) => {}
        }
    }
    if let Some(from) = failing {
        all.extend(parse_chunk(source, start + bounds[from], end, None, false));
    }
    all
}

/// Declarations are parsed in groups of about this much text.
const GROUP_BYTES: usize = 32 << 10;

/// A schema block larger than this is parsed entry by entry, on every core.
const SPLIT_SCHEMA_ABOVE: usize = 256 << 10;

/// Parses `schema { ... }` as pieces of its body cut at lines that start a trait or an event.
/// `None` when the block is not that simple shape, or a piece does not parse: the caller then
/// parses the block whole, which also gives the usual syntax errors.
fn parse_schema_in_pieces(chunk: &str, offset: usize) -> Option<ast::Schema> {
    let open = chunk.find('{')?;
    let close = chunk.rfind('}')?;
    if !scan::only_blanks(chunk.get("schema".len()..open)?)
        || !scan::only_blanks(&chunk[close + 1..])
    {
        return None;
    }
    let body_start = open + 1;
    let body = chunk.get(body_start..close)?;
    let mut cuts = vec![0];
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        let t = line.trim_start();
        if at > 0
            && (t.starts_with("trait ") || t.starts_with("event "))
            && at - cuts[cuts.len() - 1] > 64 << 10
        {
            cuts.push(at);
        }
        at += line.len();
    }
    cuts.push(body.len());
    let pieces: Option<Vec<Vec<ast::SchemaEntry>>> = cuts
        .par_windows(2)
        .map(|w| {
            let piece = &body[w[0]..w[1]];
            let piece_offset = offset + body_start + w[0];
            let top = FunnelParser::parse(Rule::schema_entries, piece)
                .ok()?
                .next()?;
            let lower = lower::Lower {
                offset: piece_offset,
            };
            let mut entries = Vec::new();
            lower.schema_entries(top.into_inner(), &mut entries).ok()?;
            Some(entries)
        })
        .collect();
    let pieces = pieces?;
    let mut entries = Vec::with_capacity(pieces.iter().map(Vec::len).sum());
    for p in pieces {
        entries.extend(p);
    }
    Some(ast::Schema {
        entries,
        span: Span::new(offset, offset + close + 1),
    })
}

/// Parses one expression on its own (used by tests and tools).
pub fn parse_expr(source: &str) -> Result<ast::Expr, Diagnostic> {
    if let Some(deep) = scan::scan(source).too_deep {
        return Err(Diagnostic::error(
            Code::TooDeep,
            Span::new(deep, deep + 1),
            "brackets nest too deep",
        ));
    }
    let mut pairs =
        FunnelParser::parse(Rule::expr, source).map_err(|e| syntax_error(&e, source, 0))?;
    let lower = lower::Lower { offset: 0 };
    let pair = pairs
        .next()
        .ok_or_else(|| Diagnostic::error(Code::Syntax, Span::new(0, 0), "empty expression"))?;
    if pair.as_span().end() != source.trim_end().len() {
        let at = pair.as_span().end();
        return Err(Diagnostic::error(
            Code::Syntax,
            Span::new(at, source.len()),
            "unexpected text after the expression",
        ));
    }
    lower.expr(pair)
}

/// Parses one expectation on its own, `expect stage SQL` (a cell of a `cases` table).
pub fn parse_expect(source: &str) -> Result<ast::Expect, Diagnostic> {
    let mut pairs =
        FunnelParser::parse(Rule::expect_only, source).map_err(|e| syntax_error(&e, source, 0))?;
    let lower = lower::Lower { offset: 0 };
    let pair = pairs
        .next()
        .and_then(|p| p.into_inner().next())
        .ok_or_else(|| Diagnostic::error(Code::Syntax, Span::new(0, 0), "empty expectation"))?;
    lower.expect(pair)
}

/// Words that cannot name a trait, segment, score, stage or property: they start or join
/// expressions. Sorted. The grammar's `reserved` rule spells the same words (a unit test
/// holds the two together).
pub const RESERVED: [&str; 33] = [
    "and", "at", "between", "contains", "count", "days", "ends", "exists", "false", "first",
    "from", "grade", "has", "in", "is", "latest", "matches", "max", "min", "no", "not", "of", "or",
    "per", "rate", "score", "since", "starts", "then", "true", "when", "where", "within",
];

pub fn is_reserved(word: &str) -> bool {
    RESERVED.binary_search(&word).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use ast::*;

    fn expr(s: &str) -> Expr {
        match parse_expr(s) {
            Ok(e) => e,
            Err(d) => panic!("{s}: {}", d.message),
        }
    }

    #[test]
    fn precedence() {
        let e = expr("a or b and not c == 1 + 2 * 3");
        let ExprKind::Any(v) = &e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(v.len(), 2);
        let ExprKind::All(w) = &v[1].kind else {
            panic!()
        };
        assert!(
            matches!(&w[1].kind, ExprKind::Not(x) if matches!(x.kind, ExprKind::Binary { op: BinOp::Eq, .. }))
        );
    }

    #[test]
    fn flat_and() {
        let e = expr("a and b and c and d");
        assert!(matches!(&e.kind, ExprKind::All(v) if v.len() == 4));
    }

    #[test]
    fn count_with_filter_stops_before_comparison() {
        let e = expr("count email.opened where step in [1, 2] >= 1");
        let ExprKind::Binary { op, lhs, .. } = &e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(*op, BinOp::Ge);
        let ExprKind::Count(q) = &lhs.kind else {
            panic!()
        };
        assert!(matches!(
            q.filter.as_deref().map(|f| &f.kind),
            Some(ExprKind::In { .. })
        ));
    }

    #[test]
    fn between_and_does_not_join() {
        let e = expr("x between 150 and 500 and y");
        assert!(
            matches!(&e.kind, ExprKind::All(v) if v.len() == 2 && matches!(v[0].kind, ExprKind::Between{..}))
        );
    }

    #[test]
    fn sequences_and_scopes() {
        let e = expr("form.submitted then demo.requested within 30d");
        assert!(matches!(&e.kind, ExprKind::Then(v) if v.len() == 2 && v[1].within.is_some()));
        let e = expr("latest bant.assessed since entering MEL has at least 3 of [budget, need]");
        assert!(matches!(
            &e.kind,
            ExprKind::Has {
                test: HasTest::AtLeast { k: 3, .. },
                ..
            }
        ));
        let e = expr("amount of latest opportunity.created >= $4,500");
        assert!(matches!(&e.kind, ExprKind::Binary { .. }));
    }

    #[test]
    fn literals() {
        for (src, lit) in [
            ("40%", Literal::Percent(40.0)),
            (
                "$4,500",
                Literal::Money(Money {
                    amount: 4500.0,
                    currency: "USD".into(),
                }),
            ),
            (
                "4500 EUR",
                Literal::Money(Money {
                    amount: 4500.0,
                    currency: "EUR".into(),
                }),
            ),
            (
                "7d",
                Literal::Duration(Duration {
                    value: 7,
                    unit: DurationUnit::Days,
                }),
            ),
            ("2.5", Literal::Decimal(2.5)),
            ("\"a\\\"b\"", Literal::Text("a\"b".into())),
        ] {
            assert_eq!(expr(src).kind, ExprKind::Lit(lit), "{src}");
        }
    }

    #[test]
    fn not_in() {
        let e = expr("region not in [\"europe\"]");
        assert!(matches!(&e.kind, ExprKind::In { negated: true, .. }));
    }

    #[test]
    fn keywords_do_not_eat_names() {
        let e = expr("notes == 1 and origin == 2");
        assert!(matches!(&e.kind, ExprKind::All(_)));
    }

    #[test]
    fn a_broken_declaration_does_not_swallow_its_neighbours() {
        // `Stage` in capitals and an indented stage start no chunk of `scan`'s; the stage
        // before each is still read, and so is the indented one after a broken one.
        for (src, names) in [
            ("stage A { enter when x }\nStage B { enter when y }\n", vec!["A"]),
            ("stage A { enter when x }\n  stage B { enter when (y }\n", vec!["A"]),
            (
                "stage A {\n  enter when x and\n\n  stage B { enter when y }\n  stage C { enter when z }\n",
                vec!["B", "C"],
            ),
            ("stage A { enter when x }\n}\nstage B { enter when y }\n", vec!["A", "B"]),
        ] {
            let p = parse(src);
            let read: Vec<&str> = p
                .file
                .items
                .iter()
                .filter_map(|i| match i {
                    Item::Stage(s) => Some(s.name.text.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(read, names, "{src}");
            assert_eq!(p.diagnostics.len(), 1, "{src}: {:?}", p.diagnostics);
            assert_eq!(p.broken.len(), 1, "{src}");
        }
    }

    #[test]
    fn a_missing_plain_token_is_said_where_it_is_missing() {
        let src = "move SQO SQL on x\n";
        let d = &parse(src).diagnostics[0];
        assert_eq!(d.message, "expected `->`, found `SQL`");
        assert_eq!(&src[d.span.start..d.span.end], "SQL");
        let d = &parse("schema {\n  trait a int\n}\n").diagnostics[0];
        assert_eq!(d.message, "expected `:`, found `int`");
    }

    #[test]
    fn two_broken_stages_both_reported() {
        let src = "stage A {\n  enter form.submitted\n}\n\nstage B {\n  enter when (x\n}\n\nstage C {\n  enter when y\n}\n";
        let p = parse(src);
        assert_eq!(p.diagnostics.len(), 2, "{:?}", p.diagnostics);
        assert_eq!(p.file.items.len(), 1);
    }

    /// `RESERVED` and the grammar's `reserved` rule name the same words: every word of the
    /// table matches the rule whole, and of every word the grammar spells out (its keywords,
    /// types, periods, ...) and of near misses, the rule matches exactly those in the table.
    #[test]
    fn reserved_table_is_the_grammars_reserved_rule() {
        let rule = |w: &str| FunnelParser::parse(Rule::reserved, w).is_ok_and(|p| p.as_str() == w);
        assert!(
            RESERVED.windows(2).all(|w| w[0] < w[1]),
            "keep RESERVED sorted"
        );
        for w in RESERVED {
            assert!(
                rule(w),
                "`{w}` is in RESERVED but not in the grammar's `reserved`"
            );
        }
        let grammar = include_str!("../../grammar/funnel.pest");
        // Every `"word"` of the grammar: a quote, lowercase letters or hyphens, a quote.
        let mut words: Vec<String> = grammar
            .match_indices('"')
            .filter_map(|(at, _)| {
                let rest = &grammar[at + 1..];
                let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c == '-'))?;
                (end > 0 && rest[end..].starts_with('"')).then(|| rest[..end].to_string())
            })
            .collect();
        assert!(words.len() > 100, "{words:?}");
        for w in RESERVED {
            words.push(format!("{w}s"));
            words.push(format!("{w}_"));
            words.push(format!("{w}1"));
            words.push(w[..w.len() - 1].to_string());
            words.push(w.to_uppercase());
        }
        for w in [
            "any", "all", "last", "least", "missing", "with", "entering", "stage", "notes",
        ] {
            words.push(w.to_string());
        }
        for w in &words {
            assert_eq!(
                rule(w),
                is_reserved(w),
                "`{w}`: the grammar and RESERVED disagree"
            );
        }
    }

    fn big_schema(header: &str, tail: &str) -> String {
        let mut src = format!("schema{header}{{\n");
        for i in 0..3_000 {
            src.push_str(&format!(
                "  trait t{i}.x: int // trait {i}\n\n  /* event */ event e{i} {{ a: text, b: list<int>, }}\n  event f{i}\n"
            ));
        }
        src.push('}');
        src.push_str(tail);
        assert!(src.len() > SPLIT_SCHEMA_ABOVE);
        src
    }

    /// The block read whole by pest, as `parse` would without the cut.
    fn schema_whole(src: &str) -> Item {
        let pairs = FunnelParser::parse(Rule::file, src).unwrap();
        let (mut items, mut diags) = (Vec::new(), Vec::new());
        lower::Lower { offset: 0 }.file(pairs, &mut items, &mut diags);
        assert!(diags.is_empty());
        items.remove(0)
    }

    #[test]
    fn a_large_schema_in_pieces_is_the_schema_read_whole() {
        for (header, tail) in [
            (" ", "\n"),
            (" /* c */\n", " // done\n\n/* end */\n"),
            ("", ""),
        ] {
            let src = big_schema(header, tail);
            let pieces = parse_schema_in_pieces(&src, 0).expect("read in pieces");
            // Spans included.
            assert_eq!(Item::Schema(pieces), schema_whole(&src));
            let p = parse(&src);
            assert!(p.diagnostics.is_empty());
            assert_eq!(p.file.items, vec![schema_whole(&src)]);
        }
    }

    #[test]
    fn a_large_schema_pest_refuses_is_not_read_in_pieces() {
        // A no-break space is not a blank to the grammar, and a comment must be closed.
        for (header, tail) in [(" ", "\u{a0}\n"), (" ", "\n/* open\n"), ("\u{a0}", "\n")] {
            let src = big_schema(header, tail);
            assert!(parse_schema_in_pieces(&src, 0).is_none());
            assert!(!parse(&src).diagnostics.is_empty());
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = format!(
            "segment s = {}x{}\n",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        let p = parse(&src);
        assert_eq!(p.diagnostics[0].code, Code::TooDeep);
    }
}
