//! The interpreter against `docs/semantics.md`, one construct at a time: small inline rule
//! files, small leads, exact outcomes (stage, entry instants, triggers, scores).
//!
//! Here are the cases better written as code: truth tables of conditions, each row its own rule
//! file; loops over thresholds; decay crossings checked against an instant computed here; the
//! library's own records (`By`, `Outcome::seen`); the shipped rule file; two rule files compared.
//! A case that is one rule file, a few leads and their outcomes is data instead:
//! `tests/fixtures/eval/*.case`, run by `tests/eval_fixtures.rs`.

use funnelc::eval::{replay, EnteredBy, Outcome, Trigger};
use funnelc::plan::Plan;
use funnelc::time::Timestamp;
use serde_json::{json, Value as J};

const DAY: i64 = 86_400_000;
const T0: &str = "2025-01-01T00:00:00Z";

// ---------------------------------------------------------------------------------------------
// Harness

fn plan(src: &str) -> Plan {
    let compiled = funnelc::compile(src, "test.funnel");
    let msgs: Vec<_> = compiled
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert!(!compiled.has_errors(), "{msgs:?}\n{src}");
    compiled.plan().expect("the plan compiles")
}

fn ms(s: &str) -> i64 {
    funnelc::time::parse_timestamp(s).unwrap().millis
}

fn ts(ms: i64) -> String {
    funnelc::time::format_timestamp(Timestamp { millis: ms })
}

/// `T0` plus a number of milliseconds, formatted.
fn at(offset: i64) -> String {
    ts(ms(T0) + offset)
}

/// An event without properties.
fn e(ty: &str, when: &str) -> J {
    json!({"type": ty, "at": when})
}

/// An event with properties.
fn ep(ty: &str, when: &str, props: J) -> J {
    let mut v = e(ty, when);
    for (k, p) in props.as_object().unwrap() {
        v[k] = p.clone();
    }
    v
}

fn line(traits: J, events: &[J]) -> String {
    json!({"id": "L1", "traits": traits, "events": events}).to_string()
}

struct Res {
    plan: Plan,
    out: Outcome,
    json: J,
}

impl Res {
    /// The stage, the exit name, or "" (outside).
    fn position(&self) -> String {
        funnelc::eval::position(&self.plan, &self.out)
    }
    fn entered(&self, stage: &str) -> Option<String> {
        let v = &self.json["entered"][stage];
        assert!(
            v.is_null() || v.is_string(),
            "no stage {stage} in {}",
            self.json
        );
        v.as_str().map(String::from)
    }
    fn score(&self, name: &str) -> f64 {
        self.json["scores"][name]
            .as_f64()
            .unwrap_or_else(|| panic!("no score {name} in {}", self.json))
    }
    fn grade(&self, name: &str) -> Option<String> {
        self.json["grades"][name].as_str().map(String::from)
    }
    /// (exit name, stage left, instant)
    fn exit(&self) -> Option<(String, String, String)> {
        let x = &self.json["exit"];
        if x.is_null() {
            return None;
        }
        Some((
            x["name"].as_str().unwrap().to_string(),
            x["from"].as_str().unwrap().to_string(),
            x["at"].as_str().unwrap().to_string(),
        ))
    }
    /// Every stage entry in order: (stage, instant, trigger).
    fn entries(&self) -> Vec<(String, String, Trigger)> {
        self.out
            .state
            .entries
            .iter()
            .map(|en| {
                (
                    self.plan.stages[en.stage as usize].name.clone(),
                    ts(en.at),
                    en.trigger,
                )
            })
            .collect()
    }
    fn exit_trigger(&self) -> Option<Trigger> {
        self.out.state.exit.as_ref().map(|x| x.trigger)
    }
}

fn run_line(src: &str, lead: &str, as_of: &str) -> Res {
    let plan = plan(src);
    let (lead, _) = funnelc::input::jsonl::parse_line(&plan, lead, "test:1".into()).unwrap();
    let out = replay(&plan, &lead, ms(as_of));
    let json = funnelc::output::json(&plan, &lead, &out);
    Res { plan, out, json }
}

fn run(src: &str, traits: J, events: &[J], as_of: &str) -> Res {
    run_line(src, &line(traits, events), as_of)
}

/// A schema with a trait of every type and a few events, for testing conditions one by one.
const SCHEMA: &str = r#"
schema {
  trait n: int
  trait d: decimal
  trait pct: percent
  trait amt: money
  trait dur: duration
  trait day: date
  trait stamp: timestamp
  trait name: text
  trait flag: bool
  trait tags: list<text>
  trait nums: list<int>
  trait company.employees: int
  trait company.region: text
  event tick
  event ping
  event a
  event b
  event c
  event email.sent { step: int }
  event email.opened { step: int }
  event page.viewed { page: text, paid: bool }
  event bant.assessed { budget: bool, authority: bool, need: bool, timeline: bool }
  event deal { amount: money, plan: text }
}
"#;

/// One stage `S` entered when `cond` holds: the instant it was entered, if ever.
fn enters(cond: &str, traits: J, events: &[J]) -> Option<String> {
    let src = format!("{SCHEMA}\nstage S {{\n  enter when {cond}\n}}\n");
    let r = run(&src, traits, events, "2026-01-01T00:00:00Z");
    r.entered("S")
}

/// Whether a trait-only condition holds: the lead needs one event for the interpreter to look.
fn holds(cond: &str, traits: J) -> bool {
    match enters(cond, traits, &[e("tick", T0)]) {
        None => false,
        Some(when) => {
            assert_eq!(when, T0, "{cond}: entered at the only event");
            true
        }
    }
}

fn check_table(cases: &[(&str, J, bool)]) {
    let mut wrong = Vec::new();
    for (cond, traits, want) in cases {
        if holds(cond, traits.clone()) != *want {
            wrong.push(format!("`{cond}` with {traits}: expected {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Traits

#[test]
fn int_comparisons() {
    check_table(&[
        ("n >= 100", json!({"n": 100}), true),
        ("n >= 100", json!({"n": 99}), false),
        ("n > 100", json!({"n": 100}), false),
        ("n > 100", json!({"n": 101}), true),
        ("n <= 100", json!({"n": 100}), true),
        ("n <= 100", json!({"n": 101}), false),
        ("n < 100", json!({"n": 99}), true),
        ("n < 100", json!({"n": 100}), false),
        ("n == 100", json!({"n": 100}), true),
        ("n == 100", json!({"n": 101}), false),
        ("n != 100", json!({"n": 101}), true),
        ("n != 100", json!({"n": 100}), false),
        (
            "company.employees >= 100",
            json!({"company": {"employees": 220}}),
            true,
        ),
        (
            "company.employees >= 100",
            json!({"company": {"employees": 99}}),
            false,
        ),
        ("n * 2 >= 200", json!({"n": 100}), true),
        ("n - 1 >= 100", json!({"n": 100}), false),
    ]);
}

#[test]
fn decimal_percent_money_duration_comparisons() {
    check_table(&[
        ("d > 6.9", json!({"d": 6.95}), true),
        ("d > 6.9", json!({"d": 6.9}), false),
        ("d <= 6.9", json!({"d": 6}), true),
        ("pct >= 40%", json!({"pct": "40%"}), true),
        ("pct >= 40%", json!({"pct": 40}), true),
        ("pct >= 40%", json!({"pct": "39.9%"}), false),
        ("pct < 3.9%", json!({"pct": 3.8}), true),
        ("amt >= $10,000", json!({"amt": 10000}), true),
        ("amt >= $10,000", json!({"amt": "$10,000"}), true),
        ("amt >= $10,000", json!({"amt": "$9,999.99"}), false),
        ("amt == $4500.50", json!({"amt": 4500.5}), true),
        ("dur >= 2d", json!({"dur": "2d"}), true),
        ("dur >= 2d", json!({"dur": "48h"}), true),
        ("dur >= 2d", json!({"dur": "47h"}), false),
        ("dur < 1w", json!({"dur": "6d"}), true),
        ("dur < 1w", json!({"dur": "7d"}), false),
    ]);
}

#[test]
fn date_and_timestamp_comparisons() {
    check_table(&[
        ("day >= 2025-01-31", json!({"day": "2025-01-31"}), true),
        ("day >= 2025-01-31", json!({"day": "2025-01-30"}), false),
        ("day < 2025-01-31", json!({"day": "2025-01-30"}), true),
        ("day == 2025-01-31", json!({"day": "2025-01-31"}), true),
        // A date as an instant is midnight UTC.
        (
            "stamp < 2025-02-01",
            json!({"stamp": "2025-01-31T23:59:59Z"}),
            true,
        ),
        (
            "stamp < 2025-02-01",
            json!({"stamp": "2025-02-01T00:00:00Z"}),
            false,
        ),
        (
            "stamp == 2025-02-01",
            json!({"stamp": "2025-02-01T00:00:00Z"}),
            true,
        ),
        // Zones are honoured: 12:00+02:00 is 10:00Z.
        (
            "stamp >= 2025-01-03T10:00:00Z",
            json!({"stamp": "2025-01-03T12:00:00+02:00"}),
            true,
        ),
        (
            "stamp > 2025-01-03T10:00:00Z",
            json!({"stamp": "2025-01-03T12:00:00+02:00"}),
            false,
        ),
        (
            "stamp > 2025-01-03 09:59",
            json!({"stamp": "2025-01-03T10:00:00Z"}),
            true,
        ),
    ]);
}

#[test]
fn text_and_bool_comparisons() {
    check_table(&[
        (r#"name == "cfo""#, json!({"name": "cfo"}), true),
        (r#"name == "cfo""#, json!({"name": "CFO"}), false),
        (r#"name != "cfo""#, json!({"name": "ceo"}), true),
        (r#"name != "cfo""#, json!({"name": "cfo"}), false),
        ("flag", json!({"flag": true}), true),
        ("flag", json!({"flag": false}), false),
        ("flag == true", json!({"flag": true}), true),
        ("flag == false", json!({"flag": false}), true),
        ("not flag", json!({"flag": false}), true),
        ("not flag", json!({"flag": true}), false),
        ("flag and n >= 1", json!({"flag": true, "n": 1}), true),
        ("flag and n >= 1", json!({"flag": true, "n": 0}), false),
        ("flag or n >= 1", json!({"flag": false, "n": 1}), true),
        ("flag or n >= 1", json!({"flag": false, "n": 0}), false),
    ]);
}

#[test]
fn in_and_not_in() {
    check_table(&[
        (
            r#"name in ["cfo", "controller"]"#,
            json!({"name": "controller"}),
            true,
        ),
        (
            r#"name in ["cfo", "controller"]"#,
            json!({"name": "ceo"}),
            false,
        ),
        (
            r#"name not in ["cfo", "controller"]"#,
            json!({"name": "ceo"}),
            true,
        ),
        (
            r#"name not in ["cfo", "controller"]"#,
            json!({"name": "cfo"}),
            false,
        ),
        ("n in [1, 2, 3]", json!({"n": 2}), true),
        ("n in [1, 2, 3]", json!({"n": 4}), false),
        ("n not in [1, 2, 3]", json!({"n": 4}), true),
        // Missing: both are false.
        (r#"name in ["cfo"]"#, json!({}), false),
        (r#"name not in ["cfo"]"#, json!({}), false),
        (r#"not (name in ["cfo"])"#, json!({}), true),
    ]);
}

#[test]
fn between_is_inclusive() {
    check_table(&[
        ("n between 150 and 500", json!({"n": 150}), true),
        ("n between 150 and 500", json!({"n": 500}), true),
        ("n between 150 and 500", json!({"n": 149}), false),
        ("n between 150 and 500", json!({"n": 501}), false),
        ("d between 0.5 and 1.5", json!({"d": 1.5}), true),
        (
            "day between 2025-01-01 and 2025-01-31",
            json!({"day": "2025-01-31"}),
            true,
        ),
        (
            "day between 2025-01-01 and 2025-01-31",
            json!({"day": "2025-02-01"}),
            false,
        ),
        ("n between 150 and 500", json!({}), false),
    ]);
}

#[test]
fn contains_all_any() {
    check_table(&[
        (r#"tags contains "NY""#, json!({"tags": ["NJ", "NY"]}), true),
        (r#"tags contains "NY""#, json!({"tags": ["NJ"]}), false),
        (r#"tags contains "NY""#, json!({"tags": []}), false),
        ("nums contains 3", json!({"nums": [1, 3]}), true),
        (
            r#"tags contains all ["NY", "NJ"]"#,
            json!({"tags": ["NJ", "CA", "NY"]}),
            true,
        ),
        (
            r#"tags contains all ["NY", "NJ"]"#,
            json!({"tags": ["NY", "CA"]}),
            false,
        ),
        (
            r#"tags contains any ["NY", "NJ"]"#,
            json!({"tags": ["CA", "NJ"]}),
            true,
        ),
        (
            r#"tags contains any ["NY", "NJ"]"#,
            json!({"tags": ["CA"]}),
            false,
        ),
        (
            r#"tags contains any ["NY", "NJ"]"#,
            json!({"tags": []}),
            false,
        ),
        // Missing: every test is false.
        (r#"tags contains "NY""#, json!({}), false),
        (r#"tags contains all ["NY"]"#, json!({}), false),
        (r#"tags contains any ["NY"]"#, json!({}), false),
        (r#"not (tags contains "NY")"#, json!({}), true),
    ]);
}

#[test]
fn starts_ends_matches() {
    check_table(&[
        (
            r#"name starts with "cfo@""#,
            json!({"name": "cfo@acme.com"}),
            true,
        ),
        (
            r#"name starts with "cfo@""#,
            json!({"name": "ceo@acme.com"}),
            false,
        ),
        (
            r#"name ends with "@acme.com""#,
            json!({"name": "cfo@acme.com"}),
            true,
        ),
        (
            r#"name ends with "@acme.com""#,
            json!({"name": "cfo@acme.co"}),
            false,
        ),
        (
            r#"name matches "@(gmail|yahoo)\\.com$""#,
            json!({"name": "dana@gmail.com"}),
            true,
        ),
        (
            r#"name matches "@(gmail|yahoo)\\.com$""#,
            json!({"name": "dana@gmailxcom"}),
            false,
        ),
        (
            r#"name matches "@(gmail|yahoo)\\.com$""#,
            json!({"name": "dana@gmail.com.il"}),
            false,
        ),
        (r#"name starts with "cfo""#, json!({}), false),
        (r#"name ends with "cfo""#, json!({}), false),
        (r#"name matches ".*""#, json!({}), false),
        (r#"not (name matches "x")"#, json!({}), true),
    ]);
}

#[test]
fn exists_and_is_missing() {
    check_table(&[
        ("n exists", json!({"n": 0}), true),
        ("n exists", json!({}), false),
        ("n exists", json!({"n": null}), false),
        ("n is missing", json!({}), true),
        ("n is missing", json!({"n": null}), true),
        ("n is missing", json!({"n": 5}), false),
        ("tags exists", json!({"tags": []}), true),
        (
            "company.employees exists",
            json!({"company": {"employees": 1}}),
            true,
        ),
        (
            "company.employees exists",
            json!({"company": {"region": "x"}}),
            false,
        ),
        ("flag exists", json!({"flag": false}), true),
    ]);
}

#[test]
fn missing_values_make_comparisons_false() {
    check_table(&[
        ("n >= 100", json!({}), false),
        ("n < 100", json!({}), false),
        ("n == 100", json!({}), false),
        // `!=` is a comparison like the others: false on a missing value.
        ("n != 100", json!({}), false),
        ("not (n >= 100)", json!({}), true),
        ("not (n != 100)", json!({}), true),
        (r#"name == "x""#, json!({}), false),
        (r#"name != "x""#, json!({}), false),
        ("flag", json!({}), false),
        ("not flag", json!({}), true),
        ("flag == false", json!({}), false),
        ("n + 1 >= 0", json!({}), false),
        ("day < 2030-01-01", json!({}), false),
        ("amt >= $0", json!({}), false),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Events

#[test]
fn event_presence() {
    assert_eq!(enters("ping", json!({}), &[e("tick", T0)]), None);
    assert_eq!(
        enters("ping", json!({}), &[e("tick", T0), e("ping", &at(DAY))]),
        Some(at(DAY))
    );
    assert_eq!(
        enters(
            "ping and a",
            json!({}),
            &[e("ping", T0), e("tick", &at(DAY)), e("a", &at(2 * DAY))]
        ),
        Some(at(2 * DAY))
    );
    assert_eq!(enters("not ping", json!({}), &[e("tick", T0)]), Some(at(0)));
}

#[test]
fn where_filters() {
    let opens = |steps: &[i64]| -> Vec<J> {
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| ep("email.opened", &at(i as i64 * DAY), json!({"step": s})))
            .collect()
    };
    assert_eq!(
        enters("email.opened where step == 2", json!({}), &opens(&[1, 3])),
        None
    );
    assert_eq!(
        enters(
            "email.opened where step == 2",
            json!({}),
            &opens(&[1, 2, 3])
        ),
        Some(at(DAY))
    );
    assert_eq!(
        enters(
            "email.opened where step in [3, 4]",
            json!({}),
            &opens(&[1, 2, 4])
        ),
        Some(at(2 * DAY))
    );
    assert_eq!(
        enters("email.opened where step >= 2", json!({}), &opens(&[1])),
        None
    );
    // A missing property fails the filter.
    assert_eq!(
        enters(
            "email.opened where step >= 0",
            json!({}),
            &[e("email.opened", T0)]
        ),
        None
    );
    assert_eq!(
        enters(
            "email.opened where step is missing",
            json!({}),
            &[e("email.opened", T0)]
        ),
        Some(at(0))
    );
    let views = [
        ep("page.viewed", T0, json!({"page": "pricing", "paid": true})),
        ep(
            "page.viewed",
            &at(DAY),
            json!({"page": "pricing", "paid": false}),
        ),
    ];
    assert_eq!(
        enters("page.viewed where not paid", json!({}), &views),
        Some(at(DAY))
    );
    assert_eq!(
        enters(
            r#"page.viewed where (page == "pricing" and paid)"#,
            json!({}),
            &views
        ),
        Some(at(0))
    );
    // Bare names in a filter: the event's properties first, then the lead's traits.
    assert_eq!(
        enters(
            r#"page.viewed where (page == "pricing" and flag)"#,
            json!({"flag": false}),
            &views
        ),
        None
    );
    assert_eq!(
        enters(
            r#"page.viewed where (page == "pricing" and flag)"#,
            json!({"flag": true}),
            &views
        ),
        Some(at(0))
    );
}

#[test]
fn count() {
    let opens = |n: i64| -> Vec<J> {
        (0..n)
            .map(|i| ep("email.opened", &at(i * DAY), json!({"step": i + 1})))
            .collect()
    };
    assert_eq!(
        enters("count email.opened >= 3", json!({}), &opens(2)),
        None
    );
    assert_eq!(
        enters("count email.opened >= 3", json!({}), &opens(5)),
        Some(at(2 * DAY))
    );
    assert_eq!(
        enters("count email.opened == 0", json!({}), &[e("tick", T0)]),
        Some(at(0))
    );
    assert_eq!(
        enters(
            "count email.opened where step in [2, 4] >= 2",
            json!({}),
            &opens(5)
        ),
        Some(at(3 * DAY))
    );
    assert_eq!(
        enters(
            "count email.opened + count ping >= 2",
            json!({}),
            &[
                e("ping", T0),
                ep("email.opened", &at(1), json!({"step": 1}))
            ]
        ),
        Some(at(1))
    );
}

#[test]
fn rate() {
    let lead = |sent: usize, opened: usize| -> Vec<J> {
        let mut v: Vec<J> = (0..sent)
            .map(|_| ep("email.sent", T0, json!({"step": 1})))
            .collect();
        v.extend((0..opened).map(|_| ep("email.opened", &at(DAY), json!({"step": 1}))));
        v.push(e("tick", &at(2 * DAY)));
        v
    };
    // 2 / 5 = 40%: inclusive.
    assert_eq!(
        enters(
            "rate email.opened / email.sent >= 40%",
            json!({}),
            &lead(5, 2)
        ),
        Some(at(DAY))
    );
    assert_eq!(
        enters(
            "rate email.opened / email.sent >= 40%",
            json!({}),
            &lead(5, 1)
        ),
        None
    );
    assert_eq!(
        enters(
            "rate email.opened / email.sent < 40%",
            json!({}),
            &lead(5, 1)
        ),
        Some(at(0))
    );
    // Above 100% is possible.
    assert_eq!(
        enters(
            "rate email.opened / email.sent > 100%",
            json!({}),
            &lead(1, 2)
        ),
        Some(at(DAY))
    );
    // Division by zero: the rate does not exist and every comparison with it is false.
    for cond in [
        "rate email.opened / email.sent >= 0%",
        "rate email.opened / email.sent < 40%",
        "rate email.opened / email.sent == 0%",
    ] {
        assert_eq!(enters(cond, json!({}), &lead(0, 2)), None, "{cond}");
    }
    assert_eq!(
        enters(
            "not (rate email.opened / email.sent >= 40%)",
            json!({}),
            &lead(0, 2)
        ),
        Some(at(DAY)),
        "the first look is at the first event"
    );
}

// ---------------------------------------------------------------------------------------------
// Time: windows, since entering, absences, days since

/// Enters `A` on any ping, then `B` while no ping is in the last 14 days.
const WINDOW: &str = r#"
schema {
  event ping
  event tick
}
stage A {
  enter when ping
}
stage B {
  enter when not (ping within 14d)
}
"#;

#[test]
fn days_since_last_and_first_fire_by_timer() {
    let stage_b = |cond: &str| {
        format!("{SCHEMA}\nstage A {{ enter when tick }}\nstage B {{ enter when {cond} }}\n")
    };
    let events = [e("tick", T0), e("ping", &at(DAY)), e("ping", &at(3 * DAY))];
    let cases: &[(&str, i64)] = &[
        // From the latest ping (day 3).
        ("days since last ping >= 30", 33 * DAY),
        ("days since last ping > 30", 33 * DAY + 1),
        ("30 <= days since last ping", 33 * DAY),
        // At day 2.5 the latest ping is the one of day 1.
        ("days since last ping >= 1.5", DAY + DAY * 3 / 2),
        // From the first ping (day 1).
        ("days since first ping >= 30", 31 * DAY),
        ("days since first ping > 30", 31 * DAY + 1),
        // No matching event: from the start of the history (the first event, day 0).
        ("days since last a >= 10", 10 * DAY),
        ("days since first a > 10", 10 * DAY + 1),
    ];
    for (cond, want) in cases {
        let r = run(&stage_b(cond), json!({}), &events, &at(100 * DAY));
        assert_eq!(
            r.entries().get(1),
            Some(&("B".to_string(), at(*want), Trigger::Timer)),
            "{cond}"
        );
        let r = run(&stage_b(cond), json!({}), &events, &at(*want - 1));
        assert_eq!(r.entered("B"), None, "{cond}: not before");
    }
}

#[test]
fn days_since_entering_fires_by_timer() {
    for (cond, want) in [
        ("days since entering A >= 5", 6 * DAY),
        ("days since entering A > 5", 6 * DAY + 1),
        ("days since entering A >= 0.25", DAY + DAY / 4),
    ] {
        let src =
            format!("{SCHEMA}\nstage A {{ enter when a }}\nstage B {{ enter when {cond} }}\n");
        let events = [e("tick", T0), e("a", &at(DAY))];
        let r = run(&src, json!({}), &events, &at(100 * DAY));
        assert_eq!(
            r.entries(),
            vec![
                ("A".into(), at(DAY), Trigger::Event(1)),
                ("B".into(), at(want), Trigger::Timer)
            ],
            "{cond}"
        );
        let r = run(&src, json!({}), &events, &at(want - 1));
        assert_eq!(r.position(), "A", "{cond}");
    }
}

// ---------------------------------------------------------------------------------------------
// then, latest / first

fn bant(when: &str, budget: bool, authority: bool, need: bool, timeline: bool) -> J {
    ep(
        "bant.assessed",
        when,
        json!({"budget": budget, "authority": authority, "need": need, "timeline": timeline}),
    )
}

#[test]
fn latest_and_first_has() {
    let two = [
        bant(T0, false, true, true, true),
        bant(&at(DAY), true, false, false, false),
    ];
    assert_eq!(
        enters("latest bant.assessed has budget", json!({}), &two),
        Some(at(DAY))
    );
    assert_eq!(
        enters("first bant.assessed has budget", json!({}), &two),
        None
    );
    assert_eq!(
        enters("first bant.assessed has authority", json!({}), &two),
        Some(at(0))
    );
    // Without a matching event both are false.
    assert_eq!(
        enters(
            "latest bant.assessed has budget",
            json!({}),
            &[e("tick", T0)]
        ),
        None
    );
    assert_eq!(
        enters(
            "not (latest bant.assessed has budget)",
            json!({}),
            &[e("tick", T0)]
        ),
        Some(at(0))
    );
    // A missing property is not true.
    assert_eq!(
        enters(
            "latest bant.assessed has budget",
            json!({}),
            &[e("bant.assessed", T0)]
        ),
        None
    );
}

#[test]
fn has_at_least_k_of() {
    let c = "latest bant.assessed has at least 3 of [budget, authority, need, timeline]";
    assert_eq!(
        enters(c, json!({}), &[bant(T0, true, true, false, false)]),
        None
    );
    assert_eq!(
        enters(c, json!({}), &[bant(T0, true, false, true, true)]),
        Some(at(0))
    );
    assert_eq!(
        enters(c, json!({}), &[bant(T0, true, true, true, true)]),
        Some(at(0))
    );
    // The latest decides, not the best.
    assert_eq!(
        enters(
            c,
            json!({}),
            &[
                bant(T0, true, true, false, false),
                bant(&at(DAY), true, true, true, false)
            ]
        ),
        Some(at(DAY))
    );
    assert_eq!(
        enters(
            &c.replace("latest", "first"),
            json!({}),
            &[
                bant(T0, true, true, false, false),
                bant(&at(DAY), true, true, true, false)
            ]
        ),
        None
    );
    assert_eq!(
        enters(
            "first bant.assessed has at least 2 of [budget, need]",
            json!({}),
            &[
                bant(T0, true, false, true, false),
                bant(&at(1), false, false, false, false)
            ]
        ),
        Some(at(0))
    );
    // A query with a filter and a scope.
    assert_eq!(
        enters(
            "latest bant.assessed where need within 1d has budget",
            json!({}),
            &[
                bant(T0, true, false, true, false),
                bant(&at(DAY / 2), false, false, false, false)
            ]
        ),
        Some(at(0))
    );
}

#[test]
fn property_of_latest_and_first() {
    let deals = [
        ep("deal", T0, json!({"amount": 5000, "plan": "basic"})),
        ep(
            "deal",
            &at(DAY),
            json!({"amount": "$12,000", "plan": "pro"}),
        ),
    ];
    assert_eq!(
        enters("amount of latest deal >= $10,000", json!({}), &deals),
        Some(at(DAY))
    );
    assert_eq!(
        enters("amount of first deal >= $10,000", json!({}), &deals),
        None
    );
    assert_eq!(
        enters(r#"plan of first deal == "basic""#, json!({}), &deals),
        Some(at(0))
    );
    assert_eq!(
        enters(r#"plan of latest deal == "pro""#, json!({}), &deals),
        Some(at(DAY))
    );
    assert_eq!(
        enters(
            r#"plan of latest deal where amount < $10,000 == "basic""#,
            json!({}),
            &deals
        ),
        Some(at(0))
    );
    // No matching event: the property is missing.
    assert_eq!(
        enters("amount of latest deal >= $0", json!({}), &[e("tick", T0)]),
        None
    );
    assert_eq!(
        enters(
            "amount of latest deal is missing",
            json!({}),
            &[e("tick", T0)]
        ),
        Some(at(0))
    );
    assert_eq!(
        enters(
            "not (amount of latest deal >= $0)",
            json!({}),
            &[e("tick", T0)]
        ),
        Some(at(0))
    );
    // The event exists but lacks the property.
    assert_eq!(
        enters("amount of latest deal exists", json!({}), &[e("deal", T0)]),
        None
    );
}

#[test]
fn at_least_k_of() {
    let c = "at least 2 of [a, b, n >= 100]";
    assert_eq!(
        enters(c, json!({"n": 100}), &[e("tick", T0), e("a", &at(DAY))]),
        Some(at(DAY))
    );
    assert_eq!(
        enters(c, json!({"n": 99}), &[e("a", T0), e("tick", &at(DAY))]),
        None
    );
    assert_eq!(
        enters(c, json!({}), &[e("a", T0), e("b", &at(DAY))]),
        Some(at(DAY))
    );
    assert_eq!(
        enters(
            "at least 3 of [a, b, n >= 100]",
            json!({"n": 100}),
            &[e("a", T0), e("b", &at(DAY))]
        ),
        Some(at(DAY))
    );
    assert_eq!(
        enters(
            "at least 1 of [count email.opened where step >= 2 >= 1, flag]",
            json!({}),
            &[
                ep("email.opened", T0, json!({"step": 1})),
                ep("email.opened", &at(1), json!({"step": 2}))
            ]
        ),
        Some(at(1))
    );
}

// ---------------------------------------------------------------------------------------------
// Scores

const SCORES: &str = r#"
schema {
  trait n: int
  trait flag: bool
  event x
  event y
  event u
  event tick
}
score plain max 50 min -5 {
  +20 when n between 150 and 500
  +10 when n > 500
  +30 when flag
  +5 per x max 15
  -3 per y max 6
  -10 when u
  grade A from 40
  grade B from 20
  grade C from 0
}
score unbounded {
  -4 per y
  +1 per x
}
stage S {
  enter when tick
}
"#;

/// The first instant (as an offset from `earned`) at which `points` decaying with this
/// half-life is worth, rounded to 0.01, less than `threshold`.
fn first_below(points: f64, half_life: i64, threshold: f64) -> i64 {
    let worth =
        |age: i64| (points * 0.5f64.powf(age as f64 / half_life as f64) * 100.0).round() / 100.0;
    let (mut lo, mut hi) = (0i64, half_life * 64);
    assert!(worth(lo) >= threshold && worth(hi) < threshold);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if worth(mid) < threshold {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

const DECAY_EXIT: &str = r#"
schema {
  event x
  event tick
}
score eng decay half-life 10d {
  +40 per x
}
stage A {
  enter when x
}
exit cold from any when score eng < 20
"#;

#[test]
fn a_decaying_score_crossing_a_threshold_moves_the_lead_at_that_instant() {
    let when = first_below(40.0, 10 * DAY, 20.0);
    // 40 x 0.5^(a / 10d) < 19.995 just after one half-life.
    assert!((10 * DAY..10 * DAY + DAY / 100).contains(&when), "{when}");
    let r = run(DECAY_EXIT, json!({}), &[e("x", T0)], &at(60 * DAY));
    assert_eq!(r.exit(), Some(("cold".into(), "A".into(), at(when))));
    assert_eq!(r.exit_trigger(), Some(Trigger::Timer));
    let r = run(DECAY_EXIT, json!({}), &[e("x", T0)], &at(when - 1));
    assert_eq!(r.position(), "A");
    // A later event does not delay it: the crossing is found before the event.
    let r = run(
        DECAY_EXIT,
        json!({}),
        &[e("x", T0), e("tick", &at(40 * DAY))],
        &at(60 * DAY),
    );
    assert_eq!(r.exit(), Some(("cold".into(), "A".into(), at(when))));
}

#[test]

fn a_decaying_score_read_through_a_segment_crosses_at_the_same_instant() {
    let src = DECAY_EXIT.replace(
        "exit cold from any when score eng < 20",
        "segment cold_lead = score eng < 20\nexit cold from any when cold_lead",
    );
    let when = first_below(40.0, 10 * DAY, 20.0);
    let r = run(&src, json!({}), &[e("x", T0)], &at(60 * DAY));
    assert_eq!(r.exit(), Some(("cold".into(), "A".into(), at(when))));
}

const TWO_THRESHOLDS: &str = r#"
schema {
  event x
  event acc
}
score eng decay half-life 10d {
  +40 per x
}
stage A {
  enter when x
}
stage B {
  enter when acc since entering A
}
move B -> A when score eng < 20
exit cold from any when score eng < 10
"#;

#[test]
fn a_move_by_a_decaying_score_happens_at_the_crossing() {
    let when = first_below(40.0, 10 * DAY, 20.0);
    let r = run(
        TWO_THRESHOLDS,
        json!({}),
        &[e("x", T0), e("acc", &at(DAY))],
        &at(15 * DAY),
    );
    assert_eq!(
        r.entries(),
        vec![
            ("A".into(), at(0), Trigger::Event(0)),
            ("B".into(), at(DAY), Trigger::Event(1)),
            ("A".into(), at(when), Trigger::Timer),
        ]
    );
    assert_eq!(r.exit(), None);
}

#[test]

fn two_decay_crossings_between_events_are_both_found() {
    let move_at = first_below(40.0, 10 * DAY, 20.0);
    let exit_at = first_below(40.0, 10 * DAY, 10.0);
    assert!(exit_at > 20 * DAY && exit_at < 21 * DAY);
    let r = run(
        TWO_THRESHOLDS,
        json!({}),
        &[e("x", T0), e("acc", &at(DAY))],
        &at(60 * DAY),
    );
    assert_eq!(r.entered("A"), Some(at(move_at)));
    assert_eq!(r.exit(), Some(("cold".into(), "A".into(), at(exit_at))));
    // With a later event, the exit is still at the crossing, not at the event.
    let r = run(
        TWO_THRESHOLDS,
        json!({}),
        &[e("x", T0), e("acc", &at(DAY)), e("acc", &at(50 * DAY))],
        &at(60 * DAY),
    );
    assert_eq!(r.exit(), Some(("cold".into(), "A".into(), at(exit_at))));
}

// ---------------------------------------------------------------------------------------------
// The stage machine

const MACHINE: &str = r#"
schema {
  event a
  event b
  event c
  event r
  event x
  event q
  event tick
}
stage A {
  enter when a
}
stage B {
  enter when b since entering A
}
stage C {
  enter when c
}
move B -> A on r
move C -> A on r
exit lost from [B, C] on x
exit gone from any on q
"#;

#[test]
fn events_after_as_of_are_ignored() {
    let r = run(
        MACHINE,
        json!({}),
        &[e("a", T0), e("b", &at(2 * DAY)), e("q", &at(DAY + 1))],
        &at(DAY),
    );
    assert_eq!(r.position(), "A");
    assert_eq!(r.entered("B"), None);
    assert_eq!(r.out.seen, 1);
    // An event exactly at as_of counts.
    let r = run(
        MACHINE,
        json!({}),
        &[e("a", T0), e("b", &at(DAY))],
        &at(DAY),
    );
    assert_eq!(r.entered("B"), Some(at(DAY)));
    // Scores too.
    let r = run(
        SCORES,
        json!({}),
        &[e("x", T0), e("x", &at(DAY + 1))],
        &at(DAY),
    );
    assert_eq!(r.score("plain"), 5.0);
    // Timers after as_of do not fire.
    let r = run(
        WINDOW,
        json!({}),
        &[e("ping", T0), e("ping", &at(20 * DAY))],
        &at(14 * DAY),
    );
    assert_eq!(r.position(), "A");
}

#[test]
fn entries_record_rule_and_trigger() {
    let r = run(
        MACHINE,
        json!({}),
        &[e("a", T0), e("b", &at(DAY)), e("r", &at(2 * DAY))],
        &at(3 * DAY),
    );
    let by: Vec<EnteredBy> = r.out.state.entries.iter().map(|en| en.by).collect();
    // The move `B -> A` is the first move in the plan's leaves, after the two exits.
    let li = r
        .plan
        .leaves
        .iter()
        .position(|l| matches!(l.to, funnelc::plan::LeaveTo::Stage(0)))
        .unwrap();
    assert_eq!(
        by,
        vec![EnteredBy::Enter, EnteredBy::Enter, EnteredBy::Leave(li)]
    );
    assert_eq!(r.out.state.entries[2].trigger, Trigger::Event(2));
}

// ---------------------------------------------------------------------------------------------
// The shipped B2B rules, end to end

fn b2b(events: &[J], traits: J, as_of: &str) -> Res {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules/b2b-saas.funnel"
    ))
    .unwrap();
    run(&src, traits, events, as_of)
}

fn icp_traits() -> J {
    json!({
        "consent": true, "role": "cfo",
        "company": {
            "employees": 220, "paying_customers": 1500, "region": "us-east",
            "branches": ["NY", "NJ"], "has_cdo": true, "billing": "per-user-monthly",
            "invoicing_pain": true
        }
    })
}

#[test]
fn b2b_returned_mql_needs_a_fresh_bant() {
    let mut ev = vec![
        ep(
            "form.submitted",
            "2025-01-01",
            json!({"form": "oecd-research"}),
        ),
        ep("email.opened", "2025-01-03", json!({"step": 1})),
        ep("email.opened", "2025-01-10", json!({"step": 4})),
        bant("2025-01-12", true, true, true, false),
        e("sales.returned", "2025-01-15"),
        e("email.opened", "2025-01-20"),
    ];
    let r = b2b(&ev, icp_traits(), "2025-02-01");
    assert_eq!(r.position(), "MEL");
    assert_eq!(r.entered("MQL").as_deref(), Some("2025-01-12T00:00:00Z"));
    assert_eq!(r.entered("MEL").as_deref(), Some("2025-01-15T00:00:00Z"));
    ev.push(bant("2025-01-25", true, true, false, true));
    let r = b2b(&ev, icp_traits(), "2025-02-01");
    assert_eq!(r.position(), "MQL");
    assert_eq!(r.entered("MQL").as_deref(), Some("2025-01-25T00:00:00Z"));
    // fit: 20 + 15 + 10 + 15 = 60 (the cap); engagement decays.
    assert_eq!(r.score("fit"), 60.0);
    assert_eq!(r.grade("fit").as_deref(), Some("A"));
}

// ---------------------------------------------------------------------------------------------
// When the interpreter looks: only at events, timers and score crossings

#[test]
fn after_a_move_the_next_stage_holds_or_not_whatever_comes_later() {
    // After the move at day 2, B's condition decides at once, at the move's own instant: on
    // old evidence (`b`) the lead is back in B at day 2; asking for evidence from the new stay
    // (`b since entering A`) keeps it in A. Unrelated events afterwards change neither, and
    // a decaying score read by the condition changes nothing either.
    let src = r#"
schema {
  event a
  event b
  event r
  event x
}
score s decay half-life 10d {
  +1 per x
}
stage A {
  enter when a
}
stage B {
  enter when b and score s >= 0
}
move B -> A on r
"#;
    let ev = [e("a", T0), e("b", &at(DAY)), e("r", &at(2 * DAY))];
    let mut later = ev.to_vec();
    later.push(e("x", &at(5 * DAY)));
    for events in [&ev[..], &later[..]] {
        let r = run(src, json!({}), events, &at(30 * DAY));
        assert_eq!(r.position(), "B");
        assert_eq!(r.entered("A"), Some(at(2 * DAY)));
        assert_eq!(r.entered("B"), Some(at(2 * DAY)));
        let fresh = src.replace("b and score s >= 0", "b since entering A and score s >= 0");
        let r = run(&fresh, json!({}), events, &at(30 * DAY));
        assert_eq!(r.position(), "A");
        assert_eq!(r.entered("B"), Some(at(DAY)));
    }
}
