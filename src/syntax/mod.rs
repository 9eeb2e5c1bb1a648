//! Source text → AST. pest stays behind this module: nothing outside `syntax` sees a pest type.

pub mod ast;
pub mod fmt;
mod lower;
pub mod scan;

use pest::error::{ErrorVariant, InputLocation};
use pest::Parser as _;
use rayon::prelude::*;

use crate::diag::{suggest, Code, Diagnostic};
use crate::span::Span;
use ast::File;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/funnel.pest"]
struct FunnelParser;

/// The result of parsing: every declaration that could be read, and a diagnostic for each
/// part that could not.
pub struct Parsed {
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
    pub comments: Vec<scan::Comment>,
    /// The declarations that could not be read, as their first two words say:
    /// (`stage`, `SQL`), (`schema`, ``). Errors that only follow from their absence (an
    /// unknown stage of that name) are knock-on errors the front end leaves out.
    pub broken: Vec<(String, String)>,
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
    let pieces: Vec<(Vec<ast::Item>, Vec<Diagnostic>)> = groups
        .par_iter()
        .map(|&(start, end)| {
            let whole = parse_chunk(source, start, end, scanned.too_deep);
            let single =
                bounds.binary_search(&end).ok() == bounds.binary_search(&start).ok().map(|i| i + 1);
            if whole.1.is_empty() || single {
                return whole;
            }
            let (lo, hi) = match (bounds.binary_search(&start), bounds.binary_search(&end)) {
                (Ok(lo), Ok(hi)) => (lo, hi),
                _ => return whole,
            };
            let mut items = Vec::new();
            let mut diags = Vec::new();
            for w in bounds[lo..=hi].windows(2) {
                let (i, d) = parse_chunk(source, w[0], w[1], scanned.too_deep);
                items.extend(i);
                diags.extend(d);
            }
            (items, diags)
        })
        .collect();
    // Sized once: a large file has tens of thousands of items of a few hundred bytes.
    let mut items = Vec::with_capacity(pieces.iter().map(|p| p.0.len()).sum());
    let mut diagnostics = Vec::new();
    for (i, d) in pieces {
        items.extend(i);
        diagnostics.extend(d);
    }
    let mut broken: Vec<(String, String)> = Vec::new();
    for d in &diagnostics {
        let i = bounds
            .partition_point(|b| *b <= d.span.start)
            .saturating_sub(1);
        let (start, end) = (
            bounds[i],
            bounds.get(i + 1).copied().unwrap_or(source.len()),
        );
        let mut words = source[start..end]
            .split(|c: char| c.is_whitespace() || matches!(c, '{' | '=' | '"' | '('))
            .filter(|w| !w.is_empty());
        let keyword = words.next().unwrap_or("").to_string();
        let name = words.next().unwrap_or("").to_string();
        if scan::TOP_LEVEL.contains(&keyword.as_str())
            && !broken.contains(&(keyword.clone(), name.clone()))
        {
            broken.push((keyword, name));
        }
        // A misspelt keyword (`stge MQL`) starts no chunk of its own: the name after it is
        // declared too, of a kind unknown (`?`).
        if d.message.starts_with("unknown declaration") {
            let mut words = source[d.span.end..]
                .split(|c: char| c.is_whitespace() || matches!(c, '{' | '=' | '"' | '('))
                .filter(|w| !w.is_empty());
            if let Some(name) = words.next() {
                broken.push(("?".to_string(), name.to_string()));
            }
        }
    }
    Parsed {
        file: File { items },
        diagnostics,
        comments: scanned.comments,
        broken,
    }
}

fn parse_chunk(
    source: &str,
    start: usize,
    end: usize,
    too_deep: Option<usize>,
) -> (Vec<ast::Item>, Vec<Diagnostic>) {
    let mut items = Vec::new();
    let mut diagnostics = Vec::new();
    let chunk = &source[start..end];
    if let Some(deep) = too_deep.filter(|d| (start..end).contains(d)) {
        diagnostics.push(
            Diagnostic::error(
                Code::TooDeep,
                Span::new(deep, deep + 1),
                format!("brackets nest more than {} deep", scan::MAX_DEPTH),
            )
            .label("too deep from here")
            .help("split the condition into named segments"),
        );
        return (items, diagnostics);
    }
    if chunk.len() > SPLIT_SCHEMA_ABOVE && chunk.starts_with("schema") {
        if let Some(schema) = parse_schema_in_pieces(chunk, start) {
            items.push(ast::Item::Schema(schema));
            return (items, diagnostics);
        }
    }
    let lower = lower::Lower { offset: start };
    match FunnelParser::parse(Rule::file, chunk) {
        Ok(pairs) => lower.file(pairs, &mut items, &mut diagnostics),
        Err(e) => diagnostics.push(syntax_error(&e, chunk, start)),
    }
    (items, diagnostics)
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

/// What the user would call the thing pest expected.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    let s = match rule {
        EOI => "the end of the file",
        ident | path => "a name",
        number | int | signed | points => "a number",
        percent => "a percentage like `40%`",
        money => "an amount like `$4,500`",
        duration => "a duration like `7d`",
        date | timestamp => "a date like `2025-01-31`",
        month => "a month like `2025-01`",
        string => "text in double quotes",
        boolean => "`true` or `false`",
        expr | paren | list | count_q | rate_q | no_q | days_since | days_entering | latest_q
        | prop_of | at_least | score_ref | grade_ref | sequence | event_q | op_neg | kw_not
        | bound | where_pred => "a condition or value",
        kw_or | kw_and | op_eq | op_ne | op_le | op_ge | op_lt | op_gt | op_add | op_sub
        | op_mul | op_div => "an operator",
        pf_in | pf_not_in | pf_between | pf_contains | pf_contains_all | pf_contains_any
        | pf_exists | pf_missing | pf_starts | pf_ends | pf_matches => "an operator",
        where_clause | kw_where => "`where`",
        within_scope | kw_within => "`within`",
        since_scope | kw_since => "`since`",
        kw_then => "`then`",
        type_expr | scalar_type | list_type => {
            "a type (bool, int, decimal, percent, money, duration, date, timestamp, text, list<...>)"
        }
        funnel_decl | schema | segment | score | stage | move_decl | exit_decl | kpi | target
        | dimensions | cost | revenue | test_decl | fixture_decl | cases_decl | tests_for
        | snapshot_decl => {
            "a declaration (schema, segment, score, stage, move, exit, kpi, target, test, ...)"
        }
        trait_decl | kw_trait => "`trait`",
        event_decl | kw_event => "`event`",
        prop_decl => "a property like `step: int`",
        score_max | kw_max => "`max`",
        score_min | kw_min => "`min`",
        score_decay | kw_decay => "`decay`",
        half_life | kw_half_life => "`half-life`",
        expire | kw_expire => "`expire`",
        score_rule => "a score rule like `+10 when ...`",
        grade_decl | kw_grade => "`grade`",
        rule_when | kw_when => "`when`",
        on_event | kw_on => "`on`",
        trigger_q => "an event",
        rule_per | kw_per => "`per`",
        rule_cap => "`max`",
        stage_owner | kw_owner => "`owner`",
        stage_sla | kw_sla => "`sla`",
        enter_rule | kw_enter => "`enter when ...`",
        stage_set => "a stage, a list of stages or `any`",
        priority | kw_priority => "`priority`",
        kpi_conversion | kw_conversion => "`conversion`",
        kpi_velocity | kw_velocity => "`velocity`",
        band => "a band like `good from 70%`",
        band_below => "`below`",
        band_from | kw_from => "`from`",
        band_between | kw_between => "`between`",
        period => "`monthly`, `weekly` or `quarterly`",
        kw_growing => "`growing`",
        cost_entry => "an entry like `\"linkedin\": $4,500`",
        test_as_of => "`as of`",
        test_traits | kw_traits => "`traits`",
        test_events | kw_events => "`events`",
        test_event => "an event like `2025-01-03 email.opened { step: 1 }`",
        expect | kw_expect | expect_only => "`expect`",
        test_base => "`from \"fixture name\"`",
        cases_rows | kw_rows => "`rows \"file.csv\"`",
        expect_by | kw_by => "`by`",
        by_enter => "`enter`",
        by_move => "`move`",
        expect_on => "`on`",
        kw_tests | kw_for | kw_fixture | kw_cases | kw_snapshot => "a declaration",
        snapshot_leads | kw_leads => "`leads \"file.jsonl\"`",
        expect_stage | expect_entered | expect_not_entered | expect_exited | expect_score
        | expect_grade => "an expectation (stage, entered, exited, score, grade)",
        object => "`{`",
        field => "a field like `name: value`",
        value | value_list => "a value",
        has_clause | kw_has => "`has`",
        name_list => "a list of names",
        kw_of => "`of`",
        kw_at => "`at`",
        kw_least => "`least`",
        kw_entering => "`entering`",
        kw_most => "`most`",
        kw_volume => "`volume`",
        kw_target => "`target`",
        kw_as => "`as`",
        kw_entered => "`entered`",
        kw_exited => "`exited`",
        kw_with => "`with`",
        kw_all => "`all`",
        kw_any => "`any`",
        kw_in => "`in`",
        kw_is => "`is`",
        kw_missing => "`missing`",
        _ => return None,
    };
    Some(s)
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// The dotted word `rest` starts with, as errors quote it.
fn word_at(rest: &str) -> &str {
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The token at `at`, as the user would point at it.
fn found(chunk: &str, at: usize) -> String {
    let rest = &chunk[at.min(chunk.len())..];
    let Some(c) = rest.chars().next() else {
        return "the end of the file".to_string();
    };
    if c == '\0' {
        return "a NUL byte".to_string();
    }
    if c == '\n' || c == '\r' {
        return "the end of the line".to_string();
    }
    if c.is_alphanumeric() || c == '_' {
        let word: String = word_at(rest).chars().take(40).collect();
        return format!("`{word}`");
    }
    format!("`{}`", c.escape_debug())
}

fn syntax_error(e: &pest::error::Error<Rule>, chunk: &str, offset: usize) -> Diagnostic {
    // Unbalanced brackets explain most failures better than whatever pest expected at the
    // point where it gave up: name the bracket that is never closed.
    if let Some(d) = scan::unbalanced(chunk, offset) {
        return d;
    }
    let at = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(chunk.len());
    let found = found(chunk, at);
    let rest = &chunk[at..];
    let tok_len = rest.chars().next().map_or(0, |c| {
        if c.is_alphanumeric() {
            word_at(rest).len()
        } else {
            c.len_utf8()
        }
    });
    let span = Span::new(offset + at, offset + at + tok_len);
    let positives: &[Rule] = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        ErrorVariant::CustomError { .. } => &[],
    };
    let word = found.trim_matches('`');
    let line_start = chunk[..at].rfind('\n').map_or(0, |i| i + 1);
    let between_declarations = positives.contains(&Rule::EOI);
    let at_declaration = between_declarations && chunk[line_start..at].trim().is_empty();
    // A word where a declaration should start: a misspelt keyword.
    if at_declaration && tok_len > 0 && rest.starts_with(|c: char| c.is_alphabetic()) {
        let help = suggest::did_you_mean(word, scan::TOP_LEVEL).unwrap_or_else(|| {
            format!(
                "a declaration starts with one of: {}",
                scan::TOP_LEVEL.join(", ")
            )
        });
        return Diagnostic::error(Code::Syntax, span, format!("unknown declaration `{word}`"))
            .label("not a declaration")
            .help(help);
    }
    if rest.starts_with(['“', '”', '‘', '’']) {
        return Diagnostic::error(Code::Syntax, span, format!("unexpected curly quote {found}"))
            .label("here")
            .help("write text in straight double quotes, e.g. \"us-east\" (word processors turn them curly)");
    }
    // The common slips, each said as what to type instead of pest's list of expectations.
    if rest.starts_with('=') && !rest.starts_with("==") && !chunk[..at].ends_with(['!', '<', '>']) {
        return Diagnostic::error(Code::Syntax, span, "a single `=` does not compare")
            .label("write `==` here")
            .help("to compare, write `==`, e.g. `region == \"us-east\"`");
    }
    if let Some(inner) = rest.strip_prefix('\'') {
        let end = inner.find(['\'', '\n']).map_or(1, |i| i + 2);
        let quoted = &rest[..end];
        let fixed = format!("\"{}\"", quoted.trim_matches('\''));
        return Diagnostic::error(
            Code::Syntax,
            Span::new(offset + at, offset + at + quoted.len()),
            "text is written in double quotes",
        )
        .label(format!("write {fixed}"))
        .help(format!(
            "write {fixed}: single quotes are not text in rule files"
        ));
    }
    let lower = word.to_lowercase();
    if word != lower
        && matches!(
            lower.as_str(),
            "and" | "or" | "not" | "when" | "in" | "where"
        )
    {
        return Diagnostic::error(
            Code::Syntax,
            span,
            format!("`{word}` is written in lowercase: `{lower}`"),
        )
        .label(format!("write `{lower}`"))
        .help(format!("keywords are lowercase: write `{lower}`"));
    }
    // An operator with nothing after it: point at the operator, not at the next line.
    let before_word = chunk[..at].split_whitespace().last().unwrap_or("");
    let operand_missing = matches!(
        before_word,
        "and" | "or" | "not" | "==" | "!=" | ">=" | "<=" | ">" | "<" | "+" | "-" | "*" | "/"
    ) && (rest.trim_start().is_empty()
        || rest.trim_start().starts_with(['}', ')', ']'])
        || chunk[..at].rfind('\n') > chunk[..at].rfind(before_word));
    if operand_missing {
        let op_at = chunk[..at].rfind(before_word).unwrap_or(at);
        let what = if matches!(before_word, "and" | "or" | "not") {
            "a condition"
        } else {
            "a value"
        };
        return Diagnostic::error(
            Code::Syntax,
            Span::new(offset + op_at, offset + op_at + before_word.len()),
            format!("`{before_word}` needs {what} after it"),
        )
        .label(format!("{what} is missing after this"))
        .help(format!(
            "write {what} after `{before_word}`, or remove `{before_word}`"
        ));
    }
    if word == "a NUL byte" {
        return Diagnostic::error(Code::Syntax, span, "the file contains a NUL byte")
            .label("here")
            .help("rule files are text: is this a binary file, or was it saved in UTF-16?");
    }
    let mut expected: Vec<&str> = positives
        .iter()
        .filter_map(|r| {
            if *r == Rule::EOI {
                describe(Rule::stage)
            } else if is_top_level_keyword(*r) {
                None
            } else {
                describe(*r)
            }
        })
        .collect();
    expected.sort_unstable();
    expected.dedup();
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_or(&expected))
    };
    let mut d = Diagnostic::error(Code::Syntax, span, message).label("here");
    let before = chunk[..at].split_whitespace().last().unwrap_or("");
    let declares = matches!(
        before,
        "segment" | "score" | "stage" | "trait" | "event" | "exit" | "grade"
    );
    if declares && is_reserved(word) {
        d = d.help(format!(
            "`{word}` is a word of the language and cannot name a {before}: choose another name"
        ));
    } else if rest.starts_with('=') && !rest.starts_with("==") {
        d = d.help("to compare, write `==`");
    } else if expected.contains(&"`when`") {
        d = d.help("a condition starts with `when`, e.g. `enter when form.submitted`");
    } else if matches!(before, "count" | "no" | "rate" | "latest" | "first" | "per") {
        d = d.help(format!(
            "`{before}` needs an event, e.g. `{before} email.opened`"
        ));
    } else if found == "the end of the file" {
        d = d.help("is a `}` or `)` missing?");
    }
    d
}

/// Whether `r` is the keyword of a top-level declaration (`kw_stage`, ...). The rule's name
/// spells the word, so `scan::TOP_LEVEL` stays the one list of them.
fn is_top_level_keyword(r: Rule) -> bool {
    format!("{r:?}")
        .strip_prefix("kw_")
        .is_some_and(|w| scan::TOP_LEVEL.contains(&w))
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
