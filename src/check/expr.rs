//! Second pass: resolve every name in every declaration and type-check every expression.

use std::collections::{BTreeMap, BTreeSet};

use super::symbols::*;
use crate::diag::suggest::did_you_mean;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// What the declarations use, for the "unused" lints and the segment cycle check.
#[derive(Default)]
pub struct Usage {
    pub segments: BTreeSet<String>,
    pub scores: BTreeSet<String>,
    /// For each segment, the segments its condition names.
    pub segment_deps: BTreeMap<String, Vec<(String, Span)>>,
}

struct Cx<'a> {
    src: &'a str,
    sym: &'a Symbols,
    diags: &'a mut Vec<Diagnostic>,
    usage: Usage,
    /// Segments named by the condition being checked.
    deps: Vec<(String, Span)>,
}

/// Where a bare name is looked up: in an event's properties first (inside `where`), then in
/// the lead's traits, segments, scores and events.
#[derive(Clone, Copy)]
struct Scope<'a> {
    event: Option<&'a str>,
}

const TOP: Scope<'static> = Scope { event: None };

pub fn check_items(file: &File, src: &str, sym: &Symbols, diags: &mut Vec<Diagnostic>) -> Usage {
    use rayon::prelude::*;
    // Declarations are checked independently, in slices on every core; what they use is
    // merged afterwards (diagnostics are sorted by position later, so the order is stable).
    let per_slice: Vec<(Usage, Vec<Diagnostic>)> = file
        .items
        .par_chunks(1024)
        .map(|items| {
            let mut d = Vec::new();
            let mut cx = Cx {
                src,
                sym,
                diags: &mut d,
                usage: Usage::default(),
                deps: Vec::new(),
            };
            for item in items {
                cx.item(item);
            }
            let usage = cx.usage;
            (usage, d)
        })
        .collect();
    let mut usage = Usage::default();
    for (u, d) in per_slice {
        usage.segments.extend(u.segments);
        usage.scores.extend(u.scores);
        usage.segment_deps.extend(u.segment_deps);
        diags.extend(d);
    }
    let mut cx = Cx {
        src,
        sym,
        diags,
        usage,
        deps: Vec::new(),
    };
    cx.segment_cycles(file);
    cx.usage
}

impl<'a> Cx<'a> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Funnel(_) | Item::Schema(_) => {}
            Item::Segment(s) => {
                self.deps.clear();
                self.condition(&s.expr, TOP);
                let deps = std::mem::take(&mut self.deps);
                self.usage.segment_deps.insert(s.name.text.clone(), deps);
            }
            Item::Score(s) => self.score(s),
            Item::Stage(s) => {
                if let Some(sla) = &s.sla {
                    self.positive_duration(sla, "an SLA");
                }
                match s.enter.as_slice() {
                    [] => self.err(
                        Diagnostic::error(
                            Code::MissingCondition,
                            s.name.span,
                            format!("stage `{}` has no entry condition", s.name.text),
                        )
                        .label("no lead can enter this stage")
                        .help(
                            "add a condition inside the braces, e.g. `enter when form.submitted`",
                        ),
                    ),
                    [one] => self.condition(one, TOP),
                    [first, rest @ ..] => {
                        self.condition(first, TOP);
                        for r in rest {
                            self.condition(r, TOP);
                            self.err(
                                Diagnostic::error(
                                    Code::DuplicateCondition,
                                    r.span,
                                    format!(
                                        "stage `{}` has more than one entry condition",
                                        s.name.text
                                    ),
                                )
                                .with(first.span, "first condition")
                                .help(
                                    "join the conditions with `and` or `or` into one `enter when`",
                                ),
                            );
                        }
                    }
                }
            }
            Item::Move(m) => {
                self.stage_ref(&m.from);
                self.stage_ref(&m.to);
                self.condition(&m.when, TOP);
            }
            Item::Exit(e) => {
                if let StageSet::Stages(list) = &e.from {
                    for s in list {
                        self.stage_ref(s);
                    }
                }
                self.condition(&e.when, TOP);
            }
            Item::Kpi(k) => match k {
                Kpi::Conversion { from, to, .. } => {
                    self.stage_ref(from);
                    self.stage_ref(to);
                }
                Kpi::Velocity {
                    from, to, at_most, ..
                } => {
                    self.stage_ref(from);
                    self.stage_ref(to);
                    self.positive_duration(at_most, "a velocity target");
                }
            },
            Item::Target(t) => {
                self.stage_ref(&t.stage);
            }
            Item::Dimensions(d) => {
                for p in &d.paths {
                    self.trait_ref(p);
                }
            }
            Item::Cost(c) => {
                if let Some(t) = self.trait_ref(&c.by) {
                    if t != Ty::Text {
                        self.err(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                c.by.span,
                                format!(
                                    "costs are given per value of a text trait, and `{}` is {}",
                                    c.by.text,
                                    t.describe()
                                ),
                            )
                            .help("break costs down by a text trait such as `source`"),
                        );
                    }
                }
            }
            Item::Revenue(r) => {
                if let Some(ev) = self.event_ref(&r.event) {
                    match ev.props.get(&r.prop.text) {
                        Some((Ty::Money, _)) => {}
                        Some((t, _)) => {
                            let msg = format!(
                                "revenue must be an amount of money, and `{}` is {}",
                                r.prop.text,
                                t.describe()
                            );
                            self.err(Diagnostic::error(Code::TypeMismatch, r.prop.span, msg));
                        }
                        None => {
                            let d = self.unknown_prop(&r.prop, &r.event.text, ev);
                            self.err(d);
                        }
                    }
                }
            }
            Item::Test(t) => self.test(t),
        }
    }

    fn positive_duration(&mut self, d: &DurationLit, what: &str) {
        if d.value.value == 0 {
            self.err(
                Diagnostic::error(Code::BadNumber, d.span, format!("{what} of zero"))
                    .help("use a duration longer than zero, e.g. `7d`"),
            );
        }
    }

    fn score(&mut self, s: &Score) {
        if let Some(max) = s.max {
            if max.value <= 0.0 {
                self.err(
                    Diagnostic::error(Code::BadNumber, max.span, "a score cap must be above zero")
                        .help("drop `max` for an uncapped score"),
                );
            }
            if let Some(min) = s.min {
                if min.value >= max.value {
                    self.err(
                        Diagnostic::error(
                            Code::BadNumber,
                            min.span,
                            format!("the floor {} is not below the cap {}", min.value, max.value),
                        )
                        .with(max.span, "cap"),
                    );
                }
            }
        }
        match &s.decay {
            Some(Decay::HalfLife(d) | Decay::Expire(d)) => self.positive_duration(d, "a decay"),
            None => {}
        }
        for r in &s.rules {
            if r.points.value == 0.0 {
                self.err(
                    Diagnostic::warning(
                        Code::ZeroPoints,
                        r.points.span,
                        "this rule gives no points",
                    )
                    .help("remove it, or give it points"),
                );
            }
            match &r.kind {
                RuleKind::When(e) => self.condition(e, TOP),
                RuleKind::Per { query, cap } => {
                    self.event_query(query);
                    if let Some(c) = cap {
                        if c.value <= 0.0 {
                            self.err(Diagnostic::error(
                                Code::BadNumber,
                                c.span,
                                "a rule's cap must be above zero",
                            ));
                        }
                    }
                }
            }
        }
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut prev: Option<&GradeDecl> = None;
        for g in &s.grades {
            if let Some(first) = seen.get(g.label.text.as_str()) {
                self.err(duplicate_grade(g, *first));
            }
            seen.insert(&g.label.text, g.label.span);
            if let Some(p) = prev {
                if g.from.value >= p.from.value {
                    self.err(
                        Diagnostic::error(
                            Code::GradesOutOfOrder,
                            g.from.span,
                            format!(
                                "grade `{}` starts at {}, not below grade `{}` at {}",
                                g.label.text, g.from.value, p.label.text, p.from.value
                            ),
                        )
                        .with(p.from.span, "the grade before")
                        .help(
                            "list grades best first, each from a lower score than the one before",
                        ),
                    );
                }
            }
            prev = Some(g);
        }
    }

    fn test(&mut self, t: &Test) {
        if let Some(obj) = &t.traits {
            self.trait_object(obj, "");
        }
        for e in &t.events {
            let Some(ev) = self.event_ref(&e.event) else {
                continue;
            };
            if let Some(obj) = &e.props {
                for f in &obj.fields {
                    match ev.props.get(&f.key.text) {
                        Some((ty, _)) => self.value_fits(&f.value, ty, &f.key.text),
                        None => {
                            let d = self.unknown_prop(&f.key, &e.event.text, ev);
                            self.err(d);
                        }
                    }
                }
            }
        }
        for x in &t.expects {
            match x {
                Expect::Stage(n, _) => {
                    if self.sym.stage_index(&n.text).is_none()
                        && !self.sym.exits.contains_key(&n.text)
                    {
                        self.unknown_stage(n);
                    }
                }
                Expect::Entered { stage, .. } | Expect::NotEntered(stage, _) => {
                    self.stage_ref(stage)
                }
                Expect::Exited { exit, .. } => {
                    if !self.sym.exits.contains_key(&exit.text) {
                        let exits: Vec<&str> = self.sym.exits.keys().map(String::as_str).collect();
                        let help =
                            did_you_mean(&exit.text, exits.iter().copied()).unwrap_or_else(|| {
                                if exits.is_empty() {
                                    "declare it with `exit NAME from ... when ...`".into()
                                } else {
                                    format!("the exits are: {}", exits.join(", "))
                                }
                            });
                        self.err(
                            Diagnostic::error(
                                Code::UnknownExit,
                                exit.span,
                                format!("unknown exit `{}`", exit.text),
                            )
                            .label("no exit has this name")
                            .help(help),
                        );
                    }
                }
                Expect::Score { score, .. } => {
                    self.score_ref(score);
                }
                Expect::Grade { score, label, .. } => {
                    if self.score_ref(score) {
                        self.grade_label(&score.text, label);
                    }
                }
            }
        }
    }

    /// Checks a test's `traits { ... }` against the schema; nested objects spell dotted paths.
    fn trait_object(&mut self, obj: &Object, prefix: &str) {
        for f in &obj.fields {
            let path = if prefix.is_empty() {
                f.key.text.clone()
            } else {
                format!("{prefix}.{}", f.key.text)
            };
            match (&f.value, self.sym.traits.get(&path)) {
                (Value::Object(inner), None) if self.sym.is_trait_group(&path) => {
                    self.trait_object(inner, &path)
                }
                (v, Some((ty, _))) => self.value_fits(v, ty, &path),
                (_, None) => {
                    let name = Name {
                        text: path,
                        span: f.key.span,
                    };
                    self.unknown_trait(&name);
                }
            }
        }
    }

    fn value_fits(&mut self, v: &Value, ty: &Ty, what: &str) {
        let got = match v {
            Value::Lit(l, _) => lit_ty(l),
            Value::List(items, _) => match items.first() {
                None => Ty::EmptyList,
                Some(Value::Lit(l, _)) => Ty::List(Box::new(lit_ty(l))),
                Some(_) => Ty::Error,
            },
            Value::Object(_) => {
                self.err(Diagnostic::error(
                    Code::TypeMismatch,
                    v.span(),
                    format!("`{what}` is {}, not a group of fields", ty.describe()),
                ));
                return;
            }
        };
        let fits = match (ty, &got) {
            (Ty::Decimal, Ty::Int) => true,
            (Ty::Timestamp, Ty::Date) => true,
            (Ty::List(_), Ty::EmptyList) => true,
            (Ty::List(a), Ty::List(b)) => **a == **b || (**a == Ty::Decimal && **b == Ty::Int),
            (a, b) => a == b,
        };
        if !fits {
            let help = match (ty, &got) {
                (Ty::Int | Ty::Decimal, Ty::Text) => {
                    Some("write numbers without quotes, e.g. `250`")
                }
                (Ty::Bool, Ty::Text) => Some("write `true` or `false` without quotes"),
                (Ty::Money, Ty::Int | Ty::Decimal) => {
                    Some("write an amount with its currency, e.g. `$4,500`")
                }
                (Ty::Percent, Ty::Int | Ty::Decimal) => {
                    Some("write a percentage with `%`, e.g. `40%`")
                }
                (Ty::Text, _) => Some("write text in double quotes"),
                (Ty::List(_), _) => Some("write a list in brackets, e.g. `[\"NY\", \"NJ\"]`"),
                _ => None,
            };
            self.err(
                Diagnostic::error(
                    Code::TypeMismatch,
                    v.span(),
                    format!(
                        "`{what}` is {}, but this is {}",
                        ty.describe(),
                        got.describe()
                    ),
                )
                .label(format!("expected {}", ty.describe()))
                .maybe_help(help.map(String::from)),
            );
        }
    }

    // -------------------------------------------------------------- references

    fn unknown_stage(&mut self, n: &Name) {
        let names = self.sym.stages.iter().map(|s| s.name.as_str());
        let help = did_you_mean(&n.text, names)
            .unwrap_or_else(|| format!("declare it with `stage {} {{ enter when ... }}`", n.text));
        self.err(
            Diagnostic::error(
                Code::UnknownStage,
                n.span,
                format!("unknown stage `{}`", n.text),
            )
            .label("no stage has this name")
            .help(help),
        );
    }

    fn stage_ref(&mut self, n: &Name) {
        if self.sym.stage_index(&n.text).is_none() {
            self.unknown_stage(n);
        }
    }

    fn trait_ref(&mut self, n: &Name) -> Option<Ty> {
        match self.sym.traits.get(&n.text) {
            Some((t, _)) => Some(t.clone()),
            None => {
                self.unknown_trait(n);
                None
            }
        }
    }

    fn unknown_trait(&mut self, n: &Name) {
        let help = did_you_mean(&n.text, self.sym.traits.keys().map(String::as_str))
            .unwrap_or_else(|| format!("declare it in the schema: `trait {}: text`", n.text));
        self.err(
            Diagnostic::error(
                Code::UnknownTrait,
                n.span,
                format!("unknown trait `{}`", n.text),
            )
            .label("not declared in the schema")
            .help(help),
        );
    }

    fn event_ref(&mut self, n: &Name) -> Option<&'a EventInfo> {
        let sym = self.sym;
        match sym.events.get(&n.text) {
            Some(e) => Some(e),
            None => {
                let help = did_you_mean(&n.text, sym.events.keys().map(String::as_str))
                    .unwrap_or_else(|| format!("declare it in the schema: `event {}`", n.text));
                self.err(
                    Diagnostic::error(
                        Code::UnknownEvent,
                        n.span,
                        format!("unknown event type `{}`", n.text),
                    )
                    .label("not declared in the schema")
                    .help(help),
                );
                None
            }
        }
    }

    fn unknown_prop(&self, p: &Name, event: &str, ev: &EventInfo) -> Diagnostic {
        let help =
            did_you_mean(&p.text, ev.props.keys().map(String::as_str)).unwrap_or_else(|| {
                if ev.props.is_empty() {
                    format!("`{event}` has no properties; declare them in the schema")
                } else {
                    let list: Vec<&str> = ev.props.keys().map(String::as_str).collect();
                    format!("its properties are {}", list.join(", "))
                }
            });
        Diagnostic::error(
            Code::UnknownProperty,
            p.span,
            format!("event `{event}` has no property `{}`", p.text),
        )
        .label("not a property of this event")
        .help(help)
    }

    fn score_ref(&mut self, n: &Name) -> bool {
        if self.sym.scores.contains_key(&n.text) {
            self.usage.scores.insert(n.text.clone());
            return true;
        }
        let help = did_you_mean(&n.text, self.sym.scores.keys().map(String::as_str))
            .unwrap_or_else(|| format!("declare it with `score {} {{ ... }}`", n.text));
        self.err(
            Diagnostic::error(
                Code::UnknownScore,
                n.span,
                format!("unknown score `{}`", n.text),
            )
            .label("no score model has this name")
            .help(help),
        );
        false
    }

    fn grade_label(&mut self, score: &str, label: &Name) {
        let Some(info) = self.sym.scores.get(score) else {
            return;
        };
        if info.grades.iter().any(|(g, _)| *g == label.text) {
            return;
        }
        let labels: Vec<&str> = info.grades.iter().map(|(g, _)| g.as_str()).collect();
        let help = did_you_mean(&label.text, labels.iter().copied())
            .unwrap_or_else(|| format!("the grades of `{score}` are {}", labels.join(", ")));
        self.err(
            Diagnostic::error(
                Code::UnknownGrade,
                label.span,
                format!("score `{score}` has no grade `{}`", label.text),
            )
            .help(help),
        );
    }

    // -------------------------------------------------------------- expressions

    /// An expression that must be a condition (yes/no).
    fn condition(&mut self, e: &Expr, scope: Scope<'_>) {
        let t = self.ty(e, scope);
        self.want_bool(e, &t);
    }

    fn want_bool(&mut self, e: &Expr, t: &Ty) {
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

    fn event_query(&mut self, q: &EventQuery) -> bool {
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

    fn mismatch(&mut self, span: Span, msg: String, help: Option<String>) -> Ty {
        self.err(Diagnostic::error(Code::TypeMismatch, span, msg).maybe_help(help));
        Ty::Error
    }

    fn ty(&mut self, e: &Expr, scope: Scope<'_>) -> Ty {
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

    fn bool_props(&mut self, query: &EventQuery, names: &[&Name]) {
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

    fn list_ty(&mut self, items: &[Expr], scope: Scope<'_>) -> Ty {
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

    fn name(&mut self, n: &Name, scope: Scope<'_>) -> Ty {
        let sym = self.sym;
        if let Some(ev) = scope.event.and_then(|e| sym.events.get(e)) {
            if let Some((t, _)) = ev.props.get(&n.text) {
                return t.clone();
            }
        }
        if let Some((t, _)) = sym.traits.get(&n.text) {
            return t.clone();
        }
        if sym.segments.contains_key(&n.text) {
            self.usage.segments.insert(n.text.clone());
            self.deps.push((n.text.clone(), n.span));
            return Ty::Bool;
        }
        if sym.scores.contains_key(&n.text) {
            self.usage.scores.insert(n.text.clone());
            return Ty::Decimal;
        }
        if sym.events.contains_key(&n.text) {
            return Ty::Bool;
        }
        if sym.is_trait_group(&n.text) {
            self.err(
                Diagnostic::error(
                    Code::NotAValue,
                    n.span,
                    format!("`{}` is a group of traits, not one value", n.text),
                )
                .help(format!("name one of them, e.g. `{}.…`", n.text)),
            );
            return Ty::Error;
        }
        if sym.stage_index(&n.text).is_some() {
            self.err(
                Diagnostic::error(
                    Code::NotAValue,
                    n.span,
                    format!("`{}` is a stage, not a condition", n.text),
                )
                .help(format!(
                    "to test time in a stage, write `days since entering {} >= 1`",
                    n.text
                )),
            );
            return Ty::Error;
        }
        self.unknown_name(n, scope);
        Ty::Error
    }

    /// An unknown bare name: said as an unknown event, trait or property when its shape says
    /// which was meant, with the closest declared name.
    fn unknown_name(&mut self, n: &Name, scope: Scope<'_>) {
        let sym = self.sym;
        let head = n.text.split('.').next().unwrap_or("");
        let dotted = n.text.contains('.');
        let event_like = dotted && sym.events.keys().any(|e| e.split('.').next() == Some(head));
        let trait_like = dotted && sym.is_trait_group(head);
        if let Some(ev_name) = scope.event {
            if !dotted {
                if let Some(ev) = sym.events.get(ev_name) {
                    let mut d = self.unknown_prop(n, ev_name, ev);
                    if d.help
                        .as_deref()
                        .is_some_and(|h| !h.starts_with("did you mean"))
                    {
                        if let Some(s) =
                            did_you_mean(&n.text, sym.traits.keys().map(String::as_str))
                        {
                            d = d.help(s);
                        }
                    }
                    self.err(d);
                    return;
                }
            }
        }
        if event_like && !trait_like {
            self.event_ref(n);
            return;
        }
        if trait_like {
            self.unknown_trait(n);
            return;
        }
        let all = sym
            .traits
            .keys()
            .chain(sym.segments.keys())
            .chain(sym.scores.keys())
            .chain(sym.events.keys())
            .map(String::as_str);
        let help = did_you_mean(&n.text, all).unwrap_or_else(|| {
            "declare it in the schema as a trait or an event, or as a segment".to_string()
        });
        self.err(
            Diagnostic::error(
                Code::UnknownName,
                n.span,
                format!("unknown name `{}`", n.text),
            )
            .label("not a trait, event, segment or score")
            .help(help),
        );
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
                ExprKind::Lit(Literal::Text(pattern)) => {
                    if let Err(err) = regex::Regex::new(pattern) {
                        let detail = err.to_string();
                        let last = detail.lines().last().unwrap_or("").trim().to_string();
                        self.err(
                            Diagnostic::error(
                                Code::BadPattern,
                                arg.span,
                                "this pattern is not a valid regular expression",
                            )
                            .label(last)
                            .help(
                                "escape special characters with `\\\\`, e.g. \"@gmail\\\\.com$\"",
                            ),
                        );
                    }
                }
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

    /// Segments may name other segments but not themselves, directly or through others.
    fn segment_cycles(&mut self, file: &File) {
        let deps = &self.usage.segment_deps;
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
        self.diags.extend(found);
    }
}

fn duplicate_grade(g: &GradeDecl, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateName,
        g.label.span,
        format!("grade `{}` is declared twice", g.label.text),
    )
    .with(first, "first declared here")
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
