//! `mru-pool`: clients reach three replicas through a connection pool that
//! reuses the most recently returned connection (HotOS 2021, §2.4).
//!
//! With the defaults one application server offers 140 req/s to three
//! replicas of 80 req/s each (4 workers × 50 ms) with a 90 ms timeout: room
//! to spare while the load is spread over all three. A 3× spike for 10 s
//! grows the pool to its limit, 128 connections per replica, where 5–8
//! sufficed before. Afterwards MRU takes from the top of
//! a stack that deep, which never runs dry: the connections returned first
//! as the spike's backlog drains sink to the bottom and are never taken
//! again, and no new connection is ever opened. When one replica's
//! connections all sink, that replica idles for good and the other two
//! carry 140 req/s on 160 of capacity, where queueing keeps many calls past
//! the timeout. Nothing moves load back: each replica is offered what it
//! served. See `hormesis_sut::mru_pool`. `mitigation=bandit-lb` lets a
//! discounted-UCB bandit, with in-flight calls counted as virtual losses,
//! pick the replica from observed latency, so the idle replica's fast
//! answers draw calls back to it.
//!
//! Until 2026-11-28 the defaults were `rate=120`, `timeout=100ms`,
//! `max_connections=32`; there the trap needs turmoil's 10 ms step and
//! `--check-fidelity` flags it (docs/engines.md).

use super::common::{self, ms, Workload, WorkloadDefaults};
use crate::scenario::{
    CallFailure, Client, HostSoftware, Layout, LocalFuture, ParamError, ParamSpec, Params,
    Scenario, Scrape, System,
};
use hormesis_faults::KnobSpec;
use hormesis_sut::mru_pool::{
    ConnectionPool, ConnectionPoolConfig, ConnectionPoolStats, PoolError, PoolPolicy,
};
use hormesis_sut::primitives::{BanditLb, BanditLbPolicy};
use hormesis_sut::rpc::{PoolConfig, PoolControls, PoolStats};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub struct MruPool;

pub const MITIGATIONS: &[&str] = &["none", "bandit-lb"];

const REPLICAS: [&str; 3] = ["replica-1", "replica-2", "replica-3"];
const PORT: u16 = 7000;

impl Scenario for MruPool {
    fn name(&self) -> &'static str {
        "mru-pool"
    }

    fn description(&self) -> &'static str {
        "clients → three replicas through a most-recently-used connection pool: a burst deepens the pool, one replica's connections sink out of reach, and the other two stay overloaded"
    }

    fn params(&self) -> Vec<ParamSpec> {
        let mut params = common::workload_params(WorkloadDefaults {
            rate: 140.0,
            clients: 1,
            timeout: ms(90),
            retries: 0,
            deadline: ms(1000),
            horizon: ms(60_000),
        });
        let lb = BanditLbPolicy::default();
        params.extend([
            common::int(
                "workers",
                4,
                1,
                256,
                "requests each replica serves in parallel",
            ),
            common::duration(
                "service_time",
                ms(50),
                ms(1),
                ms(10_000),
                "time one replica worker spends on one request",
            ),
            common::int(
                "max_connections",
                128,
                1,
                1024,
                "the most connections one client keeps open to one replica",
            ),
            common::mitigation(
                MITIGATIONS,
                "the adaptive primitive wired in: none (most recently used connection), or a bandit that picks the replica from observed latency",
            ),
            common::float(
                "bandit.discount",
                lb.discount,
                0.5,
                1.0,
                "bandit: weight old evidence keeps per call",
            ),
            common::float(
                "bandit.exploration",
                lb.exploration,
                0.0,
                10.0,
                "bandit: the UCB exploration constant",
            ),
            common::duration(
                "bandit.latency_target",
                lb.latency_target,
                ms(1),
                ms(60_000),
                "bandit: answers this fast earn the full reward",
            ),
        ]);
        params
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![common::service_time_knob(
            "replica-1-service-time",
            50.0,
            "milliseconds per request on replica-1 (a noisy neighbour, a slow disk)",
        )]
    }

    fn trigger(&self) -> Vec<String> {
        vec!["load-spike:at=60s,for=10s,factor=3".into()]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        let workload = Workload::from_params(p)?;
        let replica = PoolConfig {
            workers: p.int("workers")? as usize,
            service_time: p.duration("service_time")?,
            pressure: 0.0,
        };
        let bandit = match p.choice("mitigation")? {
            "bandit-lb" => Some(BanditLbPolicy {
                discount: p.float("bandit.discount")?,
                exploration: p.float("bandit.exploration")?,
                latency_target: p.duration("bandit.latency_target")?,
            }),
            _ => None,
        };
        let clients = workload.clients.len();
        Ok(Box::new(MruPoolSystem {
            layout: workload.layout(&REPLICAS, Duration::from_secs(30)),
            controls: REPLICAS
                .iter()
                .map(|_| Arc::new(PoolControls::new(&replica)))
                .collect(),
            replica_stats: REPLICAS
                .iter()
                .map(|_| Arc::new(PoolStats::default()))
                .collect(),
            client_stats: (0..clients)
                .map(|_| Arc::new(ConnectionPoolStats::default()))
                .collect(),
            pools: (0..clients).map(|_| Default::default()).collect(),
            max_connections: p.int("max_connections")? as usize,
            abandon_after: workload.deadline * 5,
            bandit,
            replica,
            workload,
        }))
    }
}

struct MruPoolSystem {
    layout: Layout,
    workload: Workload,
    replica: PoolConfig,
    controls: Vec<Arc<PoolControls>>,
    replica_stats: Vec<Arc<PoolStats>>,
    client_stats: Vec<Arc<ConnectionPoolStats>>,
    /// Each client's pool once built, for the open-connection gauges.
    pools: Vec<std::cell::RefCell<Option<Arc<ConnectionPool>>>>,
    max_connections: usize,
    abandon_after: Duration,
    bandit: Option<BanditLbPolicy>,
}

impl System for MruPoolSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, host: &str) -> HostSoftware {
        let i = REPLICAS.iter().position(|r| *r == host).unwrap_or(0);
        common::pool_host(
            PORT,
            self.replica.clone(),
            self.controls[i].clone(),
            self.replica_stats[i].clone(),
            None,
        )
    }

    fn client(&self, client: &str) -> Rc<dyn Client> {
        let index = self.workload.index_of(client);
        let policy = match self.bandit {
            Some(b) => PoolPolicy::Bandit(Arc::new(BanditLb::new(REPLICAS.len(), b))),
            None => PoolPolicy::Mru,
        };
        let pool = ConnectionPool::new(
            ConnectionPoolConfig {
                replicas: REPLICAS.iter().map(|r| format!("{r}:{PORT}")).collect(),
                max_per_replica: self.max_connections,
                timeout: self.workload.policy.timeout,
                abandon_after: self.abandon_after,
                policy,
            },
            self.client_stats[index].clone(),
        );
        *self.pools[index].borrow_mut() = Some(pool.clone());
        Rc::new(PooledClient {
            pool,
            retries: self.workload.policy.retries,
        })
    }

    fn set_knob(&self, knob: &str, value: Option<f64>) {
        match (knob, value) {
            ("replica-1-service-time", Some(v)) => {
                common::set_service_time_ms(&self.controls[0], v)
            }
            _ => common::ignore_unknown_knob(knob, value),
        }
    }

    fn knob_value(&self, knob: &str) -> Option<f64> {
        (knob == "replica-1-service-time")
            .then(|| self.replica.service_time.as_nanos() as f64 / 1e6)
    }

    fn scrape(&self) -> Scrape {
        let load = common::gauge;
        let mut open = [0usize; 3];
        for pool in self.pools.iter().filter_map(|p| p.borrow().clone()) {
            for (total, n) in open.iter_mut().zip(pool.open_connections()) {
                *total += n;
            }
        }
        Scrape {
            attempts: self
                .client_stats
                .iter()
                .map(|s| load(&s.attempts) as u64)
                .sum(),
            gauges: vec![
                ("replica_1_queue", load(&self.replica_stats[0].queue_depth)),
                ("replica_2_queue", load(&self.replica_stats[1].queue_depth)),
                ("replica_3_queue", load(&self.replica_stats[2].queue_depth)),
                ("replica_1_served", load(&self.replica_stats[0].served)),
                ("replica_2_served", load(&self.replica_stats[1].served)),
                ("replica_3_served", load(&self.replica_stats[2].served)),
                ("replica_1_connections", open[0] as f64),
                ("replica_2_connections", open[1] as f64),
                ("replica_3_connections", open[2] as f64),
            ],
        }
    }
}

struct PooledClient {
    pool: Arc<ConnectionPool>,
    retries: u32,
}

impl Client for PooledClient {
    fn call(&self, key: u64) -> LocalFuture<'_, Result<(), CallFailure>> {
        Box::pin(async move {
            let mut attempt = 0;
            loop {
                match self.pool.call(key).await {
                    Ok(()) => return Ok(()),
                    Err(_) if attempt < self.retries => attempt += 1,
                    Err(PoolError::TimedOut) => return Err(CallFailure::Timeout),
                    Err(PoolError::Failed(_)) => return Err(CallFailure::Error),
                }
            }
        })
    }
}
