//! Literals of the rule language as the interpreter's values.

use crate::lead::Value;
use crate::syntax::ast::Literal;
use crate::time;

pub fn literal(l: &Literal) -> Value {
    match l {
        Literal::Int(i) => Value::Num(*i as f64),
        Literal::Decimal(d) | Literal::Percent(d) => Value::Num(*d),
        Literal::Money(m) => Value::Num(m.amount),
        Literal::Duration(d) => Value::Num((d.seconds() * 1000) as f64),
        Literal::Date(d) => Value::Time(time::date_to_timestamp(*d).millis),
        Literal::Timestamp(t) => Value::Time(t.millis),
        Literal::Text(s) => Value::Text(s.as_str().into()),
        Literal::Bool(b) => Value::Bool(*b),
    }
}
