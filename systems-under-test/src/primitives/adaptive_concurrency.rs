//! An adaptive concurrency limit (AIMD, in the manner of Netflix's
//! concurrency-limits): the number of calls allowed in flight to a
//! dependency grows by one per round trip while latency stays near its
//! no-load value, and shrinks by a factor when latency climbs past
//! `tolerance` × that value or a call is dropped. Calls over the limit are
//! refused at once, so a queue cannot build up behind the dependency: the
//! caller fails fast instead of waiting into its timeout.
//!
//! The no-load latency is the minimum seen over the last `baseline_window`
//! (a windowed minimum, as BBR keeps), so a dependency that becomes slower
//! for good is learned as the new normal after one window.
//!
//! ```
//! use hormesis_sut::primitives::{ConcurrencyLimit, ConcurrencyLimitPolicy};
//! use std::time::Duration;
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let limit = ConcurrencyLimit::new(ConcurrencyLimitPolicy { initial: 2.0, ..Default::default() });
//! let a = limit.try_acquire().unwrap();
//! let _b = limit.try_acquire().unwrap();
//! assert!(limit.try_acquire().is_none()); // two in flight: the third is refused
//! a.success(Duration::from_millis(10));
//! assert!(limit.try_acquire().is_some());
//! # }
//! ```

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
// tokio's Instant: simulated time under every engine, never the wall clock.
use tokio::time::Instant;

/// The limiter's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcurrencyLimitPolicy {
    /// The limit before any sample.
    pub initial: f64,
    pub min: f64,
    pub max: f64,
    /// Multiplicative decrease on congestion, in (0, 1).
    pub backoff: f64,
    /// A round trip longer than `tolerance` × the no-load latency is congestion.
    pub tolerance: f64,
    /// How long a minimum latency is remembered.
    #[serde(with = "humantime_serde")]
    pub baseline_window: Duration,
}

impl Default for ConcurrencyLimitPolicy {
    fn default() -> Self {
        ConcurrencyLimitPolicy {
            initial: 10.0,
            min: 1.0,
            max: 200.0,
            backoff: 0.9,
            tolerance: 2.0,
            baseline_window: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
struct State {
    limit: f64,
    in_flight: usize,
    /// The no-load latency: the minimum of the previous window.
    baseline: Option<Duration>,
    window_min: Option<Duration>,
    window_start: Option<Instant>,
    /// No decrease until then: one congestion episode backs off once per round trip.
    calm_until: Option<Instant>,
}

/// A concurrency limit shared by every caller of one dependency.
#[derive(Debug)]
pub struct ConcurrencyLimit {
    policy: ConcurrencyLimitPolicy,
    state: Mutex<State>,
}

/// One admitted call. Report how it went with [`Permit::success`] or
/// [`Permit::dropped`]; a permit dropped without either (the caller gave up
/// for its own reasons) frees its slot and teaches the limit nothing.
#[derive(Debug)]
pub struct Permit {
    limit: Arc<ConcurrencyLimit>,
}

impl ConcurrencyLimit {
    pub fn new(policy: ConcurrencyLimitPolicy) -> Arc<Self> {
        Arc::new(ConcurrencyLimit {
            state: Mutex::new(State {
                limit: policy.initial.clamp(policy.min, policy.max),
                in_flight: 0,
                baseline: None,
                window_min: None,
                window_start: None,
                calm_until: None,
            }),
            policy,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for one call, or `None` when the limit is reached.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        let mut s = self.state();
        if (s.in_flight as f64) >= s.limit.floor() {
            return None;
        }
        s.in_flight += 1;
        Some(Permit {
            limit: self.clone(),
        })
    }

    /// The current limit.
    pub fn limit(&self) -> f64 {
        self.state().limit
    }

    pub fn in_flight(&self) -> usize {
        self.state().in_flight
    }

    fn record(&self, rtt: Option<Duration>) {
        let p = &self.policy;
        let now = Instant::now();
        let mut s = self.state();
        if let Some(rtt) = rtt {
            let start = *s.window_start.get_or_insert(now);
            if now - start >= p.baseline_window {
                s.baseline = s.window_min;
                s.window_min = None;
                s.window_start = Some(now);
            }
            s.window_min = Some(s.window_min.map_or(rtt, |m| m.min(rtt)));
        }
        let baseline = s.baseline.or(s.window_min);
        let congested = match (rtt, baseline) {
            (None, _) => true,
            (Some(rtt), Some(base)) => rtt.as_secs_f64() > p.tolerance * base.as_secs_f64(),
            (Some(_), None) => false,
        };
        if congested {
            if s.calm_until.is_none_or(|t| now >= t) {
                s.limit = (s.limit * p.backoff).max(p.min);
                s.calm_until = Some(now + rtt.or(baseline).unwrap_or_default());
            }
        } else if (s.in_flight as f64) * 2.0 >= s.limit {
            // Grow only while the limit is in use, or an idle caller would
            // earn a limit it never tested.
            s.limit = (s.limit + 1.0 / s.limit).min(p.max);
        }
    }
}

impl Permit {
    /// The call succeeded after `rtt`.
    pub fn success(self, rtt: Duration) {
        self.limit.record(Some(rtt));
    }

    /// The call timed out or was refused downstream: a congestion signal.
    pub fn dropped(self) {
        self.limit.record(None);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut s = self.limit.state();
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ConcurrencyLimitPolicy {
        ConcurrencyLimitPolicy {
            initial: 4.0,
            min: 1.0,
            max: 50.0,
            backoff: 0.5,
            tolerance: 2.0,
            baseline_window: Duration::from_secs(10),
        }
    }

    /// Keeps the limit busy: `n` permits held, then all succeed after `rtt`.
    async fn round(limit: &Arc<ConcurrencyLimit>, rtt: Duration) {
        let permits: Vec<Permit> = std::iter::from_fn(|| limit.try_acquire()).collect();
        tokio::time::sleep(rtt).await;
        for p in permits {
            p.success(rtt);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn grows_every_busy_round_trip_at_no_load_latency() {
        let limit = ConcurrencyLimit::new(policy());
        let mut last = limit.limit();
        for _ in 0..10 {
            round(&limit, Duration::from_millis(20)).await;
            assert!(limit.limit() > last);
            last = limit.limit();
        }
        // The half of each round's calls that end while the limit is at
        // least half used add 1/limit each: about +0.5 per round trip.
        assert!((8.0..=10.0).contains(&limit.limit()), "{}", limit.limit());
        assert_eq!(limit.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_once_per_round_trip_when_latency_climbs() {
        let limit = ConcurrencyLimit::new(ConcurrencyLimitPolicy {
            initial: 16.0,
            ..policy()
        });
        round(&limit, Duration::from_millis(20)).await;
        let before = limit.limit();
        // Every call of a whole round is slow: one decrease, not sixteen.
        round(&limit, Duration::from_millis(100)).await;
        assert!(
            (limit.limit() - before * 0.5).abs() < 1e-9,
            "{}",
            limit.limit()
        );
        round(&limit, Duration::from_millis(100)).await;
        assert!((limit.limit() - before * 0.25).abs() < 1e-9);
    }

    #[tokio::test(start_paused = true)]
    async fn drops_back_off_and_the_floor_holds() {
        let limit = ConcurrencyLimit::new(policy());
        for _ in 0..20 {
            let p = limit.try_acquire().unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            p.dropped();
        }
        assert_eq!(limit.limit(), 1.0);
        assert!(limit.try_acquire().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_caller_does_not_grow_the_limit() {
        let limit = ConcurrencyLimit::new(policy());
        for _ in 0..100 {
            let p = limit.try_acquire().unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            p.success(Duration::from_millis(20));
        }
        assert_eq!(limit.limit(), 4.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanently_slower_dependency_becomes_the_new_baseline() {
        let limit = ConcurrencyLimit::new(ConcurrencyLimitPolicy {
            initial: 8.0,
            ..policy()
        });
        round(&limit, Duration::from_millis(10)).await;
        // 50 ms is congestion against a 10 ms baseline ...
        for _ in 0..3 {
            round(&limit, Duration::from_millis(50)).await;
        }
        let low = limit.limit();
        assert!(low < 8.0);
        // ... until the 10 ms sample ages out: the window it is in ends at
        // 10 s and serves as the baseline until 20 s.
        for _ in 0..600 {
            round(&limit, Duration::from_millis(50)).await;
        }
        assert!(limit.limit() > low + 5.0, "{} vs {low}", limit.limit());
    }

    #[test]
    fn policy_round_trips_through_serde() {
        let p = policy();
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains(r#""baseline_window":"10s""#), "{json}");
        assert_eq!(
            serde_json::from_str::<ConcurrencyLimitPolicy>(&json).unwrap(),
            p
        );
    }
}
