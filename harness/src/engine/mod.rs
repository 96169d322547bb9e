//! Engines run a built [`System`] under a [`Schedule`] in a simulated world and
//! hand back its [`Timeline`]. They are the only code that knows a simulator.

#[cfg(madsim)]
pub mod madsim;
#[cfg(not(madsim))]
pub mod turmoil;

use crate::scenario::System;
use crate::timeline::Timeline;
use hormesis_faults::{KnobKind, KnobSpec, LinkTarget, Schedule};
use serde::Serialize;
use std::rc::Rc;
use std::time::Duration;

/// Which simulator runs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// turmoil: real tokio per host, a simulated network stepped every tick.
    Turmoil,
    /// madsim: event-driven, every host a node of one simulated runtime
    /// (the madsim flavour of hormesis: `cargo madsim-build`).
    Madsim,
}

impl EngineKind {
    pub const fn name(self) -> &'static str {
        match self {
            EngineKind::Turmoil => "turmoil",
            EngineKind::Madsim => "madsim",
        }
    }

    /// The engine this build of hormesis runs: turmoil by default, madsim
    /// when built with `--cfg madsim`. A build runs only its own engine,
    /// because the services' `tokio` is one or the other.
    pub const BUILT: EngineKind = if cfg!(madsim) {
        EngineKind::Madsim
    } else {
        EngineKind::Turmoil
    };

    /// Why this build cannot run `self`, if it cannot.
    pub fn unavailable(self) -> Option<EngineError> {
        match (self, EngineKind::BUILT) {
            (EngineKind::Madsim, EngineKind::Turmoil) => Some(EngineError::Unavailable(
                "madsim",
                "it runs from the madsim flavour of hormesis: build it with `cargo madsim-build` \
                 and run target/madsim/release/hormesis (docs/engines.md)",
            )),
            (EngineKind::Turmoil, EngineKind::Madsim) => Some(EngineError::Unavailable(
                "turmoil",
                "this is the madsim flavour of hormesis; turmoil runs from the default build \
                 (`cargo build --release -p hormesis`, target/release/hormesis)",
            )),
            _ => None,
        }
    }
}

/// Everything one simulation needs.
pub struct SimRequest<'a> {
    /// Shared with the client hosts, which build their clients inside
    /// the simulation ([`System::client`]).
    pub system: Rc<dyn System>,
    pub knobs: &'a [KnobSpec],
    pub schedule: &'a Schedule,
    pub seed: u64,
    /// Simulated time at which the run stops.
    pub end: Duration,
    pub window: Duration,
    /// turmoil's step, overriding the layout's (a fidelity check reruns
    /// finer); madsim has none.
    pub tick: Option<Duration>,
}

/// A fault action as the engine applied it, at the tick it applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub t_s: f64,
    /// Zero-based index of the event in the schedule.
    pub event: usize,
    /// `apply` or `revert`.
    pub action: &'static str,
    pub spec: String,
}

/// A host whose software stopped without being crashed by a fault: a panic,
/// or a return from its main task. The run goes on without it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostFailure {
    pub host: String,
    pub t_s: f64,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct SimOutcome {
    pub timeline: Timeline,
    pub applied: Vec<Applied>,
    pub failures: Vec<HostFailure>,
    /// Logical requests still unanswered at the end.
    pub in_flight: u64,
    /// When the run passed [`MAX_IN_FLIGHT`] and was stopped, seconds.
    pub overloaded_at: Option<f64>,
}

/// The most logical requests a run may hold unanswered at once. Each costs
/// a task, its client's attempts and the service's queue entries (~1–3 KB),
/// so this bounds a run's memory to a few hundred MB whatever the offered
/// load: a healthy built-in system holds well under 1,000; 100,000 means
/// an offered rate (or a product of load spikes) the simulation cannot
/// serve, and the run ends as an engine error instead of exhausting memory.
pub const MAX_IN_FLIGHT: u64 = 100_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("the simulation panicked at {t_s:.3}s (seed {seed}): {message}")]
    Panicked {
        t_s: f64,
        seed: u64,
        message: String,
    },
    #[error("engine `{0}` is not in this build: {1}")]
    Unavailable(&'static str, &'static str),
    /// The simulator itself ran out of something (turmoil's ephemeral
    /// ports): a load the simulation cannot hold, not a finding.
    #[error("the simulation hit a limit of the simulator at {t_s:.3}s (seed {seed}): {message}; lower the offered load (rate, load-spike factors) or let clients reuse their connections")]
    Limit {
        t_s: f64,
        seed: u64,
        message: String,
    },
    #[error("the run was stopped at {t_s:.3}s (seed {seed}): over {MAX_IN_FLIGHT} requests in flight at once, or over {} MiB of simulation state, more than a simulation can hold; lower the offered load (rate, load-spike factors)", crate::memory::MAX_SIMULATION_BYTES >> 20)]
    Overloaded { t_s: f64, seed: u64 },
}

/// Runs one simulation on the chosen engine.
pub fn simulate(kind: EngineKind, request: &SimRequest<'_>) -> Result<SimOutcome, EngineError> {
    if let Some(error) = kind.unavailable() {
        return Err(error);
    }
    #[cfg(not(madsim))]
    let outcome = turmoil::simulate(request)?;
    #[cfg(madsim)]
    let outcome = madsim::simulate(request)?;
    match outcome.overloaded_at {
        Some(t_s) => Err(EngineError::Overloaded {
            t_s,
            seed: request.seed,
        }),
        None => Ok(outcome),
    }
}

/// Host pairs a link fault acts on, each once, in the order given.
fn link_pairs(target: &LinkTarget, nodes: &[String]) -> Vec<(String, String)> {
    match target {
        LinkTarget::Between(g) => g
            .pairs()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        LinkTarget::Host(h) => nodes
            .iter()
            .filter(|n| *n != h)
            .map(|n| (h.clone(), n.clone()))
            .collect(),
    }
}

/// A knob fault's effect, the same on every engine: the value while it
/// lasts, the value the system's parameters configured when it ends (else
/// the knob's declared default); an action knob fires once.
fn turn_knob(req: &SimRequest<'_>, knob: &str, value: Option<f64>, on: bool) {
    let default = req
        .knobs
        .iter()
        .find(|k| k.name == knob)
        .and_then(|k| match k.kind {
            KnobKind::Value { default, .. } => Some(req.system.knob_value(knob).unwrap_or(default)),
            KnobKind::Action => None,
        });
    match (on, default) {
        (true, _) => req.system.set_knob(knob, value),
        (false, Some(default)) => req.system.set_knob(knob, Some(default)),
        (false, None) => {}
    }
}

/// Closes every window that has ended by `now`, scraping the system once
/// per window; `windows` holds those closed so far.
fn close_due_windows(
    req: &SimRequest<'_>,
    recorder: &std::cell::RefCell<crate::timeline::Recorder>,
    now: Duration,
    windows: &mut Vec<crate::timeline::Window>,
) {
    while req.window * (windows.len() as u32 + 1) <= now {
        let window = recorder
            .borrow_mut()
            .close(windows.len() as u64, req.system.scrape());
        tracing::debug!(
            goodput = window.goodput,
            attempts = window.attempts,
            timeouts = window.timeouts,
            gauges = ?window.gauges,
            "window"
        );
        windows.push(window);
    }
}

/// Apply and revert times of every event, in the order they act: by time,
/// reverts first (an event ending at t frees its link for one starting at
/// t), then by event.
fn timed_actions(schedule: &Schedule) -> Vec<(Duration, Action, usize)> {
    let mut actions = Vec::new();
    for (i, e) in schedule.events.iter().enumerate() {
        actions.push((e.at, Action::Apply, i));
        if let Some(d) = e.duration {
            actions.push((e.at.saturating_add(d), Action::Revert, i));
        }
    }
    actions.sort();
    actions
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Revert,
    Apply,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Apply => "apply",
            Action::Revert => "revert",
        }
    }
}
