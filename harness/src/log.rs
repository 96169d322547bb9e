//! Logs in simulated time: `hormesis ... --log LEVEL` (or `RUST_LOG`) prints
//! the harness's and the services' tracing events stamped with the
//! simulated second they happened at, and the host (turmoil's `node` span;
//! madsim's `node` span),
//! so a replayed incident reads as a story: the fault applied, queues
//! growing, retries, recovery or not. Quiet by default.
//!
//! Formatting reads the clock of the simulation, never the wall clock, and
//! logging never feeds back into a run: the same seed gives the same digest
//! with or without `--log`.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::EnvFilter;

thread_local! {
    /// The engine's current simulated time, for events logged between
    /// ticks (fault application, window scrapes), outside any host.
    static ENGINE_NOW: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// Called by an engine as its clock advances.
pub fn set_sim_time(now: Duration) {
    ENGINE_NOW.with(|t| t.set(Some(now)));
}

/// Forgets the engine's time when dropped, however the run ends.
pub struct EngineClock(());

impl EngineClock {
    pub fn start() -> Self {
        EngineClock(())
    }
}

impl Drop for EngineClock {
    fn drop(&mut self) {
        ENGINE_NOW.with(|t| t.set(None));
    }
}

/// Simulated time as a log timestamp: a host's clock inside a host, the
/// engine's between ticks, `-` outside any simulation.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimTime;

impl FormatTime for SimTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        match sim_now() {
            Some(t) => write!(w, "{:>9.3}s", t.as_secs_f64()),
            None => write!(w, "{:>10}", "-"),
        }
    }
}

/// Simulated time: a host's clock inside a host, the engine's between
/// ticks, `None` outside any simulation.
pub fn sim_now() -> Option<Duration> {
    host_clock().or_else(|| ENGINE_NOW.with(Cell::get))
}

/// The simulated time of the host this code runs in, if any.
fn host_clock() -> Option<Duration> {
    #[cfg(not(madsim))]
    return turmoil::sim_elapsed();
    // One clock for the whole world, supervisor included.
    #[cfg(madsim)]
    return madsim::time::TimeHandle::try_current().map(|t| t.elapsed());
}

/// Installs the subscriber when asked: `level` (from `--log`, e.g. `info`
/// or `hormesis=debug,hormesis_sut=trace`) wins, else `RUST_LOG`; neither
/// leaves logging off. Output goes to stderr.
pub fn init(level: Option<&str>) -> Result<(), String> {
    let (directives, from) = match level {
        Some(l) => (l.to_string(), "--log"),
        None => match std::env::var("RUST_LOG") {
            Ok(v) if !v.trim().is_empty() => (v, "RUST_LOG"),
            _ => return Ok(()),
        },
    };
    let filter = EnvFilter::try_new(&directives).map_err(|e| {
        format!("{from} `{directives}`: {e} (try `info`, `debug` or `hormesis=debug`)")
    })?;
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(SimTime)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| e.to_string())
}
