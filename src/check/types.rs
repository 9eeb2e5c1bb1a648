//! Expressions typed: conditions must be yes/no, comparisons and arithmetic need values of
//! kinds that go together, and text tests need text or lists.

use super::decls::{DeclChecker, Scope};
use super::symbols::*;
use crate::diag::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::*;

impl DeclChecker<'_> {
    /// An expression that must be a condition (yes/no).
    pub(super) fn condition(&mut self, e: &Expr, scope: Scope<'_>) {
        let t = self.ty(e, scope);
        self.want_bool(e, &t);
    }

    pub(super) fn want_bool(&mut self, e: &Expr, t: &Ty) {
        if matches!(t, Ty::Bool | Ty::Error) {
            return;
        }
        let shown = short(self.src, e);
        let help = match t {
            Ty::Int | Ty::Decimal => format!("compare it to a number, e.g. `{shown} >= 1`"),
            Ty::Percent => format!("compare it to a percentage, e.g. `{shown} >= 40%`"),
            Ty::Text => format!("compare it to a text, e.g. `{shown} == \"...\"`"),
            Ty::Grade(_) => format!("compare it to a grade, e.g. `{shown} == A`"),
            _ => format!("test it, e.g. `{shown} exists`"),
        };
        self.err(
            Diagnostic::error(
                Code::NotACondition,
                e.span,
                format!("`{shown}` is {}, not a condition", t.describe()),
            )
            .label("a yes/no condition is needed here")
            .help(help),
        );
    }

    pub(super) fn event_query(&mut self, q: &EventQuery) -> bool {
        let sym = self.sym;
        let known = sym.events.contains_key(&q.event.text);
        if !known {
            self.event_ref(&q.event);
        }
        if let Some(f) = &q.filter {
            if known {
                self.condition(
                    f,
                    Scope {
                        event: sym
                            .events
                            .get_key_value(&q.event.text)
                            .map(|(k, _)| k.as_str()),
                    },
                );
            }
        }
        if let Some(w) = &q.within {
            self.positive_duration(w, "a window");
        }
        if let Some(s) = &q.since {
            self.stage_ref(s);
        }
        known
    }

    pub(super) fn mismatch(&mut self, span: Span, msg: String, help: Option<String>) -> Ty {
        self.err(Diagnostic::error(Code::TypeMismatch, span, msg).maybe_help(help));
        Ty::Error
    }

    pub(super) fn ty(&mut self, e: &Expr, scope: Scope<'_>) -> Ty {
        match &e.kind {
            ExprKind::Lit(l) => lit_ty(l),
            ExprKind::List(items) => self.list_ty(items, scope),
            ExprKind::Name(n) => self.name(n, scope),
            ExprKind::Event(q) | ExprKind::No(q) => {
                self.event_query(q);
                Ty::Bool
            }
            ExprKind::Then(steps) => {
                for q in steps {
                    self.event_query(q);
                }
                Ty::Bool
            }
            ExprKind::Count(q) => {
                self.event_query(q);
                Ty::Int
            }
            ExprKind::Rate(a, b) => {
                self.event_query(a);
                self.event_query(b);
                Ty::Percent
            }
            ExprKind::DaysSince(_, q) => {
                self.event_query(q);
                Ty::Decimal
            }
            ExprKind::DaysSinceEntering(s) => {
                self.stage_ref(s);
                Ty::Decimal
            }
            ExprKind::Has { query, test, .. } => {
                if self.event_query(query) {
                    let names: Vec<&Name> = match test {
                        HasTest::Prop(p) => vec![p],
                        HasTest::AtLeast { k, props } => {
                            if *k as usize > props.len() {
                                let msg = format!(
                                    "at least {k} of {} properties can never be true",
                                    props.len()
                                );
                                self.err(
                                    Diagnostic::error(Code::ImpossibleCount, e.span, msg)
                                        .help("lower the number or list more properties"),
                                );
                            }
                            props.iter().collect()
                        }
                    };
                    self.bool_props(query, &names);
                }
                Ty::Bool
            }
            ExprKind::PropOf { prop, query, .. } => {
                if !self.event_query(query) {
                    return Ty::Error;
                }
                let sym = self.sym;
                let Some(ev) = sym.events.get(&query.event.text) else {
                    return Ty::Error;
                };
                match ev.props.get(&prop.text) {
                    Some((t, _)) => t.clone(),
                    None => {
                        let d = self.unknown_prop(prop, &query.event.text, ev);
                        self.err(d);
                        Ty::Error
                    }
                }
            }
            ExprKind::AtLeast { k, items } => {
                for i in items {
                    self.condition(i, scope);
                }
                if *k as usize > items.len() {
                    let msg = format!(
                        "at least {k} of {} conditions can never be true",
                        items.len()
                    );
                    self.err(
                        Diagnostic::error(Code::ImpossibleCount, e.span, msg)
                            .help("lower the number or list more conditions"),
                    );
                }
                Ty::Bool
            }
            ExprKind::Score(n) => {
                if self.score_ref(n) {
                    Ty::Decimal
                } else {
                    Ty::Error
                }
            }
            ExprKind::Grade(n) => {
                if !self.score_ref(n) {
                    return Ty::Error;
                }
                if self
                    .sym
                    .scores
                    .get(&n.text)
                    .is_some_and(|s| s.grades.is_empty())
                {
                    self.err(
                        Diagnostic::error(
                            Code::NoGrades,
                            n.span,
                            format!("score `{}` has no grades", n.text),
                        )
                        .help("declare grades in the score, e.g. `grade A from 50`"),
                    );
                    return Ty::Error;
                }
                Ty::Grade(n.text.clone())
            }
            ExprKind::Not(x) => {
                self.condition(x, scope);
                Ty::Bool
            }
            ExprKind::Neg(x) => {
                let t = self.ty(x, scope);
                match t {
                    Ty::Int | Ty::Decimal | Ty::Percent | Ty::Money | Ty::Error => t,
                    other => {
                        self.mismatch(e.span, format!("cannot negate {}", other.describe()), None)
                    }
                }
            }
            ExprKind::All(v) | ExprKind::Any(v) => {
                for x in v {
                    self.condition(x, scope);
                }
                Ty::Bool
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs, scope),
            ExprKind::In {
                value,
                list,
                negated: _,
            } => {
                let vt = self.ty(value, scope);
                if let Ty::Grade(score) = &vt {
                    if let ExprKind::List(items) = &list.kind {
                        for i in items {
                            match &i.kind {
                                ExprKind::Name(n) => self.grade_label(score, n),
                                _ => {
                                    self.mismatch(i.span, "expected a grade".into(), None);
                                }
                            }
                        }
                        return Ty::Bool;
                    }
                }
                let lt = self.ty(list, scope);
                match (&vt, &lt) {
                    (Ty::Error, _) | (_, Ty::Error | Ty::EmptyList) => {}
                    (v, Ty::List(inner)) if v.comparable(inner) => {}
                    (v, Ty::List(inner)) => {
                        self.mismatch(
                            list.span,
                            format!(
                                "cannot look for {} in a list of {}",
                                v.describe(),
                                inner.describe()
                            ),
                            None,
                        );
                    }
                    (_, other) => {
                        self.mismatch(
                            list.span,
                            format!("`in` needs a list, and this is {}", other.describe()),
                            Some("write the values in brackets: `in [\"a\", \"b\"]`".into()),
                        );
                    }
                }
                Ty::Bool
            }
            ExprKind::Between { value, lo, hi } => {
                let vt = self.ty(value, scope);
                for b in [lo, hi] {
                    let bt = self.ty(b, scope);
                    if !vt.comparable(&bt) {
                        self.mismatch(
                            b.span,
                            format!("cannot compare {} with {}", vt.describe(), bt.describe()),
                            None,
                        );
                    }
                }
                if matches!(vt, Ty::Text | Ty::Bool | Ty::List(_)) {
                    self.mismatch(
                        value.span,
                        format!(
                            "`between` needs numbers, amounts or dates, not {}",
                            vt.describe()
                        ),
                        None,
                    );
                }
                Ty::Bool
            }
            ExprKind::Test { value, op, arg } => self.text_test(*op, value, arg, scope),
            ExprKind::Exists(v) | ExprKind::Missing(v) => {
                match &v.kind {
                    ExprKind::Name(_) | ExprKind::PropOf { .. } => {
                        self.ty(v, scope);
                    }
                    _ => {
                        self.mismatch(
                            v.span,
                            "only a trait or a property can be missing".into(),
                            Some("write e.g. `company.employees exists`".into()),
                        );
                    }
                }
                Ty::Bool
            }
        }
    }

    pub(super) fn bool_props(&mut self, query: &EventQuery, names: &[&Name]) {
        let sym = self.sym;
        let Some(ev) = sym.events.get(&query.event.text) else {
            return;
        };
        for p in names {
            match ev.props.get(&p.text) {
                Some((Ty::Bool, _)) => {}
                Some((t, _)) => {
                    let msg = format!(
                        "`has` tests yes/no properties, and `{}` is {}",
                        p.text,
                        t.describe()
                    );
                    self.mismatch(
                        p.span,
                        msg,
                        Some(format!(
                            "compare it: `{} of latest {} == ...`",
                            p.text, query.event.text
                        )),
                    );
                }
                None => {
                    let d = self.unknown_prop(p, &query.event.text, ev);
                    self.err(d);
                }
            }
        }
    }

    pub(super) fn list_ty(&mut self, items: &[Expr], scope: Scope<'_>) -> Ty {
        let mut elem: Option<Ty> = None;
        for i in items {
            let t = self.ty(i, scope);
            match &elem {
                None => elem = Some(t),
                Some(prev) if prev.comparable(&t) => {}
                Some(prev) => {
                    let msg = format!(
                        "a list of {} cannot also hold {}",
                        prev.describe(),
                        t.describe()
                    );
                    self.mismatch(i.span, msg, None);
                }
            }
        }
        match elem {
            None => Ty::EmptyList,
            Some(Ty::Error) => Ty::Error,
            Some(t) => Ty::List(Box::new(t)),
        }
    }

    fn binary(&mut self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr, scope: Scope<'_>) -> Ty {
        let lt = self.ty(lhs, scope);
        if let (ExprKind::Grade(_), ExprKind::Name(_), Ty::Error) = (&lhs.kind, &rhs.kind, &lt) {
            // `grade x == A` where `x` has no grades: already reported, and `A` is a label.
            return Ty::Bool;
        }
        if let (Ty::Grade(score), ExprKind::Name(label)) = (&lt, &rhs.kind) {
            if op.is_comparison() {
                self.grade_label(score, label);
                return Ty::Bool;
            }
        }
        let rt = self.ty(rhs, scope);
        if op.is_comparison() {
            if matches!(lt, Ty::Error) || matches!(rt, Ty::Error) {
                return Ty::Bool;
            }
            if !lt.comparable(&rt) {
                let help = compare_help(self.src, lhs, &lt, rhs, &rt);
                let msg = format!("cannot compare {} with {}", lt.describe(), rt.describe());
                self.err(
                    Diagnostic::error(Code::TypeMismatch, rhs.span, msg)
                        .label(format!("this is {}", rt.describe()))
                        .with(lhs.span, format!("this is {}", lt.describe()))
                        .maybe_help(help),
                );
                return Ty::Bool;
            }
            let ordered = !matches!(op, BinOp::Eq | BinOp::Ne);
            if ordered && matches!(lt, Ty::Bool | Ty::Text | Ty::List(_)) {
                let msg = format!(
                    "{} has no order: `{}` does not apply",
                    lt.describe(),
                    op.symbol()
                );
                self.mismatch(e.span, msg, Some("use `==` or `!=`".into()));
            }
            return Ty::Bool;
        }
        // Arithmetic.
        use Ty::*;
        let out = match (op, &lt, &rt) {
            (_, Error, _) | (_, _, Error) => Error,
            (BinOp::Add | BinOp::Sub | BinOp::Mul, Int, Int) => Int,
            (_, Int | Decimal, Int | Decimal) => Decimal,
            (BinOp::Add | BinOp::Sub, Money, Money) => Money,
            (BinOp::Add | BinOp::Sub, Percent, Percent) => Percent,
            (BinOp::Add | BinOp::Sub, Duration, Duration) => Duration,
            (BinOp::Mul | BinOp::Div, Money | Percent | Duration, Int | Decimal) => lt.clone(),
            (BinOp::Mul, Int | Decimal, Money | Percent | Duration) => rt.clone(),
            (BinOp::Div, Money, Money) => Decimal,
            _ => {
                let verb = match op {
                    BinOp::Add => "add",
                    BinOp::Sub => "subtract",
                    BinOp::Mul => "multiply",
                    _ => "divide",
                };
                if lt == rt {
                    let msg = format!("cannot {verb} {}", plural_of(&lt));
                    let help = matches!(lt, Bool).then(|| {
                        "yes/no values cannot be summed: count events or use a score".to_string()
                    });
                    return self.mismatch(e.span, msg, help);
                }
                let msg = format!(
                    "cannot {} {} and {}",
                    match op {
                        BinOp::Add => "add",
                        BinOp::Sub => "subtract",
                        BinOp::Mul => "multiply",
                        _ => "divide",
                    },
                    lt.describe(),
                    rt.describe()
                );
                let help = (matches!(lt, Bool) || matches!(rt, Bool)).then(|| {
                    "yes/no values cannot be summed: count events or use a score".to_string()
                });
                return self.mismatch(e.span, msg, help);
            }
        };
        out
    }

    fn text_test(&mut self, op: TestOp, value: &Expr, arg: &Expr, scope: Scope<'_>) -> Ty {
        let vt = self.ty(value, scope);
        let at = self.ty(arg, scope);
        if matches!(vt, Ty::Error) || matches!(at, Ty::Error) {
            return Ty::Bool;
        }
        let ok = match op {
            TestOp::Contains => match &vt {
                Ty::List(inner) => inner.comparable(&at),
                Ty::Text => at == Ty::Text,
                _ => false,
            },
            TestOp::ContainsAll | TestOp::ContainsAny => match (&vt, &at) {
                (Ty::List(_), Ty::EmptyList) => true,
                (Ty::List(a), Ty::List(b)) => a.comparable(b),
                _ => false,
            },
            TestOp::StartsWith | TestOp::EndsWith | TestOp::Matches => {
                vt == Ty::Text && at == Ty::Text
            }
        };
        if !ok {
            let msg = format!(
                "`{}` does not apply to {} and {}",
                op.words(),
                vt.describe(),
                at.describe()
            );
            let help = match op {
                TestOp::ContainsAll | TestOp::ContainsAny => {
                    "it tests a list trait against a list of values; to test one value against a list, write `x in [...]`"
                }
                TestOp::Contains => "it tests a list trait for one value, or a text for a piece of text",
                _ => "it tests text, e.g. `email ends with \"@acme.com\"`",
            };
            return self.mismatch(arg.span, msg, Some(help.to_string()));
        }
        if op == TestOp::Matches {
            match &arg.kind {
                ExprKind::Lit(Literal::Text(pattern)) => match super::pattern::measure(pattern) {
                    Ok(bytes) => self.usage.patterns.push((arg.span, bytes)),
                    Err(last) if last.contains("the limit of one pattern") => self.err(
                        Diagnostic::error(Code::BadPattern, arg.span, "this pattern is too large")
                            .label(last)
                            .help(
                                "repeat less, or use a smaller class: `[a-z]` takes far less \
                                 than `\\w`, which is every word character of every script",
                            ),
                    ),
                    Err(last) => self.err(
                        Diagnostic::error(
                            Code::BadPattern,
                            arg.span,
                            "this pattern is not a valid regular expression",
                        )
                        .label(last)
                        .help("escape special characters with `\\\\`, e.g. \"@gmail\\\\.com$\""),
                    ),
                },
                _ => {
                    self.mismatch(
                        arg.span,
                        "`matches` needs a pattern written as text".into(),
                        Some("write the pattern in double quotes".into()),
                    );
                }
            }
        }
        Ty::Bool
    }
}

fn plural_of(t: &Ty) -> String {
    match t {
        Ty::Bool => "yes/no values".into(),
        Ty::Text => "texts".into(),
        Ty::Date => "dates".into(),
        Ty::Timestamp => "timestamps".into(),
        other => format!("values of this kind ({})", other.describe()),
    }
}

pub fn lit_ty(l: &Literal) -> Ty {
    match l {
        Literal::Int(_) => Ty::Int,
        Literal::Decimal(_) => Ty::Decimal,
        Literal::Percent(_) => Ty::Percent,
        Literal::Money(_) => Ty::Money,
        Literal::Duration(_) => Ty::Duration,
        Literal::Date(_) => Ty::Date,
        Literal::Timestamp(_) => Ty::Timestamp,
        Literal::Text(_) => Ty::Text,
        Literal::Bool(_) => Ty::Bool,
    }
}

/// Help for the comparisons people get wrong most: a count against a percentage, a number
/// written as text.
fn compare_help(src: &str, lhs: &Expr, lt: &Ty, rhs: &Expr, rt: &Ty) -> Option<String> {
    match (&lhs.kind, lt, rt) {
        (ExprKind::Count(q), _, Ty::Percent) => Some(format!(
            "`count` gives a number of events; for a share write `rate {} / <other event> >= {}`",
            q.event.text,
            short(src, rhs)
        )),
        (_, Ty::Int | Ty::Decimal, Ty::Percent) => {
            Some("a percentage is compared with a rate: drop the `%` or compare a `rate`".into())
        }
        (_, Ty::Percent, Ty::Int | Ty::Decimal) => Some(format!(
            "write the number as a percentage, e.g. `{}%`",
            short(src, rhs)
        )),
        (_, Ty::Int | Ty::Decimal, Ty::Text) => {
            Some("a number is written without quotes, e.g. `100`".into())
        }
        (_, Ty::Money, Ty::Int | Ty::Decimal) => Some(format!(
            "write the amount with a currency, e.g. `${}`",
            short(src, rhs)
        )),
        (_, Ty::Bool, _) => {
            Some("a yes/no trait is a condition on its own: drop the comparison".into())
        }
        _ => None,
    }
}

/// An expression as the user wrote it, on one line and shortened, for messages.
pub fn short(source: &str, e: &Expr) -> String {
    let text = source.get(e.span.start..e.span.end).unwrap_or("");
    let s = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn shown(src: &str) -> String {
        short(src, &crate::syntax::parse_expr(src).unwrap())
    }

    #[test]
    fn short_puts_an_expression_on_one_shortened_line() {
        assert_eq!(
            shown("count  email.opened\n   >= 3"),
            "count email.opened >= 3"
        );
        let long = format!("x == \"{}\"", "é".repeat(80));
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), 60);
        assert!(cut.ends_with("é..."), "{cut}");
    }
}
