//! Second pass, over the declarations: every name resolved and every expression typed (in
//! [`resolve`](super::resolve) and [`types`](super::types)), and the checks particular to each
//! kind of declaration: stages, moves, exits, KPIs, costs, revenue and score models.

use std::collections::{BTreeMap, BTreeSet};

use super::symbols::*;
use crate::diag::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::*;

/// What the declarations use, for the "unused" lints and the segment cycle check.
#[derive(Default)]
pub struct Usage {
    pub segments: BTreeSet<String>,
    pub scores: BTreeSet<String>,
    /// For each segment, the segments its condition names.
    pub segment_deps: BTreeMap<String, Vec<(String, Span)>>,
    /// Each valid `matches` pattern and the bytes it takes compiled.
    pub patterns: Vec<(Span, usize)>,
}

/// The state of the second pass over a slice of the file's declarations: what it has
/// reported and what the declarations use.
pub(super) struct DeclChecker<'a> {
    pub(super) src: &'a str,
    pub(super) sym: &'a Symbols,
    pub(super) diags: &'a mut Vec<Diagnostic>,
    pub(super) usage: Usage,
    /// Segments named by the condition being checked.
    pub(super) deps: Vec<(String, Span)>,
}

/// Where a bare name is looked up: in an event's properties first (inside `where`), then in
/// the lead's traits, segments, scores and events.
#[derive(Clone, Copy)]
pub(super) struct Scope<'a> {
    pub(super) event: Option<&'a str>,
}

/// The scope of a condition outside any `where`.
pub(super) const TOP: Scope<'static> = Scope { event: None };

/// Checks every declaration of the file, reporting into `diags`, and says what they use.
pub fn check_items(file: &File, src: &str, sym: &Symbols, diags: &mut Vec<Diagnostic>) -> Usage {
    use rayon::prelude::*;
    // Declarations are checked independently, in slices on every core; what they use is
    // merged afterwards (diagnostics are sorted by position later, so the order is stable).
    let per_slice: Vec<(Usage, Vec<Diagnostic>)> = file
        .items
        .par_chunks(1024)
        .map(|items| {
            let mut d = Vec::new();
            let mut checker = DeclChecker {
                src,
                sym,
                diags: &mut d,
                usage: Usage::default(),
                deps: Vec::new(),
            };
            for item in items {
                checker.item(item);
            }
            let usage = checker.usage;
            (usage, d)
        })
        .collect();
    let mut usage = Usage::default();
    for (u, d) in per_slice {
        usage.segments.extend(u.segments);
        usage.scores.extend(u.scores);
        usage.segment_deps.extend(u.segment_deps);
        usage.patterns.extend(u.patterns);
        diags.extend(d);
    }
    diags.extend(patterns_total(&mut usage.patterns));
    diags.extend(super::cycles::segment_cycles(file, &usage.segment_deps));
    usage
}

/// The one pattern, in file order, with which the file's patterns together pass
/// [`super::pattern::TOTAL_LIMIT`].
fn patterns_total(patterns: &mut [(Span, usize)]) -> Option<Diagnostic> {
    use super::pattern::TOTAL_LIMIT;
    patterns.sort_by_key(|(s, _)| s.start);
    let mut total = 0usize;
    let &(span, _) = patterns.iter().find(|(_, n)| {
        total = total.saturating_add(*n);
        total > TOTAL_LIMIT
    })?;
    Some(
        Diagnostic::error(
            Code::BadPattern,
            span,
            format!(
                "the file's `matches` patterns take more than {} MB compiled, together",
                TOTAL_LIMIT >> 20
            ),
        )
        .label("the total passes the limit with this one")
        .help(
            "use smaller patterns (`[a-z]` takes far less than `\\w`), or fewer: a pattern \
             used in many places can be one segment",
        ),
    )
}

impl<'a> DeclChecker<'a> {
    pub(super) fn err(&mut self, d: Diagnostic) {
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
                self.fires(&m.fires);
            }
            Item::Exit(e) => {
                if let StageSet::Stages(list) = &e.from {
                    for s in list {
                        self.stage_ref(s);
                    }
                }
                self.fires(&e.fires);
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
            Item::Test(t) | Item::Fixture(t) => self.test(t),
            Item::Cases(c) => self.test(&c.template),
            Item::TestsFor(_) | Item::Snapshot(_) => {}
        }
    }

    /// A move's or an exit's trigger and condition. The trigger is an event query of its own
    /// (the grammar allows no scopes on it), checked like one.
    fn fires(&mut self, fires: &Fires) {
        for e in fires.exprs() {
            self.condition(e, TOP);
        }
    }

    pub(super) fn positive_duration(&mut self, d: &DurationLit, what: &str) {
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
}

fn duplicate_grade(g: &GradeDecl, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateName,
        g.label.span,
        format!("grade `{}` is declared twice", g.label.text),
    )
    .with(first, "first declared here")
}
