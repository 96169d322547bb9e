//! A service assembled from the parts every service here is made of, so
//! that a generator can wire many different systems from one vocabulary.
//!
//! A [`Node`] answers a request in stages, each optional:
//!
//! 1. **threads**: at most `threads` requests in the handler at once, the
//!    rest waiting in FIFO order (a thread per request, as a servlet
//!    container or a blocking gRPC server runs). A slow dependency holds a
//!    thread for as long as its call takes.
//! 2. **lease**: each request's tenant (its key modulo `tenants`) needs a
//!    token from an auth service; a token lives for a TTL and is refreshed
//!    on the first request after it expires. With `coalesce` one refresh per
//!    tenant is in flight and the others wait for it (double-checked
//!    locking); without, every request that finds the token expired asks
//!    for its own.
//! 3. **cache**: a look-aside cache over the node's own work and calls
//!    (see [`lookaside_cache`](crate::lookaside_cache)): a hit answers at
//!    once, a miss does the work and fills the entry only when every call
//!    succeeded.
//! 4. **work**: one job on the node's FIFO [`WorkerPool`] (memory pressure
//!    and a run-time service time included).
//! 5. **calls**: one call to each dependency, all at once (fan-out); a
//!    dependency with several shards is called on the shard of the key
//!    (client-side sharding, [`Routing`]).
//!
//! Every client a node holds (to its auth service, to each shard of each
//! dependency) has a retry budget of its own when its policy has one.
//!
//! A request fails when its token cannot be had or any call fails. Nothing
//! here decides where a system breaks: that follows from the sizes and
//! timeouts a configuration gives the parts.

use crate::hot_shard::Routing;
use crate::lookaside_cache::{steady, CacheMemory, SteadyRequest};
use crate::primitives::RetryBudget;
use crate::rpc::{
    self, ClientPolicy, ClientStats, Handler, OnDisconnect, PoolConfig, PoolControls, PoolStats,
    Reply, Request, RetryClient, Status, WorkerPool,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
// tokio's Instant: simulated time under every engine, never the wall clock.
use tokio::time::Instant;

/// A node's look-aside cache.
#[derive(Debug, Clone, Copy)]
pub struct CacheStage {
    /// Keys are requests' keys modulo this.
    pub keyspace: u64,
    pub ttl: Duration,
    /// The share of keys live at first boot: the cache's steady state.
    pub live: f64,
}

/// A node's per-tenant tokens.
#[derive(Debug, Clone)]
pub struct LeaseStage {
    /// Tenants are requests' keys modulo this.
    pub tenants: u64,
    pub ttl: Duration,
    /// The share of tenants holding a token at first boot: the steady
    /// state of their refreshes.
    pub live: f64,
    /// One refresh per tenant in flight; the others wait for it.
    pub coalesce: bool,
    /// The auth service, `host:port`.
    pub auth: String,
    pub policy: ClientPolicy,
}

/// One dependency a node calls on every request it does not answer from
/// its cache.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// Each shard's `host:port`; a key goes to one shard.
    pub shards: Vec<String>,
    pub routing: Routing,
    pub policy: ClientPolicy,
}

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub port: u16,
    pub pool: PoolConfig,
    pub threads: Option<usize>,
    pub lease: Option<LeaseStage>,
    pub cache: Option<CacheStage>,
    pub calls: Vec<Dependency>,
    pub on_disconnect: OnDisconnect,
}

/// What a node exports to a metrics scraper, beside its pool's stats.
#[derive(Debug, Default)]
pub struct NodeStats {
    /// Requests waiting for a thread (gauge).
    pub waiting_for_thread: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    /// Live cache entries (gauge, recounted at most once a second).
    pub cache_entries: AtomicU64,
    /// Token refreshes sent to the auth service (counter).
    pub refreshes: AtomicU64,
    /// Requests failed for want of a token (counter).
    pub refresh_failures: AtomicU64,
    /// Calls to dependencies that failed (counter).
    pub failed_calls: AtomicU64,
    /// The clients' counters: the auth client's and every dependency's.
    pub clients: Arc<ClientStats>,
}

/// Per-tenant token expiry times, shared with the operator (revocation) and
/// with restarts (which lose them, as a process's memory does).
#[derive(Debug)]
pub struct LeaseMemory {
    expiry: Mutex<Vec<Option<Instant>>>,
    /// One lock per tenant: the single flight of a coalescing refresh.
    flights: Vec<tokio::sync::Mutex<()>>,
    booted: AtomicBool,
    revoke_requested: AtomicBool,
    /// A requested return to the steady state: `(ttl, live)`.
    restore_requested: SteadyRequest,
}

impl LeaseMemory {
    pub fn new(tenants: u64) -> Self {
        let n = tenants.max(1) as usize;
        LeaseMemory {
            expiry: Mutex::new(vec![None; n]),
            flights: (0..n).map(|_| tokio::sync::Mutex::new(())).collect(),
            booted: AtomicBool::new(false),
            revoke_requested: AtomicBool::new(false),
            restore_requested: SteadyRequest::default(),
        }
    }

    /// Asks the node to drop every token (a key rotation).
    pub fn revoke(&self) {
        self.revoke_requested.store(true, Ordering::Relaxed);
    }

    /// Asks the node to return its tokens to their steady state (as a
    /// first boot finds them): the remedy that tests a token-herd
    /// diagnosis, no better than steady so it undoes the herd and nothing
    /// else.
    pub fn restore_steady(&self, ttl: Duration, live: f64) {
        self.restore_requested.ask(ttl, live);
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Option<Instant>>> {
        self.expiry.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tenant(&self, key: u64) -> usize {
        (key % self.flights.len() as u64) as usize
    }

    fn valid(&self, tenant: usize) -> bool {
        let now = Instant::now();
        let mut slots = self.slots();
        if self.revoke_requested.swap(false, Ordering::Relaxed) {
            tracing::info!("tokens revoked");
            slots.iter_mut().for_each(|s| *s = None);
        }
        if self.restore_requested.carry_out(&mut slots, now) {
            tracing::info!("tokens restored to their steady state");
        }
        slots[tenant].is_some_and(|t| t > now)
    }

    fn grant(&self, tenant: usize, ttl: Duration) {
        self.slots()[tenant] = Some(Instant::now() + ttl);
    }

    /// First boot: a share `live` of the tenants (a fixed choice of them)
    /// hold a token, each with a remaining life spread over one `ttl`, as
    /// in a process that has been serving for a while; later boots start
    /// with none.
    fn boot(&self, ttl: Duration, live: f64) {
        let now = Instant::now();
        let first = !self.booted.swap(true, Ordering::Relaxed);
        let mut slots = self.slots();
        if first {
            steady(&mut slots, now, ttl, live);
        } else {
            slots.iter_mut().for_each(|s| *s = None);
        }
    }
}

/// What a node keeps across restarts: its knobs, counters and memories.
#[derive(Debug, Clone)]
pub struct NodeState {
    pub controls: Arc<PoolControls>,
    pub pool: Arc<PoolStats>,
    pub stats: Arc<NodeStats>,
    pub cache: Option<Arc<CacheMemory>>,
    pub lease: Option<Arc<LeaseMemory>>,
    /// While set, none of the node's clients retries (see
    /// [`RetryClient::with_retry_pause`]); shareable across nodes.
    pub retries_paused: Arc<AtomicBool>,
}

impl NodeState {
    pub fn new(config: &NodeConfig) -> Self {
        NodeState {
            controls: Arc::new(PoolControls::new(&config.pool)),
            pool: Arc::new(PoolStats::default()),
            stats: Arc::new(NodeStats::default()),
            cache: config.cache.map(|c| Arc::new(CacheMemory::new(c.keyspace))),
            lease: config
                .lease
                .as_ref()
                .map(|l| Arc::new(LeaseMemory::new(l.tenants))),
            retries_paused: Arc::default(),
        }
    }
}

struct Lease {
    stage: LeaseStage,
    memory: Arc<LeaseMemory>,
    auth: RetryClient,
}

struct Shards {
    routing: Routing,
    clients: Vec<RetryClient>,
}

struct Node {
    threads: Option<Semaphore>,
    lease: Option<Lease>,
    cache: Option<(CacheStage, Arc<CacheMemory>)>,
    pool: WorkerPool,
    calls: Vec<Shards>,
    stats: Arc<NodeStats>,
}

/// Runs a node on `config.port` until the host stops. Every (re)start
/// begins with an empty queue and the configured workers; a first start
/// finds its cache and tokens warm, a restart finds them empty.
pub async fn serve_node(config: NodeConfig, state: NodeState) -> std::io::Result<()> {
    state.controls.set_workers(config.pool.workers);
    let pool = WorkerPool::start(
        config.pool.clone(),
        state.controls.clone(),
        state.pool.clone(),
    );
    let clients = &state.stats.clients;
    let lease = match (config.lease, state.lease) {
        (Some(stage), Some(memory)) => {
            memory.boot(stage.ttl, stage.live);
            Some(Lease {
                auth: RetryClient::new(stage.auth.clone(), own(&stage.policy), clients.clone())
                    .with_retry_pause(state.retries_paused.clone()),
                stage,
                memory,
            })
        }
        _ => None,
    };
    let cache = match (config.cache, state.cache) {
        (Some(stage), Some(memory)) => {
            memory.boot_steady(stage.ttl, stage.live);
            Some((stage, memory))
        }
        _ => None,
    };
    let calls = config
        .calls
        .iter()
        .map(|d| Shards {
            routing: d.routing,
            clients: d
                .shards
                .iter()
                .map(|s| {
                    RetryClient::new(s.clone(), own(&d.policy), clients.clone())
                        .with_retry_pause(state.retries_paused.clone())
                })
                .collect(),
        })
        .collect();
    state.stats.waiting_for_thread.store(0, Ordering::Relaxed);
    let node = Node {
        threads: config.threads.map(|n| Semaphore::new(n.max(1))),
        lease,
        cache,
        pool,
        calls,
        stats: state.stats,
    };
    rpc::serve_with(config.port, Arc::new(node), config.on_disconnect).await
}

/// `policy` with a retry budget of its own: each client of each process
/// saves its own tokens, and a restart starts them afresh.
fn own(policy: &ClientPolicy) -> ClientPolicy {
    ClientPolicy {
        budget: policy
            .budget
            .as_ref()
            .map(|b| Arc::new(RetryBudget::new(*b.policy()))),
        ..policy.clone()
    }
}

impl Lease {
    /// Whether the tenant of `key` holds a token, refreshing it if needed.
    async fn ensure(&self, key: u64, stats: &NodeStats) -> bool {
        let tenant = self.memory.tenant(key);
        if self.memory.valid(tenant) {
            return true;
        }
        let _flight = if self.stage.coalesce {
            let flight = self.memory.flights[tenant].lock().await;
            // Refreshed by the request this one waited behind.
            if self.memory.valid(tenant) {
                return true;
            }
            Some(flight)
        } else {
            None
        };
        stats.refreshes.fetch_add(1, Ordering::Relaxed);
        match self.auth.call(tenant as u64).await {
            Ok(()) => {
                self.memory.grant(tenant, self.stage.ttl);
                true
            }
            Err(_) => {
                stats.refresh_failures.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }
}

impl Node {
    async fn answer(&self, key: u64) -> Status {
        if let Some(lease) = &self.lease {
            if !lease.ensure(key, &self.stats).await {
                return Status::Failed;
            }
        }
        if let Some((_, memory)) = &self.cache {
            if memory.lookup(key, &self.stats.cache_entries) {
                self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Status::Ok;
            }
            self.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
        }
        let worked = self.pool.submit(1.0).await;
        if worked != Status::Ok {
            return worked;
        }
        if !self.call_all(key).await {
            return Status::Failed;
        }
        if let Some((stage, memory)) = &self.cache {
            memory.fill(key, stage.ttl);
        }
        Status::Ok
    }

    /// Calls every dependency at once; true when all succeeded.
    async fn call_all(&self, key: u64) -> bool {
        let calls = self.calls.iter().map(|shards| async move {
            let shard = shards
                .routing
                .shard(key)
                .min(shards.clients.len().saturating_sub(1));
            match shards.clients.get(shard) {
                Some(client) => client.call(key).await.is_ok(),
                None => false,
            }
        });
        let mut ok = true;
        for succeeded in join_all(calls.collect()).await {
            if !succeeded {
                self.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
                ok = false;
            }
        }
        ok
    }
}

impl Handler for Node {
    fn handle(self: Arc<Self>, request: Request) -> Reply {
        Box::pin(async move {
            let _thread = match &self.threads {
                Some(threads) => {
                    // Counted down however the wait ends: a cancelled
                    // request (OnDisconnect::Cancel) drops it mid-wait.
                    let waiting = Waiting::new(&self.stats.waiting_for_thread);
                    let permit = threads.acquire().await;
                    drop(waiting);
                    match permit {
                        Ok(p) => Some(p),
                        Err(_) => return Status::Failed,
                    }
                }
                None => None,
            };
            self.answer(request.key).await
        })
    }
}

/// One request counted in a gauge while it lives.
struct Waiting<'a>(&'a AtomicU64);

impl<'a> Waiting<'a> {
    fn new(gauge: &'a AtomicU64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Waiting(gauge)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Polls every future to completion on the current task, in order of
/// readiness, and returns their outputs in the order given: a fan-out that
/// a dropped handler cancels whole, as hyper cancels a request's calls.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut all = true;
        for (future, out) in pending.iter_mut().zip(done.iter_mut()) {
            if out.is_none() {
                match Future::poll(future.as_mut(), cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => all = false,
                }
            }
        }
        if all {
            Poll::Ready(done.iter_mut().filter_map(Option::take).collect())
        } else {
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn join_all_waits_for_every_future_and_keeps_their_order() {
        let slow = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            1
        };
        let fast = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            2
        };
        let started = Instant::now();
        let futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = i32>>>> =
            vec![Box::pin(slow), Box::pin(fast)];
        assert_eq!(join_all(futures).await, vec![1, 2]);
        assert_eq!(started.elapsed(), Duration::from_millis(20));
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_boot_warm_once_and_expire_at_spread_times() {
        let memory = LeaseMemory::new(10);
        let ttl = Duration::from_secs(10);
        memory.boot(ttl, 1.0);
        assert!((0..10).all(|t| memory.valid(t)));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let live = (0..10).filter(|&t| memory.valid(t)).count();
        assert!(
            (2..=8).contains(&live),
            "{live} of 10 still valid at half the ttl"
        );
        memory.revoke();
        assert!(!memory.valid(0));
        assert!((0..10).all(|t| !memory.valid(t)));
        memory.grant(3, ttl);
        assert!(memory.valid(3));
        // A restart: no tokens.
        memory.boot(ttl, 1.0);
        assert!(!memory.valid(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_cancelled_midway_is_counted_down() {
        let gauge = Arc::new(AtomicU64::new(0));
        let threads = Arc::new(Semaphore::new(0));
        let (g, t) = (gauge.clone(), threads.clone());
        let waiter = tokio::spawn(async move {
            let _waiting = Waiting::new(&g);
            let _ = t.acquire().await;
        });
        tokio::task::yield_now().await;
        assert_eq!(gauge.load(Ordering::Relaxed), 1);
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(gauge.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_boot_holds_the_steady_share_of_tokens() {
        let memory = LeaseMemory::new(1000);
        memory.boot(Duration::from_secs(60), 0.3);
        let live = (0..1000).filter(|&t| memory.valid(t)).count();
        assert!((250..350).contains(&live), "{live} of 1000");
    }
}
