use crate::error::{FieldError, ScheduleError};
use crate::fault::{Fault, FaultKind, LinkTarget};
use crate::format_duration;
use crate::schedule::{lines, Event, Schedule};
use std::collections::BTreeSet;
use std::time::Duration;

/// How a scenario knob is driven by a `knob` fault.
#[derive(Debug, Clone, PartialEq)]
pub enum KnobKind {
    /// Fires once when the event starts (e.g. `cache-flush`); takes no value or duration.
    Action,
    /// Holds `value` for the event's duration, then returns to the value the
    /// system configured (`default` unless its parameters say otherwise).
    ///
    /// `explore` raises it, up to ten times the default or `max`; a knob
    /// with no room above its default (`default == max`) is a capacity (a
    /// share of workers, a cache's size, a concurrency cap) and is lowered
    /// instead, down to a tenth of the default or `min`.
    Value {
        /// The smallest value a schedule may set.
        min: f64,
        /// The largest.
        max: f64,
        /// The value the system has when no fault sets it.
        default: f64,
    },
}

/// A knob a scenario declares: the typed control channel into the service.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobSpec {
    /// The name schedules use.
    pub name: String,
    /// An action, or a value within a range.
    pub kind: KnobKind,
    /// One line: what the knob does, with its unit.
    pub help: String,
}

/// What a schedule may refer to: the scenario's hosts and knobs, and how late
/// its trigger may end.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Service hosts: any fault may hit them, including `crash`.
    pub hosts: Vec<String>,
    /// Client hosts (they run the workload): network faults only.
    pub clients: Vec<String>,
    /// The knobs schedules may turn.
    pub knobs: Vec<KnobSpec>,
    /// The latest time any event may end (the run's hard bound less the
    /// recovery horizon that must follow the trigger).
    pub latest_end: Duration,
}

impl Target {
    fn nodes(&self) -> impl Iterator<Item = &String> {
        self.hosts.iter().chain(self.clients.iter())
    }

    fn node_list(&self) -> String {
        self.nodes().cloned().collect::<Vec<_>>().join(", ")
    }

    fn knob(&self, name: &str) -> Option<&KnobSpec> {
        self.knobs.iter().find(|k| k.name == name)
    }

    /// Unordered links a network fault touches.
    fn links(&self, target: &LinkTarget) -> BTreeSet<(String, String)> {
        let ordered = |a: &str, b: &str| {
            if a <= b {
                (a.to_string(), b.to_string())
            } else {
                (b.to_string(), a.to_string())
            }
        };
        match target {
            LinkTarget::Between(g) => g.pairs().map(|(a, b)| ordered(a, b)).collect(),
            LinkTarget::Host(h) => self
                .nodes()
                .filter(|n| *n != h)
                .map(|n| ordered(h, n))
                .collect(),
        }
    }
}

/// The links a network fault acts on, as a [`LinkTarget`].
fn link_target(fault: &Fault) -> Option<LinkTarget> {
    match fault {
        Fault::Partition { between, .. } | Fault::Hold { between } => {
            Some(LinkTarget::Between(between.clone()))
        }
        Fault::Latency { target, .. } | Fault::Loss { target, .. } => Some(target.clone()),
        _ => None,
    }
}

impl Schedule {
    /// Checks every event against `target`; see [`Schedule::check`].
    pub fn validate(&self, target: &Target) -> Result<(), ScheduleError> {
        self.check(target, "schedule", None)
    }

    /// Checks every event against `target`: hosts and knobs exist, values are
    /// in range, events end by `target.latest_end`, and no two events overlap
    /// in a way that cannot apply (the same link cut twice, a host crashed
    /// while crashed, one knob set twice at once). `source` is the YAML text
    /// the schedule came from, if any, so errors carry the line.
    pub fn check(
        &self,
        target: &Target,
        origin: &str,
        source: Option<&str>,
    ) -> Result<(), ScheduleError> {
        let locate = |index: usize, error: FieldError| {
            let line = source.and_then(|src| {
                let starts = lines::event_starts(src);
                error
                    .key
                    .as_deref()
                    .and_then(|k| lines::key_in_event(src, &starts, index, k))
                    .or_else(|| starts.get(index).copied())
                    // Flow-style events (`events: [{...}]`) share one line.
                    .or_else(|| lines::top_key(src, "events"))
            });
            ScheduleError::Event {
                origin: origin.to_string(),
                line,
                index,
                kind: self.events[index].fault.kind().name().to_string(),
                message: error.message,
            }
        };
        if self.events.len() > MAX_EVENTS {
            return Err(locate(
                MAX_EVENTS,
                FieldError {
                    key: None,
                    message: format!(
                        "a schedule has at most {MAX_EVENTS} events; this one has {}",
                        self.events.len()
                    ),
                },
            ));
        }
        for (index, event) in self.events.iter().enumerate() {
            check_event(event, target).map_err(|e| locate(index, e))?;
        }
        if let Some((index, product)) = peak_load(&self.events) {
            return Err(locate(
                index,
                FieldError::new(
                    "factor",
                    format!(
                        "the load events running at {} multiply the offered load by up to {product:.4e}; \
                         at most {MAX_LOAD_PRODUCT}× at any time (overlapping load factors multiply)",
                        format_duration(self.events[index].at)
                    ),
                ),
            ));
        }
        for j in 0..self.events.len() {
            for i in 0..j {
                if let Some(e) = conflict(&self.events[i], i, &self.events[j], target) {
                    return Err(locate(j, e));
                }
            }
        }
        Ok(())
    }
}

/// The most events one schedule may hold; the checks and the engines are
/// at worst quadratic in it.
pub const MAX_EVENTS: usize = 1000;

/// The most the offered load may be multiplied at any moment, counting
/// every load event that overlaps (their factors multiply). A system
/// offered a thousand times its rate is far past any tipping point; more
/// only fills memory with arrivals.
pub const MAX_LOAD_PRODUCT: f64 = 1000.0;

fn load_factor(fault: &Fault) -> Option<f64> {
    match fault {
        Fault::LoadSpike { factor } | Fault::LoadStep { factor, .. } => Some(factor.max(1.0)),
        Fault::LoadProfile { points } => Some(points.iter().map(|p| p.1).fold(1.0, f64::max)),
        _ => None,
    }
}

/// The first load event at whose start the overlapping load factors
/// multiply past [`MAX_LOAD_PRODUCT`], with that product.
fn peak_load(events: &[Event]) -> Option<(usize, f64)> {
    let loads: Vec<(usize, &Event, f64)> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, e, load_factor(&e.fault)?)))
        .collect();
    loads.iter().find_map(|&(i, event, _)| {
        let t = event.at;
        let product: f64 = loads
            .iter()
            .filter(|(_, e, _)| e.at <= t && t < e.end().max(e.at + Duration::from_nanos(1)))
            .map(|(_, _, f)| f)
            .product();
        (product > MAX_LOAD_PRODUCT).then_some((i, product))
    })
}

fn check_event(event: &Event, target: &Target) -> Result<(), FieldError> {
    for host in event.fault.hosts() {
        if !target.nodes().any(|n| n == host) {
            let key = match &event.fault {
                Fault::Crash { .. }
                | Fault::Latency {
                    target: LinkTarget::Host(_),
                    ..
                }
                | Fault::Loss {
                    target: LinkTarget::Host(_),
                    ..
                } => "host",
                _ => "between",
            };
            return Err(FieldError::new(
                key,
                format!("unknown host `{host}`; allowed: {}", target.node_list()),
            ));
        }
    }
    if let Fault::Crash { host } = &event.fault {
        if !target.hosts.contains(host) {
            return Err(FieldError::new(
                "host",
                format!(
                    "`{host}` is a client (it runs the workload) and cannot crash; crashable hosts: {}",
                    target.hosts.join(", ")
                ),
            ));
        }
    }
    if let Fault::Knob { knob, value } = &event.fault {
        let names = || {
            target
                .knobs
                .iter()
                .map(|k| k.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let spec = target.knob(knob).ok_or_else(|| {
            let allowed = if target.knobs.is_empty() {
                "none (this scenario has no knobs)".to_string()
            } else {
                names()
            };
            FieldError::new("knob", format!("unknown knob `{knob}`; allowed: {allowed}"))
        })?;
        match (&spec.kind, value, event.duration) {
            (KnobKind::Action, Some(_), _) => {
                return Err(FieldError::new(
                    "value",
                    format!("knob `{knob}` is an action and takes no `value`"),
                ))
            }
            (KnobKind::Action, None, Some(_)) => {
                return Err(FieldError::new(
                    "for",
                    format!("knob `{knob}` is an action (it fires once) and takes no `for`"),
                ))
            }
            (KnobKind::Value { min, max, .. }, value, duration) => {
                let value = value.ok_or_else(|| {
                    FieldError::new(
                        "value",
                        format!("knob `{knob}` needs a `value` in [{min}, {max}]"),
                    )
                })?;
                if !(*min..=*max).contains(&value) {
                    return Err(FieldError::new(
                        "value",
                        format!("knob `{knob}` takes a value in [{min}, {max}], got {value}"),
                    ));
                }
                if duration.is_none() {
                    return Err(FieldError::new("for", format!("knob `{knob}` holds a value and needs `for` (it returns to its default after)")));
                }
            }
            (KnobKind::Action, None, None) => {}
        }
    }
    if event.end() > target.latest_end {
        return Err(FieldError::new(
            if event.duration.is_some() { "for" } else { "at" },
            format!(
                "ends at {}, past the run's end: triggers must end by {} so the recovery horizon fits",
                format_duration(event.end()),
                format_duration(target.latest_end)
            ),
        ));
    }
    Ok(())
}

/// Why event `b` cannot apply beside the earlier event `a`, if it cannot.
fn conflict(a: &Event, ai: usize, b: &Event, target: &Target) -> Option<FieldError> {
    // Instantaneous events occupy their instant; intervals are half-open.
    let overlaps = |x: &Event, y: &Event| {
        let (xs, xe) = (x.at, x.end().max(x.at + Duration::from_nanos(1)));
        let (ys, ye) = (y.at, y.end().max(y.at + Duration::from_nanos(1)));
        xs < ye && ys < xe
    };
    if !overlaps(a, b) {
        return None;
    }
    let what = format!(
        "event {} ({} at {})",
        ai + 1,
        a.fault.kind(),
        format_duration(a.at)
    );
    match (&a.fault, &b.fault) {
        (Fault::Crash { host: x }, Fault::Crash { host: y }) if x == y => Some(FieldError::new(
            "at",
            format!("crashes `{y}` while {what} has it down; merge them into one event"),
        )),
        (
            Fault::Knob {
                knob: x,
                value: Some(_),
            },
            Fault::Knob {
                knob: y,
                value: Some(_),
            },
        ) if x == y => Some(FieldError::new(
            "at",
            format!("sets knob `{y}` while {what} holds it"),
        )),
        (fa, fb) if fa.kind().is_network() && fb.kind().is_network() => {
            let (ka, kb) = (fa.kind(), fb.kind());
            let exclusive = |k: FaultKind| matches!(k, FaultKind::Partition | FaultKind::Hold);
            if ka != kb && !exclusive(ka) && !exclusive(kb) {
                return None; // latency and loss on one link compose
            }
            let la = target.links(&link_target(fa)?);
            let lb = target.links(&link_target(fb)?);
            let shared = la.intersection(&lb).next()?;
            Some(FieldError::new(
                "at",
                format!(
                    "{kb} on link {}–{} overlaps {what} on the same link; one link takes one {} at a time",
                    shared.0,
                    shared.1,
                    if exclusive(ka) || exclusive(kb) { "partition or hold" } else { kb.name() }
                ),
            ))
        }
        _ => None,
    }
}
