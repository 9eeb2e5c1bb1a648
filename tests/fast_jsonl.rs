//! The fast JSONL reader against the serde one: wherever the fast path reads a line, it must
//! read exactly what serde reads; where it declines, serde decides. Hand-picked edge lines,
//! every shipped and fixture line, and generated lines (valid, shuffled and mutated).

use funnelc::input::{fastjson, jsonl};
use funnelc::plan::Plan;
use proptest::prelude::*;

/// A trait and an event property of every type, each read by a rule (the readers read only
/// what the plan reads). Shared with the lead reader's fuzz target.
const RULES: &str = include_str!("fixtures/input/every-type.funnel");

fn plan() -> &'static Plan {
    static PLAN: std::sync::OnceLock<Plan> = std::sync::OnceLock::new();
    PLAN.get_or_init(build_plan)
}

fn build_plan() -> Plan {
    let compiled = funnelc::compile(RULES, "t.funnel");
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    compiled.plan().unwrap()
}

/// Both readers on one line: the fast one must agree with serde whenever it answers.
/// Returns whether it answered.
fn agree(plan: &Plan, line: &str) -> bool {
    let slow = jsonl::parse_line_serde(plan, line, "f:1".into());
    match fastjson::parse_line(plan, line) {
        None => false,
        Some((mut lead, unknown)) => {
            lead.origin = "f:1".into();
            let slow = slow.unwrap_or_else(|e| {
                panic!("the fast path read a line serde refuses ({e}):\n{line}")
            });
            assert_eq!(
                format!("{:?}", (lead, unknown)),
                format!("{slow:?}"),
                "the readers differ on:\n{line}"
            );
            true
        }
    }
}

#[test]
fn plain_lines_take_the_fast_path_and_agree() {
    let p = plan();
    let lines = [
        r#"{"id":"L1","traits":{"source":"x","company":{"employees":5,"hq":{"city":"Tel Aviv"}}},"events":[{"type":"email.opened","at":"2025-01-03T10:00:00Z","step":1}]}"#,
        r#"{"id": 42, "traits": null, "events": null}"#,
        r#"{"id":"L2"}"#,
        r#" { "events" : [ ] , "id" : "L3" , "traits" : { } } "#,
        r#"{"id":"L4","events":[{"at":"2025-01-03","type":"ping"},{"step":2,"type":"email.opened","at":"2025-01-02T00:00:00+02:00"}]}"#,
        r#"{"id":"L5","events":[{"type":"nope","at":"not checked"},{"type":"nope","at":"x"},{"type":"other","at":"x","k":[1,{"a":null}]}]}"#,
        r#"{"id":"L6","traits":{"rating":1.5,"share":"40%","arr":"$4,500","notice":"7d","started":"2025-01-31","seen":"2025-01-31T10:00:00Z","tags":["a","b"],"sizes":[1,2,3],"consent":null}}"#,
        r#"{"id":"L7","events":[{"type":"deal.won","at":"2025-01-01T00:00:00.123Z","amount":4500,"share":12.5,"took":"2w","closed_on":"2025-02-01","closed_at":"2025-02-01T10:00:00Z"}]}"#,
        r#"{"id":"L8","traits":{"source":"tab\there \"quoted\" back\\slash \/ \n"},"events":[{"type":"page.viewed","at":"2025-01-01T00:00:00Z","page":"é ✓ 𝄞","ratio":-0.25e1,"tags":[]}]}"#,
        r#"{"id":"L9","extra":{"deep":[[[[{"x":[true,false,null,-1,0,1e5,1E-2]}]]]]},"traits":{"unknown":{"a":{"b":1}},"company":{"employees":-3,"other":"x"}}}"#,
        r#"{"id":"L10","events":[{"type":"email.opened","at":"2025-01-01T00:00:00Z","step":3,"extra":{"x":1}},{"type":"email.opened","at":"2025-01-01T00:00:00Z","step":1}]}"#,
        "{\"id\":\"L11\",\"traits\":{\"source\":\"x\"}}\r\n",
    ];
    for l in lines {
        assert!(agree(p, l), "the fast path declined:\n{l}");
    }
}

#[test]
fn keys_in_a_new_order_are_read_as_well_as_keys_in_the_learned_one() {
    // The fast reader guesses each key from the order of the lines before (on this thread);
    // lines that break the order, skip keys, add undeclared ones, repeat one or space it out
    // must read exactly as serde reads them, and still take the fast path.
    let p = plan();
    let lines = [
        r#"{"id":"A1","traits":{"source":"a","consent":true,"company":{"employees":1,"region":"r","hq":{"city":"c"}}},"events":[{"type":"page.viewed","at":"2025-01-01T00:00:00Z","page":"p","ratio":1,"tags":["t"]}]}"#,
        r#"{"id":"A2","traits":{"source":"b","consent":false,"company":{"employees":2,"region":"s","hq":{"city":"d"}}},"events":[{"type":"page.viewed","at":"2025-01-01T00:00:00Z","page":"q","ratio":2,"tags":[]}]}"#,
        r#"{"id":"A3","traits":{"company":{"hq":{"city":"e"},"region":"t","employees":3},"consent":true,"source":"c"},"events":[{"type":"page.viewed","at":"2025-01-01T00:00:00Z","tags":["u"],"ratio":3,"page":"r"}]}"#,
        r#"{"id":"A4","traits":{"source":"d","company":{"region":"u"}},"events":[{"type":"page.viewed","at":"2025-01-01T00:00:00Z","ratio":4}]}"#,
        r#"{"id":"A5","traits":{"source":"e","x":1,"consent":true,"company":{"employees":5,"y":{"z":2},"region":"v"}}}"#,
        r#"{"id":"A6","traits":{"source":"f","x":1,"x":2,"company":{"region":"w","y":3,"y":4}}}"#,
        r#"{"id":"A7","traits":{"source":"h", "consent" :true,"company": {"employees":7}}}"#,
        r#"{"id":"A8","traits":{"sourc":"i","sources":"j","consent":true}}"#,
        r#"{"id":"A9","traits":{"source":"k","consent":true,"company":{"employees":9,"region":"y","hq":{"city":"f"}}}}"#,
    ];
    for _ in 0..2 {
        for l in lines {
            assert!(agree(p, l), "the fast path declined:\n{l}");
        }
    }
}

#[test]
fn unusual_and_bad_lines_are_left_to_serde() {
    let p = plan();
    let lines = [
        "",
        "   ",
        "[]",
        "null",
        r#"{"id":"L1""#,
        r#"{"id":"L1",}"#,
        r#"{"id":"L1"} x"#,
        r#"{"id":"L1"}{"id":"L2"}"#,
        r#"{"id":""}"#,
        r#"{"id":1.5}"#,
        r#"{"id":-1}"#,
        r#"{"id":true}"#,
        r#"{"traits":{}}"#,
        r#"{"id":"L1","id":"L2"}"#,
        r#"{"id":"\u0041"}"#,
        r#"{"id":"a\qb"}"#,
        "{\"id\":\"a\tb\"}",
        r#"{"id":"L1","traits":[]}"#,
        r#"{"id":"L1","traits":{"company.employees":5}}"#,
        r#"{"id":"L1","traits":{"":5}}"#,
        r#"{"id":"L1","traits":{"consent":"yes"}}"#,
        r#"{"id":"L1","traits":{"source":{"a":1}}}"#,
        r#"{"id":"L1","traits":{"company":{"employees":1.5}}}"#,
        r#"{"id":"L1","traits":{"company":{"employees":12345678901234567890}}}"#,
        r#"{"id":"L1","traits":{"company":{"employees":-0}}}"#,
        r#"{"id":"L1","traits":{"company":{"employees":01}}}"#,
        r#"{"id":"L1","events":{}}"#,
        r#"{"id":"L1","events":[1]}"#,
        r#"{"id":"L1","events":[{}]}"#,
        r#"{"id":"L1","events":[{"type":"ping"}]}"#,
        r#"{"id":"L1","events":[{"at":"2025-01-01"}]}"#,
        r#"{"id":"L1","events":[{"type":"ping","at":5}]}"#,
        r#"{"id":"L1","events":[{"type":"ping","at":"2025-13-01"}]}"#,
        r#"{"id":"L1","events":[{"type":5,"at":"2025-01-01"}]}"#,
        r#"{"id":"L1","events":[{"type":"ping","type":"ping","at":"2025-01-01"}]}"#,
        r#"{"id":"L1","events":[{"type":"email.opened","at":"2025-01-01","step":"one"}]}"#,
        r#"{"id":"L1","events":[{"type":"email.opened","at":"2025-01-01","step":1.}]}"#,
        r#"{"id":"L1","events":[{"type":"email.opened","at":"2025-01-01","step":1e}]}"#,
        r#"{"id":"L1","events":[{"type":"email.opened","at":"2025-01-01","step":+1}]}"#,
        r#"{"id":"L1","events":[{"type":"email.opened","at":"2025-01-01","step":1e999}]}"#,
        r#"{"id":"L1","events":[{"type":"page.viewed","at":"2025-01-01","tags":"a"}]}"#,
        r#"{"id":"L1","events":[{"type":"ping","at":"2025-01-01"},]}"#,
        r#"{"id":"L1","x":tru}"#,
        r#"{"id":"L1","x":nul}"#,
        r#"{"id":"L1","x":[1 2]}"#,
        r#"{"id":"L1","x":{"a" 1}}"#,
        "\u{feff}{\"id\":\"L1\"}",
    ];
    for l in lines {
        agree(p, l);
    }
    // Deeper than the fast path goes: serde (and its own limit of 128) decides.
    let deep = format!(
        r#"{{"id":"L1","x":{}1{}}}"#,
        "[".repeat(120),
        "]".repeat(120)
    );
    assert!(!agree(p, &deep));
    let deeper = format!(
        r#"{{"id":"L1","x":{}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(!agree(p, &deeper));
}

#[test]
fn keys_given_twice_and_scalars_for_objects_are_errors_in_both_readers() {
    let p = plan();
    let cases = [
        (r#"{"id":"L1","events":[],"events":[{"type":"ping","at":"2025-01-01"}]}"#, "f:1: lead `L1`, field `events`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","traits":{},"traits":{}}"#, "f:1: lead `L1`, field `traits`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","id":"L2"}"#, "f:1, field `id`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","traits":{"source":"a","source":"b"}}"#, "f:1: lead `L1`, field `traits.source`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","traits":{"company":{"employees":1},"company":{"region":"x"}}}"#, "f:1: lead `L1`, field `traits.company`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","traits":{"company":{"hq":{"city":"a","city":"b"}}}}"#, "f:1: lead `L1`, field `traits.company.hq.city`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","traits":{"company.employees":1,"company":{"employees":2}}}"#, "f:1: lead `L1`, field `traits.company.employees`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","events":[{"type":"ping","at":"2025-01-01","at":"2099-01-01"}]}"#, "f:1: lead `L1`, field `events[0].at`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","events":[{"type":"email.opened","type":"ping","at":"2025-01-01"}]}"#, "f:1: lead `L1`, field `events[0].type`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","events":[{"type":"email.opened","at":"2025-01-01","step":1,"step":2}]}"#, "f:1: lead `L1`, field `events[0].step`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","events":[{"step":1,"at":"2025-01-01","step":2,"type":"email.opened"}]}"#, "f:1: lead `L1`, field `events[0].step`: given twice in the same object; the second value would silently replace the first"),
        (r#"{"id":"L1","traits":{"company":5}}"#, "f:1: lead `L1`, field `traits.company`: expected an object (the schema declares `company.*` traits), found 5"),
        (r#"{"id":"L1","traits":{"company":null}}"#, "f:1: lead `L1`, field `traits.company`: expected an object (the schema declares `company.*` traits), found null"),
        (r#"{"id":"L1","traits":{"company":[{"employees":5}]}}"#, "f:1: lead `L1`, field `traits.company`: expected an object (the schema declares `company.*` traits), found a list"),
        (r#"{"id":"L1","traits":{"company":{"hq":"Tel Aviv"}}}"#, "f:1: lead `L1`, field `traits.company.hq`: expected an object (the schema declares `company.hq.*` traits), found \"Tel Aviv\""),
        (r#"{"id":"L1","traits":{"arr":"$1e309"}}"#, "f:1: lead `L1`, field `traits.arr`: expected an amount of money, found \"$1e309\""),
        (r#"{"id":"L1","traits":{"share":"4.5.6%"}}"#, "f:1: lead `L1`, field `traits.share`: expected a percentage, found \"4.5.6%\""),
        (r#"{"id":"L1","events":[{"type":"deal.won","at":"2025-01-01","amount":"$4,50,0"}]}"#, "f:1: lead `L1`, field `events[0].amount`: expected an amount of money, found \"$4,50,0\""),
        (r#"{"id":"L1","events":[{"type":"deal.won","at":"2025-01-01","share":"NaN%"}]}"#, "f:1: lead `L1`, field `events[0].share`: expected a percentage, found \"NaN%\""),
    ];
    for (line, want) in cases {
        assert!(
            fastjson::parse_line(p, line).is_none(),
            "the fast path read {line}"
        );
        let e = jsonl::parse_line_serde(p, line, "f:1".into()).unwrap_err();
        assert_eq!(e.to_string(), want, "{line}");
    }
    // A key the schema does not read may repeat, at any level: it is not read at all.
    let line = r#"{"id":"L1","x":1,"x":2,"traits":{"y":1,"y":2,"company":{"z":1,"z":2}},"events":[{"type":"ping","at":"2025-01-01","w":1,"w":2}]}"#;
    assert!(agree(p, line), "{line}");
}

#[test]
fn every_shipped_line_takes_the_fast_path() {
    let root = env!("CARGO_MANIFEST_DIR");
    let b2b = std::fs::read_to_string(format!("{root}/rules/b2b-saas.funnel")).unwrap();
    let p = funnelc::compile(&b2b, "b2b").plan().unwrap();
    for file in ["examples/leads.jsonl", "tests/fixtures/input/leads.jsonl"] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        for (i, line) in text.lines().enumerate() {
            assert!(agree(&p, line), "{file}:{}: the fast path declined", i + 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generated lines

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{0,6}",
        1 => "[ -~]{0,8}",
        1 => "[\\\\\"/\t\né✓𝄞\u{7f}a]{0,4}",
    ]
}

/// A JSON string literal, sometimes with `\u` escapes (which the fast path leaves to serde).
fn string_lit() -> impl Strategy<Value = String> {
    (text(), any::<bool>()).prop_map(|(s, unicode)| {
        if unicode {
            let escaped: String = s
                .chars()
                .map(|c| format!("\\u{:04x}", c as u32 & 0xffff))
                .collect();
            format!("\"{escaped}\"")
        } else {
            serde_json::to_string(&s).unwrap()
        }
    })
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        string_lit(),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
        any::<i32>().prop_map(|i| i.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<u64>().prop_map(|i| i.to_string()),
        (-1000.0f64..1000.0).prop_map(|f| f.to_string()),
        Just("1e3".to_string()),
        Just("-0".to_string()),
        Just("-0.0".to_string()),
        Just("\"40%\"".to_string()),
        Just("\"$4,500\"".to_string()),
        Just("\"7d\"".to_string()),
        Just("\"2025-01-31\"".to_string()),
        Just("\"2025-01-31T10:00:00Z\"".to_string()),
        Just("\"2025-02-30\"".to_string()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("source"),
        Just("consent"),
        Just("rating"),
        Just("share"),
        Just("arr"),
        Just("notice"),
        Just("started"),
        Just("seen"),
        Just("tags"),
        Just("sizes"),
        Just("company"),
        Just("employees"),
        Just("region"),
        Just("hq"),
        Just("city"),
        Just("form"),
        Just("step"),
        Just("page"),
        Just("ratio"),
        Just("amount"),
        Just("took"),
        Just("closed_on"),
        Just("closed_at"),
        Just("other"),
        Just("company.employees"),
        Just(""),
    ]
    .prop_map(String::from)
}

fn traits() -> impl Strategy<Value = String> {
    let company = prop::collection::vec(
        (
            prop_oneof![Just("employees"), Just("region"), Just("hq"), Just("x")],
            prop_oneof![3 => scalar(), 1 => value(), 1 => Just("{\"city\":\"TLV\"}".to_string())],
        ),
        0..4,
    )
    .prop_map(|kv| {
        let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", body.join(","))
    });
    prop::collection::vec(
        prop_oneof![
            3 => (key(), scalar()),
            1 => (Just("company".to_string()), company),
            1 => (key(), value()),
        ],
        0..6,
    )
    .prop_map(|kv| {
        let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", body.join(","))
    })
}

fn event() -> impl Strategy<Value = String> {
    let ty = prop_oneof![
        Just("\"form.submitted\""),
        Just("\"email.opened\""),
        Just("\"page.viewed\""),
        Just("\"deal.won\""),
        Just("\"ping\""),
        Just("\"unknown.thing\""),
        Just("5"),
    ];
    let at = prop_oneof![
        6 => (0i64..2_000_000_000).prop_map(|s| {
            let t = funnelc::time::Timestamp { millis: s * 1000 };
            format!("\"{}\"", funnelc::time::format_timestamp(t))
        }),
        1 => Just("\"2025-01-31\"".to_string()),
        1 => Just("\"2025-01-31T10:00:00.5+02:00\"".to_string()),
        1 => scalar(),
    ];
    let props = prop::collection::vec((key(), prop_oneof![3 => scalar(), 1 => value()]), 0..4);
    (ty, at, props, any::<bool>(), 0usize..4).prop_map(|(ty, at, props, has_at, type_at)| {
        let mut fields: Vec<String> = props.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        if has_at {
            fields.insert(fields.len().min(1), format!("\"at\":{at}"));
        }
        fields.insert(type_at.min(fields.len()), format!("\"type\":{ty}"));
        format!("{{{}}}", fields.join(","))
    })
}

fn line() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        4 => "[A-Za-z0-9]{1,6}".prop_map(|s| format!("\"{s}\"")),
        1 => any::<u32>().prop_map(|n| n.to_string()),
        1 => scalar(),
    ];
    (
        id,
        prop::option::of(traits()),
        prop::option::of(prop::collection::vec(event(), 0..6)),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(id, traits, events, order, spaced)| {
            let mut fields = vec![format!("\"id\":{id}")];
            if let Some(t) = traits {
                fields.push(format!("\"traits\":{t}"));
            }
            if let Some(e) = events {
                fields.push(format!("\"events\":[{}]", e.join(",")));
            }
            let k = order.min(fields.len().saturating_sub(1));
            fields.rotate_left(k);
            let sep = if spaced { " , " } else { "," };
            format!("{{{}}}", fields.join(sep))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn generated_lines_agree(l in line()) {
        agree(plan(), &l);
    }

    #[test]
    fn mutated_lines_agree(l in line(), at in any::<prop::sample::Index>(), what in 0u8..4, with in "[ -~]") {
        let mut chars: Vec<char> = l.chars().collect();
        let i = at.index(chars.len().max(1)).min(chars.len());
        match what {
            0 if i < chars.len() => { chars.remove(i); }
            1 => { for c in with.chars().rev() { chars.insert(i, c); } }
            2 if i < chars.len() => { chars.truncate(i); }
            _ if i < chars.len() => { chars[i] = with.chars().next().unwrap_or(' '); }
            _ => {}
        }
        let l: String = chars.into_iter().collect();
        agree(plan(), &l);
    }
}

/// The generator must exercise the fast path, not only the fallback.
#[test]
fn generated_lines_mostly_take_the_fast_path() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = line();
    let (mut fast, mut all) = (0, 0);
    for _ in 0..2000 {
        let l = strategy.new_tree(&mut runner).unwrap().current();
        all += 1;
        if agree(plan(), &l) {
            fast += 1;
        }
    }
    assert!(
        fast * 5 >= all,
        "only {fast} of {all} generated lines took the fast path"
    );
    eprintln!("{fast} of {all} generated lines took the fast path");
}

/// The light pre-pass that finds the default `--as-of` agrees with serde wherever it answers;
/// given a floor, it may pass over instants at or before it, and only those.
fn latest_agrees(line: &str) -> bool {
    let serde = jsonl::latest_at_serde(line);
    let answered = match fastjson::latest_at(line, None) {
        None => false,
        Some(fast) => {
            assert_eq!(fast, serde, "latest instant of:\n{line}");
            true
        }
    };
    // Floors just below, at and after the line's latest instant, one with a fraction of a
    // second, and one before every instant of the generators.
    let mut floors = vec![0, 1_735_689_600_500];
    if let Some(t) = serde {
        floors.extend([t - 1000, t - 1, t, t + 1, t + 86_400_000]);
    }
    for floor in floors {
        // The scan that passes over a line says so only when its every instant is before
        // the floor, whatever else the line holds.
        if let Some(text) = fastjson::floor_text(floor) {
            if fastjson::below_floor(line.as_bytes(), &text) {
                assert!(
                    serde.is_none_or(|t| t < floor),
                    "passed over a line with an instant at or after {floor}:\n{line}"
                );
            }
        }
        if let Some(fast) = fastjson::latest_at(line, Some(floor)) {
            assert_eq!(
                fast.max(Some(floor)),
                serde.max(Some(floor)),
                "latest instant after {floor} of:\n{line}"
            );
            // A line whose latest is at or after the floor says it exactly: the line that
            // holds the input's latest instant is always found.
            if serde.is_some_and(|t| t >= floor) {
                assert_eq!(
                    fast, serde,
                    "latest instant at or after {floor} of:\n{line}"
                );
            }
        }
    }
    answered
}

#[test]
fn the_scan_passes_over_only_lines_before_the_floor() {
    // No floor text beyond four-digit years (the pass starts from the least instant).
    assert_eq!(fastjson::floor_text(i64::MIN), None);
    assert_eq!(fastjson::floor_text(i64::MAX), None);
    assert_eq!(
        fastjson::floor_text(-62_167_219_200_000).map(|t| t.to_vec()),
        Some(b"0000-01-01T00:00:00Z".to_vec())
    );
    let floor = funnelc::time::parse_timestamp("2025-06-01T00:00:00Z")
        .unwrap()
        .millis;
    let text = fastjson::floor_text(floor).unwrap();
    let below = |l: &str| fastjson::below_floor(l.as_bytes(), &text);
    assert!(below(
        r#"{"id":"L1","events":[{"type":"a","at":"2025-01-03T10:00:00Z"},{"type":"b","at":"2025-05-31T23:59:59Z"}]}"#
    ));
    assert!(below(r#"{"id":"L1","events":[]}"#));
    assert!(below(r#"{"id":"L1"}"#));
    for l in [
        // At or after the floor, however it is found.
        r#"{"id":"L1","events":[{"type":"a","at":"2025-06-01T00:00:00Z"}]}"#,
        r#"{"id":"L1","events":[{"type":"a","at":"2025-01-03T10:00:00Z"},{"type":"a","at":"2026-01-01T00:00:00Z"}]}"#,
        // Forms the scan does not read: the line must be parsed.
        r#"{"id":"L1","events":[{"type":"a","at":"2025-07-01"}]}"#,
        r#"{"id":"L1","events":[{"type":"a","at":"2025-07-01T00:00:00.5Z"}]}"#,
        r#"{"id":"L1","events":[{"type":"a","at": "2025-07-01T00:00:00Z"}]}"#,
        r#"{"id":"L1","events":[{"type":"a","at" :"2025-07-01T00:00:00Z"}]}"#,
        r#"{"id":"L1","events":[{"type":"a","\u0061t":"2025-07-01T00:00:00Z"}]}"#,
        r#"{"id":"L1","events":[{"type":"a","at":"2025-01-01T00:00:00Z","note":"say \"hi\""}]}"#,
        // A key `at` elsewhere: not an instant of an event, but only a parse can tell.
        r#"{"id":"L1","traits":{"at":"2030-01-01T00:00:00Z"},"events":[]}"#,
        r#"{"id":"L1","events":[{"type":"a","at":"2025-01-01T00:00:00Z","page":"at"}]}"#,
    ] {
        assert!(!below(l), "{l}");
    }
}

#[test]
fn latest_instants_agree() {
    for l in [
        r#"{"id":"L1","events":[{"type":"a","at":"2025-01-03T10:00:00Z"},{"at":"2025-02-01","x":[1,{"y":2}]}]}"#,
        r#"{"events":null}"#,
        r#"{"events":[]}"#,
        r#"{"events":[{"at":"not a time"},{"type":"x"}]}"#,
        r#"{"id":"L1"}"#,
        // The compact shape, and ways of leaving it half-way through an event.
        r#"{"events":[{"type":"a","at":"2025-01-03T10:00:00Z","p":{"q":[1,"]}"]},"r":null}]}"#,
        r#"{"events":[{"type":"a","at":"2025-02-30T10:00:00Z"},{"type":"b","at":"2025-01-01T00:00:00Z"}]}"#,
        r#"{"events":[{"type":"a\"b","at":"2025-03-03T10:00:00Z"}]}"#,
        r#"{"events":[{"type":"a","at":"2025-03-03T10:00:00.5Z","p":1}]}"#,
        r#"{"events":[{"type":"a","at":"2025-03-03T10:00:00Z" ,"p":1}]}"#,
        r#"{"events":[{"type":"a","at":"2025-03-03T10:00:00Z","type":"b"}]}"#,
    ] {
        assert!(latest_agrees(l), "declined: {l}");
    }
    for l in [
        r#"{"events":[{"at":5}]}"#,
        r#"{"events":[{"at":null}]}"#,
        r#"{"events":[{"at":"2025-01-01","at":"2025-01-02"}]}"#,
        r#"{"events":[{"type":"a","at":"2025-01-01T00:00:00Z","at":"2025-01-02"}]}"#,
        r#"{"events":[{"type":"a","at":"2025-01-01T00:00:00Z","p":tru}]}"#,
        r#"{"events":[],"events":[]}"#,
        r#"{"events":[1]}"#,
        r#"{"events":{}}"#,
        r#"{"events":[{"at":"\u0032025-01-01"}]}"#,
        r#"{"events":[{"at":"2025-01-01"}"#,
        "[]",
    ] {
        latest_agrees(l);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_latest_instants_agree(l in line(), cut in any::<prop::sample::Index>()) {
        latest_agrees(&l);
        let chars: Vec<char> = l.chars().collect();
        let cut = cut.index(chars.len().max(1));
        let mutated: String = chars.iter().enumerate().filter(|(i, _)| *i != cut).map(|(_, c)| c).collect();
        latest_agrees(&mutated);
    }
}
