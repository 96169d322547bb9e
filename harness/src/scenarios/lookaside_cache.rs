//! `lookaside-cache`: clients → cache → database, where the database has a
//! third of the capacity the clients need (Bronson et al., HotOS 2021, §2.2;
//! Huang et al., OSDI 2022, §5.3).
//!
//! With the defaults, 300 req/s spread over 2000 keys with a 60 s TTL: about
//! one request in ten misses, so the database (4 workers × 40 ms = 100
//! req/s) runs at 30 %. Flush the cache and every request misses: the
//! database queue passes the cache's 500 ms timeout within a second, no fill
//! lands, and the cache never warms again. `mitigation=adaptive-concurrency`
//! puts an AIMD limit on the cache's calls to the database: misses over the
//! limit fail fast, the database keeps answering in time, and the cache
//! refills at the database's pace.

use super::common::{self, ms, Workload, WorkloadDefaults};
use crate::scenario::{
    Client, HostSoftware, Layout, ParamError, ParamSpec, Params, Scenario, Scrape, System,
};
use hormesis_faults::{KnobKind, KnobSpec};
use hormesis_sut::lookaside_cache::{serve_cache, CacheConfig, CacheMemory, CacheStats};
use hormesis_sut::primitives::{ConcurrencyLimit, ConcurrencyLimitPolicy};
use hormesis_sut::rpc::{ClientStats, PoolConfig, PoolControls, PoolStats};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub struct LookasideCache;

pub const MITIGATIONS: &[&str] = &["none", "adaptive-concurrency"];

const CACHE: &str = "cache";
const DATABASE: &str = "database";
const PORT: u16 = 7000;

impl Scenario for LookasideCache {
    fn name(&self) -> &'static str {
        "lookaside-cache"
    }

    fn description(&self) -> &'static str {
        "a look-aside cache over a database with a third of the capacity: emptied under load, it never warms back up"
    }

    fn params(&self) -> Vec<ParamSpec> {
        cache_params(ms(60_000))
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![
            KnobSpec {
                name: "cache-flush".into(),
                kind: KnobKind::Action,
                help: "the operator empties the cache".into(),
            },
            common::service_time_knob(
                "db-service-time",
                40.0,
                "milliseconds per request on the database (a slow query, compaction)",
            ),
        ]
    }

    fn trigger(&self) -> Vec<String> {
        vec!["knob:at=60s,knob=cache-flush".into()]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        build(p, CacheMemory::new(p.int("keyspace")?))
    }
}

/// `warm-cache`: the same cache and database, run the way a careful team
/// runs it, so that no single fault tips it (issue 15, target b).
///
/// The cache persists its entries across restarts, entries live 240 s, and
/// no operator flushes it. With 300 req/s over 2000 keys about 8 misses a
/// second reach the database (100 req/s): an outage of the database
/// (latency past the cache's 500 ms timeout, a hold, a crash) for up to
/// 30 s leaves an eighth of the keys to refill, about 40 req/s of misses
/// (80 with the clients' retries) at its end, which the database absorbs;
/// a slow database (up to 3× its service time, 33 req/s) keeps up with the
/// misses of a warm cache. Measured on seed 1: a 30 s outage of each kind
/// recovers, 120 ms for 30 s recovers.
/// Together, a database slowed to 2-3× while the keys lost in an outage
/// come back overloads it: fills time out, more keys expire, and the cache
/// never warms again. Only a compound schedule finds it.
pub struct WarmCache;

impl Scenario for WarmCache {
    fn name(&self) -> &'static str {
        "warm-cache"
    }

    fn description(&self) -> &'static str {
        "a persistent look-aside cache with a long TTL: no single fault tips it, a slow database during an outage's refill does"
    }

    fn params(&self) -> Vec<ParamSpec> {
        cache_params(ms(240_000))
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![KnobSpec {
            name: "db-service-time".into(),
            kind: KnobKind::Value {
                min: 1.0,
                max: 120.0,
                default: 40.0,
            },
            help: "milliseconds per request on the database (a slow query, compaction), at most 3× the default".into(),
        }]
    }

    fn trigger(&self) -> Vec<String> {
        vec![
            "knob:at=60s,for=30s,knob=db-service-time,value=110".into(),
            "latency:at=60s,for=20s,host=database,delay=1s".into(),
        ]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        build(p, CacheMemory::persistent(p.int("keyspace")?))
    }
}

fn cache_params(ttl: Duration) -> Vec<ParamSpec> {
    let mut params = common::workload_params(WorkloadDefaults {
        rate: 300.0,
        clients: 2,
        timeout: ms(1000),
        retries: 1,
        deadline: ms(5000),
        horizon: ms(60_000),
    });
    params.extend([
            common::int(
                "keyspace",
                2000,
                1,
                10_000_000,
                "distinct keys, requested uniformly",
            ),
            common::duration(
                "ttl",
                ttl,
                ms(100),
                ms(86_400_000),
                "how long a filled entry lives",
            ),
            common::duration(
                "database_timeout",
                ms(500),
                ms(1),
                ms(60_000),
                "how long the cache waits for the database on a miss (no fill after that)",
            ),
            common::int(
                "db_workers",
                4,
                1,
                256,
                "requests the database serves in parallel",
            ),
            common::duration(
                "db_service_time",
                ms(40),
                ms(1),
                ms(10_000),
                "time one database worker spends on one request",
            ),
            common::mitigation(
                MITIGATIONS,
                "the adaptive primitive wired in: none, or an adaptive concurrency limit on the cache's calls to the database",
            ),
        ]);
    params.extend(common::concurrency_params());
    params
}

fn build(p: &Params, memory: CacheMemory) -> Result<Box<dyn System>, ParamError> {
    let workload = Workload::from_params(p)?;
    let database = PoolConfig {
        workers: p.int("db_workers")? as usize,
        service_time: p.duration("db_service_time")?,
        pressure: 0.0,
    };
    let cache = CacheConfig {
        port: PORT,
        keyspace: p.int("keyspace")?,
        ttl: p.duration("ttl")?,
        database: format!("{DATABASE}:{PORT}"),
        database_timeout: p.duration("database_timeout")?,
    };
    Ok(Box::new(LookasideSystem {
        layout: workload.layout(&[CACHE, DATABASE], Duration::from_secs(30)),
        memory: Arc::new(memory),
        cache_stats: Arc::new(CacheStats::default()),
        db_controls: Arc::new(PoolControls::new(&database)),
        db_stats: Arc::new(PoolStats::default()),
        client_stats: common::client_stats(workload.clients.len()),
        limit: match p.choice("mitigation")? {
            "adaptive-concurrency" => Some(common::concurrency_policy(p)?),
            _ => None,
        },
        cache,
        database,
        workload,
    }))
}

struct LookasideSystem {
    layout: Layout,
    workload: Workload,
    cache: CacheConfig,
    memory: Arc<CacheMemory>,
    cache_stats: Arc<CacheStats>,
    database: PoolConfig,
    db_controls: Arc<PoolControls>,
    db_stats: Arc<PoolStats>,
    client_stats: Vec<Arc<ClientStats>>,
    limit: Option<ConcurrencyLimitPolicy>,
}

impl System for LookasideSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, host: &str) -> HostSoftware {
        if host == CACHE {
            let (config, memory, stats, limit) = (
                self.cache.clone(),
                self.memory.clone(),
                self.cache_stats.clone(),
                self.limit,
            );
            Rc::new(move || {
                let (config, memory, stats) = (config.clone(), memory.clone(), stats.clone());
                // The limit is learned state: a restart starts it afresh.
                let limit = limit.map(ConcurrencyLimit::new);
                Box::pin(async move { Ok(serve_cache(config, memory, stats, limit).await?) })
            })
        } else {
            common::pool_host(
                PORT,
                self.database.clone(),
                self.db_controls.clone(),
                self.db_stats.clone(),
                None,
            )
        }
    }

    fn client(&self, client: &str) -> Rc<dyn Client> {
        common::rpc_client(
            format!("{CACHE}:{PORT}"),
            self.workload.policy.clone(),
            self.client_stats[self.workload.index_of(client)].clone(),
        )
    }

    fn set_knob(&self, knob: &str, value: Option<f64>) {
        match (knob, value) {
            ("cache-flush", None) => self.memory.flush(),
            ("db-service-time", Some(v)) => common::set_service_time_ms(&self.db_controls, v),
            _ => common::ignore_unknown_knob(knob, value),
        }
    }

    fn knob_value(&self, knob: &str) -> Option<f64> {
        (knob == "db-service-time").then_some(common::service_time_ms(&self.database))
    }

    fn scrape(&self) -> Scrape {
        let c = &self.cache_stats;
        let load = common::gauge;
        Scrape {
            attempts: common::attempts(&self.client_stats),
            gauges: vec![
                ("cache_entries", load(&c.entries)),
                ("cache_hits", load(&c.hits)),
                ("cache_misses", load(&c.misses)),
                ("cache_fills", load(&c.fills)),
                ("db_calls_limited", load(&c.limited)),
                ("db_queue_depth", load(&self.db_stats.queue_depth)),
            ],
        }
    }
}
