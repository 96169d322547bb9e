//! What the built-in scenarios share: parameter builders, the client
//! workload parameters, and the adapter from an RPC client to [`Client`].

use crate::scenario::{
    CallFailure, Client, HostSoftware, Layout, LocalFuture, ParamError, ParamKind, ParamSpec,
    ParamValue, Params,
};
use hormesis_faults::{KnobKind, KnobSpec};
use hormesis_sut::primitives::{
    Autoscaler, AutoscalerPolicy, ConcurrencyLimitPolicy, RetryBudgetPolicy,
};
use hormesis_sut::rpc::{
    self, CallError, ClientPolicy, ClientStats, PoolConfig, PoolControls, PoolStats, RetryClient,
    WorkerPool,
};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

pub fn float(
    name: &'static str,
    default: f64,
    min: f64,
    max: f64,
    help: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Float { min, max },
        default: ParamValue::Float(default),
        help,
    }
}

pub fn int(name: &'static str, default: u64, min: u64, max: u64, help: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Int { min, max },
        default: ParamValue::Int(default),
        help,
    }
}

pub fn duration(
    name: &'static str,
    default: Duration,
    min: Duration,
    max: Duration,
    help: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Duration { min, max },
        default: ParamValue::Duration(default),
        help,
    }
}

/// `workers` (8) and `service_time` (40 ms): a FIFO server's capacity.
pub fn server_pool_params() -> [ParamSpec; 2] {
    [
        int(
            "workers",
            8,
            1,
            256,
            "requests the server serves in parallel",
        ),
        duration(
            "service_time",
            ms(40),
            ms(1),
            ms(10_000),
            "time one worker spends on one request",
        ),
    ]
}

pub fn mitigation(options: &'static [&'static str], help: &'static str) -> ParamSpec {
    ParamSpec {
        name: "mitigation",
        kind: ParamKind::Choice { options },
        default: ParamValue::Choice("none".into()),
        help,
    }
}

/// Defaults of the client-side parameters every scenario has.
pub struct WorkloadDefaults {
    pub rate: f64,
    pub clients: u64,
    pub timeout: Duration,
    pub retries: u64,
    pub deadline: Duration,
    pub horizon: Duration,
}

/// `rate`, `clients`, `timeout`, `retries`, `backoff`, `deadline`, `warmup`, `horizon`.
pub fn workload_params(d: WorkloadDefaults) -> Vec<ParamSpec> {
    vec![
        float(
            "rate",
            d.rate,
            0.1,
            100_000.0,
            "offered load, logical requests/s over all clients (Poisson); under ~3.5 needs a longer warmup and horizon, which `run` names",
        ),
        int("clients", d.clients, 1, 32, "client hosts sharing the load"),
        duration(
            "timeout",
            d.timeout,
            ms(10),
            ms(60_000),
            "client timeout per attempt",
        ),
        int(
            "retries",
            d.retries,
            0,
            20,
            "client retries after a timed-out or failed attempt",
        ),
        duration(
            "backoff",
            ms(0),
            ms(0),
            ms(60_000),
            "pause before each retry",
        ),
        duration(
            "deadline",
            d.deadline,
            ms(10),
            ms(600_000),
            "a logical request not answered by then counts as timed out",
        ),
        duration(
            "warmup",
            ms(30_000),
            ms(5_000),
            ms(600_000),
            "baseline before faults (and t_e of a run without faults)",
        ),
        duration(
            "horizon",
            d.horizon,
            ms(15_000),
            ms(3_600_000),
            "H: how long recovery is watched after the trigger",
        ),
    ]
}

/// The client-side parameters, read back and checked.
pub struct Workload {
    pub clients: Vec<String>,
    pub rate: f64,
    pub policy: ClientPolicy,
    pub deadline: Duration,
    pub warmup: Duration,
    pub horizon: Duration,
}

impl Workload {
    pub fn from_params(p: &Params) -> Result<Workload, ParamError> {
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
        Ok(Workload {
            clients: (1..=p.int("clients")?)
                .map(|i| format!("client-{i}"))
                .collect(),
            rate: p.float("rate")?,
            policy: ClientPolicy {
                timeout,
                retries: p.int("retries")? as u32,
                backoff: p.duration("backoff")?,
                budget: None,
                keepalive: None,
                connect: None,
            },
            deadline,
            warmup: p.duration("warmup")?,
            horizon,
        })
    }

    /// The layout of a system with these clients and service `hosts`.
    pub fn layout(&self, hosts: &[&str], recovers_within: Duration) -> Layout {
        Layout {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            clients: self.clients.clone(),
            rate: self.rate,
            deadline: self.deadline,
            warmup: self.warmup,
            horizon: self.horizon,
            recovers_within,
            // An hour, or room for ten minutes of faults after the longest
            // warm-up and horizon the parameters allow.
            run_limit: Duration::from_secs(3600).max(self.warmup + self.horizon + ms(600_000)),
            tick: ms(10),
            min_latency: ms(1),
            max_latency: ms(10),
        }
    }

    /// The index of client host `name` (0 for an unknown name).
    pub fn index_of(&self, name: &str) -> usize {
        self.clients.iter().position(|c| c == name).unwrap_or(0)
    }
}

/// `retry_budget.ratio`, `.min_per_s`, `.max_tokens`.
pub fn retry_budget_params() -> Vec<ParamSpec> {
    let d = RetryBudgetPolicy::default();
    vec![
        float(
            "retry_budget.ratio",
            d.ratio,
            0.0,
            100.0,
            "retry budget: tokens per first attempt (the long-run retry fraction)",
        ),
        float(
            "retry_budget.min_per_s",
            d.min_per_s,
            0.0,
            100_000.0,
            "retry budget: tokens per second regardless of traffic",
        ),
        float(
            "retry_budget.max_tokens",
            d.max_tokens,
            1.0,
            1_000_000.0,
            "retry budget: the most tokens a client saves up",
        ),
    ]
}

pub fn retry_budget_policy(p: &Params) -> Result<RetryBudgetPolicy, ParamError> {
    Ok(RetryBudgetPolicy {
        ratio: p.float("retry_budget.ratio")?,
        min_per_s: p.float("retry_budget.min_per_s")?,
        max_tokens: p.float("retry_budget.max_tokens")?,
    })
}

/// `concurrency.initial`, `.max`, `.tolerance`, `.backoff`.
pub fn concurrency_params() -> Vec<ParamSpec> {
    let d = ConcurrencyLimitPolicy::default();
    vec![
        float(
            "concurrency.initial",
            d.initial,
            1.0,
            10_000.0,
            "adaptive concurrency: the limit before any sample",
        ),
        float(
            "concurrency.max",
            d.max,
            1.0,
            100_000.0,
            "adaptive concurrency: the highest limit",
        ),
        float(
            "concurrency.tolerance",
            d.tolerance,
            1.0,
            100.0,
            "adaptive concurrency: latency over this × the no-load latency is congestion",
        ),
        float(
            "concurrency.backoff",
            d.backoff,
            0.01,
            0.99,
            "adaptive concurrency: the factor applied to the limit on congestion",
        ),
    ]
}

pub fn concurrency_policy(p: &Params) -> Result<ConcurrencyLimitPolicy, ParamError> {
    Ok(ConcurrencyLimitPolicy {
        initial: p.float("concurrency.initial")?,
        max: p.float("concurrency.max")?,
        tolerance: p.float("concurrency.tolerance")?,
        backoff: p.float("concurrency.backoff")?,
        ..ConcurrencyLimitPolicy::default()
    })
}

/// A [`RetryClient`] to `server` (`host:port`) as the harness's [`Client`].
pub fn rpc_client(server: String, policy: ClientPolicy, stats: Arc<ClientStats>) -> Rc<dyn Client> {
    Rc::new(RpcClient(RetryClient::new(server, policy, stats)))
}

struct RpcClient(RetryClient);

impl Client for RpcClient {
    fn call(&self, key: u64) -> LocalFuture<'_, Result<(), CallFailure>> {
        Box::pin(async move { self.0.call(key).await.map_err(call_failure) })
    }
}

/// What the harness counts for a failed RPC call.
pub fn call_failure(e: CallError) -> CallFailure {
    match e {
        CallError::TimedOut { .. } => CallFailure::Timeout,
        CallError::Failed { .. } => CallFailure::Error,
    }
}

/// A value knob in milliseconds per request, default `default_ms`.
pub fn service_time_knob(name: &str, default_ms: f64, help: &str) -> KnobSpec {
    KnobSpec {
        name: name.into(),
        kind: KnobKind::Value {
            min: 1.0,
            max: 10_000.0,
            default: default_ms,
        },
        help: help.into(),
    }
}

/// A pool's configured service time as a knob value in milliseconds: where
/// a service-time fault returns it (`System::knob_value`).
pub fn service_time_ms(pool: &PoolConfig) -> f64 {
    pool.service_time.as_nanos() as f64 / 1e6
}

/// Sets a pool's service time from a knob value in milliseconds.
pub fn set_service_time_ms(controls: &PoolControls, ms: f64) {
    controls.set_service_time(Duration::from_secs_f64(ms / 1000.0));
}

pub fn ignore_unknown_knob(knob: &str, value: Option<f64>) {
    tracing::warn!(
        knob,
        ?value,
        "ignored a knob this scenario does not declare"
    );
}

/// Fresh counters for each of `n` client hosts.
pub fn client_stats(n: usize) -> Vec<Arc<ClientStats>> {
    (0..n).map(|_| Arc::new(ClientStats::default())).collect()
}

/// Attempts sent by all clients so far.
pub fn attempts(stats: &[Arc<ClientStats>]) -> u64 {
    stats
        .iter()
        .map(|s| s.attempts.load(Ordering::Relaxed))
        .sum()
}

/// A gauge's value, for scrapes.
pub fn gauge(a: &AtomicU64) -> f64 {
    a.load(Ordering::Relaxed) as f64
}

/// What retrying clients export, summed over the client hosts:
/// `late_responses`, `connects` and `retries_refused` (counters).
pub fn client_gauges(stats: &[Arc<ClientStats>]) -> [(&'static str, f64); 3] {
    let sum = |f: fn(&ClientStats) -> &AtomicU64| stats.iter().map(|s| gauge(f(s))).sum::<f64>();
    [
        ("late_responses", sum(|s| &s.late_responses)),
        ("connects", sum(|s| &s.connects)),
        ("retries_refused", sum(|s| &s.retries_refused)),
    ]
}

/// A host that serves `port` with a FIFO worker pool, sized by `autoscaler`
/// when one is given. Every (re)start begins with an empty queue and the
/// configured workers: an autoscaler's additions die with the process.
pub fn pool_host(
    port: u16,
    config: PoolConfig,
    controls: Arc<PoolControls>,
    stats: Arc<PoolStats>,
    autoscaler: Option<AutoscalerPolicy>,
) -> HostSoftware {
    Rc::new(move || {
        let (config, controls, stats) = (config.clone(), controls.clone(), stats.clone());
        Box::pin(async move {
            controls.set_workers(config.workers);
            let pool = WorkerPool::start(config, controls, stats);
            if let Some(policy) = autoscaler {
                tokio::spawn(pool.clone().autoscale(Autoscaler::new(policy)));
            }
            Ok(rpc::serve(port, Arc::new(pool)).await?)
        })
    })
}
