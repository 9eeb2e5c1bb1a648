//! Two sets of lead outcomes compared lead by lead: how many leads reached and ended in each
//! stage before and after, the from → to matrix of where each lead ended, and the first leads
//! that ended somewhere else, with the rule that put them there on each side.
//!
//! The two sides may come from different rule files (a stage added, renamed or dropped):
//! each side names its stages and exits ([`Names`]), and the comparison works on the union
//! of both, in the order the files declare them. A side's lead is a [`Side`] holding indices
//! into its own names, so building one per lead allocates nothing unless the lead moved.
//!
//! Used by `funnelc diff` (two versions of a rule file on the same leads) and by snapshot
//! tests (a stored outcome against a fresh one). Leads are [`Comparison::add`]ed in input
//! order; a caller that adds batches in parallel builds one comparison per batch and
//! [`Comparison::merge`]s them in input order, which gives the same result on any thread
//! count. [`render`] lays the result out as terminal text, Markdown or JSON.

pub mod render;

use serde::Serialize;

use crate::eval::{EnteredBy, Outcome, Trigger};
use crate::lead::Lead;
use crate::plan::{LeaveTo, Plan};

/// One side's stage and exit names, in declaration order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub stages: Vec<String>,
    pub exits: Vec<String>,
}

impl Names {
    /// A rule file's stages, and its exits in the order first declared.
    pub fn of(plan: &Plan) -> Self {
        Names {
            stages: plan.stages.iter().map(|s| s.name.clone()).collect(),
            exits: plan.exit_names().into_iter().map(String::from).collect(),
        }
    }

    /// Where a lead is, by name: a stage, an exit, or outside (empty). `None` for a name that
    /// is neither.
    pub fn place(&self, name: &str) -> Option<Place> {
        if name.is_empty() {
            return Some(Place::Outside);
        }
        if let Some(i) = self.stages.iter().position(|s| s == name) {
            return Some(Place::Stage(i as u16));
        }
        self.exits
            .iter()
            .position(|x| x == name)
            .map(|i| Place::Exit(i as u16))
    }
}

/// Where a lead ended, as an index into its side's [`Names`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// In no stage: no stage's condition ever held.
    Outside,
    Stage(u16),
    Exit(u16),
}

/// A set of stage indices: no allocation below 64 stages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageSet {
    low: u64,
    more: Vec<u16>,
}

impl StageSet {
    pub fn insert(&mut self, stage: u16) {
        if stage < 64 {
            self.low |= 1 << stage;
        } else if !self.more.contains(&stage) {
            self.more.push(stage);
        }
    }

    pub fn contains(&self, stage: u16) -> bool {
        if stage < 64 {
            self.low >> stage & 1 == 1
        } else {
            self.more.contains(&stage)
        }
    }

    /// The stages, the first 64 in order, then the others as inserted.
    fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        // One step per stage in the set, not per possible stage.
        let mut rest = self.low;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let i = rest.trailing_zeros() as u16;
                rest &= rest - 1;
                i
            })
        })
        .chain(self.more.iter().copied())
    }
}

/// What made a lead end where it is: the rule that last moved it, and what set it off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// `enter SQL`, `move MQL -> MEL`, `exit disqualified`.
    pub rule: String,
    pub file: String,
    pub line: usize,
    /// The event type that set the rule off; `None` for the passage of time.
    pub event: Option<String>,
    /// When, RFC 3339.
    pub at: String,
}

/// One lead on one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    pub place: Place,
    /// The stages it entered at some point.
    pub reached: StageSet,
    /// What put it where it is, when known (a stored snapshot may not say).
    pub decision: Option<Decision>,
}

impl Side {
    /// A lead's outcome under a rule file, without the decision (see [`decision`]).
    pub fn of(plan: &Plan, out: &Outcome) -> Self {
        let mut reached = StageSet::default();
        for (i, at) in out.state.latest.iter().enumerate() {
            if at.is_some() {
                reached.insert(i as u16);
            }
        }
        let place = match (&out.state.exit, out.state.stage) {
            (Some(x), _) => match plan.leaves.get(x.leave).map(|l| &l.to) {
                Some(LeaveTo::Exit(n)) => exit_index(plan, n).map_or(Place::Outside, Place::Exit),
                // An exit record always names an exit; a stage there would be a plan bug.
                _ => Place::Outside,
            },
            (None, Some(s)) => Place::Stage(s),
            (None, None) => Place::Outside,
        };
        Side {
            place,
            reached,
            decision: None,
        }
    }
}

/// The exit's index in [`Names::of`]'s order (exits first declared first).
fn exit_index(plan: &Plan, name: &str) -> Option<u16> {
    plan.exit_names()
        .iter()
        .position(|n| *n == name)
        .map(|i| i as u16)
}

/// The rule that put a lead where it ended, read off its replay's record of entries and its
/// exit (the same record `funnelc explain` builds its timeline from). `None` outside the
/// funnel: no rule put it there.
pub fn decision(plan: &Plan, lead: &Lead, out: &Outcome) -> Option<Decision> {
    let event = |t: Trigger| match t {
        Trigger::Event(i) => lead
            .events
            .get(i)
            .and_then(|e| plan.events.get(usize::from(e.ty)))
            .map(|e| e.name.clone()),
        Trigger::Timer => None,
    };
    let ts = |ms: i64| crate::time::format_timestamp(crate::time::Timestamp { millis: ms });
    let leave_rule = |i: usize| -> Option<(String, usize)> {
        let l = plan.leaves.get(i)?;
        let rule = match &l.to {
            LeaveTo::Exit(n) => format!("exit {n}"),
            LeaveTo::Stage(s) => {
                let to = &plan.stages.get(usize::from(*s))?.name;
                match &l.from {
                    Some(from) => {
                        let names: Vec<&str> = from
                            .iter()
                            .filter_map(|f| plan.stages.get(usize::from(*f)))
                            .map(|s| s.name.as_str())
                            .collect();
                        format!("move {} -> {to}", names.join(", "))
                    }
                    None => format!("move any -> {to}"),
                }
            }
        };
        Some((rule, l.line))
    };
    if let Some(x) = &out.state.exit {
        let (rule, line) = leave_rule(x.leave)?;
        return Some(Decision {
            rule,
            file: plan.file.clone(),
            line,
            event: event(x.trigger),
            at: ts(x.at),
        });
    }
    let stage = out.state.stage?;
    let entry = out.state.entries.iter().rev().find(|e| e.stage == stage)?;
    let (rule, line) = match entry.by {
        EnteredBy::Enter => {
            let st = plan.stages.get(usize::from(stage))?;
            (format!("enter {}", st.name), st.line)
        }
        EnteredBy::Leave(i) => leave_rule(i)?,
    };
    Some(Decision {
        rule,
        file: plan.file.clone(),
        line,
        event: event(entry.trigger),
        at: ts(entry.at),
    })
}

/// A place in the union of both sides' names (see [`Comparison::names`]), or not there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Spot {
    Outside,
    Stage(usize),
    Exit(usize),
    /// The lead is not in this side's set at all.
    Absent,
}

/// A lead that ended somewhere else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    pub id: String,
    pub before: Spot,
    pub after: Spot,
    pub before_decision: Option<Decision>,
    pub after_decision: Option<Decision>,
}

/// The comparison, added up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// Both sides' stages, before's in order then after's new ones; the same for exits.
    pub names: Names,
    /// Each side's stage and exit indices in `names`.
    map: [(Vec<usize>, Vec<usize>); 2],
    /// How many moved leads to keep (the first ones, in input order).
    pub keep: usize,
    /// Leads compared (on either side).
    pub leads: u64,
    /// Per stage of `names`: leads that entered it at some point, before and after.
    pub reached: [Vec<u64>; 2],
    /// Per stage of `names`: leads that ended in it, before and after.
    pub ended: [Vec<u64>; 2],
    /// Per exit of `names`: leads that left by it, before and after.
    pub exited: [Vec<u64>; 2],
    /// Leads outside the funnel, before and after.
    pub outside: [u64; 2],
    /// Leads on only one side, before and after.
    pub absent: [u64; 2],
    /// (where before, where after) → leads, every lead counted once.
    pub matrix: std::collections::BTreeMap<(Spot, Spot), u64>,
    /// Leads that ended elsewhere.
    pub moved_count: u64,
    /// The first `keep` of them, in the order added.
    pub moved: Vec<Moved>,
}

const BEFORE: usize = 0;
const AFTER: usize = 1;

impl Comparison {
    /// An empty comparison of two sides' outcomes, keeping the first `keep` moved leads.
    pub fn new(before: &Names, after: &Names, keep: usize) -> Self {
        let mut names = before.clone();
        for s in &after.stages {
            if !names.stages.contains(s) {
                names.stages.push(s.clone());
            }
        }
        for x in &after.exits {
            if !names.exits.contains(x) {
                names.exits.push(x.clone());
            }
        }
        let index = |list: &[String], of: &[String]| -> Vec<usize> {
            of.iter()
                .map(|n| list.iter().position(|m| m == n).unwrap_or(0))
                .collect()
        };
        let map = [before, after].map(|side| {
            (
                index(&names.stages, &side.stages),
                index(&names.exits, &side.exits),
            )
        });
        let (n, x) = (names.stages.len(), names.exits.len());
        Comparison {
            map,
            keep,
            leads: 0,
            reached: [vec![0; n], vec![0; n]],
            ended: [vec![0; n], vec![0; n]],
            exited: [vec![0; x], vec![0; x]],
            outside: [0; 2],
            absent: [0; 2],
            matrix: std::collections::BTreeMap::new(),
            moved_count: 0,
            moved: Vec::new(),
            names,
        }
    }

    /// An empty comparison with the same names and `keep`, for a batch to be merged later.
    pub fn empty_like(&self) -> Self {
        let mut c = self.clone();
        c.clear();
        c
    }

    fn clear(&mut self) {
        self.leads = 0;
        for v in self
            .reached
            .iter_mut()
            .chain(self.ended.iter_mut())
            .chain(self.exited.iter_mut())
        {
            v.iter_mut().for_each(|n| *n = 0);
        }
        self.outside = [0; 2];
        self.absent = [0; 2];
        self.matrix.clear();
        self.moved_count = 0;
        self.moved.clear();
    }

    /// `side`'s place in the union of names.
    fn spot(&self, side: usize, place: Option<&Place>) -> Spot {
        let (stages, exits) = &self.map[side];
        match place {
            None => Spot::Absent,
            Some(Place::Outside) => Spot::Outside,
            Some(Place::Stage(s)) => stages
                .get(usize::from(*s))
                .map_or(Spot::Outside, |&i| Spot::Stage(i)),
            Some(Place::Exit(x)) => exits
                .get(usize::from(*x))
                .map_or(Spot::Outside, |&i| Spot::Exit(i)),
        }
    }

    /// Whether a lead with these sides ends somewhere else (so its decisions are worth
    /// working out before adding it).
    pub fn moves(&self, before: Option<&Side>, after: Option<&Side>) -> bool {
        self.spot(BEFORE, before.map(|s| &s.place)) != self.spot(AFTER, after.map(|s| &s.place))
    }

    /// Counts one lead: `None` on a side where the lead is not in the set.
    pub fn add(&mut self, id: &str, before: Option<Side>, after: Option<Side>) {
        self.leads += 1;
        let spots = [
            self.spot(BEFORE, before.as_ref().map(|s| &s.place)),
            self.spot(AFTER, after.as_ref().map(|s| &s.place)),
        ];
        for (k, side) in [&before, &after].into_iter().enumerate() {
            let Some(side) = side else {
                self.absent[k] += 1;
                continue;
            };
            for s in side.reached.iter() {
                if let Some(&i) = self.map[k].0.get(usize::from(s)) {
                    self.reached[k][i] += 1;
                }
            }
            match spots[k] {
                Spot::Stage(i) => self.ended[k][i] += 1,
                Spot::Exit(i) => self.exited[k][i] += 1,
                Spot::Outside => self.outside[k] += 1,
                Spot::Absent => {}
            }
        }
        *self.matrix.entry((spots[0], spots[1])).or_insert(0) += 1;
        if spots[0] != spots[1] {
            self.moved_count += 1;
            if self.moved.len() < self.keep {
                self.moved.push(Moved {
                    id: id.to_string(),
                    before: spots[0],
                    after: spots[1],
                    before_decision: before.and_then(|s| s.decision),
                    after_decision: after.and_then(|s| s.decision),
                });
            }
        }
    }

    /// Adds a comparison of the leads that came after this one's (same names and `keep`).
    pub fn merge(&mut self, later: Comparison) {
        self.leads += later.leads;
        for k in 0..2 {
            for (a, b) in self.reached[k].iter_mut().zip(&later.reached[k]) {
                *a += b;
            }
            for (a, b) in self.ended[k].iter_mut().zip(&later.ended[k]) {
                *a += b;
            }
            for (a, b) in self.exited[k].iter_mut().zip(&later.exited[k]) {
                *a += b;
            }
            self.outside[k] += later.outside[k];
            self.absent[k] += later.absent[k];
        }
        for (k, n) in later.matrix {
            *self.matrix.entry(k).or_insert(0) += n;
        }
        self.moved_count += later.moved_count;
        let room = self.keep.saturating_sub(self.moved.len());
        self.moved.extend(later.moved.into_iter().take(room));
    }

    /// A place of the union as people read it: a stage or exit name, `(outside)`, or
    /// `(absent)`.
    pub fn label(&self, spot: Spot) -> String {
        match spot {
            Spot::Outside => "(outside)".into(),
            Spot::Absent => "(absent)".into(),
            Spot::Stage(i) => self.names.stages.get(i).cloned().unwrap_or_default(),
            Spot::Exit(i) => self.names.exits.get(i).cloned().unwrap_or_default(),
        }
    }

    /// Every place some lead is in on either side, in order: outside, the stages, the exits,
    /// absent.
    pub fn spots(&self) -> Vec<Spot> {
        let mut all: Vec<Spot> = self.matrix.keys().flat_map(|(a, b)| [*a, *b]).collect();
        all.sort();
        all.dedup();
        all
    }
}

#[cfg(test)]
mod tests;
