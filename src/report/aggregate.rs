//! The two halves of streaming aggregation. [`Facts`] are what one lead contributes, worked
//! out on the worker that evaluated it (so the lead and its outcome are freed there); an
//! [`Aggregate`] adds up a batch of them, and batches merge in input order. Every sum is of
//! whole numbers (counts, milliseconds, cents), so the totals are exact and the same
//! whatever the thread count.

use std::collections::BTreeMap;

use super::dist::Dist;
use super::spec::Spec;
use crate::eval::{EnteredBy, Outcome, Trigger};
use crate::lead::{Lead, Value};

pub const MS_PER_DAY: i64 = 86_400_000;

/// Per-stage flags of a lead.
const STRAIGHT: u8 = 1;
const BREACHED: u8 = 2;
const ONGOING: u8 = 4;

/// The leads a report is about: those that entered the funnel (their first stage) on a day in
/// `from..=to` (days since 1970; open ends unbounded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Range {
    pub fn holds(&self, day: i64) -> bool {
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }
}

/// What the workers need to turn a lead into [`Facts`], made once.
pub struct Context<'a> {
    pub spec: &'a Spec,
    pub range: Range,
    /// Event type → (family, type within the family).
    family_of: Vec<Option<(u16, u8)>>,
    /// Event type → property slots whose amounts are revenue.
    revenue_of: Vec<Vec<usize>>,
}

impl<'a> Context<'a> {
    pub fn new(spec: &'a Spec, events: usize, range: Range) -> Self {
        let mut family_of = vec![None; events];
        for (f, fam) in spec.families.iter().enumerate() {
            for (t, (ev, _, _)) in fam.types.iter().enumerate() {
                if let Some(slot) = family_of.get_mut(*ev as usize) {
                    *slot = Some((f as u16, t as u8));
                }
            }
        }
        let mut revenue_of = vec![Vec::new(); events];
        for r in &spec.revenue {
            if let Some(v) = revenue_of.get_mut(r.event as usize) {
                v.push(r.prop);
            }
        }
        Context {
            spec,
            range,
            family_of,
            revenue_of,
        }
    }

    /// The step of an event of a family, when it has one.
    fn step(&self, lead: &Lead, ev: &crate::lead::Event) -> Option<(u16, u8, i64)> {
        let (f, t) = (*self.family_of.get(ev.ty as usize)?)?;
        let slot = self.spec.families.get(f as usize)?.types.get(t as usize)?.2;
        match lead.prop(ev, slot) {
            Value::Num(n) if n.fract() == 0.0 => Some((f, t, *n as i64)),
            _ => None,
        }
    }

    /// One lead's contribution.
    pub fn facts(&self, lead: &Lead, out: &Outcome) -> Facts {
        let n = self.spec.stages.len();
        let entries = &out.state.entries;
        let mut first: Vec<Option<i64>> = vec![None; n];
        // The entry (index into `entries`) that first entered each stage.
        let mut first_entry = vec![usize::MAX; n];
        for (k, e) in entries.iter().enumerate() {
            let s = e.stage as usize;
            if s < n && first[s].is_none() {
                first[s] = Some(e.at);
                first_entry[s] = k;
            }
        }
        let funnel_day = first
            .iter()
            .flatten()
            .min()
            .map(|t| t.div_euclid(MS_PER_DAY));
        let in_range = funnel_day.is_some_and(|d| self.range.holds(d));
        let mut facts = Facts {
            funnel_day,
            in_range,
            first,
            ..Facts::default()
        };
        // Every stay, for the stage inventory: until the next entry, the exit, or still on.
        facts.stays = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| (e.stage as usize) < n)
            .map(|(k, e)| {
                let left = entries
                    .get(k + 1)
                    .map(|x| x.at)
                    .or_else(|| out.state.exit.as_ref().map(|x| x.at));
                (e.stage, e.at, left)
            })
            .collect();
        if !in_range {
            return facts;
        }
        facts.flags = vec![0; n];
        // Straight through: every entry so far went one stage down the funnel.
        let mut straight = true;
        let mut prev: Option<u16> = None;
        for (k, e) in entries.iter().enumerate() {
            let s = e.stage as usize;
            straight &= match prev {
                None => e.stage == 0,
                Some(p) => e.stage == p + 1 && e.by == EnteredBy::Enter,
            };
            prev = Some(e.stage);
            if straight && first_entry.get(s) == Some(&k) {
                facts.flags[s] |= STRAIGHT;
            }
            let Some(sla) = self.spec.stages.get(s).and_then(|st| st.sla_ms) else {
                continue;
            };
            let left = entries
                .get(k + 1)
                .map(|x| x.at)
                .or_else(|| out.state.exit.as_ref().map(|x| x.at));
            if left.unwrap_or(out.as_of) - e.at > sla {
                facts.flags[s] |= BREACHED;
                if left.is_none() {
                    facts.flags[s] |= ONGOING;
                }
            }
        }
        facts.dims = self
            .spec
            .dimensions
            .iter()
            .map(|d| text_of(lead.traits.get(d.slot)))
            .collect();
        facts.costs = self
            .spec
            .costs
            .iter()
            .map(|c| text_of(lead.traits.get(c.by.slot)))
            .collect();
        let seen = lead.events.get(..out.seen).unwrap_or(&lead.events);
        for ev in seen {
            for slot in self.revenue_of.get(ev.ty as usize).into_iter().flatten() {
                if let Value::Num(v) = lead.prop(ev, *slot) {
                    facts.revenue_cents += (v * 100.0).round() as i64;
                }
            }
            if let Some(step) = self.step(lead, ev) {
                facts.steps.push(step);
            }
        }
        // Counted once per lead: a lead that opened step 2 twice opened it.
        facts.steps.sort_unstable();
        facts.steps.dedup();
        for (s, k) in first_entry.iter().enumerate() {
            let Some(Trigger::Event(i)) = entries.get(*k).map(|e| e.trigger) else {
                continue;
            };
            if let Some((f, _, step)) = lead.events.get(i).and_then(|ev| self.step(lead, ev)) {
                facts.helped.push((f, step, s as u16));
            }
        }
        facts
    }
}

/// A trait's value as a breakdown key; `None` when the lead lacks it.
fn text_of(v: Option<&Value>) -> Option<String> {
    v?.plain()
}

pub(super) fn add_into(a: &mut [u64], b: &[u64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// What one lead contributes to a report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// The day it entered the funnel (its first stage); `None`: it never did.
    pub funnel_day: Option<i64>,
    /// Whether it is one of the leads the report is about (see [`Range`]).
    pub in_range: bool,
    /// Each stage's first entry (milliseconds since 1970).
    pub first: Vec<Option<i64>>,
    /// Every stay in a stage: (stage, entered, left), `None` while it lasts.
    pub stays: Vec<(u16, i64, Option<i64>)>,
    // The rest is worked out only for leads in range.
    /// Per stage: [`STRAIGHT`], [`BREACHED`], [`ONGOING`].
    flags: Vec<u8>,
    /// The lead's value of each dimension.
    pub dims: Vec<Option<String>>,
    /// The lead's value of each cost trait.
    pub costs: Vec<Option<String>>,
    pub revenue_cents: i64,
    /// (family, type, step) of the family events it had, each once.
    pub steps: Vec<(u16, u8, i64)>,
    /// (family, step, stage): the stage's first entry was triggered by that step's event.
    pub helped: Vec<(u16, i64, u16)>,
}

/// A day of the stage inventory, per stage: stays begun, stays ended, and the milliseconds
/// the ended stays lasted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StayDay {
    pub began: Vec<u64>,
    pub ended: Vec<u64>,
    pub ended_ms: Vec<i64>,
}

impl StayDay {
    fn new(n: usize) -> Self {
        StayDay {
            began: vec![0; n],
            ended: vec![0; n],
            ended_ms: vec![0; n],
        }
    }

    fn merge(&mut self, o: &StayDay) {
        add_into(&mut self.began, &o.began);
        add_into(&mut self.ended, &o.ended);
        for (a, b) in self.ended_ms.iter_mut().zip(&o.ended_ms) {
            *a += b;
        }
    }
}

/// The counts of one breakdown value (or one channel).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Leads that reached each stage.
    pub reached: Vec<u64>,
    pub revenue_cents: i64,
    /// Breakdown values only (empty for channels): durations of each transition, as
    /// [`Aggregate::transitions`], and leads with a stay over each stage's SLA.
    pub transitions: Vec<Dist>,
    pub breached: Vec<u64>,
}

impl Counts {
    fn new(n: usize, detailed: bool) -> Self {
        Counts {
            reached: vec![0; n],
            revenue_cents: 0,
            transitions: if detailed {
                vec![Dist::default(); transitions(n)]
            } else {
                Vec::new()
            },
            breached: if detailed { vec![0; n] } else { Vec::new() },
        }
    }

    fn merge(&mut self, o: Counts) {
        add_into(&mut self.reached, &o.reached);
        self.revenue_cents += o.revenue_cents;
        for (a, b) in self.transitions.iter_mut().zip(o.transitions) {
            a.merge(b);
        }
        add_into(&mut self.breached, &o.breached);
    }
}

/// How many transitions a funnel of `n` stages measures: each consecutive pair, then first
/// to last.
fn transitions(n: usize) -> usize {
    n.saturating_sub(1) + usize::from(n > 1)
}

/// Adds a lead's transitions (from its stages' first entries) to `into`, in the order of
/// [`transitions`].
fn add_transitions(into: &mut [Dist], first: &[Option<i64>]) {
    let n = first.len();
    for s in 1..n {
        if let (Some(a), Some(b), Some(d)) = (first[s - 1], first[s], into.get_mut(s - 1)) {
            d.add(b - a);
        }
    }
    if n > 1 {
        if let (Some(a), Some(b), Some(d)) = (first[0], first[n - 1], into.get_mut(n - 1)) {
            d.add(b - a);
        }
    }
}

/// One step of a family: leads with each event type of that step, and stage entries its
/// events triggered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepCounts {
    pub leads: Vec<u64>,
    pub helped: Vec<u64>,
}

/// The sums a report is made from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aggregate {
    pub read: u64,
    pub skipped: u64,
    pub not_in_funnel: u64,
    /// Leads that entered the funnel on a day outside the range.
    pub outside: u64,
    /// Funnel day → leads of that day's cohort that reached each stage (every lead).
    pub cohorts: BTreeMap<i64, Vec<u64>>,
    /// Day → first entries into each stage on that day (every lead).
    pub flow: BTreeMap<i64, Vec<u64>>,
    /// Day → stays begun and ended in each stage that day (every lead).
    pub stays: BTreeMap<i64, StayDay>,
    // Leads in range:
    pub reached: Vec<u64>,
    pub straight: Vec<u64>,
    /// Consecutive transitions (stage s to s + 1 at index s), then first to last.
    pub transitions: Vec<Dist>,
    /// Per `kpi velocity`: durations, and leads over the target.
    pub velocities: Vec<(Dist, u64)>,
    /// Per stage: leads with a stay over the SLA, and those still in that stay.
    pub breached: Vec<u64>,
    pub ongoing: Vec<u64>,
    /// Per dimension: value (`None`: missing) → counts.
    pub dims: Vec<BTreeMap<Option<String>, Counts>>,
    /// Per cost trait: value → counts.
    pub channels: Vec<BTreeMap<Option<String>, Counts>>,
    pub revenue_cents: i64,
    /// (family, step) → counts.
    pub steps: BTreeMap<(u16, i64), StepCounts>,
    /// Events of types the schema does not declare, by type (every lead).
    pub unknown: BTreeMap<String, u64>,
}

impl Aggregate {
    pub fn new(spec: &Spec) -> Self {
        let n = spec.stages.len();
        Aggregate {
            reached: vec![0; n],
            straight: vec![0; n],
            transitions: vec![Dist::default(); transitions(n)],
            velocities: vec![(Dist::default(), 0); spec.velocities.len()],
            breached: vec![0; n],
            ongoing: vec![0; n],
            dims: vec![BTreeMap::new(); spec.dimensions.len()],
            channels: vec![BTreeMap::new(); spec.costs.len()],
            ..Aggregate::default()
        }
    }

    /// A lead whose data could not be read; a record of no lead is no lead of the report.
    pub fn add_skipped(&mut self, e: &crate::input::DataError) {
        if !e.no_lead {
            self.read += 1;
            self.skipped += 1;
        }
    }

    /// Adds a later part of the input (a batch added up as a whole). Merged in input
    /// order, parts give exactly the sums one aggregate of every lead would.
    pub fn merge(&mut self, o: Aggregate) {
        self.read += o.read;
        self.skipped += o.skipped;
        self.not_in_funnel += o.not_in_funnel;
        self.outside += o.outside;
        for (mine, theirs) in [(&mut self.cohorts, o.cohorts), (&mut self.flow, o.flow)] {
            for (day, row) in theirs {
                match mine.get_mut(&day) {
                    Some(m) => add_into(m, &row),
                    None => {
                        mine.insert(day, row);
                    }
                }
            }
        }
        for (day, d) in o.stays {
            match self.stays.get_mut(&day) {
                Some(m) => m.merge(&d),
                None => {
                    self.stays.insert(day, d);
                }
            }
        }
        add_into(&mut self.reached, &o.reached);
        add_into(&mut self.straight, &o.straight);
        add_into(&mut self.breached, &o.breached);
        add_into(&mut self.ongoing, &o.ongoing);
        for (a, b) in self.transitions.iter_mut().zip(o.transitions) {
            a.merge(b);
        }
        for (a, b) in self.velocities.iter_mut().zip(o.velocities) {
            a.0.merge(b.0);
            a.1 += b.1;
        }
        for (mine, theirs) in self
            .dims
            .iter_mut()
            .zip(o.dims)
            .chain(self.channels.iter_mut().zip(o.channels))
        {
            for (k, c) in theirs {
                match mine.get_mut(&k) {
                    Some(m) => m.merge(c),
                    None => {
                        mine.insert(k, c);
                    }
                }
            }
        }
        self.revenue_cents += o.revenue_cents;
        for (k, c) in o.steps {
            match self.steps.get_mut(&k) {
                Some(m) => {
                    add_into(&mut m.leads, &c.leads);
                    add_into(&mut m.helped, &c.helped);
                }
                None => {
                    self.steps.insert(k, c);
                }
            }
        }
        self.add_unknown(o.unknown);
    }

    /// Counts events of types the schema does not declare.
    pub fn add_unknown(&mut self, unknown: BTreeMap<String, u64>) {
        for (k, v) in unknown {
            *self.unknown.entry(k).or_insert(0) += v;
        }
    }

    pub fn add(&mut self, spec: &Spec, f: Facts) {
        let n = spec.stages.len();
        self.read += 1;
        let Some(day) = f.funnel_day else {
            self.not_in_funnel += 1;
            return;
        };
        let cohort = self.cohorts.entry(day).or_insert_with(|| vec![0; n]);
        for (c, at) in cohort.iter_mut().zip(&f.first) {
            *c += u64::from(at.is_some());
        }
        for (s, at) in f.first.iter().enumerate() {
            if let Some(at) = at {
                let row = self
                    .flow
                    .entry(at.div_euclid(MS_PER_DAY))
                    .or_insert_with(|| vec![0; n]);
                row[s] += 1;
            }
        }
        for (stage, at, left) in &f.stays {
            let s = *stage as usize;
            self.stays
                .entry(at.div_euclid(MS_PER_DAY))
                .or_insert_with(|| StayDay::new(n))
                .began[s] += 1;
            if let Some(left) = left {
                let d = self
                    .stays
                    .entry(left.div_euclid(MS_PER_DAY))
                    .or_insert_with(|| StayDay::new(n));
                d.ended[s] += 1;
                d.ended_ms[s] += left - at;
            }
        }
        if !f.in_range {
            self.outside += 1;
            return;
        }
        for s in 0..n {
            self.reached[s] += u64::from(f.first[s].is_some());
            let flags = f.flags.get(s).copied().unwrap_or(0);
            self.straight[s] += u64::from(flags & STRAIGHT != 0);
            self.breached[s] += u64::from(flags & BREACHED != 0);
            self.ongoing[s] += u64::from(flags & ONGOING != 0);
        }
        add_transitions(&mut self.transitions, &f.first);
        for (k, v) in spec.velocities.iter().zip(self.velocities.iter_mut()) {
            if let (Some(a), Some(b)) = (f.first[k.from], f.first[k.to]) {
                v.0.add(b - a);
                v.1 += u64::from(b - a > k.at_most_ms);
            }
        }
        let Facts {
            first,
            flags,
            dims,
            costs,
            revenue_cents,
            ..
        } = f;
        let count =
            |map: &mut BTreeMap<Option<String>, Counts>, key: Option<String>, detailed: bool| {
                let c = map.entry(key).or_insert_with(|| Counts::new(n, detailed));
                for (r, at) in c.reached.iter_mut().zip(&first) {
                    *r += u64::from(at.is_some());
                }
                c.revenue_cents += revenue_cents;
                if detailed {
                    add_transitions(&mut c.transitions, &first);
                    for (b, fl) in c.breached.iter_mut().zip(&flags) {
                        *b += u64::from(fl & BREACHED != 0);
                    }
                }
            };
        // The keys move into the maps: no copy of a text per lead.
        for (map, key) in self.dims.iter_mut().zip(dims) {
            count(map, key, true);
        }
        for (map, key) in self.channels.iter_mut().zip(costs) {
            count(map, key, false);
        }
        self.revenue_cents += revenue_cents;
        // A step's counts before its first lead.
        let empty = |fam: u16| StepCounts {
            leads: vec![0; spec.families.get(fam as usize).map_or(0, |x| x.types.len())],
            helped: vec![0; n],
        };
        for (fam, t, step) in &f.steps {
            let c = self
                .steps
                .entry((*fam, *step))
                .or_insert_with(|| empty(*fam));
            if let Some(x) = c.leads.get_mut(*t as usize) {
                *x += 1;
            }
        }
        for (fam, step, stage) in &f.helped {
            let c = self
                .steps
                .entry((*fam, *step))
                .or_insert_with(|| empty(*fam));
            if let Some(x) = c.helped.get_mut(*stage as usize) {
                *x += 1;
            }
        }
    }
}
