//! Defcon-style graceful degradation: a level from 0 (everything on) to
//! `max_level`, raised one step at a time while an overload signal stays
//! above `raise_above` and lowered one step at a time once it has stayed
//! below `lower_below` for `hold`. The service decides what each level
//! sheds (optional work first, then whole requests); the degrader only
//! decides when.
//!
//! Two thresholds and a hold time give hysteresis: a level is not dropped
//! the moment the signal dips, which would bring the overload straight back.
//!
//! ```
//! use hormesis_sut::primitives::{Degrader, DegraderPolicy};
//! use std::time::Duration;
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let d = Degrader::new(DegraderPolicy { raise_above: 100.0, lower_below: 10.0, ..Default::default() });
//! assert_eq!(d.observe(500.0), 1); // overload: shed optional work
//! tokio::time::sleep(Duration::from_secs(1)).await;
//! assert_eq!(d.observe(500.0), 2); // still overloaded: shed more
//! # }
//! ```

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;
// tokio's Instant: simulated time under every engine, never the wall clock.
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DegraderPolicy {
    pub max_level: u8,
    /// Raise the level while the signal is above this.
    pub raise_above: f64,
    /// Lower it once the signal has stayed below this for `hold`.
    pub lower_below: f64,
    /// The least time between two raises: give a level time to act.
    #[serde(with = "humantime_serde")]
    pub step_every: Duration,
    #[serde(with = "humantime_serde")]
    pub hold: Duration,
}

impl Default for DegraderPolicy {
    fn default() -> Self {
        DegraderPolicy {
            max_level: 3,
            raise_above: 100.0,
            lower_below: 20.0,
            step_every: Duration::from_secs(1),
            hold: Duration::from_secs(10),
        }
    }
}

#[derive(Debug)]
struct State {
    level: u8,
    last_raise: Option<Instant>,
    /// Since when the signal has been below `lower_below` without a break.
    calm_since: Option<Instant>,
}

#[derive(Debug)]
pub struct Degrader {
    policy: DegraderPolicy,
    state: Mutex<State>,
}

impl Degrader {
    pub fn new(policy: DegraderPolicy) -> Self {
        Degrader {
            policy,
            state: Mutex::new(State {
                level: 0,
                last_raise: None,
                calm_since: None,
            }),
        }
    }

    /// Feeds one observation of the overload signal; returns the new level.
    pub fn observe(&self, signal: f64) -> u8 {
        let p = &self.policy;
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if signal > p.raise_above {
            s.calm_since = None;
            let due = s.last_raise.is_none_or(|t| now - t >= p.step_every);
            if due && s.level < p.max_level {
                s.level += 1;
                s.last_raise = Some(now);
                tracing::info!(level = s.level, signal, "degraded");
            }
        } else if signal < p.lower_below {
            let since = *s.calm_since.get_or_insert(now);
            if s.level > 0 && now - since >= p.hold {
                s.level -= 1;
                // The next step down needs a full hold of its own.
                s.calm_since = Some(now);
                tracing::info!(level = s.level, signal, "restored");
            }
        } else {
            s.calm_since = None;
        }
        s.level
    }

    pub fn level(&self) -> u8 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> DegraderPolicy {
        DegraderPolicy {
            max_level: 3,
            raise_above: 100.0,
            lower_below: 20.0,
            step_every: Duration::from_secs(1),
            hold: Duration::from_secs(5),
        }
    }

    async fn feed(d: &Degrader, signal: f64, seconds: u64) -> u8 {
        let mut level = d.level();
        for _ in 0..seconds * 10 {
            level = d.observe(signal);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        level
    }

    #[tokio::test(start_paused = true)]
    async fn raises_one_step_per_interval_up_to_the_top() {
        let d = Degrader::new(policy());
        assert_eq!(d.observe(150.0), 1);
        assert_eq!(d.observe(150.0), 1, "a second raise waits step_every");
        assert_eq!(feed(&d, 150.0, 10).await, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn lowers_only_after_a_calm_hold_per_step() {
        let d = Degrader::new(policy());
        feed(&d, 150.0, 3).await;
        assert_eq!(d.level(), 3);
        // Between the thresholds: no change either way.
        assert_eq!(feed(&d, 50.0, 20).await, 3);
        assert_eq!(feed(&d, 5.0, 4).await, 3);
        assert_eq!(feed(&d, 5.0, 2).await, 2);
        // A spike inside the hold restarts it.
        feed(&d, 5.0, 4).await;
        d.observe(50.0);
        assert_eq!(feed(&d, 5.0, 4).await, 2);
        assert_eq!(feed(&d, 5.0, 20).await, 0);
    }

    #[test]
    fn policy_round_trips_through_serde() {
        let json = serde_json::to_string(&policy()).unwrap();
        assert_eq!(
            serde_json::from_str::<DegraderPolicy>(&json).unwrap(),
            policy()
        );
    }
}
