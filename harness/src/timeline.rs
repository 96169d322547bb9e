//! Per-window metrics. Memory is one record per window plus the windows still
//! open (at most a few), never one per request.

use crate::scenario::{CallFailure, Scrape};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What happened in one window `[t_s, t_s + window)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Window start, seconds of simulated time.
    pub t_s: f64,
    /// Logical requests that arrived.
    pub offered: u64,
    /// Attempts the clients sent (first tries and retries).
    pub attempts: u64,
    /// Logical requests that succeeded before their deadline.
    pub goodput: u64,
    /// Logical requests that failed with an error.
    pub errors: u64,
    /// Logical requests that timed out (client gave up, or the deadline passed).
    pub timeouts: u64,
    /// Latency of successful requests in this window, milliseconds.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Service gauges at the window's end.
    pub gauges: BTreeMap<String, f64>,
}

/// The windows of one simulated run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub window_s: f64,
    pub windows: Vec<Window>,
}

impl Timeline {
    pub fn window(&self) -> Duration {
        Duration::from_secs_f64(self.window_s)
    }
}

#[derive(Default)]
struct Open {
    offered: u64,
    goodput: u64,
    errors: u64,
    timeouts: u64,
    latency_us: Option<Histogram<u64>>,
}

/// Collects request outcomes into windows as the simulation runs.
pub struct Recorder {
    window: Duration,
    open: BTreeMap<u64, Open>,
    spare: Vec<Histogram<u64>>,
    last_attempts: u64,
    /// Requests offered but not yet resolved (an invariant check).
    in_flight: u64,
}

impl Recorder {
    pub fn new(window: Duration) -> Recorder {
        Recorder {
            window,
            open: BTreeMap::new(),
            spare: Vec::new(),
            last_attempts: 0,
            in_flight: 0,
        }
    }

    fn slot(&mut self, at: Duration) -> &mut Open {
        let index = (at.as_nanos() / self.window.as_nanos()) as u64;
        self.open.entry(index).or_default()
    }

    pub fn offered(&mut self, at: Duration) {
        self.in_flight += 1;
        self.slot(at).offered += 1;
    }

    pub fn resolved(&mut self, at: Duration, result: Result<Duration, CallFailure>) {
        assert!(
            self.in_flight > 0,
            "a request resolved that was never offered"
        );
        self.in_flight -= 1;
        let spare = self.spare.pop();
        let slot = self.slot(at);
        match result {
            Ok(latency) => {
                slot.goodput += 1;
                let h = slot.latency_us.get_or_insert_with(|| {
                    spare.unwrap_or_else(|| {
                        Histogram::new_with_bounds(1, 3_600_000_000, 2)
                            .expect("static histogram bounds are valid")
                    })
                });
                h.saturating_record(latency.as_micros().max(1) as u64);
            }
            Err(CallFailure::Error) => slot.errors += 1,
            Err(CallFailure::Timeout) => slot.timeouts += 1,
        }
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// Closes window `index`, which must have ended: nothing can be recorded
    /// in it any more.
    pub fn close(&mut self, index: u64, scrape: Scrape) -> Window {
        if let Some((&first, _)) = self.open.first_key_value() {
            assert!(
                first >= index,
                "window {first} left open behind window {index}"
            );
        }
        let open = self.open.remove(&index).unwrap_or_default();
        let attempts = scrape.attempts.saturating_sub(self.last_attempts);
        self.last_attempts = scrape.attempts;
        let quantile = |q: f64| {
            open.latency_us
                .as_ref()
                .map(|h| h.value_at_quantile(q) as f64 / 1000.0)
        };
        let window = Window {
            t_s: (self.window * index as u32).as_secs_f64(),
            offered: open.offered,
            attempts,
            goodput: open.goodput,
            errors: open.errors,
            timeouts: open.timeouts,
            p50_ms: quantile(0.5),
            p99_ms: quantile(0.99),
            gauges: scrape
                .gauges
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        };
        if let Some(mut h) = open.latency_us {
            h.reset();
            self.spare.push(h);
        }
        window
    }
}
