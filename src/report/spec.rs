//! What a report measures, read off the rule file: the stages, and every KPI, target,
//! dimension, cost and revenue declaration resolved to stage indices and data slots. The plan
//! carries none of these (replay never needs them), so they are taken from the checked AST
//! here, once, before any lead is read.

use crate::check::Ty;
use crate::plan::Plan;
use crate::syntax::ast::{self, BandRange, Item, Kpi, Period};

/// One stage as the report names it.
#[derive(Clone, Debug)]
pub struct StageSpec {
    pub name: String,
    pub display: Option<String>,
    /// The stage's SLA in milliseconds.
    pub sla_ms: Option<i64>,
}

/// A conversion band, in percent as written.
#[derive(Clone, Debug, PartialEq)]
pub struct BandSpec {
    pub label: String,
    pub range: Band,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Band {
    Below(f64),
    From(f64),
    Between(f64, f64),
}

/// `kpi conversion A -> B { BANDS }`.
#[derive(Clone, Debug)]
pub struct ConversionKpi {
    pub from: usize,
    pub to: usize,
    pub bands: Vec<BandSpec>,
}

/// `kpi velocity A -> B { target at most D }`.
#[derive(Clone, Debug)]
pub struct VelocityKpi {
    pub from: usize,
    pub to: usize,
    pub at_most_ms: i64,
    /// As written (`7d`).
    pub text: String,
}

/// `target volume S PERIOD from YYYY-MM = N, growing P`.
#[derive(Clone, Debug)]
pub struct TargetSpec {
    pub stage: usize,
    pub period: Period,
    /// The first day of the target's first period (days since 1970).
    pub from_day: i64,
    pub base: u64,
    /// Growth per period, as a fraction (10% is 0.1).
    pub growth: f64,
}

/// A trait the report breaks leads down by.
#[derive(Clone, Debug, PartialEq)]
pub struct Dimension {
    pub name: String,
    pub slot: usize,
}

/// `cost by TRAIT PERIOD { "value": AMOUNT, ... }`, all declarations on one trait merged.
#[derive(Clone, Debug)]
pub struct CostSpec {
    pub by: Dimension,
    pub period: Period,
    pub currency: String,
    /// Spend per period, by trait value, in declaration order.
    pub entries: Vec<(String, f64)>,
}

/// `revenue [PERIOD] PROP of EVENT`.
#[derive(Clone, Debug)]
pub struct RevenueSpec {
    pub event: u16,
    pub prop: usize,
    pub period: Option<Period>,
    /// `amount of opportunity.created`
    pub text: String,
}

/// Event types named `FAMILY.something` that carry an int `step` property: a sequence (the
/// email sequence: `email.sent`, `email.opened`, `email.clicked`).
#[derive(Clone, Debug)]
pub struct Family {
    pub name: String,
    /// (event type, its name, the slot of its `step`), in declaration order.
    pub types: Vec<(u16, String, usize)>,
}

/// Everything a report measures.
#[derive(Clone, Debug)]
pub struct Spec {
    pub funnel: Option<String>,
    pub stages: Vec<StageSpec>,
    pub conversions: Vec<ConversionKpi>,
    pub velocities: Vec<VelocityKpi>,
    pub targets: Vec<TargetSpec>,
    /// The declared `dimensions`, then the `--by` traits not among them.
    pub dimensions: Vec<Dimension>,
    pub costs: Vec<CostSpec>,
    pub revenue: Vec<RevenueSpec>,
    pub families: Vec<Family>,
    /// Declarations the report cannot measure, said in its warnings.
    pub warnings: Vec<String>,
}

impl Spec {
    /// Reads the report's declarations from a checked file and its plan. `by` adds dimensions
    /// (trait paths); an undeclared one is an error naming it.
    pub fn new(file: &ast::File, plan: &Plan, by: &[String]) -> Result<Spec, String> {
        let stage = |n: &ast::Name| {
            plan.stage_index(&n.text)
                .ok_or_else(|| format!("unknown stage `{}`", n.text))
        };
        let dimension = |path: &str| {
            plan.trait_slot(path)
                .map(|slot| Dimension {
                    name: path.to_string(),
                    slot,
                })
                .ok_or_else(|| format!("`{path}` is not a trait declared in the schema"))
        };
        let mut spec = Spec {
            funnel: plan.funnel.clone(),
            stages: plan
                .stages
                .iter()
                .map(|s| StageSpec {
                    name: s.name.clone(),
                    display: s.display.clone(),
                    sla_ms: s.sla,
                })
                .collect(),
            conversions: Vec::new(),
            velocities: Vec::new(),
            targets: Vec::new(),
            dimensions: Vec::new(),
            costs: Vec::new(),
            revenue: Vec::new(),
            families: families(file, plan),
            warnings: Vec::new(),
        };
        for item in &file.items {
            match item {
                Item::Kpi(Kpi::Conversion {
                    from, to, bands, ..
                }) => spec.conversions.push(ConversionKpi {
                    from: stage(from)?,
                    to: stage(to)?,
                    bands: bands
                        .iter()
                        .map(|b| BandSpec {
                            label: b.label.text.clone(),
                            range: match b.range {
                                BandRange::Below(p) => Band::Below(p.value),
                                BandRange::From(p) => Band::From(p.value),
                                BandRange::Between(p, q) => Band::Between(p.value, q.value),
                            },
                        })
                        .collect(),
                }),
                Item::Kpi(Kpi::Velocity {
                    from, to, at_most, ..
                }) => {
                    let (a, b) = (stage(from)?, stage(to)?);
                    // A lead enters a later stage after an earlier one, never before: the
                    // time back up the funnel is not a duration (`check` warns of it too).
                    if b <= a {
                        spec.warnings.push(format!(
                            "kpi velocity {} -> {} is not measured: {} does not come after {} \
                             in the funnel",
                            from.text, to.text, to.text, from.text
                        ));
                        continue;
                    }
                    spec.velocities.push(VelocityKpi {
                        from: a,
                        to: b,
                        at_most_ms: at_most.value.seconds() * 1000,
                        text: format!("{}{}", at_most.value.value, at_most.value.unit.suffix()),
                    });
                }
                Item::Target(t) => spec.targets.push(TargetSpec {
                    stage: stage(&t.stage)?,
                    period: t.period,
                    from_day: crate::time::days_from_civil(t.from.year, t.from.month, 1),
                    base: t.base,
                    growth: t.growth.map_or(0.0, |g| g.value / 100.0),
                }),
                Item::Dimensions(d) => {
                    for p in &d.paths {
                        let dim = dimension(&p.text)?;
                        if !spec.dimensions.contains(&dim) {
                            spec.dimensions.push(dim);
                        }
                    }
                }
                Item::Cost(c) => {
                    let by = dimension(&c.by.text)?;
                    let at = match spec.costs.iter().position(|x| x.by == by) {
                        Some(i) => i,
                        None => {
                            spec.costs.push(CostSpec {
                                by,
                                period: c.period,
                                currency: c
                                    .entries
                                    .first()
                                    .map_or("USD".into(), |e| e.amount.currency.clone()),
                                entries: Vec::new(),
                            });
                            spec.costs.len() - 1
                        }
                    };
                    for e in &c.entries {
                        spec.costs[at]
                            .entries
                            .push((e.key.clone(), e.amount.amount));
                    }
                }
                Item::Revenue(r) => {
                    let ev = plan
                        .event_id(&r.event.text)
                        .ok_or_else(|| format!("unknown event `{}`", r.event.text))?;
                    let prop = plan.events[ev as usize]
                        .props
                        .iter()
                        .position(|(n, _)| *n == r.prop.text)
                        .ok_or_else(|| format!("unknown property `{}`", r.prop.text))?;
                    spec.revenue.push(RevenueSpec {
                        event: ev,
                        prop,
                        period: r.period,
                        text: format!("{} of {}", r.prop.text, r.event.text),
                    });
                }
                _ => {}
            }
        }
        for b in by {
            let dim = dimension(b)?;
            if !spec.dimensions.contains(&dim) {
                spec.dimensions.push(dim);
            }
        }
        Ok(spec)
    }

    /// With a spend file and no `cost by` declaration: the spend is per value of the first
    /// dimension (monthly, in USD).
    pub fn spend_by_first_dimension(&mut self) -> Result<(), String> {
        let Some(by) = self.dimensions.first().cloned() else {
            return Err(
                "the rule file has no `cost by TRAIT` and no `dimensions`: nothing says which trait the channels are values of"
                    .into(),
            );
        };
        self.costs.push(CostSpec {
            by,
            period: Period::Monthly,
            currency: "USD".into(),
            entries: Vec::new(),
        });
        Ok(())
    }

    pub fn stage_name(&self, i: usize) -> &str {
        self.stages.get(i).map_or("", |s| s.name.as_str())
    }
}

/// Event types grouped by the part of their name before the last dot, keeping those with an
/// int `step` property, in the order the schema declares them (sent, opened, clicked: the
/// first type is what the others' rates are of).
fn families(file: &ast::File, plan: &Plan) -> Vec<Family> {
    let declared = file.items.iter().flat_map(|item| match item {
        Item::Schema(s) => s.entries.iter().collect::<Vec<_>>(),
        _ => Vec::new(),
    });
    let mut out: Vec<Family> = Vec::new();
    for decl in declared {
        let ast::SchemaEntry::Event(e) = decl else {
            continue;
        };
        let Some(i) = plan.event_id(&e.name.text) else {
            continue;
        };
        let ev = &plan.events[i as usize];
        if out.iter().any(|f| f.types.iter().any(|t| t.0 == i)) {
            continue;
        }
        let Some(slot) = ev
            .props
            .iter()
            .position(|(n, t)| n == "step" && *t == Ty::Int)
        else {
            continue;
        };
        let family = ev.name.rsplit_once('.').map_or("", |(f, _)| f).to_string();
        let ty = (i, ev.name.clone(), slot);
        match out.iter_mut().find(|f| f.name == family) {
            Some(f) => f.types.push(ty),
            None => out.push(Family {
                name: family,
                types: vec![ty],
            }),
        }
    }
    out
}

/// The band a conversion rate (a fraction) falls in: the `between` band that holds it, else
/// the `below` band under its bound, else the highest `from` at or under it. `None` between
/// bands (60% with `failing below 50%, good from 70%`).
pub fn band_of(bands: &[BandSpec], rate: f64) -> Option<usize> {
    let pct = rate * 100.0;
    // A rate shown as 50.0% is compared as written, not as 49.99999…
    let pct = (pct * 1e9).round() / 1e9;
    if let Some(i) = bands
        .iter()
        .position(|b| matches!(b.range, Band::Between(lo, hi) if pct >= lo && pct <= hi))
    {
        return Some(i);
    }
    if let Some(i) = bands
        .iter()
        .position(|b| matches!(b.range, Band::Below(p) if pct < p))
    {
        return Some(i);
    }
    bands
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match b.range {
            Band::From(p) if pct >= p => Some((i, p)),
            _ => None,
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bands() -> Vec<BandSpec> {
        let b = |label: &str, range| BandSpec {
            label: label.into(),
            range,
        };
        vec![
            b("failing", Band::Below(50.0)),
            b("good", Band::From(70.0)),
            b("excellent", Band::From(85.0)),
        ]
    }

    #[test]
    fn a_rate_falls_in_its_band_or_between_bands() {
        let b = bands();
        assert_eq!(band_of(&b, 0.48), Some(0));
        assert_eq!(band_of(&b, 0.5), None);
        assert_eq!(band_of(&b, 0.6), None);
        assert_eq!(band_of(&b, 0.7), Some(1));
        assert_eq!(band_of(&b, 0.833), Some(1));
        assert_eq!(band_of(&b, 0.85), Some(2));
        assert_eq!(band_of(&b, 1.0), Some(2));
        let healthy = [BandSpec {
            label: "healthy".into(),
            range: Band::Between(25.0, 45.0),
        }];
        assert_eq!(band_of(&healthy, 0.25), Some(0));
        assert_eq!(band_of(&healthy, 0.45), Some(0));
        assert_eq!(band_of(&healthy, 0.46), None);
    }

    #[test]
    fn a_velocity_kpi_up_the_funnel_is_not_measured_and_says_so() {
        let src = "schema {\n  event a\n  event b\n}\nstage A { enter when a }\n\
                   stage B { enter when b }\nkpi velocity B -> A { target at most 7d }\n\
                   kpi velocity A -> B { target at most 7d }\n";
        let compiled = crate::compile(src, "t");
        let Some(plan) = compiled.plan() else {
            unreachable!("the rules compile")
        };
        let Ok(spec) = Spec::new(&compiled.file, &plan, &[]) else {
            unreachable!("the spec reads")
        };
        assert_eq!(spec.velocities.len(), 1);
        assert_eq!((spec.velocities[0].from, spec.velocities[0].to), (0, 1));
        assert_eq!(
            spec.warnings,
            ["kpi velocity B -> A is not measured: A does not come after B in the funnel"]
        );
    }
}
