//! A server whose service time grows with the work it holds in memory: each
//! queued request slows every request a little, as garbage collection and
//! paging do (Huang et al., OSDI 2022, §5.1). Below a critical queue length
//! the server drains any backlog; above it the slowdown cuts capacity below
//! the offered load and the queue sustains itself, with no retries at all.
//!
//! Half of each request's work is optional (recommendations, enrichment).
//! With a [`Degrader`], the server skips the optional half at level 1 and
//! rejects a growing share of new requests at levels 2 and 3, so it can
//! climb back below the critical length.

use crate::primitives::Degrader;
use crate::rpc::{
    self, Handler, PoolConfig, PoolControls, PoolStats, Reply, Request, Status, WorkerPool,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the degrader looks at the queue.
const OBSERVE_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct GcServerConfig {
    pub port: u16,
    pub pool: PoolConfig,
    /// The share of a request's work that is optional, in [0, 1].
    pub optional_work: f64,
}

/// What the server exports beside its pool's stats.
#[derive(Debug, Default)]
pub struct GcServerStats {
    /// Requests rejected by degradation (counter).
    pub shed: AtomicU64,
    /// Requests served without their optional work (counter).
    pub degraded: AtomicU64,
    /// The degrader's level (gauge).
    pub level: AtomicU64,
}

struct GcServer {
    pool: WorkerPool,
    optional_work: f64,
    degrader: Option<Arc<Degrader>>,
    stats: Arc<GcServerStats>,
}

impl Handler for GcServer {
    fn handle(self: Arc<Self>, request: Request) -> Reply {
        Box::pin(async move {
            let level = self.degrader.as_ref().map_or(0, |d| d.level());
            // Levels 2 and 3 shed a half and three quarters of requests,
            // chosen by key so a user is either served or not.
            let shed_quarters = match level {
                0 | 1 => 0,
                2 => 2,
                _ => 3,
            };
            if request.key % 4 < shed_quarters {
                self.stats.shed.fetch_add(1, Ordering::Relaxed);
                return Status::Rejected;
            }
            let cost = if level >= 1 {
                self.stats.degraded.fetch_add(1, Ordering::Relaxed);
                1.0 - self.optional_work
            } else {
                1.0
            };
            self.pool.submit(cost).await
        })
    }
}

/// Runs the server until the host stops; with `degrader`, a task feeds it
/// the queue length every 100 ms.
pub async fn serve_gc(
    config: GcServerConfig,
    controls: Arc<PoolControls>,
    pool_stats: Arc<PoolStats>,
    stats: Arc<GcServerStats>,
    degrader: Option<Arc<Degrader>>,
) -> std::io::Result<()> {
    let pool = WorkerPool::start(config.pool.clone(), controls, pool_stats);
    if let Some(d) = &degrader {
        let (d, pool, stats) = (d.clone(), pool.clone(), stats.clone());
        tokio::spawn(async move {
            loop {
                let level = d.observe(pool.queue_depth() as f64);
                stats.level.store(level.into(), Ordering::Relaxed);
                tokio::time::sleep(OBSERVE_EVERY).await;
            }
        });
    }
    let server = GcServer {
        pool,
        optional_work: config.optional_work.clamp(0.0, 1.0),
        degrader,
        stats,
    };
    rpc::serve(config.port, Arc::new(server)).await
}
