//! What an explanation holds, as data: values as the lead has them, instants, rules by kind
//! and location, stages by name and title. Serialized, this is the JSON of `funnelc explain
//! --format json` and `eval --explain` (documented in `docs/explain.md`); `output::explain`
//! renders the same data as text.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::super::Breach;
use crate::lead::Value;
use crate::time::{format_timestamp, Timestamp};

/// An instant (ms since 1970 UTC), serialized as RFC 3339.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub i64);

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(Timestamp { millis: self.0 }))
    }
}

/// A value from the lead's data or the rules, serialized as plain JSON: `null` when missing,
/// whole numbers as integers, instants as RFC 3339 text.
#[derive(Clone, Debug, PartialEq)]
pub struct Datum(pub Value);

impl Serialize for Datum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        value(&self.0, s)
    }
}

fn value<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Value::Missing => s.serialize_none(),
        Value::Bool(b) => s.serialize_bool(*b),
        Value::Num(n) => number(*n, s),
        Value::Time(t) => Instant(*t).serialize(s),
        Value::Text(t) => s.serialize_str(t),
        Value::List(items) => {
            let mut seq = s.serialize_seq(Some(items.len()))?;
            for i in items {
                seq.serialize_element(&Datum(i.clone()))?;
            }
            seq.end()
        }
    }
}

/// A number as `eval`'s JSON writes one: whole numbers as integers.
pub fn number<S: Serializer>(n: f64, s: S) -> Result<S::Ok, S::Error> {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        s.serialize_i64(n as i64)
    } else {
        s.serialize_f64(n)
    }
}

fn opt_number<S: Serializer>(n: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => number(*n, s),
        None => s.serialize_none(),
    }
}

fn num<S: Serializer>(n: &f64, s: S) -> Result<S::Ok, S::Error> {
    number(*n, s)
}

/// Score values as `eval`'s top level has them: an object from score name to value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScoreValues(pub Vec<(String, f64)>);

impl Serialize for ScoreValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, &Num(*v))?;
        }
        m.end()
    }
}

struct Num(f64);
impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        number(self.0, s)
    }
}

/// A stage by its name and its display title.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageRef {
    pub name: String,
    pub title: Option<String>,
}

/// Where a lead stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Position {
    Outside,
    Stage {
        #[serde(flatten)]
        stage: StageRef,
    },
    Exited {
        name: String,
        from: StageRef,
    },
}

/// A rule of the file, by kind and location.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RuleRef {
    /// A stage's `enter when`.
    Stage {
        name: String,
        file: String,
        line: usize,
    },
    /// A move back to an earlier stage; `from: null` is `from any`.
    Move {
        from: Option<Vec<String>>,
        to: String,
        file: String,
        line: usize,
    },
    /// An exit; `from: null` is `from any`.
    Exit {
        name: String,
        from: Option<Vec<String>>,
        file: String,
        line: usize,
    },
}

/// One event of the lead: its type, instant, place in replay order and properties.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventRef {
    #[serde(rename = "type")]
    pub ty: String,
    pub at: Instant,
    /// Index in the lead's events in replay order (time order, ties in input order).
    pub index: usize,
    /// The properties the event has, in the schema's order.
    #[serde(serialize_with = "props")]
    pub properties: Vec<(String, Datum)>,
}

fn props<S: Serializer>(p: &[(String, Datum)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(p.len()))?;
    for (k, v) in p {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

/// What caused a step: an event, or the passage of time (`{"timer": true}`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TriggerRef {
    Event(EventRef),
    Timer { timer: bool },
}

/// The scopes of an event query: `since entering S`, `within D`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scope {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<i64>,
}

/// Where the last matching event outside a query's scopes lies: before its window, or before
/// the lead's latest entry into the `since` stage (the stay).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outside {
    Window,
    Stay,
}

/// The last event a scoped query would match without its scopes, when none in them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Earlier {
    pub at: Instant,
    pub outside: Outside,
}

/// A property of the event `has` tests, and whether it is true.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PropMark {
    pub name: String,
    pub value: bool,
}

/// What a leaf of a condition read, as data.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reading {
    /// A comparison: `left op right`, each side's actual value. `threshold` is the right side
    /// when it is a literal of the rules; `scores`, the scores summed on the left.
    Compare {
        op: &'static str,
        left: Datum,
        right: Datum,
        #[serde(skip_serializing_if = "Option::is_none")]
        threshold: Option<Datum>,
        #[serde(skip_serializing_if = "Option::is_none")]
        scores: Option<ScoreValues>,
    },
    /// A comparison of grades, by label (`null`: no grade).
    Grade {
        op: &'static str,
        left: Option<String>,
        right: Option<String>,
    },
    /// The value a test (`in`, `between`, `contains`, `exists`, …) read.
    Value { value: Datum },
    /// An event query: how many matching events, and the last. With none in the query's
    /// scopes, `earlier` is the last matching event outside them.
    Events {
        count: usize,
        last: Option<Instant>,
        #[serde(skip_serializing_if = "Option::is_none")]
        earlier: Option<Earlier>,
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<Scope>,
    },
    /// `no Q within D`: the last matching event whatever the window (in the `since` scope),
    /// or, with none there, `earlier`: the last before the stay.
    Absence {
        last: Option<Instant>,
        #[serde(skip_serializing_if = "Option::is_none")]
        earlier: Option<Earlier>,
        scope: Scope,
    },
    /// `latest/first Q has …`: the event it read and its properties.
    Has {
        at: Option<Instant>,
        props: Vec<PropMark>,
        #[serde(skip_serializing_if = "Option::is_none")]
        earlier: Option<Earlier>,
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<Scope>,
    },
}

/// One node of a condition tree, evaluated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Node {
    /// The condition as written (or `all of`, `any of`, `not`, `at least K of`, `on EVENT`).
    pub text: String,
    pub ok: bool,
    /// What a leaf read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Reading>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

impl Node {
    pub(super) fn fact(text: String, ok: bool) -> Node {
        Node {
            text,
            ok,
            value: None,
            children: Vec::new(),
        }
    }
}

/// One step of the lead: a stage entered (by its condition or a move), or an exit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub at: Instant,
    /// The stage the lead was in (`null`: outside).
    pub from: Option<StageRef>,
    /// The stage entered, or the exit taken (an exit has no title).
    pub to: StageRef,
    pub rule: RuleRef,
    pub trigger: TriggerRef,
    pub condition: Node,
}

/// A score rule's contribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Part {
    pub rule: String,
    pub file: String,
    pub line: usize,
    pub events: usize,
    #[serde(serialize_with = "num")]
    pub points: f64,
}

/// How a score decays.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decay {
    /// `half-life` or `expire`.
    pub kind: &'static str,
    #[serde(serialize_with = "num")]
    pub days: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScoreExplained {
    pub name: String,
    #[serde(serialize_with = "num")]
    pub total: f64,
    pub parts: Vec<Part>,
    /// The sum before the model's cap or floor, when the cap or floor changed it.
    #[serde(serialize_with = "opt_number")]
    pub capped_from: Option<f64>,
    pub grade: Option<String>,
    pub decay: Option<Decay>,
}

/// The scores of an explanation, serialized in `eval`'s shape: `scores` (name → value) and
/// `grades` (name → label, for models with grades) as at the top level, and `score_parts`
/// (name → what made it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scores {
    pub list: Vec<ScoreExplained>,
    /// For each score: whether its model has grades.
    pub graded: Vec<bool>,
}

impl Serialize for Scores {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Totals<'a>(&'a [ScoreExplained]);
        impl Serialize for Totals<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for x in self.0 {
                    m.serialize_entry(&x.name, &Num(x.total))?;
                }
                m.end()
            }
        }
        struct Grades<'a>(&'a Scores);
        impl Serialize for Grades<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                for (x, g) in self.0.list.iter().zip(&self.0.graded) {
                    if *g {
                        m.serialize_entry(&x.name, &x.grade)?;
                    }
                }
                m.end()
            }
        }
        #[derive(Serialize)]
        struct Detail<'a> {
            parts: &'a [Part],
            #[serde(serialize_with = "opt_number")]
            capped_from: Option<f64>,
            decay: &'a Option<Decay>,
        }
        struct Details<'a>(&'a [ScoreExplained]);
        impl Serialize for Details<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for x in self.0 {
                    let d = Detail {
                        parts: &x.parts,
                        capped_from: x.capped_from,
                        decay: &x.decay,
                    };
                    m.serialize_entry(&x.name, &d)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("scores", &Totals(&self.list))?;
        m.serialize_entry("grades", &Grades(self))?;
        m.serialize_entry("score_parts", &Details(&self.list))?;
        m.end()
    }
}

/// What the next stage needs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NextStage {
    pub stage: StageRef,
    pub condition: Node,
}

/// A trait that names the lead or is one of the file's dimensions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct About {
    #[serde(rename = "trait")]
    pub path: String,
    pub value: Datum,
}

/// Why an event's look took no step, worked out from the rules at that look.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Why {
    /// No condition, move, exit or score reads events of this type.
    Unread,
    /// Only scores read this type (no stage condition, move or exit).
    ScoresOnly { scores: Vec<String> },
    /// The lead had exited.
    Exited { exit: String, at: Instant },
    /// It is the trigger of this `on` rule (or this `when` rule reads it), but the lead was
    /// not in a stage the rule leaves from.
    NotFrom { rule: RuleRef },
    /// It is the trigger of this `on` rule, from the lead's stage, but the rule's `where`
    /// filter or `when` guard was false (the node shows them).
    Filtered { rule: RuleRef, condition: Node },
    /// The next stage's condition reads it, and did not hold.
    NotMet { stage: StageRef, condition: Node },
    /// This `when` move or exit from the lead's stage reads it: its condition did not hold,
    /// or held but had already fired (`spent`) and not been false since.
    RuleNotMet {
        rule: RuleRef,
        spent: bool,
        condition: Node,
    },
    /// Only the entry of a later stage reads it: `stage` needs `needs` first.
    Later { stage: StageRef, needs: StageRef },
    /// Only the entries of stages the lead had passed (and scores) read it.
    Passed {
        stages: Vec<String>,
        scores: Vec<String>,
    },
}

impl Why {
    /// Whether a marketer would expect the event to matter: some stage condition, move or
    /// exit reads its type where the lead was, or ahead of it. The others are summed up by
    /// type in text.
    pub fn notable(&self) -> bool {
        !matches!(
            self,
            Why::Unread | Why::ScoresOnly { .. } | Why::Passed { .. } | Why::Exited { .. }
        )
    }
}

/// Events of one type whose looks took no step for the same reason, in one stay of the lead
/// (no step between them), in order of their first event. The reason's condition is the one
/// at the group's last event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unmoved {
    pub events: Vec<EventRef>,
    /// Where the lead was.
    pub position: Position,
    /// Steps (entries and an exit) the lead had taken before these events: groups with the
    /// same number are of one stay.
    pub steps_before: usize,
    #[serde(flatten)]
    pub why: Why,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub id: String,
    /// The lead's name (a `…name` trait) and its dimensions.
    pub about: Vec<About>,
    pub as_of: Instant,
    pub position: Position,
    /// When the lead entered its stage (or exited).
    pub since: Option<Instant>,
    pub timeline: Vec<Step>,
    #[serde(flatten)]
    pub scores: Scores,
    /// What the next stage needs (`null`: no next stage, or exited).
    pub next: Option<NextStage>,
    /// The events whose looks took no step, and why.
    pub unmoved: Vec<Unmoved>,
    pub sla_breaches: Vec<Breach>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn values_serialize_as_plain_json() {
        let j = |v: Value| serde_json::to_string(&Datum(v)).unwrap();
        assert_eq!(j(Value::Missing), "null");
        assert_eq!(j(Value::Num(3.0)), "3");
        assert_eq!(j(Value::Num(2.5)), "2.5");
        assert_eq!(j(Value::Text("a".into())), "\"a\"");
        assert_eq!(j(Value::Time(0)), "\"1970-01-01T00:00:00Z\"");
        assert_eq!(
            j(Value::List(vec![Value::Bool(true), Value::Num(1.0)])),
            "[true,1]"
        );
        let s = ScoreValues(vec![("fit".into(), 50.0), ("e".into(), 1.25)]);
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"fit":50,"e":1.25}"#);
        let t = TriggerRef::Timer { timer: true };
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"timer":true}"#);
    }
}
