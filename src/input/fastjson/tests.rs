//! The fast reader's unit tests: it agrees with the general reader, and a guess or a
//! declined read leaves it where it was.

use super::*;

const RULES: &str = "schema {
  event page.viewed { page: text, channel: text }
  event deal.won { amount: money, share: percent, seats: int, won: bool, on: date }
  event ping
}
stage A { enter when ping }
";

fn plan() -> Plan {
    crate::compile(RULES, "t").plan().unwrap()
}

fn empty_lead() -> Lead {
    Lead {
        id: String::new(),
        origin: String::new(),
        traits: Vec::new(),
        events: Vec::new(),
        props: Vec::new(),
    }
}

fn parser(text: &str) -> Cursor<'_> {
    Cursor::new(text, Memo::default())
}

/// The compact reading of an event (`None` when it declines) and the general one, each
/// with where it stopped.
fn both(plan: &Plan, text: &str) -> (Option<String>, Option<String>) {
    let read = |compact: bool| {
        let mut p = parser(text);
        let mut lead = empty_lead();
        let ok = if compact {
            p.compact_event(plan, &mut lead)
        } else {
            p.any_event(plan, &mut lead, &mut BTreeMap::new(), &mut Vec::new())
        };
        ok.map(|()| {
            format!(
                "{:?} {:?} at {} depth {}",
                lead.events, lead.props, p.i, p.depth
            )
        })
    };
    (read(true), read(false))
}

#[test]
fn compact_events_read_as_the_general_reader_reads_them() {
    let plan = plan();
    let taken = [
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z","page":"blog","channel":"organic"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14","page":"a\"b\\c"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20.5+02:00","page":null}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z","extra":{"a":[1,{"b":null}]},"page":"p"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z","page": "spaced"}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","amount":12800,"share":-5,"seats":0}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","amount":12.5,"share":"5%","won":false}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","seats":999999999999999999}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","seats":1e3,"amount":-2.5e-1}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","amount":"$4,500","on":"2025-02-01"}"#,
        r#"{"type":"ping","at":"2025-01-14T20:09:20Z","page":"not a ping property"}"#,
    ];
    for text in taken {
        let (compact, general) = both(&plan, text);
        assert!(compact.is_some(), "the compact reader declined {text}");
        assert_eq!(compact, general, "{text}");
    }
    // Declined by the compact reader, read (or refused) by the general one.
    let declined = [
        r#"{"at":"2025-01-14T20:09:20Z","type":"page.viewed"}"#,
        r#"{ "type":"page.viewed","at":"2025-01-14T20:09:20Z"}"#,
        r#"{"type":"page\u002eviewed","at":"2025-01-14T20:09:20Z"}"#,
        r#"{"type":"unknown","at":"2025-01-14T20:09:20Z"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z","type":"ping"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z","at":"2025-01-15"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z" ,"page":"x"}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","seats":1234567890123456789}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","seats":-0}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","seats":007}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","seats":"3"}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:20Z","won":"yes"}"#,
        r#"{"type":"page.viewed","at":"2025-02-30T00:00:00Z"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z","page":"x""#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z","page":"x","page":"y"}"#,
    ];
    for text in declined {
        let (compact, general) = both(&plan, text);
        assert_eq!(compact, None, "the compact reader read {text}");
        let _ = general;
    }
    // Those the general reader does read, it reads as the whole line reader would.
    let (_, g) = both(&plan, declined[0]);
    assert!(g.is_some());
    // A property given twice is declined by both: the serde reader reports it.
    assert_eq!(both(&plan, declined[declined.len() - 1]), (None, None));
}

#[test]
fn the_property_expected_next_is_only_a_guess() {
    // One parser for all the events of a line, as in a lead: what it learns of the order
    // of properties from one event must not change how it reads the next.
    let plan = plan();
    let events = [
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:20Z","page":"a","channel":"b"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:21Z","page":"c","channel":"d"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:22Z","channel":"e","page":"f"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:23Z","page":"g"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:24Z","channel":"h"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:25Z","channel":"i","x":1,"page":"j"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:26Z","page":"k","pages":"l"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:27Z","channel":"m","x":{"channel":"n"}}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:28Z","seats":3,"amount":4,"won":true}"#,
        r#"{"type":"deal.won","at":"2025-01-14T20:09:29Z","won":false,"seats":5,"amount":6}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:30Z","pagex":"o","channel":"p"}"#,
        r#"{"type":"page.viewed","at":"2025-01-14T20:09:31Z","page":"q","channel":"r"}"#,
    ];
    let line = events.join(",");
    let read = |compact: bool| {
        let mut p = parser(&line);
        let mut lead = empty_lead();
        for (n, text) in events.iter().enumerate() {
            if n > 0 {
                assert!(p.eat(b','));
            }
            let ok = if compact {
                p.compact_event(&plan, &mut lead)
            } else {
                p.any_event(&plan, &mut lead, &mut BTreeMap::new(), &mut Vec::new())
            };
            assert!(ok.is_some(), "compact {compact}: {text}");
        }
        assert_eq!(p.i, line.len());
        format!("{:?} {:?}", lead.events, lead.props)
    };
    assert_eq!(read(true), read(false));
}

#[test]
fn whole_numbers_leave_the_cursor_alone_when_they_decline() {
    for (text, want) in [
        ("0", Some(0)),
        ("-12,", Some(-12)),
        ("999999999999999999", Some(999_999_999_999_999_999)),
        ("9999999999999999999", None),
        ("-0", None),
        ("01", None),
        ("1.5", None),
        ("2e3", None),
        ("-", None),
    ] {
        let mut p = parser(text);
        assert_eq!(p.whole(), want, "{text}");
        if want.is_none() {
            assert_eq!(p.i, 0, "{text}");
        }
    }
}
