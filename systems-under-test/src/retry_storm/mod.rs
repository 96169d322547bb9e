//! A request/response service whose clients retry on timeout.
//!
//! The server keeps one FIFO queue served by a fixed number of workers, each
//! taking `service_time` per request (a [`WorkerPool`]). Work is never
//! cancelled: a request whose client has given up is still served, which is
//! what lets a backlog outlive the spike that built it.

use crate::rpc::{self, WorkerPool};
use std::sync::Arc;

pub use crate::rpc::{
    CallError, ClientPolicy, ClientStats, PoolConfig, PoolControls, PoolStats, RetryClient,
};

/// Runs the server on `port` until the host stops. Every (re)start begins
/// with an empty queue: queued work lives in memory and dies with the process.
pub async fn serve(
    port: u16,
    config: PoolConfig,
    controls: Arc<PoolControls>,
    stats: Arc<PoolStats>,
) -> std::io::Result<()> {
    let pool = WorkerPool::start(config, controls, stats);
    rpc::serve(port, Arc::new(pool)).await
}
