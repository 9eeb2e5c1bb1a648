//! Two small rule files compared on hand-made leads: counts, the matrix, the moved leads and
//! their deciding rules, a stage only one side has, leads on one side only, and batches
//! merged in order giving what one pass gives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::render::{self, change};
use super::*;

const SCHEMA: &str = r#"
schema {
  event signup
  event demo
  event rejected
  event returned
}
"#;

/// Before: B needs a demo; after: a signup is enough for B, and a new stage C needs a demo.
const BEFORE: &str = r#"
stage A { enter when signup }
stage B { enter when demo and no returned }
exit lost from any on rejected
move B -> A on returned
"#;
const AFTER: &str = r#"
stage A { enter when signup }
stage B { enter when signup }
stage C { enter when demo }
exit lost from any on rejected
"#;

fn plan(rules: &str, file: &str) -> Plan {
    let src = format!("{SCHEMA}{rules}");
    let compiled = crate::compile(&src, file);
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    compiled.plan().unwrap()
}

fn lead(plan: &Plan, id: &str, events: &[(&str, &str)]) -> Lead {
    let evs: Vec<String> = events
        .iter()
        .map(|(ty, at)| format!(r#"{{"type":"{ty}","at":"{at}T00:00:00Z"}}"#))
        .collect();
    let line = format!(r#"{{"id":"{id}","events":[{}]}}"#, evs.join(","));
    crate::input::jsonl::parse_line(plan, &line, format!("t:{id}"))
        .unwrap()
        .0
}

const AS_OF: i64 = 1_800_000_000_000;

/// Each lead as both sides see it, with decisions for the ones that move.
fn sides(before: &Plan, after: &Plan, c: &Comparison, events: &[(&str, &str)]) -> (Side, Side) {
    let l1 = lead(before, "x", events);
    let l2 = lead(after, "x", events);
    let (o1, o2) = (
        crate::eval::replay(before, &l1, AS_OF),
        crate::eval::replay(after, &l2, AS_OF),
    );
    let (mut s1, mut s2) = (Side::of(before, &o1), Side::of(after, &o2));
    if c.moves(Some(&s1), Some(&s2)) {
        s1.decision = decision(before, &l1, &o1);
        s2.decision = decision(after, &l2, &o2);
    }
    (s1, s2)
}

type Leads<'a> = Vec<(&'a str, Vec<(&'a str, &'a str)>)>;

fn leads() -> Leads<'static> {
    vec![
        ("L1", vec![("signup", "2025-01-01")]),
        ("L2", vec![("signup", "2025-01-01"), ("demo", "2025-01-05")]),
        (
            "L3",
            vec![("signup", "2025-01-01"), ("rejected", "2025-01-02")],
        ),
        (
            "L4",
            vec![
                ("signup", "2025-01-01"),
                ("demo", "2025-01-03"),
                ("returned", "2025-01-04"),
            ],
        ),
        ("L5", vec![]),
    ]
}

fn compared(keep: usize) -> Comparison {
    let (b, a) = (plan(BEFORE, "old.funnel"), plan(AFTER, "new.funnel"));
    let mut c = Comparison::new(&Names::of(&b), &Names::of(&a), keep);
    for (id, evs) in leads() {
        let (s1, s2) = sides(&b, &a, &c, &evs);
        c.add(id, Some(s1), Some(s2));
    }
    c
}

#[test]
fn names_are_the_union_of_both_sides() {
    let c = compared(10);
    assert_eq!(c.names.stages, ["A", "B", "C"]);
    assert_eq!(c.names.exits, ["lost"]);
}

#[test]
fn volumes_and_the_matrix_count_every_lead_once() {
    let c = compared(10);
    assert_eq!(c.leads, 5);
    // Before: L1 A; L2 B; L3 lost; L4 back in A (reached B); L5 outside.
    assert_eq!(c.reached[0], [4, 2, 0]);
    assert_eq!(c.ended[0], [2, 1, 0]);
    // After: L1 B; L2 C; L3 lost (through A and B at once); L4 C; L5 outside.
    assert_eq!(c.reached[1], [4, 4, 2]);
    assert_eq!(c.ended[1], [0, 1, 2]);
    assert_eq!(c.exited, [vec![1], vec![1]]);
    assert_eq!(c.outside, [1, 1]);
    let total: u64 = c.matrix.values().sum();
    assert_eq!(total, 5);
    assert_eq!(c.matrix.get(&(Spot::Stage(0), Spot::Stage(1))), Some(&1));
    assert_eq!(c.matrix.get(&(Spot::Stage(1), Spot::Stage(2))), Some(&1));
    assert_eq!(c.matrix.get(&(Spot::Stage(0), Spot::Stage(2))), Some(&1));
    assert_eq!(c.matrix.get(&(Spot::Exit(0), Spot::Exit(0))), Some(&1));
    assert_eq!(c.matrix.get(&(Spot::Outside, Spot::Outside)), Some(&1));
    assert_eq!(c.moved_count, 3);
}

#[test]
fn moved_leads_carry_the_rule_from_each_side() {
    let c = compared(10);
    let ids: Vec<&str> = c.moved.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["L1", "L2", "L4"]);
    let l4 = &c.moved[2];
    let before = l4.before_decision.as_ref().unwrap();
    assert_eq!(before.rule, "move B -> A");
    assert_eq!(before.file, "old.funnel");
    assert_eq!(before.line, 12);
    assert_eq!(before.event.as_deref(), Some("returned"));
    assert_eq!(before.at, "2025-01-04T00:00:00Z");
    let after = l4.after_decision.as_ref().unwrap();
    assert_eq!(after.rule, "enter C");
    assert_eq!((after.file.as_str(), after.line), ("new.funnel", 11));
    assert_eq!(after.event.as_deref(), Some("demo"));
    assert_eq!(
        render::decision_text(after),
        "enter C (new.funnel:11), on demo at 2025-01-03T00:00:00Z"
    );
}

#[test]
fn only_the_first_moved_leads_are_kept() {
    let c = compared(2);
    assert_eq!(c.moved_count, 3);
    assert_eq!(c.moved.len(), 2);
    let text = render::text(&render::tables(&c));
    assert!(text.contains("the first 2 of 3"), "{text}");
    let none = compared(0);
    assert_eq!((none.moved_count, none.moved.len()), (3, 0));
    let text = render::text(&render::tables(&none));
    assert!(text.contains("Leads that moved: 3, none listed"), "{text}");
    // No header over no rows, in either form.
    assert!(!text.contains("why before"), "{text}");
    let md = render::markdown(&render::tables(&none), 3);
    assert!(!md.contains("why before"), "{md}");
}

#[test]
fn batches_merged_in_order_give_one_pass() {
    let whole = compared(2);
    let (b, a) = (plan(BEFORE, "old.funnel"), plan(AFTER, "new.funnel"));
    let mut merged = Comparison::new(&Names::of(&b), &Names::of(&a), 2);
    for chunk in leads().chunks(2) {
        let mut part = merged.empty_like();
        for (id, evs) in chunk {
            let (s1, s2) = sides(&b, &a, &part, evs);
            part.add(id, Some(s1), Some(s2));
        }
        merged.merge(part);
    }
    assert_eq!(merged, whole);
}

#[test]
fn a_lead_on_one_side_only_is_absent_on_the_other() {
    let names = Names {
        stages: vec!["A".into()],
        exits: vec![],
    };
    let mut c = Comparison::new(&names, &names, 5);
    let mut reached = StageSet::default();
    reached.insert(0);
    let side = Side {
        place: names.place("A").unwrap(),
        reached,
        decision: None,
    };
    c.add("old", Some(side.clone()), None);
    c.add("new", None, Some(side));
    assert_eq!(c.absent, [1, 1]);
    assert_eq!(c.reached, [vec![1], vec![1]]);
    assert_eq!(c.moved_count, 2);
    assert_eq!(c.label(c.moved[0].after), "(absent)");
    let md = render::markdown(&render::tables(&c), 3);
    assert!(md.contains("| old | A | (absent) | — | — |"), "{md}");
}

#[test]
fn stage_sets_hold_stages_past_64() {
    let mut s = StageSet::default();
    for i in [0, 63, 64, 200, 64] {
        s.insert(i);
    }
    assert!(s.contains(63) && s.contains(64) && s.contains(200) && !s.contains(1));
    assert_eq!(s.iter().collect::<Vec<_>>(), [0, 63, 64, 200]);
}

#[test]
fn changes_are_signed() {
    assert_eq!(change(10, 12), "+2");
    assert_eq!(change(1200, 10), "−1,190");
    assert_eq!(change(3, 3), "0");
}

#[test]
fn the_json_names_places_and_pairs_sides() {
    let c = compared(10);
    let v: serde_json::Value = serde_json::from_str(&render::json(&c)).unwrap();
    assert_eq!(v["leads"], 5);
    assert_eq!(v["volumes"][2]["name"], "C");
    assert_eq!(v["volumes"][2]["reached"], serde_json::json!([0, 2]));
    assert_eq!(v["volumes"][4]["name"], "(outside)");
    assert_eq!(v["moved"][0]["why_after"]["rule"], "enter B");
    assert_eq!(v["moved_count"], 3);
}
