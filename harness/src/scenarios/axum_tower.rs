//! `axum-tower`: the look-aside failure of `lookaside-cache` on the ordinary
//! web stack, unmodified: clients use a hyper client behind tower's
//! `timeout` and `retry` layers; the `api` host is an axum router behind
//! tower's `timeout`, with an in-process look-aside cache over `database`.
//!
//! Same load and capacity as `lookaside-cache`: 300 req/s over 2000 keys
//! with a 60 s TTL, a database of 100 req/s. Flush the cache and the
//! database queue passes the 500 ms the service waits for it; no miss
//! fills, the clients' retries add to the queue, and the cache never warms
//! again. `mitigation=adaptive-concurrency` puts the AIMD limit on the
//! service's database calls; `mitigation=retry-budget` gives the clients'
//! tower retry policy a retry budget instead.

use super::common::{self, ms, Workload, WorkloadDefaults};
use crate::engine::EngineKind;
use crate::scenario::{CallFailure, LocalFuture};
use crate::scenario::{
    Client, HostSoftware, Layout, ParamError, ParamSpec, Params, Scenario, Scrape, System,
};
use hormesis_faults::{KnobKind, KnobSpec};
use hormesis_sut::axum_tower::{
    serve_api, ApiConfig, ApiStats, HttpCallError, HttpClient, HttpClientPolicy,
};
use hormesis_sut::lookaside_cache::CacheMemory;
use hormesis_sut::primitives::{
    ConcurrencyLimit, ConcurrencyLimitPolicy, RetryBudget, RetryBudgetPolicy,
};
use hormesis_sut::rpc::{ClientStats, PoolConfig, PoolControls, PoolStats};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub struct AxumTower;

pub const MITIGATIONS: &[&str] = &["none", "adaptive-concurrency", "retry-budget"];

const API: &str = "api";
const DATABASE: &str = "database";
const PORT: u16 = 7000;

impl Scenario for AxumTower {
    fn name(&self) -> &'static str {
        "axum-tower"
    }

    fn description(&self) -> &'static str {
        "axum + hyper + tower, unmodified: an axum service with an in-process look-aside cache; emptied under load, it never warms back up"
    }

    fn params(&self) -> Vec<ParamSpec> {
        let mut params = common::workload_params(WorkloadDefaults {
            rate: 300.0,
            clients: 2,
            timeout: ms(1000),
            retries: 2,
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
                ms(60_000),
                ms(100),
                ms(86_400_000),
                "how long a filled entry lives",
            ),
            common::duration(
                "database_timeout",
                ms(500),
                ms(1),
                ms(60_000),
                "how long the service waits for the database on a miss (no fill after that)",
            ),
            common::duration(
                "request_timeout",
                ms(1000),
                ms(1),
                ms(60_000),
                "the service's own tower timeout per request",
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
                "the adaptive primitive wired in: none, an adaptive concurrency limit on the service's calls to the database, or a retry budget in the clients' tower retry policy",
            ),
        ]);
        params.extend(common::concurrency_params());
        params.extend(common::retry_budget_params());
        params
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![
            KnobSpec {
                name: "cache-flush".into(),
                kind: KnobKind::Action,
                help: "the operator empties the service's cache".into(),
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

    fn unsupported_on(&self, engine: EngineKind) -> Option<&'static str> {
        (engine == EngineKind::Madsim).then_some(
            "axum::serve, hyper's pooled client and tower's timeout spawn and sleep on the real \
             tokio runtime, which madsim replaces; run it on turmoil",
        )
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        let workload = Workload::from_params(p)?;
        let database = PoolConfig {
            workers: p.int("db_workers")? as usize,
            service_time: p.duration("db_service_time")?,
            pressure: 0.0,
        };
        let api = ApiConfig {
            port: PORT,
            ttl: p.duration("ttl")?,
            database: format!("{DATABASE}:{PORT}"),
            database_timeout: p.duration("database_timeout")?,
            request_timeout: p.duration("request_timeout")?,
        };
        let mitigation = p.choice("mitigation")?;
        Ok(Box::new(AxumTowerSystem {
            layout: workload.layout(&[API, DATABASE], Duration::from_secs(30)),
            memory: Arc::new(CacheMemory::new(p.int("keyspace")?)),
            api_stats: Arc::new(ApiStats::default()),
            db_controls: Arc::new(PoolControls::new(&database)),
            db_stats: Arc::new(PoolStats::default()),
            client_stats: common::client_stats(workload.clients.len()),
            limit: match mitigation {
                "adaptive-concurrency" => Some(common::concurrency_policy(p)?),
                _ => None,
            },
            budget: match mitigation {
                "retry-budget" => Some(common::retry_budget_policy(p)?),
                _ => None,
            },
            api,
            database,
            workload,
        }))
    }
}

struct AxumTowerSystem {
    layout: Layout,
    workload: Workload,
    api: ApiConfig,
    memory: Arc<CacheMemory>,
    api_stats: Arc<ApiStats>,
    database: PoolConfig,
    db_controls: Arc<PoolControls>,
    db_stats: Arc<PoolStats>,
    client_stats: Vec<Arc<ClientStats>>,
    limit: Option<ConcurrencyLimitPolicy>,
    budget: Option<RetryBudgetPolicy>,
}

impl System for AxumTowerSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, host: &str) -> HostSoftware {
        if host == API {
            let (config, memory, stats, limit) = (
                self.api.clone(),
                self.memory.clone(),
                self.api_stats.clone(),
                self.limit,
            );
            Rc::new(move || {
                let (config, memory, stats) = (config.clone(), memory.clone(), stats.clone());
                // The limit is learned state: a restart starts it afresh.
                let limit = limit.map(ConcurrencyLimit::new);
                Box::pin(async move { Ok(serve_api(config, memory, stats, limit).await?) })
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
        let policy = HttpClientPolicy {
            timeout: self.workload.policy.timeout,
            retries: self.workload.policy.retries,
            budget: self.budget.map(|b| Arc::new(RetryBudget::new(b))),
        };
        let stats = self.client_stats[self.workload.index_of(client)].clone();
        Rc::new(Http(HttpClient::new(
            &format!("{API}:{PORT}"),
            policy,
            stats,
        )))
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
        let c = &self.api_stats;
        let load = common::gauge;
        Scrape {
            attempts: common::attempts(&self.client_stats),
            gauges: vec![
                ("cache_entries", load(&c.entries)),
                ("cache_hits", load(&c.hits)),
                ("cache_misses", load(&c.misses)),
                ("cache_fills", load(&c.fills)),
                ("db_calls_limited", load(&c.limited)),
                (
                    "client_retries_refused",
                    self.client_stats
                        .iter()
                        .map(|s| load(&s.retries_refused))
                        .sum(),
                ),
                ("db_queue_depth", load(&self.db_stats.queue_depth)),
            ],
        }
    }
}

struct Http(HttpClient);

impl Client for Http {
    fn call(&self, key: u64) -> LocalFuture<'_, Result<(), CallFailure>> {
        Box::pin(async move {
            self.0.get_item(key).await.map_err(|e| match e {
                HttpCallError::TimedOut => CallFailure::Timeout,
                HttpCallError::Failed(_) => CallFailure::Error,
            })
        })
    }
}
