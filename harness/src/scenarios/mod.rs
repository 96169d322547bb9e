//! The built-in scenarios: adapters from the services in `hormesis-sut` to
//! the scenario API. Each reads as an example of testing one's own service.

#[cfg(feature = "http")]
mod axum_tower;
mod call_chain;
mod common;
mod gc_pressure;
mod hot_shard;
mod latency_window;
mod lookaside_cache;
mod mru_pool;
mod retry_storm;
pub mod synthetic;

#[cfg(feature = "http")]
pub use axum_tower::AxumTower;
pub use call_chain::CallChain;
pub use gc_pressure::{GcHeadroom, GcPressure};
pub use hot_shard::HotShard;
pub use latency_window::LatencyWindow;
pub use lookaside_cache::{LookasideCache, WarmCache};
pub use mru_pool::MruPool;
pub use retry_storm::RetryStorm;
pub use synthetic::Synthetic;

use crate::scenario::Scenario;

/// Every built-in scenario, in the order `hormesis scenarios` lists them.
pub fn builtin() -> Vec<&'static dyn Scenario> {
    vec![
        &RetryStorm,
        &LookasideCache,
        &CallChain,
        &GcPressure,
        &MruPool,
        #[cfg(feature = "http")]
        &AxumTower,
        &HotShard,
        &WarmCache,
        &LatencyWindow,
        &GcHeadroom,
    ]
}

/// Families of generated systems: one scenario, a different system per
/// parameter (`synthetic --set instance=N`). They have no documented
/// trigger; the ground-truth bench measures where each member tips.
pub fn families() -> Vec<&'static dyn Scenario> {
    vec![&Synthetic]
}

/// Everything the `hormesis` binary runs: the built-ins, then the families.
pub fn all() -> Vec<&'static dyn Scenario> {
    builtin().into_iter().chain(families()).collect()
}

/// The built-in scenario called `name`, or an error listing the known ones.
pub fn find(name: &str) -> Result<&'static dyn Scenario, String> {
    crate::registry::Registry::builtin()
        .find(name)
        .map_err(|e| e.to_string())
}
