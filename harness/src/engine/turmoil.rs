//! The turmoil engine: each host is a real tokio runtime; the network and
//! clocks are simulated and stepped one tick at a time. Faults apply between
//! ticks, at the first tick boundary at or after their time.

use super::{close_due_windows, link_pairs, timed_actions, turn_knob, Action};
use super::{Applied, EngineError, HostFailure, SimOutcome, SimRequest};
use crate::panic_capture;
use crate::timeline::{Recorder, Timeline};
use crate::workload::{self, Arrivals, Keys, LoadProfile};
use hormesis_faults::{Event, Fault};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

/// A fixed epoch: turmoil's default is the wall clock, which would leak into
/// `SystemTime` inside the simulation.
const EPOCH_SECS: u64 = 1_700_000_000;

pub fn simulate(req: &SimRequest<'_>) -> Result<SimOutcome, EngineError> {
    // Logged events carry this run's seed and its number of faults (0: a control).
    let _span =
        tracing::info_span!("sim", seed = req.seed, faults = req.schedule.events.len()).entered();
    let layout = req.system.layout().clone();
    const TCP_CAPACITY: usize = 1 << 16;
    let mut sim = turmoil::Builder::new()
        .tick_duration(req.tick.unwrap_or(layout.tick))
        .simulation_duration(req.end + Duration::from_secs(3600))
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .rng_seed(req.seed)
        .min_message_latency(layout.min_latency)
        .max_message_latency(layout.max_latency)
        // turmoil panics the whole simulation when a listen backlog or a
        // socket buffer passes this (default 64); a reconnect storm after a
        // fault reaches that. Real kernels queue thousands (somaxconn 4096)
        // and drop beyond; a large bound keeps such storms simulable and
        // changes nothing below it.
        .tcp_capacity(TCP_CAPACITY)
        // A client's port is free to turmoil once its own side closes,
        // though the server may still hold that connection (a worker
        // finishing an abandoned request); reusing it panics the server
        // host ("already connected"). A kernel would not hand that port
        // out; the widest range puts such reuse 4x further off.
        .ephemeral_ports(1024..=65535)
        .build();

    // Which host each tokio runtime belongs to, so a panic can be pinned on
    // its host. A restarted host gets a new runtime and registers again.
    let runtimes: Rc<RefCell<BTreeMap<String, String>>> = Rc::default();
    let register = |runtimes: &Rc<RefCell<BTreeMap<String, String>>>, host: &str| {
        if let Some(id) = panic_capture::runtime_id() {
            runtimes.borrow_mut().insert(id, host.to_string());
        }
    };
    for host in &layout.hosts {
        let software = req.system.host_software(host);
        let (runtimes, name) = (runtimes.clone(), host.clone());
        sim.host(host.as_str(), move || {
            let body = software();
            let (runtimes, name) = (runtimes.clone(), name.clone());
            async move {
                register(&runtimes, &name);
                body.await
            }
        });
    }
    let recorder = Rc::new(RefCell::new(Recorder::new(req.window)));
    let profile = Rc::new(LoadProfile::from_schedule(req.schedule));
    let share = layout.rate / layout.clients.len().max(1) as f64;
    for client in &layout.clients {
        let arrivals = Arrivals::new(req.seed, client, share, profile.clone());
        let (keys, recorder) = (Keys::new(req.seed, client), recorder.clone());
        let (deadline, end) = (layout.deadline, req.end);
        let (runtimes, name, system) = (runtimes.clone(), client.clone(), req.system.clone());
        sim.client(client.as_str(), async move {
            register(&runtimes, &name);
            // Built inside its host, where a client may connect or spawn
            // its own tasks as it is made.
            let client = system.client(&name);
            workload::drive(client, arrivals, keys, recorder, deadline, end).await;
            Ok(())
        });
    }

    let actions = timed_actions(req.schedule);

    let nodes: Vec<String> = layout
        .hosts
        .iter()
        .chain(&layout.clients)
        .cloned()
        .collect();
    // Resolved once: the liveness check below runs every tick.
    let node_ips: Vec<std::net::IpAddr> = nodes.iter().map(|n| sim.lookup(n.as_str())).collect();
    let mut applied = Vec::new();
    let mut failures: Vec<HostFailure> = Vec::new();
    let mut down: BTreeSet<String> = BTreeSet::new();
    let mut next_action = 0;
    let mut windows = Vec::new();

    let _clock = crate::log::EngineClock::start();
    let mut overloaded_at = None;
    let memory = crate::memory::Budget::start();
    loop {
        let now = sim.elapsed();
        crate::log::set_sim_time(now);
        while let Some(&(at, action, index)) = actions.get(next_action) {
            if at > now {
                break;
            }
            next_action += 1;
            let event = &req.schedule.events[index];
            apply(&mut sim, req, &nodes, &layout, event, action, &mut down);
            applied.push(Applied {
                t_s: now.as_secs_f64(),
                event: index,
                action: action.name(),
                spec: event.to_spec(),
            });
            tracing::info!(event = %event, ?action, "fault");
        }
        if now >= req.end {
            break;
        }
        let stepped = {
            let _capture = panic_capture::Capture::start();
            std::panic::catch_unwind(AssertUnwindSafe(|| sim.step()))
        };
        match stepped {
            Ok(Ok(_all_clients_done)) => {}
            Ok(Err(error)) => {
                // A host's main task returned an error; it is found below as stopped.
                panic_capture::note(format!("returned an error: {error}"));
            }
            Err(payload) => {
                // A panic unwound out of a host's runtime. Pin it on its host,
                // stop that host as a crash would, and go on without it: the
                // rest of the system's response is the finding. (Hosts ticked
                // earlier in this step run one tick ahead from here on.)
                let caught = panic_capture::take();
                let message = caught
                    .as_ref()
                    .map(|c| c.message.clone())
                    .unwrap_or_else(|| panic_capture::payload_message(&*payload));
                // turmoil's own limit (ephemeral ports), wherever it hit.
                if message.contains("ports exhausted") {
                    return Err(EngineError::Limit {
                        t_s: now.as_secs_f64(),
                        seed: req.seed,
                        message,
                    });
                }
                let host = caught
                    .and_then(|c| c.runtime)
                    .and_then(|id| runtimes.borrow().get(&id).cloned())
                    .filter(|h| layout.hosts.contains(h));
                let Some(host) = host else {
                    return Err(EngineError::Panicked {
                        t_s: now.as_secs_f64(),
                        seed: req.seed,
                        message,
                    });
                };
                tracing::warn!(%host, %message, "host panicked");
                let stopped =
                    std::panic::catch_unwind(AssertUnwindSafe(|| sim.crash(host.as_str())));
                if stopped.is_err() {
                    return Err(EngineError::Panicked {
                        t_s: now.as_secs_f64(),
                        seed: req.seed,
                        message,
                    });
                }
                failures.push(HostFailure {
                    host,
                    t_s: now.as_secs_f64(),
                    message,
                });
            }
        }
        for (node, &ip) in nodes.iter().zip(&node_ips) {
            let reported = failures.iter().any(|f| &f.host == node);
            if !down.contains(node) && !reported && !sim.is_host_running(ip) {
                let message = panic_capture::take()
                    .map(|c| c.message)
                    .unwrap_or_else(|| "its software stopped".to_string());
                tracing::warn!(host = %node, %message, "host failed");
                failures.push(HostFailure {
                    host: node.clone(),
                    t_s: sim.elapsed().as_secs_f64(),
                    message,
                });
            }
        }
        crate::log::set_sim_time(sim.elapsed());
        let closed = windows.len();
        close_due_windows(req, &recorder, sim.elapsed(), &mut windows);
        // Checked once a window, like madsim's engine, not every tick.
        if windows.len() > closed
            && (recorder.borrow().in_flight() > super::MAX_IN_FLIGHT || memory.exceeded())
        {
            overloaded_at = Some(sim.elapsed().as_secs_f64());
            break;
        }
    }
    let in_flight = recorder.borrow().in_flight();
    Ok(SimOutcome {
        timeline: Timeline {
            window_s: req.window.as_secs_f64(),
            windows,
        },
        applied,
        failures,
        in_flight,
        overloaded_at,
    })
}

fn apply(
    sim: &mut turmoil::Sim<'_>,
    req: &SimRequest<'_>,
    nodes: &[String],
    layout: &crate::scenario::Layout,
    event: &Event,
    action: Action,
    down: &mut BTreeSet<String>,
) {
    let on = action == Action::Apply;
    match &event.fault {
        Fault::Partition { between, oneway } => {
            for (a, b) in between.pairs() {
                match (on, oneway) {
                    (true, false) => sim.partition(a, b),
                    (true, true) => sim.partition_oneway(a, b),
                    (false, false) => sim.repair(a, b),
                    (false, true) => sim.repair_oneway(a, b),
                }
            }
        }
        Fault::Hold { between } => {
            for (a, b) in between.pairs() {
                if on {
                    sim.hold(a, b)
                } else {
                    sim.release(a, b)
                }
            }
        }
        Fault::Latency { target, delay } => {
            for (a, b) in link_pairs(target, nodes) {
                if on {
                    // Added to the link's own latency, as on madsim: one
                    // schedule means the same delays on both engines.
                    sim.set_link_latency(
                        a.as_str(),
                        b.as_str(),
                        layout.min_latency.saturating_add(*delay),
                    );
                    sim.set_link_max_message_latency(
                        a.as_str(),
                        b.as_str(),
                        layout.max_latency.saturating_add(*delay),
                    );
                } else {
                    sim.set_link_latency(a.as_str(), b.as_str(), layout.min_latency);
                    sim.set_link_max_message_latency(a.as_str(), b.as_str(), layout.max_latency);
                }
            }
        }
        Fault::Loss { target, rate } => {
            for (a, b) in link_pairs(target, nodes) {
                sim.set_link_fail_rate(a.as_str(), b.as_str(), if on { *rate } else { 0.0 });
                if !on {
                    sim.repair(a.as_str(), b.as_str());
                }
            }
        }
        Fault::Crash { host } => match (on, event.duration) {
            (true, Some(_)) => {
                sim.crash(host.as_str());
                down.insert(host.clone());
            }
            // An instantaneous crash is a restart.
            (true, None) => sim.bounce(host.as_str()),
            (false, _) => {
                sim.bounce(host.as_str());
                down.remove(host);
            }
        },
        // The workload's load profile already follows the schedule.
        Fault::LoadSpike { .. } | Fault::LoadStep { .. } | Fault::LoadProfile { .. } => {}
        Fault::Knob { knob, value } => turn_knob(req, knob, *value, on),
    }
}
