//! The evaluator's values: computed, or borrowed from the lead or the plan.

use crate::lead::Value;

/// A value during evaluation: computed, or borrowed from the lead or the plan.
#[derive(Clone, Copy, Debug)]
pub enum Val<'a> {
    Missing,
    Bool(bool),
    Num(f64),
    Time(i64),
    Ref(&'a Value),
}

impl<'a> Val<'a> {
    /// Scalars held by the lead or the plan as computed values, so that one match sees both.
    pub(super) fn norm(self) -> Val<'a> {
        match self {
            Val::Ref(Value::Missing) => Val::Missing,
            Val::Ref(Value::Bool(b)) => Val::Bool(*b),
            Val::Ref(Value::Num(n)) => Val::Num(*n),
            Val::Ref(Value::Time(t)) => Val::Time(*t),
            other => other,
        }
    }
    pub fn truthy(self) -> bool {
        matches!(self.norm(), Val::Bool(true))
    }
    pub fn to_value(self) -> Value {
        match self.norm() {
            Val::Missing => Value::Missing,
            Val::Bool(b) => Value::Bool(b),
            Val::Num(n) => Value::Num(n),
            Val::Time(t) => Value::Time(t),
            Val::Ref(v) => v.clone(),
        }
    }
}
