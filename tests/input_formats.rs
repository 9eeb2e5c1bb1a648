//! The input formats: lead-per-line JSONL, Segment streams and CSV must give the same leads
//! and the same outcomes for the same data, and say precisely what is wrong with bad data.

use std::collections::BTreeMap;
use std::path::Path;

use funnelc::eval::replay;
use funnelc::input::segment::SegmentRead;
use funnelc::input::{csv as csv_in, jsonl, segment, DataError, LeadResult};
use funnelc::lead::{Lead, Value};
use funnelc::output;
use funnelc::plan::Plan;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/input")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn plan_of(src: &str, name: &str) -> Plan {
    let compiled = funnelc::compile(src, name);
    assert!(!compiled.has_errors(), "{name} does not check");
    compiled.plan().expect("compiles")
}

fn b2b() -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/b2b-saas.funnel");
    let src = std::fs::read_to_string(path).unwrap();
    plan_of(&src, "b2b-saas.funnel")
}

fn as_of() -> i64 {
    funnelc::time::parse_timestamp("2025-03-01T00:00:00Z")
        .unwrap()
        .millis
}

fn rename() -> BTreeMap<String, String> {
    [
        ("company.employee_count", "company.employees"),
        ("Demo Requested", "demo.requested"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

fn read_jsonl(plan: &Plan, name: &str, text: &str) -> Vec<LeadResult> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| jsonl::parse_line(plan, l, format!("{name}:{}", i + 1)))
        .collect()
}

fn read_segment(plan: &Plan, text: &str) -> SegmentRead {
    segment::read(plan, text.as_bytes(), "segment.jsonl", &rename()).expect("readable")
}

fn read_csv(plan: &Plan, leads: &str, events: &str) -> Result<Vec<LeadResult>, DataError> {
    csv_in::read(
        plan,
        leads.as_bytes(),
        "leads.csv",
        events.as_bytes(),
        "events.csv",
    )
}

/// Everything a lead holds except where it came from (each format names its own lines).
#[derive(Debug, PartialEq)]
struct Shape {
    id: String,
    traits: Vec<(String, Value)>,
    /// (type, at, props) in replay order.
    events: Vec<(String, i64, Vec<Value>)>,
    unknown: BTreeMap<String, u64>,
}

fn shape(plan: &Plan, lead: &Lead, unknown: &BTreeMap<String, u64>) -> Shape {
    Shape {
        id: lead.id.clone(),
        traits: plan
            .traits
            .iter()
            .map(|(p, _)| p.clone())
            .zip(lead.traits.iter().cloned())
            .collect(),
        events: lead
            .events
            .iter()
            .map(|e| {
                let decl = &plan.events[e.ty as usize];
                let props = (0..decl.props.len())
                    .map(|i| lead.prop(e, i).clone())
                    .collect();
                (decl.name.clone(), e.at, props)
            })
            .collect(),
        unknown: unknown.clone(),
    }
}

fn shapes(plan: &Plan, leads: &[LeadResult]) -> Vec<Shape> {
    leads
        .iter()
        .map(|r| match r {
            Ok((lead, unknown)) => shape(plan, lead, unknown),
            Err(e) => panic!("{e}"),
        })
        .collect()
}

fn fixtures_in_all_formats(plan: &Plan) -> [(&'static str, Vec<LeadResult>); 3] {
    [
        (
            "leads.jsonl",
            read_jsonl(plan, "leads.jsonl", &fixture("leads.jsonl")),
        ),
        (
            "segment.jsonl",
            read_segment(plan, &fixture("segment.jsonl")).leads,
        ),
        (
            "leads.csv + events.csv",
            read_csv(plan, &fixture("leads.csv"), &fixture("events.csv")).unwrap(),
        ),
    ]
}

#[test]
fn the_three_formats_read_the_same_leads() {
    let plan = b2b();
    let [(_, jsonl), rest @ ..] = fixtures_in_all_formats(&plan);
    let expected = shapes(&plan, &jsonl);
    let ids: Vec<&str> = expected.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["L1", "L2", "L3", "L4", "anon-5", "L6"]);
    for (format, leads) in rest {
        let got = shapes(&plan, &leads);
        for (e, g) in expected.iter().zip(&got) {
            assert_eq!(e, g, "{format} reads lead `{}` differently", e.id);
        }
        assert_eq!(expected.len(), got.len(), "{format}");
    }
}

/// The fixture is not vacuous: it holds the cases the formats must agree on.
#[test]
fn the_fixture_covers_what_it_claims() {
    let plan = b2b();
    let leads = read_jsonl(&plan, "leads.jsonl", &fixture("leads.jsonl"));
    let s = shapes(&plan, &leads);
    let tr = |i: usize, p: &str| s[i].traits.iter().find(|(k, _)| k == p).unwrap().1.clone();
    // Nested traits and lists.
    assert_eq!(tr(0, "company.employees"), Value::Num(220.0));
    assert_eq!(
        tr(0, "company.branches"),
        Value::List(vec![Value::Text("NY".into()), Value::Text("NJ".into())])
    );
    // Missing values: explicit null, absent, and a lead with no traits at all.
    assert_eq!(tr(1, "company.employees"), Value::Missing);
    assert_eq!(tr(2, "email"), Value::Missing);
    assert!(s[4].traits.iter().all(|(_, v)| v.is_missing()));
    // Unknown event type, counted.
    assert_eq!(
        s[1].unknown,
        BTreeMap::from([("webinar.attended".to_string(), 1)])
    );
    // Events out of order in the input come out sorted; ties keep input order.
    let l1: Vec<(&str, i64)> = s[0]
        .events
        .iter()
        .map(|(t, at, _)| (t.as_str(), *at))
        .collect();
    assert!(l1.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!((l1[0].0, l1[1].0), ("form.submitted", "email.sent"));
    assert_eq!(l1[0].1, l1[1].1);
    let l4: Vec<&str> = s[3].events.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(l4[1..3], ["email.opened", "email.unsubscribed"]);
    // A lead with no events.
    assert!(s[5].events.is_empty());
}

#[test]
fn the_three_formats_replay_the_same() {
    let plan = b2b();
    let outcomes: Vec<(&str, Vec<serde_json::Value>)> = fixtures_in_all_formats(&plan)
        .into_iter()
        .map(|(format, leads)| {
            let out = leads
                .iter()
                .map(|r| {
                    let (lead, _) = r.as_ref().unwrap();
                    output::json(&plan, lead, &replay(&plan, lead, as_of()))
                })
                .collect();
            (format, out)
        })
        .collect();
    let (_, expected) = &outcomes[0];
    for (format, got) in &outcomes[1..] {
        assert_eq!(expected, got, "{format} replays differently");
    }
    // Where each lead ends: every branch of the funnel is exercised.
    let positions: Vec<String> = expected
        .iter()
        .map(|o| match (&o["stage"], &o["exit"]) {
            (_, serde_json::Value::Object(x)) => format!("exit {} from {}", x["name"], x["from"]),
            (serde_json::Value::String(s), _) => s.clone(),
            _ => "outside".to_string(),
        })
        .collect();
    assert_eq!(
        positions,
        [
            "SQO",
            "outside",
            "MEL",
            "exit \"disqualified\" from \"MCL\"",
            "outside",
            "outside"
        ]
    );
}

#[test]
fn segment_counts_the_calls_it_does_not_read() {
    let plan = b2b();
    let read = read_segment(&plan, &fixture("segment.jsonl"));
    let ignored: Vec<(&str, u64)> = read
        .ignored_calls
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(ignored, [("group", 1), ("page", 2), ("screen", 1)]);
}

// ---------------------------------------------------------------------------------------------
// Bad data: each error names the file and line, the lead, the field, and what is wrong.

fn errors(leads: &[LeadResult]) -> Vec<String> {
    leads
        .iter()
        .map(|r| match r {
            Ok((lead, _)) => format!("ok {}", lead.id),
            Err(e) => e.to_string(),
        })
        .collect()
}

#[test]
fn jsonl_bad_data() {
    let plan = b2b();
    let text = [
        r#"{"id": "L1", "traits": {"company": {"employees": "many"}}}"#,
        r#"{"id": "L2", "traits": {"role": "cfo"}"#,
        r#"{"traits": {"role": "cfo"}}"#,
        r#"{"id": "L4", "events": [{"type": "form.submitted", "at": "2025-13-01"}]}"#,
        r#"{"id": "L5"}"#,
    ]
    .join("\n");
    assert_eq!(
        errors(&read_jsonl(&plan, "leads.jsonl", &text)),
        [
            "leads.jsonl:1: lead `L1`, field `traits.company.employees`: expected a whole number, found \"many\"",
            "leads.jsonl:2: the line ends in the middle of a JSON value",
            "leads.jsonl:3, field `id`: the lead has no `id`",
            "leads.jsonl:4: lead `L4`, field `events[0].at`: \"2025-13-01\" has no month 13",
            "ok L5",
        ]
    );
}

#[test]
fn segment_bad_data() {
    let plan = b2b();
    let text = [
        r#"{"type": "identify", "userId": "L1", "timestamp": "2025-01-01T00:00:00Z", "traits": {"role": "cfo"}}"#,
        r#"{"type": "track", "userId": "L2", "event": "email.opened", "timestamp": "2025-01-02T00:00:00Z""#,
        r#"{"type": "track", "event": "email.opened", "timestamp": "2025-01-02T00:00:00Z"}"#,
        r#"{"type": "identify", "userId": "L3", "timestamp": "2025-01-01T00:00:00Z", "traits": {"company": {"employees": "many"}}}"#,
        r#"{"type": "identify", "userId": "L4", "timestamp": "2025-01-01T00:00:00Z", "traits": {"company": {"employee_count": "many"}}}"#,
        r#"{"type": "track", "userId": "L5", "event": "email.opened", "timestamp": "yesterday"}"#,
        r#"{"type": "track", "userId": "L6", "event": "email.opened"}"#,
        r#"{"type": "track", "userId": "L7", "timestamp": "2025-01-02T00:00:00Z"}"#,
        r#"{"type": "track", "userId": "L8", "event": "email.opened", "timestamp": "2025-01-02T00:00:00Z", "properties": {"step": "first"}}"#,
        r#"{"type": "track", "userId": "L1", "event": "email.opened", "timestamp": "2025-01-02T00:00:00Z", "properties": {"step": 1}}"#,
        r#"{"userId": "L9", "event": "email.opened", "timestamp": "2025-01-02T00:00:00Z"}"#,
        r#"{"type": "track", "userId": true, "event": "email.opened", "timestamp": "2025-01-02T00:00:00Z"}"#,
        r#"["track"]"#,
    ]
    .join("\n");
    let read = read_segment(&plan, &text);
    assert_eq!(
        errors(&read.leads),
        [
            "ok L1",
            "segment.jsonl:2: not a JSON call: EOF while parsing an object (column 94)",
            "segment.jsonl:3, field `userId`: the call has neither a `userId` nor an `anonymousId`",
            "segment.jsonl:4: lead `L3`, field `traits.company.employees`: expected a whole number, found \"many\"",
            "segment.jsonl:5: lead `L4`, field `traits.company.employee_count`: expected a whole number, found \"many\" (read as `company.employees`)",
            "segment.jsonl:6: lead `L5`, field `timestamp`: \"yesterday\" is not a timestamp (expected RFC 3339, e.g. 2025-01-03T10:00:00Z)",
            "segment.jsonl:7: lead `L6`, field `timestamp`: the call has no `timestamp`",
            "segment.jsonl:8: lead `L7`, field `event`: the track call has no `event`",
            "segment.jsonl:9: lead `L8`, field `properties.step`: expected a whole number, found \"first\"",
            "segment.jsonl:11: lead `L9`, field `type`: the call has no `type`",
            "segment.jsonl:12, field `userId`: `userId` must be text or a whole number",
            "segment.jsonl:13: a Segment call must be a JSON object",
        ]
    );
}

#[test]
fn segment_scalars_for_objects_and_loose_numbers_are_errors() {
    let plan = b2b();
    let text = [
        r#"{"type": "identify", "userId": "L1", "timestamp": "2025-01-01T00:00:00Z", "traits": {"company": 5}}"#,
        r#"{"type": "identify", "userId": "L2", "timestamp": "2025-01-01T00:00:00Z", "traits": {"company": null}}"#,
        r#"{"type": "identify", "userId": "L3", "timestamp": "2025-01-01T00:00:00Z", "traits": {"organization": "Acme"}}"#,
        r#"{"type": "track", "userId": "L4", "event": "opportunity.created", "timestamp": "2025-01-02T00:00:00Z", "properties": {"amount": "$1e309"}}"#,
        r#"{"type": "track", "userId": "L5", "event": "opportunity.created", "timestamp": "2025-01-02T00:00:00Z", "properties": {"amount": "1,2"}}"#,
    ]
    .join("\n");
    let mut rename = rename();
    rename.insert("organization".into(), "company".into());
    let read = segment::read(&plan, text.as_bytes(), "segment.jsonl", &rename).unwrap();
    assert_eq!(
        errors(&read.leads),
        [
            "segment.jsonl:1: lead `L1`, field `traits.company`: expected an object (the schema declares `company.*` traits), found 5",
            "segment.jsonl:2: lead `L2`, field `traits.company`: expected an object (the schema declares `company.*` traits), found null",
            "segment.jsonl:3: lead `L3`, field `traits.organization`: expected an object (the schema declares `company.*` traits), found \"Acme\" (read as `company`)",
            "segment.jsonl:4: lead `L4`, field `properties.amount`: expected an amount of money, found \"$1e309\"",
            "segment.jsonl:5: lead `L5`, field `properties.amount`: expected an amount of money, found \"1,2\"",
        ]
    );
}

#[test]
fn csv_money_and_percent_are_read_strictly() {
    let plan = plan_of(TYPES_FUNNEL, "types.funnel");
    let cases = [
        ("ratio", "NaN", "expected a percentage, found \"NaN\""),
        ("ratio", "inf%", "expected a percentage, found \"inf%\""),
        ("ratio", "1e3", "expected a percentage, found \"1e3\""),
        ("ratio", "4.5.6%", "expected a percentage, found \"4.5.6%\""),
        ("ratio", "\"1,2\"", "expected a percentage, found \"1,2\""),
        (
            "budget",
            "$1e309",
            "expected an amount of money, found \"$1e309\"",
        ),
        (
            "budget",
            "NaN",
            "expected an amount of money, found \"NaN\"",
        ),
        (
            "budget",
            "\"$4,50,0\"",
            "expected an amount of money, found \"$4,50,0\"",
        ),
        (
            "budget",
            "inf",
            "expected an amount of money, found \"inf\"",
        ),
    ];
    for (col, cell, want) in cases {
        let leads = format!("id,{col}\nL1,{cell}\n");
        let out = csv_in::read(
            &plan,
            leads.as_bytes(),
            "l.csv",
            "lead_id,type,at\n".as_bytes(),
            "e.csv",
        )
        .unwrap();
        assert_eq!(
            errors(&out),
            [format!("l.csv:2: lead `L1`, field `{col}`: {want}")],
            "{cell}"
        );
    }
    let leads = "id,ratio,budget\nL1,12.5,\"$1,234.50\"\n";
    let out = csv_in::read(
        &plan,
        leads.as_bytes(),
        "l.csv",
        "lead_id,type,at\n".as_bytes(),
        "e.csv",
    )
    .unwrap();
    assert_eq!(errors(&out), ["ok L1"]);
}

#[test]
fn segment_error_on_a_later_line_fails_the_lead_at_its_first_position() {
    let plan = b2b();
    let text = [
        r#"{"type": "identify", "userId": "L1", "timestamp": "2025-01-01T00:00:00Z", "traits": {"role": "cfo"}}"#,
        r#"{"type": "identify", "userId": "L2", "timestamp": "2025-01-01T00:00:00Z", "traits": {"role": "cfo"}}"#,
        r#"{"type": "track", "userId": "L1", "event": "email.opened", "timestamp": "2025-01-32T00:00:00Z"}"#,
        r#"{"type": "track", "userId": "L1", "event": "email.opened", "timestamp": "2025-01-02"}"#,
        r#"{"type": "track", "userId": "L1", "event": "email.opened", "timestamp": "soon"}"#,
    ]
    .join("\n");
    assert_eq!(
        errors(&read_segment(&plan, &text).leads),
        [
            "segment.jsonl:3: lead `L1`, field `timestamp`: \"2025-01-32T00:00:00Z\" is not a day of the calendar",
            "ok L2",
        ]
    );
}

#[test]
fn segment_identify_applies_in_timestamp_order_field_by_field() {
    let plan = b2b();
    let text = [
        // Latest by time: wins for role, though it comes first.
        r#"{"type": "identify", "userId": "L1", "timestamp": "2025-01-03T00:00:00Z", "traits": {"role": "cfo"}}"#,
        r#"{"type": "identify", "userId": "L1", "timestamp": "2025-01-01T00:00:00Z", "traits": {"role": "intern", "source": "email", "company": {"name": "Acme", "region": "europe"}}}"#,
        // Same instant as the next: input order breaks the tie.
        r#"{"type": "identify", "anonymousId": "L1", "timestamp": "2025-01-02T00:00:00Z", "traits": {"company": {"region": "us-west"}}}"#,
        r#"{"type": "identify", "userId": "L1", "timestamp": "2025-01-02T00:00:00Z", "traits": {"company": {"region": "us-east"}, "source": null}}"#,
    ]
    .join("\n");
    let read = read_segment(&plan, &text);
    let s = shapes(&plan, &read.leads);
    let tr = |p: &str| s[0].traits.iter().find(|(k, _)| k == p).unwrap().1.clone();
    assert_eq!(tr("role"), Value::Text("cfo".into()));
    assert_eq!(tr("company.name"), Value::Text("Acme".into()));
    assert_eq!(tr("company.region"), Value::Text("us-east".into()));
    // An explicit null clears a field set earlier.
    assert_eq!(tr("source"), Value::Missing);
}

#[test]
fn segment_rename_reaches_below_a_renamed_object() {
    let plan = b2b();
    let text = r#"{"type": "identify", "userId": "L1", "timestamp": "2025-01-01T00:00:00Z", "traits": {"organization": {"employees": 12, "name": "Acme"}}}"#;
    let rename = BTreeMap::from([("organization".to_string(), "company".to_string())]);
    let read = segment::read(&plan, text.as_bytes(), "s.jsonl", &rename).unwrap();
    let s = shapes(&plan, &read.leads);
    let tr = |p: &str| s[0].traits.iter().find(|(k, _)| k == p).unwrap().1.clone();
    assert_eq!(tr("company.employees"), Value::Num(12.0));
    assert_eq!(tr("company.name"), Value::Text("Acme".into()));
}

#[test]
fn segment_line_that_is_not_utf8_is_reported_and_reading_goes_on() {
    let plan = b2b();
    let mut bytes =
        b"{\"type\": \"identify\", \"userId\": \"L\xff\", \"timestamp\": \"2025-01-01\"}\n"
            .to_vec();
    bytes.extend_from_slice(br#"{"type": "identify", "userId": "L2", "timestamp": "2025-01-01"}"#);
    let read = segment::read(&plan, &bytes[..], "s.jsonl", &BTreeMap::new()).unwrap();
    assert_eq!(
        errors(&read.leads),
        ["s.jsonl:1: the line is not UTF-8 text", "ok L2"]
    );
}

#[test]
fn segment_duration_text_ending_in_a_multibyte_character_is_an_error() {
    let plan = plan_of(TYPES_FUNNEL, "types.funnel");
    let text = [
        r#"{"type": "identify", "userId": "a", "timestamp": "2025-01-01", "traits": {"waits": ["2d", "3é"]}}"#,
        r#"{"type": "track", "userId": "b", "event": "e", "timestamp": "2025-01-01", "properties": {"wait": "é"}}"#,
        r#"{"type": "identify", "userId": "c", "timestamp": "2025-01-01", "traits": {"wait": "2d"}}"#,
    ]
    .join("\n");
    let read = segment::read(&plan, text.as_bytes(), "s.jsonl", &BTreeMap::new()).unwrap();
    assert_eq!(
        errors(&read.leads),
        [
            "s.jsonl:1: lead `a`, field `traits.waits`: expected a duration, found \"3é\"",
            "s.jsonl:2: lead `b`, field `properties.wait`: expected a duration, found \"é\"",
            "ok c",
        ]
    );
}

const LEADS_HEADER: &str = "id,role,consent,company.employees,company.branches,company.region\n";
const EVENTS_HEADER: &str = "lead_id,type,at,step,amount\n";

#[test]
fn csv_bad_leads() {
    let plan = b2b();
    let leads = format!(
        "{LEADS_HEADER}L1,cfo,yes,many,NY,us-east\nL2,cfo,maybe,10,,\n,cfo,yes,10,,\nL4,cfo,,12.5,,\nL2,cfo,yes,10,,\nL6,cfo,no,\"1,200\",NY;NJ,\n"
    );
    let out = read_csv(&plan, &leads, EVENTS_HEADER).unwrap();
    assert_eq!(
        errors(&out),
        [
            "leads.csv:2: lead `L1`, field `company.employees`: expected a whole number, found \"many\"",
            "leads.csv:3: lead `L2`, field `consent`: expected a yes/no value, found \"maybe\"",
            "leads.csv:4, field `id`: the lead has no `id`",
            "leads.csv:5: lead `L4`, field `company.employees`: expected a whole number, found 12.5",
            "leads.csv:6: lead `L2`, field `id`: the id is already used by the lead at leads.csv:3",
            "leads.csv:7: lead `L6`, field `company.employees`: expected a whole number, found \"1,200\"",
        ]
    );
}

#[test]
fn csv_bad_events() {
    let plan = b2b();
    let leads = format!("{LEADS_HEADER}L1,cfo,yes,10,,\nL2,cfo,yes,10,,\nL3,cfo,yes,10,,\nL4,cfo,yes,10,,\nL5,cfo,yes,10,,\n");
    let events = format!(
        "{EVENTS_HEADER}L1,email.opened,2025-02-30T10:00:00Z,1,\nL2,email.opened,2025-01-01,two,\nL3,opportunity.created,2025-01-01,,lots\nL4,,2025-01-01,,\nL5,email.opened,,1,\nL1,email.opened,2025-01-01,1,\n"
    );
    let out = read_csv(&plan, &leads, &events).unwrap();
    assert_eq!(
        errors(&out),
        [
            "events.csv:2: lead `L1`, field `at`: \"2025-02-30T10:00:00Z\" is not a day of the calendar",
            "events.csv:3: lead `L2`, field `step`: expected a whole number, found \"two\"",
            "events.csv:4: lead `L3`, field `amount`: expected an amount of money, found \"lots\"",
            "events.csv:5: lead `L4`, field `type`: the event has no `type`",
            "events.csv:6: lead `L5`, field `at`: the event has no `at`",
        ]
    );
}

/// An event row that belongs to no lead, or cannot be read, is an error of its own after the
/// leads, and the others are read: under --skip-bad it is skipped, as a bad JSONL line is.
#[test]
fn csv_events_of_no_lead_are_errors_of_their_own() {
    let plan = b2b();
    let leads = format!("{LEADS_HEADER}L1,cfo,yes,10,,\nL2,cfo,yes,10,,\n");
    let events = format!(
        "{EVENTS_HEADER}L1,email.opened,2025-01-01,1,\n\"L1 \",email.opened,2025-01-02,1,\n\
         L9,email.opened,2025-01-03,1,\n,email.opened,2025-01-03,1,\n\
         L2,email.opened,2025-01-03\nL2,email.opened,2025-01-04,1,\n"
    );
    let out = read_csv(&plan, &leads, &events).unwrap();
    assert_eq!(
        errors(&out),
        [
            "ok L1",
            "events.csv:6: lead `L2`: the record has 3 cells where the header has 5",
            "events.csv:4: lead `L9`, field `lead_id`: no lead `L9` in leads.csv",
            "events.csv:5, field `lead_id`: the event has no `lead_id`",
        ]
    );
    let Ok((l1, _)) = &out[0] else { unreachable!() };
    assert_eq!(l1.events.len(), 2, "L1 keeps both its events");
}

/// A ragged row of the leads file fails that lead alone, named by its id; its events go
/// with it.
#[test]
fn csv_ragged_lead_rows_fail_their_lead() {
    let plan = b2b();
    let leads = format!("{LEADS_HEADER}L1,cfo,yes,10,,,extra\nL2,cfo,yes,10,,\nL3,cfo\n");
    let events =
        format!("{EVENTS_HEADER}L1,email.opened,2025-01-01,1,\nL2,email.opened,2025-01-01,1,\n");
    let out = read_csv(&plan, &leads, &events).unwrap();
    assert_eq!(
        errors(&out),
        [
            "leads.csv:2: lead `L1`: the record has 7 cells where the header has 6",
            "ok L2",
            "leads.csv:4: lead `L3`: the record has 2 cells where the header has 6",
        ]
    );
}

#[test]
fn csv_missing_and_malformed_columns() {
    let plan = b2b();
    let ok_leads = format!("{LEADS_HEADER}L1,cfo,yes,10,,\n");
    let cases = [
        ("lead,role\nL1,cfo\n", EVENTS_HEADER, "leads.csv:1, field `id`: the header has no `id` column (it has: lead, role)"),
        ("", EVENTS_HEADER, "leads.csv:1, field `id`: the header has no `id` column (it is empty)"),
        ("id,role,role\n", EVENTS_HEADER, "leads.csv:1, field `role`: the header names column `role` twice"),
        (&ok_leads, "lead_id,type,when\n", "events.csv:1, field `at`: the header has no `at` column (it has: lead_id, type, when)"),
        (&ok_leads, "id,type,at\n", "events.csv:1, field `lead_id`: the header has no `lead_id` column (it has: id, type, at)"),
    ];
    for (leads, events, expected) in cases {
        let e = read_csv(&plan, leads, events).unwrap_err();
        assert_eq!(e.to_string(), expected);
    }
}

const TYPES_FUNNEL: &str = r#"
funnel "types"
schema {
  trait ratio: percent
  trait budget: money
  trait ok: bool
  trait seats: int
  trait share: decimal
  trait signed: date
  trait wait: duration
  trait tags: list<int>
  trait waits: list<duration>
  event e { wait: duration }
}
stage A { enter when e }
"#;

#[test]
fn csv_cells_read_by_declared_type() {
    let plan = plan_of(TYPES_FUNNEL, "types.funnel");
    let leads = "id,ratio,budget,ok,seats,share,signed,wait,tags\n\
                 a,40%,\"$4,500\",YES,220.0,0.25,2025-01-31,2d,1; 2 ;3\n\
                 b,40,4500,0,-3,1e2,2025-01-31T12:00:00Z,30m,\n\
                 c,,,,,,,5é,\n\
                 d, ,,,,,,,4;x\n\
                 e,,,,,,,,\n";
    let events = "lead_id,type,at,wait\ne,e,2025-01-01,1é\n";
    let out = csv_in::read(&plan, leads.as_bytes(), "l.csv", events.as_bytes(), "e.csv").unwrap();
    let s: Vec<Result<Shape, String>> = out
        .iter()
        .map(|r| {
            r.as_ref()
                .map(|(l, u)| shape(&plan, l, u))
                .map_err(ToString::to_string)
        })
        .collect();
    let tr = |i: usize, p: &str| {
        let s = s[i].as_ref().unwrap();
        s.traits.iter().find(|(k, _)| k == p).unwrap().1.clone()
    };
    let day = 86_400_000.0;
    let jan31 = funnelc::time::parse_timestamp("2025-01-31").unwrap().millis;
    assert_eq!(tr(0, "ratio"), Value::Num(40.0));
    assert_eq!(tr(0, "budget"), Value::Num(4500.0));
    assert_eq!(tr(0, "ok"), Value::Bool(true));
    assert_eq!(tr(0, "seats"), Value::Num(220.0));
    assert_eq!(tr(0, "share"), Value::Num(0.25));
    assert_eq!(tr(0, "signed"), Value::Time(jan31));
    assert_eq!(tr(0, "wait"), Value::Num(2.0 * day));
    let tags = [1.0, 2.0, 3.0].map(Value::Num).to_vec();
    assert_eq!(tr(0, "tags"), Value::List(tags));
    assert_eq!(tr(1, "ratio"), Value::Num(40.0));
    assert_eq!(tr(1, "budget"), Value::Num(4500.0));
    assert_eq!(tr(1, "ok"), Value::Bool(false));
    assert_eq!(tr(1, "seats"), Value::Num(-3.0));
    assert_eq!(tr(1, "share"), Value::Num(100.0));
    assert_eq!(tr(1, "signed"), Value::Time(jan31 + 43_200_000));
    assert_eq!(tr(1, "wait"), Value::Num(1_800_000.0));
    assert_eq!(tr(1, "tags"), Value::Missing);
    // Text ending in a multi-byte character is refused, not a panic in `convert`.
    assert_eq!(
        s[2].as_ref().unwrap_err(),
        "l.csv:4: lead `c`, field `wait`: expected a duration, found \"5é\""
    );
    assert_eq!(
        s[3].as_ref().unwrap_err(),
        "l.csv:5: lead `d`, field `tags`: expected a whole number, found \"x\""
    );
    assert_eq!(
        s[4].as_ref().unwrap_err(),
        "e.csv:2: lead `e`, field `wait`: expected a duration, found \"1é\""
    );
}

// ---------------------------------------------------------------------------------------------
// No input makes a reader panic.

mod never_panics {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value as Json};

    /// Every type a value can be read as, including the duration that `convert` could panic on.
    const FUZZ_FUNNEL: &str = r#"
funnel "fuzz"
schema {
  trait company.employees: int
  trait company.branches: list<text>
  trait wait: duration
  trait waits: list<duration>
  trait ratio: percent
  trait budget: money
  trait ok: bool
  trait signed: date
  trait share: decimal
  event email.opened { step: int, wait: duration, amount: money, ok: bool }
}
stage A { enter when email.opened }
"#;

    const WORDS: &[&str] = &[
        "",
        " ",
        "5é",
        "é",
        "14d",
        "2w",
        "2025-01-01",
        "2025-01-03T10:00:00Z",
        "2025-02-30",
        "2025-01-01T25:00",
        "$4,500",
        "$",
        "40%",
        "%",
        "NY;NJ",
        ";",
        "many",
        "yes",
        "1",
        "-0",
        "1e400",
        "NaN",
        "identify",
        "track",
        "page",
        "email.opened",
        "L1",
        "anonymousId",
        "company",
        "company.employees",
        "organization.employees",
    ];
    const KEYS: &[&str] = &[
        "type",
        "userId",
        "anonymousId",
        "timestamp",
        "traits",
        "event",
        "properties",
        "company",
        "organization",
        "employees",
        "branches",
        "wait",
        "waits",
        "ratio",
        "budget",
        "ok",
        "signed",
        "share",
        "step",
        "amount",
        "company.employees",
    ];

    fn leaf() -> impl Strategy<Value = Json> {
        prop_oneof![
            4 => prop::sample::select(WORDS).prop_map(Json::from),
            1 => Just(Json::Null),
            1 => any::<bool>().prop_map(Json::from),
            1 => any::<i64>().prop_map(Json::from),
            1 => any::<u64>().prop_map(Json::from),
            1 => (-1e6f64..1e6).prop_map(Json::from),
        ]
    }

    fn value() -> impl Strategy<Value = Json> {
        leaf().prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(|kv| {
                    Json::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    /// An object with keys from `keys`, mostly scalar values.
    fn object(keys: &'static [&'static str]) -> impl Strategy<Value = Json> {
        let member = (
            prop::sample::select(keys),
            prop_oneof![3 => leaf(), 1 => value()],
        );
        prop::collection::vec(member, 0..6)
            .prop_map(|kv| Json::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    }

    const TRAIT_KEYS: &[&str] = &[
        "company",
        "company.employees",
        "organization",
        "wait",
        "waits",
        "ratio",
        "budget",
        "ok",
        "signed",
        "share",
    ];
    const PROP_KEYS: &[&str] = &["step", "wait", "amount", "ok", "type"];

    /// Mostly calls that look like Segment's, some anything at all.
    fn line() -> impl Strategy<Value = String> {
        let call = (
            prop::sample::select(&["identify", "identify", "track", "track", "page", "alias"][..]),
            prop::sample::select(&["L1", "L2", "L3", "L4", "L5", ""][..]),
            prop_oneof![4 => Just("2025-01-03T10:00:00Z"), 1 => prop::sample::select(WORDS)],
            object(TRAIT_KEYS),
            object(PROP_KEYS),
        );
        prop_oneof![
            4 => call.prop_map(|(ty, user, at, traits, props)| {
                json!({"type": ty, "userId": user, "timestamp": at, "event": "email.opened",
                       "traits": traits, "properties": props})
                .to_string()
            }),
            2 => value().prop_map(|v| v.to_string()),
            1 => ".{0,40}",
        ]
    }

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(WORDS).prop_map(String::from),
            1 => "[,;\"\n\\r a-zé0-9%$.]{0,8}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn segment(lines in prop::collection::vec(line(), 0..10)) {
            let plan = plan_of(FUZZ_FUNNEL, "fuzz.funnel");
            let rename = BTreeMap::from([("organization".to_string(), "company".to_string())]);
            let text = lines.join("\n");
            let read = segment::read(&plan, text.as_bytes(), "s.jsonl", &rename);
            prop_assert!(read.is_ok());
        }

        #[test]
        fn csv(
            lead_rows in prop::collection::vec(prop::collection::vec(cell(), 10), 0..4),
            event_rows in prop::collection::vec(prop::collection::vec(cell(), 7), 0..4),
        ) {
            let plan = plan_of(FUZZ_FUNNEL, "fuzz.funnel");
            let mut leads = "id,company.employees,company.branches,wait,waits,ratio,budget,ok,signed,share\n".to_string();
            for (i, row) in lead_rows.iter().enumerate() {
                leads.push_str(&format!("L{i},{}\n", row[1..].join(",")));
            }
            let mut events = "lead_id,type,at,step,wait,amount,ok\n".to_string();
            for (i, row) in event_rows.iter().enumerate() {
                let lead = if i % 3 == 2 { row[0].as_str() } else { "L0" };
                events.push_str(&format!("{lead},email.opened,{}\n", row[2..].join(",")));
            }
            // Errors are fine; a panic fails the test.
            let _ = csv_in::read(&plan, leads.as_bytes(), "l.csv", events.as_bytes(), "e.csv");
        }
    }
}
