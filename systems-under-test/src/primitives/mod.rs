//! Adaptive ("learned") primitives that should keep a service out of
//! metastable failure. Each is a small component with a serde policy (its
//! parameters), so a replay can run a new policy version against old
//! incidents.
//!
//! * [`retry_budget`]: a token-bucket retry budget (Finagle / gRPC style):
//!   retries may add at most a fixed fraction to the load, so a backlog can
//!   drain instead of feeding itself.

pub mod retry_budget;

pub use retry_budget::{RetryBudget, RetryBudgetPolicy};
