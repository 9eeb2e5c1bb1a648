//! Segment-spec event streams: JSONL with one call per line, many leads interleaved, in any
//! order.
//!
//! - `identify` sets traits (`traits`, nested objects addressed by dotted paths). A user's
//!   identify calls apply in `timestamp` order (ties in input order), field by field: a later
//!   call overrides only the fields it names, and an explicit `null` clears one.
//! - `track` adds an event: type = `event`, at = `timestamp`, props = `properties`.
//! - Every other call type (`page`, `screen`, `group`, `alias`, ...) is counted in
//!   [`SegmentRead::ignored_calls`] and otherwise not read.
//!
//! A lead's calls can be anywhere in the stream, so this reader **buffers the whole stream**
//! before it builds any lead: memory grows with the input, unlike the lead-per-line reader.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use serde_json::{Map, Value as Json};

use super::{refuse_unsplittable, DataError, LeadBuilder, LeadResult, Raw};
use crate::plan::Plan;

/// What a Segment stream held.
#[derive(Debug)]
pub struct SegmentRead {
    /// One entry per user, in order of the user's first `identify` or `track` call (or first
    /// broken call). A line whose user cannot be told (not JSON, no `userId` or
    /// `anonymousId`) is an `Err` of its own at its position. A user with several broken
    /// lines is reported by the earliest.
    pub leads: Vec<LeadResult>,
    /// Calls of the types this reader does not use, by type, with counts.
    pub ignored_calls: BTreeMap<String, u64>,
}

/// Reads a Segment stream into leads.
///
/// `rename` maps names in the data to names in the schema: a key is matched exactly against
/// a `track` call's `event`, and against an `identify` trait path, where it also renames
/// everything below that path (`organization` → `company` turns `organization.size` into
/// `company.size`; the longest matching key wins).
///
/// The outer `Err` is an I/O failure; every problem with the data is reported per lead.
pub fn read(
    plan: &Plan,
    mut reader: impl BufRead,
    name: &str,
    rename: &BTreeMap<String, String>,
) -> Result<SegmentRead, DataError> {
    let mut st = Stream::default();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => line_no += 1,
            Err(e) => {
                return Err(DataError {
                    no_lead: false,
                    origin: format!("{name}:{}", line_no + 1),
                    lead: None,
                    field: None,
                    message: format!("cannot read the stream: {e}"),
                })
            }
        }
        let origin = format!("{name}:{line_no}");
        // Without its line break, so serde's columns point into the line.
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let bytes = match line_no {
            1 => bytes.strip_prefix(super::lines::BOM).unwrap_or(bytes),
            _ => bytes,
        };
        match std::str::from_utf8(bytes) {
            Ok(line) if line.trim().is_empty() => {}
            Ok(line) => st.line(line, line_no, origin),
            Err(_) => st.slots.push(Slot::Broken(DataError {
                no_lead: false,
                origin,
                lead: None,
                field: None,
                message: "the line is not UTF-8 text".into(),
            })),
        }
    }
    let Stream {
        slots,
        mut users,
        ignored,
        ..
    } = st;
    let leads = slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Broken(e) => Err(e),
            Slot::User(i) => match users.get_mut(i) {
                Some(u) => build(plan, name, rename, std::mem::take(u)),
                None => Err(DataError {
                    no_lead: false,
                    origin: name.to_string(),
                    lead: None,
                    field: None,
                    message: "internal error: a user slot was lost".into(),
                }),
            },
        })
        .collect();
    Ok(SegmentRead {
        leads,
        ignored_calls: ignored,
    })
}

enum Slot {
    User(usize),
    Broken(DataError),
}

#[derive(Default)]
struct User {
    id: String,
    first_line: usize,
    /// (line, instant, traits), in input order.
    identifies: Vec<(usize, i64, Map<String, Json>)>,
    tracks: Vec<Track>,
    /// The error on the earliest line so far: the one a reader fixes first.
    error: Option<(usize, DataError)>,
}

impl User {
    fn fail(&mut self, line: usize, e: DataError) {
        if self.error.as_ref().is_none_or(|(l, _)| line < *l) {
            self.error = Some((line, e));
        }
    }
}

struct Track {
    line: usize,
    event: String,
    at: String,
    props: Map<String, Json>,
}

#[derive(Default)]
struct Stream {
    slots: Vec<Slot>,
    users: Vec<User>,
    by_id: HashMap<String, usize>,
    ignored: BTreeMap<String, u64>,
}

impl Stream {
    fn user(&mut self, id: &str, line: usize) -> &mut User {
        let i = match self.by_id.get(id) {
            Some(&i) => i,
            None => {
                let i = self.users.len();
                self.users.push(User {
                    id: id.to_string(),
                    first_line: line,
                    ..User::default()
                });
                self.by_id.insert(id.to_string(), i);
                self.slots.push(Slot::User(i));
                i
            }
        };
        &mut self.users[i]
    }

    fn line(&mut self, line: &str, n: usize, origin: String) {
        let err = |lead: Option<&str>, field: &str, message: String| DataError {
            no_lead: false,
            origin: origin.clone(),
            lead: lead.map(String::from),
            field: (!field.is_empty()).then(|| field.to_string()),
            message,
        };
        let mut call = match serde_json::from_str::<Json>(line) {
            Ok(Json::Object(m)) => m,
            Ok(_) => {
                let e = err(None, "", "a Segment call must be a JSON object".into());
                self.slots.push(Slot::Broken(e));
                return;
            }
            Err(e) => {
                let e = err(None, "", format!("not a JSON call: {}", json_reason(&e)));
                self.slots.push(Slot::Broken(e));
                return;
            }
        };
        let id = user_id(&call);
        let kind = match call.get("type") {
            Some(Json::String(t)) if t == "identify" || t == "track" => t.clone(),
            Some(Json::String(t)) => {
                // Not validated further: these calls are counted, never read.
                *self.ignored.entry(t.clone()).or_insert(0) += 1;
                return;
            }
            Some(_) => {
                let lead = id.as_ref().ok().cloned();
                let e = err(lead.as_deref(), "type", "`type` must be text".into());
                self.report(e, lead.as_deref(), n);
                return;
            }
            None => {
                let lead = id.as_ref().ok().cloned();
                let e = err(lead.as_deref(), "type", "the call has no `type`".into());
                self.report(e, lead.as_deref(), n);
                return;
            }
        };
        let id = match id {
            Ok(id) => id,
            Err((field, m)) => {
                self.slots.push(Slot::Broken(err(None, field, m)));
                return;
            }
        };
        let at = match call.get("timestamp") {
            Some(Json::String(s)) => match crate::time::parse_timestamp(s) {
                Ok(t) => Some((s.clone(), t.millis)),
                Err(m) => {
                    let e = err(Some(&id), "timestamp", m.replace('`', "\""));
                    self.user(&id, n).fail(n, e);
                    None
                }
            },
            Some(_) => {
                let m = "`timestamp` must be an RFC 3339 timestamp in a string";
                let e = err(Some(&id), "timestamp", m.into());
                self.user(&id, n).fail(n, e);
                None
            }
            None => {
                let e = err(Some(&id), "timestamp", "the call has no `timestamp`".into());
                self.user(&id, n).fail(n, e);
                None
            }
        };
        let body = if kind == "identify" {
            object(&mut call, "traits").map(Body::Identify)
        } else {
            match call.get("event") {
                Some(Json::String(ev)) if !ev.is_empty() => {
                    let ev = ev.clone();
                    object(&mut call, "properties").map(|props| Body::Track(ev, props))
                }
                Some(Json::String(_)) => Err(("event", "the `event` is empty".into())),
                Some(_) => Err(("event", "`event` must be text".into())),
                None => Err(("event", "the track call has no `event`".into())),
            }
        };
        let user = self.user(&id, n);
        match (body, at) {
            (Err((field, m)), _) => user.fail(n, err(Some(&id), field, m)),
            // The timestamp's error is already recorded.
            (Ok(_), None) => {}
            (Ok(Body::Identify(traits)), Some((_, millis))) => {
                user.identifies.push((n, millis, traits))
            }
            (Ok(Body::Track(event, props)), Some((at, _))) => user.tracks.push(Track {
                line: n,
                event,
                at,
                props,
            }),
        }
    }

    /// An error on a line: the user's if the line names one, else a lead slot of its own.
    fn report(&mut self, e: DataError, lead: Option<&str>, n: usize) {
        match lead {
            Some(id) => self.user(id, n).fail(n, e),
            None => self.slots.push(Slot::Broken(e)),
        }
    }
}

enum Body {
    Identify(Map<String, Json>),
    Track(String, Map<String, Json>),
}

/// The user a call is about: `userId`, or `anonymousId` when there is none (no identity
/// resolution: an anonymous id and a user id are two leads).
fn user_id(call: &Map<String, Json>) -> Result<String, (&'static str, String)> {
    for key in ["userId", "anonymousId"] {
        match call.get(key) {
            None | Some(Json::Null) => {}
            Some(Json::String(s)) if s.is_empty() => {}
            Some(Json::String(s)) => return Ok(s.clone()),
            Some(Json::Number(n)) if n.is_i64() || n.is_u64() => return Ok(n.to_string()),
            Some(_) => return Err((key, format!("`{key}` must be text or a whole number"))),
        }
    }
    Err((
        "userId",
        "the call has neither a `userId` nor an `anonymousId`".into(),
    ))
}

/// Takes an optional object member out of a call; absent or `null` is empty.
fn object(
    call: &mut Map<String, Json>,
    key: &'static str,
) -> Result<Map<String, Json>, (&'static str, String)> {
    match call.remove(key) {
        None | Some(Json::Null) => Ok(Map::new()),
        Some(Json::Object(m)) => Ok(m),
        Some(_) => Err((key, format!("`{key}` must be an object"))),
    }
}

fn build(plan: &Plan, name: &str, rename: &BTreeMap<String, String>, mut user: User) -> LeadResult {
    let mut b = LeadBuilder::new(plan, user.id.clone(), format!("{name}:{}", user.first_line));
    // The builder names the lead's first line; its errors must name the call's own line.
    let at_line = |line: usize| {
        move |mut e: DataError| {
            e.origin = format!("{name}:{line}");
            e
        }
    };
    let mut identifies = std::mem::take(&mut user.identifies);
    identifies.sort_by_key(|(_, at, _)| *at);
    for (line, _, traits) in &identifies {
        if let Err(e) =
            set_traits(plan, &user.id, &mut b, rename, "", traits).map_err(at_line(*line))
        {
            user.fail(*line, e);
        }
    }
    for t in std::mem::take(&mut user.tracks) {
        let ty = rename
            .get(&t.event)
            .map_or(t.event.as_str(), String::as_str);
        let decl = plan
            .event_id(ty)
            .and_then(|i| plan.events.get(usize::from(i)));
        let mut props = Vec::with_capacity(t.props.len());
        let mut refused = None;
        for (k, v) in &t.props {
            let raw = to_raw(v);
            let declared = decl.and_then(|d| d.props.iter().find(|(p, _)| p == k));
            if let Some(m) = declared.and_then(|(_, pty)| refuse_unsplittable(&raw, pty)) {
                refused.get_or_insert((format!("properties.{k}"), m));
            }
            props.push((k.as_str(), raw));
        }
        let res = match refused {
            Some((field, message)) => Err(DataError {
                no_lead: false,
                origin: String::new(),
                lead: Some(user.id.clone()),
                field: Some(field),
                message,
            }),
            None => b.push_event(ty, &t.at, props, "properties"),
        };
        if let Err(e) = res.map_err(at_line(t.line)) {
            user.fail(t.line, e);
        }
    }
    match user.error {
        Some((_, e)) => Err(e),
        None => Ok(b.finish()),
    }
}

/// Sets the traits of one identify call, flattening nested objects to dotted paths.
fn set_traits(
    plan: &Plan,
    id: &str,
    b: &mut LeadBuilder<'_>,
    rename: &BTreeMap<String, String>,
    prefix: &str,
    map: &Map<String, Json>,
) -> Result<(), DataError> {
    for (k, v) in map {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let target = renamed(rename, &path);
        // Descend where the schema, or a rename below this path, reads something.
        let descend = b.wants_trait_prefix(&target)
            || rename.keys().any(|r| {
                r.len() > path.len() && r.starts_with(&path) && r[path.len()..].starts_with('.')
            });
        match v {
            Json::Object(inner) if descend => set_traits(plan, id, b, rename, &path, inner)?,
            other => {
                let raw = to_raw(other);
                let ty = plan.trait_slot(&target).and_then(|s| plan.traits.get(s));
                let res = match ty.and_then(|(_, ty)| refuse_unsplittable(&raw, ty)) {
                    Some(message) => Err(DataError {
                        no_lead: false,
                        origin: String::new(),
                        lead: Some(id.to_string()),
                        field: Some(format!("traits.{target}")),
                        message,
                    }),
                    None => b.set_trait(&target, &raw),
                };
                // Name the field as the data spells it; say what it was read as.
                res.map_err(|mut e| {
                    if target != path {
                        e.field = Some(format!("traits.{path}"));
                        e.message = format!("{} (read as `{target}`)", e.message);
                    }
                    e
                })?
            }
        }
    }
    Ok(())
}

/// The schema's name for a trait path: an exact rename, else the longest renamed prefix.
fn renamed<'a>(rename: &BTreeMap<String, String>, path: &'a str) -> Cow<'a, str> {
    if let Some(t) = rename.get(path) {
        return Cow::Owned(t.clone());
    }
    let mut end = path.len();
    while let Some(dot) = path[..end].rfind('.') {
        if let Some(t) = rename.get(&path[..dot]) {
            return Cow::Owned(format!("{t}{}", &path[dot..]));
        }
        end = dot;
    }
    Cow::Borrowed(path)
}

fn to_raw(v: &Json) -> Raw<'_> {
    match v {
        Json::Null => Raw::Null,
        Json::Bool(b) => Raw::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Raw::Int(i),
            None => n.as_f64().map_or(Raw::Null, Raw::Float),
        },
        Json::String(s) => Raw::Str(Cow::Borrowed(s)),
        Json::Array(items) => Raw::List(items.iter().map(to_raw).collect()),
        Json::Object(_) => Raw::Object,
    }
}

/// serde's message without its position: the caller names the line; the column stays.
fn json_reason(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let what = msg.split(" at line ").next().unwrap_or(&msg);
    format!("{what} (column {})", e.column())
}
