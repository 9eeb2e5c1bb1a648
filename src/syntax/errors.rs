//! Syntax errors said as what to type: pest's error, where it gave up and which rules it
//! tried there, turned into the user's words, with the common slips (`=` for `==`, single
//! quotes, keywords in capitals, a missing operand) named as such.

use pest::error::{ErrorVariant, InputLocation};
use pest::Parser as _;

use super::{is_reserved, scan, FunnelParser, Rule};
use crate::diag::{suggest, Code, Diagnostic};
use crate::span::Span;

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
        kw_for => "`for`",
        kw_tests | kw_fixture | kw_cases | kw_snapshot => "a declaration",
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
pub(super) fn word_at(rest: &str) -> &str {
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

pub(super) fn syntax_error(e: &pest::error::Error<Rule>, chunk: &str, offset: usize) -> Diagnostic {
    // Unbalanced brackets explain most failures better than whatever pest expected at the
    // point where it gave up: name the bracket that is never closed.
    if let Some(d) = scan::unclosed_text(chunk, offset).or_else(|| scan::unbalanced(chunk, offset))
    {
        return d;
    }
    let at = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(chunk.len());
    if let Some(d) = missing_token(chunk, offset, at) {
        return d;
    }
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
    // `file` when nothing at all could be read.
    let between_declarations = positives.contains(&Rule::EOI) || positives.contains(&Rule::file);
    let at_declaration = between_declarations && chunk[line_start..at].trim().is_empty();
    // A word where a declaration should start: a misspelt keyword.
    if at_declaration && tok_len > 0 && rest.starts_with(|c: char| c.is_alphabetic()) {
        let lower = word.to_lowercase();
        if let Some(form) = (lower == word).then(|| form_of(word)).flatten() {
            // The keyword is right, and pest lost track inside: one of the grammar's plain
            // tokens (`->`, `==`) is missing, and pest names only rules.
            return Diagnostic::error(
                Code::Syntax,
                span,
                format!("this `{word}` declaration cannot be read"),
            )
            .label("in this declaration")
            .help(format!("a {word} is written {form}"));
        }
        if lower != word && scan::TOP_LEVEL.contains(&lower.as_str()) {
            return in_lowercase(span, word, &lower);
        }
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
    // Only where an operator may come: `segment = x` is missing its name, not a `==`.
    let operator_expected = positives
        .iter()
        .any(|r| matches!(r, Rule::op_eq | Rule::kw_and));
    if operator_expected
        && rest.starts_with('=')
        && !rest.starts_with("==")
        && !chunk[..at].ends_with(['!', '<', '>'])
    {
        return single_equals(span);
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
        return in_lowercase(span, word, &lower);
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
            if *r == Rule::EOI || *r == Rule::file {
                describe(Rule::stage)
            } else if between_declarations && is_top_level_keyword(*r) {
                // Said once, as "a declaration"; `target` inside a kpi is just `target`.
                None
            } else {
                describe(*r)
            }
        })
        .collect();
    expected.sort_unstable();
    expected.dedup();
    // The words the grammar would take here (`from`, `event`), for a word written in capitals
    // or misspelt.
    let keywords: Vec<&str> = expected
        .iter()
        .filter_map(|e| e.strip_prefix('`')?.strip_suffix('`'))
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect();
    let is_word = rest.starts_with(|c: char| c.is_alphabetic());
    if is_word && word != lower && keywords.contains(&lower.as_str()) {
        return in_lowercase(span, word, &lower);
    }
    let misspelt = is_word
        .then(|| suggest::closest(word, keywords.iter().copied()))
        .flatten();
    let before = chunk[..at].split_whitespace().last().unwrap_or("");
    // Nothing more in the declaration: the next line is another declaration, or the end.
    // Point at the last word written and say what should follow it.
    // Also where a line stops after a word that cannot end anything (`trait role:`, `as of`)
    // and pest tripped over the next line.
    let stops_after = before
        .ends_with([':', '=', ',', '(', '[', '{', '<', '>', '+', '-', '*', '/'])
        || matches!(
            before,
            "when" | "on" | "of" | "from" | "by" | "per" | "where" | "within" | "since" | "as"
        );
    let next_line = chunk[..at].rfind('\n') > chunk[..at].rfind(before);
    let ends_here = (scan::only_blanks(rest) || (stops_after && next_line))
        && !before.is_empty()
        && !expected.is_empty();
    let mut d = if ends_here {
        let end = chunk[..at].trim_end().len();
        let word_at = end.saturating_sub(before.len());
        Diagnostic::error(
            Code::Syntax,
            Span::new(offset + word_at, offset + end),
            format!("expected {} after `{before}`", join_or(&expected)),
        )
        .label("something is missing after this")
    } else if expected.is_empty() {
        Diagnostic::error(Code::Syntax, span, format!("unexpected {found}")).label("here")
    } else {
        Diagnostic::error(
            Code::Syntax,
            span,
            format!("expected {}, found {found}", join_or(&expected)),
        )
        .label("here")
    };
    let declares = matches!(
        before,
        "segment" | "score" | "stage" | "trait" | "event" | "exit" | "grade"
    );
    if let Some(k) = misspelt.filter(|_| !ends_here) {
        d = d.help(format!("did you mean `{k}`?"));
    } else if declares && is_reserved(word) {
        d = d.help(format!(
            "`{word}` is a word of the language and cannot name a {before}: choose another name"
        ));
    } else if declares && expected.contains(&"a name") {
        d = d.help(format!("write the {before}'s name after `{before}`"));
    } else if rest.starts_with('=') && !rest.starts_with("==") {
        d = d.help("to compare, write `==`");
    } else if expected.contains(&"`when`") {
        d = d.help("a condition starts with `when`, e.g. `enter when form.submitted`");
    } else if matches!(before, "count" | "no" | "rate" | "latest" | "first" | "per") {
        d = d.help(format!(
            "`{before}` needs an event, e.g. `{before} email.opened`"
        ));
    }
    d
}

/// A plain token of the grammar missing (`->`, `==`, `:`, `=`), said where it is missing.
/// pest's errors name only rules, so for `move SQO SQL` it would point at `move`; read again
/// with pest's error detail on, the place it got furthest and the tokens it tried there are
/// known. Only where that is past `at`, where the ordinary error points.
fn missing_token(chunk: &str, offset: usize, at: usize) -> Option<Diagnostic> {
    // The detailed parse costs a few times the ordinary one: not for a huge declaration,
    // whose error is said the ordinary way.
    if chunk.len() > DETAILED_PARSE_MAX {
        return None;
    }
    // The detail switch is global: one detailed parse at a time, and the switch read back
    // off before another starts. A parse elsewhere that starts meanwhile only records more.
    static DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let result = {
        let _one = DETAIL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pest::set_error_detail(true);
        let result = FunnelParser::parse(Rule::file, chunk).map(|_| ());
        pest::set_error_detail(false);
        result
    };
    let attempts = result.err()?.parse_attempts()?;
    let furthest = attempts.max_position.min(chunk.len());
    // Between two words, not inside one (`70` of `70%`: the percent's own error is clearer).
    let between = chunk[..furthest].ends_with(char::is_whitespace)
        && !chunk[furthest..].starts_with(char::is_whitespace);
    if furthest <= at || !between {
        return None;
    }
    let mut tokens: Vec<String> = attempts
        .expected_tokens()
        .iter()
        .map(ToString::to_string)
        .filter(|t| {
            let c: Vec<char> = t.chars().collect();
            // Not a character range (`a..z`), a blank or a comment's start.
            let range = c.len() == 4 && c[1] == '.' && c[2] == '.';
            !range && !c.is_empty() && !matches!(t.as_str(), "\u{feff}" | "/" | "BUILTIN_RULE")
        })
        .map(|t| format!("`{t}`"))
        .collect();
    tokens.sort();
    tokens.dedup();
    if tokens.is_empty() {
        return None;
    }
    let rest = &chunk[furthest..];
    let found = found(chunk, furthest);
    let len = rest.chars().next().map_or(0, |c| {
        if c.is_alphanumeric() {
            word_at(rest).len()
        } else {
            c.len_utf8()
        }
    });
    let list = tokens.iter().map(String::as_str).collect::<Vec<_>>();
    if list == ["`==`"] && rest.starts_with('=') {
        return Some(single_equals(Span::new(
            offset + furthest,
            offset + furthest + 1,
        )));
    }
    let d = Diagnostic::error(
        Code::Syntax,
        Span::new(offset + furthest, offset + furthest + len),
        format!("expected {}, found {found}", join_or(&list)),
    )
    .label(format!("write {} before this", join_or(&list)));
    Some(d)
}

/// The largest declaration read again with pest's error detail on.
const DETAILED_PARSE_MAX: usize = 64 << 10;

/// A keyword written with capitals.
fn in_lowercase(span: Span, word: &str, lower: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Syntax,
        span,
        format!("`{word}` is written in lowercase: `{lower}`"),
    )
    .label(format!("write `{lower}`"))
    .help(format!("keywords are lowercase: write `{lower}`"))
}

fn single_equals(span: Span) -> Diagnostic {
    Diagnostic::error(Code::Syntax, span, "a single `=` does not compare")
        .label("write `==` here")
        .help("to compare, write `==`, e.g. `region == \"us-east\"`")
}

/// How a top-level declaration is written, for an error that cannot say more.
fn form_of(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "funnel" => "`funnel \"Name\"`",
        "schema" => "`schema { trait NAME: TYPE  event NAME { PROPERTY: TYPE } }`",
        "segment" => "`segment NAME = CONDITION`",
        "score" => "`score NAME max 100 { +10 when CONDITION  grade A from 50 }`",
        "stage" => "`stage NAME \"Title\" owner TEAM { enter when CONDITION }`",
        "move" => "`move FROM -> TO on EVENT` or `move FROM -> TO when CONDITION`",
        "exit" => "`exit NAME from STAGE on EVENT` or `exit NAME from STAGE when CONDITION`",
        "kpi" => "`kpi conversion FROM -> TO { good from 70% }` or `kpi velocity FROM -> TO { target at most 7d }`",
        "target" => "`target volume STAGE monthly from 2025-01 = 30`",
        "dimensions" => "`dimensions [TRAIT, TRAIT]`",
        "cost" => "`cost by TRAIT monthly { \"value\": $1,000 }`",
        "revenue" => "`revenue monthly PROPERTY of EVENT`",
        "test" => "`test \"name\" { traits { ... } events { ... } expect stage NAME }`",
        "fixture" => "`fixture \"name\" { traits { ... } events { ... } }`",
        "cases" => "`cases \"name\" { rows \"file.csv\" }`",
        "tests" => "`tests for \"rules.funnel\"`",
        "snapshot" => "`snapshot \"name\" { leads \"leads.jsonl\" }`",
        _ => return None,
    })
}

/// Whether `r` is the keyword of a top-level declaration (`kw_stage`, ...). The rule's name
/// spells the word, so `scan::TOP_LEVEL` stays the one list of them.
fn is_top_level_keyword(r: Rule) -> bool {
    format!("{r:?}")
        .strip_prefix("kw_")
        .is_some_and(|w| scan::TOP_LEVEL.contains(&w))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    /// The one error of `src`, as (message, the text it points at, its help).
    fn error(src: &str) -> (String, String, Option<String>) {
        let p = super::super::parse(src);
        assert_eq!(p.diagnostics.len(), 1, "{src}: {:?}", p.diagnostics);
        let d = &p.diagnostics[0];
        (
            d.message.clone(),
            src[d.span.start..d.span.end].to_string(),
            d.help.clone(),
        )
    }

    #[test]
    fn a_keyword_in_capitals_or_misspelt_where_one_is_expected() {
        let (m, at, _) = error("schema {\n  Trait a: int\n}\n");
        assert_eq!(
            (m.as_str(), at.as_str()),
            ("`Trait` is written in lowercase: `trait`", "Trait")
        );
        let (m, _, help) = error("score s { +1 when x\n  grade A form 1\n}\n");
        assert_eq!(m, "expected `from`, found `form`");
        assert_eq!(help.as_deref(), Some("did you mean `from`?"));
    }

    #[test]
    fn a_line_that_stops_short_is_pointed_at_not_the_next_one() {
        let (m, at, _) = error("schema {\n  trait a:\n  trait b: int\n}\n");
        assert!(m.starts_with("expected a type"), "{m}");
        assert_eq!(at, "a:");
        let (m, at, _) = error("stage A {\n  enter when\n}\n");
        assert_eq!(m, "expected a condition or value after `when`");
        assert_eq!(at, "when");
    }

    #[test]
    fn a_single_equals_only_where_an_operator_may_stand() {
        let (m, _, help) = error("segment = a == 1\n");
        assert_eq!(m, "expected a name, found `=`");
        assert_eq!(
            help.as_deref(),
            Some("write the segment's name after `segment`")
        );
        let (m, _, _) = error("test \"t\" {\n  expect grade fit = A\n}\n");
        assert_eq!(m, "a single `=` does not compare");
    }
}
