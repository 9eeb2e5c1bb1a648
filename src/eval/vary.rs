//! What a condition can be over a stretch of time between two looks, with the history fixed:
//! only decaying scores and `days since` values move then (windows change only at timer
//! instants, which are looks of their own). The machine uses it to find the first instant a
//! condition changes by time alone, however the scores rise and fall (`score a + b < -5`
//! with two half-lives turns true and false again): a stretch whose conditions provably keep
//! their value is passed over whole, any other is split in two.
//!
//! Each value is bounded from its values at the two ends of the stretch. That is sound because
//! every part that moves is monotone on its own: a rule's decayed contribution only shrinks
//! toward zero (a cap or rounding keeps it monotone), and `days since` only grows. A sum of
//! such parts is not monotone, but it lies between the sum of each part's smaller end and the
//! sum of its larger end, and the interval arithmetic below carries those bounds through.

use super::condition::Moment;
use super::operand::Operand;
use crate::plan::{Cond, RulePoints};
use crate::syntax::ast::BinOp;

/// A value over the stretch: bounds of a number, or a condition that is surely one way
/// (`Some`) or may change (`None`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    Num(f64, f64),
    Bool(Option<bool>),
    /// Missing throughout.
    Missing,
}

/// The stretch `[lo, hi]`: the same history and state, two moments.
pub struct Stretch<'m, 'a> {
    pub lo: &'m Moment<'a>,
    pub hi: &'m Moment<'a>,
}

impl Stretch<'_, '_> {
    /// `None`: the condition does not move with time alone (its value at `lo` holds
    /// throughout).
    pub fn range(&self, c: &Cond) -> Option<Range> {
        match c {
            Cond::Score(i) => self.score(*i as usize),
            Cond::Grade(i) => {
                let Range::Num(a, b) = self.score(*i as usize)? else {
                    return None;
                };
                let grades = &self.lo.plan.scores.get(*i as usize)?.grades;
                let grade = |v: f64| grades.iter().position(|(_, from)| v >= *from);
                // A better score has a better (smaller) grade index.
                match (grade(b), grade(a)) {
                    (Some(x), Some(y)) => Some(Range::Num(x as f64, y as f64)),
                    (None, None) => Some(Range::Missing),
                    // Missing at one end only: the grade's value is not bounded.
                    _ => Some(Range::Bool(None)),
                }
            }
            Cond::DaysSince(..) | Cond::DaysSinceEntering(_) => {
                match (self.lo.eval(c, None).norm(), self.hi.eval(c, None).norm()) {
                    (Operand::Num(a), Operand::Num(b)) => Some(Range::Num(a.min(b), a.max(b))),
                    _ => None,
                }
            }
            Cond::Segment(i) => {
                let i = *i as usize;
                if self.lo.plan.trait_segments.get(i).copied().unwrap_or(false) {
                    return None;
                }
                let (_, seg, _) = self.lo.plan.segments.get(i)?;
                self.range(seg)
            }
            Cond::Not(x) => match self.range(x)? {
                Range::Bool(b) => Some(Range::Bool(b.map(|b| !b))),
                Range::Num(..) => Some(Range::Bool(Some(false))),
                Range::Missing => Some(Range::Bool(Some(true))),
            },
            Cond::Neg(x) => match self.range(x)? {
                Range::Num(a, b) => Some(Range::Num(-b, -a)),
                _ => Some(Range::Missing),
            },
            Cond::All(v) => self.logic(v, v.len()),
            Cond::Any(v) => self.logic(v, 1),
            Cond::AtLeast(k, v) => self.logic(v, *k as usize),
            Cond::Exists(x) => match self.range(x)? {
                Range::Missing => Some(Range::Bool(Some(false))),
                Range::Num(..) => Some(Range::Bool(Some(true))),
                Range::Bool(b) => Some(Range::Bool(b.map(|_| true))),
            },
            Cond::Arith(op, a, b) => {
                let (ra, rb) = self.pair(a, b)?;
                Some(arith(*op, ra, rb))
            }
            Cond::Cmp(op, a, b) => {
                let (ra, rb) = self.pair(a, b)?;
                Some(Range::Bool(cmp(*op, ra, rb)))
            }
            Cond::Between(v, lo, hi) => {
                let rv = self.range(v);
                let rl = self.range(lo);
                let rh = self.range(hi);
                if rv.is_none() && rl.is_none() && rh.is_none() {
                    return None;
                }
                let v = rv.unwrap_or_else(|| self.fixed(v));
                let ge = cmp(BinOp::Ge, v, rl.unwrap_or_else(|| self.fixed(lo)));
                let le = cmp(BinOp::Le, v, rh.unwrap_or_else(|| self.fixed(hi)));
                Some(Range::Bool(and(ge, le)))
            }
            // A value that moves tested against a list or by a text test: not decided here.
            Cond::In(v, _, _) | Cond::Test(_, v, _, _) => self.range(v).map(|_| Range::Bool(None)),
            _ => None,
        }
    }

    /// The value at `lo`, as a range of one point.
    fn fixed(&self, c: &Cond) -> Range {
        match self.lo.eval(c, None).norm() {
            Operand::Num(x) => Range::Num(x, x),
            Operand::Bool(b) => Range::Bool(Some(b)),
            Operand::Missing => Range::Missing,
            // Text, lists and times do not move; comparisons with them are decided at `lo`.
            _ => Range::Bool(None),
        }
    }

    fn pair(&self, a: &Cond, b: &Cond) -> Option<(Range, Range)> {
        let (ra, rb) = (self.range(a), self.range(b));
        if ra.is_none() && rb.is_none() {
            return None;
        }
        Some((
            ra.unwrap_or_else(|| self.fixed(a)),
            rb.unwrap_or_else(|| self.fixed(b)),
        ))
    }

    /// At least `k` of `items` hold (`all`: k = len, `any`: k = 1).
    fn logic(&self, items: &[Cond], k: usize) -> Option<Range> {
        let ranges: Vec<Option<Range>> = items.iter().map(|x| self.range(x)).collect();
        if ranges.iter().all(Option::is_none) {
            return None;
        }
        let (mut sure, mut maybe) = (0, 0);
        for (x, r) in items.iter().zip(ranges) {
            match r.map_or_else(|| Some(self.lo.eval(x, None).truthy()), as_bool) {
                Some(true) => sure += 1,
                None => maybe += 1,
                Some(false) => {}
            }
        }
        Some(Range::Bool(if sure >= k {
            Some(true)
        } else if sure + maybe < k {
            Some(false)
        } else {
            None
        }))
    }

    /// A decaying score's bounds over the stretch (`None` for a score that does not decay).
    fn score(&self, i: usize) -> Option<Range> {
        let model = self.lo.plan.scores.get(i)?;
        model.decay.as_ref()?;
        let (lo, hi) = (self.lo.score(i), self.hi.score(i));
        let (mut min, mut max) = (0.0, 0.0);
        for (ri, rule) in model.rules.iter().enumerate() {
            let at =
                |s: &super::ScoreValue| s.parts.iter().find(|p| p.0 == ri).map_or(0.0, |p| p.1);
            let (a, b) = (at(&lo), at(&hi));
            let (mut x, mut y) = (a.min(b), a.max(b));
            // A `when` rule whose condition may change within the stretch may restart its
            // stretch: anything between nothing and its full points.
            if let RulePoints::When(c) = &rule.kind {
                if self.range(c).is_some_and(|r| as_bool(r).is_none()) {
                    x = x.min(0.0).min(rule.points);
                    y = y.max(0.0).max(rule.points);
                }
            }
            min += x;
            max += y;
        }
        let clamp = |v: f64| {
            let v = model.max.map_or(v, |m| v.min(m));
            model.min.map_or(v, |m| v.max(m))
        };
        // Expiry is a step down to zero, not a slope: the ends bound it too.
        Some(Range::Num(clamp(round2(min)), clamp(round2(max))))
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A range as a condition: `None` when it may be either.
pub fn as_bool(r: Range) -> Option<bool> {
    match r {
        Range::Bool(b) => b,
        // A number or a missing value as a condition is false, as `truthy` says.
        Range::Num(..) | Range::Missing => Some(false),
    }
}

fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn arith(op: BinOp, a: Range, b: Range) -> Range {
    let (Range::Num(a0, a1), Range::Num(b0, b1)) = (a, b) else {
        // Arithmetic with a missing value is missing; with anything else, unbounded.
        return match (a, b) {
            (Range::Missing, _) | (_, Range::Missing) => Range::Missing,
            _ => Range::Bool(None),
        };
    };
    let corners = |f: fn(f64, f64) -> f64| {
        let v = [f(a0, b0), f(a0, b1), f(a1, b0), f(a1, b1)];
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Range::Num(lo, hi)
    };
    match op {
        BinOp::Add => Range::Num(a0 + b0, a1 + b1),
        BinOp::Sub => Range::Num(a0 - b1, a1 - b0),
        BinOp::Mul => corners(|x, y| x * y),
        // Division by a range that holds zero may be missing or anything.
        _ if b0 <= 0.0 && b1 >= 0.0 => Range::Bool(None),
        _ => corners(|x, y| x / y),
    }
}

/// A comparison of two ranges: sure when every pair of values gives the same answer.
fn cmp(op: BinOp, a: Range, b: Range) -> Option<bool> {
    let (Range::Num(a0, a1), Range::Num(b0, b1)) = (a, b) else {
        return match (a, b) {
            // A comparison with a missing value is false.
            (Range::Missing, _) | (_, Range::Missing) => Some(false),
            _ => None,
        };
    };
    let decide = |always: bool, never: bool| {
        if always {
            Some(true)
        } else if never {
            Some(false)
        } else {
            None
        }
    };
    match op {
        BinOp::Lt => decide(a1 < b0, a0 >= b1),
        BinOp::Le => decide(a1 <= b0, a0 > b1),
        BinOp::Gt => decide(a0 > b1, a1 <= b0),
        BinOp::Ge => decide(a0 >= b1, a1 < b0),
        BinOp::Eq => decide(a0 == a1 && b0 == b1 && a0 == b0, a1 < b0 || b1 < a0),
        BinOp::Ne => decide(a1 < b0 || b1 < a0, a0 == a1 && b0 == b1 && a0 == b0),
        _ => None,
    }
}
