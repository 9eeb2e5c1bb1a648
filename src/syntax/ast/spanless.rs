//! Comparing trees by meaning: the same declarations and conditions, wherever they sit in the
//! source. A formatted file must read back to its tree with only the spans changed.

use super::*;
use crate::span::Span;

impl File {
    /// Whether the two trees say the same thing, wherever their nodes sit in the source:
    /// `parse(format(x))` and `x` are the same tree with different spans.
    pub fn same_ignoring_spans(&self, other: &File) -> bool {
        self.without_spans() == other.without_spans()
    }

    /// A copy of the tree with every span set to `Span::default()`.
    pub fn without_spans(&self) -> File {
        let mut copy = self.clone();
        copy.clear_spans();
        copy
    }
}

impl Expr {
    /// [`File::same_ignoring_spans`] for one expression.
    pub fn same_ignoring_spans(&self, other: &Expr) -> bool {
        let (mut a, mut b) = (self.clone(), other.clone());
        a.clear_spans();
        b.clear_spans();
        a == b
    }
}

/// Sets every span of a node and its children to the default. Each impl names every field
/// (no `..`), so a field added to the tree does not compile until it is handled here.
trait ClearSpans {
    fn clear_spans(&mut self);
}

impl ClearSpans for Span {
    fn clear_spans(&mut self) {
        *self = Span::default();
    }
}

impl<T: ClearSpans> ClearSpans for Option<T> {
    fn clear_spans(&mut self) {
        if let Some(x) = self {
            x.clear_spans();
        }
    }
}

impl<T: ClearSpans> ClearSpans for Vec<T> {
    fn clear_spans(&mut self) {
        for x in self {
            x.clear_spans();
        }
    }
}

impl<T: ClearSpans> ClearSpans for Box<T> {
    fn clear_spans(&mut self) {
        (**self).clear_spans();
    }
}

impl ClearSpans for File {
    fn clear_spans(&mut self) {
        let File { items } = self;
        items.clear_spans();
    }
}

impl ClearSpans for Name {
    fn clear_spans(&mut self) {
        let Name { text: _, span } = self;
        span.clear_spans();
    }
}

impl ClearSpans for Number {
    fn clear_spans(&mut self) {
        let Number { value: _, span } = self;
        span.clear_spans();
    }
}

impl ClearSpans for DurationLit {
    fn clear_spans(&mut self) {
        let DurationLit { value: _, span } = self;
        span.clear_spans();
    }
}

impl ClearSpans for TimeLit {
    fn clear_spans(&mut self) {
        let TimeLit {
            at: _,
            date_only: _,
            span,
        } = self;
        span.clear_spans();
    }
}

impl ClearSpans for Priority {
    fn clear_spans(&mut self) {
        let Priority { value: _, span } = self;
        span.clear_spans();
    }
}

impl ClearSpans for Type {
    fn clear_spans(&mut self) {
        let Type {
            scalar: _,
            list: _,
            span,
        } = self;
        span.clear_spans();
    }
}

impl ClearSpans for Item {
    fn clear_spans(&mut self) {
        match self {
            Item::Funnel(FunnelDecl { name: _, span }) => span.clear_spans(),
            Item::Schema(Schema { entries, span }) => {
                entries.clear_spans();
                span.clear_spans();
            }
            Item::Segment(Segment { name, expr, span }) => {
                name.clear_spans();
                expr.clear_spans();
                span.clear_spans();
            }
            Item::Score(s) => s.clear_spans(),
            Item::Stage(Stage {
                name,
                display: _,
                owner,
                sla,
                enter,
                span,
            }) => {
                name.clear_spans();
                owner.clear_spans();
                sla.clear_spans();
                enter.clear_spans();
                span.clear_spans();
            }
            Item::Move(Move {
                from,
                to,
                priority,
                fires,
                span,
            }) => {
                from.clear_spans();
                to.clear_spans();
                priority.clear_spans();
                fires.clear_spans();
                span.clear_spans();
            }
            Item::Exit(Exit {
                name,
                from,
                priority,
                fires,
                span,
            }) => {
                name.clear_spans();
                match from {
                    StageSet::Any(s) => s.clear_spans(),
                    StageSet::Stages(v) => v.clear_spans(),
                }
                priority.clear_spans();
                fires.clear_spans();
                span.clear_spans();
            }
            Item::Kpi(k) => k.clear_spans(),
            Item::Target(Target {
                stage,
                period: _,
                from: _,
                base: _,
                growth,
                span,
            }) => {
                stage.clear_spans();
                growth.clear_spans();
                span.clear_spans();
            }
            Item::Dimensions(Dimensions { paths, span }) => {
                paths.clear_spans();
                span.clear_spans();
            }
            Item::Cost(Cost {
                by,
                period: _,
                entries,
                span,
            }) => {
                by.clear_spans();
                for CostEntry {
                    key: _,
                    amount: _,
                    span,
                } in entries
                {
                    span.clear_spans();
                }
                span.clear_spans();
            }
            Item::Revenue(Revenue {
                period: _,
                prop,
                event,
                span,
            }) => {
                prop.clear_spans();
                event.clear_spans();
                span.clear_spans();
            }
            Item::Test(t) | Item::Fixture(t) => t.clear_spans(),
            Item::Cases(Cases {
                template,
                rows,
                span,
            }) => {
                template.clear_spans();
                rows.clear_spans();
                span.clear_spans();
            }
            Item::Snapshot(SnapshotDecl {
                name: _,
                leads,
                as_of,
                span,
            }) => {
                leads.clear_spans();
                as_of.clear_spans();
                span.clear_spans();
            }
            Item::TestsFor(TestsFor { path, span }) => {
                path.clear_spans();
                span.clear_spans();
            }
        }
    }
}

impl ClearSpans for SchemaEntry {
    fn clear_spans(&mut self) {
        match self {
            SchemaEntry::Trait(TraitDecl { path, ty, span }) => {
                path.clear_spans();
                ty.clear_spans();
                span.clear_spans();
            }
            SchemaEntry::Event(EventDecl { name, props, span }) => {
                name.clear_spans();
                for PropDecl { name, ty, span } in props {
                    name.clear_spans();
                    ty.clear_spans();
                    span.clear_spans();
                }
                span.clear_spans();
            }
        }
    }
}

impl ClearSpans for Fires {
    fn clear_spans(&mut self) {
        match self {
            Fires::On { event, guard } => {
                event.clear_spans();
                guard.clear_spans();
            }
            Fires::When(c) => c.clear_spans(),
        }
    }
}

impl ClearSpans for Score {
    fn clear_spans(&mut self) {
        let Score {
            name,
            max,
            min,
            decay,
            rules,
            grades,
            span,
        } = self;
        name.clear_spans();
        max.clear_spans();
        min.clear_spans();
        match decay {
            Some(Decay::HalfLife(d) | Decay::Expire(d)) => d.clear_spans(),
            None => {}
        }
        for ScoreRule { points, kind, span } in rules {
            points.clear_spans();
            match kind {
                RuleKind::When(e) => e.clear_spans(),
                RuleKind::Per { query, cap } => {
                    query.clear_spans();
                    cap.clear_spans();
                }
            }
            span.clear_spans();
        }
        for GradeDecl { label, from, span } in grades {
            label.clear_spans();
            from.clear_spans();
            span.clear_spans();
        }
        span.clear_spans();
    }
}

impl ClearSpans for Kpi {
    fn clear_spans(&mut self) {
        match self {
            Kpi::Conversion {
                from,
                to,
                bands,
                span,
            } => {
                from.clear_spans();
                to.clear_spans();
                for Band { label, range, span } in bands {
                    label.clear_spans();
                    match range {
                        BandRange::Below(n) | BandRange::From(n) => n.clear_spans(),
                        BandRange::Between(a, b) => {
                            a.clear_spans();
                            b.clear_spans();
                        }
                    }
                    span.clear_spans();
                }
                span.clear_spans();
            }
            Kpi::Velocity {
                from,
                to,
                at_most,
                span,
            } => {
                from.clear_spans();
                to.clear_spans();
                at_most.clear_spans();
                span.clear_spans();
            }
        }
    }
}

impl ClearSpans for Test {
    fn clear_spans(&mut self) {
        let Test {
            name: _,
            base,
            as_of,
            traits,
            events,
            expects,
            span,
        } = self;
        base.clear_spans();
        as_of.clear_spans();
        traits.clear_spans();
        for TestEvent {
            at,
            event,
            props,
            span,
        } in events
        {
            at.clear_spans();
            event.clear_spans();
            props.clear_spans();
            span.clear_spans();
        }
        for e in expects {
            match e {
                Expect::NotEntered(n, span) => {
                    n.clear_spans();
                    span.clear_spans();
                }
                Expect::Stage { stage: n, at, span } => {
                    n.clear_spans();
                    at.clear_spans();
                    span.clear_spans();
                }
                Expect::Entered {
                    stage: n,
                    at,
                    by,
                    on,
                    span,
                } => {
                    n.clear_spans();
                    at.clear_spans();
                    if let Some(EnteredBy::Move(Some(from))) = by {
                        from.clear_spans();
                    }
                    on.clear_spans();
                    span.clear_spans();
                }
                Expect::Exited {
                    exit: n,
                    at,
                    on,
                    span,
                } => {
                    n.clear_spans();
                    at.clear_spans();
                    on.clear_spans();
                    span.clear_spans();
                }
                Expect::Score {
                    score,
                    op: _,
                    value,
                    span,
                } => {
                    score.clear_spans();
                    value.clear_spans();
                    span.clear_spans();
                }
                Expect::Grade { score, label, span } => {
                    score.clear_spans();
                    label.clear_spans();
                    span.clear_spans();
                }
            }
        }
        span.clear_spans();
    }
}

impl ClearSpans for Object {
    fn clear_spans(&mut self) {
        let Object { fields, span } = self;
        for Field { key, value, span } in fields {
            key.clear_spans();
            value.clear_spans();
            span.clear_spans();
        }
        span.clear_spans();
    }
}

impl ClearSpans for Value {
    fn clear_spans(&mut self) {
        match self {
            Value::Lit(_, span) => span.clear_spans(),
            Value::List(items, span) => {
                items.clear_spans();
                span.clear_spans();
            }
            Value::Object(o) => o.clear_spans(),
        }
    }
}

impl ClearSpans for EventQuery {
    fn clear_spans(&mut self) {
        let EventQuery {
            event,
            filter,
            within,
            since,
            span,
        } = self;
        event.clear_spans();
        filter.clear_spans();
        within.clear_spans();
        since.clear_spans();
        span.clear_spans();
    }
}

impl ClearSpans for Expr {
    fn clear_spans(&mut self) {
        let Expr { kind, span } = self;
        span.clear_spans();
        match kind {
            ExprKind::Lit(_) => {}
            ExprKind::List(v) | ExprKind::All(v) | ExprKind::Any(v) => v.clear_spans(),
            ExprKind::AtLeast { k: _, items } => items.clear_spans(),
            ExprKind::Name(n)
            | ExprKind::DaysSinceEntering(n)
            | ExprKind::Score(n)
            | ExprKind::Grade(n) => n.clear_spans(),
            ExprKind::Event(q) | ExprKind::Count(q) | ExprKind::No(q) => q.clear_spans(),
            ExprKind::DaysSince(_, q) => q.clear_spans(),
            ExprKind::Rate(a, b) => {
                a.clear_spans();
                b.clear_spans();
            }
            ExprKind::Has {
                which: _,
                query,
                test,
            } => {
                query.clear_spans();
                match test {
                    HasTest::Prop(p) => p.clear_spans(),
                    HasTest::AtLeast { k: _, props } => props.clear_spans(),
                }
            }
            ExprKind::PropOf {
                prop,
                which: _,
                query,
            } => {
                prop.clear_spans();
                query.clear_spans();
            }
            ExprKind::Then(steps) => steps.clear_spans(),
            ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Exists(x) | ExprKind::Missing(x) => {
                x.clear_spans()
            }
            ExprKind::Binary { op: _, lhs, rhs } => {
                lhs.clear_spans();
                rhs.clear_spans();
            }
            ExprKind::In {
                value,
                list,
                negated: _,
            } => {
                value.clear_spans();
                list.clear_spans();
            }
            ExprKind::Between { value, lo, hi } => {
                value.clear_spans();
                lo.clear_spans();
                hi.clear_spans();
            }
            ExprKind::Test { value, op: _, arg } => {
                value.clear_spans();
                arg.clear_spans();
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    const SOURCE: &str = "segment s = a and not b\nstage A \"x\" sla 2d {\n  enter when count e where x in [1, 2] >= 3\n}\ntest \"t\" {\n  traits { a: [1, { b: 2 }] }\n  expect score fit >= 2\n}\n";

    fn file(src: &str) -> File {
        let p = parse(src);
        assert!(p.diagnostics.is_empty(), "{src}: {:?}", p.diagnostics);
        p.file
    }

    #[test]
    fn spans_count_unless_ignored() {
        let a = file(SOURCE);
        let respaced = file(
            "// moved\nsegment   s =\n  a\n  and not b\n\nstage A \"x\" sla 2d { enter when count e where x in [1,2]>=3 }\ntest \"t\" { traits { a: [1, {b: 2}] } expect score fit >= 2 }\n",
        );
        assert_eq!(a, file(SOURCE));
        assert_ne!(a, respaced);
        assert!(a.same_ignoring_spans(&respaced));
        assert!(respaced.same_ignoring_spans(&a));
        // Any difference of meaning, however deep, still counts.
        for (from, to) in [
            ("a and not b", "a and b"),
            ("a and not b", "a or not b"),
            ("[1, 2]", "[1, 3]"),
            (">= 3", "> 3"),
            ("sla 2d", "sla 2w"),
            ("\"x\"", "\"y\""),
            ("{ b: 2 }", "{ c: 2 }"),
            ("fit >= 2", "fit >= 2.5"),
        ] {
            assert!(SOURCE.contains(from), "{from}");
            let other = file(&SOURCE.replacen(from, to, 1));
            assert!(!a.same_ignoring_spans(&other), "{from} -> {to}");
        }
    }

    #[test]
    fn without_spans_leaves_no_span() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "funnel") {
                continue;
            }
            let src = std::fs::read_to_string(&path).unwrap();
            let debug = format!("{:?}", file(&src).without_spans());
            let spans = debug.matches("Span {").count();
            assert!(spans > 100, "{}", path.display());
            assert_eq!(
                debug.matches("Span { start: 0, end: 0 }").count(),
                spans,
                "{}",
                path.display()
            );
            n += 1;
        }
        assert!(n > 0);
        let debug = format!("{:?}", file(SOURCE).without_spans());
        assert_eq!(
            debug.matches("Span { start: 0, end: 0 }").count(),
            debug.matches("Span {").count()
        );
    }
}
