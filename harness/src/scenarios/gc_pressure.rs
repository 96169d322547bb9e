//! `gc-pressure`: a server whose service time grows with its queue (memory
//! pressure), so a backlog past a critical length sustains itself without
//! any retries (Huang et al., OSDI 2022, §5.1).
//!
//! With the defaults the server has 8 workers at 40 ms (200 req/s with an
//! empty queue), each queued request adds 0.2 % to every service time, and
//! it is offered 120 req/s: capacity falls to the offered load at a queue of
//! about 333. A 3× spike for 10 s leaves ~1600 queued: past the critical
//! length, the queue keeps growing after the spike. `mitigation=degrader`
//! sheds optional work (half of each request) and then requests while the
//! queue is long, which brings it back under the critical length.

use super::common::{self, ms, Workload, WorkloadDefaults};
use crate::scenario::{
    Client, HostSoftware, Layout, ParamError, ParamSpec, Params, Scenario, Scrape, System,
};
use hormesis_faults::KnobSpec;
use hormesis_sut::gc_pressure::{serve_gc, GcServerConfig, GcServerStats};
use hormesis_sut::primitives::{Degrader, DegraderPolicy};
use hormesis_sut::rpc::{ClientStats, PoolConfig, PoolControls, PoolStats};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub struct GcPressure;

pub const MITIGATIONS: &[&str] = &["none", "degrader"];

const SERVER: &str = "server";
const PORT: u16 = 7000;

impl Scenario for GcPressure {
    fn name(&self) -> &'static str {
        "gc-pressure"
    }

    fn description(&self) -> &'static str {
        "a server that slows down as its queue grows (memory pressure): past a critical backlog the queue sustains itself"
    }

    fn params(&self) -> Vec<ParamSpec> {
        gc_params(120.0)
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        vec![common::service_time_knob(
            "service-time",
            40.0,
            "milliseconds per request with an empty queue (a slow dependency)",
        )]
    }

    fn trigger(&self) -> Vec<String> {
        vec!["load-spike:at=60s,for=10s,factor=3".into()]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        build(p)
    }
}

/// `gc-headroom`: the same server sized the way a careful team sizes it,
/// offered a quarter of its capacity (issue 15, target c).
///
/// At 47 req/s against 200 the queue's critical length is about 1600:
/// only a load spike of 4.5× or more for 13 s or more builds that backlog
/// (`hormesis map --scenario gc-headroom --template load-spike`); no other
/// fault the explorer draws tips it.
pub struct GcHeadroom;

impl Scenario for GcHeadroom {
    fn name(&self) -> &'static str {
        "gc-headroom"
    }

    fn description(&self) -> &'static str {
        "the gc-pressure server at a quarter of its capacity: only a long spike of 4.5x or more tips it"
    }

    fn params(&self) -> Vec<ParamSpec> {
        gc_params(47.0)
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        GcPressure.knobs()
    }

    fn trigger(&self) -> Vec<String> {
        vec!["load-spike:at=60s,for=25s,factor=5".into()]
    }

    fn build(&self, p: &Params) -> Result<Box<dyn System>, ParamError> {
        build(p)
    }
}

fn gc_params(rate: f64) -> Vec<ParamSpec> {
    let mut params = common::workload_params(WorkloadDefaults {
        rate,
        clients: 2,
        timeout: ms(2000),
        retries: 0,
        deadline: ms(5000),
        horizon: ms(60_000),
    });
    let d = DegraderPolicy::default();
    params.extend([
        common::int(
            "workers",
            8,
            1,
            256,
            "requests the server serves in parallel",
        ),
        common::duration(
            "service_time",
            ms(40),
            ms(1),
            ms(10_000),
            "time one worker spends on one request with an empty queue",
        ),
        common::float(
            "pressure",
            0.002,
            0.0,
            1.0,
            "slowdown per queued request: service time × (1 + pressure × queue length)",
        ),
        common::float(
            "optional_work",
            0.5,
            0.0,
            1.0,
            "the share of each request's work that degradation may skip",
        ),
        common::mitigation(
            MITIGATIONS,
            "the adaptive primitive wired in: none, or a Defcon-style degrader driven by the queue length",
        ),
        common::float(
            "degrader.raise_above",
            d.raise_above,
            0.0,
            1_000_000.0,
            "degrader: raise the level while the queue is longer than this",
        ),
        common::float(
            "degrader.lower_below",
            d.lower_below,
            0.0,
            1_000_000.0,
            "degrader: lower it once the queue has stayed shorter than this for `degrader.hold`",
        ),
        common::duration(
            "degrader.hold",
            d.hold,
            ms(0),
            ms(600_000),
            "degrader: how long the queue must stay short before a level is lowered",
        ),
    ]);
    params
}

fn build(p: &Params) -> Result<Box<dyn System>, ParamError> {
    let workload = Workload::from_params(p)?;
    let pool = PoolConfig {
        workers: p.int("workers")? as usize,
        service_time: p.duration("service_time")?,
        pressure: p.float("pressure")?,
    };
    Ok(Box::new(GcSystem {
        layout: workload.layout(&[SERVER], Duration::from_secs(30)),
        controls: Arc::new(PoolControls::new(&pool)),
        pool_stats: Arc::new(PoolStats::default()),
        stats: Arc::new(GcServerStats::default()),
        client_stats: common::client_stats(workload.clients.len()),
        degrader: match p.choice("mitigation")? {
            "degrader" => Some(DegraderPolicy {
                raise_above: p.float("degrader.raise_above")?,
                lower_below: p.float("degrader.lower_below")?,
                hold: p.duration("degrader.hold")?,
                ..DegraderPolicy::default()
            }),
            _ => None,
        },
        config: GcServerConfig {
            port: PORT,
            pool,
            optional_work: p.float("optional_work")?,
        },
        workload,
    }))
}

struct GcSystem {
    layout: Layout,
    workload: Workload,
    config: GcServerConfig,
    controls: Arc<PoolControls>,
    pool_stats: Arc<PoolStats>,
    stats: Arc<GcServerStats>,
    client_stats: Vec<Arc<ClientStats>>,
    degrader: Option<DegraderPolicy>,
}

impl System for GcSystem {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn host_software(&self, _host: &str) -> HostSoftware {
        let (config, controls, pool_stats, stats, degrader) = (
            self.config.clone(),
            self.controls.clone(),
            self.pool_stats.clone(),
            self.stats.clone(),
            self.degrader,
        );
        Rc::new(move || {
            let (config, controls, pool_stats, stats) = (
                config.clone(),
                controls.clone(),
                pool_stats.clone(),
                stats.clone(),
            );
            // The level is process state: a restart starts at level 0.
            let degrader = degrader.map(|d| Arc::new(Degrader::new(d)));
            Box::pin(
                async move { Ok(serve_gc(config, controls, pool_stats, stats, degrader).await?) },
            )
        })
    }

    fn client(&self, client: &str) -> Rc<dyn Client> {
        common::rpc_client(
            format!("{SERVER}:{PORT}"),
            self.workload.policy.clone(),
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
        (knob == "service-time").then_some(common::service_time_ms(&self.config.pool))
    }

    fn scrape(&self) -> Scrape {
        let load = common::gauge;
        Scrape {
            attempts: common::attempts(&self.client_stats),
            gauges: vec![
                ("queue_depth", load(&self.pool_stats.queue_depth)),
                ("degrade_level", load(&self.stats.level)),
                ("shed", load(&self.stats.shed)),
                ("degraded", load(&self.stats.degraded)),
            ],
        }
    }
}
