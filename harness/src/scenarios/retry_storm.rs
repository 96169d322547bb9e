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
//! backlog drains.

use crate::scenario::{
    CallFailure, Client, HostSoftware, Layout, LocalFuture, ParamError, ParamKind, ParamSpec,
    ParamValue, Params, Scenario, Scrape, System,
};
use hormesis_faults::{KnobKind, KnobSpec};
use hormesis_sut::primitives::{RetryBudget, RetryBudgetPolicy};
use hormesis_sut::retry_storm::{
    serve, CallError, ClientPolicy, ClientStats, PoolConfig, PoolControls, PoolStats, RetryClient,
};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub struct RetryStorm;

/// The values of the `mitigation` parameter.
pub const MITIGATIONS: &[&str] = &["none", "retry-budget"];

const SERVER: &str = "server";
const PORT: u16 = 7000;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

impl Scenario for RetryStorm {
    fn name(&self) -> &'static str {
        "retry-storm"
    }

    fn description(&self) -> &'static str {
        "a FIFO server at a fixed rate and clients that retry on timeout: a spike leaves a backlog that retries keep alive"
    }

    fn params(&self) -> Vec<ParamSpec> {
        let dur = |name, default: Duration, min: Duration, max: Duration, help| ParamSpec {
            name,
            kind: ParamKind::Duration { min, max },
            default: ParamValue::Duration(default),
            help,
        };
        vec![
            ParamSpec {
                name: "rate",
                kind: ParamKind::Float {
                    min: 0.1,
                    max: 100_000.0,
                },
                default: ParamValue::Float(120.0),
                help: "offered load, logical requests/s over all clients (Poisson)",
            },
            ParamSpec {
                name: "clients",
                kind: ParamKind::Int { min: 1, max: 32 },
                default: ParamValue::Int(2),
                help: "client hosts sharing the load",
            },
            ParamSpec {
                name: "workers",
                kind: ParamKind::Int { min: 1, max: 256 },
                default: ParamValue::Int(8),
                help: "requests the server serves in parallel",
            },
            dur(
                "service_time",
                ms(40),
                ms(1),
                ms(10_000),
                "time one worker spends on one request",
            ),
            dur(
                "timeout",
                ms(1000),
                ms(10),
                ms(60_000),
                "client timeout per attempt",
            ),
            ParamSpec {
                name: "retries",
                kind: ParamKind::Int { min: 0, max: 20 },
                default: ParamValue::Int(3),
                help: "retries after a timed-out or failed attempt",
            },
            dur(
                "backoff",
                ms(0),
                ms(0),
                ms(60_000),
                "pause before each retry",
            ),
            dur(
                "deadline",
                ms(5000),
                ms(10),
                ms(600_000),
                "a logical request not answered by then counts as timed out",
            ),
            dur(
                "warmup",
                ms(30_000),
                ms(5_000),
                ms(600_000),
                "baseline before faults (and t_e of a run without faults)",
            ),
            dur(
                "horizon",
                ms(60_000),
                ms(15_000),
                ms(3_600_000),
                "H: how long recovery is watched after the trigger",
            ),
            ParamSpec {
                name: "mitigation",
                kind: ParamKind::Choice {
                    options: MITIGATIONS,
                },
                default: ParamValue::Choice("none".into()),
                help: "the adaptive primitive wired in: none, or a per-client retry budget",
            },
            ParamSpec {
                name: "retry_budget.ratio",
                kind: ParamKind::Float {
                    min: 0.0,
                    max: 100.0,
                },
                default: ParamValue::Float(RetryBudgetPolicy::default().ratio),
                help: "retry budget: tokens per first attempt (the long-run retry fraction)",
            },
            ParamSpec {
                name: "retry_budget.min_per_s",
                kind: ParamKind::Float {
                    min: 0.0,
                    max: 100_000.0,
                },
                default: ParamValue::Float(RetryBudgetPolicy::default().min_per_s),
                help: "retry budget: tokens per second regardless of traffic",
            },
            ParamSpec {
                name: "retry_budget.max_tokens",
                kind: ParamKind::Float {
                    min: 1.0,
                    max: 1_000_000.0,
                },
                default: ParamValue::Float(RetryBudgetPolicy::default().max_tokens),
                help: "retry budget: the most tokens a client saves up",
            },
        ]
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![
            KnobSpec {
                name: "service-time".into(),
                kind: KnobKind::Value {
                    min: 1.0,
                    max: 10_000.0,
                    default: 40.0,
                },
                help: "milliseconds per request on the server (a slow dependency, a bad deploy)"
                    .into(),
            },
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
        let clients = p.int("clients")?;
        let timeout = p.duration("timeout")?;
        let deadline = p.duration("deadline")?;
        let horizon = p.duration("horizon")?;
        if horizon < timeout.max(deadline) * 10 {
            return Err(ParamError::new(format!(
                "`horizon` must be at least 10× the longest timeout ({:?}); got {:?}",
                timeout.max(deadline),
                horizon
            )));
        }
        let server = PoolConfig {
            workers: p.int("workers")? as usize,
            service_time: p.duration("service_time")?,
            pressure: 0.0,
        };
        let layout = Layout {
            hosts: vec![SERVER.to_string()],
            clients: (1..=clients).map(|i| format!("client-{i}")).collect(),
            rate: p.float("rate")?,
            deadline,
            warmup: p.duration("warmup")?,
            horizon,
            recovers_within: Duration::from_secs(30),
            run_limit: Duration::from_secs(3600),
            tick: ms(10),
            min_latency: ms(1),
            max_latency: ms(10),
        };
        Ok(Box::new(RetryStormSystem {
            controls: Arc::new(PoolControls::new(&server)),
            server_stats: Arc::new(PoolStats::default()),
            client_stats: (0..clients)
                .map(|_| Arc::new(ClientStats::default()))
                .collect(),
            policy: ClientPolicy {
                timeout,
                retries: p.int("retries")? as u32,
                backoff: p.duration("backoff")?,
                budget: None,
            },
            budget: match p.choice("mitigation")? {
                "retry-budget" => Some(RetryBudgetPolicy {
                    ratio: p.float("retry_budget.ratio")?,
                    min_per_s: p.float("retry_budget.min_per_s")?,
                    max_tokens: p.float("retry_budget.max_tokens")?,
                }),
                _ => None,
            },
            server,
            layout,
        }))
    }
}

struct RetryStormSystem {
    layout: Layout,
    server: PoolConfig,
    controls: Arc<PoolControls>,
    server_stats: Arc<PoolStats>,
    client_stats: Vec<Arc<ClientStats>>,
    policy: ClientPolicy,
    /// Each client host gets its own budget under this policy.
    budget: Option<RetryBudgetPolicy>,
}

struct StormClient(RetryClient);

impl Client for StormClient {
    fn call(&self, key: u64) -> LocalFuture<'_, Result<(), CallFailure>> {
        Box::pin(async move {
            self.0.call(key).await.map_err(|e| match e {
                CallError::TimedOut { .. } => CallFailure::Timeout,
                CallError::Failed { .. } => CallFailure::Error,
            })
        })
    }
}

impl System for RetryStormSystem {
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
            Box::pin(async move { Ok(serve(PORT, config, controls, stats).await?) })
        })
    }

    fn client(&self, client: &str) -> Rc<dyn Client> {
        let index = self
            .layout
            .clients
            .iter()
            .position(|c| c == client)
            .unwrap_or(0);
        let policy = ClientPolicy {
            budget: self.budget.map(|b| Arc::new(RetryBudget::new(b))),
            ..self.policy.clone()
        };
        Rc::new(StormClient(RetryClient::new(
            format!("{SERVER}:{PORT}"),
            policy,
            self.client_stats[index].clone(),
        )))
    }

    fn set_knob(&self, knob: &str, value: Option<f64>) {
        match (knob, value) {
            ("service-time", Some(v)) => self
                .controls
                .set_service_time(Duration::from_secs_f64(v / 1000.0)),
            ("queue-flush", None) => self.controls.flush_queue(),
            _ => tracing::warn!(
                knob,
                ?value,
                "ignored a knob this scenario does not declare"
            ),
        }
    }

    fn scrape(&self) -> Scrape {
        let sum = |f: fn(&ClientStats) -> u64| self.client_stats.iter().map(|s| f(s)).sum::<u64>();
        Scrape {
            attempts: sum(|s| s.attempts.load(Ordering::Relaxed)),
            gauges: vec![
                (
                    "queue_depth",
                    self.server_stats.queue_depth.load(Ordering::Relaxed) as f64,
                ),
                (
                    "late_responses",
                    sum(|s| s.late_responses.load(Ordering::Relaxed)) as f64,
                ),
                (
                    "connects",
                    sum(|s| s.connects.load(Ordering::Relaxed)) as f64,
                ),
                (
                    "retries_refused",
                    sum(|s| s.retries_refused.load(Ordering::Relaxed)) as f64,
                ),
            ],
        }
    }
}
