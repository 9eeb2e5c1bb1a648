//! A lead's outcome as JSON: a `serde_json` value, or a line written directly for the hot path.

use super::{push_json_str, push_num, ts};
use crate::eval::explain::Datum;
use crate::eval::{position, sla_breaches, EnteredBy, Outcome};
use crate::lead::Lead;
use crate::plan::Plan;

/// Leads as lines of JSON, written directly (the hot path of `eval --format jsonl`); the same
/// object as [`json`], key for key. The plan's names are quoted once, here, rather than for
/// every lead.
pub struct JsonLines {
    /// Each stage's name, quoted.
    stages: Vec<String>,
    /// `"MCL":` for each stage, after a comma from the second on.
    entered: Vec<String>,
    /// `"source":` for each dimension, after a comma from the second on.
    dims: Vec<String>,
    /// The same for each score model.
    scores: Vec<String>,
    /// For each model with grades: its key, and its grade labels quoted.
    grades: Vec<Option<(String, Vec<String>)>>,
    /// What closes each line: `}`, or the evaluation moment's member and `}`.
    tail: String,
}

impl JsonLines {
    pub fn new(plan: &Plan) -> Self {
        let quoted = |s: &str| {
            let mut q = String::new();
            push_json_str(&mut q, s);
            q
        };
        let key =
            |i: usize, name: &str| format!("{}{}:", if i > 0 { "," } else { "" }, quoted(name));
        let mut with_grades = 0;
        JsonLines {
            stages: plan.stages.iter().map(|s| quoted(&s.name)).collect(),
            entered: plan
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| key(i, &s.name))
                .collect(),
            dims: super::dimension_names(plan)
                .enumerate()
                .map(|(i, name)| key(i, name))
                .collect(),
            scores: plan
                .scores
                .iter()
                .enumerate()
                .map(|(i, m)| key(i, &m.name))
                .collect(),
            grades: plan
                .scores
                .iter()
                .map(|m| {
                    if m.grades.is_empty() {
                        return None;
                    }
                    with_grades += 1;
                    let labels = m.grades.iter().map(|(l, _)| quoted(l)).collect();
                    Some((key(with_grades - 1, &m.name), labels))
                })
                .collect(),
            tail: "}".into(),
        }
    }

    /// Every line also says the moment its lead was evaluated at, as its last member
    /// `"as_of"`: a line read on its own says what it is true as of.
    pub fn with_as_of(mut self, as_of: i64) -> Self {
        self.tail = format!(",\"as_of\":\"{}\"}}", ts(as_of));
        self
    }

    /// One lead's line, without its newline.
    pub fn write(&self, plan: &Plan, lead: &Lead, out: &Outcome, buf: &mut String) {
        let stage =
            |buf: &mut String, s: Option<u16>| match s.and_then(|s| self.stages.get(s as usize)) {
                Some(q) => buf.push_str(q),
                None => buf.push_str("null"),
            };
        buf.push_str("{\"id\":");
        push_json_str(buf, &lead.id);
        // Where the lead is: its stage, or the exit it took; `last_stage` is the stage it is
        // or was last in.
        buf.push_str(",\"stage\":");
        match &out.state.exit {
            Some(_) => push_json_str(buf, &position(plan, out)),
            None => stage(buf, out.state.stage),
        }
        buf.push_str(",\"last_stage\":");
        stage(buf, out.state.stage);
        buf.push_str(",\"exit\":");
        match &out.state.exit {
            Some(x) => {
                buf.push_str("{\"name\":");
                push_json_str(buf, &position(plan, out));
                buf.push_str(",\"from\":");
                stage(buf, Some(x.from));
                buf.push_str(",\"at\":");
                push_json_str(buf, &ts(x.at));
                buf.push('}');
            }
            None => buf.push_str("null"),
        }
        buf.push_str(",\"moves\":");
        let mv = moves(plan, out);
        if mv.is_empty() {
            buf.push_str("[]");
        } else {
            buf.push_str(&serde_json::Value::Array(mv).to_string());
        }
        // Most stages were entered once: the first entry's text is kept to write the latest.
        let first = out.state.first_entries(plan.stages.len());
        let mut texts: Vec<Option<String>> = Vec::with_capacity(first.len());
        buf.push_str(",\"first_entered\":{");
        for (key, at) in self.entered.iter().zip(&first) {
            buf.push_str(key);
            let text = at.map(ts);
            match &text {
                Some(t) => push_json_str(buf, t),
                None => buf.push_str("null"),
            }
            texts.push(text);
        }
        buf.push_str("},\"entered\":{");
        for (((key, at), f), text) in self
            .entered
            .iter()
            .zip(&out.state.latest)
            .zip(&first)
            .zip(&texts)
        {
            buf.push_str(key);
            match (at, text) {
                (Some(t), Some(same)) if Some(*t) == *f => push_json_str(buf, same),
                (Some(t), _) => push_json_str(buf, &ts(*t)),
                (None, _) => buf.push_str("null"),
            }
        }
        buf.push_str("},\"dimensions\":{");
        for (key, slot) in self.dims.iter().zip(&plan.dimensions) {
            buf.push_str(key);
            datum(buf, lead.traits.get(*slot));
        }
        buf.push_str("},\"scores\":{");
        for (key, v) in self.scores.iter().zip(&out.scores) {
            buf.push_str(key);
            push_num(buf, v.total);
        }
        buf.push_str("},\"grades\":{");
        for (g, v) in self.grades.iter().zip(&out.scores) {
            let Some((key, labels)) = g else {
                continue;
            };
            buf.push_str(key);
            match v.grade.and_then(|g| labels.get(g)) {
                Some(l) => buf.push_str(l),
                None => buf.push_str("null"),
            }
        }
        buf.push_str("},\"sla_breaches\":");
        let breaches = sla_breaches(plan, out);
        if breaches.is_empty() {
            buf.push_str("[]");
        } else {
            buf.push_str(&serde_json::to_string(&breaches).unwrap_or_else(|_| "[]".into()));
        }
        buf.push_str(&self.tail);
    }
}

/// The moves (detours back to an earlier stage) a lead took, in order: from, to, when.
pub fn move_list<'a>(plan: &'a Plan, out: &Outcome) -> Vec<(&'a str, &'a str, i64)> {
    let name = |s: Option<u16>| {
        s.and_then(|s| plan.stages.get(s as usize))
            .map_or("", |s| s.name.as_str())
    };
    let mut v = Vec::new();
    let mut prev: Option<u16> = None;
    for e in &out.state.entries {
        if let EnteredBy::Leave(_) = e.by {
            v.push((name(prev), name(Some(e.stage)), e.at));
        }
        prev = Some(e.stage);
    }
    v
}

/// The moves as JSON objects `{from, to, at}`.
pub fn moves(plan: &Plan, out: &Outcome) -> Vec<serde_json::Value> {
    move_list(plan, out)
        .into_iter()
        .map(|(from, to, at)| serde_json::json!({ "from": from, "to": to, "at": ts(at) }))
        .collect()
}

/// One lead as a JSON object.
pub fn json(plan: &Plan, lead: &Lead, out: &Outcome) -> serde_json::Value {
    let instants = |times: &[Option<i64>]| {
        let mut m = serde_json::Map::new();
        for (s, at) in plan.stages.iter().zip(times) {
            m.insert(
                s.name.clone(),
                at.map_or(serde_json::Value::Null, |t| ts(t).into()),
            );
        }
        m
    };
    let first_entered = instants(&out.state.first_entries(plan.stages.len()));
    let entered = instants(&out.state.latest);
    let mut dimensions = serde_json::Map::new();
    for (name, slot) in super::dimension_names(plan).zip(&plan.dimensions) {
        let v = lead
            .traits
            .get(*slot)
            .and_then(|v| serde_json::to_value(Datum(v.clone())).ok())
            .unwrap_or(serde_json::Value::Null);
        dimensions.insert(name.to_string(), v);
    }
    let mut scores = serde_json::Map::new();
    let mut grades = serde_json::Map::new();
    for (m, v) in plan.scores.iter().zip(&out.scores) {
        scores.insert(m.name.clone(), number(v.total));
        if !m.grades.is_empty() {
            let g = v
                .grade
                .and_then(|g| m.grades.get(g))
                .map(|(l, _)| l.clone());
            grades.insert(
                m.name.clone(),
                g.map_or(serde_json::Value::Null, Into::into),
            );
        }
    }
    let exit = out.state.exit.as_ref().map(|x| {
        serde_json::json!({
            "name": position(plan, out),
            "from": plan.stages.get(x.from as usize).map(|s| s.name.clone()),
            "at": ts(x.at),
        })
    });
    let last_stage = out
        .state
        .stage
        .and_then(|s| plan.stages.get(s as usize))
        .map(|s| s.name.clone());
    let stage = match &out.state.exit {
        Some(_) => Some(position(plan, out)),
        None => last_stage.clone(),
    };
    serde_json::json!({
        "id": lead.id,
        "stage": stage,
        "last_stage": last_stage,
        "exit": exit,
        "moves": moves(plan, out),
        "first_entered": first_entered,
        "entered": entered,
        "dimensions": dimensions,
        "scores": scores,
        "grades": grades,
        "sla_breaches": sla_breaches(plan, out),
    })
}

/// A trait's value as JSON (`null` when the lead lacks it), as explanations write it.
fn datum(buf: &mut String, v: Option<&crate::lead::Value>) {
    match v {
        None | Some(crate::lead::Value::Missing) => buf.push_str("null"),
        Some(crate::lead::Value::Text(t)) => push_json_str(buf, t),
        Some(v) => buf
            .push_str(&serde_json::to_string(&Datum(v.clone())).unwrap_or_else(|_| "null".into())),
    }
}

fn number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        (v as i64).into()
    } else {
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The hot path writes the object [`json`] builds, key for key, with the first and
    /// latest entries, moves, an exit and the dimensions.
    #[test]
    fn lines_and_objects_agree() {
        let src = "schema {\n  trait source: text\n  trait tags: list<text>\n  \
                   event a\n  event b\n  event r\n  event x\n}\n\
                   stage A {\n  enter when a\n}\nstage B {\n  enter when b\n}\n\
                   move B -> A on r\nexit lost from any on x\ndimensions [source, tags]\n";
        let compiled = crate::compile(src, "t");
        let plan = compiled.plan().expect("the rules compile");
        let lines = JsonLines::new(&plan).with_as_of(0);
        for data in [
            r#"{"id":"L1","traits":{"source":"ads","tags":["x","y"]},"events":[{"type":"a","at":"2025-01-01"},{"type":"b","at":"2025-01-02"},{"type":"r","at":"2025-01-03"},{"type":"b","at":"2025-01-04"},{"type":"x","at":"2025-01-05"}]}"#,
            r#"{"id":"L2","events":[]}"#,
        ] {
            let (lead, _) = crate::input::jsonl::parse_line(&plan, data, "t".into()).unwrap();
            let out = crate::eval::replay(&plan, &lead, i64::MAX / 4);
            let mut line = String::new();
            lines.write(&plan, &lead, &out, &mut line);
            let mut parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
            parsed.as_object_mut().unwrap().remove("as_of");
            assert_eq!(parsed, json(&plan, &lead, &out), "{line}");
            if lead.id == "L1" {
                assert_eq!(parsed["stage"], "lost");
                assert_eq!(parsed["last_stage"], "B");
                assert_eq!(parsed["first_entered"]["B"], "2025-01-02T00:00:00Z");
                // Moved back at the 3rd, and `b` (of the 2nd) holds again at once.
                assert_eq!(parsed["entered"]["B"], "2025-01-03T00:00:00Z");
                assert_eq!(parsed["dimensions"]["tags"], serde_json::json!(["x", "y"]));
                assert_eq!(parsed["moves"][0]["to"], "A");
            } else {
                assert_eq!(parsed["stage"], serde_json::Value::Null);
                assert_eq!(parsed["dimensions"]["source"], serde_json::Value::Null);
            }
        }
    }
}
