//! The KPI formulas on small hand-made funnels: empty stages, one-lead cohorts, periods with no
//! data, moves back, SLA stays, targets with growth, spend and ROI, sequence steps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::syntax::ast::Period;

const RULES: &str = r#"
funnel "t"
schema {
  trait source: text
  event signup
  event engaged
  event won { amount: money }
  event returned
  event mail.sent { step: int }
  event mail.opened { step: int }
}
stage A { enter when signup }
stage B sla 2d { enter when count mail.opened >= 2 or engaged }
stage C { enter when won }
move B -> A on returned
kpi conversion A -> B { failing below 50%, good from 70% }
kpi velocity A -> C { target at most 10d }
target volume A monthly from 2025-01 = 10, growing 10%
dimensions [source]
cost by source monthly { "ads": $100 }
revenue monthly amount of won
"#;

fn day(y: i32, m: u32, d: u32) -> i64 {
    crate::time::days_from_civil(y, m, d)
}

/// Runs leads (JSONL lines) through the rules as of `as_of` and builds the report.
fn report(lines: &[&str], as_of: &str, range: Range, spend: Option<&Spend>) -> Report {
    let both = vec![Compare::Previous, Compare::LastYear];
    report_comparing(lines, as_of, range, spend, both)
}

/// [`report`] with the windows `--compare` asks for.
fn report_comparing(
    lines: &[&str],
    as_of: &str,
    range: Range,
    spend: Option<&Spend>,
    compare: Vec<Compare>,
) -> Report {
    let compiled = crate::compile(RULES, "t.funnel");
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let plan = compiled.plan().unwrap();
    let spec = Spec::new(&compiled.file, &plan, &[]).unwrap();
    let as_of = crate::time::parse_timestamp(as_of).unwrap().millis;
    let cx = Context::new(&spec, plan.events.len(), range);
    let mut agg = Aggregate::new(&spec);
    for (i, line) in lines.iter().enumerate() {
        let (lead, _) = crate::input::jsonl::parse_line(&plan, line, format!("t:{i}")).unwrap();
        let out = crate::eval::replay(&plan, &lead, as_of);
        agg.add(&spec, cx.facts(&lead, &out));
    }
    let asked = Asked {
        as_of,
        from: range.from,
        to: range.to,
        period: Period::Monthly,
        compare,
        compare_given: false,
    };
    build(&spec, &agg, &asked, spend)
}

fn lead(id: &str, source: Option<&str>, events: &[(&str, &str)]) -> String {
    let traits = source.map_or("{}".to_string(), |s| format!(r#"{{"source":"{s}"}}"#));
    let evs: Vec<String> = events
        .iter()
        .map(|(ty, rest)| {
            let (at, props) = rest.split_once(' ').unwrap_or((rest, ""));
            let props = if props.is_empty() {
                String::new()
            } else {
                format!(",{props}")
            };
            format!(r#"{{"type":"{ty}","at":"{at}"{props}}}"#)
        })
        .collect();
    format!(
        r#"{{"id":"{id}","traits":{traits},"events":[{}]}}"#,
        evs.join(",")
    )
}

#[test]
fn no_leads_means_no_rates_and_no_division_by_zero() {
    let r = report(&[], "2025-03-31T00:00:00Z", Range::default(), None);
    assert!(r.stages.iter().all(|s| s.reached == 0));
    assert!(r.stages.iter().all(|s| s.from_previous.is_none()));
    assert!(r.stages.iter().all(|s| s.from_first.is_none()));
    assert_eq!(r.conversions[0].rate, None);
    assert_eq!(r.conversions[0].band, None);
    assert!(r
        .velocity
        .iter()
        .all(|v| v.mean_days.is_none() && v.median_days.is_none() && v.p90_days.is_none()));
    assert_eq!(r.velocity_targets[0].met, None);
    let rev = r.revenue.as_ref().unwrap();
    assert!(rev.per_stage.iter().all(Option::is_none));
    // Every format shows the empty numbers as a dash.
    let text = render::table(&r);
    assert!(text.contains('—'));
    assert!(!text.contains("NaN") && !text.contains("inf"));
}

#[test]
fn a_one_lead_cohort() {
    let l = lead(
        "L1",
        Some("ads"),
        &[
            ("signup", "2025-03-01T00:00:00Z"),
            ("engaged", "2025-03-04T00:00:00Z"),
            ("won", "2025-03-06T00:00:00Z \"amount\":500"),
        ],
    );
    let r = report(&[&l], "2025-03-31T00:00:00Z", Range::default(), None);
    let counts: Vec<u64> = r.stages.iter().map(|s| s.reached).collect();
    assert_eq!(counts, [1, 1, 1]);
    assert_eq!(r.stages[1].from_previous, Some(1.0));
    assert_eq!(r.conversions[0].band.as_deref(), Some("good"));
    assert_eq!(r.conversions[0].tone.as_deref(), Some("high"));
    assert_eq!(r.velocity[0].mean_days, Some(3.0));
    assert_eq!(r.velocity[0].median_days, Some(3.0));
    assert_eq!(r.velocity[0].p90_days, Some(3.0));
    assert_eq!(r.velocity[1].mean_days, Some(2.0));
    // First to last.
    assert_eq!(r.velocity[2].from, "A");
    assert_eq!(r.velocity[2].to, "C");
    assert_eq!(r.velocity[2].mean_days, Some(5.0));
    assert_eq!(r.velocity_targets[0].met, Some(true));
    assert_eq!(r.velocity_targets[0].over_target, 0);
    // B's SLA is 2 days and the lead stayed 2: not a breach.
    assert_eq!(r.sla[0].breached, 0);
    // Spend $100 for the month, one lead, $500 of revenue.
    let ch = &r.channels[0];
    assert_eq!(ch.rows[0].channel, "ads");
    assert_eq!(ch.rows[0].spend, Some(100.0));
    assert_eq!(ch.rows[0].cost_per, vec![Some(100.0); 3]);
    assert_eq!(ch.rows[0].roi, Some(4.0));
    let rev = r.revenue.as_ref().unwrap();
    assert_eq!(rev.total, 500.0);
    assert_eq!(rev.monthly, Some(500.0));
    assert_eq!(rev.months_to_payback, Some(0.2));
}

#[test]
fn first_entries_measure_velocity_and_moves_back_leave_the_straight_path() {
    // Into B on 03-05, returned to A on 03-07, into B again on 03-09 (the second engaged
    // event), C on 03-10: B's first entry counts, and C was not reached straight.
    let l = lead(
        "L1",
        Some("ads"),
        &[
            ("signup", "2025-03-01T00:00:00Z"),
            ("engaged", "2025-03-05T00:00:00Z"),
            ("returned", "2025-03-07T00:00:00Z"),
            ("engaged", "2025-03-09T00:00:00Z"),
            ("won", "2025-03-10T00:00:00Z \"amount\":1"),
        ],
    );
    let r = report(&[&l], "2025-03-31T00:00:00Z", Range::default(), None);
    assert_eq!(r.velocity[0].mean_days, Some(4.0));
    assert_eq!(r.velocity[1].mean_days, Some(5.0));
    let straight: Vec<u64> = r.stages.iter().map(|s| s.straight).collect();
    assert_eq!(straight, [1, 1, 0]);
    let reached: Vec<u64> = r.stages.iter().map(|s| s.reached).collect();
    assert_eq!(reached, [1, 1, 1]);
}

#[test]
fn sla_breaches_closed_and_ongoing() {
    let gone = lead(
        "L1",
        None,
        &[
            ("signup", "2025-03-01T00:00:00Z"),
            ("engaged", "2025-03-02T00:00:00Z"),
            ("won", "2025-03-10T00:00:00Z \"amount\":1"),
        ],
    );
    let stuck = lead(
        "L2",
        None,
        &[
            ("signup", "2025-03-01T00:00:00Z"),
            ("engaged", "2025-03-02T00:00:00Z"),
        ],
    );
    let r = report(
        &[&gone, &stuck],
        "2025-03-31T00:00:00Z",
        Range::default(),
        None,
    );
    assert_eq!(r.sla[0].breached, 2);
    assert_eq!(r.sla[0].ongoing, 1);
    assert!(r.insights.iter().any(|i| i.kind == "sla_breaches"));
    // The missing source is counted and warned about.
    assert_eq!(r.breakdowns[0].missing, 2);
    assert_eq!(r.breakdowns[0].rows[0].value, "(none)");
    assert!(r.warnings.iter().any(|w| w.contains("no `source`")));
}

#[test]
fn periods_with_no_data_and_targets_with_growth() {
    let jan = lead("L1", Some("ads"), &[("signup", "2025-01-15T00:00:00Z")]);
    let mar = lead("L2", Some("ads"), &[("signup", "2025-03-15T00:00:00Z")]);
    let mar2 = lead("L3", Some("ads"), &[("signup", "2025-03-16T00:00:00Z")]);
    let r = report(
        &[&jan, &mar, &mar2],
        "2025-03-31T00:00:00Z",
        Range::default(),
        None,
    );
    let rows: Vec<(String, u64)> = r
        .periods
        .iter()
        .map(|p| (p.period.clone(), p.entries[0]))
        .collect();
    assert_eq!(
        rows,
        [
            ("2025-01".to_string(), 1),
            ("2025-02".to_string(), 0),
            ("2025-03".to_string(), 2)
        ]
    );
    // February had none: January to February is −100%, February to March has no rate.
    assert_eq!(r.periods[1].change.as_ref().unwrap()[0], Some(-1.0));
    assert_eq!(r.periods[2].change.as_ref().unwrap()[0], None);
    // Without a window to compare with, no period says a change or a year before.
    let leads = [jan.as_str(), mar.as_str(), mar2.as_str()];
    let none = report_comparing(
        &leads,
        "2025-03-31T00:00:00Z",
        Range::default(),
        None,
        vec![],
    );
    assert!(none
        .periods
        .iter()
        .all(|p| p.change.is_none() && p.last_year.is_none()));
    let prev = report_comparing(
        &leads,
        "2025-03-31T00:00:00Z",
        Range::default(),
        None,
        vec![Compare::Previous],
    );
    assert_eq!(prev.periods[1].change, r.periods[1].change);
    // Target 10, growing 10% a month: 10, 11, 12.1; actual vs target (a − t) / t.
    let t: Vec<(f64, u64, Option<f64>)> = r.targets[0]
        .rows
        .iter()
        .map(|x| (x.target, x.actual, x.vs_target))
        .collect();
    assert_eq!(
        t,
        [
            (10.0, 1, Some(-0.9)),
            (11.0, 0, Some(-1.0)),
            (12.1, 2, Some(-0.8347))
        ]
    );
    // The declared $100 a month over the range, from the first funnel entry (January 15:
    // 17 of January's 31 days) to the as-of day (February and March in full).
    assert_eq!(r.channels[0].rows[0].spend, Some(254.84));
}

#[test]
fn the_range_picks_the_cohort_and_last_year_is_compared() {
    let old = lead("L0", Some("ads"), &[("signup", "2024-03-10T00:00:00Z")]);
    let now = lead("L1", Some("ads"), &[("signup", "2025-03-10T00:00:00Z")]);
    let range = Range {
        from: Some(day(2025, 3, 1)),
        to: Some(day(2025, 3, 31)),
    };
    let r = report(&[&old, &now], "2025-03-31T00:00:00Z", range, None);
    assert_eq!(r.leads.in_report, 1);
    assert_eq!(r.leads.outside_range, 1);
    assert_eq!(r.comparisons.len(), 2);
    // February 2025: nobody entered the funnel then, and the report says so.
    let prev = &r.comparisons[0];
    assert_eq!(prev.name, "previous period");
    assert_eq!(
        (prev.from.as_str(), prev.to.as_str()),
        ("2025-02-01", "2025-02-28")
    );
    assert_eq!(prev.coverage, "none");
    assert!(prev
        .note
        .as_ref()
        .unwrap()
        .contains("no lead in the data entered"));
    assert_eq!(prev.change[0], None);
    let ly = &r.comparisons[1];
    assert_eq!(ly.name, "same period last year");
    assert_eq!(ly.coverage, "partial");
    assert_eq!(ly.reached[0], 1);
    // One lead now against one then: no change.
    assert_eq!(ly.change[0], Some(0.0));
    let text = crate::report::render::table(&r);
    assert!(
        text.contains("no comparison with the previous period"),
        "{text}"
    );
    assert!(r.warnings[0].contains("1 lead entered the funnel outside"));
    assert_eq!(r.periods[0].last_year.as_ref().unwrap()[0], 1);
}

#[test]
fn sequence_steps_count_leads_once_and_the_step_that_triggered_an_entry() {
    let l = lead(
        "L1",
        None,
        &[
            ("signup", "2025-03-01T00:00:00Z"),
            ("mail.sent", "2025-03-01T01:00:00Z \"step\":1"),
            ("mail.sent", "2025-03-02T01:00:00Z \"step\":2"),
            ("mail.opened", "2025-03-02T02:00:00Z \"step\":1"),
            ("mail.opened", "2025-03-02T03:00:00Z \"step\":1"),
            ("mail.opened", "2025-03-03T02:00:00Z \"step\":2"),
        ],
    );
    let other = lead(
        "L2",
        None,
        &[
            ("signup", "2025-03-01T00:00:00Z"),
            ("mail.sent", "2025-03-01T01:00:00Z \"step\":1"),
        ],
    );
    let r = report(
        &[&l, &other],
        "2025-03-31T00:00:00Z",
        Range::default(),
        None,
    );
    let t = &r.steps[0];
    assert_eq!(t.family, "mail");
    assert_eq!(t.types, ["mail.sent", "mail.opened"]);
    assert_eq!(t.helped_stages, ["B"]);
    assert_eq!(t.rows[0].leads, [2, 1]);
    assert_eq!(t.rows[0].rates, [Some(0.5)]);
    // The second open of step 1 made the count 2: step 1 triggered B.
    assert_eq!(t.rows[0].helped, [1]);
    assert_eq!(t.rows[1].leads, [1, 1]);
    assert_eq!(t.rows[1].helped, [0]);
}

#[test]
fn spend_file_overrides_the_declaration_and_names_what_is_odd() {
    let l = lead("L1", Some("ads"), &[("signup", "2025-03-01T00:00:00Z")]);
    let spend = spend::parse(
        "channel,month,amount\nads,2025-03,40\nradio,2025-03,10\nads,2024-01,5\n",
        "s.csv",
    )
    .unwrap();
    let range = Range {
        from: Some(day(2025, 3, 1)),
        to: Some(day(2025, 3, 31)),
    };
    let r = report(&[&l], "2025-03-31T00:00:00Z", range, Some(&spend));
    let ch = &r.channels[0];
    assert_eq!(ch.rows[0].channel, "ads");
    assert_eq!(ch.rows[0].spend, Some(40.0));
    assert_eq!(ch.total.spend, Some(50.0));
    let w = r.warnings.join("\n");
    assert!(
        w.contains("s.csv: spend for `radio`, but no lead in the report has source `radio`"),
        "{w}"
    );
    assert!(
        w.contains("s.csv: 1 row for months outside 2025-03-01..2025-03-31 not counted"),
        "{w}"
    );
    assert!(r
        .insights
        .iter()
        .any(|i| i.kind == "spend_without_conversion"));
}

#[test]
fn every_format_renders_the_same_report() {
    let l = lead("L1", Some("a|b<c>"), &[("signup", "2025-03-01T00:00:00Z")]);
    let r = report(&[&l], "2025-03-31T00:00:00Z", Range::default(), None);
    assert!(render::markdown(&r).contains("a\\|b<c>"));
    let page = html::html(&r);
    assert!(page.contains("a|b&lt;c&gt;"));
    assert!(!page.contains("<c>"));
    let files = render::csv_files(&r);
    assert!(files.iter().any(|(n, _)| n == "stages.csv"));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["schema"], SCHEMA);
}

#[test]
fn batches_added_up_apart_and_merged_in_order_give_the_same_sums() {
    let compiled = crate::compile(RULES, "t.funnel");
    let plan = compiled.plan().unwrap();
    let spec = Spec::new(&compiled.file, &plan, &[]).unwrap();
    let as_of = crate::time::parse_timestamp("2025-06-30T00:00:00Z")
        .unwrap()
        .millis;
    let cx = Context::new(&spec, plan.events.len(), Range::default());
    let lines: Vec<String> = (0..40)
        .map(|i| {
            let day = 1 + i % 28;
            let mut events = vec![("signup", format!("2025-03-{day:02}T00:00:00Z"))];
            if i % 3 != 0 {
                events.push(("engaged", format!("2025-04-{day:02}T00:00:00Z")));
            }
            if i % 5 == 0 {
                events.push(("won", format!("2025-05-{day:02}T00:00:00Z \"amount\":{i}")));
            }
            let source = ["ads", "seo", "none"][i % 3];
            let events: Vec<(&str, &str)> = events.iter().map(|(t, r)| (*t, r.as_str())).collect();
            lead(
                &format!("L{i}"),
                (source != "none").then_some(source),
                &events,
            )
        })
        .collect();
    let facts: Vec<Facts> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let (l, _) = crate::input::jsonl::parse_line(&plan, line, format!("t:{i}")).unwrap();
            cx.facts(&l, &crate::eval::replay(&plan, &l, as_of))
        })
        .collect();
    let mut whole = Aggregate::new(&spec);
    facts.iter().for_each(|f| whole.add(&spec, f.clone()));
    for size in [1, 3, 7, 40] {
        let mut merged = Aggregate::new(&spec);
        for chunk in facts.chunks(size) {
            let mut part = Aggregate::new(&spec);
            chunk.iter().for_each(|f| part.add(&spec, f.clone()));
            merged.merge(part);
        }
        assert_eq!(merged, whole, "batches of {size}");
    }
}

#[test]
fn the_stage_inventory_balances_stays_per_period() {
    let l = lead(
        "L1",
        None,
        &[
            ("signup", "2025-03-01T00:00:00Z"),
            ("engaged", "2025-04-02T00:00:00Z"),
            ("returned", "2025-04-05T00:00:00Z"),
        ],
    );
    let r = report(&[&l], "2025-04-30T00:00:00Z", Range::default(), None);
    type Row<'a> = (&'a str, &'a str, u64, u64, u64, u64, Option<f64>);
    let rows: Vec<Row> = r
        .inventory
        .iter()
        .map(|x| {
            (
                x.period.as_str(),
                x.stage.as_str(),
                x.start,
                x.entered,
                x.left,
                x.end,
                x.mean_days_in_stage,
            )
        })
        .collect();
    // Moved back to A on 04-05, B re-entered at once on the old evidence (engaged): A is
    // entered twice and left twice in April, once after 32 days and once after none.
    assert_eq!(
        rows,
        [
            ("2025-03", "A", 0, 1, 0, 1, None),
            ("2025-03", "B", 0, 0, 0, 0, None),
            ("2025-03", "C", 0, 0, 0, 0, None),
            ("2025-04", "A", 1, 1, 2, 0, Some(16.0)),
            ("2025-04", "B", 0, 2, 1, 1, Some(3.0)),
            ("2025-04", "C", 0, 0, 0, 0, None),
        ]
    );
}

#[test]
fn each_breakdown_value_has_the_cohorts_tables() {
    // ads: two leads reach B (one in 1 day, one in 3: a breach of B's 2-day SLA), one of
    // them C; web: one lead that stays in A.
    let ads1 = lead(
        "L1",
        Some("ads"),
        &[
            ("signup", "2025-03-01T00:00:00Z"),
            ("engaged", "2025-03-02T00:00:00Z"),
            ("won", "2025-03-03T00:00:00Z \"amount\":10"),
        ],
    );
    let ads2 = lead(
        "L2",
        Some("ads"),
        &[
            ("signup", "2025-03-01T00:00:00Z"),
            ("engaged", "2025-03-04T00:00:00Z"),
        ],
    );
    let web = lead("L3", Some("web"), &[("signup", "2025-03-01T00:00:00Z")]);
    let r = report(
        &[&ads1, &ads2, &web],
        "2025-03-31T00:00:00Z",
        Range::default(),
        None,
    );
    let b = &r.breakdowns[0];
    let (ads, web) = (&b.rows[0], &b.rows[1]);
    assert_eq!((ads.value.as_str(), web.value.as_str()), ("ads", "web"));
    assert_eq!(ads.reached, [2, 2, 1]);
    assert_eq!(ads.from_previous, [None, Some(1.0), Some(0.5)]);
    // The conversion KPI and its band, per value: 100% good, 0% failing.
    assert_eq!(ads.conversions[0].rate, Some(1.0));
    assert_eq!(ads.conversions[0].band.as_deref(), Some("good"));
    assert_eq!(web.conversions[0].rate, Some(0.0));
    assert_eq!(web.conversions[0].band.as_deref(), Some("failing"));
    // Velocity A -> B over ads' two leads: 1 and 3 days; web has none (no division by 0).
    assert_eq!(ads.velocity[0].leads, 2);
    assert_eq!(ads.velocity[0].mean_days, Some(2.0));
    assert_eq!(ads.velocity[0].median_days, Some(1.0));
    assert_eq!(web.velocity[0].leads, 0);
    assert_eq!(web.velocity[0].mean_days, None);
    // B's SLA: L2 is still in B after 27 days; L1 left after a day.
    assert_eq!(ads.sla[0].stage, "B");
    assert_eq!(ads.sla[0].breached, 1);
    assert_eq!(web.sla[0].breached, 0);
    // Every format has the per-value tables.
    let text = crate::report::render::table(&r);
    for title in [
        "Conversion KPIs by source",
        "Days between stages by source",
        "SLA breaches by source",
    ] {
        assert!(text.contains(title), "{title}");
    }
}

#[test]
fn spend_is_prorated_by_the_days_of_a_period_inside_the_range() {
    let l = lead("L1", Some("ads"), &[("signup", "2025-03-12T00:00:00Z")]);
    // March 10 to 20: 11 of March's 31 days.
    let range = Range {
        from: Some(day(2025, 3, 10)),
        to: Some(day(2025, 3, 20)),
    };
    // The declared $100 a month.
    let r = report(&[&l], "2025-03-31T00:00:00Z", range, None);
    assert_eq!(r.channels[0].rows[0].spend, Some(35.48));
    assert!(
        r.warnings.iter().any(|w| w
            == "the range 2025-03-10..2025-03-20 covers 11 of the 31 days of month 2025-03: its \
                spend is counted for those days only"),
        "{:?}",
        r.warnings
    );
    // $310 in the spend file for March: $10 a day.
    let spend = spend::parse("channel,month,amount\nads,2025-03,310\n", "s.csv").unwrap();
    let r = report(&[&l], "2025-03-31T00:00:00Z", range, Some(&spend));
    assert_eq!(r.channels[0].rows[0].spend, Some(110.0));
    // Across two months: February 20 to March 9 is 9 of February's 28 days and 9 of March's
    // 31.
    let range = Range {
        from: Some(day(2025, 2, 20)),
        to: Some(day(2025, 3, 9)),
    };
    let l = lead("L1", Some("ads"), &[("signup", "2025-03-01T00:00:00Z")]);
    let r = report(&[&l], "2025-03-31T00:00:00Z", range, None);
    let want: f64 = (100.0 * 9.0 / 28.0 + 100.0 * 9.0 / 31.0) * 100.0;
    assert_eq!(r.channels[0].rows[0].spend, Some(want.round() / 100.0));
    // A whole month is charged in full, with no warning.
    let range = Range {
        from: Some(day(2025, 3, 1)),
        to: Some(day(2025, 3, 31)),
    };
    let r = report(&[&l], "2025-03-31T00:00:00Z", range, None);
    assert_eq!(r.channels[0].rows[0].spend, Some(100.0));
    assert!(!r
        .warnings
        .iter()
        .any(|w| w.contains("counted for those days")));
}
