//! Systems under test: ordinary tokio services that exhibit metastable
//! failures, written the way a service team would write them.
//!
//! Nothing here knows about hormesis. A service takes its configuration,
//! exposes *controls* (the knobs an operator or a fault can turn) and
//! *stats* (counters and gauges a metrics scraper would read), and talks over
//! [`net`], which is the simulated network of whichever engine runs it.
//!
//! * [`retry_storm`]: a FIFO server at a fixed service rate and clients that
//!   retry on timeout. A load spike leaves a queue longer than the timeout;
//!   every request then times out and is retried, the retries keep the queue
//!   long, and goodput never comes back (Bronson et al., HotOS 2021, §2.1).
//! * [`lookaside_cache`]: a cache over a database with a third of the
//!   capacity; emptied under load, it never warms back up (§2.2).
//! * [`call_chain`]: a proxy in front of a back end, with retries at each
//!   layer, so a slow back end sees their product.
//! * [`gc_pressure`]: a server that slows as its queue grows, so a backlog
//!   past a critical length sustains itself (OSDI 2022, §5.1).
//! * [`mru_pool`]: a client connection pool that reuses the most recently
//!   returned connection, so a replica that was slow keeps the traffic and
//!   stays slow (§2.4, link imbalance).
//! * [`axum_tower`]: the same look-aside failure on the ordinary web stack,
//!   unmodified: axum and tower's timeout on the server, a hyper client
//!   behind tower's timeout and retry layers.
//! * [`hot_shard`]: client-side sharding with one hot shard: among many
//!   shards, only the one that skewed keys load near its limit can be
//!   kept overloaded by retries.
//! * [`synthetic`]: a node assembled from optional stages (a thread
//!   limit, per-tenant tokens, a look-aside cache, a worker pool, sharded
//!   fan-out calls), from which a generator wires many different systems.
//! * [`rpc`]: the plumbing they share: protocol, accept loop, worker pool,
//!   retrying client.
//! * [`primitives`]: the adaptive components that should prevent such
//!   failures (retry budget, adaptive concurrency limit, degrader,
//!   autoscaler, bandit load balancer), each with a serde policy.
// The madsim flavour answers std's clock reads with simulated time inside a
// simulation, and tokio's Instant is std's there: the wall-clock rules of
// clippy.toml hold in the default build, which lints this same code.
#![cfg_attr(madsim, allow(clippy::disallowed_methods))]

#[cfg(feature = "http")]
pub mod axum_tower;
pub mod call_chain;
pub mod gc_pressure;
pub mod hot_shard;
pub mod lookaside_cache;
pub mod mru_pool;
pub mod net;
pub mod primitives;
pub mod retry_storm;
pub mod rpc;
pub mod rt;
pub mod synthetic;
