//! `retry-storm`: clients that retry on timeout turn a load spike into
//! sustained overload (Bronson et al., HotOS 2021, §2.1).
//!
//! With the defaults the server has capacity 200 req/s (8 workers × 40 ms)
//! and is offered 120 req/s: utilisation 0.6, queueing delay a few ms. A 3×
//! spike for 10 s builds a backlog of seconds; once queueing delay passes the
//! 1 s timeout, every request is retried up to 3 times, the offered attempts
//! (up to 4 × 120 = 480/s) exceed capacity, and the backlog outlives the
//! spike. `mitigation=retry-budget` gives each client a token-bucket retry
//! budget, which caps the attempts at about 1.2 × the offered load, so the
//! backlog drains. `mitigation=autoscaler` adds workers from the work in the
//! system instead (after a boot delay), which drains it with more capacity.

use super::common::{self, ms, Workload, WorkloadDefaults};
use crate::scenario::{
    Client, HostSoftware, Layout, ParamError, ParamSpec, Params, Scenario, Scrape, System,
};
use hormesis_faults::{KnobKind, KnobSpec};
use hormesis_sut::primitives::{AutoscalerPolicy, RetryBudget, RetryBudgetPolicy};
use hormesis_sut::retry_storm::{ClientPolicy, ClientStats, PoolConfig, PoolControls, PoolStats};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub struct RetryStorm;

/// The values of the `mitigation` parameter.
pub const MITIGATIONS: &[&str] = &["none", "retry-budget", "autoscaler"];

const SERVER: &str = "server";
const PORT: u16 = 7000;

impl Scenario for RetryStorm {
    fn name(&self) -> &'static str {
        "retry-storm"
    }

    /// A worker's boot delay is the machine's, not the controller's: tune
    /// leaves it where `--set` puts it.
    fn policy_params(&self, mitigation: &str) -> Vec<&'static str> {
        crate::scenario::policy_params_by_prefix(&self.params(), mitigation)
            .into_iter()
            .filter(|p| *p != "autoscaler.boot_delay")
            .collect()
    }

    /// Retries rescue the requests a light loss strands (0.2 % of the
    /// server's messages for 30 s: unlimited retries keep ~7 % more
    /// goodput than none); an autoscaler serves a load step the fixed
    /// pool would queue.
    fn benign_faults(&self, mitigation: &str) -> Vec<String> {
        match mitigation {
            "retry-budget" => vec!["loss:at=0s,for=30s,rate=0.002,host=server".into()],
            "autoscaler" => vec!["load-step:at=0s,for=60s,factor=1.5".into()],
            _ => Vec::new(),
        }
    }

    fn description(&self) -> &'static str {
        "a FIFO server at a fixed rate and clients that retry on timeout: a spike leaves a backlog that retries keep alive"
    }

    fn params(&self) -> Vec<ParamSpec> {
        let mut params = common::workload_params(WorkloadDefaults {
            rate: 120.0,
            clients: 2,
            timeout: ms(1000),
            retries: 3,
            deadline: ms(5000),
            horizon: ms(60_000),
        });
        params.extend(common::server_pool_params());
        params.extend([
            common::mitigation(
                MITIGATIONS,
                "the adaptive primitive wired in: none, a per-client retry budget, or a worker autoscaler",
            ),
        ]);
        params.extend(common::retry_budget_params());
        let a = AutoscalerPolicy::default();
        params.extend([
            common::float(
                "autoscaler.gain",
                a.gain,
                0.01,
                10.0,
                "autoscaler: the fraction of the gap to the wanted workers closed each period (> 1 overshoots)",
            ),
            common::float(
                "autoscaler.target",
                a.target_per_replica,
                0.1,
                1000.0,
                "autoscaler: requests in the system (queued + served) per worker it aims for",
            ),
            common::int(
                "autoscaler.max",
                64,
                1,
                1024,
                "autoscaler: the most workers",
            ),
            common::duration(
                "autoscaler.period",
                a.period,
                ms(100),
                ms(600_000),
                "autoscaler: how often it decides",
            ),
            common::duration(
                "autoscaler.boot_delay",
                a.boot_delay,
                ms(0),
                ms(600_000),
                "autoscaler: how long a new worker takes to serve",
            ),
        ]);
        params
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![
            common::service_time_knob(
                "service-time",
                40.0,
                "milliseconds per request on the server (a slow dependency, a bad deploy)",
            ),
            KnobSpec {
                name: "queue-flush".into(),
                kind: KnobKind::Action,
                help: "the operator drops every queued request".into(),
            },
        ]
    }

    fn trigger(&self) -> Vec<String> {
        vec!["load-spike:at=60s,for=10s,factor=3".into()]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        let workload = Workload::from_params(p)?;
        let server = PoolConfig {
            workers: p.int("workers")? as usize,
            service_time: p.duration("service_time")?,
            pressure: 0.0,
        };
        let mitigation = p.choice("mitigation")?;
        let autoscaler = (mitigation == "autoscaler")
            .then(|| -> Result<_, ParamError> {
                Ok(AutoscalerPolicy {
                    min: server.workers,
                    max: (p.int("autoscaler.max")? as usize).max(server.workers),
                    target_per_replica: p.float("autoscaler.target")?,
                    gain: p.float("autoscaler.gain")?,
                    period: p.duration("autoscaler.period")?,
                    boot_delay: p.duration("autoscaler.boot_delay")?,
                })
            })
            .transpose()?;
        Ok(Box::new(RetryStormSystem {
            layout: workload.layout(&[SERVER], Duration::from_secs(30)),
            controls: Arc::new(PoolControls::new(&server)),
            server_stats: Arc::new(PoolStats::default()),
            client_stats: common::client_stats(workload.clients.len()),
            budget: match mitigation {
                "retry-budget" => Some(common::retry_budget_policy(p)?),
                _ => None,
            },
            autoscaler,
            server,
            workload,
        }))
    }
}

struct RetryStormSystem {
    layout: Layout,
    workload: Workload,
    server: PoolConfig,
    controls: Arc<PoolControls>,
    server_stats: Arc<PoolStats>,
    client_stats: Vec<Arc<ClientStats>>,
    /// Each client host gets its own budget under this policy.
    budget: Option<RetryBudgetPolicy>,
    autoscaler: Option<AutoscalerPolicy>,
}

impl System for RetryStormSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, _host: &str) -> HostSoftware {
        common::pool_host(
            PORT,
            self.server.clone(),
            self.controls.clone(),
            self.server_stats.clone(),
            self.autoscaler,
        )
    }

    fn client(&self, client: &str) -> Rc<dyn Client> {
        let policy = ClientPolicy {
            budget: self.budget.map(|b| Arc::new(RetryBudget::new(b))),
            ..self.workload.policy.clone()
        };
        common::rpc_client(
            format!("{SERVER}:{PORT}"),
            policy,
            self.client_stats[self.workload.index_of(client)].clone(),
        )
    }

    fn set_knob(&self, knob: &str, value: Option<f64>) {
        match (knob, value) {
            ("service-time", Some(v)) => common::set_service_time_ms(&self.controls, v),
            ("queue-flush", None) => self.controls.flush_queue(),
            _ => common::ignore_unknown_knob(knob, value),
        }
    }

    fn knob_value(&self, knob: &str) -> Option<f64> {
        (knob == "service-time").then_some(common::service_time_ms(&self.server))
    }

    fn scrape(&self) -> Scrape {
        let load = common::gauge;
        let mut gauges = vec![("queue_depth", load(&self.server_stats.queue_depth))];
        gauges.extend(common::client_gauges(&self.client_stats));
        gauges.push(("workers", load(&self.server_stats.workers)));
        Scrape {
            attempts: common::attempts(&self.client_stats),
            gauges,
        }
    }
}
