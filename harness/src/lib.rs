//! hormesis: chaos-and-replay testing for tokio services.
//!
//! Data flows one way:
//!
//! ```text
//! Scenario + params ─┐
//! Schedule ──────────┼─> engine (turmoil) ─> Timeline ─> verdict ─> RunReport
//! seed ──────────────┘
//! ```
//!
//! * [`scenario`]: the API a system under test implements;
//! * [`scenarios`]: the built-in ones;
//! * [`registry`]: the scenarios a program knows by name (incidents name theirs);
//! * [`workload`]: open-loop Poisson arrivals following the schedule's load faults;
//! * [`engine`]: simulators, the only code that knows one;
//! * [`timeline`]: per-window metrics;
//! * [`verdict`]: the metastability score;
//! * [`stress`]: how close a run came to tipping, graded below the tipping point;
//! * [`digest`]: the trace digest that makes determinism checkable;
//! * [`run`]: one run and its control, end to end;
//! * [`summary`]: the human-readable report;
//! * [`incident`]: incident files, the unit of record and replay;
//! * [`explore`]: the bandit explorer over fault templates × parameter cells;
//! * [`map`]: the vulnerability map of one template (tipping fraction over a grid);
//! * [`replay`], [`shrink`]: what is done with incidents;
//! * [`import`]: production timelines (CSV) as schedules;
//! * [`files`]: atomic, never-clobbering writes;
//! * [`policy`]: policy files, a mitigation's parameters kept for `--policy`;
//! * [`cli`]: the command line, for the built-ins or a user's own scenarios.
//!
//! ```no_run
//! use hormesis::{run, scenarios, engine::EngineKind};
//! use hormesis_faults::Schedule;
//!
//! let scenario = scenarios::find("retry-storm").unwrap();
//! let schedule = Schedule::from_specs(&["load-spike:at=60s,for=10s,factor=3"]).unwrap();
//! let plan = run::RunPlan::of(scenario)
//!     .schedule(schedule)
//!     .located("--fault", None)
//!     .seed(7)
//!     .build()
//!     .unwrap();
//! let report = run::run(&plan).unwrap();
//! println!("{} (score {:.2})", report.verdict.class.name(), report.verdict.score);
//! ```
// The madsim flavour answers std's clock reads with simulated time inside a
// simulation, and tokio's Instant is std's there: the wall-clock rules of
// clippy.toml hold in the default build, which lints this same code.
#![cfg_attr(madsim, allow(clippy::disallowed_methods))]

#[cfg(feature = "cli")]
pub mod cli;
pub mod consequence;
pub mod diagnosis;
pub mod digest;
pub mod engine;
pub mod explore;
pub mod files;
pub mod import;
pub mod incident;
pub mod log;
pub mod map;
pub mod memory;
mod panic_capture;
pub mod policy;
pub mod registry;
pub mod replay;
#[cfg(feature = "report")]
pub mod report;
pub mod run;
pub mod scenario;
pub mod scenarios;
pub mod setting;
pub mod shrink;
pub mod stress;
pub mod summary;
pub mod sweep;
pub mod testing;
pub mod timeline;
pub mod triage;
pub mod truth;
pub mod tune;
pub mod verdict;
pub mod workload;

/// The network seam: sockets for services under test, simulated by the
/// engine that runs them (turmoil's today). Import sockets from here, not
/// from an engine, so a service runs under every engine.
pub use hormesis_sut::net;

pub use hormesis_faults as faults;
