//! The lead reader on arbitrary lines: the fast JSONL path agrees with serde wherever it
//! answers (the same lead, the same unknown events), and so does the pre-pass that finds the
//! latest instant; neither panics.
#![no_main]

use funnelc::input::{fastjson, jsonl};
use funnelc::plan::Plan;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// A trait and an event property of every type, each read by a rule, nested traits and an
/// event without properties, so that every branch of both readers can be reached (the schema
/// of tests/fast_jsonl.rs).
const RULES: &str = include_str!("../../tests/fixtures/input/every-type.funnel");

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let compiled = funnelc::compile(RULES, "t.funnel");
        assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
        compiled.plan().expect("the schema compiles")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let p = plan();
    let slow = jsonl::parse_line_serde(p, line, "f:1".into());
    if let Some((mut lead, unknown)) = fastjson::parse_line(p, line) {
        lead.origin = "f:1".into();
        let Ok(slow) = slow else {
            panic!("the fast path read a line serde refuses:\n{line}");
        };
        assert_eq!(
            format!("{:?}", (lead, unknown)),
            format!("{slow:?}"),
            "the readers differ on:\n{line}"
        );
    }
    let serde = jsonl::latest_at_serde(line);
    if let Some(fast) = fastjson::latest_at(line, None) {
        assert_eq!(fast, serde, "latest instant of:\n{line}");
    }
    if let Some(t) = serde {
        for floor in [t - 1, t, t + 1] {
            if let Some(fast) = fastjson::latest_at(line, Some(floor)) {
                assert_eq!(fast.max(Some(floor)), serde.max(Some(floor)), "floor {floor}:\n{line}");
            }
        }
    }
});
