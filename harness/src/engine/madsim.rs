//! The madsim engine: one event-driven runtime for the whole world, every
//! host a madsim node with its own address, the network madsim's. Time jumps
//! from event to event, so an idle second costs nothing; faults apply at
//! their exact simulated time, by a supervisor task that sleeps until the
//! next fault action or window end.
//!
//! Only in the madsim flavour (`--cfg madsim`), where the services' `tokio`
//! is madsim's. What each fault means here is in docs/engines.md.

use super::{close_due_windows, link_pairs, timed_actions, turn_knob, Action};
use super::{Applied, EngineError, HostFailure, SimOutcome, SimRequest};
use crate::panic_capture;
use crate::scenario::{HostSoftware, Layout, LocalFuture, Params, Scenario};
use crate::timeline::{Recorder, Timeline};
use crate::workload::{self, Arrivals, Keys, LoadProfile};
use hormesis_faults::{Event, Fault, KnobSpec, Schedule};
use hormesis_sut::net::{links, LinkCondition};
use madsim::net::NetSim;
use madsim::runtime::{Handle, Runtime};
use madsim::task::NodeId;
use madsim::time::TimeHandle;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

/// What the nodes of the running simulation start from. madsim wants a
/// node's start function to be `Send + Sync` (it may restart the node), but
/// a host's software is single-threaded (`Rc`), like the world it runs in:
/// the start function carries only the host's name and finds its software
/// here, on the one thread that runs the whole simulation.
struct World {
    software: BTreeMap<String, HostSoftware>,
    /// Each client's workload, taken by its node when it starts.
    workloads: RefCell<BTreeMap<String, LocalFuture<'static, ()>>>,
    /// Hosts whose software returned on its own.
    failures: RefCell<Vec<HostFailure>>,
    /// Shared by the client workloads and the supervisor.
    recorder: Rc<RefCell<Recorder>>,
}

thread_local! {
    static WORLD: RefCell<Option<Rc<World>>> = const { RefCell::new(None) };
}

fn world() -> Option<Rc<World>> {
    WORLD.with(|w| w.borrow().clone())
}

/// Installs the world for the length of one simulation on this thread.
struct WorldGuard;

impl WorldGuard {
    fn install(world: World) -> WorldGuard {
        links::clear();
        WORLD.with(|w| *w.borrow_mut() = Some(Rc::new(world)));
        WorldGuard
    }
}

impl Drop for WorldGuard {
    fn drop(&mut self) {
        WORLD.with(|w| w.borrow_mut().take());
        links::clear();
    }
}

fn now() -> Duration {
    TimeHandle::current().elapsed()
}

/// madsim's network settings for a layout: every link's latency is drawn
/// from the scenario's range, as on turmoil.
fn config_for(layout: &Layout) -> madsim::Config {
    let mut config = madsim::Config::default();
    // madsim draws from a half-open range; an empty one would panic.
    let max = layout
        .max_latency
        .max(layout.min_latency + Duration::from_nanos(1));
    config.net.send_latency = layout.min_latency..max;
    config
}

pub fn simulate(req: &SimRequest<'_>) -> Result<SimOutcome, EngineError> {
    let _span =
        tracing::info_span!("sim", seed = req.seed, faults = req.schedule.events.len()).entered();
    let runtime = Runtime::with_seed_and_config(req.seed, config_for(req.system.layout()));
    let _world = install_world(req);
    let _clock = crate::log::EngineClock::start();
    let _capture = panic_capture::Capture::start();
    // A panic on any node unwinds out of the runtime: madsim has no way to
    // stop one node and go on (docs/engines.md). It ends the run as an error.
    std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(supervise(req)))).map_err(
        |payload| {
            let caught = panic_capture::take();
            EngineError::Panicked {
                t_s: caught
                    .as_ref()
                    .and_then(|c| c.at)
                    .unwrap_or_default()
                    .as_secs_f64(),
                seed: req.seed,
                message: caught
                    .map(|c| c.message)
                    .unwrap_or_else(|| panic_capture::payload_message(&*payload)),
            }
        },
    )
}

/// What [`check_determinism`] runs, twice, each time on a fresh thread: a
/// built-in scenario is `'static` and `Send`, so each thread builds its own
/// system from it.
#[derive(Clone)]
pub struct OwnedRequest {
    pub scenario: &'static dyn Scenario,
    pub params: Params,
    pub knobs: Vec<KnobSpec>,
    pub schedule: Schedule,
    pub seed: u64,
    pub end: Duration,
    pub window: Duration,
}

/// madsim's own determinism check: the run is simulated twice, the second
/// time comparing every random draw (scheduling, latencies, task order)
/// against the first, so a difference is caught at the draw where it starts,
/// not only in the digest. `Err` carries madsim's account of where.
pub fn check_determinism(request: OwnedRequest) -> Result<(), String> {
    static REQUEST: Mutex<Option<OwnedRequest>> = Mutex::new(None);
    // madsim takes a plain `fn`, which cannot capture: it reads the request
    // from here. One check at a time.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let config = {
        let system = request
            .scenario
            .build(&request.params)
            .map_err(|e| e.to_string())?;
        config_for(system.layout())
    };
    let seed = request.seed;
    *REQUEST.lock().unwrap_or_else(|e| e.into_inner()) = Some(request);
    fn body() -> LocalFuture<'static, Result<(), String>> {
        let request = REQUEST
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .expect("set before the check starts");
        Box::pin(async move {
            let system = request
                .scenario
                .build(&request.params.clone().with_seed(request.seed))
                .map_err(|e| e.to_string())?;
            let req = SimRequest {
                system: system.into(),
                knobs: &request.knobs,
                schedule: &request.schedule,
                seed: request.seed,
                end: request.end,
                window: request.window,
                tick: None,
            };
            let _world = install_world(&req);
            supervise(&req).await;
            Ok(())
        })
    }
    let checked = std::panic::catch_unwind(|| Runtime::check_determinism(seed, config, body));
    REQUEST.lock().unwrap_or_else(|e| e.into_inner()).take();
    match checked {
        Ok(result) => result,
        Err(payload) => Err(panic_capture::payload_message(&*payload)),
    }
}

fn install_world(req: &SimRequest<'_>) -> WorldGuard {
    let layout = req.system.layout();
    let recorder = Rc::new(RefCell::new(Recorder::new(req.window)));
    let profile = Rc::new(LoadProfile::from_schedule(req.schedule));
    let share = layout.rate / layout.clients.len().max(1) as f64;
    let workloads = layout
        .clients
        .iter()
        .map(|client| {
            let (system, name) = (req.system.clone(), client.clone());
            let (arrivals, keys, recorder) = (
                Arrivals::new(req.seed, client, share, profile.clone()),
                Keys::new(req.seed, client),
                recorder.clone(),
            );
            let (deadline, end) = (layout.deadline, req.end);
            // The client is built inside its node, where it may connect
            // or spawn its own tasks.
            let body: LocalFuture<'static, ()> = Box::pin(async move {
                let client = system.client(&name);
                workload::drive(client, arrivals, keys, recorder, deadline, end).await
            });
            (client.clone(), body)
        })
        .collect();
    WorldGuard::install(World {
        software: layout
            .hosts
            .iter()
            .map(|h| (h.clone(), req.system.host_software(h)))
            .collect(),
        workloads: RefCell::new(workloads),
        failures: RefCell::default(),
        recorder,
    })
}

/// Host `i`'s address: 10.0.0.1 onwards, as turmoil numbers its hosts.
fn address(i: usize) -> IpAddr {
    let n = i as u32 + 1;
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n))
}

/// A service host's start function: runs its software, and records it as
/// failed if the software returns (a crash never returns: it is dropped).
fn host_start(name: String) -> impl Fn() -> LocalFuture<'static, ()> + Send + Sync + 'static {
    move || {
        let name = name.clone();
        Box::pin(async move {
            let Some(world) = world() else { return };
            let Some(software) = world.software.get(&name).cloned() else {
                return;
            };
            let message = match software().await {
                Ok(()) => "its software stopped".to_string(),
                Err(error) => format!("returned an error: {error}"),
            };
            tracing::warn!(host = %name, %message, "host failed");
            world.failures.borrow_mut().push(HostFailure {
                host: name,
                t_s: now().as_secs_f64(),
                message,
            });
        })
    }
}

/// A client host's start function: runs its share of the workload once.
fn client_start(name: String) -> impl Fn() -> LocalFuture<'static, ()> + Send + Sync + 'static {
    move || {
        let name = name.clone();
        Box::pin(async move {
            let body = world().and_then(|w| w.workloads.borrow_mut().remove(&name));
            if let Some(body) = body {
                body.await;
            }
        })
    }
}

/// The supervisor: builds the world's nodes, then sleeps from event to
/// event, closing windows and applying fault actions in time order.
async fn supervise(req: &SimRequest<'_>) -> SimOutcome {
    let layout = req.system.layout().clone();
    let handle = Handle::current();
    let net = NetSim::current();
    let nodes: Vec<String> = layout
        .hosts
        .iter()
        .chain(&layout.clients)
        .cloned()
        .collect();
    // Names resolve before any node runs, so a service can dial `server:7000`.
    for (i, name) in nodes.iter().enumerate() {
        net.add_dns_record(name, address(i));
    }
    let addresses: BTreeMap<String, IpAddr> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), address(i)))
        .collect();
    let mut ids: BTreeMap<String, NodeId> = BTreeMap::new();
    for (i, name) in nodes.iter().enumerate() {
        let builder = handle.create_node().name(name.as_str()).ip(address(i));
        let node = if layout.hosts.contains(name) {
            builder.init(host_start(name.clone())).build()
        } else {
            builder.init(client_start(name.clone())).build()
        };
        ids.insert(name.clone(), node.id());
    }
    let world = world().expect("the world is installed before the supervisor starts");
    let recorder = world.recorder.clone();
    let world_nodes = Nodes {
        names: nodes,
        ids,
        addresses,
    };

    let actions = timed_actions(req.schedule);
    let mut next_action = 0;
    let mut applied = Vec::new();
    let mut windows = Vec::new();
    let mut overloaded_at = None;
    let memory = crate::memory::Budget::start();
    loop {
        let t = now();
        crate::log::set_sim_time(t);
        close_due_windows(req, &recorder, t, &mut windows);
        if recorder.borrow().in_flight() > super::MAX_IN_FLIGHT || memory.exceeded() {
            overloaded_at = Some(t.as_secs_f64());
            break;
        }
        while let Some(&(at, action, index)) = actions.get(next_action) {
            if at > t {
                break;
            }
            next_action += 1;
            let event = &req.schedule.events[index];
            apply(req, &handle, &net, &world_nodes, event, action);
            applied.push(Applied {
                // The time it was due: the supervisor wakes at that instant,
                // give or take madsim's few-nanosecond task overheads.
                t_s: at.as_secs_f64(),
                event: index,
                action: action.name(),
                spec: event.to_spec(),
            });
            tracing::info!(event = %event, ?action, "fault");
        }
        if t >= req.end {
            break;
        }
        let window_end = req.window * (windows.len() as u32 + 1);
        let wake = actions
            .get(next_action)
            .map_or(window_end, |&(at, _, _)| at.min(window_end))
            .min(req.end);
        madsim::time::sleep(wake.saturating_sub(t)).await;
    }
    let in_flight = recorder.borrow().in_flight();
    let failures = world.failures.borrow().clone();
    SimOutcome {
        timeline: Timeline {
            window_s: req.window.as_secs_f64(),
            windows,
        },
        applied,
        failures,
        in_flight,
        overloaded_at,
    }
}

/// The world's nodes: names (services, then clients), madsim ids, addresses.
struct Nodes {
    names: Vec<String>,
    ids: BTreeMap<String, NodeId>,
    addresses: BTreeMap<String, IpAddr>,
}

fn apply(
    req: &SimRequest<'_>,
    handle: &Handle,
    net: &NetSim,
    world: &Nodes,
    event: &Event,
    action: Action,
) {
    let on = action == Action::Apply;
    let Nodes {
        names: nodes,
        ids,
        addresses,
    } = world;
    let id = |name: &str| ids[name];
    let clog = |a: &str, b: &str| {
        if on {
            net.clog_link(id(a), id(b))
        } else {
            net.unclog_link(id(a), id(b))
        }
    };
    // Per-link conditions live in the socket seam (madsim's network has one
    // latency range and loss rate for everything); both directions.
    let condition = |target, change: &dyn Fn(&mut LinkCondition)| {
        for (a, b) in link_pairs(target, nodes) {
            for (from, to) in [(&a, &b), (&b, &a)] {
                let (from, to) = (addresses[from], addresses[to]);
                let mut condition = links::get(from, to);
                change(&mut condition);
                links::set(from, to, condition);
            }
        }
    };
    match &event.fault {
        // A clogged link holds its messages: streams retry them with
        // backoff and deliver them once it is unclogged, and new
        // connections over it are refused. Partition and hold are the same
        // on madsim (docs/engines.md).
        Fault::Partition { between, oneway } => {
            for (a, b) in between.pairs() {
                clog(a, b);
                if !oneway {
                    clog(b, a);
                }
            }
        }
        Fault::Hold { between } => {
            for (a, b) in between.pairs() {
                clog(a, b);
                clog(b, a);
            }
        }
        Fault::Latency { target, delay } => condition(target, &|c| {
            c.delay = if on { *delay } else { Duration::ZERO }
        }),
        Fault::Loss { target, rate } => {
            condition(target, &|c| c.loss = if on { *rate } else { 0.0 })
        }
        Fault::Crash { host } => match (on, event.duration) {
            (true, Some(_)) => handle.kill(id(host)),
            // An instantaneous crash is a restart.
            (true, None) | (false, _) => handle.restart(id(host)),
        },
        // The workload's load profile already follows the schedule.
        Fault::LoadSpike { .. } | Fault::LoadStep { .. } | Fault::LoadProfile { .. } => {}
        Fault::Knob { knob, value } => turn_knob(req, knob, *value, on),
    }
}
