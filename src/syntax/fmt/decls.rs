//! Declarations: each item of a file, and the blocks and objects inside them, as `Doc`s.

use super::expr::{cond_lines, expr, query};
use super::literals::{duration, lit, money, num, points, text, time_lit};
use super::printer::{Doc, Printer};
use super::{names, width, WIDTH};
use crate::span::Span;
use crate::syntax::ast::*;

impl Printer<'_> {
    pub(super) fn item(&self, item: &Item) -> Doc {
        match item {
            Item::Funnel(f) => Doc::leaf(f.span, format!("funnel {}", text(&f.name))),
            Item::Schema(s) => Doc::Block {
                span: s.span,
                header: "schema".into(),
                children: s
                    .entries
                    .iter()
                    .map(|e| Doc::leaf(e.span(), schema_entry(e)))
                    .collect(),
            },
            Item::Segment(s) => Doc::Leaf {
                span: s.span,
                lines: cond_lines(&format!("segment {} =", s.name), &s.expr, 0),
            },
            Item::Score(s) => self.score(s),
            Item::Stage(s) => {
                let mut header = format!("stage {}", s.name);
                if let Some(d) = &s.display {
                    header = format!("{header} {}", text(d));
                }
                if let Some(o) = &s.owner {
                    header = format!("{header} owner {o}");
                }
                if let Some(d) = &s.sla {
                    header = format!("{header} sla {}", duration(d.value));
                }
                Doc::Block {
                    span: s.span,
                    header,
                    children: s
                        .enter
                        .iter()
                        .map(|e| Doc::Leaf {
                            span: e.span,
                            lines: cond_lines("enter when", e, 1),
                        })
                        .collect(),
                }
            }
            Item::Move(m) => {
                let head = format!("move {} -> {}{}", m.from, m.to, priority(m.priority));
                Doc::Leaf {
                    span: m.span,
                    lines: fires_lines(head, &m.fires),
                }
            }
            Item::Exit(x) => {
                let from = match &x.from {
                    StageSet::Any(_) => "any".to_string(),
                    StageSet::Stages(v) if v.len() == 1 => names(v),
                    StageSet::Stages(v) => format!("[{}]", names(v)),
                };
                let head = format!("exit {} from {from}{}", x.name, priority(x.priority));
                Doc::Leaf {
                    span: x.span,
                    lines: fires_lines(head, &x.fires),
                }
            }
            Item::Kpi(k) => Doc::leaf(k.span(), kpi(k)),
            Item::Target(t) => {
                let mut line = format!(
                    "target volume {} {} from {:04}-{:02} = {}",
                    t.stage,
                    t.period.keyword(),
                    t.from.year,
                    t.from.month,
                    t.base
                );
                if let Some(g) = t.growth {
                    line = format!("{line}, growing {}%", num(g.value));
                }
                Doc::leaf(t.span, line)
            }
            Item::Dimensions(d) => Doc::leaf(d.span, format!("dimensions [{}]", names(&d.paths))),
            Item::Cost(c) => Doc::Block {
                span: c.span,
                header: format!("cost by {} {}", c.by, c.period.keyword()),
                children: c
                    .entries
                    .iter()
                    .map(|e| Doc::leaf(e.span, format!("{}: {},", text(&e.key), money(&e.amount))))
                    .collect(),
            },
            Item::Revenue(r) => {
                let period = r
                    .period
                    .map_or(String::new(), |p| format!("{} ", p.keyword()));
                Doc::leaf(r.span, format!("revenue {period}{} of {}", r.prop, r.event))
            }
            Item::Test(t) => self.test(t, "test", None),
            Item::Fixture(t) => self.test(t, "fixture", None),
            Item::Cases(c) => self.test(&c.template, "cases", Some(&c.rows)),
            Item::TestsFor(t) => Doc::leaf(t.span, format!("tests for {}", text(&t.path.text))),
            Item::Snapshot(s) => {
                let mut children = vec![Doc::leaf(
                    s.leads.span,
                    format!("leads {}", text(&s.leads.text)),
                )];
                if let Some(a) = &s.as_of {
                    children.push(Doc::leaf(a.span, format!("as of {}", time_lit(a))));
                }
                Doc::Block {
                    span: s.span,
                    header: format!("snapshot {}", text(&s.name)),
                    children,
                }
            }
        }
    }

    fn score(&self, s: &Score) -> Doc {
        let mut header = format!("score {}", s.name);
        if let Some(m) = s.max {
            header = format!("{header} max {}", num(m.value));
        }
        if let Some(m) = s.min {
            header = format!("{header} min {}", num(m.value));
        }
        match &s.decay {
            Some(Decay::HalfLife(d)) => {
                header = format!("{header} decay half-life {}", duration(d.value))
            }
            Some(Decay::Expire(d)) => {
                header = format!("{header} decay expire after {}", duration(d.value))
            }
            None => {}
        }
        let mut children: Vec<Doc> = s
            .rules
            .iter()
            .map(|r| {
                let pts = points(r.points.value);
                let lines = match &r.kind {
                    RuleKind::When(e) => cond_lines(&format!("{pts} when"), e, 1),
                    RuleKind::Per { query: q, cap } => {
                        let cap = cap.map_or(String::new(), |c| format!(" max {}", num(c.value)));
                        vec![format!("{pts} per {}{cap}", query(q, false))]
                    }
                };
                Doc::Leaf {
                    span: r.span,
                    lines,
                }
            })
            .chain(s.grades.iter().map(|g| {
                Doc::leaf(
                    g.span,
                    format!("grade {} from {}", g.label, num(g.from.value)),
                )
            }))
            .collect();
        // Rules and grades are kept apart in the tree; print them in the order written (a
        // stable sort, so a tree built in code prints rules first).
        children.sort_by_key(Doc::start);
        Doc::Block {
            span: s.span,
            header,
            children,
        }
    }

    /// A test, a fixture or a table of cases (`rows` is the cases' file): the same clauses.
    fn test(&self, t: &Test, keyword: &str, rows: Option<&Name>) -> Doc {
        let mut children = Vec::new();
        if let Some(r) = rows {
            children.push(Doc::leaf(r.span, format!("rows {}", text(&r.text))));
        }
        if let Some(a) = &t.as_of {
            children.push(Doc::leaf(a.span, format!("as of {}", time_lit(a))));
        }
        if let Some(o) = &t.traits {
            children.push(Doc::Leaf {
                span: o.span,
                lines: object_lines("traits ", o, 2),
            });
        }
        if let (Some(first), Some(last)) = (t.events.first(), t.events.last()) {
            // The `events { ... }` block has no span of its own: find its braces around the
            // events, so comments inside it stay inside it.
            let open = self.code_before(first.span.start, b'{');
            let close = self.code_after(last.span.end, b'}');
            let span = Span::new(
                open.unwrap_or(first.span.start),
                close.map_or(last.span.end, |c| c + 1),
            );
            let events = t
                .events
                .iter()
                .map(|e| {
                    let head = format!("{} {}", time_lit(&e.at), e.event);
                    let lines = match &e.props {
                        Some(o) => object_lines(&format!("{head} "), o, 4),
                        None => vec![head],
                    };
                    Doc::Leaf {
                        span: e.span,
                        lines,
                    }
                })
                .collect();
            children.push(Doc::Block {
                span,
                header: "events".into(),
                children: events,
            });
        }
        for e in &t.expects {
            children.push(Doc::leaf(e.span(), expect(e)));
        }
        children.sort_by_key(Doc::start);
        Doc::Block {
            span: t.span,
            header: match &t.base {
                Some(b) => format!("{keyword} {} from {}", text(&t.name), text(&b.text)),
                None => format!("{keyword} {}", text(&t.name)),
            },
            children,
        }
    }
}

fn priority(p: Option<Priority>) -> String {
    p.map_or(String::new(), |p| format!(" priority {}", p.value))
}

fn schema_entry(e: &SchemaEntry) -> String {
    match e {
        SchemaEntry::Trait(t) => format!("trait {}: {}", t.path, ty(&t.ty)),
        SchemaEntry::Event(ev) if ev.props.is_empty() => format!("event {}", ev.name),
        SchemaEntry::Event(ev) => {
            let props: Vec<String> = ev
                .props
                .iter()
                .map(|p| format!("{}: {}", p.name, ty(&p.ty)))
                .collect();
            format!("event {} {{ {} }}", ev.name, props.join(", "))
        }
    }
}

fn ty(t: &Type) -> String {
    if t.list {
        format!("list<{}>", t.scalar.keyword())
    } else {
        t.scalar.keyword().to_string()
    }
}

fn kpi(k: &Kpi) -> String {
    match k {
        Kpi::Conversion {
            from, to, bands, ..
        } => {
            let bands: Vec<String> = bands
                .iter()
                .map(|b| match b.range {
                    BandRange::Below(n) => format!("{} below {}%", b.label, num(n.value)),
                    BandRange::From(n) => format!("{} from {}%", b.label, num(n.value)),
                    BandRange::Between(a, z) => {
                        format!(
                            "{} between {}% and {}%",
                            b.label,
                            num(a.value),
                            num(z.value)
                        )
                    }
                })
                .collect();
            format!("kpi conversion {from} -> {to} {{ {} }}", bands.join(", "))
        }
        Kpi::Velocity {
            from, to, at_most, ..
        } => format!(
            "kpi velocity {from} -> {to} {{ target at most {} }}",
            duration(at_most.value)
        ),
    }
}

fn expect(e: &Expect) -> String {
    let at = |t: &Option<TimeLit>| {
        t.as_ref()
            .map_or(String::new(), |t| format!(" at {}", time_lit(t)))
    };
    let by = |b: &Option<EnteredBy>| match b {
        None => String::new(),
        Some(EnteredBy::Enter) => " by enter".into(),
        Some(EnteredBy::Move(None)) => " by move".into(),
        Some(EnteredBy::Move(Some(from))) => format!(" by move from {from}"),
    };
    let on = |o: &Option<Name>| o.as_ref().map_or(String::new(), |o| format!(" on {o}"));
    match e {
        Expect::Stage { stage, at: t, .. } => format!("expect stage {stage}{}", at(t)),
        Expect::Entered {
            stage,
            at: t,
            by: b,
            on: o,
            ..
        } => format!("expect entered {stage}{}{}{}", at(t), by(b), on(o)),
        Expect::NotEntered(s, _) => format!("expect not entered {s}"),
        Expect::Exited {
            exit, at: t, on: o, ..
        } => format!("expect exited {exit}{}{}", at(t), on(o)),
        Expect::Score {
            score, op, value, ..
        } => format!("expect score {score} {} {}", op.symbol(), num(value.value)),
        Expect::Grade { score, label, .. } => format!("expect grade {score} == {label}"),
    }
}

/// `prefix{ a: 1, b: 2 }` on one line when it fits in the width left after `indent` columns,
/// else one field per line with trailing commas.
fn object_lines(prefix: &str, o: &Object, indent: usize) -> Vec<String> {
    let one = format!("{prefix}{}", object_inline(o));
    if indent + width(&one) <= WIDTH || o.fields.is_empty() {
        return vec![one];
    }
    let mut lines = vec![format!("{prefix}{{")];
    for f in &o.fields {
        let key = format!("  {}: ", f.key);
        let mut field = match &f.value {
            Value::Object(inner) => object_lines(&key, inner, indent + 2)
                .into_iter()
                .enumerate()
                .map(|(i, l)| if i == 0 { l } else { format!("  {l}") })
                .collect(),
            v => vec![format!("{key}{}", value(v))],
        };
        if let Some(last) = field.last_mut() {
            last.push(',');
        }
        lines.extend(field);
    }
    lines.push("}".into());
    lines
}

fn object_inline(o: &Object) -> String {
    if o.fields.is_empty() {
        return "{}".into();
    }
    let fields: Vec<String> = o
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.key, value(&f.value)))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

fn value(v: &Value) -> String {
    match v {
        Value::Lit(l, _) => lit(l),
        Value::List(items, _) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(o) => object_inline(o),
    }
}

/// A move's or an exit's lines after its `head`: `on EVENT [when ...]` or `when ...`.
fn fires_lines(head: String, fires: &Fires) -> Vec<String> {
    match fires {
        Fires::On { event, guard } => {
            let head = format!("{head} on {}", expr(event, false));
            match guard {
                Some(g) => cond_lines(&format!("{head} when"), g, 0),
                None => vec![head],
            }
        }
        Fires::When(c) => cond_lines(&format!("{head} when"), c, 0),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use crate::syntax::fmt::tests::check;

    #[test]
    fn every_construct() {
        let src = r#"funnel "Every \"construct\"\n"
schema {
  trait source: text
  trait company.branches: list<text>
  trait a: bool
  trait b: int
  trait c: decimal
  trait d: percent
  trait e: money
  trait f: duration
  trait g: date
  trait h: timestamp
  event form.submitted { form: text, step: int, }
  event demo.requested {}
  event bare
}
segment icp = a and (b or c) and not d
score fit max 60 min -10 decay half-life 30d {
  +20 when b between 150 and 500
  -2.5 when c
  +5 per form.submitted where step == 1 within 7d max 15
  +1 per demo.requested
  grade A from 50
  grade F from -10
}
score engagement decay expire after 2w {}
stage MCL "Marketing Captured Lead" owner marketing sla 7d {
  enter when form.submitted where form == "x" and a
}
stage Empty {}
stage Two { enter when a enter when b }
move MCL -> Empty priority 2 on demo.requested
move MCL -> Two when a
move Two -> MCL on form.submitted where step == 1 when a
exit lost from any when no form.submitted within 60d
exit gone from MCL priority 1 when b > 3
exit out from [MCL, Two,] when c
kpi conversion MCL -> Two { failing below 50%, ok between 50% and 70.5%, good from 70% }
kpi velocity MCL -> Two { target at most 7d }
target volume MCL monthly from 2025-01 = 30, growing 10%
target volume Two quarterly from 2025-12 = 5
dimensions [source, company.branches,]
cost by source weekly { "linkedin": $4500, "email": $1800.5, "x": 10 EUR }
cost by source monthly {}
revenue monthly amount of form.submitted
revenue amount of form.submitted
test "all of it" {
  as of 2025-02-01T10:00:00Z
  traits { a: true, b: 220, c: 2.50, d: 40%, e: $5, f: 3d, g: 2025-01-01, h: 2025-01-01 10:00,
    l: [1, "two", [3]], o: { p: { q: "deep" } }, }
  events {
    2025-01-01 form.submitted { form: "x", step: 1 }
    2025-01-02T10:00:00.250Z demo.requested
  }
  expect stage MCL
  expect entered MCL at 2025-01-01
  expect entered Two
  expect not entered Empty
  expect exited lost at 2025-01-03T00:00:00Z
  expect exited gone
  expect score fit >= 20
  expect grade fit == A
}
test "empty" {}
"#;
        let out = check(src);
        // Spot checks of the canonical spellings.
        for want in [
            "funnel \"Every \\\"construct\\\"\\n\"\n",
            "  event form.submitted { form: text, step: int }\n  event demo.requested\n",
            "score fit max 60 min -10 decay half-life 30d {\n  +20 when",
            "  -2.5 when c\n",
            "  +5 per form.submitted where step == 1 within 7d max 15\n",
            "score engagement decay expire after 2w {}\n",
            "stage MCL \"Marketing Captured Lead\" owner marketing sla 7d {\n  enter when form",
            "stage Empty {}\n",
            "stage Two {\n  enter when a\n  enter when b\n}\n",
            "move MCL -> Empty priority 2 on demo.requested\n",
            "move Two -> MCL on form.submitted where step == 1 when a\n",
            "exit gone from MCL priority 1 when b > 3\n",
            "exit out from [MCL, Two] when c\n",
            "kpi conversion MCL -> Two { failing below 50%, ok between 50% and 70.5%, good from 70% }\n",
            "target volume Two quarterly from 2025-12 = 5\n",
            "dimensions [source, company.branches]\n",
            "cost by source weekly {\n  \"linkedin\": $4,500,\n  \"email\": $1,800.50,\n  \"x\": 10 EUR,\n}\n",
            "revenue amount of form.submitted\n",
            "  as of 2025-02-01T10:00:00Z\n",
            "    2025-01-02T10:00:00.250Z demo.requested\n",
            "  expect entered MCL at 2025-01-01\n",
            "  expect exited lost at 2025-01-03T00:00:00Z\n",
            "test \"empty\" {}\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
        // The traits object is too long for one line: one field per line.
        assert!(out.contains("  traits {\n    a: true,\n"), "{out}");
        assert!(out.contains("    h: 2025-01-01T10:00:00Z,\n"), "{out}");
        assert!(
            out.contains("    o: { p: { q: \"deep\" } },\n  }\n"),
            "{out}"
        );
        // One blank line between declarations, none inside blocks.
        assert!(out.contains("}\n\nsegment icp"), "{out}");
        assert!(!out.contains("\n\n\n"), "{out}");
    }
}
