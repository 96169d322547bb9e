//! Adaptive ("learned") primitives that should keep a service out of
//! metastable failure. Each is a small component with a serde policy (its
//! parameters), so a replay can run a new policy version against old
//! incidents. Each is also a feedback loop, and can misbehave as one.
//!
//! * [`retry_budget`]: a token-bucket retry budget (Finagle / gRPC style):
//!   retries may add at most a fixed fraction to the load.
//! * [`adaptive_concurrency`]: an AIMD concurrency limit on calls to a
//!   dependency, driven by latency against its no-load value.
//! * [`bandit_lb`]: a load balancer that learns the fastest replica or link
//!   (discounted UCB).
//! * [`autoscaler`]: a proportional controller that sizes a replica pool
//!   from the work in the system, with a boot delay.
//! * [`degrader`]: Defcon-style levels that shed optional work, then
//!   requests, while an overload signal persists.

pub mod adaptive_concurrency;
pub mod autoscaler;
pub mod bandit_lb;
pub mod degrader;
pub mod retry_budget;

pub use adaptive_concurrency::{ConcurrencyLimit, ConcurrencyLimitPolicy, Permit};
pub use autoscaler::{Autoscaler, AutoscalerPolicy};
pub use bandit_lb::{BanditLb, BanditLbPolicy};
pub use degrader::{Degrader, DegraderPolicy};
pub use retry_budget::{RetryBudget, RetryBudgetPolicy};
