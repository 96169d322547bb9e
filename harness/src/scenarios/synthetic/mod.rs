//! `synthetic`: a family of generated systems, one per `instance` (any
//! `u64`), wired from the parts every built-in is made of
//! ([`hormesis_sut::synthetic`] nodes: worker pools, thread limits,
//! look-aside caches, per-tenant tokens, retrying clients with timeouts,
//! backoffs and keepalives, sharded fan-out calls) into 1-3 tiers of 2-8
//! hosts with 1-3 client hosts. [`Design`] draws the instance; `hormesis
//! scenarios --scenario synthetic --set instance=N` prints it.
//!
//! The family exists to develop and judge the explorer on systems nobody
//! tuned it to: each instance is built around one sustaining mechanism,
//! but where (and whether) it tips follows from the drawn sizes and
//! policies, not from anything that names a fault.

pub mod design;

pub use design::{Design, Mechanism};

use super::common;
use crate::scenario::{
    Client, HostSoftware, Layout, LocalFuture, ParamError, ParamKind, ParamSpec, ParamValue,
    Params, Scenario, Scrape, System,
};
use hormesis_faults::{KnobKind, KnobSpec};
use hormesis_sut::hot_shard::{Routing, ShardedClient};
use hormesis_sut::primitives::{RetryBudget, RetryBudgetPolicy};
use hormesis_sut::rpc::{ClientPolicy, ClientStats, Keepalive, OnDisconnect, PoolConfig};
use hormesis_sut::synthetic::{
    self as node, CacheStage, Dependency, LeaseStage, NodeConfig, NodeState,
};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Synthetic;

const PORT: u16 = 7000;
const CACHE_FLUSH: &str = "cache-flush";
const REVOKE_TOKENS: &str = "revoke-tokens";
const PAUSE_RETRIES: &str = "pause-retries";
const RELIEVE_PRESSURE: &str = "relieve-pressure";
const RESTORE_CACHES: &str = "restore-caches";
const RESTORE_TOKENS: &str = "restore-tokens";
const FLUSH_QUEUES: &str = "flush-queues";

impl Scenario for Synthetic {
    fn name(&self) -> &'static str {
        "synthetic"
    }

    fn description(&self) -> &'static str {
        "a generated system per `instance` (any u64): tiers of worker pools, caches, tokens and thread limits behind retrying clients; `scenarios --scenario synthetic --set instance=N` describes one"
    }

    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "instance",
                kind: ParamKind::Int {
                    min: 0,
                    max: u64::MAX,
                },
                default: ParamValue::Int(1),
                help: "which generated system: its topology, sizes and policies are drawn from this number",
            },
            common::float(
                "load",
                1.0,
                0.01,
                10.0,
                "offered load as a multiple of the instance's own rate (which puts its weak spot at 40-70 % utilisation)",
            ),
            common::duration(
                "warmup",
                common::ms(30_000),
                common::ms(5_000),
                common::ms(600_000),
                "baseline before faults (and t_e of a run without faults)",
            ),
            common::duration(
                "horizon",
                common::ms(60_000),
                common::ms(15_000),
                common::ms(3_600_000),
                "H: how long recovery is watched after the trigger (at least 10× the clients' deadline)",
            ),
        ]
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        knobs(&Design::generate(1))
    }

    fn knobs_for(&self, params: &Params) -> Vec<KnobSpec> {
        match params.int("instance") {
            Ok(instance) => knobs(&Design::generate(instance)),
            Err(_) => self.knobs(),
        }
    }

    fn remedies(&self, params: &Params) -> Vec<KnobSpec> {
        match params.int("instance") {
            Ok(instance) => remedies(&Design::generate(instance)),
            Err(_) => Vec::new(),
        }
    }

    fn describe(&self, params: &Params) -> Option<String> {
        let design = Design::generate(params.int("instance").ok()?);
        Some(design.describe(params.float("load").unwrap_or(1.0)))
    }

    /// No documented trigger: where an instance tips is what the explorer
    /// and the ground-truth bench find out.
    fn trigger(&self) -> Vec<String> {
        Vec::new()
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        let design = Design::generate(p.int("instance")?);
        let load = p.float("load")?;
        let horizon = p.duration("horizon")?;
        let longest = design.deadline.max(design.client.timeout);
        if horizon < longest * 10 {
            return Err(ParamError::new(format!(
                "`horizon` must be at least 10× instance {}'s client deadline ({:?}); got {:?}",
                design.instance, longest, horizon
            )));
        }
        let warmup = p.duration("warmup")?;
        let clients = design.client_hosts();
        let layout = Layout {
            hosts: design.hosts(),
            clients: clients.clone(),
            rate: design.rate * load,
            deadline: design.deadline,
            warmup,
            horizon,
            recovers_within: Duration::from_secs(30),
            run_limit: Duration::from_secs(3600).max(warmup + horizon + common::ms(600_000)),
            tick: common::ms(10),
            min_latency: common::ms(1),
            max_latency: common::ms(10),
        };
        let retries_paused = Arc::new(AtomicBool::new(false));
        let hosts = design
            .services
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                let config = node_config(&design, i);
                let retries_paused = retries_paused.clone();
                s.hosts().into_iter().map(move |name| Host {
                    service: i,
                    state: NodeState {
                        retries_paused: retries_paused.clone(),
                        ..NodeState::new(&config)
                    },
                    config: config.clone(),
                    name,
                })
            })
            .collect();
        Ok(Box::new(SyntheticSystem {
            retries_paused,
            layout,
            client_stats: common::client_stats(clients.len()),
            gauges: gauge_names(&design),
            hosts,
            design,
        }))
    }
}

fn knobs(design: &Design) -> Vec<KnobSpec> {
    let mut knobs: Vec<KnobSpec> = design
        .services
        .iter()
        .map(|s| KnobSpec {
            name: format!("slow-{}", s.name),
            kind: KnobKind::Value {
                min: 1.0,
                max: 20.0,
                default: 1.0,
            },
            help: format!(
                "{}'s service time as a multiple of its configured {:?} (a bad deploy, a noisy neighbour)",
                s.name, s.service_time
            ),
        })
        .collect();
    if design.services.iter().any(|s| s.cache.is_some()) {
        knobs.push(KnobSpec {
            name: CACHE_FLUSH.into(),
            kind: KnobKind::Action,
            help: "empty every look-aside cache (an operator's FLUSHALL)".into(),
        });
    }
    if design.services.iter().any(|s| s.lease.is_some()) {
        knobs.push(KnobSpec {
            name: REVOKE_TOKENS.into(),
            kind: KnobKind::Action,
            help: "drop every tenant's token at once (a key rotation)".into(),
        });
    }
    knobs
}

/// One remedy per loop an instance can hold, each restoring one part of
/// the system to its steady state or cutting one feedback, so that a
/// diagnosis can be checked by intervention (scripts/diagnosis.py).
fn remedies(design: &Design) -> Vec<KnobSpec> {
    let switch = |name: &str, help: &str| KnobSpec {
        name: name.into(),
        kind: KnobKind::Value {
            min: 0.0,
            max: 1.0,
            default: 0.0,
        },
        help: help.into(),
    };
    let action = |name: &str, help: &str| KnobSpec {
        name: name.into(),
        kind: KnobKind::Action,
        help: help.into(),
    };
    let mut remedies = vec![
        switch(
            PAUSE_RETRIES,
            "1: no caller retries, the clients' nor any service's (cuts retry-amplification); 0: as configured",
        ),
        action(
            FLUSH_QUEUES,
            "every pool drops its queued jobs (cuts a backlog)",
        ),
    ];
    if design.services.iter().any(|s| s.pressure > 0.0) {
        remedies.push(switch(
            RELIEVE_PRESSURE,
            "1: a long queue slows no pool (cuts memory-pressure); 0: as configured",
        ));
    }
    if design.services.iter().any(|s| s.cache.is_some()) {
        remedies.push(action(
            RESTORE_CACHES,
            "every cache back to its steady state, no warmer (cuts cache-refill)",
        ));
    }
    if design.services.iter().any(|s| s.lease.is_some()) {
        remedies.push(action(
            RESTORE_TOKENS,
            "every service's tokens back to their steady state (cuts token-herd)",
        ));
    }
    remedies
}

fn policy(c: &design::Caller) -> ClientPolicy {
    ClientPolicy {
        timeout: c.timeout,
        retries: c.retries,
        backoff: c.backoff,
        budget: c.budget.map(|(ratio, min_per_s)| {
            Arc::new(RetryBudget::new(RetryBudgetPolicy {
                ratio,
                min_per_s,
                max_tokens: 20.0,
            }))
        }),
        keepalive: c
            .keepalive
            .map(|(interval, timeout)| Keepalive { interval, timeout }),
        connect: None,
    }
}

fn routing(s: &design::Service) -> Routing {
    Routing {
        shards: s.shards,
        hot: s.hot,
        hot_share: s.hot_share,
    }
}

fn node_config(design: &Design, i: usize) -> NodeConfig {
    let s = &design.services[i];
    let address = |to: usize| {
        design.services[to]
            .hosts()
            .into_iter()
            .map(|h| format!("{h}:{PORT}"))
            .collect::<Vec<_>>()
    };
    NodeConfig {
        port: PORT,
        pool: PoolConfig {
            workers: s.workers,
            service_time: s.service_time,
            pressure: s.pressure,
        },
        threads: s.threads,
        lease: s.lease.as_ref().map(|l| LeaseStage {
            tenants: l.tenants,
            ttl: l.ttl,
            live: l.live,
            coalesce: l.coalesce,
            auth: address(l.auth).remove(0),
            policy: policy(&l.caller),
        }),
        cache: s.cache.as_ref().map(|c| CacheStage {
            keyspace: c.keyspace,
            ttl: c.ttl,
            live: 1.0 - c.miss_ratio,
        }),
        calls: s
            .calls
            .iter()
            .map(|c| Dependency {
                shards: address(c.to),
                routing: routing(&design.services[c.to]),
                policy: policy(&c.caller),
            })
            .collect(),
        on_disconnect: if s.cancel_on_disconnect {
            OnDisconnect::Cancel
        } else {
            OnDisconnect::Finish
        },
    }
}

struct Host {
    name: String,
    service: usize,
    config: NodeConfig,
    state: NodeState,
}

/// One service's gauge names.
struct Gauges {
    queue: &'static str,
    busy: &'static str,
    served: &'static str,
    waiting: &'static str,
    hits: &'static str,
    misses: &'static str,
    refreshes: &'static str,
    refresh_failures: &'static str,
    attempts: &'static str,
}

/// A gauge name as the `&'static str` a scrape carries. Names come from a
/// finite vocabulary (service names × metrics), so each distinct one is
/// allocated once for the life of the process.
fn interned(name: String) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

fn gauge_names(design: &Design) -> Vec<Gauges> {
    design
        .services
        .iter()
        .map(|s| {
            let n = |metric: &str| interned(format!("{}_{metric}", s.name));
            Gauges {
                queue: n("queue"),
                busy: n("busy"),
                served: n("served"),
                waiting: n("waiting_for_thread"),
                hits: n("cache_hits"),
                misses: n("cache_misses"),
                refreshes: n("refreshes"),
                refresh_failures: n("refresh_failures"),
                attempts: n("attempts"),
            }
        })
        .collect()
}

struct SyntheticSystem {
    /// The `pause-retries` remedy's switch, shared by every client.
    retries_paused: Arc<AtomicBool>,
    layout: Layout,
    design: Design,
    hosts: Vec<Host>,
    client_stats: Vec<Arc<ClientStats>>,
    gauges: Vec<Gauges>,
}

impl SyntheticSystem {
    fn shards(&self, service: usize) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(move |h| h.service == service)
    }

    fn sum(&self, service: usize, f: impl Fn(&Host) -> &AtomicU64) -> f64 {
        self.shards(service)
            .map(|h| f(h).load(Ordering::Relaxed) as f64)
            .sum()
    }
}

impl System for SyntheticSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, host: &str) -> HostSoftware {
        let found = self
            .hosts
            .iter()
            .find(|h| h.name == host)
            .map(|h| (h.config.clone(), h.state.clone()));
        let host = host.to_string();
        Rc::new(move || {
            let (found, host) = (found.clone(), host.clone());
            Box::pin(async move {
                match found {
                    Some((config, state)) => Ok(node::serve_node(config, state).await?),
                    None => Err(format!("no such host in this instance: {host:?}").into()),
                }
            })
        })
    }

    fn client(&self, client: &str) -> Rc<dyn Client> {
        let index = self
            .layout
            .clients
            .iter()
            .position(|c| c == client)
            .unwrap_or(0);
        let entry = &self.design.services[0];
        let servers: Vec<String> = entry
            .hosts()
            .into_iter()
            .map(|h| format!("{h}:{PORT}"))
            .collect();
        Rc::new(EntryClient(
            ShardedClient::new(
                routing(entry),
                &servers,
                policy(&self.design.client),
                self.client_stats[index].clone(),
            )
            .with_retry_pause(self.retries_paused.clone()),
        ))
    }

    fn set_knob(&self, knob: &str, value: Option<f64>) {
        match (knob, value) {
            (CACHE_FLUSH, None) => {
                for cache in self.hosts.iter().filter_map(|h| h.state.cache.as_ref()) {
                    cache.flush();
                }
            }
            (REVOKE_TOKENS, None) => {
                for lease in self.hosts.iter().filter_map(|h| h.state.lease.as_ref()) {
                    lease.revoke();
                }
            }
            (PAUSE_RETRIES, Some(on)) => self.retries_paused.store(on >= 0.5, Ordering::Relaxed),
            (RELIEVE_PRESSURE, Some(on)) => {
                for h in &self.hosts {
                    h.state.controls.pause_pressure(on >= 0.5);
                }
            }
            (FLUSH_QUEUES, None) => {
                for h in &self.hosts {
                    h.state.controls.flush_queue();
                }
            }
            (RESTORE_CACHES, None) => {
                for h in &self.hosts {
                    if let (Some(stage), Some(memory)) = (&h.config.cache, &h.state.cache) {
                        memory.restore_steady(stage.ttl, stage.live);
                    }
                }
            }
            (RESTORE_TOKENS, None) => {
                for h in &self.hosts {
                    if let (Some(stage), Some(memory)) = (&h.config.lease, &h.state.lease) {
                        memory.restore_steady(stage.ttl, stage.live);
                    }
                }
            }
            (_, Some(factor)) => {
                let service = knob
                    .strip_prefix("slow-")
                    .and_then(|name| self.design.services.iter().position(|s| s.name == name));
                match service {
                    Some(i) => {
                        let base = self.design.services[i].service_time;
                        for h in self.shards(i) {
                            h.state
                                .controls
                                .set_service_time(base.mul_f64(factor.max(0.0)));
                        }
                    }
                    None => common::ignore_unknown_knob(knob, value),
                }
            }
            _ => common::ignore_unknown_knob(knob, value),
        }
    }

    fn scrape(&self) -> Scrape {
        let mut gauges = Vec::new();
        for (i, s) in self.design.services.iter().enumerate() {
            let g = &self.gauges[i];
            gauges.push((g.queue, self.sum(i, |h| &h.state.pool.queue_depth)));
            gauges.push((g.busy, self.sum(i, |h| &h.state.pool.in_service)));
            gauges.push((g.served, self.sum(i, |h| &h.state.pool.served)));
            if s.threads.is_some() {
                gauges.push((
                    g.waiting,
                    self.sum(i, |h| &h.state.stats.waiting_for_thread),
                ));
            }
            if s.cache.is_some() {
                gauges.push((g.hits, self.sum(i, |h| &h.state.stats.cache_hits)));
                gauges.push((g.misses, self.sum(i, |h| &h.state.stats.cache_misses)));
            }
            if s.lease.is_some() {
                gauges.push((g.refreshes, self.sum(i, |h| &h.state.stats.refreshes)));
                gauges.push((
                    g.refresh_failures,
                    self.sum(i, |h| &h.state.stats.refresh_failures),
                ));
            }
            if !s.calls.is_empty() || s.lease.is_some() {
                gauges.push((g.attempts, self.sum(i, |h| &h.state.stats.clients.attempts)));
            }
        }
        gauges.extend(common::client_gauges(&self.client_stats));
        Scrape {
            attempts: common::attempts(&self.client_stats),
            gauges,
        }
    }
}

struct EntryClient(ShardedClient);

impl Client for EntryClient {
    fn call(&self, key: u64) -> LocalFuture<'_, Result<(), crate::scenario::CallFailure>> {
        Box::pin(async move { self.0.call(key).await.map_err(common::call_failure) })
    }
}
