//! The evaluator's values, computed or borrowed from the lead or the plan, and how they
//! compare: equality and order, and the tests (`contains`, `starts with`, `matches`...).

use crate::lead::Value;
use crate::syntax::ast::{BinOp, TestOp};

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

pub fn compare(op: BinOp, a: Operand<'_>, b: Operand<'_>) -> bool {
    use std::cmp::Ordering;
    // Text equality is the commonest test (`page == "pricing"`, `role in [...]`): equal
    // exactly when the ordering below says `Equal`, and cheaper to decide.
    if let (Operand::Ref(Value::Text(x)), Operand::Ref(Value::Text(y))) = (a, b) {
        match op {
            BinOp::Eq => return x == y,
            BinOp::Ne => return x != y,
            _ => {}
        }
    }
    let ord: Option<Ordering> = match (a.norm(), b.norm()) {
        (Operand::Num(x), Operand::Num(y)) => x.partial_cmp(&y),
        (Operand::Time(x), Operand::Time(y)) => Some(x.cmp(&y)),
        (Operand::Bool(x), Operand::Bool(y)) => Some(x.cmp(&y)),
        (Operand::Ref(Value::Text(x)), Operand::Ref(Value::Text(y))) => Some(x.cmp(y)),
        (Operand::Ref(x @ Value::List(_)), Operand::Ref(y @ Value::List(_))) => {
            return match op {
                BinOp::Eq => x == y,
                BinOp::Ne => x != y,
                _ => false,
            }
        }
        _ => None,
    };
    let Some(o) = ord else { return false };
    match op {
        BinOp::Eq => o == Ordering::Equal,
        BinOp::Ne => o != Ordering::Equal,
        BinOp::Lt => o == Ordering::Less,
        BinOp::Le => o != Ordering::Greater,
        BinOp::Gt => o == Ordering::Greater,
        BinOp::Ge => o != Ordering::Less,
        _ => false,
    }
}

pub(super) fn test(
    op: TestOp,
    v: Operand<'_>,
    arg: Operand<'_>,
    re: Option<&regex::Regex>,
) -> bool {
    let (v, arg) = (v.norm(), arg.norm());
    match op {
        TestOp::Contains => match v {
            Operand::Ref(Value::List(items)) => items
                .iter()
                .any(|i| compare(BinOp::Eq, Operand::Ref(i), arg)),
            Operand::Ref(Value::Text(s)) => {
                matches!(arg, Operand::Ref(Value::Text(a)) if s.contains(&**a))
            }
            _ => false,
        },
        TestOp::ContainsAll | TestOp::ContainsAny => {
            let (Operand::Ref(Value::List(have)), Operand::Ref(Value::List(want))) = (v, arg)
            else {
                return false;
            };
            let has = |w: &Value| {
                have.iter()
                    .any(|h| compare(BinOp::Eq, Operand::Ref(h), Operand::Ref(w)))
            };
            if op == TestOp::ContainsAll {
                want.iter().all(has)
            } else {
                want.iter().any(has)
            }
        }
        TestOp::StartsWith | TestOp::EndsWith | TestOp::Matches => {
            let Operand::Ref(Value::Text(s)) = v else {
                return false;
            };
            match (op, arg) {
                (TestOp::Matches, _) => re.is_some_and(|r| r.is_match(s)),
                (TestOp::StartsWith, Operand::Ref(Value::Text(a))) => s.starts_with(&**a),
                (TestOp::EndsWith, Operand::Ref(Value::Text(a))) => s.ends_with(&**a),
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// `compare` as it was before text equality got its shortcut: by ordering alone.
    fn compare_by_order(op: BinOp, a: Operand<'_>, b: Operand<'_>) -> bool {
        use std::cmp::Ordering;
        let ord = match (a.norm(), b.norm()) {
            (Operand::Num(x), Operand::Num(y)) => x.partial_cmp(&y),
            (Operand::Time(x), Operand::Time(y)) => Some(x.cmp(&y)),
            (Operand::Bool(x), Operand::Bool(y)) => Some(x.cmp(&y)),
            (Operand::Ref(Value::Text(x)), Operand::Ref(Value::Text(y))) => Some(x.cmp(y)),
            (Operand::Ref(x @ Value::List(_)), Operand::Ref(y @ Value::List(_))) => {
                return match op {
                    BinOp::Eq => x == y,
                    BinOp::Ne => x != y,
                    _ => false,
                }
            }
            _ => None,
        };
        ord.is_some_and(|o| match op {
            BinOp::Eq => o == Ordering::Equal,
            BinOp::Ne => o != Ordering::Equal,
            BinOp::Lt => o == Ordering::Less,
            BinOp::Le => o != Ordering::Greater,
            BinOp::Gt => o == Ordering::Greater,
            BinOp::Ge => o != Ordering::Less,
            _ => false,
        })
    }

    #[test]
    fn compare_agrees_with_ordering() {
        let values = [
            Value::Missing,
            Value::Bool(true),
            Value::Num(0.0),
            Value::Num(-0.0),
            Value::Num(2.5),
            Value::Time(7),
            Value::Text("".into()),
            Value::Text("pricing".into()),
            Value::Text("pricinG".into()),
            Value::Text("pricing ".into()),
            Value::Text("é".into()),
            Value::List(vec![]),
            Value::List(vec![Value::Text("pricing".into())]),
        ];
        let ops = [
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::Add,
        ];
        for a in &values {
            for b in &values {
                for op in ops {
                    let (x, y) = (Operand::Ref(a), Operand::Ref(b));
                    assert_eq!(
                        compare(op, x, y),
                        compare_by_order(op, x, y),
                        "{a:?} {op:?} {b:?}"
                    );
                    let (x, y) = (x.norm(), y.norm());
                    assert_eq!(
                        compare(op, x, y),
                        compare_by_order(op, x, y),
                        "{a:?} {op:?} {b:?}"
                    );
                }
            }
        }
        assert!(!compare(BinOp::Eq, Operand::Missing, Operand::Missing));
    }
}
