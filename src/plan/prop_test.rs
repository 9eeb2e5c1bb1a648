//! Filters that test one property of an event against constants, decided without the
//! interpreter when a lead's prefiltered event lists are made.

use super::Cond;
use crate::lead::names::Key;
use crate::lead::Value;
use crate::syntax::ast::BinOp;

/// A filter that tests one property of the event against constants: `prop == k` (`k` a
/// text, number, yes/no or instant), or `prop in [...]` or `not in`.
#[derive(Clone, Debug, PartialEq)]
pub struct PropTest {
    prop: u16,
    /// The constants (one for `==`).
    items: Vec<Value>,
    /// `not in`.
    negated: bool,
    /// The texts among `items`, with their keys, and the numbers: a text can equal only a
    /// text and a number only a number, so those two kinds of value (nearly all) are decided
    /// here, a text mostly by its key alone, without `Value`'s `==` on each constant.
    texts: Vec<(Key, Box<[u8]>)>,
    /// Bit `min(len, 63)` set for the length of each of `texts`: most texts that match
    /// none have a length no constant has, and are told by it alone.
    lengths: u64,
    nums: Vec<f64>,
}

impl PropTest {
    pub fn of(c: &Cond) -> Option<PropTest> {
        let scalar = |k: &Value| !matches!(k, Value::Missing | Value::List(_));
        let (prop, items, negated) = match c {
            Cond::Cmp(BinOp::Eq, a, b) => match (&**a, &**b) {
                (Cond::Prop(p), Cond::Const(k)) | (Cond::Const(k), Cond::Prop(p)) if scalar(k) => {
                    (*p, vec![k.clone()], false)
                }
                _ => return None,
            },
            Cond::In(v, list, negated) => match (&**v, &**list) {
                (Cond::Prop(p), Cond::Const(Value::List(items))) => (*p, items.clone(), *negated),
                _ => return None,
            },
            _ => return None,
        };
        let texts: Vec<(Key, Box<[u8]>)> = items
            .iter()
            .filter_map(|k| match k {
                Value::Text(t) => Some((Key::of(t.as_bytes()), t.as_bytes().into())),
                _ => None,
            })
            .collect();
        let lengths = texts.iter().fold(0, |m, (_, t)| m | length_bit(t.len()));
        let nums = items
            .iter()
            .filter_map(|k| match k {
                Value::Num(n) => Some(*n),
                _ => None,
            })
            .collect();
        Some(PropTest {
            prop,
            items,
            negated,
            texts,
            lengths,
            nums,
        })
    }

    /// What the interpreter decides for the filter, given the property's value: `compare`'s
    /// equality is `==` on values unless a side is missing (a constant here never is), and
    /// a missing value is never in a list, nor `not in` it.
    #[inline]
    pub fn holds(&self, v: &Value) -> bool {
        let found = match v {
            Value::Missing => return false,
            Value::Text(s) => {
                let s = s.as_bytes();
                self.lengths & length_bit(s.len()) != 0 && {
                    let key = Key::of(s);
                    self.texts.iter().any(|(k, t)| key.same(s, k, t))
                }
            }
            Value::Num(x) => self.nums.iter().any(|n| n == x),
            _ => self.items.contains(v),
        };
        found != self.negated
    }

    pub fn prop(&self) -> u16 {
        self.prop
    }
}

/// A text length as one bit of a set of lengths, all above 62 sharing the last bit.
#[inline]
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}
