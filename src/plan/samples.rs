//! Rule files the unit tests of the plan and of the interpreter share.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::Plan;

/// The schema and segment both test funnels share.
macro_rules! schema {
    () => {
        r#"schema {
  trait plan: text
  trait seats: int
  event ping { kind: text, n: int }
  event open
  event click { ok: bool }
  event back
  event drop
  event noise { kind: text }
}
segment big = seats >= 10 and plan in ["pro", "team"]
"#
    };
}

/// Exercises what skipping looks must respect: windows, absences, `days since`, a hold
/// after a move, exits from one stage, decaying and expiring scores read by stages, and
/// decaying `when` rules that read time.
pub(crate) const TIMED: &str = concat!(
    "funnel \"timed\"\n",
    schema!(),
    r#"
segment busy = count click where ok == true >= 2
score heat max 40 decay half-life 3d {
  +10 per open max 20
  +15 when click where ok within 2d
  -10 when drop
}
score fresh decay expire after 5d {
  +5 per ping where kind == "a"
  grade top from 10
  grade low from 0
}
stage A { enter when ping or open }
stage B { enter when big and count open within 4d >= 2 or busy }
stage C { enter when score heat + fresh >= 30 or grade fresh == top }
stage D { enter when no ping within 3d and days since last open >= 2 }
stage E { enter when click then back within 1d or days since entering D > 1.5 }
move C -> B when back
move E -> C when noise where kind == "x"
exit gone from [B, D] when drop
"#
);

/// Timers and holds where some positions read only events, so their looks, timer looks
/// included, are passed over.
pub(crate) const MIXED: &str = concat!(
    "funnel \"mixed\"\n",
    schema!(),
    r#"
score heat max 40 decay half-life 3d {
  +10 per open max 20
  +15 when click where ok
  -10 when drop
}
score mood decay half-life 2d {
  +10 per open max 30
  -20 per noise
}
score fresh decay expire after 5d {
  +5 per ping where (kind == "a" and n > 1)
  grade top from 10
  grade low from 0
}
stage A { enter when ping or seats >= 100 }
stage B { enter when count open >= 2 and big or click where ok then back within 2d }
stage C { enter when no ping within 3d or rate open / click >= 50% }
stage D { enter when click where ok and score mood > -5 }
stage E { enter when score fresh >= 5 or grade fresh == top }
stage F { enter when n of latest ping >= 2 and open or days since entering E >= 1 }
move D -> B when back
move B -> A when noise where kind == "x"
move F -> E when back
exit gone from [B, D] when drop
"#
);

pub(crate) fn compile_src(src: &str) -> Plan {
    let compiled = crate::compile(src, "t.funnel");
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    compiled.plan().unwrap()
}
