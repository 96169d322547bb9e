//! Harness overhead and simulation speed on `retry-storm`.
//!
//! Runs the same service, seed and arrival stream two ways, interleaved so
//! machine noise hits both alike:
//!   * through the harness (`hormesis::run::run`: windows, scrapes, fault
//!     plan, digest, verdict);
//!   * on bare turmoil: the same hosts and the same arrivals with a plain
//!     success counter and nothing else.
//!
//! Prints the overhead ratio (harness / bare) and the acceleration
//! (simulated seconds per wall second) of the harness run.
//!
//! `cargo bench --bench overhead` (set BENCH_ROUNDS to change the rounds).

use hormesis::run::{self, RunPlan};
use hormesis::scenario::Params;
use hormesis::scenario::Scenario;
use hormesis::scenarios::{self, RetryStorm};
use hormesis::workload::{Arrivals, LoadProfile};
use hormesis_faults::Schedule;
use hormesis_sut::retry_storm::{
    serve, ClientPolicy, ClientStats, PoolConfig, PoolControls, PoolStats, RetryClient,
};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// Wall-clock time of `f`: the benchmark measures the harness itself, so it
/// is the one place the wall clock is wanted.
#[allow(clippy::disallowed_methods)]
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = std::time::Instant::now();
    let out = f();
    (start.elapsed(), out)
}

/// The same system on turmoil with nothing of the harness around it.
fn bare(seed: u64, schedule: &Schedule, end: Duration) -> u64 {
    let p = Params::resolve(&RetryStorm.params(), &[] as &[&str]).unwrap();
    let server = PoolConfig {
        workers: p.int("workers").unwrap() as usize,
        service_time: p.duration("service_time").unwrap(),
        pressure: 0.0,
    };
    let policy = ClientPolicy {
        timeout: p.duration("timeout").unwrap(),
        retries: p.int("retries").unwrap() as u32,
        backoff: p.duration("backoff").unwrap(),
        budget: None,
        keepalive: None,
        connect: None,
    };
    let deadline = p.duration("deadline").unwrap();
    let clients = p.int("clients").unwrap();
    let share = p.float("rate").unwrap() / clients as f64;
    // Tick and latencies as the scenario declares them.
    let layout = RetryStorm.build(&p).unwrap().layout().clone();
    let mut sim = turmoil::Builder::new()
        .tick_duration(layout.tick)
        .simulation_duration(end + Duration::from_secs(3600))
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .rng_seed(seed)
        .min_message_latency(layout.min_latency)
        .max_message_latency(layout.max_latency)
        .build();
    let controls = Arc::new(PoolControls::new(&server));
    let stats = Arc::new(PoolStats::default());
    sim.host("server", move || {
        let (server, controls, stats) = (server.clone(), controls.clone(), stats.clone());
        async move { Ok(serve(7000, server, controls, stats).await?) }
    });
    let ok = Rc::new(Cell::new(0u64));
    let profile = Rc::new(LoadProfile::from_schedule(schedule));
    for i in 1..=clients {
        let name = format!("client-{i}");
        let arrivals = Arrivals::new(seed, &name, share, profile.clone());
        let client = Rc::new(RetryClient::new(
            "server:7000",
            policy.clone(),
            Arc::new(ClientStats::default()),
        ));
        let ok = ok.clone();
        sim.client(name.as_str(), async move {
            // tokio's clock inside the simulated client host: simulated time, as in the harness.
            let base = tokio::time::Instant::now();
            for at in arrivals.take_while(|t| *t < end) {
                tokio::time::sleep_until(base + at).await;
                let (client, ok) = (client.clone(), ok.clone());
                tokio::task::spawn_local(async move {
                    if let Ok(Ok(())) = tokio::time::timeout(deadline, client.call(0)).await {
                        ok.set(ok.get() + 1);
                    }
                });
            }
            std::future::pending::<()>().await;
            Ok(())
        });
    }
    while sim.elapsed() < end {
        sim.step().unwrap();
    }
    ok.get()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let scenario = scenarios::find("retry-storm").unwrap();
    println!(
        "retry-storm, {rounds} interleaved rounds (seeds 1..={rounds}), median wall time per run"
    );
    println!(
        "{:<34} {:>9} {:>9} {:>8} {:>10}",
        "case", "harness", "bare", "ratio", "sim/wall"
    );
    for (label, specs) in [
        ("default (no faults, 90 s)", vec![]),
        (
            "3x spike + control (2 x 130 s)",
            vec!["load-spike:at=60s,for=10s,factor=3"],
        ),
    ] {
        let schedule = Schedule::from_specs(&specs).unwrap();
        let end =
            schedule.trigger_end().unwrap_or(Duration::from_secs(30)) + Duration::from_secs(60);
        let (mut h, mut b) = (Vec::new(), Vec::new());
        let sims = if schedule.is_empty() { 1 } else { 2 };
        for round in 0..rounds {
            let seed = 1 + round as u64;
            let plan = RunPlan::of(scenario)
                .schedule(schedule.clone())
                .located("bench", None)
                .seed(seed)
                .build()
                .unwrap();
            // A faulted run simulates its control too; the bare side does the same two simulations.
            let (t_h, report) = timed(|| run::run(&plan).unwrap());
            assert_eq!(report.control.is_some(), sims == 2);
            h.push(t_h);
            let (t_b, ok) = timed(|| {
                let mut ok = bare(seed, &schedule, end);
                if sims == 2 {
                    ok += bare(seed, &Schedule::default(), end);
                }
                ok
            });
            assert!(ok > 0);
            b.push(t_b);
        }
        let (mh, mb) = (median(h), median(b));
        println!(
            "{label:<34} {:>7.1}ms {:>7.1}ms {:>7.3}x {:>9.0}x",
            mh.as_secs_f64() * 1e3,
            mb.as_secs_f64() * 1e3,
            mh.as_secs_f64() / mb.as_secs_f64(),
            sims as f64 * end.as_secs_f64() / mh.as_secs_f64()
        );
    }
}
