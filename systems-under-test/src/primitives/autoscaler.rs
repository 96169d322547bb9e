//! An autoscaler: a proportional controller that sizes a pool of server
//! replicas from the work in the system (queued plus in service). Each
//! period it estimates the replicas needed (`load / target_per_replica`) and
//! moves `gain` of the way there; new replicas serve only after `boot_delay`,
//! as real instances do, while removals take effect at once.
//!
//! The controller is a feedback loop with a delay, so its gain matters: with
//! `gain` ≤ 1 it approaches its target (over-damped); with a larger gain and
//! a long boot delay it acts on stale measurements, overshoots, and can
//! oscillate between too many and too few replicas (under-damped), which is
//! an overload of its own making.
//!
//! ```
//! use hormesis_sut::primitives::{Autoscaler, AutoscalerPolicy};
//! let mut a = Autoscaler::new(AutoscalerPolicy { min: 2, max: 20, gain: 0.5, target_per_replica: 4.0, ..Default::default() });
//! // 40 jobs in the system want 10 replicas; from 2, half the way is 6.
//! assert_eq!(a.step(2, 40.0), 6);
//! assert_eq!(a.step(6, 40.0), 8);
//! ```

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalerPolicy {
    pub min: usize,
    pub max: usize,
    /// Jobs (queued + in service) one replica should carry: below 1 leaves
    /// headroom (0.7 aims at 70 % busy replicas and no queue).
    pub target_per_replica: f64,
    /// The fraction of the gap to the target closed each period.
    pub gain: f64,
    /// How often the controller runs.
    #[serde(with = "humantime_serde")]
    pub period: Duration,
    /// How long a new replica takes before it serves.
    #[serde(with = "humantime_serde")]
    pub boot_delay: Duration,
}

impl Default for AutoscalerPolicy {
    fn default() -> Self {
        AutoscalerPolicy {
            min: 1,
            max: 64,
            target_per_replica: 0.7,
            gain: 0.5,
            period: Duration::from_secs(5),
            boot_delay: Duration::from_secs(10),
        }
    }
}

/// The controller; it holds no clock, so one step is one decision.
#[derive(Debug, Clone)]
pub struct Autoscaler {
    policy: AutoscalerPolicy,
}

impl Autoscaler {
    pub fn new(policy: AutoscalerPolicy) -> Self {
        Autoscaler { policy }
    }

    pub fn policy(&self) -> &AutoscalerPolicy {
        &self.policy
    }

    /// The replica count to ask for, given `current` replicas (booting ones
    /// included) and `load` jobs in the system.
    pub fn step(&mut self, current: usize, load: f64) -> usize {
        let p = &self.policy;
        let wanted = (load.max(0.0) / p.target_per_replica.max(f64::MIN_POSITIVE)).ceil();
        let next = current as f64 + p.gain * (wanted - current as f64);
        // Round away from `current`, so a small gain still moves.
        let next = if next > current as f64 {
            next.ceil()
        } else {
            next.floor()
        };
        (next.max(0.0) as usize).clamp(p.min.max(1), p.max.max(p.min.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaler(gain: f64) -> Autoscaler {
        Autoscaler::new(AutoscalerPolicy {
            min: 2,
            max: 32,
            target_per_replica: 4.0,
            gain,
            ..Default::default()
        })
    }

    #[test]
    fn a_gain_of_one_jumps_to_the_target_and_holds_it() {
        let mut a = scaler(1.0);
        assert_eq!(a.step(2, 40.0), 10);
        assert_eq!(a.step(10, 40.0), 10);
        assert_eq!(a.step(10, 0.0), 2, "never below min");
        assert_eq!(a.step(10, 10_000.0), 32, "never above max");
    }

    #[test]
    fn a_small_gain_approaches_without_overshoot() {
        let mut a = scaler(0.3);
        let mut n = 2;
        let mut path = vec![n];
        for _ in 0..20 {
            n = a.step(n, 40.0);
            path.push(n);
        }
        assert!(
            path.windows(2).all(|w| w[0] <= w[1] && w[1] <= 10),
            "{path:?}"
        );
        assert_eq!(n, 10);
    }

    /// A toy plant: 12 replicas' worth of arrivals per period, 4 jobs per
    /// replica per period, a backlog that grows while under-provisioned, and
    /// new replicas that serve two periods after they are asked for.
    /// Returns the direction reversals and the final count.
    fn plant(gain: f64) -> (usize, Vec<usize>) {
        let mut a = scaler(gain);
        let (mut history, mut backlog) = (vec![2usize; 3], 0.0f64);
        let (mut reversals, mut last_dir) = (0, 0i64);
        for _ in 0..40 {
            let serving = history[history.len() - 3] as f64;
            backlog = (backlog + (12.0 - serving) * 4.0).max(0.0);
            let current = history[history.len() - 1];
            let next = a.step(current, backlog + 48.0);
            let dir = (next as i64 - current as i64).signum();
            if dir != 0 && last_dir != 0 && dir != last_dir {
                reversals += 1;
            }
            if dir != 0 {
                last_dir = dir;
            }
            history.push(next);
        }
        (reversals, history.split_off(history.len() - 10))
    }

    #[test]
    fn high_gain_with_a_boot_delay_oscillates_where_low_gain_settles() {
        let (reversals, tail) = plant(1.5);
        assert!(reversals >= 10, "{reversals} {tail:?}");
        assert!(tail.iter().any(|n| *n != tail[0]), "{tail:?}");
        let (reversals, tail) = plant(0.3);
        assert!(reversals <= 1, "{reversals} {tail:?}");
        assert!(tail.iter().all(|n| *n == 12), "{tail:?}");
    }

    #[test]
    fn policy_round_trips_through_serde() {
        let p = AutoscalerPolicy::default();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<AutoscalerPolicy>(&json).unwrap(), p);
    }
}
