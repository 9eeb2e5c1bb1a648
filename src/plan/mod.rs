//! The evaluation plan: a checked rule file compiled for replay. Every name is resolved to a
//! slot once, here; the interpreter never looks a name up.

use std::collections::BTreeMap;

use crate::check::{Symbols, Ty};
use crate::syntax::ast::{self, *};
use crate::time;

use crate::lead::names::{Head, Key, NameTable, TraitTree};
use crate::lead::Value;

/// An event query with its event type, filter and scopes resolved.
#[derive(Clone, Debug)]
pub struct Query {
    pub ev: u16,
    pub filter: Option<Box<C>>,
    /// Which of a lead's event lists this query reads (see [`Plan::prefilters`]): the list
    /// of its event type, or, when its filter reads only the event and the lead's traits,
    /// a list of the events that pass the filter, made once per lead.
    pub list: u32,
    /// `list` holds only events that pass the filter: it need not be evaluated again.
    pub prefiltered: bool,
    pub within: Option<i64>,
    pub since: Option<u16>,
    /// The source text, for explanations.
    pub text: String,
}

/// A compiled expression.
#[derive(Clone, Debug)]
pub enum C {
    Const(Value),
    Trait(u16),
    /// A property of the event under a `where` filter.
    Prop(u16),
    Segment(u16),
    Score(u16),
    /// The grade of a score as its index (0 = best); compared with label indices.
    Grade(u16),
    GradeLabel(u16),
    Present(Query),
    Count(Query),
    Rate(Query, Query),
    No(Query),
    DaysSince(Which, Query),
    DaysSinceEntering(u16),
    Has {
        which: Which,
        query: Query,
        props: Vec<u16>,
        k: u32,
    },
    PropOf {
        prop: u16,
        which: Which,
        query: Query,
    },
    Then(Vec<Query>),
    AtLeast(u32, Vec<C>),
    Not(Box<C>),
    Neg(Box<C>),
    All(Vec<C>),
    Any(Vec<C>),
    Arith(BinOp, Box<C>, Box<C>),
    Cmp(BinOp, Box<C>, Box<C>),
    In(Box<C>, Box<C>, bool),
    Between(Box<C>, Box<C>, Box<C>),
    Test(TestOp, Box<C>, Box<C>, Option<regex::Regex>),
    Exists(Box<C>),
}

/// A filter that tests one property of the event against constants: `prop == k` (`k` a
/// text, number, yes/no or instant), or `prop in [...]` or `not in`.
#[derive(Clone, Debug, PartialEq)]
pub struct PropTest {
    prop: u16,
    /// The constants (one for `==`).
    items: Vec<Value>,
    /// `not in`.
    negated: bool,
    /// The texts among `items`, with their keys, and the numbers: a text can equal only a
    /// text and a number only a number, so those two kinds of value (nearly all) are decided
    /// here, a text mostly by its key alone, without `Value`'s `==` on each constant.
    texts: Vec<(Key, Box<[u8]>)>,
    /// Bit `min(len, 63)` set for the length of each of `texts`: most texts that match
    /// none have a length no constant has, and are told by it alone.
    lengths: u64,
    nums: Vec<f64>,
}

impl PropTest {
    pub fn of(c: &C) -> Option<PropTest> {
        let scalar = |k: &Value| !matches!(k, Value::Missing | Value::List(_));
        let (prop, items, negated) = match c {
            C::Cmp(BinOp::Eq, a, b) => match (&**a, &**b) {
                (C::Prop(p), C::Const(k)) | (C::Const(k), C::Prop(p)) if scalar(k) => {
                    (*p, vec![k.clone()], false)
                }
                _ => return None,
            },
            C::In(v, list, negated) => match (&**v, &**list) {
                (C::Prop(p), C::Const(Value::List(items))) => (*p, items.clone(), *negated),
                _ => return None,
            },
            _ => return None,
        };
        let texts: Vec<(Key, Box<[u8]>)> = items
            .iter()
            .filter_map(|k| match k {
                Value::Text(t) => Some((Key::of(t.as_bytes()), t.as_bytes().into())),
                _ => None,
            })
            .collect();
        let lengths = texts.iter().fold(0, |m, (_, t)| m | length_bit(t.len()));
        let nums = items
            .iter()
            .filter_map(|k| match k {
                Value::Num(n) => Some(*n),
                _ => None,
            })
            .collect();
        Some(PropTest {
            prop,
            items,
            negated,
            texts,
            lengths,
            nums,
        })
    }

    /// What the interpreter decides for the filter, given the property's value: `compare`'s
    /// equality is `==` on values unless a side is missing (a constant here never is), and
    /// a missing value is never in a list, nor `not in` it.
    #[inline]
    pub fn holds(&self, v: &Value) -> bool {
        let found = match v {
            Value::Missing => return false,
            Value::Text(s) => {
                let s = s.as_bytes();
                self.lengths & length_bit(s.len()) != 0 && {
                    let key = Key::of(s);
                    self.texts.iter().any(|(k, t)| key.same(s, k, t))
                }
            }
            Value::Num(x) => self.nums.iter().any(|n| n == x),
            _ => self.items.contains(v),
        };
        found != self.negated
    }

    pub fn prop(&self) -> u16 {
        self.prop
    }
}

/// A text length as one bit of a set of lengths, all above 62 sharing the last bit.
#[inline]
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

#[derive(Clone, Debug)]
pub struct EventType {
    pub name: String,
    pub props: Vec<(String, Ty)>,
}

#[derive(Clone, Debug)]
pub enum RulePoints {
    When(C),
    Per { query: Query, cap: Option<f64> },
}

#[derive(Clone, Debug)]
pub struct ScoreRule {
    pub points: f64,
    pub kind: RulePoints,
    pub line: usize,
    pub text: String,
}

#[derive(Clone, Debug)]
pub enum DecayKind {
    HalfLife(i64),
    Expire(i64),
}

#[derive(Clone, Debug)]
pub struct ScoreModel {
    pub name: String,
    pub max: Option<f64>,
    pub min: Option<f64>,
    pub decay: Option<DecayKind>,
    pub rules: Vec<ScoreRule>,
    /// Best first.
    pub grades: Vec<(String, f64)>,
}

#[derive(Clone, Debug)]
pub struct StagePlan {
    pub name: String,
    pub display: Option<String>,
    pub owner: Option<String>,
    pub sla: Option<i64>,
    pub enter: C,
    pub enter_expr: ast::Expr,
    pub line: usize,
}

/// A move or an exit: a way out of the current stage.
#[derive(Clone, Debug)]
pub struct Leave {
    /// Stages it leaves from; `None` is any stage.
    pub from: Option<Vec<u16>>,
    pub to: LeaveTo,
    pub when: C,
    pub when_expr: ast::Expr,
    pub line: usize,
}

#[derive(Clone, Debug)]
pub enum LeaveTo {
    Stage(u16),
    Exit(String),
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub funnel: Option<String>,
    pub source: String,
    pub file: String,
    pub traits: Vec<(String, Ty)>,
    pub events: Vec<EventType>,
    /// Event names → index, for the readers.
    pub event_names: NameTable,
    /// For each event type, its properties' names as [`Key`]s, in slot order.
    pub prop_keys: Vec<Vec<Key>>,
    /// For each event type, how each property (in slot order) starts a compact member.
    pub prop_heads: Vec<Vec<Head>>,
    /// Declared trait paths as a tree of keys, for the readers.
    pub trait_tree: TraitTree,
    /// Declared trait paths → slot, for readers that meet whole dotted paths.
    pub trait_names: NameTable,
    pub segments: Vec<(String, C, ast::Expr)>,
    pub scores: Vec<ScoreModel>,
    pub stages: Vec<StagePlan>,
    /// Exits first, then moves; each group in priority order, then declaration order.
    pub leaves: Vec<Leave>,
    /// Offsets (ms) after an event or an entry at which a condition may change by time alone.
    pub timer_offsets: Vec<i64>,
    /// Some score decays and a transition reads a score: crossings need bisection.
    pub decay_matters: bool,
    /// Trait slots of the `dimensions` (what reports and explanations name a lead by).
    pub dimensions: Vec<usize>,
    /// Filters that read only an event and the lead's traits, with their event type: list
    /// `events.len() + k` of a lead holds its events of that type that pass filter `k`.
    pub prefilters: Vec<(u16, C)>,
    /// For each prefilter: its shape, when it is one test of a property against constants
    /// (`page == "pricing"`, `step in [1, 2]`), decided without the interpreter.
    pub prefilter_tests: Vec<Option<PropTest>>,
    /// For each segment: whether it reads only traits (then it is worked out once per lead).
    pub trait_segments: Vec<bool>,
    /// For each position of a lead (see [`Plan::position`]): the event types that the
    /// conditions a look evaluates there can read, or `None` when one of them also reads the
    /// moment itself. An event of another type cannot change what a look decides (see
    /// `Machine::settle`).
    pub watch: Vec<Option<Vec<bool>>>,
}

impl Plan {
    pub fn event_id(&self, name: &str) -> Option<u16> {
        self.event_names.get(name.as_bytes()).map(|i| i as u16)
    }

    pub fn trait_slot(&self, path: &str) -> Option<usize> {
        self.trait_names.get(path.as_bytes()).map(|i| i as usize)
    }

    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }

    /// Index into [`Plan::watch`]: 0 outside the funnel, `1 + s` in stage `s`, and
    /// `1 + stages` once exited.
    pub fn position(&self, stage: Option<u16>, exited: bool) -> usize {
        match (exited, stage) {
            (true, _) => self.stages.len() + 1,
            (false, None) => 0,
            (false, Some(s)) => s as usize + 1,
        }
    }
}

struct Compiler<'a> {
    sym: &'a Symbols,
    src: &'a str,
    traits: BTreeMap<&'a str, u16>,
    events: BTreeMap<&'a str, u16>,
    segments: BTreeMap<&'a str, u16>,
    scores: BTreeMap<&'a str, u16>,
    grades: BTreeMap<&'a str, Vec<String>>,
    offsets: Vec<i64>,
    reads_score: bool,
    prefilters: Vec<(u16, C)>,
}

/// Compiles a file that checked without errors. Returns `None` if it meets a construct the
/// checker should have refused (which would be a checker bug, reported by the caller).
pub fn compile(file: &File, sym: &Symbols, source: &str, file_name: &str) -> Option<Plan> {
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
        reads_score: false,
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
                        when: cx.expr(&x.when, None)?,
                        when_expr: x.when.clone(),
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
                        when: cx.expr(&m.when, None)?,
                        when_expr: m.when.clone(),
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
        self.src
            .get(..span.start)
            .map_or(1, |s| s.bytes().filter(|b| *b == b'\n').count() + 1)
    }

    fn text(&self, span: Span) -> String {
        let t = self.src.get(span.start..span.end).unwrap_or("");
        t.split_whitespace().collect::<Vec<_>>().join(" ")
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
        Some(Query {
            ev,
            filter,
            list: u32::try_from(list).ok()?,
            prefiltered,
            within,
            since,
            text: self.text(q.span),
        })
    }

    fn days_offsets(&mut self, other: &Expr) {
        if let ExprKind::Lit(Literal::Int(n)) = &other.kind {
            let ms = n.saturating_mul(86_400_000);
            self.offsets.push(ms);
            self.offsets.push(ms.saturating_add(1));
        } else if let ExprKind::Lit(Literal::Decimal(n)) = &other.kind {
            let ms = (n * 86_400_000.0) as i64;
            self.offsets.push(ms);
            self.offsets.push(ms.saturating_add(1));
        }
    }

    fn expr(&mut self, e: &Expr, event: Option<u16>) -> Option<C> {
        let b = |c: C| Box::new(c);
        Some(match &e.kind {
            ExprKind::Lit(l) => C::Const(literal(l)),
            ExprKind::List(items) => {
                let mut vals = Vec::new();
                for i in items {
                    match self.expr(i, event)? {
                        C::Const(v) => vals.push(v),
                        C::GradeLabel(_) => return None,
                        _ => return None,
                    }
                }
                C::Const(Value::List(vals))
            }
            ExprKind::Name(n) => self.name(&n.text, event)?,
            ExprKind::Event(q) => C::Present(self.query(q)?),
            ExprKind::Count(q) => C::Count(self.query(q)?),
            ExprKind::Rate(a, c) => C::Rate(self.query(a)?, self.query(c)?),
            ExprKind::No(q) => C::No(self.query(q)?),
            ExprKind::DaysSince(w, q) => C::DaysSince(*w, self.query(q)?),
            ExprKind::DaysSinceEntering(s) => {
                C::DaysSinceEntering(self.sym.stage_index(&s.text)? as u16)
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
                C::Has {
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
                C::PropOf {
                    prop: slot,
                    which: *which,
                    query: q,
                }
            }
            ExprKind::Then(steps) => C::Then(
                steps
                    .iter()
                    .map(|q| self.query(q))
                    .collect::<Option<Vec<_>>>()?,
            ),
            ExprKind::AtLeast { k, items } => C::AtLeast(
                *k,
                items
                    .iter()
                    .map(|i| self.expr(i, event))
                    .collect::<Option<Vec<_>>>()?,
            ),
            ExprKind::Score(n) => {
                self.reads_score = true;
                C::Score(*self.scores.get(n.text.as_str())?)
            }
            ExprKind::Grade(n) => {
                self.reads_score = true;
                C::Grade(*self.scores.get(n.text.as_str())?)
            }
            ExprKind::Not(x) => C::Not(b(self.expr(x, event)?)),
            ExprKind::Neg(x) => C::Neg(b(self.expr(x, event)?)),
            ExprKind::All(v) => C::All(
                v.iter()
                    .map(|x| self.expr(x, event))
                    .collect::<Option<Vec<_>>>()?,
            ),
            ExprKind::Any(v) => C::Any(
                v.iter()
                    .map(|x| self.expr(x, event))
                    .collect::<Option<Vec<_>>>()?,
            ),
            ExprKind::Binary { op, lhs, rhs } => {
                if op.is_comparison() {
                    for (a, other) in [(lhs, rhs), (rhs, lhs)] {
                        if matches!(
                            a.kind,
                            ExprKind::DaysSince(..) | ExprKind::DaysSinceEntering(_)
                        ) {
                            self.days_offsets(other);
                        }
                    }
                    if let ExprKind::Grade(s) = &lhs.kind {
                        if let ExprKind::Name(label) = &rhs.kind {
                            let idx = self.grade_label(&s.text, &label.text)?;
                            // Grades are indices with 0 the best: "better" is "smaller".
                            return Some(C::Cmp(
                                op.mirrored(),
                                b(self.expr(lhs, event)?),
                                b(C::GradeLabel(idx)),
                            ));
                        }
                    }
                    C::Cmp(*op, b(self.expr(lhs, event)?), b(self.expr(rhs, event)?))
                } else {
                    C::Arith(*op, b(self.expr(lhs, event)?), b(self.expr(rhs, event)?))
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
                    return Some(C::In(
                        b(self.expr(value, event)?),
                        b(C::Const(Value::List(labels))),
                        *negated,
                    ));
                }
                C::In(
                    b(self.expr(value, event)?),
                    b(self.expr(list, event)?),
                    *negated,
                )
            }
            ExprKind::Between { value, lo, hi } => C::Between(
                b(self.expr(value, event)?),
                b(self.expr(lo, event)?),
                b(self.expr(hi, event)?),
            ),
            ExprKind::Test { value, op, arg } => {
                let re = if *op == TestOp::Matches {
                    match &arg.kind {
                        ExprKind::Lit(Literal::Text(p)) => Some(regex::Regex::new(p).ok()?),
                        _ => return None,
                    }
                } else {
                    None
                };
                C::Test(
                    *op,
                    b(self.expr(value, event)?),
                    b(self.expr(arg, event)?),
                    re,
                )
            }
            ExprKind::Exists(v) => C::Exists(b(self.expr(v, event)?)),
            ExprKind::Missing(v) => C::Not(b(C::Exists(b(self.expr(v, event)?)))),
        })
    }

    fn grade_label(&self, score: &str, label: &str) -> Option<u16> {
        self.grades
            .get(score)?
            .iter()
            .position(|g| g == label)
            .map(|i| i as u16)
    }

    fn name(&mut self, n: &str, event: Option<u16>) -> Option<C> {
        if let Some(ev) = event {
            let name = self
                .events
                .iter()
                .find(|(_, i)| **i == ev)
                .map(|(k, _)| *k)?;
            if let Some(pos) = self.sym.events.get(name)?.props.keys().position(|k| k == n) {
                return Some(C::Prop(pos as u16));
            }
        }
        if let Some(i) = self.traits.get(n) {
            return Some(C::Trait(*i));
        }
        if let Some(i) = self.segments.get(n) {
            return Some(C::Segment(*i));
        }
        if let Some(i) = self.scores.get(n) {
            self.reads_score = true;
            return Some(C::Score(*i));
        }
        let ev = *self.events.get(n)?;
        Some(C::Present(Query {
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

/// Whether `c` reads nothing that changes during a replay: constants, traits, segments marked
/// in `segments`, and, when `event` is true, the properties of the event under a filter.
/// Never time, history, stage or score.
fn reads_only(c: &C, event: bool, segments: &[bool]) -> bool {
    let only = |x: &C| reads_only(x, event, segments);
    match c {
        C::Const(_) | C::Trait(_) | C::GradeLabel(_) => true,
        C::Prop(_) => event,
        C::Segment(i) => segments.get(*i as usize).copied().unwrap_or(false),
        C::Not(x) | C::Neg(x) | C::Exists(x) => only(x),
        C::All(v) | C::Any(v) | C::AtLeast(_, v) => v.iter().all(only),
        C::Arith(_, a, b) | C::Cmp(_, a, b) | C::In(a, b, _) | C::Test(_, a, b, _) => {
            only(a) && only(b)
        }
        C::Between(a, b, c) => only(a) && only(b) && only(c),
        C::Score(_)
        | C::Grade(_)
        | C::Present(_)
        | C::Count(_)
        | C::Rate(..)
        | C::No(_)
        | C::DaysSince(..)
        | C::DaysSinceEntering(_)
        | C::Has { .. }
        | C::PropOf { .. }
        | C::Then(_) => false,
    }
}

/// What a condition can read that changes during a replay, besides the machine's state:
/// the event types of its queries (through segments and scores too), and whether it reads
/// the moment of evaluation (a window, `days since`, a decaying score).
struct Reads<'p> {
    events: Vec<bool>,
    time: bool,
    segments: &'p [(String, C, ast::Expr)],
    scores: &'p [ScoreModel],
    /// Segments and scores already walked (they may name each other).
    seg_seen: Vec<bool>,
    score_seen: Vec<bool>,
}

impl Reads<'_> {
    fn query(&mut self, q: &Query) {
        self.time |= q.within.is_some();
        self.query_events(q);
    }

    /// A query without its window: a `then` step after the first measures `within` from
    /// the step before it, not from the moment.
    fn query_events(&mut self, q: &Query) {
        if let Some(e) = self.events.get_mut(q.ev as usize) {
            *e = true;
        }
        if let Some(f) = &q.filter {
            self.expr(f);
        }
    }

    fn score(&mut self, i: u16) {
        let Some(seen) = self.score_seen.get_mut(i as usize) else {
            self.time = true; // unknown: assume the worst
            return;
        };
        if std::mem::replace(seen, true) {
            return;
        }
        let scores = self.scores;
        let Some(m) = scores.get(i as usize) else {
            return;
        };
        // A decaying score changes with time; without decay it reads only its rules.
        self.time |= m.decay.is_some();
        for r in &m.rules {
            match &r.kind {
                RulePoints::When(c) => self.expr(c),
                RulePoints::Per { query, .. } => self.query(query),
            }
        }
    }

    fn expr(&mut self, c: &C) {
        match c {
            C::Const(_) | C::Trait(_) | C::Prop(_) | C::GradeLabel(_) => {}
            C::Segment(i) => {
                let Some(seen) = self.seg_seen.get_mut(*i as usize) else {
                    self.time = true;
                    return;
                };
                if !std::mem::replace(seen, true) {
                    let segments = self.segments;
                    if let Some((_, c, _)) = segments.get(*i as usize) {
                        self.expr(c);
                    }
                }
            }
            C::Score(i) | C::Grade(i) => self.score(*i),
            C::Present(q) | C::Count(q) | C::No(q) => self.query(q),
            C::Has { query, .. } | C::PropOf { query, .. } => self.query(query),
            C::Rate(a, b) => {
                self.query(a);
                self.query(b);
            }
            C::Then(steps) => {
                if let Some((first, rest)) = steps.split_first() {
                    self.query(first);
                    rest.iter().for_each(|q| self.query_events(q));
                }
            }
            C::DaysSince(_, q) => {
                self.time = true;
                self.query(q);
            }
            C::DaysSinceEntering(_) => self.time = true,
            C::Not(x) | C::Neg(x) | C::Exists(x) => self.expr(x),
            C::All(v) | C::Any(v) | C::AtLeast(_, v) => v.iter().for_each(|x| self.expr(x)),
            C::Arith(_, a, b) | C::Cmp(_, a, b) | C::In(a, b, _) | C::Test(_, a, b, _) => {
                self.expr(a);
                self.expr(b);
            }
            C::Between(a, b, c) => {
                self.expr(a);
                self.expr(b);
                self.expr(c);
            }
        }
    }
}

/// [`Plan::watch`]: for each position, what the conditions a look evaluates there can read.
/// A look evaluates the exits and moves from the current stage, the next stage's entry
/// condition, and, wherever the lead is, the `when` rules of decaying scores (to note since
/// when each has held).
fn watch_lists(
    events: usize,
    segments: &[(String, C, ast::Expr)],
    scores: &[ScoreModel],
    stages: &[StagePlan],
    leaves: &[Leave],
) -> Vec<Option<Vec<bool>>> {
    let position = |stage: Option<usize>, exited: bool| {
        let mut r = Reads {
            events: vec![false; events],
            time: false,
            segments,
            scores,
            seg_seen: vec![false; segments.len()],
            score_seen: vec![false; scores.len()],
        };
        for m in scores.iter().filter(|m| m.decay.is_some()) {
            for rule in &m.rules {
                if let RulePoints::When(c) = &rule.kind {
                    r.expr(c);
                }
            }
        }
        if !exited {
            if let Some(s) = stage {
                for l in leaves {
                    if l.from.as_ref().is_none_or(|f| f.contains(&(s as u16))) {
                        r.expr(&l.when);
                    }
                }
            }
            let next = stage.map_or(0, |s| s + 1);
            if let Some(st) = stages.get(next) {
                r.expr(&st.enter);
            }
        }
        (!r.time).then_some(r.events)
    };
    let mut watch = vec![position(None, false)];
    watch.extend((0..stages.len()).map(|s| position(Some(s), false)));
    watch.push(position(None, true));
    watch
}

/// Which segments read only traits and constants (possibly through other such segments).
fn trait_only_segments(segments: &[(String, C, ast::Expr)]) -> Vec<bool> {
    // Until nothing changes: a segment may name one declared after it.
    let mut known = vec![false; segments.len()];
    loop {
        let next: Vec<bool> = segments
            .iter()
            .map(|(_, c, _)| reads_only(c, false, &known))
            .collect();
        if next == known {
            return known;
        }
        known = next;
    }
}

pub fn literal(l: &Literal) -> Value {
    match l {
        Literal::Int(i) => Value::Num(*i as f64),
        Literal::Decimal(d) | Literal::Percent(d) => Value::Num(*d),
        Literal::Money(m) => Value::Num(m.amount),
        Literal::Duration(d) => Value::Num((d.seconds() * 1000) as f64),
        Literal::Date(d) => Value::Time(time::date_to_timestamp(*d).millis),
        Literal::Timestamp(t) => Value::Time(t.millis),
        Literal::Text(s) => Value::Text(s.as_str().into()),
        Literal::Bool(b) => Value::Bool(*b),
    }
}
