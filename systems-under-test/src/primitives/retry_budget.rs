//! A retry budget: every first attempt deposits `ratio` tokens, every retry
//! withdraws one, and a trickle of `min_per_s` tokens keeps a quiet client
//! able to retry at all. The balance is capped at `max_tokens`, so the
//! budget saved in calm times cannot pay for a storm.
//!
//! Over any long stretch the retries are at most `ratio` × first attempts +
//! `min_per_s` × seconds: retries can no longer multiply a backlog.
//!
//! ```
//! use hormesis_sut::primitives::{RetryBudget, RetryBudgetPolicy};
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let budget = RetryBudget::new(RetryBudgetPolicy { ratio: 0.5, min_per_s: 0.0, max_tokens: 10.0 });
//! budget.on_first_attempt();
//! budget.on_first_attempt();
//! assert!(budget.try_retry()); // two deposits of 0.5 paid for one retry
//! assert!(!budget.try_retry());
//! # }
//! ```

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
// tokio's Instant: simulated time under every engine, never the wall clock.
use tokio::time::Instant;

/// The budget's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBudgetPolicy {
    /// Tokens deposited per first attempt: the long-run retry fraction.
    pub ratio: f64,
    /// Tokens added per second regardless of traffic.
    pub min_per_s: f64,
    /// The most tokens the budget holds.
    pub max_tokens: f64,
}

impl Default for RetryBudgetPolicy {
    /// Finagle's defaults: 20 % retries, plus a floor.
    fn default() -> Self {
        RetryBudgetPolicy {
            ratio: 0.2,
            min_per_s: 1.0,
            max_tokens: 20.0,
        }
    }
}

#[derive(Debug)]
struct State {
    tokens: f64,
    refilled: Option<Instant>,
}

/// One client's retry budget, shared by all its calls.
#[derive(Debug)]
pub struct RetryBudget {
    policy: RetryBudgetPolicy,
    state: Mutex<State>,
}

impl RetryBudget {
    pub fn new(policy: RetryBudgetPolicy) -> Self {
        RetryBudget {
            policy,
            state: Mutex::new(State {
                tokens: 0.0,
                refilled: None,
            }),
        }
    }

    pub fn policy(&self) -> &RetryBudgetPolicy {
        &self.policy
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State, &RetryBudgetPolicy) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now(); // tokio's clock: simulated time under the harness
        let elapsed = state
            .refilled
            .map_or(0.0, |then| (now - then).as_secs_f64());
        state.refilled = Some(now);
        state.tokens = (state.tokens + elapsed * self.policy.min_per_s).min(self.policy.max_tokens);
        f(&mut state, &self.policy)
    }

    /// Records a first attempt (not a retry).
    pub fn on_first_attempt(&self) {
        self.with_state(|s, p| s.tokens = (s.tokens + p.ratio).min(p.max_tokens));
    }

    /// Whether a retry may go out now; if so, pays for it.
    pub fn try_retry(&self) -> bool {
        self.with_state(|s, _| {
            if s.tokens >= 1.0 {
                s.tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }

    /// The current balance.
    pub fn tokens(&self) -> f64 {
        self.with_state(|s, _| s.tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(ratio: f64, min_per_s: f64, max_tokens: f64) -> RetryBudgetPolicy {
        RetryBudgetPolicy {
            ratio,
            min_per_s,
            max_tokens,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_are_at_most_the_ratio_of_first_attempts() {
        let budget = RetryBudget::new(policy(0.1, 0.0, 100.0));
        let mut retries = 0;
        for _ in 0..1000 {
            budget.on_first_attempt();
            // Every request wants to retry three times, as in a storm.
            for _ in 0..3 {
                retries += u32::from(budget.try_retry());
            }
        }
        assert!((99..=100).contains(&retries), "{retries} retries");
    }

    #[tokio::test(start_paused = true)]
    async fn the_floor_refills_with_simulated_time_up_to_the_cap() {
        let budget = RetryBudget::new(policy(0.0, 2.0, 5.0));
        assert!(!budget.try_retry());
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(budget.try_retry() && budget.try_retry() && !budget.try_retry());
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(budget.tokens(), 5.0);
    }

    #[test]
    fn policy_round_trips_through_serde_and_rejects_unknown_fields() {
        let p = policy(0.2, 1.0, 20.0);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<RetryBudgetPolicy>(&json).unwrap(), p);
        assert!(serde_json::from_str::<RetryBudgetPolicy>(
            r#"{"ratio":0.1,"min_per_s":1,"max_tokens":2,"x":1}"#
        )
        .is_err());
    }
}
