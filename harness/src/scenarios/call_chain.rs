//! `call-chain`: clients → front → back, each layer with its own timeout
//! and retries, so attempts multiply down the chain.
//!
//! With the defaults the back end serves 200 req/s (8 workers × 40 ms) and
//! is offered 100 req/s. The front waits 400 ms per attempt on the back end
//! and tries 3 times; clients wait 1.5 s per attempt on the front and try 3
//! times: up to 9 back-end attempts per request. Slow the back end to 90 ms
//! (capacity 89 req/s) for 10 s and its queue passes the front's timeout;
//! the multiplied attempts then exceed even the restored capacity and the
//! queue outlives the slowdown. `mitigation=retry-budget` gives every
//! client and the front a retry budget, capping the amplification near
//! 1.2 × 1.2.

use super::common::{self, ms, Workload, WorkloadDefaults};
use crate::scenario::{
    Client, HostSoftware, Layout, ParamError, ParamSpec, Params, Scenario, Scrape, System,
};
use hormesis_faults::{KnobKind, KnobSpec};
use hormesis_sut::call_chain::serve_front;
use hormesis_sut::primitives::{RetryBudget, RetryBudgetPolicy};
use hormesis_sut::rpc::{ClientPolicy, ClientStats, PoolConfig, PoolControls, PoolStats};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub struct CallChain;

pub const MITIGATIONS: &[&str] = &["none", "retry-budget"];

const FRONT: &str = "front";
const BACK: &str = "back";
const PORT: u16 = 7000;

impl Scenario for CallChain {
    fn name(&self) -> &'static str {
        "call-chain"
    }

    fn description(&self) -> &'static str {
        "clients → front → back with timeouts and retries at each layer: a slow back end sees the product of the retries"
    }

    fn params(&self) -> Vec<ParamSpec> {
        let mut params = common::workload_params(WorkloadDefaults {
            rate: 100.0,
            clients: 2,
            timeout: ms(1500),
            retries: 2,
            deadline: ms(5000),
            horizon: ms(60_000),
        });
        params.extend([
            common::duration(
                "front_timeout",
                ms(400),
                ms(1),
                ms(60_000),
                "the front's timeout per attempt on the back end",
            ),
            common::int(
                "front_retries",
                2,
                0,
                20,
                "the front's retries on the back end",
            ),
            common::int(
                "workers",
                8,
                1,
                256,
                "requests the back end serves in parallel",
            ),
            common::duration(
                "service_time",
                ms(40),
                ms(1),
                ms(10_000),
                "time one back-end worker spends on one request",
            ),
            common::mitigation(
                MITIGATIONS,
                "the adaptive primitive wired in: none, or a retry budget in every client and in the front",
            ),
        ]);
        params.extend(common::retry_budget_params());
        params
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![
            common::service_time_knob(
                "service-time",
                40.0,
                "milliseconds per request on the back end (a slow dependency, a bad deploy)",
            ),
            KnobSpec {
                name: "capacity".into(),
                // Its default is its max: `explore` lowers it.
                kind: KnobKind::Value {
                    min: 0.05,
                    max: 1.0,
                    default: 1.0,
                },
                help: "the share of the back end's workers in service (replicas lost, a node pool scaled down): 1 is all of them, at least one stays".into(),
            },
        ]
    }

    fn trigger(&self) -> Vec<String> {
        vec!["knob:at=60s,for=10s,knob=service-time,value=90".into()]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        let workload = Workload::from_params(p)?;
        let back = PoolConfig {
            workers: p.int("workers")? as usize,
            service_time: p.duration("service_time")?,
            pressure: 0.0,
        };
        let clients = workload.clients.len();
        Ok(Box::new(CallChainSystem {
            layout: workload.layout(&[FRONT, BACK], Duration::from_secs(30)),
            front_policy: ClientPolicy {
                timeout: p.duration("front_timeout")?,
                retries: p.int("front_retries")? as u32,
                backoff: Duration::ZERO,
                budget: None,
                keepalive: None,
                connect: None,
            },
            front_stats: Arc::new(ClientStats::default()),
            back_controls: Arc::new(PoolControls::new(&back)),
            back_stats: Arc::new(PoolStats::default()),
            client_stats: (0..clients)
                .map(|_| Arc::new(ClientStats::default()))
                .collect(),
            budget: match p.choice("mitigation")? {
                "retry-budget" => Some(common::retry_budget_policy(p)?),
                _ => None,
            },
            back,
            workload,
        }))
    }
}

struct CallChainSystem {
    layout: Layout,
    workload: Workload,
    front_policy: ClientPolicy,
    front_stats: Arc<ClientStats>,
    back: PoolConfig,
    back_controls: Arc<PoolControls>,
    back_stats: Arc<PoolStats>,
    client_stats: Vec<Arc<ClientStats>>,
    budget: Option<RetryBudgetPolicy>,
}

impl System for CallChainSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, host: &str) -> HostSoftware {
        if host == FRONT {
            let (policy, stats, budget) = (
                self.front_policy.clone(),
                self.front_stats.clone(),
                self.budget,
            );
            Rc::new(move || {
                let policy = ClientPolicy {
                    budget: budget.map(|b| Arc::new(RetryBudget::new(b))),
                    ..policy.clone()
                };
                let stats = stats.clone();
                Box::pin(async move {
                    Ok(serve_front(PORT, format!("{BACK}:{PORT}"), policy, stats).await?)
                })
            })
        } else {
            common::pool_host(
                PORT,
                self.back.clone(),
                self.back_controls.clone(),
                self.back_stats.clone(),
                None,
            )
        }
    }

    fn client(&self, client: &str) -> Rc<dyn Client> {
        let policy = ClientPolicy {
            budget: self.budget.map(|b| Arc::new(RetryBudget::new(b))),
            ..self.workload.policy.clone()
        };
        common::rpc_client(
            format!("{FRONT}:{PORT}"),
            policy,
            self.client_stats[self.workload.index_of(client)].clone(),
        )
    }

    fn set_knob(&self, knob: &str, value: Option<f64>) {
        match (knob, value) {
            ("service-time", Some(v)) => common::set_service_time_ms(&self.back_controls, v),
            ("capacity", Some(share)) => {
                // `share` is validated to [0.05, 1]; the count is at least 1.
                let workers = (share * self.back.workers as f64).round() as usize;
                self.back_controls.set_workers(workers.max(1));
            }
            _ => common::ignore_unknown_knob(knob, value),
        }
    }

    fn knob_value(&self, knob: &str) -> Option<f64> {
        (knob == "service-time").then_some(common::service_time_ms(&self.back))
    }

    fn scrape(&self) -> Scrape {
        let load = common::gauge;
        Scrape {
            attempts: common::attempts(&self.client_stats),
            gauges: vec![
                ("front_attempts", load(&self.front_stats.attempts)),
                (
                    "front_retries_refused",
                    load(&self.front_stats.retries_refused),
                ),
                ("back_queue_depth", load(&self.back_stats.queue_depth)),
                ("back_served", load(&self.back_stats.served)),
            ],
        }
    }
}
