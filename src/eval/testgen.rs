//! Generated leads for the interpreter's unit tests: values drawn from the constants the
//! rules name, so that leads often meet the conditions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::condition::Moment;
use super::index::index_by_type;
use super::outcome::State;
use crate::check::Ty;
use crate::lead::{Event, Lead, Value};
use crate::plan::{Cond, Plan, Query, RulePoints};

/// Every constant of a condition, so generated values often meet the rules.
pub(crate) fn constants(c: &Cond, out: &mut Vec<Value>) {
    let q = |q: &Query, out: &mut Vec<Value>| {
        if let Some(f) = &q.filter {
            constants(f, out);
        }
    };
    match c {
        Cond::Const(Value::List(v)) => {
            out.extend(v.iter().cloned());
            out.push(Value::List(v.clone()));
        }
        Cond::Const(v) => out.push(v.clone()),
        Cond::Present(x) | Cond::Count(x) | Cond::No(x) | Cond::DaysSince(_, x) => q(x, out),
        Cond::Has { query, .. } | Cond::PropOf { query, .. } => q(query, out),
        Cond::Rate(a, b) => {
            q(a, out);
            q(b, out);
        }
        Cond::Then { steps: v, .. } => v.iter().for_each(|x| q(x, out)),
        Cond::Not(x) | Cond::Neg(x) | Cond::Exists(x) => constants(x, out),
        Cond::All(v) | Cond::Any(v) | Cond::AtLeast(_, v) => {
            v.iter().for_each(|x| constants(x, out))
        }
        Cond::Arith(_, a, b) | Cond::Cmp(_, a, b) | Cond::In(a, b, _) | Cond::Test(_, a, b, _) => {
            constants(a, out);
            constants(b, out);
        }
        Cond::Between(a, b, c) => {
            constants(a, out);
            constants(b, out);
            constants(c, out);
        }
        _ => {}
    }
}

pub(crate) struct Gen {
    state: u64,
    texts: Vec<Value>,
    nums: Vec<f64>,
    /// The lists the rules name, whole.
    lists: Vec<Value>,
}

impl Gen {
    pub(crate) fn new(plan: &Plan, seed: u64) -> Gen {
        let mut all = Vec::new();
        for (_, c, _) in &plan.segments {
            constants(c, &mut all);
        }
        for s in &plan.stages {
            constants(&s.enter, &mut all);
        }
        for l in &plan.leaves {
            if let Some(c) = &l.when {
                constants(c, &mut all);
            }
            if let Some(q) = &l.on {
                constants(&Cond::Count(q.clone()), &mut all);
            }
        }
        for m in &plan.scores {
            for r in &m.rules {
                match &r.kind {
                    RulePoints::When(c) => constants(c, &mut all),
                    RulePoints::Per { query, .. } => {
                        constants(&Cond::Count(query.clone()), &mut all)
                    }
                }
            }
        }
        for (_, c) in &plan.prefilters {
            constants(c, &mut all);
        }
        let mut texts: Vec<Value> = all
            .iter()
            .filter(|v| matches!(v, Value::Text(_)))
            .cloned()
            .collect();
        texts.push(Value::Text("other".into()));
        let mut nums: Vec<f64> = vec![0.0, 1.0, 3.0];
        for v in &all {
            if let Value::Num(n) = v {
                nums.extend([*n, n + 1.0, n - 1.0]);
            }
        }
        let lists = all
            .iter()
            .filter(|v| matches!(v, Value::List(_)))
            .cloned()
            .collect();
        Gen {
            lists,
            state: seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
            texts,
            nums,
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, good enough to shuffle test data.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn text(&mut self) -> Value {
        let i = self.below(self.texts.len());
        self.texts[i].clone()
    }

    fn value(&mut self, ty: &Ty) -> Value {
        if self.below(8) == 0 {
            return Value::Missing;
        }
        match ty {
            Ty::Bool => Value::Bool(self.below(3) > 0),
            Ty::Text => self.text(),
            Ty::List(_) if self.below(2) == 0 && !self.lists.is_empty() => {
                let i = self.below(self.lists.len());
                self.lists[i].clone()
            }
            Ty::List(_) => {
                let k = self.below(4);
                Value::List((0..k).map(|_| self.text()).collect())
            }
            Ty::Date | Ty::Timestamp => Value::Time(1_735_689_600_000),
            _ => {
                let i = self.below(self.nums.len());
                Value::Num(self.nums[i])
            }
        }
    }

    /// Traits; half the time ones that meet every segment that reads only traits (found
    /// by trying), so that leads get far into funnels with demanding audiences.
    fn traits(&mut self, plan: &Plan) -> Vec<Value> {
        let mut best: (usize, Vec<Value>) = (0, Vec::new());
        for k in 0..if self.below(4) == 0 { 1 } else { 300 } {
            let traits: Vec<Value> = plan.traits.iter().map(|(_, t)| self.value(t)).collect();
            let lead = Lead {
                id: String::new(),
                origin: String::new(),
                traits: traits.clone(),
                events: Vec::new(),
                props: Vec::new(),
            };
            let (index, _) = index_by_type(plan, &lead, 0);
            let state = State::new(plan);
            let cx = Moment {
                plan,
                lead: &lead,
                by_type: &index,
                state: &state,
                t: 0,
                n: 0,
                memo: 0,
            };
            let met = (0..plan.segments.len())
                .filter(|i| plan.trait_segments[*i])
                .filter(|i| cx.eval(&Cond::Segment(*i as u16), None).truthy())
                .count();
            if k == 0 || met > best.0 {
                best = (met, traits);
            }
        }
        best.1
    }

    pub(crate) fn lead(&mut self, plan: &Plan) -> Lead {
        let traits = self.traits(plan);
        let mut events = Vec::new();
        let mut props = Vec::new();
        let n = self.below(40);
        let mut at = 1_735_689_600_000i64;
        for _ in 0..n {
            // Steps from none (ties) to a week, in hours, sometimes in odd milliseconds.
            at += match self.below(6) {
                0 => 0,
                1 => self.below(1000) as i64,
                _ => self.below(24 * 7) as i64 * 3_600_000,
            };
            let ty = self.below(plan.events.len());
            let start = props.len() as u32;
            for (_, t) in &plan.events[ty].props {
                let v = self.value(t);
                props.push(v);
            }
            events.push(Event {
                ty: ty as u16,
                at,
                props_start: start,
            });
        }
        Lead {
            id: "x".into(),
            origin: String::new(),
            traits,
            events,
            props,
        }
    }
}
