//! The scenario API: what a system under test tells the harness, and nothing
//! about which engine runs it.
//!
//! A [`Scenario`] is a recipe: a name, typed [`ParamSpec`]s with defaults and
//! knobs. [`Scenario::build`] turns parameters into a [`System`]: the hosts'
//! software, a client per client host, the knob and metrics channels. The
//! engine owns the simulated world; the harness owns the workload (open-loop
//! arrivals and deadlines); the system owns everything between a logical
//! request and its answer, client retry policy included.

use crate::engine::EngineKind;
use hormesis_faults::{format_duration, parse_duration, KnobSpec};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

/// The error a host's software may end with.
pub type BoxError = Box<dyn std::error::Error>;

/// A boxed, single-threaded future: simulated hosts run on one thread.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Starts a host's software; called again on every restart after a crash.
pub type HostSoftware = Rc<dyn Fn() -> LocalFuture<'static, Result<(), BoxError>>>;

/// How a logical request ended without success, as the client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFailure {
    /// The client gave up waiting (its last attempt timed out).
    Timeout,
    /// The client got an error (refused, reset, rejected).
    Error,
}

/// The client side of the system: performs one logical request, with whatever
/// timeouts, retries and backoff the system's policy says.
pub trait Client {
    /// `key` is uniform over `u64` and fixed by the run's seed: what the
    /// request asks for (a cache key, a user), for systems where that matters.
    fn call(&self, key: u64) -> LocalFuture<'_, Result<(), CallFailure>>;
}

/// Hosts, workload and time scales of one built system.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Service hosts, with their software; any fault may hit them.
    pub hosts: Vec<String>,
    /// Client hosts; each runs the workload's share of arrivals.
    pub clients: Vec<String>,
    /// Offered load, logical requests per second over all clients.
    pub rate: f64,
    /// A logical request that has not succeeded by then counts as a timeout.
    pub deadline: Duration,
    /// Baseline measured before any fault; also the trigger end of a run without faults.
    pub warmup: Duration,
    /// H: how long after the trigger ends recovery is watched (≥ 10× the longest timeout).
    pub horizon: Duration,
    /// Recovery slower than this is `slow-recovery` (the scenario's SLO).
    pub recovers_within: Duration,
    /// The hard bound on simulated time for one run.
    pub run_limit: Duration,
    /// The finest time scale the engine must resolve (turmoil's tick).
    pub tick: Duration,
    /// Network latency range of every link without a latency fault.
    pub min_latency: Duration,
    pub max_latency: Duration,
}

/// A scrape of the system's exported metrics, taken at each window's end.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// Attempts sent by all clients so far (a counter: retries included).
    pub attempts: u64,
    /// Gauges and counters the service exports, by name.
    pub gauges: Vec<(&'static str, f64)>,
}

/// One system under test, built from parameters, ready to simulate.
pub trait System {
    fn layout(&self) -> &Layout;
    /// The software of service host `host` (one of `layout().hosts`).
    fn host_software(&self, host: &str) -> HostSoftware;
    /// The client that runs inside client host `client`. Called inside that
    /// host, once per run, when the host starts: a client may open its
    /// connection or spawn its own tasks as it is built.
    fn client(&self, client: &str) -> Rc<dyn Client>;
    /// Sets a knob: `Some(v)` for value knobs (the value from
    /// [`knob_value`](Self::knob_value) when a fault ends), `None` to fire
    /// an action knob.
    fn set_knob(&self, knob: &str, value: Option<f64>);
    fn scrape(&self) -> Scrape;
    /// The value a value knob holds when no fault acts on it, as this
    /// system's parameters configured it (a service-time knob under `--set
    /// service_time=60ms` holds 60): where a fault on it returns it. `None`,
    /// the default, returns it to the knob's declared default.
    fn knob_value(&self, knob: &str) -> Option<f64> {
        let _ = knob;
        None
    }
}

/// A system under test the harness can build and run.
pub trait Scenario: Send + Sync {
    fn name(&self) -> &'static str;
    /// One line for `hormesis scenarios`.
    fn description(&self) -> &'static str;
    fn params(&self) -> Vec<ParamSpec>;
    fn knobs(&self) -> Vec<KnobSpec>;
    /// A schedule, in inline spec form, that tips the unmitigated system.
    fn trigger(&self) -> Vec<String>;
    /// Builds the system; `params` holds a value for every spec.
    fn build(&self, params: &Params) -> Result<Box<dyn System>, ParamError>;
    /// Why the system cannot run on `engine`, if it cannot (e.g. it needs
    /// the real tokio runtime, which madsim replaces). Shown by
    /// `hormesis scenarios` and refused before a run starts.
    fn unsupported_on(&self, engine: EngineKind) -> Option<&'static str> {
        let _ = engine;
        None
    }
    /// The parameters `hormesis tune` searches for `mitigation` (a value of
    /// the `mitigation` parameter). By default those named `PREFIX.NAME`
    /// whose PREFIX, `_` read as `-`, is one or more whole words of the
    /// mitigation's name: `retry_budget.*` for `retry-budget`,
    /// `concurrency.*` for `adaptive-concurrency`. Override to leave out a
    /// parameter that describes the environment rather than the policy
    /// (how long a new worker takes to boot).
    fn policy_params(&self, mitigation: &str) -> Vec<&'static str> {
        policy_params_by_prefix(&self.params(), mitigation)
    }
    /// Benign faults for `mitigation`: light faults under which it should
    /// help (retries rescue requests under light loss; an autoscaler
    /// serves a moderate load step), as `--fault` specs whose `at` counts
    /// from the end of the warm-up. `hormesis tune` prices the goodput a
    /// policy loses under them, so a tuning cannot buy recovery by
    /// switching the mitigation off. None by default.
    fn benign_faults(&self, mitigation: &str) -> Vec<String> {
        let _ = mitigation;
        Vec::new()
    }
    /// The knobs of the system `params` build, for a scenario whose knobs
    /// depend on its parameters (a generated system has one per service).
    /// By default, [`knobs`](Self::knobs) whatever the parameters.
    fn knobs_for(&self, params: &Params) -> Vec<KnobSpec> {
        let _ = params;
        self.knobs()
    }
    /// Remedies: knobs an operator turns to cut one sustaining loop
    /// (pause retries, warm a cache back to its steady state, relieve
    /// memory pressure). A schedule may turn them like any knob, so a
    /// diagnosis can be checked by intervention (does cutting the loop it
    /// names at the trigger's end bring the run back?), but no search
    /// proposes them as faults. Each remedy's name should say the loop it
    /// cuts. None by default.
    fn remedies(&self, params: &Params) -> Vec<KnobSpec> {
        let _ = params;
        Vec::new()
    }
    /// A description of the system `params` build, beyond the one-line
    /// [`description`](Self::description): `hormesis scenarios --scenario
    /// NAME --set ...` prints it. `None` (the default): nothing more to say.
    fn describe(&self, params: &Params) -> Option<String> {
        let _ = params;
        None
    }
}

/// The default of [`Scenario::policy_params`]: numeric parameters named
/// `PREFIX.NAME` where PREFIX is a run of the mitigation's words.
pub fn policy_params_by_prefix(params: &[ParamSpec], mitigation: &str) -> Vec<&'static str> {
    let words: Vec<&str> = mitigation.split('-').collect();
    params
        .iter()
        .filter(|p| !matches!(p.kind, ParamKind::Choice { .. }))
        .filter(|p| {
            let Some((prefix, _)) = p.name.split_once('.') else {
                return false;
            };
            let prefix: Vec<&str> = prefix.split('_').collect();
            !prefix.is_empty()
                && words
                    .windows(prefix.len())
                    .any(|run| run == prefix.as_slice())
        })
        .map(|p| p.name)
        .collect()
}

/// The type and range of a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamKind {
    Int {
        min: u64,
        max: u64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Duration {
        min: Duration,
        max: Duration,
    },
    /// One of a fixed set of names, such as a mitigation.
    Choice {
        options: &'static [&'static str],
    },
}

#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: ParamValue,
    pub help: &'static str,
}

/// A parameter value. Durations serialise in the schedule form (`250ms`).
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Int(u64),
    Float(f64),
    Duration(Duration),
    Choice(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => f.write_str(&number(*v)),
            ParamValue::Duration(d) => f.write_str(&format_duration(*d)),
            ParamValue::Choice(c) => f.write_str(c),
        }
    }
}

/// A number as people read it: plainly in the usual range, in exponent
/// form where plain digits would run to hundreds (`1e308`, `5e-324`). Both
/// read back as the same `f64`.
pub fn number(v: f64) -> String {
    let magnitude = v.abs();
    if v != 0.0 && v.is_finite() && !(1e-6..1e15).contains(&magnitude) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

impl Serialize for ParamValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ParamValue::Int(v) => s.serialize_u64(*v),
            ParamValue::Float(v) => s.serialize_f64(*v),
            ParamValue::Duration(d) => s.serialize_str(&format_duration(*d)),
            ParamValue::Choice(c) => s.serialize_str(c),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    pub message: String,
}

impl ParamError {
    pub fn new(message: impl Into<String>) -> Self {
        ParamError {
            message: message.into(),
        }
    }
}

impl ParamSpec {
    /// Parses `text` as this parameter, checking its range.
    pub fn parse(&self, text: &str) -> Result<ParamValue, ParamError> {
        let name = self.name;
        let bad = |what: String| ParamError::new(format!("`{name}`: {what}"));
        match &self.kind {
            ParamKind::Int { min, max } => {
                let v: u64 = text
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("expected a whole number, got `{text}`")))?;
                if !(*min..=*max).contains(&v) {
                    return Err(bad(format!("{v} is outside {min}..={max}")));
                }
                Ok(ParamValue::Int(v))
            }
            ParamKind::Float { min, max } => {
                let v: f64 = text
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("expected a number, got `{text}`")))?;
                if !(v >= *min && v <= *max) {
                    return Err(bad(format!(
                        "{} is outside [{}, {}]",
                        number(v),
                        number(*min),
                        number(*max)
                    )));
                }
                // -0 is 0: the same run, so the same digest and incident id.
                Ok(ParamValue::Float(if v == 0.0 { 0.0 } else { v }))
            }
            ParamKind::Duration { min, max } => {
                let v = parse_duration(text).map_err(bad)?;
                if v < *min || v > *max {
                    return Err(bad(format!(
                        "{} is outside {}..={}",
                        format_duration(v),
                        format_duration(*min),
                        format_duration(*max)
                    )));
                }
                Ok(ParamValue::Duration(v))
            }
            ParamKind::Choice { options } => {
                let v = text.trim();
                match options.iter().find(|o| **o == v) {
                    Some(o) => Ok(ParamValue::Choice(o.to_string())),
                    None => Err(bad(format!(
                        "unknown value `{v}`; allowed: {}",
                        options.join(", ")
                    ))),
                }
            }
        }
    }

    /// The range, as shown by `hormesis scenarios`.
    pub fn range(&self) -> String {
        match &self.kind {
            ParamKind::Int { min, max } => format!("{min}..={max}"),
            ParamKind::Float { min, max } => format!("{}..={}", number(*min), number(*max)),
            ParamKind::Duration { min, max } => {
                format!("{}..={}", format_duration(*min), format_duration(*max))
            }
            ParamKind::Choice { options } => options.join("|"),
        }
    }
}

/// A full set of parameter values for one scenario, in name order, and
/// the seed of the run the system is built for.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct Params {
    values: BTreeMap<String, ParamValue>,
    #[serde(skip)]
    seed: u64,
}

impl Params {
    /// The defaults, with `overrides` (`key=value` strings) applied.
    pub fn resolve<S: AsRef<str>>(
        specs: &[ParamSpec],
        overrides: &[S],
    ) -> Result<Params, ParamError> {
        let mut values: BTreeMap<String, ParamValue> = specs
            .iter()
            .map(|s| (s.name.to_string(), s.default.clone()))
            .collect();
        for o in overrides {
            let o = o.as_ref();
            let (key, value) = o
                .split_once('=')
                .ok_or_else(|| ParamError::new(format!("--set `{o}`: expected key=value")))?;
            let spec = specs.iter().find(|s| s.name == key.trim()).ok_or_else(|| {
                ParamError::new(format!(
                    "--set `{o}`: unknown parameter `{}`; allowed: {}",
                    key.trim(),
                    specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                ))
            })?;
            values.insert(spec.name.to_string(), spec.parse(value)?);
        }
        Ok(Params { values, seed: 0 })
    }

    /// The seed of the run this system is built for: derive the service's
    /// own randomness from it (service-time jitter, warm-start state; e.g.
    /// `ChaCha12Rng::seed_from_u64(params.seed())`), so it follows the run
    /// seed like arrivals and network jitter do. A run and its control get
    /// the same seed. 0 when a system is built outside a run (to read its
    /// layout or list it): a layout must not depend on it.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// These values for the run with `seed`.
    pub fn with_seed(mut self, seed: u64) -> Params {
        self.seed = seed;
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn get(&self, name: &str) -> Result<&ParamValue, ParamError> {
        self.values
            .get(name)
            .ok_or_else(|| ParamError::new(format!("missing parameter `{name}`")))
    }

    pub fn int(&self, name: &str) -> Result<u64, ParamError> {
        match self.get(name)? {
            ParamValue::Int(v) => Ok(*v),
            other => Err(ParamError::new(format!(
                "`{name}` is {other}, not a whole number"
            ))),
        }
    }

    pub fn float(&self, name: &str) -> Result<f64, ParamError> {
        match self.get(name)? {
            ParamValue::Float(v) => Ok(*v),
            ParamValue::Int(v) => Ok(*v as f64),
            other => Err(ParamError::new(format!(
                "`{name}` is {other}, not a number"
            ))),
        }
    }

    pub fn duration(&self, name: &str) -> Result<Duration, ParamError> {
        match self.get(name)? {
            ParamValue::Duration(v) => Ok(*v),
            other => Err(ParamError::new(format!(
                "`{name}` is {other}, not a duration"
            ))),
        }
    }

    pub fn choice(&self, name: &str) -> Result<&str, ParamError> {
        match self.get(name)? {
            ParamValue::Choice(v) => Ok(v),
            other => Err(ParamError::new(format!("`{name}` is {other}, not a name"))),
        }
    }

    /// `key=value` pairs in name order: the canonical form hashed into digests.
    pub fn canonical(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }
}
