//! Warnings: rules that can never fire, thresholds no score reaches, unused declarations,
//! KPIs and detours in impossible orders, and moves with no defined priority.
//!
//! Each lint is a function of the file and its symbols; none of them reports an error, so a
//! file with only warnings still checks (unless `--deny-warnings`).

use super::decls::Usage;
use super::symbols::*;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// Every lint but "unused", which needs what the expression pass saw: these need only the
/// file and its symbols, so they run beside that pass.
pub fn run(file: &File, src: &str, sym: &Symbols) -> Vec<Diagnostic> {
    use rayon::prelude::*;
    // The per-declaration lints run on slices of the file, beside the whole-file ones.
    let (per_item, mut diags) = rayon::join(
        || {
            file.items
                .par_chunks(1024)
                .map(|items| {
                    let mut d = Vec::new();
                    thresholds(items, src, sym, &mut d);
                    stage_order(items, sym, &mut d);
                    d
                })
                .collect::<Vec<_>>()
        },
        || {
            let mut d = Vec::new();
            score_caps(file, sym, &mut d);
            reachability(file, src, sym, &mut d);
            kpi_bands(file, &mut d);
            priorities(file, &mut d);
            d
        },
    );
    diags.extend(per_item.into_iter().flatten());
    diags
}

/// Segments and scores declared but never used.
pub fn run_unused(file: &File, sym: &Symbols, usage: &Usage, diags: &mut Vec<Diagnostic>) {
    unused(file, sym, usage, diags);
}

/// Calls `f` on every expression of the file, inner ones included.
fn each_expr(items: &[Item], f: &mut dyn FnMut(&Expr)) {
    for item in items {
        match item {
            Item::Segment(s) => walk(&s.expr, f),
            Item::Score(s) => {
                for r in &s.rules {
                    match &r.kind {
                        RuleKind::When(e) => walk(e, f),
                        RuleKind::Per { query, .. } => walk_query(query, f),
                    }
                }
            }
            Item::Stage(s) => s.enter.iter().for_each(|e| walk(e, f)),
            Item::Move(m) => walk(&m.when, f),
            Item::Exit(x) => walk(&x.when, f),
            _ => {}
        }
    }
}

fn walk_query(q: &EventQuery, f: &mut dyn FnMut(&Expr)) {
    if let Some(x) = &q.filter {
        walk(x, f);
    }
}

pub fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Lit(_) | ExprKind::Name(_) | ExprKind::Score(_) | ExprKind::Grade(_) => {}
        ExprKind::DaysSinceEntering(_) => {}
        ExprKind::List(v) | ExprKind::All(v) | ExprKind::Any(v) => {
            v.iter().for_each(|x| walk(x, f))
        }
        ExprKind::AtLeast { items, .. } => items.iter().for_each(|x| walk(x, f)),
        ExprKind::Event(q) | ExprKind::Count(q) | ExprKind::No(q) | ExprKind::DaysSince(_, q) => {
            walk_query(q, f)
        }
        ExprKind::Has { query, .. } | ExprKind::PropOf { query, .. } => walk_query(query, f),
        ExprKind::Rate(a, b) => {
            walk_query(a, f);
            walk_query(b, f);
        }
        ExprKind::Then(steps) => steps.iter().for_each(|q| walk_query(q, f)),
        ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Exists(x) | ExprKind::Missing(x) => {
            walk(x, f)
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            walk(lhs, f);
            walk(rhs, f);
        }
        ExprKind::In { value, list, .. } => {
            walk(value, f);
            walk(list, f);
        }
        ExprKind::Between { value, lo, hi } => {
            walk(value, f);
            walk(lo, f);
            walk(hi, f);
        }
        ExprKind::Test { value, arg, .. } => {
            walk(value, f);
            walk(arg, f);
        }
    }
}

fn num_lit(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Lit(Literal::Int(i)) => Some(*i as f64),
        ExprKind::Lit(Literal::Decimal(d)) => Some(*d),
        ExprKind::Neg(x) => num_lit(x).map(|v| -v),
        _ => None,
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The scores summed by an expression like `score fit + engagement + 5`, with the constant.
fn score_sum<'a>(e: &'a Expr, sym: &Symbols, out: &mut Vec<&'a str>) -> Option<f64> {
    match &e.kind {
        ExprKind::Score(n) if sym.scores.contains_key(&n.text) => {
            out.push(&n.text);
            Some(0.0)
        }
        ExprKind::Name(n)
            if sym.scores.contains_key(&n.text)
                && !sym.traits.contains_key(&n.text)
                && !sym.segments.contains_key(&n.text) =>
        {
            out.push(&n.text);
            Some(0.0)
        }
        ExprKind::Binary {
            op: BinOp::Add,
            lhs,
            rhs,
        } => Some(score_sum(lhs, sym, out)? + score_sum(rhs, sym, out)?),
        _ => num_lit(e),
    }
}

/// Why a comparison of a score sum with a number can never hold, if it cannot.
fn threshold_never(src: &str, e: &Expr, sym: &Symbols) -> Option<(String, String)> {
    let ExprKind::Binary { op, lhs, rhs } = &e.kind else {
        return None;
    };
    if !op.is_comparison() {
        return None;
    }
    let (sum_side, limit, op) = match (num_lit(lhs), num_lit(rhs)) {
        (None, Some(v)) => (lhs, v, *op),
        (Some(v), None) => (rhs, v, op.mirrored()),
        _ => return None,
    };
    let mut names = Vec::new();
    let constant = score_sum(sum_side, sym, &mut names)?;
    if names.is_empty() {
        return None;
    }
    let infos: Vec<(&str, &ScoreInfo)> = names
        .iter()
        .filter_map(|n| sym.scores.get(*n).map(|i| (*n, i)))
        .collect();
    let upper: Option<f64> = infos
        .iter()
        .map(|(_, i)| i.upper())
        .sum::<Option<f64>>()
        .map(|u| u + constant);
    let lower: f64 = infos.iter().map(|(_, i)| i.lower()).sum::<f64>() + constant;
    let never = match op {
        BinOp::Ge => upper.is_some_and(|u| u < limit),
        BinOp::Gt | BinOp::Eq => {
            upper.is_some_and(|u| u <= limit && !(op == BinOp::Eq && u == limit))
        }
        BinOp::Le => lower > limit,
        BinOp::Lt => lower >= limit,
        _ => false,
    };
    if !never {
        return None;
    }
    let why: Vec<String> = infos
        .iter()
        .map(|(n, i)| match (i.max, i.rules_max) {
            (Some(m), Some(r)) if r < m => format!("{n}'s rules add up to {}", fmt_num(r)),
            (Some(m), _) => format!("{n} is capped at {}", fmt_num(m)),
            (None, Some(r)) => format!("{n}'s rules add up to {}", fmt_num(r)),
            (None, None) => format!("{n} is unbounded"),
        })
        .collect();
    let label = match op {
        BinOp::Le | BinOp::Lt => format!("at least {}", fmt_num(lower)),
        _ => format!(
            "at most {}: {}",
            fmt_num(upper.unwrap_or(f64::INFINITY)),
            why.join(", ")
        ),
    };
    Some((crate::check::types::short(src, e), label))
}

fn thresholds(items: &[Item], src: &str, sym: &Symbols, diags: &mut Vec<Diagnostic>) {
    each_expr(items, &mut |e| {
        if let Some((shown, label)) = threshold_never(src, e, sym) {
            diags.push(
                Diagnostic::warning(
                    Code::UnreachableThreshold,
                    e.span,
                    format!("no lead can reach `{shown}`"),
                )
                .label(label)
                .help("lower the threshold or raise a cap"),
            );
        }
    });
}

/// Why a condition can never be true, where that can be seen without data.
struct Never {
    /// The part of the condition that cannot hold.
    span: Span,
    reason: String,
    help: String,
    /// A score threshold, which has its own `unreachable_threshold` warning.
    threshold: bool,
}

fn never(src: &str, e: &Expr, sym: &Symbols) -> Option<Never> {
    let plain = |reason: String, help: &str| Never {
        span: e.span,
        reason,
        help: help.to_string(),
        threshold: false,
    };
    match &e.kind {
        ExprKind::Lit(Literal::Bool(false)) => Some(plain(
            "the condition is `false`".into(),
            "remove the rule, or write the condition it should test",
        )),
        ExprKind::All(v) => v.iter().find_map(|x| never(src, x, sym)).or_else(|| {
            contradiction(v)
                .map(|r| plain(r, "these conditions exclude each other: fix one of them"))
        }),
        ExprKind::Any(v) => {
            let reasons: Option<Vec<Never>> = v.iter().map(|x| never(src, x, sym)).collect();
            reasons.and_then(|r| r.into_iter().next())
        }
        ExprKind::Binary { op, lhs, rhs } => {
            if threshold_never(src, e, sym).is_some() {
                return Some(Never {
                    threshold: true,
                    ..plain(
                        format!("no lead can reach `{}`", crate::check::types::short(src, e)),
                        "lower the threshold or raise a cap",
                    )
                });
            }
            // A count is never negative.
            if matches!(lhs.kind, ExprKind::Count(_)) {
                if let Some(v) = num_lit(rhs) {
                    let impossible = match op {
                        BinOp::Lt => v <= 0.0,
                        BinOp::Le | BinOp::Eq => v < 0.0,
                        _ => false,
                    };
                    if impossible {
                        return Some(plain(
                            "a count is never below zero".into(),
                            "to test that no event happened, write `no <event>`",
                        ));
                    }
                }
            }
            None
        }
        ExprKind::Between { lo, hi, .. } => match (num_lit(lo), num_lit(hi)) {
            (Some(a), Some(b)) if a > b => Some(Never {
                span: lo.span.to(hi.span),
                ..plain(
                    format!(
                        "nothing is between {} and {}: the lower bound comes second",
                        fmt_num(a),
                        fmt_num(b)
                    ),
                    &format!("write `between {} and {}`", fmt_num(b), fmt_num(a)),
                )
            }),
            _ => None,
        },
        ExprKind::In {
            list,
            negated: false,
            ..
        } => match &list.kind {
            ExprKind::List(items) if items.is_empty() => Some(plain(
                "nothing is in an empty list".into(),
                "list the values to look for",
            )),
            _ => None,
        },
        _ => None,
    }
}

/// `x >= 500 and x < 100`: bounds on one name that no value meets together.
fn contradiction(conjuncts: &[Expr]) -> Option<String> {
    use std::collections::BTreeMap;
    // name -> (lowest allowed, strict?), (highest allowed, strict?)
    let mut bounds: BTreeMap<&str, (f64, bool, f64, bool)> = BTreeMap::new();
    let mut texts: BTreeMap<&str, &str> = BTreeMap::new();
    for c in conjuncts {
        let (name, op, v) = match &c.kind {
            ExprKind::Binary { op, lhs, rhs } => match (&lhs.kind, num_lit(rhs)) {
                (ExprKind::Name(n), Some(v)) => (n.text.as_str(), *op, v),
                _ => {
                    if let (ExprKind::Name(n), ExprKind::Lit(Literal::Text(t)), BinOp::Eq) =
                        (&lhs.kind, &rhs.kind, op)
                    {
                        if let Some(prev) = texts.insert(&n.text, t) {
                            if prev != t {
                                return Some(format!(
                                    "`{}` cannot be both \"{prev}\" and \"{t}\"",
                                    n.text
                                ));
                            }
                        }
                    }
                    continue;
                }
            },
            ExprKind::Between { value, lo, hi } => match (&value.kind, num_lit(lo), num_lit(hi)) {
                (ExprKind::Name(n), Some(a), Some(b)) => {
                    let e = bounds.entry(&n.text).or_insert((
                        f64::NEG_INFINITY,
                        false,
                        f64::INFINITY,
                        false,
                    ));
                    if a > e.0 {
                        (e.0, e.1) = (a, false);
                    }
                    if b < e.2 {
                        (e.2, e.3) = (b, false);
                    }
                    continue;
                }
                _ => continue,
            },
            _ => continue,
        };
        let e = bounds
            .entry(name)
            .or_insert((f64::NEG_INFINITY, false, f64::INFINITY, false));
        match op {
            BinOp::Ge if v > e.0 => (e.0, e.1) = (v, false),
            BinOp::Gt if v >= e.0 => (e.0, e.1) = (v, true),
            BinOp::Le if v < e.2 => (e.2, e.3) = (v, false),
            BinOp::Lt if v <= e.2 => (e.2, e.3) = (v, true),
            BinOp::Eq => {
                if v > e.0 {
                    (e.0, e.1) = (v, false);
                }
                if v < e.2 {
                    (e.2, e.3) = (v, false);
                }
            }
            _ => {}
        }
    }
    bounds.into_iter().find_map(|(name, (lo, ls, hi, hs))| {
        let empty = lo > hi || (lo == hi && (ls || hs));
        empty.then(|| {
            format!(
                "`{name}` cannot be {} {} and {} {} at once",
                if ls { "above" } else { "at least" },
                fmt_num(lo),
                if hs { "below" } else { "at most" },
                fmt_num(hi)
            )
        })
    })
}

fn score_caps(file: &File, sym: &Symbols, diags: &mut Vec<Diagnostic>) {
    for item in &file.items {
        let Item::Score(s) = item else { continue };
        let max = s.max.map(|m| m.value);
        for r in &s.rules {
            let p = r.points.value;
            if let (Some(m), true) = (max, p.abs() > s.max.map_or(f64::INFINITY, |x| x.value)) {
                diags.push(
                    Diagnostic::warning(
                        Code::PointsExceedCap,
                        r.points.span,
                        format!(
                            "this rule gives {} points but `{}` is capped at {}",
                            fmt_num(p.abs()),
                            s.name.text,
                            fmt_num(m)
                        ),
                    )
                    .with(s.max.map_or(s.name.span, |x| x.span), "the cap")
                    .help("lower the points or raise the cap"),
                );
                continue;
            }
            if let RuleKind::Per { cap: Some(c), .. } = &r.kind {
                if p.abs() > c.value {
                    diags.push(
                        Diagnostic::warning(
                            Code::PointsExceedCap,
                            r.points.span,
                            format!(
                                "one event gives {} points but this rule is capped at {}",
                                fmt_num(p.abs()),
                                fmt_num(c.value)
                            ),
                        )
                        .with(c.span, "the rule's cap")
                        .help("lower the points or raise the rule's cap"),
                    );
                } else if let Some(m) = max.filter(|m| c.value > *m) {
                    diags.push(
                        Diagnostic::warning(
                            Code::PointsExceedCap,
                            c.span,
                            format!(
                                "this rule's cap {} is above the cap {} of `{}`",
                                fmt_num(c.value),
                                fmt_num(m),
                                s.name.text
                            ),
                        )
                        .with(s.max.map_or(s.name.span, |x| x.span), "the score's cap")
                        .help("lower the rule's cap"),
                    );
                }
            }
        }
        if let Some(info) = sym.scores.get(&s.name.text) {
            for g in &s.grades {
                if let Some(u) = info.upper().filter(|u| g.from.value > *u) {
                    diags.push(
                        Diagnostic::warning(
                            Code::UnreachableGrade,
                            g.from.span,
                            format!(
                                "grade `{}` needs {} but `{}` reaches at most {}",
                                g.label.text,
                                fmt_num(g.from.value),
                                s.name.text,
                                fmt_num(u)
                            ),
                        )
                        .help("lower the grade's threshold"),
                    );
                }
            }
        }
    }
}

/// Stages no lead can reach, and rules that can never fire.
fn reachability(file: &File, src: &str, sym: &Symbols, diags: &mut Vec<Diagnostic>) {
    let mut blocked: Option<&Name> = None;
    let mut unreachable: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for item in &file.items {
        match item {
            Item::Stage(s) => {
                if let Some(b) = blocked {
                    unreachable.insert(&s.name.text);
                    diags.push(
                        Diagnostic::warning(
                            Code::UnreachableStage,
                            s.name.span,
                            format!("no lead can reach stage `{}`", s.name.text),
                        )
                        .label("unreachable")
                        .with(b.span, "no lead can enter this earlier stage")
                        .help(format!(
                            "every lead passes `{}` first; fix its entry condition",
                            b.text
                        )),
                    );
                    continue;
                }
                if let Some(n) = s.enter.first().and_then(|e| never(src, e, sym)) {
                    blocked = Some(&s.name);
                    unreachable.insert(&s.name.text);
                    if !n.threshold {
                        diags.push(
                            Diagnostic::warning(
                                Code::UnreachableStage,
                                n.span,
                                format!("no lead can reach stage `{}`", s.name.text),
                            )
                            .label(n.reason)
                            .help(n.help),
                        );
                    }
                }
            }
            Item::Score(s) => {
                for r in &s.rules {
                    if let RuleKind::When(e) = &r.kind {
                        if let Some(n) = never(src, e, sym).filter(|n| !n.threshold) {
                            diags.push(never_fires(n, "this rule can never give points"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for item in &file.items {
        let (when, from): (&Expr, Vec<&Name>) = match item {
            Item::Move(m) => (&m.when, vec![&m.from]),
            Item::Exit(x) => match &x.from {
                StageSet::Stages(v) => (&x.when, v.iter().collect()),
                StageSet::Any(_) => (&x.when, Vec::new()),
            },
            _ => continue,
        };
        if let Some(n) = never(src, when, sym) {
            if !n.threshold {
                diags.push(never_fires(n, "this rule can never fire"));
            }
            continue;
        }
        if !from.is_empty() && from.iter().all(|f| unreachable.contains(&f.text.as_str())) {
            diags.push(
                Diagnostic::warning(Code::NeverFires, item.span(), "this rule can never fire")
                    .label(format!("no lead can reach `{}`", from[0].text)),
            );
        }
    }
}

fn never_fires(n: Never, msg: &str) -> Diagnostic {
    Diagnostic::warning(Code::NeverFires, n.span, msg)
        .label(n.reason)
        .help(n.help)
}

fn unused(file: &File, sym: &Symbols, usage: &Usage, diags: &mut Vec<Diagnostic>) {
    // Only the declaration that was collected: a rejected duplicate has its own error.
    let collected_segment = |n: &Name| {
        sym.segments
            .get(&n.text)
            .is_some_and(|s| s.start == n.span.start)
    };
    let collected_score = |n: &Name| {
        sym.scores
            .get(&n.text)
            .is_some_and(|s| s.span.start == n.span.start)
    };
    for item in &file.items {
        match item {
            Item::Segment(s)
                if collected_segment(&s.name) && !usage.segments.contains(&s.name.text) =>
            {
                diags.push(
                    Diagnostic::warning(
                        Code::UnusedSegment,
                        s.name.span,
                        format!("segment `{}` is never used", s.name.text),
                    )
                    .help("use it in a condition, or remove it"),
                )
            }
            Item::Score(s) if collected_score(&s.name) && !usage.scores.contains(&s.name.text) => {
                diags.push(
                    Diagnostic::warning(
                        Code::UnusedScore,
                        s.name.span,
                        format!("score `{}` is never used", s.name.text),
                    )
                    .help("use it in a stage condition or a test, or remove it"),
                )
            }
            _ => {}
        }
    }
}

/// Detours that go forward, KPIs that measure backwards, and conditions that look at a stage
/// the lead cannot have entered yet.
fn stage_order(items: &[Item], sym: &Symbols, diags: &mut Vec<Diagnostic>) {
    for item in items {
        match item {
            Item::Move(m) => {
                let (Some(f), Some(t)) =
                    (sym.stage_index(&m.from.text), sym.stage_index(&m.to.text))
                else {
                    continue;
                };
                if f == t {
                    diags.push(
                        Diagnostic::warning(
                            Code::StageOrder,
                            m.to.span,
                            format!(
                                "`move {} -> {}` leaves a stage for itself",
                                m.from.text, m.to.text
                            ),
                        )
                        .help("a move returns a lead to an earlier stage"),
                    );
                } else if t > f {
                    diags.push(
                        Diagnostic::warning(
                            Code::StageOrder,
                            m.to.span,
                            format!("`move {} -> {}` goes forward", m.from.text, m.to.text),
                        )
                        .label(format!("`{}` comes after `{}`", m.to.text, m.from.text))
                        .help("leads move forward through stage entry conditions, one stage at a time; a move returns a lead to an earlier stage"),
                    );
                }
            }
            Item::Kpi(k) => {
                let (from, to, what) = match k {
                    Kpi::Conversion { from, to, .. } => (from, to, "conversion"),
                    Kpi::Velocity { from, to, .. } => (from, to, "velocity"),
                };
                if let (Some(f), Some(t)) = (sym.stage_index(&from.text), sym.stage_index(&to.text))
                {
                    if t <= f {
                        diags.push(
                            Diagnostic::warning(
                                Code::StageOrder,
                                to.span,
                                format!(
                                    "{what} from `{}` to `{}` runs backwards",
                                    from.text, to.text
                                ),
                            )
                            .label(format!("`{}` does not come after `{}`", to.text, from.text))
                            .help(format!("write it as `{} -> {}`", to.text, from.text)),
                        );
                    }
                }
            }
            Item::Stage(s) => {
                let Some(me) = sym.stage_index(&s.name.text) else {
                    continue;
                };
                if sym.stages[me].span.start != s.name.span.start {
                    continue; // a duplicate, reported as such
                }
                for e in &s.enter {
                    walk(e, &mut |x| {
                        let mut check = |n: &Name| {
                            if sym.stage_index(&n.text).is_some_and(|i| i >= me) {
                                let msg = if n.text == s.name.text {
                                    format!(
                                        "the condition to enter `{}` looks at its own entry",
                                        s.name.text
                                    )
                                } else {
                                    format!("`{}` comes after `{}`: a lead entering `{}` has not entered it yet", n.text, s.name.text, s.name.text)
                                };
                                diags.push(
                                    Diagnostic::warning(Code::StageOrder, n.span, msg)
                                        .help("refer to an earlier stage, e.g. `since entering` the stage before"),
                                );
                            }
                        };
                        match &x.kind {
                            ExprKind::DaysSinceEntering(n) => check(n),
                            ExprKind::Event(q)
                            | ExprKind::Count(q)
                            | ExprKind::No(q)
                            | ExprKind::DaysSince(_, q)
                            | ExprKind::Has { query: q, .. }
                            | ExprKind::PropOf { query: q, .. } => {
                                if let Some(n) = &q.since {
                                    check(n)
                                }
                            }
                            _ => {}
                        }
                    });
                }
            }
            _ => {}
        }
    }
}

fn kpi_bands(file: &File, diags: &mut Vec<Diagnostic>) {
    for item in &file.items {
        let Item::Kpi(Kpi::Conversion { bands, .. }) = item else {
            continue;
        };
        // Each band as a half-open range [lo, hi) of percentages.
        let mut ranges: Vec<(f64, f64, &Band)> = Vec::new();
        let froms: Vec<f64> = bands
            .iter()
            .filter_map(|b| match b.range {
                BandRange::From(n) => Some(n.value),
                _ => None,
            })
            .collect();
        let mut labels: Vec<&str> = Vec::new();
        for b in bands {
            if labels.contains(&b.label.text.as_str()) {
                diags.push(
                    Diagnostic::warning(
                        Code::KpiBands,
                        b.label.span,
                        format!("band `{}` is named twice", b.label.text),
                    )
                    .help("give each band its own name"),
                );
            }
            labels.push(&b.label.text);
            let nums: Vec<Number> = match b.range {
                BandRange::Below(n) | BandRange::From(n) => vec![n],
                BandRange::Between(a, c) => vec![a, c],
            };
            for n in &nums {
                if n.value > 100.0 {
                    diags.push(
                        Diagnostic::warning(
                            Code::KpiBands,
                            n.span,
                            format!("a conversion rate of {}% is above 100%", fmt_num(n.value)),
                        )
                        .help("conversion is next stage / previous stage, at most 100%"),
                    );
                }
            }
            let (lo, hi) = match b.range {
                BandRange::Below(n) => (0.0, n.value),
                // A `from` band runs up to the next higher `from`.
                BandRange::From(n) => (
                    n.value,
                    froms
                        .iter()
                        .copied()
                        .filter(|f| *f > n.value)
                        .fold(f64::INFINITY, f64::min),
                ),
                BandRange::Between(a, c) => {
                    if a.value > c.value {
                        diags.push(
                            Diagnostic::warning(
                                Code::KpiBands,
                                b.span,
                                format!(
                                    "band `{}` runs from {}% down to {}%",
                                    b.label.text,
                                    fmt_num(a.value),
                                    fmt_num(c.value)
                                ),
                            )
                            .help("write the lower bound first"),
                        );
                    }
                    (a.value, c.value)
                }
            };
            ranges.push((lo, hi, b));
        }
        // Written order must climb: each band starts at or after the one before.
        for w in ranges.windows(2) {
            let ((lo_a, _, a), (lo_b, _, b)) = (&w[0], &w[1]);
            if lo_b < lo_a {
                diags.push(
                    Diagnostic::warning(
                        Code::KpiBands,
                        b.span,
                        format!(
                            "band `{}` starts at {}%, below band `{}` before it at {}%",
                            b.label.text,
                            fmt_num(*lo_b),
                            a.label.text,
                            fmt_num(*lo_a)
                        ),
                    )
                    .label("out of order")
                    .with(a.span, "this band starts higher")
                    .help("list bands from the lowest rate to the highest"),
                );
            }
        }
        for (i, (lo_a, hi_a, a)) in ranges.iter().enumerate() {
            for (lo_b, hi_b, b) in ranges.iter().skip(i + 1) {
                let overlap = lo_a.max(*lo_b) < hi_a.min(*hi_b);
                if overlap {
                    diags.push(
                        Diagnostic::warning(
                            Code::KpiBands,
                            b.span,
                            format!("bands `{}` and `{}` overlap", a.label.text, b.label.text),
                        )
                        .with(a.span, "overlaps this band")
                        .help("make each rate fall in one band at most"),
                    );
                }
            }
        }
    }
}

/// Two rules leaving the same stage, of the same kind (exits run before moves), that could
/// fire at the same moment with nothing to say which wins.
fn priorities(file: &File, diags: &mut Vec<Diagnostic>) {
    struct Leave<'a> {
        exit: bool,
        from: Option<Vec<&'a str>>,
        priority: Option<u32>,
        span: Span,
        what: String,
    }
    let mut leaves = Vec::new();
    for item in &file.items {
        match item {
            Item::Move(m) => leaves.push(Leave {
                exit: false,
                from: Some(vec![m.from.text.as_str()]),
                priority: m.priority.map(|p| p.value),
                span: m.span,
                what: format!("move {} -> {}", m.from.text, m.to.text),
            }),
            Item::Exit(x) => leaves.push(Leave {
                exit: true,
                from: match &x.from {
                    StageSet::Any(_) => None,
                    StageSet::Stages(v) => Some(v.iter().map(|n| n.text.as_str()).collect()),
                },
                priority: x.priority.map(|p| p.value),
                span: x.span,
                what: format!("exit {}", x.name.text),
            }),
            _ => {}
        }
    }
    for (i, a) in leaves.iter().enumerate() {
        for b in leaves.iter().skip(i + 1) {
            if a.exit != b.exit {
                continue;
            }
            let shared: Option<String> = match (&a.from, &b.from) {
                (None, None) => Some("any stage".into()),
                (None, Some(v)) | (Some(v), None) => v.first().map(|s| format!("`{s}`")),
                (Some(x), Some(y)) => x.iter().find(|s| y.contains(s)).map(|s| format!("`{s}`")),
            };
            let Some(shared) = shared else { continue };
            let ordered = matches!((a.priority, b.priority), (Some(p), Some(q)) if p != q);
            if ordered {
                continue;
            }
            diags.push(
                Diagnostic::warning(
                    Code::AmbiguousPriority,
                    b.span,
                    format!("`{}` and `{}` can both fire from {shared} at the same moment", a.what, b.what),
                )
                .with(a.span, "this rule too")
                .help("give them different priorities (`priority 1` runs first), or make their conditions exclude each other"),
            );
        }
    }
}
