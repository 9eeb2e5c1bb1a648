//! Conditions: the fewest parentheses that read back to the same tree, and long `and`/`or`
//! chains broken one operand per line.

use super::literals::{duration, lit};
use super::{names, width, WIDTH};
use crate::syntax::ast::*;

/// An operand of an `and` or `or` chain: a nested chain of either kind is put in parentheses
/// (`a or (b and c)`), so a reader need not know that `and` binds tighter.
const CHAIN_ITEM: Prec = Prec::Not;

/// The least precedence of the value a postfix test applies to: tighter than the test, so
/// `(x in a) in b` keeps its parentheses, although the parser would read it the same without.
fn postfix_value(test: &Expr) -> Prec {
    test.kind.prec().tighter()
}

fn is_chain(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::All(_) | ExprKind::Any(_))
}

/// `e` where the context needs at least precedence `min`: in parentheses if it binds looser.
fn sub(e: &Expr, min: Prec, exposed: bool) -> String {
    if e.kind.prec() < min {
        format!("({})", expr(e, false))
    } else {
        expr(e, exposed)
    }
}

/// The argument of a postfix test (`in`, `contains`, ...): the grammar takes a literal, a
/// list, a name, a score or a grade; anything else goes in parentheses.
fn arg(e: &Expr) -> String {
    match closed(e) {
        Some(s) => s,
        None => format!("({})", expr(e, false)),
    }
}

/// A `between` bound: a term, optionally negated.
fn bound(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Neg(x) if closed(x).is_some() => format!("-{}", expr(x, false)),
        _ => arg(e),
    }
}

fn which_latest(w: Which) -> &'static str {
    match w {
        Which::First => "first",
        Which::Last => "latest",
    }
}

/// Prints an expression with the fewest parentheses that read back to the same tree.
///
/// `exposed` says the text will be followed directly by a comparison or a postfix test. It
/// matters for an event query ending the text: a bare `where` filter without an operator
/// (`count e where x >= 1`) would take the comparison as its own.
pub(super) fn expr(e: &Expr, exposed: bool) -> String {
    match &e.kind {
        ExprKind::Lit(l) => lit(l),
        ExprKind::List(items) => {
            let items: Vec<String> = items.iter().map(|i| expr(i, false)).collect();
            format!("[{}]", items.join(", "))
        }
        ExprKind::Name(n) => n.text.clone(),
        ExprKind::Event(q) => query(q, exposed),
        ExprKind::Count(q) => format!("count {}", query(q, exposed)),
        ExprKind::Rate(a, b) => format!("rate {} / {}", query(a, false), query(b, exposed)),
        ExprKind::No(q) => format!("no {}", query(q, exposed)),
        ExprKind::DaysSince(w, q) => {
            let w = match w {
                Which::First => "first",
                Which::Last => "last",
            };
            format!("days since {w} {}", query(q, exposed))
        }
        ExprKind::DaysSinceEntering(n) => format!("days since entering {n}"),
        ExprKind::Has {
            which,
            query: q,
            test,
        } => {
            let test = match test {
                HasTest::Prop(p) => p.text.clone(),
                HasTest::AtLeast { k, props } => format!("at least {k} of [{}]", names(props)),
            };
            format!("{} {} has {test}", which_latest(*which), query(q, false))
        }
        ExprKind::PropOf {
            prop,
            which,
            query: q,
        } => format!("{prop} of {} {}", which_latest(*which), query(q, exposed)),
        ExprKind::Then(steps) => {
            let last = steps.len().saturating_sub(1);
            let steps: Vec<String> = steps
                .iter()
                .enumerate()
                .map(|(i, q)| query(q, exposed && i == last))
                .collect();
            steps.join(" then ")
        }
        ExprKind::AtLeast { k, items } => {
            let items: Vec<String> = items.iter().map(|i| expr(i, false)).collect();
            format!("at least {k} of [{}]", items.join(", "))
        }
        ExprKind::Score(n) => format!("score {n}"),
        ExprKind::Grade(n) => format!("grade {n}"),
        ExprKind::Not(x) => format!("not {}", sub(x, Prec::Not, exposed)),
        ExprKind::Neg(x) => format!("-{}", sub(x, Prec::Neg, exposed)),
        ExprKind::All(v) => chain(v, " and ", exposed),
        ExprKind::Any(v) => chain(v, " or ", exposed),
        ExprKind::Binary { op, lhs, rhs } => {
            // Comparisons are printed as if they did not chain; arithmetic is left-associative,
            // so an equal-precedence right operand needs parentheses and a left one does not.
            let level = Operator::Binary(*op).prec();
            let (l, r) = if op.is_comparison() {
                (level.tighter(), level.tighter())
            } else {
                (level, level.tighter())
            };
            format!(
                "{} {} {}",
                sub(lhs, l, op.is_comparison()),
                op.symbol(),
                sub(rhs, r, exposed)
            )
        }
        ExprKind::In {
            value,
            list,
            negated,
        } => {
            let word = if *negated { "not in" } else { "in" };
            format!(
                "{} {word} {}",
                sub(value, postfix_value(e), true),
                arg(list)
            )
        }
        ExprKind::Between { value, lo, hi } => format!(
            "{} between {} and {}",
            sub(value, postfix_value(e), true),
            bound(lo),
            bound(hi)
        ),
        ExprKind::Test { value, op, arg: a } => {
            format!(
                "{} {} {}",
                sub(value, postfix_value(e), true),
                op.words(),
                arg(a)
            )
        }
        ExprKind::Exists(v) => format!("{} exists", sub(v, postfix_value(e), true)),
        ExprKind::Missing(v) => format!("{} is missing", sub(v, postfix_value(e), true)),
    }
}

fn chain(v: &[Expr], word: &str, exposed: bool) -> String {
    let last = v.len().saturating_sub(1);
    let parts: Vec<String> = v
        .iter()
        .enumerate()
        .map(|(i, c)| sub(c, CHAIN_ITEM, exposed && i == last))
        .collect();
    parts.join(word)
}

pub(super) fn query(q: &EventQuery, exposed: bool) -> String {
    let mut s = q.event.text.clone();
    if let Some(f) = &q.filter {
        // Scopes after the filter shield it from what follows the query.
        let exposed = exposed && q.within.is_none() && q.since.is_none();
        let f = where_bare(f, exposed).unwrap_or_else(|| format!("({})", expr(f, false)));
        s = format!("{s} where {f}");
    }
    if let Some(d) = &q.within {
        s = format!("{s} within {}", duration(d.value));
    }
    if let Some(n) = &q.since {
        s = format!("{s} since entering {n}");
    }
    s
}

/// The filter in the grammar's bare `where_pred` shape (`[not] term [test | cmp [-]term]`),
/// or `None` when it needs parentheses.
fn where_bare(f: &Expr, exposed: bool) -> Option<String> {
    let (not, core) = match &f.kind {
        ExprKind::Not(x) => ("not ", &**x),
        _ => ("", f),
    };
    let body = match &core.kind {
        ExprKind::Lit(_) | ExprKind::List(_) | ExprKind::Name(_) => {
            // Nothing would stop the predicate from taking a following operator as its own.
            if exposed {
                return None;
            }
            expr(core, false)
        }
        ExprKind::In {
            value,
            list,
            negated,
        } => {
            let word = if *negated { "not in" } else { "in" };
            format!("{} {word} {}", where_term(value)?, closed(list)?)
        }
        ExprKind::Between { value, lo, hi } => {
            let b = |e: &Expr| match &e.kind {
                ExprKind::Neg(x) => closed(x).map(|x| format!("-{x}")),
                _ => closed(e),
            };
            format!("{} between {} and {}", where_term(value)?, b(lo)?, b(hi)?)
        }
        ExprKind::Test { value, op, arg: a } => {
            format!("{} {} {}", where_term(value)?, op.words(), closed(a)?)
        }
        ExprKind::Exists(v) => format!("{} exists", where_term(v)?),
        ExprKind::Missing(v) => format!("{} is missing", where_term(v)?),
        ExprKind::Binary { op, lhs, rhs } if op.is_comparison() => {
            let r = match &rhs.kind {
                ExprKind::Neg(x) => format!("-{}", where_term(x)?),
                _ => where_term(rhs)?,
            };
            format!("{} {} {r}", where_term(lhs)?, op.symbol())
        }
        _ => return None,
    };
    Some(format!("{not}{body}"))
}

/// The grammar's `where_term` (a literal, list or path) without parentheses.
fn where_term(e: &Expr) -> Option<String> {
    matches!(
        e.kind,
        ExprKind::Lit(_) | ExprKind::List(_) | ExprKind::Name(_)
    )
    .then(|| expr(e, false))
}

/// A test argument as the grammar's `pf_arg` reads it without parentheses.
fn closed(e: &Expr) -> Option<String> {
    matches!(
        e.kind,
        ExprKind::Lit(_)
            | ExprKind::List(_)
            | ExprKind::Score(_)
            | ExprKind::Grade(_)
            | ExprKind::Name(_)
    )
    .then(|| expr(e, false))
}

/// `head expr` on one line; when that is too wide at `depth` and the condition is an
/// `and`/`or` chain, `head` alone and one operand per line below it.
pub(super) fn cond_lines(head: &str, e: &Expr, depth: usize) -> Vec<String> {
    let one = format!("{head} {}", expr(e, false));
    if depth * 2 + width(&one) <= WIDTH || !is_chain(e) {
        return vec![one];
    }
    let mut lines = vec![head.to_string()];
    chain_lines(e, depth, 1, &mut lines);
    lines
}

/// One operand of the chain `e` per line, `rel` levels below the line at `depth`, each after
/// the first starting with `and `/`or `; a nested chain still too wide opens its own group.
fn chain_lines(e: &Expr, depth: usize, rel: usize, lines: &mut Vec<String>) {
    let (items, word) = match &e.kind {
        ExprKind::All(v) => (v, "and "),
        ExprKind::Any(v) => (v, "or "),
        _ => return,
    };
    let pad = "  ".repeat(rel);
    for (i, c) in items.iter().enumerate() {
        let prefix = if i == 0 { "" } else { word };
        let one = format!("{pad}{prefix}{}", sub(c, CHAIN_ITEM, false));
        if depth * 2 + width(&one) > WIDTH && is_chain(c) {
            lines.push(format!("{pad}{prefix}("));
            chain_lines(c, depth, rel + 1, lines);
            lines.push(format!("{pad})"));
        } else {
            lines.push(one);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::span::Span;
    use crate::syntax::fmt::format_file;
    use crate::syntax::fmt::tests::{check, ex};
    use crate::syntax::parse;

    fn node(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::default(),
        }
    }

    fn leaf(text: &str) -> Expr {
        node(ExprKind::Name(Name {
            text: text.into(),
            span: Span::default(),
        }))
    }

    /// `op` applied to plain operands, with `fill` in operand `slot` (every child expression
    /// is a slot, a test's argument included); `None` past the last slot.
    fn apply(op: Operator, slot: usize, fill: &Expr) -> Option<Expr> {
        let mut operands: Vec<Expr> = match op {
            Operator::Or | Operator::And | Operator::Binary(_) => vec![leaf("x"), leaf("y")],
            Operator::Not | Operator::Neg | Operator::Exists | Operator::Missing => {
                vec![leaf("x")]
            }
            Operator::In { .. } | Operator::Test(TestOp::ContainsAll | TestOp::ContainsAny) => {
                vec![leaf("x"), node(ExprKind::List(vec![leaf("y")]))]
            }
            Operator::Test(_) => vec![leaf("x"), node(ExprKind::Lit(Literal::Text("y".into())))],
            Operator::Between => vec![leaf("x"), leaf("lo"), leaf("hi")],
        };
        *operands.get_mut(slot)? = fill.clone();
        let mut it = operands.into_iter().map(Box::new);
        let mut next = || it.next().unwrap();
        let kind = match op {
            Operator::Or => ExprKind::Any(vec![*next(), *next()]),
            Operator::And => ExprKind::All(vec![*next(), *next()]),
            Operator::Not => ExprKind::Not(next()),
            Operator::Neg => ExprKind::Neg(next()),
            Operator::Binary(op) => ExprKind::Binary {
                op,
                lhs: next(),
                rhs: next(),
            },
            Operator::In { negated } => ExprKind::In {
                value: next(),
                list: next(),
                negated,
            },
            Operator::Between => ExprKind::Between {
                value: next(),
                lo: next(),
                hi: next(),
            },
            Operator::Test(op) => ExprKind::Test {
                value: next(),
                op,
                arg: next(),
            },
            Operator::Exists => ExprKind::Exists(next()),
            Operator::Missing => ExprKind::Missing(next()),
        };
        Some(node(kind))
    }

    /// The formatter and the parser read the one precedence table the same way: every
    /// operator, with every operator (or a name) in each of its operand places, prints to text
    /// that parses back to the same tree.
    #[test]
    fn every_operator_pair_reads_back() {
        let inner: Vec<Expr> = std::iter::once(leaf("z"))
            .chain(
                Operator::ALL
                    .iter()
                    .filter_map(|&op| apply(op, 0, &leaf("z"))),
            )
            .collect();
        let mut cases = 0;
        for outer in Operator::ALL {
            for slot in 0.. {
                let Some(_) = apply(outer, slot, &leaf("z")) else {
                    break;
                };
                for fill in &inner {
                    // `(a and b) and c` reads as one flat chain: the parser never builds a
                    // chain whose first item is a chain of the same kind.
                    if slot == 0
                        && matches!(outer, Operator::And | Operator::Or)
                        && fill.kind.operator() == Some(outer)
                    {
                        continue;
                    }
                    let Some(e) = apply(outer, slot, fill) else {
                        continue;
                    };
                    let file = File {
                        items: vec![Item::Segment(Segment {
                            name: Name {
                                text: "s".into(),
                                span: Span::default(),
                            },
                            expr: e,
                            span: Span::default(),
                        })],
                    };
                    let out = format_file(&file, &[], "");
                    let back = parse(&out);
                    assert!(back.diagnostics.is_empty(), "{out}{:?}", back.diagnostics);
                    assert_eq!(back.file.without_spans(), file, "{out}");
                    cases += 1;
                }
            }
        }
        assert!(cases > 1000, "{cases}");
    }

    #[test]
    fn minimal_parentheses() {
        for (src, want) in [
            ("a or b and c", "a or (b and c)"),
            ("(a or b) and c", "(a or b) and c"),
            ("a and (b and c)", "a and (b and c)"),
            ("((a)) and b", "a and b"),
            ("not (a and b)", "not (a and b)"),
            ("not a and b", "not a and b"),
            ("not a == 1", "not a == 1"),
            ("(not a) == 1", "(not a) == 1"),
            ("not not a", "not not a"),
            ("1 + 2 * 3", "1 + 2 * 3"),
            ("(1 + 2) * 3", "(1 + 2) * 3"),
            ("(1 - 2) - 3", "1 - 2 - 3"),
            ("1 - (2 - 3)", "1 - (2 - 3)"),
            ("1 / (2 * 3)", "1 / (2 * 3)"),
            ("-(a + b) * -c", "-(a + b) * -c"),
            ("- -a", "--a"),
            ("-a exists", "-a exists"),
            ("-(a exists)", "-(a exists)"),
            ("a + b exists", "a + b exists"),
            ("(a == b) == c", "(a == b) == c"),
            ("a == (b == c)", "a == (b == c)"),
            ("(x exists) == true", "(x exists) == true"),
            ("a == (not b)", "a == (not b)"),
            ("(x in [1]) in [true]", "(x in [1]) in [true]"),
            ("x in (a + b)", "x in (a + b)"),
            ("x in [a + b, not c]", "x in [a + b, not c]"),
            ("x not in [1, 2]", "x not in [1, 2]"),
            ("not x in [1, 2]", "not x in [1, 2]"),
            ("x between -5 and (a + 1)", "x between -5 and (a + 1)"),
            ("x between (-(-5)) and 1", "x between (--5) and 1"),
            ("x between 1 and 2 and y", "x between 1 and 2 and y"),
            (
                "x contains all [\"NY\", \"NJ\"]",
                "x contains all [\"NY\", \"NJ\"]",
            ),
            (
                "x contains any y and x contains z",
                "x contains any y and x contains z",
            ),
            (
                "x starts with \"a\" or x ends with \"b\"",
                "x starts with \"a\" or x ends with \"b\"",
            ),
            ("x matches (\"a\")", "x matches \"a\""),
            ("x is missing or y exists", "x is missing or y exists"),
            (
                "at least 2 of [a, b or c, d]",
                "at least 2 of [a, b or c, d]",
            ),
            (
                "score fit + engagement >= 70",
                "score fit + engagement >= 70",
            ),
            ("grade fit == A", "grade fit == A"),
        ] {
            assert_eq!(ex(src), want, "{src}");
        }
    }

    #[test]
    fn event_queries() {
        for (src, want) in [
            (
                "count email.opened where step in [1, 2] >= 1",
                "count email.opened where step in [1, 2] >= 1",
            ),
            ("count e where x >= 1", "count e where x >= 1"),
            // The filter is `x` alone: bare, it would swallow the comparison.
            ("count e where (x) >= 1", "count e where (x) >= 1"),
            ("count e where (not x) >= 1", "count e where (not x) >= 1"),
            (
                "count e where (x) within 3d >= 1",
                "count e where x within 3d >= 1",
            ),
            ("count e where x", "count e where x"),
            ("count e where not x == -1", "count e where not x == -1"),
            ("count e where (x and y)", "count e where (x and y)"),
            ("count e where (x == y + 1)", "count e where (x == y + 1)"),
            ("count e where x == y + 1", "count e where x == y + 1"),
            (
                "count e where (x == score s)",
                "count e where (x == score s)",
            ),
            (
                "count e where x between -1 and 5",
                "count e where x between -1 and 5",
            ),
            ("count e where x is missing", "count e where x is missing"),
            // The window belongs to the query, not to the test's argument.
            (
                "count e where x in y within 3d",
                "count e where x in y within 3d",
            ),
            (
                "count e where (x in y) within 3d",
                "count e where x in y within 3d",
            ),
            ("e where x then f within 30d", "e where x then f within 30d"),
            (
                "e within 1d since entering MEL",
                "e within 1d since entering MEL",
            ),
            (
                "e since entering MEL within 1d",
                "e within 1d since entering MEL",
            ),
            (
                "rate a where x / b where y > 50%",
                "rate a where x / b where y > 50%",
            ),
            ("rate a / b where (y) > 50%", "rate a / b where (y) > 50%"),
            ("no e within 60d", "no e within 60d"),
            (
                "days since last page.viewed > 30",
                "days since last page.viewed > 30",
            ),
            (
                "days since first e where (x) < 3",
                "days since first e where (x) < 3",
            ),
            ("days since entering MEL > 3", "days since entering MEL > 3"),
            (
                "latest bant.assessed since entering MEL has at least 3 of [budget, need]",
                "latest bant.assessed since entering MEL has at least 3 of [budget, need]",
            ),
            ("first e where x has budget", "first e where x has budget"),
            (
                "amount of latest opportunity.created >= $4,500",
                "amount of latest opportunity.created >= $4,500",
            ),
            (
                "amount of first o where (x) >= $4,500",
                "amount of first o where (x) >= $4,500",
            ),
            ("x in (e where y)", "x in (e where y)"),
        ] {
            assert_eq!(ex(src), want, "{src}");
        }
    }

    #[test]
    fn long_conditions_break_at_and_or() {
        let long = "company.region == \"us-east\" and company.branches contains all [\"NY\", \"NJ\"] and company.has_cdo";
        let out = check(&format!("segment icp = {long}\n"));
        assert_eq!(
            out,
            "segment icp =\n  company.region == \"us-east\"\n  and company.branches contains all [\"NY\", \"NJ\"]\n  and company.has_cdo\n"
        );
        let nested = "stage MEL {\n enter when (count email.opened where step in [1, 2] >= 1 and count email.opened where step in [3, 4, 5] >= 1 and x) or count page.viewed where page in [\"product\", \"pricing\", \"contact\"] >= 3\n}\n";
        assert_eq!(
            check(nested),
            "stage MEL {\n  enter when\n    (\n      count email.opened where step in [1, 2] >= 1\n      and count email.opened where step in [3, 4, 5] >= 1\n      and x\n    )\n    or count page.viewed where page in [\"product\", \"pricing\", \"contact\"] >= 3\n}\n"
        );
        let rule = format!("score s {{\n  +10 when {long} or b\n}}\n");
        assert_eq!(
            check(&rule),
            format!("score s {{\n  +10 when\n    ({long})\n    or b\n}}\n")
        );
        let mv = format!("move A -> B priority 3 when {long}\n");
        assert!(check(&mv).starts_with("move A -> B priority 3 when\n  company.region"));
        // Long but not a chain: left alone.
        let one = format!("segment s = not ({long})\n");
        assert_eq!(check(&one), one);
        // Short chains stay on one line.
        assert_eq!(
            check("segment s =\n  a\n  and b\n"),
            "segment s = a and b\n"
        );
    }
}
