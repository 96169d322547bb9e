//! Engines run a built [`System`] under a [`Schedule`] in a simulated world and
//! hand back its [`Timeline`]. They are the only code that knows a simulator.

pub mod turmoil;

use crate::scenario::System;
use crate::timeline::Timeline;
use hormesis_faults::{KnobSpec, Schedule};
use serde::Serialize;
use std::time::Duration;

/// Which simulator runs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// turmoil: real tokio per host, a simulated network stepped every tick.
    Turmoil,
    /// madsim: event-driven (not in this build yet).
    Madsim,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Turmoil => "turmoil",
            EngineKind::Madsim => "madsim",
        }
    }
}

/// Everything one simulation needs.
pub struct SimRequest<'a> {
    pub system: &'a dyn System,
    pub knobs: &'a [KnobSpec],
    pub schedule: &'a Schedule,
    pub seed: u64,
    /// Simulated time at which the run stops.
    pub end: Duration,
    pub window: Duration,
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
}

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
}

/// Runs one simulation on the chosen engine.
pub fn simulate(kind: EngineKind, request: &SimRequest<'_>) -> Result<SimOutcome, EngineError> {
    match kind {
        EngineKind::Turmoil => turmoil::simulate(request),
        EngineKind::Madsim => Err(EngineError::Unavailable(
            "madsim",
            "the madsim engine is not built yet; use --engine turmoil",
        )),
    }
}
