//! Random syntax trees of the shapes the parser builds, for the formatter's round-trip
//! property tests.
//!
//! The generator builds only trees the parser can produce (see the notes on each strategy):
//! a tree the parser cannot produce has no text that reads back to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use funnelc::span::Span;
use funnelc::syntax::ast::*;
use funnelc::time::{Date, Timestamp};
use proptest::prelude::*;
use proptest::sample::select;

pub fn sp() -> Span {
    Span::default()
}

pub fn name(text: String) -> Name {
    Name { text, span: sp() }
}

pub fn e(kind: ExprKind) -> Expr {
    Expr { kind, span: sp() }
}

pub fn n(value: f64) -> Number {
    Number { value, span: sp() }
}

/// Words with a meaning somewhere in the grammar: keywords, reserved words, types, periods.
pub const DENY: &[&str] = &[
    "and",
    "any",
    "all",
    "as",
    "at",
    "between",
    "by",
    "contains",
    "conversion",
    "cost",
    "count",
    "days",
    "decay",
    "dimensions",
    "ends",
    "enter",
    "entered",
    "entering",
    "events",
    "exists",
    "exit",
    "exited",
    "expect",
    "expire",
    "after",
    "event",
    "first",
    "from",
    "funnel",
    "grade",
    "growing",
    "has",
    "in",
    "is",
    "kpi",
    "last",
    "latest",
    "least",
    "matches",
    "max",
    "min",
    "missing",
    "most",
    "move",
    "no",
    "not",
    "of",
    "or",
    "owner",
    "per",
    "priority",
    "rate",
    "revenue",
    "schema",
    "score",
    "segment",
    "since",
    "sla",
    "stage",
    "starts",
    "target",
    "test",
    "tests",
    "fixture",
    "cases",
    "rows",
    "for",
    "leads",
    "snapshot",
    "then",
    "trait",
    "traits",
    "velocity",
    "volume",
    "when",
    "where",
    "with",
    "within",
    "true",
    "false",
    "int",
    "decimal",
    "percent",
    "money",
    "duration",
    "date",
    "timestamp",
    "text",
    "bool",
    "monthly",
    "weekly",
    "quarterly",
    "list",
    "below",
];

pub fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-z0-9_]{0,6}".prop_filter("keyword", |s| !DENY.contains(&s.as_str()))
}

pub fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ident(),
        1 => (ident(), ident()).prop_map(|(a, b)| format!("{a}.{b}")),
    ]
}

pub fn text() -> impl Strategy<Value = String> {
    // Quotes, backslashes, control characters and comment markers all need care.
    "[a-zA-Z0-9 \"\\\\\n\t/*é-]{0,10}"
}

pub fn duration() -> impl Strategy<Value = Duration> {
    (
        0..=1_000_000u64,
        select(vec![
            DurationUnit::Minutes,
            DurationUnit::Hours,
            DurationUnit::Days,
            DurationUnit::Weeks,
        ]),
    )
        .prop_map(|(value, unit)| Duration { value, unit })
}

pub fn duration_lit() -> impl Strategy<Value = DurationLit> {
    duration().prop_map(|value| DurationLit { value, span: sp() })
}

/// A non-negative number that prints and reads back exactly.
pub fn unsigned() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0..100_000u32).prop_map(f64::from),
        select(vec![2.5, 0.75, 0.1, 10.0, 3.125, 1e6]),
    ]
}

pub fn signed() -> impl Strategy<Value = f64> {
    (unsigned(), any::<bool>()).prop_map(|(v, neg)| if neg { -v } else { v })
}

pub const MS_PER_DAY: i64 = 86_400_000;

pub fn time_lit() -> impl Strategy<Value = TimeLit> {
    prop_oneof![
        // 1970 to about 2080.
        (0..40_000i64).prop_map(|d| TimeLit {
            at: Timestamp {
                millis: d * MS_PER_DAY
            },
            date_only: true,
            span: sp(),
        }),
        (0..40_000i64 * 86_400, 0..1000i64, any::<bool>()).prop_map(|(s, ms, whole)| TimeLit {
            at: Timestamp {
                millis: s * 1000 + if whole { 0 } else { ms }
            },
            date_only: false,
            span: sp(),
        }),
    ]
}

pub fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        (0..1_000_000i64).prop_map(Literal::Int),
        select(vec![2.5, 0.75, 10.0, 3.125, 0.1, 1234.5]).prop_map(Literal::Decimal),
        select(vec![0.0, 40.0, 12.5, 100.0, 0.5]).prop_map(Literal::Percent),
        (
            select(vec![
                0.0,
                5.0,
                4500.0,
                4500.5,
                1_234_567.89,
                0.125,
                99.99,
                1e6,
                0.07
            ]),
            select(vec!["USD", "USD", "EUR", "GBP", "JPY"]),
        )
            .prop_map(|(amount, c)| Literal::Money(Money {
                amount,
                currency: c.to_string()
            })),
        duration().prop_map(Literal::Duration),
        (0..40_000i64).prop_map(|d| {
            let (year, month, day) = funnelc::time::civil_from_days(d);
            Literal::Date(Date { year, month, day })
        }),
        time_lit().prop_map(|t| Literal::Timestamp(t.at)),
        text().prop_map(Literal::Text),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

pub fn which() -> impl Strategy<Value = Which> {
    select(vec![Which::First, Which::Last])
}

pub fn query(inner: BoxedStrategy<Expr>) -> BoxedStrategy<EventQuery> {
    (
        path(),
        proptest::option::weighted(0.4, inner.prop_map(Box::new)),
        proptest::option::weighted(0.3, duration_lit()),
        proptest::option::weighted(0.2, ident()),
    )
        .prop_map(|(event, filter, within, since)| EventQuery {
            event: name(event),
            filter,
            within,
            since: since.map(name),
            span: sp(),
        })
        .boxed()
}

/// Leaves: terms without sub-expressions.
pub fn leaf() -> BoxedStrategy<Expr> {
    prop_oneof![
        3 => literal().prop_map(|l| e(ExprKind::Lit(l))),
        3 => path().prop_map(|p| e(ExprKind::Name(name(p)))),
        1 => ident().prop_map(|p| e(ExprKind::Score(name(p)))),
        1 => ident().prop_map(|p| e(ExprKind::Grade(name(p)))),
        1 => ident().prop_map(|p| e(ExprKind::DaysSinceEntering(name(p)))),
    ]
    .boxed()
}

/// `and`/`or` lists as the parser builds them: at least two operands, and the first is not
/// a list of the same kind (the parser would have merged it).
pub fn chain(inner: BoxedStrategy<Expr>, and: bool) -> BoxedStrategy<Expr> {
    proptest::collection::vec(inner, 2..4)
        .prop_filter("left-nested chains flatten", move |v| {
            !matches!(
                (&v[0].kind, and),
                (ExprKind::All(_), true) | (ExprKind::Any(_), false)
            )
        })
        .prop_map(move |v| {
            e(if and {
                ExprKind::All(v)
            } else {
                ExprKind::Any(v)
            })
        })
        .boxed()
}

/// A move's or an exit's `on EVENT [where ...] [when ...]` (a trigger has no scopes) or
/// `when ...`.
pub fn fires() -> BoxedStrategy<Fires> {
    prop_oneof![
        expr().prop_map(Fires::When),
        (query(expr()), proptest::option::of(expr())).prop_map(|(mut q, guard)| {
            q.within = None;
            q.since = None;
            Fires::On {
                event: e(ExprKind::Event(Box::new(q))),
                guard,
            }
        }),
    ]
    .boxed()
}

pub fn expr() -> BoxedStrategy<Expr> {
    leaf().prop_recursive(4, 40, 3, |inner| {
        let q = query(inner.clone());
        let bx = inner.clone().prop_map(Box::new);
        prop_oneof![
            // A query with no filter or scope reads back as a bare name.
            1 => q.clone()
                .prop_filter("plain", |q| !q.is_plain())
                .prop_map(|q| e(ExprKind::Event(Box::new(q)))),
            1 => q.clone().prop_map(|q| e(ExprKind::Count(Box::new(q)))),
            1 => (q.clone(), q.clone()).prop_map(|(a, b)| e(ExprKind::Rate(Box::new(a), Box::new(b)))),
            1 => q.clone().prop_map(|q| e(ExprKind::No(Box::new(q)))),
            1 => (which(), q.clone()).prop_map(|(w, q)| e(ExprKind::DaysSince(w, Box::new(q)))),
            1 => (
                which(),
                q.clone(),
                prop_oneof![
                    ident().prop_map(|p| HasTest::Prop(name(p))),
                    (0..5u32, proptest::collection::vec(ident(), 1..4)).prop_map(|(k, v)| {
                        HasTest::AtLeast {
                            k,
                            props: v.into_iter().map(name).collect(),
                        }
                    }),
                ]
            )
                .prop_map(|(which, query, test)| e(ExprKind::Has { which, query: Box::new(query), test })),
            1 => (ident(), which(), q.clone()).prop_map(|(p, which, query)| e(ExprKind::PropOf {
                prop: name(p),
                which,
                query: Box::new(query)
            })),
            // The parser makes a sequence only of two steps or more.
            1 => proptest::collection::vec(q, 2..4).prop_map(|v| e(ExprKind::Then(v))),
            1 => (0..5u32, proptest::collection::vec(inner.clone(), 1..3))
                .prop_map(|(k, items)| e(ExprKind::AtLeast { k, items })),
            1 => proptest::collection::vec(inner.clone(), 0..3).prop_map(|v| e(ExprKind::List(v))),
            1 => bx.clone().prop_map(|x| e(ExprKind::Not(x))),
            1 => bx.clone().prop_map(|x| e(ExprKind::Neg(x))),
            2 => chain(inner.clone(), true),
            2 => chain(inner.clone(), false),
            // Arithmetic nests often in real rules and is where associativity matters.
            4 => (
                select(vec![BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div]),
                bx.clone(),
                bx.clone()
            )
                .prop_map(|(op, lhs, rhs)| e(ExprKind::Binary { op, lhs, rhs })),
            2 => (
                select(vec![BinOp::Eq, BinOp::Ne, BinOp::Lt, BinOp::Le, BinOp::Gt, BinOp::Ge]),
                bx.clone(),
                bx.clone()
            )
                .prop_map(|(op, lhs, rhs)| e(ExprKind::Binary { op, lhs, rhs })),
            1 => (bx.clone(), bx.clone(), any::<bool>()).prop_map(|(value, list, negated)| e(
                ExprKind::In {
                    value,
                    list,
                    negated
                }
            )),
            1 => (bx.clone(), bx.clone(), bx.clone())
                .prop_map(|(value, lo, hi)| e(ExprKind::Between { value, lo, hi })),
            1 => (
                bx.clone(),
                select(vec![
                    TestOp::Contains,
                    TestOp::ContainsAll,
                    TestOp::ContainsAny,
                    TestOp::StartsWith,
                    TestOp::EndsWith,
                    TestOp::Matches,
                ]),
                bx.clone()
            )
                .prop_map(|(value, op, arg)| e(ExprKind::Test { value, op, arg })),
            1 => bx.clone().prop_map(|x| e(ExprKind::Exists(x))),
            1 => bx.prop_map(|x| e(ExprKind::Missing(x))),
        ]
    })
    .boxed()
}

/// Operator-dense expressions over small leaves: where precedence and associativity bugs live.
pub fn operators() -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        2 => select(vec!["a", "b", "c.d"]).prop_map(|p| e(ExprKind::Name(name(p.to_string())))),
        1 => (0..10i64).prop_map(|i| e(ExprKind::Lit(Literal::Int(i)))),
        1 => Just(e(ExprKind::Score(name("s".to_string())))),
    ];
    leaf.prop_recursive(6, 64, 3, |inner| {
        let bx = inner.clone().prop_map(Box::new);
        prop_oneof![
            1 => bx.clone().prop_map(|x| e(ExprKind::Not(x))),
            1 => bx.clone().prop_map(|x| e(ExprKind::Neg(x))),
            1 => chain(inner.clone().boxed(), true),
            1 => chain(inner.clone().boxed(), false),
            4 => (
                select(vec![
                    BinOp::Add,
                    BinOp::Sub,
                    BinOp::Mul,
                    BinOp::Div,
                    BinOp::Eq,
                    BinOp::Lt,
                ]),
                bx.clone(),
                bx.clone()
            )
                .prop_map(|(op, lhs, rhs)| e(ExprKind::Binary { op, lhs, rhs })),
            1 => (bx.clone(), bx.clone(), any::<bool>()).prop_map(|(value, list, negated)| e(
                ExprKind::In {
                    value,
                    list,
                    negated
                }
            )),
            1 => (bx.clone(), bx.clone(), bx.clone())
                .prop_map(|(value, lo, hi)| e(ExprKind::Between { value, lo, hi })),
            1 => (bx.clone(), bx.clone())
                .prop_map(|(value, arg)| e(ExprKind::Test { value, op: TestOp::Contains, arg })),
            1 => bx.prop_map(|x| e(ExprKind::Exists(x))),
            1 => proptest::collection::vec(inner, 1..3).prop_map(|v| e(ExprKind::List(v))),
        ]
    })
    .boxed()
}

pub fn value() -> impl Strategy<Value = Value> {
    let lit = literal().prop_map(|l| Value::Lit(l, sp()));
    lit.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(|v| Value::List(v, sp())),
            object(inner).prop_map(Value::Object),
        ]
    })
}

pub fn object(v: impl Strategy<Value = Value>) -> impl Strategy<Value = Object> {
    proptest::collection::vec((path(), v), 0..4).prop_map(|fields| Object {
        fields: fields
            .into_iter()
            .map(|(k, value)| Field {
                key: name(k),
                value,
                span: sp(),
            })
            .collect(),
        span: sp(),
    })
}

pub fn period() -> impl Strategy<Value = Period> {
    select(vec![Period::Weekly, Period::Monthly, Period::Quarterly])
}

pub fn score() -> impl Strategy<Value = Item> {
    let rule = (
        signed(),
        prop_oneof![
            expr().prop_map(RuleKind::When),
            (query(expr()), proptest::option::of(unsigned())).prop_map(|(query, cap)| {
                RuleKind::Per {
                    query,
                    cap: cap.map(n),
                }
            }),
        ],
    )
        .prop_map(|(p, kind)| ScoreRule {
            points: n(p),
            kind,
            span: sp(),
        });
    let grade = (ident(), signed()).prop_map(|(l, f)| GradeDecl {
        label: name(l),
        from: n(f),
        span: sp(),
    });
    let decay = prop_oneof![
        duration_lit().prop_map(Decay::HalfLife),
        duration_lit().prop_map(Decay::Expire),
    ];
    (
        ident(),
        proptest::option::of(unsigned()),
        proptest::option::of(signed()),
        proptest::option::of(decay),
        proptest::collection::vec(rule, 0..4),
        proptest::collection::vec(grade, 0..3),
    )
        .prop_map(|(nm, max, min, decay, rules, grades)| {
            Item::Score(Score {
                name: name(nm),
                max: max.map(n),
                min: min.map(n),
                decay,
                rules,
                grades,
                span: sp(),
            })
        })
}

pub fn test_decl() -> impl Strategy<Value = Item> {
    let event =
        (time_lit(), path(), proptest::option::of(object(value()))).prop_map(|(at, ev, props)| {
            TestEvent {
                at,
                event: name(ev),
                props,
                span: sp(),
            }
        });
    let at = || proptest::option::of(time_lit());
    let expect = prop_oneof![
        (ident(), at()).prop_map(|(s, at)| Expect::Stage {
            stage: name(s),
            at,
            span: sp()
        }),
        (ident(), at(), by(), proptest::option::of(path())).prop_map(|(s, at, by, on)| {
            Expect::Entered {
                stage: name(s),
                at,
                by,
                on: on.map(name),
                span: sp(),
            }
        }),
        ident().prop_map(|s| Expect::NotEntered(name(s), sp())),
        (ident(), at(), proptest::option::of(path())).prop_map(|(s, at, on)| Expect::Exited {
            exit: name(s),
            at,
            on: on.map(name),
            span: sp()
        }),
        (
            ident(),
            select(vec![
                BinOp::Eq,
                BinOp::Ne,
                BinOp::Lt,
                BinOp::Le,
                BinOp::Gt,
                BinOp::Ge
            ]),
            unsigned()
        )
            .prop_map(|(s, op, v)| Expect::Score {
                score: name(s),
                op,
                value: n(v),
                span: sp()
            }),
        (ident(), ident()).prop_map(|(s, l)| Expect::Grade {
            score: name(s),
            label: name(l),
            span: sp()
        }),
    ];
    (
        text(),
        proptest::option::of(text()),
        at(),
        proptest::option::of(object(value())),
        proptest::collection::vec(event, 0..3),
        proptest::collection::vec(expect, 0..4),
        0..5u8,
        text(),
    )
        .prop_map(|(nm, base, as_of, traits, events, expects, kind, rows)| {
            let mut test = Test {
                name: nm,
                base: base.map(name),
                as_of,
                traits,
                events,
                expects,
                span: sp(),
            };
            match kind {
                // A fixture has no base and no expectations.
                0 => {
                    test.base = None;
                    test.expects.clear();
                    Item::Fixture(test)
                }
                1 => Item::Cases(Cases {
                    template: test,
                    rows: name(rows),
                    span: sp(),
                }),
                2 => Item::TestsFor(TestsFor {
                    path: name(rows),
                    span: sp(),
                }),
                3 => Item::Snapshot(SnapshotDecl {
                    name: test.name,
                    leads: name(rows),
                    as_of: test.as_of,
                    span: sp(),
                }),
                _ => Item::Test(test),
            }
        })
}

fn by() -> impl Strategy<Value = Option<EnteredBy>> {
    prop_oneof![
        Just(None),
        Just(Some(EnteredBy::Enter)),
        proptest::option::of(ident()).prop_map(|f| Some(EnteredBy::Move(f.map(name)))),
    ]
}

pub fn item() -> impl Strategy<Value = Item> {
    let names = || proptest::collection::vec(ident().prop_map(name), 1..3);
    let scalar = select(Scalar::ALL.to_vec());
    let ty = (scalar, any::<bool>()).prop_map(|(scalar, list)| Type {
        scalar,
        list,
        span: sp(),
    });
    let entry = prop_oneof![
        (path(), ty.clone()).prop_map(|(p, ty)| SchemaEntry::Trait(TraitDecl {
            path: name(p),
            ty,
            span: sp()
        })),
        (path(), proptest::collection::vec((ident(), ty), 0..3)).prop_map(|(p, props)| {
            SchemaEntry::Event(EventDecl {
                name: name(p),
                props: props
                    .into_iter()
                    .map(|(k, ty)| PropDecl {
                        name: name(k),
                        ty,
                        span: sp(),
                    })
                    .collect(),
                span: sp(),
            })
        }),
    ];
    let band = (
        ident(),
        prop_oneof![
            unsigned().prop_map(|v| BandRange::Below(n(v))),
            unsigned().prop_map(|v| BandRange::From(n(v))),
            (unsigned(), unsigned()).prop_map(|(a, b)| BandRange::Between(n(a), n(b))),
        ],
    )
        .prop_map(|(l, range)| Band {
            label: name(l),
            range,
            span: sp(),
        });
    prop_oneof![
        1 => text().prop_map(|t| Item::Funnel(FunnelDecl { name: t, span: sp() })),
        1 => proptest::collection::vec(entry, 0..4)
            .prop_map(|entries| Item::Schema(Schema { entries, span: sp() })),
        3 => (ident(), expr()).prop_map(|(nm, expr)| Item::Segment(Segment {
            name: name(nm),
            expr,
            span: sp()
        })),
        2 => score(),
        2 => (
            ident(),
            proptest::option::of(text()),
            proptest::option::of(ident()),
            proptest::option::of(duration_lit()),
            proptest::collection::vec(expr(), 0..3)
        )
            .prop_map(|(nm, display, owner, sla, enter)| Item::Stage(Stage {
                name: name(nm),
                display,
                owner: owner.map(name),
                sla,
                enter,
                span: sp()
            })),
        1 => (ident(), ident(), proptest::option::of(0..100u32), fires()).prop_map(
            |(a, b, p, fires)| Item::Move(Move {
                from: name(a),
                to: name(b),
                priority: p.map(|value| Priority { value, span: sp() }),
                fires,
                span: sp()
            })
        ),
        1 => (
            ident(),
            prop_oneof![Just(StageSet::Any(sp())), names().prop_map(StageSet::Stages)],
            proptest::option::of(0..100u32),
            fires()
        )
            .prop_map(|(x, from, p, fires)| Item::Exit(Exit {
                name: name(x),
                from,
                priority: p.map(|value| Priority { value, span: sp() }),
                fires,
                span: sp()
            })),
        1 => (ident(), ident(), proptest::collection::vec(band, 1..4)).prop_map(|(a, b, bands)| {
            Item::Kpi(Kpi::Conversion {
                from: name(a),
                to: name(b),
                bands,
                span: sp(),
            })
        }),
        1 => (ident(), ident(), duration_lit()).prop_map(|(a, b, at_most)| Item::Kpi(Kpi::Velocity {
            from: name(a),
            to: name(b),
            at_most,
            span: sp()
        })),
        1 => (
            ident(),
            period(),
            1900..2200i32,
            1..=12u32,
            0..1_000_000u64,
            proptest::option::of(unsigned())
        )
            .prop_map(|(s, period, year, month, base, growth)| Item::Target(Target {
                stage: name(s),
                period,
                from: Month { year, month },
                base,
                growth: growth.map(n),
                span: sp()
            })),
        1 => proptest::collection::vec(path().prop_map(name), 1..3)
            .prop_map(|paths| Item::Dimensions(Dimensions { paths, span: sp() })),
        1 => (
            path(),
            period(),
            proptest::collection::vec(
                (
                    text(),
                    select(vec![0.0, 4500.0, 1800.5, 0.125, 12.0]),
                    select(vec!["USD", "EUR"])
                ),
                0..3
            )
        )
            .prop_map(|(by, period, entries)| Item::Cost(Cost {
                by: name(by),
                period,
                entries: entries
                    .into_iter()
                    .map(|(key, amount, c)| CostEntry {
                        key,
                        amount: Money {
                            amount,
                            currency: c.to_string()
                        },
                        span: sp()
                    })
                    .collect(),
                span: sp()
            })),
        1 => (proptest::option::of(period()), ident(), path()).prop_map(|(period, p, ev)| {
            Item::Revenue(Revenue {
                period,
                prop: name(p),
                event: name(ev),
                span: sp(),
            })
        }),
        2 => test_decl(),
    ]
}
