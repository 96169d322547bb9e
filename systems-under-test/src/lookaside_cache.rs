//! A look-aside cache in front of a database that has a fraction of the
//! cache's capacity (Bronson et al., HotOS 2021, §2.2; Huang et al., OSDI
//! 2022, §5.3).
//!
//! A hit is answered by the cache host at once. A miss goes to the database
//! with a timeout; the entry is filled only when the database answers in
//! time, and lives for `ttl`. With a warm cache the database sees only the
//! misses of expiring entries. Empty the cache (a flush, a crash) and every
//! request is a miss: the database queue grows past the timeout, no answer
//! arrives in time, nothing is filled, and the cache never warms back up.
//!
//! The cache host boots from its predecessor's snapshot on first start (a
//! warm deploy); a restart after a crash starts empty, as a process does,
//! unless the cache persists its entries ([`CacheMemory::persistent`], as
//! Redis with an append-only file does) and restarts with them.

use crate::primitives::ConcurrencyLimit;
use crate::rpc::{self, ClientPolicy, ClientStats, Handler, Reply, Request, RetryClient, Status};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
// tokio's Instant: simulated time under every engine, never the wall clock.
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct CacheConfig {
    pub port: u16,
    /// Keys are requests' keys modulo this.
    pub keyspace: u64,
    pub ttl: Duration,
    /// The database, `host:port`.
    pub database: String,
    /// How long the cache waits for the database on a miss.
    pub database_timeout: Duration,
}

/// What the cache exports to a metrics scraper.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    /// Entries written after the database answered in time (counter).
    pub fills: AtomicU64,
    /// Misses refused by the concurrency limit before reaching the database (counter).
    pub limited: AtomicU64,
    /// Live entries (gauge, recounted at most once a second).
    pub entries: AtomicU64,
    /// The database client's own counters.
    pub database: Arc<ClientStats>,
}

/// The cache's memory: an expiry time per key. Shared with the operator
/// (flush) and with restarts (which empty it).
#[derive(Debug)]
pub struct CacheMemory {
    expiry: Mutex<Vec<Option<Instant>>>,
    booted: AtomicBool,
    /// Restarts keep the entries (and their expiry times).
    persistent: bool,
    flush_requested: AtomicBool,
    /// A requested return to the steady state: `(ttl, live)`.
    restore_requested: SteadyRequest,
    /// When `entries` was last recounted: a full scan per request would
    /// cost the keyspace on every request of the simulation.
    counted: Mutex<Option<Instant>>,
}

/// A requested return to the steady state, carried out by the next reader
/// of the slots (an operator's request arrives outside any host).
#[derive(Debug, Default)]
pub(crate) struct SteadyRequest(Mutex<Option<(Duration, f64)>>);

impl SteadyRequest {
    pub(crate) fn ask(&self, ttl: Duration, live: f64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((ttl, live));
    }

    /// Fills `slots` to their steady state if it was asked for; whether it was.
    pub(crate) fn carry_out(&self, slots: &mut [Option<Instant>], now: Instant) -> bool {
        let asked = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((ttl, live)) = asked {
            steady(slots, now, ttl, live);
        }
        asked.is_some()
    }
}

/// A share `live` of the slots present (a fixed choice of them), each with
/// a remaining life spread over one `ttl`: a cache under steady traffic, or
/// the tokens of tenants under it.
pub(crate) fn steady(slots: &mut [Option<Instant>], now: Instant, ttl: Duration, live: f64) {
    for (key, slot) in slots.iter_mut().enumerate() {
        let present = unit(key as u64) < live;
        let life = 1.0 - unit(key as u64 ^ 0x5851_F42D_4C95_7F2D);
        *slot = present.then(|| now + ttl.mul_f64(life));
    }
}

impl CacheMemory {
    pub fn new(keyspace: u64) -> Self {
        CacheMemory {
            expiry: Mutex::new(vec![None; keyspace.max(1) as usize]),
            booted: AtomicBool::new(false),
            persistent: false,
            flush_requested: AtomicBool::new(false),
            restore_requested: SteadyRequest::default(),
            counted: Mutex::new(None),
        }
    }

    /// A memory that survives restarts: a crash loses no entry.
    pub fn persistent(keyspace: u64) -> Self {
        CacheMemory {
            persistent: true,
            ..CacheMemory::new(keyspace)
        }
    }

    /// Asks the cache to drop every entry (an operator's `FLUSHALL`).
    pub fn flush(&self) {
        self.flush_requested.store(true, Ordering::Relaxed);
    }

    /// Asks the cache to return to its steady state (as
    /// [`boot_steady`](Self::boot_steady) leaves a first boot): the
    /// warm-up an operator runs after a cold start, and the remedy that
    /// tests a cache-refill diagnosis. No warmer than steady, so that it
    /// undoes a cold cache and nothing else.
    pub fn restore_steady(&self, ttl: Duration, live: f64) {
        self.restore_requested.ask(ttl, live);
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Option<Instant>>> {
        self.expiry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the entry for `key` (taken modulo the keyspace) is live now.
    /// Also keeps `entries` (the live entry count) fresh to within a second
    /// and carries out a requested flush.
    pub fn lookup(&self, key: u64, entries: &AtomicU64) -> bool {
        let now = Instant::now();
        let mut slots = self.slots();
        if self.flush_requested.swap(false, Ordering::Relaxed) {
            tracing::info!("cache flushed");
            slots.iter_mut().for_each(|s| *s = None);
        }
        if self.restore_requested.carry_out(&mut slots, now) {
            tracing::info!("cache restored to its steady state");
        }
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        if counted.is_none_or(|t| now - t >= Duration::from_secs(1)) {
            *counted = Some(now);
            let live = slots.iter().filter(|s| s.is_some_and(|t| t > now)).count();
            entries.store(live as u64, Ordering::Relaxed);
        }
        let slot = (key % slots.len() as u64) as usize;
        slots[slot].is_some_and(|t| t > now)
    }

    /// Stores `key` (modulo the keyspace) for `ttl` from now.
    pub fn fill(&self, key: u64, ttl: Duration) {
        let mut slots = self.slots();
        let slot = (key % slots.len() as u64) as usize;
        slots[slot] = Some(Instant::now() + ttl);
    }

    /// Like [`boot`](Self::boot), but a first boot finds the cache in its
    /// steady state under steady traffic: a share `live` of the keys
    /// present (a fixed choice of them), each with a remaining life spread
    /// over one `ttl`. A cache whose entries outlive the run would
    /// otherwise answer almost everything for the whole run.
    pub fn boot_steady(&self, ttl: Duration, live: f64) {
        let now = Instant::now();
        let first = !self.booted.swap(true, Ordering::Relaxed);
        if !first && self.persistent {
            return;
        }
        let mut slots = self.slots();
        if first {
            steady(&mut slots, now, ttl, live);
        } else {
            slots.iter_mut().for_each(|s| *s = None);
        }
    }

    /// First boot: every key present, expiring at a spread of times over one
    /// `ttl`, as in a cache that has been serving for a while. Later boots:
    /// empty, or as the crash left them when persistent.
    pub fn boot(&self, ttl: Duration) {
        let now = Instant::now();
        let first = !self.booted.swap(true, Ordering::Relaxed);
        if !first && self.persistent {
            return;
        }
        let mut slots = self.slots();
        let n = slots.len() as u64;
        for (key, slot) in slots.iter_mut().enumerate() {
            // A fixed permutation of the keys, so expiries are not in key order.
            let spread = (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % n;
            *slot = first.then(|| now + ttl.mul_f64((spread + 1) as f64 / n as f64));
        }
    }
}

/// A fixed draw in [0, 1) from `key` (splitmix64).
pub(crate) fn unit(key: u64) -> f64 {
    (crate::hot_shard::splitmix(key) >> 11) as f64 / (1u64 << 53) as f64
}

struct Cache {
    config: CacheConfig,
    memory: Arc<CacheMemory>,
    stats: Arc<CacheStats>,
    database: RetryClient,
    limit: Option<Arc<ConcurrencyLimit>>,
}

/// Runs the cache host until it stops. `limit`, when given, guards the
/// calls to the database (the adaptive-concurrency mitigation).
pub async fn serve_cache(
    config: CacheConfig,
    memory: Arc<CacheMemory>,
    stats: Arc<CacheStats>,
    limit: Option<Arc<ConcurrencyLimit>>,
) -> std::io::Result<()> {
    memory.boot(config.ttl);
    let policy = ClientPolicy {
        timeout: config.database_timeout,
        retries: 0,
        backoff: Duration::ZERO,
        budget: None,
        keepalive: None,
        connect: None,
    };
    let database = RetryClient::new(config.database.clone(), policy, stats.database.clone());
    let port = config.port;
    let cache = Cache {
        config,
        memory,
        stats,
        database,
        limit,
    };
    rpc::serve(port, Arc::new(cache)).await
}

impl Cache {
    async fn miss(&self, key: u64) -> Status {
        let permit = match &self.limit {
            Some(limit) => match limit.try_acquire() {
                Some(p) => Some(p),
                None => {
                    self.stats.limited.fetch_add(1, Ordering::Relaxed);
                    return Status::Rejected;
                }
            },
            None => None,
        };
        let sent = Instant::now();
        let answer = self.database.call(key).await;
        match (answer, permit) {
            (Ok(()), permit) => {
                if let Some(p) = permit {
                    p.success(sent.elapsed());
                }
                self.memory.fill(key, self.config.ttl);
                self.stats.fills.fetch_add(1, Ordering::Relaxed);
                Status::Ok
            }
            (Err(_), permit) => {
                if let Some(p) = permit {
                    p.dropped();
                }
                Status::Failed
            }
        }
    }
}

impl Handler for Cache {
    fn handle(self: Arc<Self>, request: Request) -> Reply {
        let cache = self;
        Box::pin(async move {
            if cache.memory.lookup(request.key, &cache.stats.entries) {
                cache.stats.hits.fetch_add(1, Ordering::Relaxed);
                return Status::Ok;
            }
            cache.stats.misses.fetch_add(1, Ordering::Relaxed);
            cache.miss(request.key).await
        })
    }
}
