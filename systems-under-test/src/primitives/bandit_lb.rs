//! A load balancer that learns where to send: discounted UCB over replicas
//! (or links), rewarded by how fast each answered. A call's reward is 1 when
//! it succeeds within `latency_target`, `target / latency` when slower, and 0
//! when it fails. Evidence is discounted by `discount` per call, so a
//! replica that was slow is tried again once its bad record has faded (its
//! exploration bonus grows as its count decays), and one that became slow
//! is abandoned within a few dozen calls.
//!
//! A balancer sends many calls at once, and pure UCB would send them all to
//! the one replica that looks best until its answers slow down. So calls
//! still in flight (announced with [`BanditLb::started`]) count as calls
//! without a reward yet, a "virtual loss" as parallel tree search uses it:
//! concurrent calls spread over replicas that look alike, and a replica
//! holding many unanswered calls looks worse until they are answered.
//!
//! Deterministic: ties go to the lowest index, and untried replicas are
//! tried first, in order.
//!
//! ```
//! use hormesis_sut::primitives::{BanditLb, BanditLbPolicy};
//! use std::time::Duration;
//! let lb = BanditLb::new(2, BanditLbPolicy::default());
//! for _ in 0..200 {
//!     let i = lb.choose();
//!     let latency = if i == 0 { Duration::from_millis(500) } else { Duration::from_millis(5) };
//!     lb.record(i, Some(latency));
//! }
//! assert_eq!(lb.choose(), 1);
//! ```

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BanditLbPolicy {
    /// Weight kept by old evidence at each call, in (0, 1].
    pub discount: f64,
    /// The UCB exploration constant.
    pub exploration: f64,
    /// Answers this fast earn the full reward.
    #[serde(with = "humantime_serde")]
    pub latency_target: Duration,
}

impl Default for BanditLbPolicy {
    fn default() -> Self {
        BanditLbPolicy {
            discount: 0.99,
            exploration: 0.3,
            latency_target: Duration::from_millis(50),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Arm {
    /// Discounted number of calls.
    calls: f64,
    /// Discounted sum of rewards.
    reward: f64,
    /// Calls started and not yet recorded.
    in_flight: u32,
}

impl Arm {
    /// Calls counted for the index: answered (discounted) plus in flight.
    fn weight(&self) -> f64 {
        self.calls + f64::from(self.in_flight)
    }
}

#[derive(Debug)]
pub struct BanditLb {
    policy: BanditLbPolicy,
    arms: Mutex<Vec<Arm>>,
}

impl BanditLb {
    /// A balancer over `replicas` choices (at least one).
    pub fn new(replicas: usize, policy: BanditLbPolicy) -> Self {
        BanditLb {
            policy,
            arms: Mutex::new(vec![Arm::default(); replicas.max(1)]),
        }
    }

    fn arms(&self) -> std::sync::MutexGuard<'_, Vec<Arm>> {
        self.arms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The replica to send the next call to.
    pub fn choose(&self) -> usize {
        let arms = self.arms();
        if let Some(untried) = arms.iter().position(|a| a.weight() < 1e-9) {
            return untried;
        }
        let total: f64 = arms.iter().map(Arm::weight).sum();
        let index = |a: &Arm| {
            a.reward / a.weight()
                + self.policy.exploration * (2.0 * total.ln().max(0.0) / a.weight()).sqrt()
        };
        let mut best = 0;
        for (i, a) in arms.iter().enumerate() {
            if index(a) > index(&arms[best]) {
                best = i;
            }
        }
        best
    }

    /// Announces a call sent to `replica` whose outcome is not known yet;
    /// its [`record`](Self::record) ends it. Callers that wait for each
    /// outcome before choosing again need not call this.
    pub fn started(&self, replica: usize) {
        if let Some(a) = self.arms().get_mut(replica) {
            a.in_flight += 1;
        }
    }

    /// Records how a call to `replica` went: its latency, or `None` if it
    /// failed (or its caller stopped waiting). Ends one started call.
    pub fn record(&self, replica: usize, outcome: Option<Duration>) {
        let target = self.policy.latency_target.as_secs_f64();
        let reward = match outcome {
            None => 0.0,
            Some(l) if l.as_secs_f64() <= target => 1.0,
            Some(l) => target / l.as_secs_f64(),
        };
        let mut arms = self.arms();
        for a in arms.iter_mut() {
            a.calls *= self.policy.discount;
            a.reward *= self.policy.discount;
        }
        if let Some(a) = arms.get_mut(replica) {
            a.calls += 1.0;
            a.reward += reward;
            a.in_flight = a.in_flight.saturating_sub(1);
        }
    }

    /// Each replica's mean reward so far (0 for an untried one).
    pub fn means(&self) -> Vec<f64> {
        self.arms()
            .iter()
            .map(|a| {
                if a.calls > 0.0 {
                    a.reward / a.calls
                } else {
                    0.0
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Option<Duration> {
        Some(Duration::from_millis(v))
    }

    fn run(lb: &BanditLb, calls: usize, latency: impl Fn(usize) -> Option<Duration>) -> Vec<usize> {
        let mut counts = vec![0; lb.arms().len()];
        for _ in 0..calls {
            let i = lb.choose();
            counts[i] += 1;
            lb.record(i, latency(i));
        }
        counts
    }

    #[test]
    fn tries_every_replica_first_then_prefers_the_fast_one() {
        let lb = BanditLb::new(3, BanditLbPolicy::default());
        assert_eq!((lb.choose(), lb.choose()), (0, 0));
        lb.record(0, ms(10));
        assert_eq!(lb.choose(), 1);
        let counts = run(&lb, 1000, |i| if i == 2 { ms(10) } else { ms(400) });
        assert!(counts[2] > 800, "{counts:?}");
    }

    #[test]
    fn failures_count_as_no_reward() {
        let lb = BanditLb::new(2, BanditLbPolicy::default());
        let counts = run(&lb, 500, |i| if i == 0 { None } else { ms(200) });
        assert!(counts[1] > 400, "{counts:?}");
        assert!(lb.means()[0] < 1e-9);
    }

    #[test]
    fn moves_away_from_a_replica_that_becomes_slow_and_returns_when_it_heals() {
        let lb = BanditLb::new(3, BanditLbPolicy::default());
        run(&lb, 300, |_| ms(10));
        let slow = run(&lb, 300, |i| if i == 0 { ms(1000) } else { ms(10) });
        assert!(slow[0] < 40, "{slow:?}");
        let healed = run(&lb, 600, |_| ms(10));
        assert!(healed[0] > 100, "{healed:?}");
    }

    #[test]
    fn calls_in_flight_spread_over_replicas_that_look_alike() {
        let lb = BanditLb::new(3, BanditLbPolicy::default());
        run(&lb, 300, |_| ms(10));
        let mut sent = [0; 3];
        for _ in 0..30 {
            let i = lb.choose();
            lb.started(i);
            sent[i] += 1;
        }
        assert!(sent.iter().all(|&n| (8..=12).contains(&n)), "{sent:?}");
        // Answers end the virtual losses: the balancer is as before.
        for (i, &n) in sent.iter().enumerate() {
            for _ in 0..n {
                lb.record(i, ms(10));
            }
        }
        assert!(lb.arms().iter().all(|a| a.in_flight == 0));
    }

    #[test]
    fn a_replica_holding_unanswered_calls_loses_the_next_ones() {
        let lb = BanditLb::new(2, BanditLbPolicy::default());
        run(&lb, 300, |i| if i == 0 { ms(10) } else { ms(20) });
        assert_eq!(lb.choose(), 0);
        for _ in 0..20 {
            lb.started(0);
        }
        assert_eq!(lb.choose(), 1);
    }

    #[test]
    fn reward_shrinks_with_latency_past_the_target() {
        let lb = BanditLb::new(1, BanditLbPolicy::default());
        lb.record(0, ms(100));
        assert!((lb.means()[0] - 0.5).abs() < 1e-9);
    }

    #[test]
    fn policy_round_trips_through_serde() {
        let p = BanditLbPolicy::default();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<BanditLbPolicy>(&json).unwrap(), p);
    }
}
