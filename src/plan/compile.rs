//! The compiler from a checked file's AST to a [`Plan`]: every name resolved to its slot.

use std::collections::BTreeMap;

use super::reads::{reads_only, trait_only_segments, watch_lists};
use super::{
    literal, Cond, DecayKind, EventType, Leave, LeaveTo, Plan, PropTest, Query, RulePoints,
    ScoreModel, ScoreRule, StagePlan, Timers,
};
use crate::check::{Symbols, Ty};
use crate::lead::names::{Head, Key, NameTable, TraitTree};
use crate::lead::Value;
use crate::span::Span;
use crate::syntax::ast::*;

struct Compiler<'a> {
    sym: &'a Symbols,
    src: &'a str,
    /// Line starts, so that naming the line of each rule does not rescan the file.
    lines: crate::diag::LineIndex,
    traits: BTreeMap<&'a str, u16>,
    events: BTreeMap<&'a str, u16>,
    segments: BTreeMap<&'a str, u16>,
    scores: BTreeMap<&'a str, u16>,
    grades: BTreeMap<&'a str, Vec<String>>,
    offsets: Vec<i64>,
    timers: Timers,
    /// `days since entering` thresholds, by stage.
    entry_offsets: BTreeMap<u16, Vec<i64>>,
    reads_score: bool,
    /// `then` conditions so far.
    chains: usize,
    prefilters: Vec<(u16, Cond)>,
}

/// Compiles a file that checked without errors. Returns `None` if it meets a construct the
/// checker should have refused (which would be a checker bug, reported by the caller).
pub(crate) fn compile(file: &File, sym: &Symbols, source: &str, file_name: &str) -> Option<Plan> {
    let traits: Vec<(String, Ty)> = sym
        .traits
        .iter()
        .map(|(k, (t, _))| (k.clone(), t.clone()))
        .collect();
    let events: Vec<EventType> = sym
        .events
        .iter()
        .map(|(k, e)| EventType {
            name: k.clone(),
            props: e
                .props
                .iter()
                .map(|(p, (t, _))| (p.clone(), t.clone()))
                .collect(),
        })
        .collect();
    let mut cx = Compiler {
        sym,
        src: source,
        lines: crate::diag::LineIndex::new(source),
        traits: sym
            .traits
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i as u16))
            .collect(),
        events: sym
            .events
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i as u16))
            .collect(),
        segments: BTreeMap::new(),
        scores: BTreeMap::new(),
        grades: BTreeMap::new(),
        offsets: Vec::new(),
        timers: Timers::default(),
        entry_offsets: BTreeMap::new(),
        reads_score: false,
        chains: 0,
        prefilters: Vec::new(),
    };
    let mut seg_decls = Vec::new();
    let mut score_decls = Vec::new();
    for item in &file.items {
        match item {
            Item::Segment(s) => {
                cx.segments.insert(&s.name.text, seg_decls.len() as u16);
                seg_decls.push(s);
            }
            Item::Score(s) => {
                cx.scores.insert(&s.name.text, score_decls.len() as u16);
                cx.grades.insert(
                    &s.name.text,
                    s.grades.iter().map(|g| g.label.text.clone()).collect(),
                );
                score_decls.push(s);
            }
            _ => {}
        }
    }
    let mut segments = Vec::new();
    for s in &seg_decls {
        segments.push((s.name.text.clone(), cx.expr(&s.expr, None)?, s.expr.clone()));
    }
    let mut scores = Vec::new();
    let mut decays = false;
    for s in &score_decls {
        let mut rules = Vec::new();
        for r in &s.rules {
            let kind = match &r.kind {
                RuleKind::When(e) => RulePoints::When(cx.expr(e, None)?),
                RuleKind::Per { query, cap } => RulePoints::Per {
                    query: cx.query(query)?,
                    cap: cap.map(|c| c.value),
                },
            };
            rules.push(ScoreRule {
                points: r.points.value,
                kind,
                expr: match &r.kind {
                    RuleKind::When(e) => Some(e.clone()),
                    RuleKind::Per { .. } => None,
                },
                line: cx.line(r.span),
                text: cx.text(r.span),
            });
        }
        let decay = s.decay.as_ref().map(|d| match d {
            Decay::HalfLife(d) => DecayKind::HalfLife(d.value.seconds() * 1000),
            Decay::Expire(d) => DecayKind::Expire(d.value.seconds() * 1000),
        });
        if let Some(DecayKind::Expire(ms)) = decay {
            cx.offsets.push(ms);
        }
        decays |= decay.is_some();
        scores.push(ScoreModel {
            name: s.name.text.clone(),
            max: s.max.map(|n| n.value),
            min: s.min.map(|n| n.value),
            decay,
            rules,
            grades: s
                .grades
                .iter()
                .map(|g| (g.label.text.clone(), g.from.value))
                .collect(),
        });
    }
    let stage_ids: BTreeMap<&str, u16> = sym
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i as u16))
        .collect();
    let mut stages = Vec::new();
    for item in &file.items {
        if let Item::Stage(s) = item {
            if stages.len() >= sym.stages.len() {
                break;
            }
            let e = s.enter.first()?;
            stages.push(StagePlan {
                name: s.name.text.clone(),
                display: s.display.clone(),
                owner: s.owner.as_ref().map(|o| o.text.clone()),
                sla: s.sla.map(|d| d.value.seconds() * 1000),
                enter: cx.expr(e, None)?,
                enter_expr: e.clone(),
                line: cx.line(s.span),
            });
        }
    }
    let mut exits = Vec::new();
    let mut moves = Vec::new();
    for item in &file.items {
        match item {
            Item::Exit(x) => {
                let from = match &x.from {
                    StageSet::Any(_) => None,
                    StageSet::Stages(v) => Some(
                        v.iter()
                            .map(|n| stage_ids.get(n.text.as_str()).copied())
                            .collect::<Option<Vec<u16>>>()?,
                    ),
                };
                let prio = x.priority.map_or(u32::MAX, |p| p.value);
                exits.push((
                    prio,
                    Leave {
                        from,
                        to: LeaveTo::Exit(x.name.text.clone()),
                        on: cx.trigger(&x.fires)?,
                        when: cx.guard(&x.fires)?,
                        fires: x.fires.clone(),
                        line: cx.line(x.span),
                    },
                ));
            }
            Item::Move(m) => {
                let from = *stage_ids.get(m.from.text.as_str())?;
                let to = *stage_ids.get(m.to.text.as_str())?;
                let prio = m.priority.map_or(u32::MAX, |p| p.value);
                moves.push((
                    prio,
                    Leave {
                        from: Some(vec![from]),
                        to: LeaveTo::Stage(to),
                        on: cx.trigger(&m.fires)?,
                        when: cx.guard(&m.fires)?,
                        fires: m.fires.clone(),
                        line: cx.line(m.span),
                    },
                ));
            }
            _ => {}
        }
    }
    // Stable sorts: equal priorities keep declaration order.
    exits.sort_by_key(|(p, _)| *p);
    moves.sort_by_key(|(p, _)| *p);
    let leaves: Vec<Leave> = exits.into_iter().chain(moves).map(|(_, l)| l).collect();
    let mut offsets = std::mem::take(&mut cx.offsets);
    offsets.sort_unstable();
    offsets.dedup();
    let timers = cx.finish_timers(stages.len());
    let event_names = NameTable::new(events.iter().map(|e| e.name.as_str()));
    let prop_keys = events
        .iter()
        .map(|e| e.props.iter().map(|(p, _)| Key::of(p.as_bytes())).collect())
        .collect();
    let prop_heads = events
        .iter()
        .map(|e| e.props.iter().map(|(p, _)| Head::of(p)).collect())
        .collect();
    let trait_tree = TraitTree::new(traits.iter().map(|(p, _)| p.as_str()));
    let trait_names = NameTable::new(traits.iter().map(|(p, _)| p.as_str()));
    let funnel = file.items.iter().find_map(|i| match i {
        Item::Funnel(f) => Some(f.name.clone()),
        _ => None,
    });
    let watch = watch_lists(events.len(), &segments, &scores, &stages, &leaves);
    Some(Plan {
        watch,
        funnel,
        source: source.to_string(),
        file: file_name.to_string(),
        traits,
        events,
        event_names,
        prop_keys,
        prop_heads,
        trait_tree,
        trait_names,
        prefilter_tests: cx.prefilters.iter().map(|(_, c)| PropTest::of(c)).collect(),
        prefilters: std::mem::take(&mut cx.prefilters),
        trait_segments: trait_only_segments(&segments),
        segments,
        scores,
        stages,
        leaves,
        timer_offsets: offsets,
        timers,
        chains: cx.chains,
        decay_matters: decays && cx.reads_score,
        dimensions: file
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Dimensions(d) => Some(d.paths.iter()),
                _ => None,
            })
            .flatten()
            .filter_map(|n| sym.traits.keys().position(|k| *k == n.text))
            .collect(),
    })
}

impl Compiler<'_> {
    fn line(&self, span: Span) -> usize {
        self.lines.line(span.start)
    }

    fn text(&self, span: Span) -> String {
        let t = self.src.get(span.start..span.end).unwrap_or("");
        t.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The event of an `on` trigger (`Some(None)` for a `when` rule; `None`: not checked).
    fn trigger(&mut self, fires: &Fires) -> Option<Option<Query>> {
        match fires {
            Fires::On { event, .. } => match &event.kind {
                ExprKind::Event(q) => self.query(q).map(Some),
                _ => None,
            },
            Fires::When(_) => Some(None),
        }
    }

    /// The condition of a `when` rule or the guard of an `on` trigger (`Some(None)`: no
    /// guard; `None`: not checked).
    fn guard(&mut self, fires: &Fires) -> Option<Option<Cond>> {
        match fires.condition() {
            Some(c) => self.expr(c, None).map(Some),
            None => Some(None),
        }
    }

    fn query(&mut self, q: &EventQuery) -> Option<Query> {
        let ev = *self.events.get(q.event.text.as_str())?;
        let filter = match &q.filter {
            Some(f) => Some(Box::new(self.expr(f, Some(ev))?)),
            None => None,
        };
        let within = q.within.map(|d| d.value.seconds() * 1000);
        if let Some(w) = within {
            // The event leaves the window one millisecond after `at + D`; a history becomes
            // long enough for `no ... within D` at `start + D`.
            self.offsets.push(w);
            self.offsets.push(w + 1);
            self.timers.after_start.push(w);
        }
        let since = match &q.since {
            Some(s) => Some(self.sym.stage_index(&s.text)? as u16),
            None => None,
        };
        let (list, prefiltered) = match &filter {
            // A filter that reads only the event and traits can be worked out once per event.
            Some(f) if reads_only(f, true, &[]) => {
                self.prefilters.push((ev, (**f).clone()));
                (self.events.len() + self.prefilters.len() - 1, true)
            }
            _ => (usize::from(ev), false),
        };
        let list = u32::try_from(list).ok()?;
        if let Some(w) = within {
            self.after_events(list, &[w + 1]);
        }
        Some(Query {
            ev,
            filter,
            list,
            prefiltered,
            within,
            since,
            text: self.text(q.span),
        })
    }

    /// The instants (as offsets) at which a `days since` compared with `other` changes, when
    /// `other` is a number.
    fn days_offsets(&mut self, other: &Expr) -> Vec<i64> {
        let ms = match &other.kind {
            ExprKind::Lit(Literal::Int(n)) => n.saturating_mul(86_400_000),
            ExprKind::Lit(Literal::Decimal(n)) => (n * 86_400_000.0) as i64,
            _ => return Vec::new(),
        };
        let offs = vec![ms, ms.saturating_add(1)];
        self.offsets.extend(&offs);
        offs
    }

    /// Notes where a compiled `days since` side of a comparison can change: `offs` after the
    /// event its query picks (or after each event of its list, when the filter must be
    /// evaluated at the moment), or after the history's start, or after an entry.
    fn days_timers(&mut self, side: &Cond, offs: &[i64]) {
        match side {
            Cond::DaysSince(which, q) => {
                self.timers.after_start.extend(offs);
                if q.filter.is_some() && !q.prefiltered {
                    self.after_events(q.list, offs);
                    return;
                }
                let same = |p: &(Query, Which, Vec<i64>)| {
                    p.0.list == q.list
                        && p.1 == *which
                        && p.0.since == q.since
                        && p.0.within == q.within
                };
                match self.timers.after_pick.iter_mut().find(|p| same(p)) {
                    Some(p) => p.2.extend(offs),
                    None => self
                        .timers
                        .after_pick
                        .push((q.clone(), *which, offs.to_vec())),
                }
            }
            Cond::DaysSinceEntering(s) => self.entry_offsets.entry(*s).or_default().extend(offs),
            _ => {}
        }
    }

    fn after_events(&mut self, list: u32, offs: &[i64]) {
        match self
            .timers
            .after_events
            .iter_mut()
            .find(|(l, _)| *l == list)
        {
            Some((_, v)) => v.extend(offs),
            None => self.timers.after_events.push((list, offs.to_vec())),
        }
    }

    /// The timers, each list sorted and without repeats.
    fn finish_timers(&mut self, stages: usize) -> Timers {
        fn tidy(v: &mut Vec<i64>) {
            v.sort_unstable();
            v.dedup();
        }
        let mut t = std::mem::take(&mut self.timers);
        tidy(&mut t.after_start);
        t.after_events.iter_mut().for_each(|(_, v)| tidy(v));
        t.after_pick.iter_mut().for_each(|(_, _, v)| tidy(v));
        t.after_entry = (0..stages as u16)
            .map(|s| {
                let mut v = t.after_start.clone();
                v.extend(self.entry_offsets.get(&s).into_iter().flatten());
                tidy(&mut v);
                v
            })
            .collect();
        t
    }

    fn expr(&mut self, e: &Expr, event: Option<u16>) -> Option<Cond> {
        let b = |c: Cond| Box::new(c);
        Some(match &e.kind {
            ExprKind::Lit(l) => Cond::Const(literal(l)),
            ExprKind::List(items) => {
                let mut vals = Vec::new();
                for i in items {
                    match self.expr(i, event)? {
                        Cond::Const(v) => vals.push(v),
                        Cond::GradeLabel(_) => return None,
                        _ => return None,
                    }
                }
                Cond::Const(Value::List(vals))
            }
            ExprKind::Name(n) => self.name(&n.text, event)?,
            ExprKind::Event(q) => Cond::Present(self.query(q)?),
            ExprKind::Count(q) => Cond::Count(self.query(q)?),
            ExprKind::Rate(a, c) => Cond::Rate(self.query(a)?, self.query(c)?),
            ExprKind::No(q) => Cond::No(self.query(q)?),
            ExprKind::DaysSince(w, q) => Cond::DaysSince(*w, self.query(q)?),
            ExprKind::DaysSinceEntering(s) => {
                Cond::DaysSinceEntering(self.sym.stage_index(&s.text)? as u16)
            }
            ExprKind::Has { which, query, test } => {
                let q = self.query(query)?;
                let ev = &self.sym.events.get(&query.event.text)?.props;
                let slot = |p: &Name| ev.keys().position(|k| *k == p.text).map(|i| i as u16);
                let (props, k) = match test {
                    HasTest::Prop(p) => (vec![slot(p)?], 1),
                    HasTest::AtLeast { k, props } => {
                        (props.iter().map(slot).collect::<Option<Vec<_>>>()?, *k)
                    }
                };
                Cond::Has {
                    which: *which,
                    query: q,
                    props,
                    k,
                }
            }
            ExprKind::PropOf { prop, which, query } => {
                let q = self.query(query)?;
                let ev = &self.sym.events.get(&query.event.text)?.props;
                let slot = ev.keys().position(|k| *k == prop.text)? as u16;
                Cond::PropOf {
                    prop: slot,
                    which: *which,
                    query: q,
                }
            }
            ExprKind::Then(steps) => {
                let steps = steps
                    .iter()
                    .map(|q| self.query(q))
                    .collect::<Option<Vec<_>>>()?;
                self.chains += 1;
                Cond::Then {
                    steps,
                    id: u32::try_from(self.chains - 1).ok()?,
                }
            }
            ExprKind::AtLeast { k, items } => Cond::AtLeast(
                *k,
                items
                    .iter()
                    .map(|i| self.expr(i, event))
                    .collect::<Option<Vec<_>>>()?,
            ),
            ExprKind::Score(n) => {
                self.reads_score = true;
                Cond::Score(*self.scores.get(n.text.as_str())?)
            }
            ExprKind::Grade(n) => {
                self.reads_score = true;
                Cond::Grade(*self.scores.get(n.text.as_str())?)
            }
            ExprKind::Not(x) => Cond::Not(b(self.expr(x, event)?)),
            ExprKind::Neg(x) => Cond::Neg(b(self.expr(x, event)?)),
            ExprKind::All(v) => Cond::All(
                v.iter()
                    .map(|x| self.expr(x, event))
                    .collect::<Option<Vec<_>>>()?,
            ),
            ExprKind::Any(v) => Cond::Any(
                v.iter()
                    .map(|x| self.expr(x, event))
                    .collect::<Option<Vec<_>>>()?,
            ),
            ExprKind::Binary { op, lhs, rhs } => {
                if op.is_comparison() {
                    let mut days = [Vec::new(), Vec::new()];
                    for (k, (a, other)) in [(lhs, rhs), (rhs, lhs)].into_iter().enumerate() {
                        if matches!(
                            a.kind,
                            ExprKind::DaysSince(..) | ExprKind::DaysSinceEntering(_)
                        ) {
                            days[k] = self.days_offsets(other);
                        }
                    }
                    if let ExprKind::Grade(s) = &lhs.kind {
                        if let ExprKind::Name(label) = &rhs.kind {
                            let idx = self.grade_label(&s.text, &label.text)?;
                            // Grades are indices with 0 the best: "better" is "smaller".
                            return Some(Cond::Cmp(
                                op.mirrored(),
                                b(self.expr(lhs, event)?),
                                b(Cond::GradeLabel(idx)),
                            ));
                        }
                    }
                    let (l, r) = (self.expr(lhs, event)?, self.expr(rhs, event)?);
                    self.days_timers(&l, &days[0]);
                    self.days_timers(&r, &days[1]);
                    Cond::Cmp(*op, b(l), b(r))
                } else {
                    Cond::Arith(*op, b(self.expr(lhs, event)?), b(self.expr(rhs, event)?))
                }
            }
            ExprKind::In {
                value,
                list,
                negated,
            } => {
                if let (ExprKind::Grade(s), ExprKind::List(items)) = (&value.kind, &list.kind) {
                    let mut labels = Vec::new();
                    for i in items {
                        let ExprKind::Name(l) = &i.kind else {
                            return None;
                        };
                        labels.push(Value::Num(f64::from(self.grade_label(&s.text, &l.text)?)));
                    }
                    return Some(Cond::In(
                        b(self.expr(value, event)?),
                        b(Cond::Const(Value::List(labels))),
                        *negated,
                    ));
                }
                Cond::In(
                    b(self.expr(value, event)?),
                    b(self.expr(list, event)?),
                    *negated,
                )
            }
            ExprKind::Between { value, lo, hi } => Cond::Between(
                b(self.expr(value, event)?),
                b(self.expr(lo, event)?),
                b(self.expr(hi, event)?),
            ),
            ExprKind::Test { value, op, arg } => {
                let re = if *op == TestOp::Matches {
                    match &arg.kind {
                        ExprKind::Lit(Literal::Text(p)) => {
                            Some(crate::check::pattern::build(p).ok()?)
                        }
                        _ => return None,
                    }
                } else {
                    None
                };
                Cond::Test(
                    *op,
                    b(self.expr(value, event)?),
                    b(self.expr(arg, event)?),
                    re,
                )
            }
            ExprKind::Exists(v) => Cond::Exists(b(self.expr(v, event)?)),
            ExprKind::Missing(v) => Cond::Not(b(Cond::Exists(b(self.expr(v, event)?)))),
        })
    }

    fn grade_label(&self, score: &str, label: &str) -> Option<u16> {
        self.grades
            .get(score)?
            .iter()
            .position(|g| g == label)
            .map(|i| i as u16)
    }

    fn name(&mut self, n: &str, event: Option<u16>) -> Option<Cond> {
        if let Some(ev) = event {
            let name = self
                .events
                .iter()
                .find(|(_, i)| **i == ev)
                .map(|(k, _)| *k)?;
            if let Some(pos) = self.sym.events.get(name)?.props.keys().position(|k| k == n) {
                return Some(Cond::Prop(pos as u16));
            }
        }
        if let Some(i) = self.traits.get(n) {
            return Some(Cond::Trait(*i));
        }
        if let Some(i) = self.segments.get(n) {
            return Some(Cond::Segment(*i));
        }
        if let Some(i) = self.scores.get(n) {
            self.reads_score = true;
            return Some(Cond::Score(*i));
        }
        let ev = *self.events.get(n)?;
        Some(Cond::Present(Query {
            ev,
            filter: None,
            list: u32::from(ev),
            prefiltered: false,
            within: None,
            since: None,
            text: n.to_string(),
        }))
    }
}
