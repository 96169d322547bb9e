use crate::error::FieldError;
use crate::format_duration;
use crate::raw::{Fields, GroupPair, RawValue};
use std::fmt;
use std::time::Duration;

/// Two groups of hosts; a link fault applies to every link from a host in
/// `a` to a host in `b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostGroups {
    /// One side's hosts.
    pub a: Vec<String>,
    /// The other side's hosts.
    pub b: Vec<String>,
}

impl HostGroups {
    /// The links from every host of `a` to every host of `b`.
    pub fn new(a: Vec<String>, b: Vec<String>) -> Self {
        HostGroups { a, b }
    }

    /// Every (a, b) host pair, unordered links written as given.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.a
            .iter()
            .flat_map(move |x| self.b.iter().map(move |y| (x.as_str(), y.as_str())))
    }
}

/// Which links a latency or loss fault affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// Links between two host groups.
    Between(HostGroups),
    /// Every link of one host.
    Host(String),
}

/// One typed fault. What it does on each engine is written in `docs/engines.md`.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Messages between the groups are dropped; with `oneway`, only those from `a` to `b`.
    Partition {
        /// The two sides cut apart.
        between: HostGroups,
        /// Only messages from `a` to `b` are dropped.
        oneway: bool,
    },
    /// Every message on the target links takes exactly `delay`.
    Latency {
        /// The links slowed.
        target: LinkTarget,
        /// The delay each message takes.
        delay: Duration,
    },
    /// Each message on the target links breaks the link with probability `rate`
    /// (turmoil's link-failure model: a broken link drops until it heals).
    Loss {
        /// The links that lose messages.
        target: LinkTarget,
        /// The chance, in [0, 1], that one message is lost.
        rate: f64,
    },
    /// Messages between the groups are queued and released when the fault ends.
    Hold {
        /// The links whose messages are held.
        between: HostGroups,
    },
    /// The host's software is stopped and restarted when the fault ends
    /// (at once when the event has no `for`).
    Crash {
        /// The service host stopped.
        host: String,
    },
    /// The offered request rate is multiplied by `factor`.
    LoadSpike {
        /// The multiplier of the offered rate (above 0).
        factor: f64,
    },
    /// The offered rate climbs to `factor` in `steps` equal stairs spread over
    /// the event's duration, then drops back at its end.
    LoadStep {
        /// The multiplier the last stair reaches.
        factor: f64,
        /// How many stairs.
        steps: u32,
    },
    /// The offered rate follows a recorded curve: from each point's offset
    /// (from the event's start) the rate is multiplied by its factor, until
    /// the next point or the event's end. Imported production timelines
    /// become this fault.
    LoadProfile {
        /// (offset from the event's start, rate multiplier), in order.
        points: Vec<(Duration, f64)>,
    },
    /// A scenario knob is set to `value` for the duration, or an action knob
    /// (such as `cache-flush`) fires once.
    Knob {
        /// The knob's name, as the scenario declares it.
        knob: String,
        /// The value held for a value knob; `None` fires an action knob.
        value: Option<f64>,
    },
}

/// The kinds of [`Fault`], as named in schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// `partition`
    Partition,
    /// `latency`
    Latency,
    /// `loss`
    Loss,
    /// `hold`
    Hold,
    /// `crash`
    Crash,
    /// `load-spike`
    LoadSpike,
    /// `load-step`
    LoadStep,
    /// `load-profile`
    LoadProfile,
    /// `knob`
    Knob,
}

/// Whether an event of a kind must, may, or must not have a `for` duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationRule {
    Required,
    Optional,
}

impl FaultKind {
    /// Every kind, in the order errors list them.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Partition,
        FaultKind::Latency,
        FaultKind::Loss,
        FaultKind::Hold,
        FaultKind::Crash,
        FaultKind::LoadSpike,
        FaultKind::LoadStep,
        FaultKind::LoadProfile,
        FaultKind::Knob,
    ];

    /// The kind's name in schedules and `--fault` specs.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Latency => "latency",
            FaultKind::Loss => "loss",
            FaultKind::Hold => "hold",
            FaultKind::Crash => "crash",
            FaultKind::LoadSpike => "load-spike",
            FaultKind::LoadStep => "load-step",
            FaultKind::LoadProfile => "load-profile",
            FaultKind::Knob => "knob",
        }
    }

    /// The kind a schedule names; the error lists every allowed name.
    pub fn from_name(name: &str) -> Result<FaultKind, String> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown fault kind `{name}`; allowed: {}",
                    FaultKind::ALL.map(|k| k.name()).join(", ")
                )
            })
    }

    /// The keys an event of this kind accepts, `at` and `for` included.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            FaultKind::Partition => &["at", "for", "between", "oneway"],
            FaultKind::Latency => &["at", "for", "between", "host", "delay"],
            FaultKind::Loss => &["at", "for", "between", "host", "rate"],
            FaultKind::Hold => &["at", "for", "between"],
            FaultKind::Crash => &["at", "for", "host"],
            FaultKind::LoadSpike => &["at", "for", "factor"],
            FaultKind::LoadStep => &["at", "for", "factor", "steps"],
            FaultKind::LoadProfile => &["at", "for", "points"],
            FaultKind::Knob => &["at", "for", "knob", "value"],
        }
    }

    pub(crate) fn duration_rule(self) -> DurationRule {
        match self {
            FaultKind::Crash | FaultKind::Knob => DurationRule::Optional,
            _ => DurationRule::Required,
        }
    }

    /// Whether the fault changes the network (and so targets links).
    pub fn is_network(self) -> bool {
        matches!(
            self,
            FaultKind::Partition | FaultKind::Latency | FaultKind::Loss | FaultKind::Hold
        )
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const DEFAULT_STEPS: u32 = 4;

impl Fault {
    /// This fault's kind.
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Partition { .. } => FaultKind::Partition,
            Fault::Latency { .. } => FaultKind::Latency,
            Fault::Loss { .. } => FaultKind::Loss,
            Fault::Hold { .. } => FaultKind::Hold,
            Fault::Crash { .. } => FaultKind::Crash,
            Fault::LoadSpike { .. } => FaultKind::LoadSpike,
            Fault::LoadStep { .. } => FaultKind::LoadStep,
            Fault::LoadProfile { .. } => FaultKind::LoadProfile,
            Fault::Knob { .. } => FaultKind::Knob,
        }
    }

    /// Every host name the fault refers to.
    pub fn hosts(&self) -> Vec<&str> {
        fn groups(g: &HostGroups) -> Vec<&str> {
            g.a.iter().chain(g.b.iter()).map(String::as_str).collect()
        }
        fn target(t: &LinkTarget) -> Vec<&str> {
            match t {
                LinkTarget::Between(g) => groups(g),
                LinkTarget::Host(h) => vec![h.as_str()],
            }
        }
        match self {
            Fault::Partition { between, .. } | Fault::Hold { between } => groups(between),
            Fault::Latency { target: t, .. } | Fault::Loss { target: t, .. } => target(t),
            Fault::Crash { host } => vec![host.as_str()],
            Fault::LoadSpike { .. }
            | Fault::LoadStep { .. }
            | Fault::LoadProfile { .. }
            | Fault::Knob { .. } => vec![],
        }
    }

    /// Parses the kind-specific fields (everything but `at` and `for`).
    pub(crate) fn from_fields(kind: FaultKind, mut f: Fields) -> Result<Fault, FieldError> {
        f.reject_unknown(kind.keys())?;
        let fault = match kind {
            FaultKind::Partition => {
                let (a, b) = required_groups(&mut f, "partition")?;
                let oneway = f.boolean("oneway")?.unwrap_or(false);
                Fault::Partition {
                    between: HostGroups::new(a, b),
                    oneway,
                }
            }
            FaultKind::Latency => {
                let target = link_target(&mut f, "latency")?;
                let delay = f.required_duration("delay", "200ms")?;
                if delay.is_zero() {
                    return Err(FieldError::new("delay", "`delay` must be more than 0s"));
                }
                Fault::Latency { target, delay }
            }
            FaultKind::Loss => {
                let target = link_target(&mut f, "loss")?;
                let rate = f.required_number("rate", "0.1")?;
                if !(rate > 0.0 && rate <= 1.0) {
                    return Err(FieldError::new(
                        "rate",
                        format!("`rate` must be in (0, 1], got {rate}"),
                    ));
                }
                Fault::Loss { target, rate }
            }
            FaultKind::Hold => {
                let (a, b) = required_groups(&mut f, "hold")?;
                Fault::Hold {
                    between: HostGroups::new(a, b),
                }
            }
            FaultKind::Crash => Fault::Crash {
                host: f.required_name("host", "server")?,
            },
            FaultKind::LoadSpike => {
                let factor = f.required_number("factor", "3")?;
                check_factor(factor)?;
                Fault::LoadSpike { factor }
            }
            FaultKind::LoadStep => {
                let factor = f.required_number("factor", "2")?;
                check_factor(factor)?;
                let steps = f.integer("steps")?.unwrap_or(DEFAULT_STEPS);
                if !(1..=1000).contains(&steps) {
                    return Err(FieldError::new(
                        "steps",
                        format!("`steps` must be in 1..=1000, got {steps}"),
                    ));
                }
                Fault::LoadStep { factor, steps }
            }
            FaultKind::LoadProfile => {
                let points = f.points("points")?.ok_or_else(|| {
                    FieldError::new(
                        "points",
                        "load-profile needs `points` (for example `points: [[0s, 1], [10s, 2.5]]`)",
                    )
                })?;
                let mut last: Option<Duration> = None;
                for (i, (offset, factor)) in points.iter().enumerate() {
                    if i == 0 && !offset.is_zero() {
                        return Err(FieldError::new(
                            "points",
                            "the first point of `points` must be at offset 0s",
                        ));
                    }
                    if last.is_some_and(|l| *offset <= l) {
                        return Err(FieldError::new(
                            "points",
                            format!(
                                "`points` offsets must increase; {} follows {}",
                                format_duration(*offset),
                                format_duration(last.unwrap_or_default())
                            ),
                        ));
                    }
                    last = Some(*offset);
                    if !(0.0..=1000.0).contains(factor) {
                        return Err(FieldError::new(
                            "points",
                            format!("a `points` factor must be in [0, 1000], got {factor}"),
                        ));
                    }
                }
                Fault::LoadProfile { points }
            }
            FaultKind::Knob => {
                let knob = f.required_name("knob", "cache-flush")?;
                let value = f.number("value")?;
                Fault::Knob { knob, value }
            }
        };
        Ok(fault)
    }

    /// The kind-specific fields in canonical order, for both textual forms.
    pub(crate) fn fields(&self) -> Vec<(&'static str, RawValue)> {
        fn groups(g: &HostGroups) -> RawValue {
            RawValue::Groups(vec![g.a.clone(), g.b.clone()])
        }
        fn scalar(s: impl ToString) -> RawValue {
            RawValue::Scalar(s.to_string())
        }
        fn target(t: &LinkTarget) -> (&'static str, RawValue) {
            match t {
                LinkTarget::Between(g) => ("between", groups(g)),
                LinkTarget::Host(h) => ("host", scalar(h)),
            }
        }
        match self {
            Fault::Partition { between, oneway } => {
                let mut v = vec![("between", groups(between))];
                if *oneway {
                    v.push(("oneway", scalar(true)));
                }
                v
            }
            Fault::Latency { target: t, delay } => {
                vec![target(t), ("delay", scalar(format_duration(*delay)))]
            }
            Fault::Loss { target: t, rate } => vec![target(t), ("rate", scalar(rate))],
            Fault::Hold { between } => vec![("between", groups(between))],
            Fault::Crash { host } => vec![("host", scalar(host))],
            Fault::LoadSpike { factor } => vec![("factor", scalar(factor))],
            Fault::LoadStep { factor, steps } => {
                vec![("factor", scalar(factor)), ("steps", scalar(steps))]
            }
            Fault::LoadProfile { points } => vec![(
                "points",
                RawValue::Groups(
                    points
                        .iter()
                        .map(|(d, f)| vec![format_duration(*d), f.to_string()])
                        .collect(),
                ),
            )],
            Fault::Knob { knob, value } => {
                let mut v = vec![("knob", scalar(knob))];
                if let Some(value) = value {
                    v.push(("value", scalar(value)));
                }
                v
            }
        }
    }
}

fn check_factor(factor: f64) -> Result<(), FieldError> {
    if factor > 0.0 && factor <= 1000.0 {
        Ok(())
    } else {
        Err(FieldError::new(
            "factor",
            format!("`factor` must be in (0, 1000], got {factor}"),
        ))
    }
}

fn required_groups(f: &mut Fields, kind: &str) -> Result<GroupPair, FieldError> {
    f.groups("between")?.ok_or_else(|| {
        FieldError::new(
            "between",
            format!("{kind} needs `between` (for example `between: [[server], [client-1]]`)"),
        )
    })
}

fn link_target(f: &mut Fields, kind: &str) -> Result<LinkTarget, FieldError> {
    let between = f.groups("between")?;
    let host = f.name("host")?;
    match (between, host) {
        (Some((a, b)), None) => Ok(LinkTarget::Between(HostGroups::new(a, b))),
        (None, Some(h)) => Ok(LinkTarget::Host(h)),
        (Some(_), Some(_)) => Err(FieldError::new(
            "host",
            format!("{kind} takes either `between` or `host`, not both"),
        )),
        (None, None) => Err(FieldError::whole(format!(
            "{kind} needs `between: [[a], [b]]` (some links) or `host: NAME` (all links of a host)"
        ))),
    }
}
