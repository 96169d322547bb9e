//! `latency-window`: clients and a server as a gRPC deployment has them,
//! where added latency on the server's links tips the system only in a
//! middle band (issue 15, target a).
//!
//! The server has capacity 200 req/s (8 workers × 40 ms) and is offered
//! 36 req/s: utilisation 0.18, so no load fault the explorer draws (up to
//! 5× for 30 s) overloads it. Each request may be tried six times (timeout
//! 400 ms, 5 retries, all within the 5 s deadline), and 6 × 36 = 216 req/s
//! is more than the server serves: once every attempt times out, the
//! retries keep a backlog longer than the timeout alive and goodput never
//! comes back. Each client pings its connection every 500 ms and drops it
//! when a ping goes unanswered for 800 ms; a connect may take 250 ms, and
//! for a second after one fails, calls fail at once.
//!
//! So 200–400 ms of added latency tips it: about a tenth of the latency
//! template and a hundredth of the fault space, sparse enough that random
//! search needs a median of about 48 runs to find it (docs/benchmarks.md).
//! The window moves with the timeouts (`--set timeout=800ms --set
//! keepalive.timeout=1600ms --set keepalive.interval=1s` puts it at
//! 400–700 ms, the default before 2026-11-28).
//!
//! - Latency that keeps the round trip under the timeout changes nothing.
//! - A round trip between the timeout (400 ms) and the ping timeout (800 ms)
//!   makes every attempt time out while the pings still come back, so the
//!   connection stays up, the server works through every timed-out
//!   attempt, and the retries build the backlog that outlives the fault.
//! - A round trip past the ping timeout drops the connection; reconnects
//!   time out and calls fail fast, so little reaches the server and no
//!   backlog builds. The system recovers when the fault ends.
//!
//! The server also drops a closed connection's queued requests, as hyper
//! drops a closed connection's handlers; measured, no map cell depends on
//! it here. `mitigation=retry-budget` caps the attempts at about 1.2 × the
//! offered load, far under the server's capacity.

use super::common::{self, ms, Workload, WorkloadDefaults};
use crate::scenario::{
    Client, HostSoftware, Layout, ParamError, ParamSpec, Params, Scenario, Scrape, System,
};
use hormesis_faults::{KnobKind, KnobSpec};
use hormesis_sut::primitives::{RetryBudget, RetryBudgetPolicy};
use hormesis_sut::rpc::{
    self, ClientPolicy, ClientStats, ConnectPolicy, Keepalive, OnDisconnect, PoolConfig,
    PoolControls, PoolStats, WorkerPool,
};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub struct LatencyWindow;

pub const MITIGATIONS: &[&str] = &["none", "retry-budget"];

const SERVER: &str = "server";
const PORT: u16 = 7000;

impl Scenario for LatencyWindow {
    fn name(&self) -> &'static str {
        "latency-window"
    }

    fn description(&self) -> &'static str {
        "clients that retry 5 times and drop a connection whose keepalive ping goes unanswered, a server that cancels a dropped connection's queue: latency tips it only in a middle band"
    }

    fn params(&self) -> Vec<ParamSpec> {
        let mut params = common::workload_params(WorkloadDefaults {
            rate: 36.0,
            clients: 2,
            timeout: ms(400),
            retries: 5,
            deadline: ms(5000),
            horizon: ms(60_000),
        });
        params.extend(common::server_pool_params());
        params.extend([
            common::duration(
                "keepalive.interval",
                ms(500),
                ms(10),
                ms(600_000),
                "how often each client pings its connection (gRPC's keepalive time)",
            ),
            common::duration(
                "keepalive.timeout",
                ms(800),
                ms(10),
                ms(600_000),
                "a connection whose ping is not answered within this is closed and replaced",
            ),
            common::duration(
                "connect.timeout",
                ms(250),
                ms(1),
                ms(600_000),
                "how long a connect may take before it fails",
            ),
            common::duration(
                "connect.backoff",
                ms(1000),
                ms(0),
                ms(600_000),
                "after a failed connect, attempts fail at once for this long (gRPC's fail-fast while reconnecting)",
            ),
            common::mitigation(
                MITIGATIONS,
                "the adaptive primitive wired in: none, or a per-client retry budget",
            ),
        ]);
        params.extend(common::retry_budget_params());
        params
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![KnobSpec {
            name: "service-time".into(),
            kind: KnobKind::Value {
                min: 1.0,
                max: 120.0,
                default: 40.0,
            },
            help:
                "milliseconds per request on the server (a slow dependency), at most 3× the default"
                    .into(),
        }]
    }

    fn trigger(&self) -> Vec<String> {
        vec!["latency:at=60s,for=20s,host=server,delay=300ms".into()]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        let workload = Workload::from_params(p)?;
        let server = PoolConfig {
            workers: p.int("workers")? as usize,
            service_time: p.duration("service_time")?,
            pressure: 0.0,
        };
        Ok(Box::new(WindowSystem {
            layout: workload.layout(&[SERVER], Duration::from_secs(30)),
            controls: Arc::new(PoolControls::new(&server)),
            server_stats: Arc::new(PoolStats::default()),
            client_stats: common::client_stats(workload.clients.len()),
            connect: ConnectPolicy {
                timeout: p.duration("connect.timeout")?,
                backoff: p.duration("connect.backoff")?,
            },
            keepalive: Keepalive {
                interval: p.duration("keepalive.interval")?,
                timeout: p.duration("keepalive.timeout")?,
            },
            budget: match p.choice("mitigation")? {
                "retry-budget" => Some(common::retry_budget_policy(p)?),
                _ => None,
            },
            server,
            workload,
        }))
    }
}

struct WindowSystem {
    layout: Layout,
    workload: Workload,
    server: PoolConfig,
    controls: Arc<PoolControls>,
    server_stats: Arc<PoolStats>,
    client_stats: Vec<Arc<ClientStats>>,
    keepalive: Keepalive,
    connect: ConnectPolicy,
    budget: Option<RetryBudgetPolicy>,
}

impl System for WindowSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, _host: &str) -> HostSoftware {
        let (config, controls, stats) = (
            self.server.clone(),
            self.controls.clone(),
            self.server_stats.clone(),
        );
        Rc::new(move || {
            let (config, controls, stats) = (config.clone(), controls.clone(), stats.clone());
            Box::pin(async move {
                // The queue is process memory: a restart starts it empty.
                let pool = WorkerPool::start(config, controls, stats);
                Ok(rpc::serve_with(PORT, Arc::new(pool), OnDisconnect::Cancel).await?)
            })
        })
    }

    fn client(&self, client: &str) -> Rc<dyn Client> {
        let policy = ClientPolicy {
            budget: self.budget.map(|b| Arc::new(RetryBudget::new(b))),
            keepalive: Some(self.keepalive),
            connect: Some(self.connect),
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
            _ => common::ignore_unknown_knob(knob, value),
        }
    }

    fn knob_value(&self, knob: &str) -> Option<f64> {
        (knob == "service-time").then_some(common::service_time_ms(&self.server))
    }

    fn scrape(&self) -> Scrape {
        let load = common::gauge;
        let mut gauges = vec![
            ("queue_depth", load(&self.server_stats.queue_depth)),
            ("served", load(&self.server_stats.served)),
            ("abandoned", load(&self.server_stats.abandoned)),
        ];
        gauges.extend(common::client_gauges(&self.client_stats));
        Scrape {
            attempts: common::attempts(&self.client_stats),
            gauges,
        }
    }
}
