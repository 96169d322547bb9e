//! `hot-shard`: twelve shards behind client-side sharding, one of them hot.
//!
//! Every shard serves 100 req/s (4 workers × 40 ms). With the defaults,
//! 55 req/s spread by key: 30 % of keys (16.5 req/s, utilisation 0.17) go
//! to `shard-7`, the rest 3.5 req/s to each other shard. Clients wait
//! 700 ms and try 7 times (all within the 5 s deadline), so a shard whose
//! queue passes the timeout is offered 7× its share: 24 req/s on a cold
//! shard, which drains, but 115 req/s on the hot one, whose backlog then
//! never drains (and a dead hot shard costs 30 % of goodput, which the
//! verdict sees). Clients ping each connection every second and drop it
//! when a ping goes unanswered for 2 s (gRPC's keepalive), so a slow
//! shard keeps its connection. A load spike of up to 5× leaves every shard under its
//! capacity (the hot one at 83 req/s), so only a fault on `shard-7` that
//! leaves it a backlog of 0.7 s or more tips the system, out of faults on
//! 12 shards and the load. It is the benchmark of a large deployment where
//! one host is vulnerable (issue 15, target d). `mitigation=retry-budget`
//! caps every client's retries and fixes it.

use super::common::{self, ms, Workload, WorkloadDefaults};
use crate::scenario::{
    CallFailure, Client, HostSoftware, Layout, LocalFuture, ParamError, ParamSpec, Params,
    Scenario, Scrape, System,
};
use hormesis_faults::KnobSpec;
use hormesis_sut::hot_shard::{Routing, ShardedClient};
use hormesis_sut::primitives::{RetryBudget, RetryBudgetPolicy};
use hormesis_sut::rpc::{
    ClientPolicy, ClientStats, Keepalive, PoolConfig, PoolControls, PoolStats,
};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub struct HotShard;

pub const MITIGATIONS: &[&str] = &["none", "retry-budget"];

const PORT: u16 = 7000;
const MAX_SHARDS: u64 = 32;
/// gRPC-style: a ping every second, a connection dead after 2 s unanswered.
const KEEPALIVE: Keepalive = Keepalive {
    interval: Duration::from_secs(1),
    timeout: Duration::from_secs(2),
};

impl Scenario for HotShard {
    fn name(&self) -> &'static str {
        "hot-shard"
    }

    fn description(&self) -> &'static str {
        "twelve shards behind client-side sharding, one loaded by skewed keys to where retries can keep it overloaded"
    }

    fn params(&self) -> Vec<ParamSpec> {
        let mut params = common::workload_params(WorkloadDefaults {
            rate: 55.0,
            clients: 2,
            timeout: ms(700),
            retries: 6,
            deadline: ms(5000),
            horizon: ms(60_000),
        });
        params.extend([
            common::int(
                "shards",
                12,
                2,
                MAX_SHARDS,
                "shards the keys are spread over",
            ),
            common::int(
                "hot",
                7,
                1,
                MAX_SHARDS,
                "the hot shard's number (shard-1 is the first)",
            ),
            common::float(
                "hot_share",
                0.3,
                0.0,
                1.0,
                "the fraction of keys (and requests) that land on the hot shard",
            ),
            common::int(
                "workers",
                4,
                1,
                256,
                "requests each shard serves in parallel",
            ),
            common::duration(
                "service_time",
                ms(40),
                ms(1),
                ms(10_000),
                "time one worker spends on one request",
            ),
            common::mitigation(
                MITIGATIONS,
                "the adaptive primitive wired in: none, or a retry budget in every client",
            ),
        ]);
        params.extend(common::retry_budget_params());
        params
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        Vec::new()
    }

    fn trigger(&self) -> Vec<String> {
        // A round trip (2 × 500 ms) past the attempt timeout on shard-7's
        // links: every attempt there times out while the pings still come
        // back within 2 s (so the connection is kept), and 7 attempts per
        // request build a backlog that outlives the fault. A round trip
        // past the ping timeout drops the connection instead, and that
        // drains it on many seeds.
        vec!["latency:at=60s,for=20s,host=shard-7,delay=500ms".into()]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        let workload = Workload::from_params(p)?;
        let shards = p.int("shards")? as usize;
        let hot = p.int("hot")? as usize;
        if hot > shards {
            return Err(ParamError::new(format!(
                "`hot` = {hot} names no shard: there are {shards} (shard-1 to shard-{shards})"
            )));
        }
        let names: Vec<String> = (1..=shards).map(|i| format!("shard-{i}")).collect();
        let hosts: Vec<&str> = names.iter().map(String::as_str).collect();
        let pool = PoolConfig {
            workers: p.int("workers")? as usize,
            service_time: p.duration("service_time")?,
            pressure: 0.0,
        };
        Ok(Box::new(HotShardSystem {
            layout: workload.layout(&hosts, Duration::from_secs(30)),
            routing: Routing {
                shards,
                hot: hot - 1,
                hot_share: p.float("hot_share")?,
            },
            servers: names.iter().map(|n| format!("{n}:{PORT}")).collect(),
            controls: (0..shards)
                .map(|_| Arc::new(PoolControls::new(&pool)))
                .collect(),
            stats: (0..shards)
                .map(|_| Arc::new(PoolStats::default()))
                .collect(),
            client_stats: common::client_stats(workload.clients.len()),
            budget: match p.choice("mitigation")? {
                "retry-budget" => Some(common::retry_budget_policy(p)?),
                _ => None,
            },
            names,
            pool,
            workload,
        }))
    }
}

struct HotShardSystem {
    layout: Layout,
    workload: Workload,
    routing: Routing,
    names: Vec<String>,
    servers: Vec<String>,
    pool: PoolConfig,
    controls: Vec<Arc<PoolControls>>,
    stats: Vec<Arc<PoolStats>>,
    client_stats: Vec<Arc<ClientStats>>,
    budget: Option<RetryBudgetPolicy>,
}

impl System for HotShardSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, host: &str) -> HostSoftware {
        let i = self.names.iter().position(|n| n == host).unwrap_or(0);
        common::pool_host(
            PORT,
            self.pool.clone(),
            self.controls[i].clone(),
            self.stats[i].clone(),
            None,
        )
    }

    fn client(&self, client: &str) -> Rc<dyn Client> {
        let policy = ClientPolicy {
            // One budget per client host, shared by its shard connections.
            budget: self.budget.map(|b| Arc::new(RetryBudget::new(b))),
            keepalive: Some(KEEPALIVE),
            ..self.workload.policy.clone()
        };
        Rc::new(Sharded(ShardedClient::new(
            self.routing,
            &self.servers,
            policy,
            self.client_stats[self.workload.index_of(client)].clone(),
        )))
    }

    fn set_knob(&self, knob: &str, value: Option<f64>) {
        common::ignore_unknown_knob(knob, value)
    }

    fn scrape(&self) -> Scrape {
        let depth = |s: &PoolStats| s.queue_depth.load(Ordering::Relaxed) as f64;
        Scrape {
            attempts: common::attempts(&self.client_stats),
            gauges: vec![
                ("hot_queue_depth", depth(&self.stats[self.routing.hot])),
                (
                    "max_queue_depth",
                    self.stats.iter().map(|s| depth(s)).fold(0.0, f64::max),
                ),
                (
                    "retries_refused",
                    self.client_stats
                        .iter()
                        .map(|s| s.retries_refused.load(Ordering::Relaxed))
                        .sum::<u64>() as f64,
                ),
            ],
        }
    }
}

struct Sharded(ShardedClient);

impl Client for Sharded {
    fn call(&self, key: u64) -> LocalFuture<'_, Result<(), CallFailure>> {
        Box::pin(async move { self.0.call(key).await.map_err(common::call_failure) })
    }
}
