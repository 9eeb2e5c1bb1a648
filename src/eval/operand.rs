//! The evaluator's values: computed, or borrowed from the lead or the plan.

use crate::lead::Value;

/// A value during evaluation (an operand of a comparison, a test or arithmetic): computed, or
/// borrowed from the lead or the plan.
#[derive(Clone, Copy, Debug)]
pub enum Operand<'a> {
    Missing,
    Bool(bool),
    Num(f64),
    Time(i64),
    Ref(&'a Value),
}

impl<'a> Operand<'a> {
    /// Scalars held by the lead or the plan as computed values, so that one match sees both.
    pub(super) fn norm(self) -> Operand<'a> {
        match self {
            Operand::Ref(Value::Missing) => Operand::Missing,
            Operand::Ref(Value::Bool(b)) => Operand::Bool(*b),
            Operand::Ref(Value::Num(n)) => Operand::Num(*n),
            Operand::Ref(Value::Time(t)) => Operand::Time(*t),
            other => other,
        }
    }
    pub fn truthy(self) -> bool {
        matches!(self.norm(), Operand::Bool(true))
    }
    pub fn to_value(self) -> Value {
        match self.norm() {
            Operand::Missing => Value::Missing,
            Operand::Bool(b) => Value::Bool(b),
            Operand::Num(n) => Value::Num(n),
            Operand::Time(t) => Value::Time(t),
            Operand::Ref(v) => v.clone(),
        }
    }
}
