//! A lead's outcome as JSON: a `serde_json` value, or a line written directly for the hot path.

use super::{push_json_str, push_num, ts};
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
        buf.push_str(",\"stage\":");
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
        buf.push_str(",\"entered\":{");
        for (key, at) in self.entered.iter().zip(&out.state.latest) {
            buf.push_str(key);
            match at {
                Some(t) => push_json_str(buf, &ts(*t)),
                None => buf.push_str("null"),
            }
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

/// The moves (detours back to an earlier stage) a lead took, in order.
pub fn moves(plan: &Plan, out: &Outcome) -> Vec<serde_json::Value> {
    let mut v = Vec::new();
    let mut prev: Option<u16> = None;
    for e in &out.state.entries {
        if let EnteredBy::Leave(_) = e.by {
            v.push(serde_json::json!({
                "from": prev.and_then(|p| plan.stages.get(p as usize)).map(|s| s.name.clone()),
                "to": plan.stages.get(e.stage as usize).map(|s| s.name.clone()),
                "at": ts(e.at),
            }));
        }
        prev = Some(e.stage);
    }
    v
}

/// One lead as a JSON object.
pub fn json(plan: &Plan, lead: &Lead, out: &Outcome) -> serde_json::Value {
    let mut entered = serde_json::Map::new();
    for (i, s) in plan.stages.iter().enumerate() {
        let v = out.state.latest[i].map_or(serde_json::Value::Null, |t| ts(t).into());
        entered.insert(s.name.clone(), v);
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
    let stage = out
        .state
        .stage
        .and_then(|s| plan.stages.get(s as usize))
        .map(|s| s.name.clone());
    serde_json::json!({
        "id": lead.id,
        "stage": stage,
        "exit": exit,
        "moves": moves(plan, out),
        "entered": entered,
        "scores": scores,
        "grades": grades,
        "sla_breaches": sla_breaches(plan, out),
    })
}

fn number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        (v as i64).into()
    } else {
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into)
    }
}
