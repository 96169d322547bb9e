use crate::error::{FieldError, ScheduleError};
use crate::fault::{DurationRule, Fault, FaultKind};
use crate::format_duration;
use crate::raw::{Fields, RawValue};
use serde_yaml::Value;
use std::fmt;
use std::time::Duration;

/// The schedule format version this build reads and writes.
pub const SCHEDULE_VERSION: u64 = 1;

/// One timed fault: it starts at `at` and, when it has a duration, ends at
/// `at + duration` (`for` in both textual forms).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it starts, in simulated time from the run's start.
    pub at: Duration,
    /// How long it acts (`for`); `None` for an instantaneous event.
    pub duration: Option<Duration>,
    /// What it does.
    pub fault: Fault,
}

impl Event {
    /// An event of `fault` from `at`, for `duration` when it has one.
    pub fn new(at: Duration, duration: Option<Duration>, fault: Fault) -> Self {
        Event {
            at,
            duration,
            fault,
        }
    }

    /// When the event stops acting: `at + for`, or `at` for an instantaneous event.
    pub fn end(&self) -> Duration {
        self.at.saturating_add(self.duration.unwrap_or_default())
    }

    /// Parses the inline form `kind:key=value,...`, e.g.
    /// `load-spike:at=60s,for=10s,factor=3` or
    /// `partition:at=65s,for=5s,between=server|client-1+client-2`
    /// (groups separated by `|`, hosts within a group by `+`).
    pub fn from_spec(spec: &str) -> Result<Event, ScheduleError> {
        let fail = |message: String| ScheduleError::Spec {
            spec: spec.to_string(),
            message,
        };
        let (kind, rest) = spec.split_once(':').ok_or_else(|| {
            fail("expected `kind:key=value,...`, e.g. `load-spike:at=60s,for=10s,factor=3`".into())
        })?;
        let mut entries = Vec::new();
        for pair in rest.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| fail(format!("`{pair}` is not `key=value`")))?;
            let value = if value.contains('|') {
                RawValue::Groups(
                    value
                        .split('|')
                        .map(|g| {
                            g.split('+')
                                .map(|h| h.trim().to_string())
                                .filter(|h| !h.is_empty())
                                .collect()
                        })
                        .collect(),
                )
            } else {
                RawValue::Scalar(value.trim().to_string())
            };
            entries.push((key.trim().to_string(), value));
        }
        event_from_raw(kind.trim(), entries).map_err(|e| fail(e.message))
    }

    /// The inline form; `Event::from_spec(&e.to_string()) == Ok(e)`.
    pub fn to_spec(&self) -> String {
        self.to_string()
    }

    fn entries(&self) -> Vec<(&'static str, RawValue)> {
        let mut v = vec![("at", RawValue::Scalar(format_duration(self.at)))];
        if let Some(d) = self.duration {
            v.push(("for", RawValue::Scalar(format_duration(d))));
        }
        v.extend(self.fault.fields());
        v
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.fault.kind())?;
        for (i, (key, value)) in self.entries().into_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match value {
                RawValue::Scalar(s) => write!(f, "{key}={s}")?,
                RawValue::Groups(g) => {
                    let groups: Vec<String> = g.iter().map(|g| g.join("+")).collect();
                    write!(f, "{key}={}", groups.join("|"))?
                }
            }
        }
        Ok(())
    }
}

/// Builds an event from the untyped form shared by YAML and inline specs.
fn event_from_raw(kind: &str, mut entries: Vec<(String, RawValue)>) -> Result<Event, FieldError> {
    let kind = FaultKind::from_name(kind).map_err(|m| FieldError::new("fault", m))?;
    // `at` and `for` are common to every kind; take them out first.
    let mut common = Vec::new();
    entries.retain(|(k, v)| {
        if k == "at" || k == "for" {
            common.push((k.clone(), v.clone()));
            false
        } else {
            true
        }
    });
    let mut c = Fields::new(kind.name(), common)?;
    let at = c.required_duration("at", "60s")?;
    let duration = c.duration("for")?;
    if duration == Some(Duration::ZERO) {
        return Err(FieldError::new(
            "for",
            "`for` must be more than 0s; leave it out for an instantaneous event",
        ));
    }
    if duration.is_none() && kind.duration_rule() == DurationRule::Required {
        return Err(FieldError::new(
            "for",
            format!("{kind} needs `for` (for example `for: 10s`)"),
        ));
    }
    let fault = Fault::from_fields(kind, Fields::new(kind.name(), entries)?)?;
    if let (Fault::LoadProfile { points }, Some(d)) = (&fault, duration) {
        if let Some((offset, _)) = points.iter().find(|(o, _)| *o >= d) {
            return Err(FieldError::new(
                "points",
                format!(
                    "point at {} is not inside the event's `for` ({})",
                    format_duration(*offset),
                    format_duration(d)
                ),
            ));
        }
    }
    Ok(Event::new(at, duration, fault))
}

/// A list of timed fault events, the input of a run beside the scenario and seed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schedule {
    /// The events, in the order they were written.
    pub events: Vec<Event>,
}

/// The deepest nesting of flow collections (`[`, `{`) a YAML input may
/// have. Schedules and incidents nest three deep; the YAML parser's cost
/// grows with the square of the depth (200 KB of `[` took 30 s).
pub const MAX_YAML_NESTING: usize = 32;

/// The line a YAML parse error is about: where the parser stopped, except
/// for a duplicate key, which it reports at the start of the mapping that
/// holds it: then the line of the key's second occurrence from there.
pub fn yaml_error_line(text: &str, error: &serde_yaml::Error) -> Option<usize> {
    let reported = error.location().map(|l| l.line())?;
    let message = error.to_string();
    let Some(key) = message
        .split_once("duplicate entry with key \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(key, _)| key)
    else {
        return Some(reported);
    };
    let spelled = format!("{key}:");
    let mut seen = 0;
    for (i, line) in text.lines().enumerate().skip(reported.saturating_sub(1)) {
        let body = line.trim_start().trim_start_matches("- ").trim_start();
        if body.starts_with(&spelled) {
            seen += 1;
            if seen == 2 {
                return Some(i + 1);
            }
        }
    }
    Some(reported)
}

/// The line (1-based) and a message when `text` nests flow collections
/// deeper than [`MAX_YAML_NESTING`], found by one linear scan before any
/// parsing (brackets inside quotes and comments are skipped).
pub fn too_deep(text: &str) -> Option<(usize, String)> {
    let (mut depth, mut line) = (0usize, 1usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = '\n';
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            comment = false;
        } else if comment {
            // Nothing in a comment counts.
        } else if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else {
            match c {
                '"' | '\'' if matches!(previous, ' ' | '[' | '{' | ',' | ':' | '\n') => {
                    quote = Some(c)
                }
                '#' if previous.is_whitespace() => comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_YAML_NESTING {
                        return Some((
                            line,
                            format!(
                                "nested deeper than {MAX_YAML_NESTING} levels of `[`/`{{`; a schedule or incident needs three"
                            ),
                        ));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        previous = c;
    }
    None
}

impl Schedule {
    /// A schedule of `events`, unchecked ([`Schedule::validate`] checks it).
    pub fn new(events: Vec<Event>) -> Self {
        Schedule { events }
    }

    /// No event: a run judged on its own.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// When the trigger ends: the latest `at + for` over all events.
    pub fn trigger_end(&self) -> Option<Duration> {
        self.events.iter().map(Event::end).max()
    }

    /// When the first event starts.
    pub fn first_onset(&self) -> Option<Duration> {
        self.events.iter().map(|e| e.at).min()
    }

    /// Parses inline `--fault` specs, one event each.
    pub fn from_specs<S: AsRef<str>>(specs: &[S]) -> Result<Schedule, ScheduleError> {
        specs
            .iter()
            .map(|s| Event::from_spec(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(Schedule::new)
    }

    /// The 1-based line where event `index` starts in the YAML `source`
    /// it was read from (the `events:` line for flow-style events).
    pub fn event_line(source: &str, index: usize) -> Option<usize> {
        lines::event_starts(source)
            .get(index)
            .copied()
            .or_else(|| lines::top_key(source, "events"))
    }

    /// Parses the YAML file form. `origin` names the source in errors
    /// (usually the file path); errors carry the line where one is known.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Schedule, ScheduleError> {
        if let Some((line, message)) = too_deep(text) {
            return Err(ScheduleError::Syntax {
                origin: origin.to_string(),
                line: Some(line),
                message,
            });
        }
        let doc: Value = serde_yaml::from_str(text).map_err(|e| ScheduleError::Syntax {
            origin: origin.to_string(),
            line: yaml_error_line(text, &e),
            message: format!("not valid YAML: {e}"),
        })?;
        Schedule::from_yaml_value(&doc, text, origin)
    }

    /// Parses a schedule embedded in a larger YAML document (an incident, say);
    /// `source` is the whole text, used only to find line numbers.
    pub fn from_yaml_value(
        doc: &Value,
        source: &str,
        origin: &str,
    ) -> Result<Schedule, ScheduleError> {
        let syntax = |line: Option<usize>, message: String| ScheduleError::Syntax {
            origin: origin.to_string(),
            line,
            message,
        };
        let map = doc.as_mapping().ok_or_else(|| {
            syntax(
                Some(1),
                "a schedule is a mapping with `version: 1` and `events: [...]`".into(),
            )
        })?;
        for key in map.keys() {
            let k = key.as_str().unwrap_or("");
            if k != "version" && k != "events" {
                return Err(syntax(
                    lines::top_key(source, k),
                    format!("unknown key `{k}`; a schedule has `version` and `events`"),
                ));
            }
        }
        match map.get("version") {
            None => {
                return Err(syntax(
                    None,
                    format!("missing `version: {SCHEDULE_VERSION}`"),
                ));
            }
            Some(v) => match v.as_u64() {
                Some(SCHEDULE_VERSION) => {}
                Some(found) => {
                    return Err(ScheduleError::Version {
                        origin: origin.to_string(),
                        line: lines::top_key(source, "version"),
                        found,
                        supported: SCHEDULE_VERSION,
                    })
                }
                None => {
                    return Err(syntax(
                        lines::top_key(source, "version"),
                        format!("`version` must be the number {SCHEDULE_VERSION}"),
                    ))
                }
            },
        }
        let events = match map.get("events") {
            None | Some(Value::Null) => return Ok(Schedule::default()),
            Some(Value::Sequence(seq)) => seq,
            Some(_) => {
                return Err(syntax(
                    lines::top_key(source, "events"),
                    "`events` must be a list".into(),
                ))
            }
        };
        let starts = lines::event_starts(source);
        let mut out = Vec::with_capacity(events.len());
        for (index, value) in events.iter().enumerate() {
            // Flow-style events (`events: [{...}]`) share the `events:` line.
            let event_line = starts
                .get(index)
                .copied()
                .or_else(|| lines::top_key(source, "events"));
            let at_key = |key: Option<&str>| {
                key.and_then(|k| lines::key_in_event(source, &starts, index, k))
                    .or(event_line)
            };
            let fail = |kind: &str, e: FieldError| ScheduleError::Event {
                origin: origin.to_string(),
                line: at_key(e.key.as_deref()),
                index,
                kind: kind.to_string(),
                message: e.message,
            };
            let map = value.as_mapping().ok_or_else(|| {
                fail(
                    "?",
                    FieldError::whole(
                        "an event is a mapping with `at`, `fault` and the fault's keys",
                    ),
                )
            })?;
            let kind = match map.get("fault") {
                Some(Value::String(k)) => k.clone(),
                Some(_) => {
                    return Err(fail(
                        "?",
                        FieldError::new("fault", "`fault` must be a fault kind name"),
                    ))
                }
                None => {
                    return Err(fail(
                        "?",
                        FieldError::whole(format!(
                            "missing `fault`; allowed kinds: {}",
                            FaultKind::ALL.map(|k| k.name()).join(", ")
                        )),
                    ))
                }
            };
            let mut entries = Vec::new();
            for (k, v) in map {
                let key = k.as_str().unwrap_or_default().to_string();
                if key == "fault" {
                    continue;
                }
                let raw = raw_value(&key, v).map_err(|e| fail(&kind, e))?;
                entries.push((key, raw));
            }
            out.push(event_from_raw(&kind, entries).map_err(|e| fail(&kind, e))?);
        }
        Ok(Schedule::new(out))
    }

    /// The YAML file form, in canonical key order; `from_yaml(to_yaml(s)) == s`.
    pub fn to_yaml(&self) -> String {
        let mut out = format!("version: {SCHEDULE_VERSION}\n");
        out.push_str(&self.events_yaml(""));
        out
    }

    /// The `events:` block alone, each line prefixed by `indent`, for
    /// embedding a schedule in a larger document.
    pub fn events_yaml(&self, indent: &str) -> String {
        if self.events.is_empty() {
            return format!("{indent}events: []\n");
        }
        let mut out = format!("{indent}events:\n");
        for event in &self.events {
            let mut first = true;
            let mut write = |key: &str, value: String| {
                let lead = if first { "  - " } else { "    " };
                first = false;
                out.push_str(&format!("{indent}{lead}{key}: {value}\n"));
            };
            let entries = event.entries();
            let mut iter = entries.into_iter();
            // `at` and `for` first, then the kind, then its keys.
            let mut rest = Vec::new();
            for (key, value) in iter.by_ref() {
                if key == "at" || key == "for" {
                    write(key, yaml_value(&value));
                } else {
                    rest.push((key, value));
                }
            }
            write("fault", event.fault.kind().name().to_string());
            for (key, value) in rest {
                write(key, yaml_value(&value));
            }
        }
        out
    }
}

fn yaml_value(v: &RawValue) -> String {
    match v {
        RawValue::Scalar(s) => yaml_scalar(s),
        RawValue::Groups(groups) => {
            let inner: Vec<String> = groups
                .iter()
                .map(|g| {
                    format!(
                        "[{}]",
                        g.iter()
                            .map(|h| yaml_scalar(h))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .collect();
            format!("[{}]", inner.join(", "))
        }
    }
}

/// Writes plain scalars where YAML reads them back as the same text, quotes otherwise.
pub fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with(['-', '.', ' '])
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn raw_value(key: &str, v: &Value) -> Result<RawValue, FieldError> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    if let Some(s) = scalar(v) {
        return Ok(RawValue::Scalar(s));
    }
    match v {
        Value::Null => Err(FieldError::new(key, format!("`{key}` has no value"))),
        Value::Sequence(groups) => {
            let mut out = Vec::new();
            for g in groups {
                let hosts = g
                    .as_sequence()
                    .and_then(|hs| hs.iter().map(scalar).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| {
                        let scalars = groups.iter().all(|g| scalar(g).is_some());
                        FieldError::new(
                            key,
                            if key == "between" || !scalars {
                                format!("`{key}` must be a list of host groups, like [[server], [client-1, client-2]]")
                            } else {
                                format!("`{key}` takes one value (a number, a duration such as `5s`, or a name), not a list: write `{key}: {}`", groups.first().and_then(scalar).unwrap_or_default())
                            },
                        )
                    })?;
                out.push(hosts);
            }
            Ok(RawValue::Groups(out))
        }
        _ => Err(FieldError::new(
            key,
            format!("`{key}` must be a plain value or a list of host groups"),
        )),
    }
}

/// Line lookup in block-style YAML. serde values carry no positions, so the
/// lines of events and of keys within them are found in the text; for
/// flow-style input the answer degrades to the event's line or none.
pub(crate) mod lines {
    fn indent(line: &str) -> usize {
        line.len() - line.trim_start().len()
    }

    /// 1-based line of a top-level key.
    pub fn top_key(source: &str, key: &str) -> Option<usize> {
        let prefix = format!("{key}:");
        source
            .lines()
            .position(|l| indent(l) == 0 && l.starts_with(&prefix))
            .map(|i| i + 1)
    }

    /// 1-based first line of each item of the top-level `events` list.
    pub fn event_starts(source: &str) -> Vec<usize> {
        let Some(events_line) = top_key(source, "events") else {
            return Vec::new();
        };
        let mut item_indent = None;
        let mut starts = Vec::new();
        for (i, line) in source.lines().enumerate().skip(events_line) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if indent(line) == 0 && !trimmed.starts_with('-') {
                break;
            }
            if trimmed.starts_with("- ") || trimmed == "-" {
                let ind = indent(line);
                let expected = *item_indent.get_or_insert(ind);
                if ind == expected {
                    starts.push(i + 1);
                }
            }
        }
        starts
    }

    /// 1-based line of `key` inside event `index`.
    pub fn key_in_event(source: &str, starts: &[usize], index: usize, key: &str) -> Option<usize> {
        let start = *starts.get(index)?;
        let end = starts.get(index + 1).copied().unwrap_or(usize::MAX);
        let prefix = format!("{key}:");
        source
            .lines()
            .enumerate()
            .skip(start - 1)
            .take_while(|(i, _)| i + 1 < end)
            .find(|(_, l)| {
                let t = l.trim_start();
                let t = t.strip_prefix("- ").unwrap_or(t).trim_start();
                t.starts_with(&prefix)
            })
            .map(|(i, _)| i + 1)
    }
}
