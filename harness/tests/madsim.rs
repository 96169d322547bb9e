//! The madsim flavour (`cargo madsim-test`): the same scenarios on madsim,
//! its determinism, its faults, and what it refuses. In the default build
//! this file is empty; the turmoil side of every comparison is asserted by
//! tests/scenarios.rs (each trigger metastable on seeds 1–10).
#![cfg(madsim)]
// The madsim flavour answers std's clock reads with simulated time inside a
// simulation, and tokio's Instant is std's there: the wall-clock rules of
// clippy.toml hold in the default build, which lints this same code.
#![cfg_attr(madsim, allow(clippy::disallowed_methods))]

mod common;
use common::run_specs;
use hormesis::engine::madsim::{check_determinism, OwnedRequest};
use hormesis::engine::EngineKind;
use hormesis::run::{RunError, RunPlan};
use hormesis::scenario::{
    CallFailure, Client, HostSoftware, Layout, LocalFuture, ParamError, ParamSpec, Params,
    Scenario, Scrape, System,
};
use hormesis::scenarios;
use hormesis::verdict::Class;
use hormesis_faults::{KnobSpec, Schedule};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Scenarios whose trigger is known to give another verdict on madsim, and
/// why (docs/engines.md has the measurements). None since 2026-11-28, when
/// mru-pool's trap, which needed turmoil's 10 ms step, was made real; kept
/// so a new disagreement is named here with its reason, not hidden.
const KNOWN_DISAGREEMENTS: &[(&str, &str)] = &[];

fn madsim_scenarios() -> Vec<&'static dyn Scenario> {
    scenarios::builtin()
        .into_iter()
        .filter(|s| s.unsupported_on(EngineKind::Madsim).is_none())
        .collect()
}

#[test]
fn every_trigger_gives_the_turmoil_verdict_on_at_least_9_of_10_seeds() {
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for scenario in madsim_scenarios() {
        let trigger = scenario.trigger();
        let specs: Vec<&str> = trigger.iter().map(String::as_str).collect();
        let metastable = (1..=10)
            .filter(|&seed| {
                let run = run_specs(scenario.name(), &specs, &[], seed);
                assert_eq!(run.engine, EngineKind::Madsim);
                run.verdict.class == Class::Metastable
            })
            .count();
        report.push(format!(
            "{}: metastable on {metastable}/10",
            scenario.name()
        ));
        let known = KNOWN_DISAGREEMENTS
            .iter()
            .any(|(s, _)| *s == scenario.name());
        if metastable < 9 && !known {
            failed.push(scenario.name());
        }
        if metastable >= 9 && known {
            failed.push(scenario.name());
        }
    }
    assert!(
        failed.is_empty(),
        "verdicts on madsim (turmoil: metastable on 10/10 for every trigger): {report:?}; \
         differ from what is expected for {failed:?} (a scenario that now agrees should \
         leave KNOWN_DISAGREEMENTS and docs/engines.md)"
    );
}

/// The same band as on turmoil (tests/scenarios.rs): the keepalive pings
/// and the handshake that waits out the link's latency behave alike.
#[test]
fn latency_window_tips_only_in_the_same_band_as_on_turmoil() {
    common::assert_latency_window_band();
}

#[test]
fn no_fault_runs_are_stable() {
    for scenario in madsim_scenarios() {
        for seed in [1, 2] {
            let run = run_specs(scenario.name(), &[], &[], seed);
            assert_eq!(
                run.verdict.class,
                Class::Stable,
                "{} seed {seed} without faults",
                scenario.name()
            );
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_digest_on_every_scenario() {
    for scenario in madsim_scenarios() {
        let trigger = scenario.trigger();
        let specs: Vec<&str> = trigger.iter().map(String::as_str).collect();
        let a = run_specs(scenario.name(), &specs, &[], 5);
        let b = run_specs(scenario.name(), &specs, &[], 5);
        assert_eq!(a.digest, b.digest, "{}", scenario.name());
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let other = run_specs(scenario.name(), &specs, &[], 6);
        assert_ne!(
            a.digest,
            other.digest,
            "{}: seed changes the run",
            scenario.name()
        );
    }
}

#[test]
fn link_faults_act_on_madsim_and_end_with_their_run() {
    let latency = "latency:at=40s,for=10s,host=server,delay=1440ms";
    let loss = "loss:at=40s,for=5s,host=server,rate=0.3";
    let quiet = run_specs("retry-storm", &[], &[], 3);
    for fault in [latency, loss] {
        let run = run_specs("retry-storm", &[fault], &[], 3);
        assert_eq!(run.verdict.class, Class::Metastable, "{fault}");
        // The conditions are cleared with the run: the next run on this
        // thread is the quiet one again, byte for byte.
        assert_eq!(run_specs("retry-storm", &[], &[], 3).digest, quiet.digest);
    }
    // A short, mild delay is absorbed.
    let mild = run_specs(
        "retry-storm",
        &["latency:at=40s,for=2s,host=server,delay=50ms"],
        &[],
        3,
    );
    assert_eq!(mild.verdict.class, Class::Stable);
    assert_ne!(mild.digest, quiet.digest, "the delay changed the run");
}

#[test]
fn a_partition_and_a_crash_apply_at_their_times() {
    let run = run_specs(
        "retry-storm",
        &[
            "partition:at=40s,for=5s,between=server|client-1+client-2",
            "crash:at=50s,for=2s,host=server",
        ],
        &[],
        1,
    );
    let applied: Vec<(f64, &str)> = run.applied.iter().map(|a| (a.t_s, a.action)).collect();
    assert_eq!(
        applied,
        [
            (40.0, "apply"),
            (45.0, "revert"),
            (50.0, "apply"),
            (52.0, "revert")
        ]
    );
    // While partitioned, nothing succeeds; the crash stops the server.
    assert_eq!(run.windows[42].goodput, 0, "{:?}", run.windows[42]);
    assert_eq!(run.windows[51].goodput, 0, "{:?}", run.windows[51]);
    assert!(run.windows[60].goodput > 100, "{:?}", run.windows[60]);
}

#[test]
fn the_turmoil_engine_and_axum_tower_are_refused_with_a_reason() {
    let plan = |scenario: &str, engine| {
        RunPlan::of(scenarios::find(scenario).unwrap())
            .located("--fault", None)
            .seed(1)
            .engine(engine)
            .build()
    };
    let Err(RunError::Engine(e)) = plan("retry-storm", EngineKind::Turmoil) else {
        panic!("turmoil must be refused in the madsim flavour");
    };
    assert!(e.to_string().contains("default build"), "{e}");
    let Err(RunError::Setup(why)) = plan("axum-tower", EngineKind::Madsim) else {
        panic!("axum-tower must be refused on madsim");
    };
    assert!(why.contains("real tokio runtime"), "{why}");
}

#[test]
fn madsims_check_passes_a_built_in_scenario() {
    let scenario = scenarios::find("retry-storm").unwrap();
    let params = Params::resolve(&scenario.params(), &[] as &[&str]).unwrap();
    let request = OwnedRequest {
        scenario,
        params,
        knobs: scenario.knobs(),
        schedule: Schedule::from_specs(&["load-spike:at=30s,for=5s,factor=3"]).unwrap(),
        seed: 4,
        end: Duration::from_secs(45),
        window: Duration::from_secs(1),
    };
    assert_eq!(check_determinism(request), Ok(()));
}

/// A service that is not deterministic: each start reads a counter shared
/// by every simulation in the process, as a global cache or a leaked
/// static would.
struct Leaky;
static STARTS: AtomicU64 = AtomicU64::new(0);

struct LeakySystem(Layout);

impl Scenario for Leaky {
    fn name(&self) -> &'static str {
        "leaky"
    }
    fn description(&self) -> &'static str {
        "reads process-wide state"
    }
    fn params(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    fn knobs(&self) -> Vec<KnobSpec> {
        Vec::new()
    }
    fn trigger(&self) -> Vec<String> {
        Vec::new()
    }
    fn build(&self, _: &Params) -> Result<Box<dyn System>, ParamError> {
        let s = Duration::from_secs;
        Ok(Box::new(LeakySystem(Layout {
            hosts: vec!["server".into()],
            clients: vec!["client".into()],
            rate: 10.0,
            deadline: s(1),
            warmup: s(3),
            horizon: s(10),
            recovers_within: s(5),
            run_limit: s(60),
            tick: Duration::from_millis(10),
            min_latency: Duration::from_millis(1),
            max_latency: Duration::from_millis(5),
        })))
    }
}

struct Quiet;

impl Client for Quiet {
    fn call(&self, _key: u64) -> LocalFuture<'_, Result<(), CallFailure>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(3)).await;
            Ok(())
        })
    }
}

impl System for LeakySystem {
    fn layout(&self) -> &Layout {
        &self.0
    }
    fn host_software(&self, _host: &str) -> HostSoftware {
        Rc::new(|| {
            Box::pin(async {
                // The first simulation does one task of work per tick, the
                // next two: the second run draws more from madsim's rng.
                let n = STARTS.fetch_add(1, Ordering::Relaxed);
                // 1000 ticks outlast the 5 s the check simulates.
                for _ in 0..1000 {
                    for _ in 0..=n % 2 {
                        tokio::spawn(async {});
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Ok(())
            })
        })
    }
    fn client(&self, _client: &str) -> Rc<dyn Client> {
        Rc::new(Quiet)
    }
    fn set_knob(&self, _knob: &str, _value: Option<f64>) {}
    fn scrape(&self) -> Scrape {
        Scrape::default()
    }
}

#[test]
fn madsims_check_names_a_service_that_is_not_deterministic() {
    static LEAKY: Leaky = Leaky;
    let request = OwnedRequest {
        scenario: &LEAKY,
        params: Params::default(),
        knobs: Vec::new(),
        schedule: Schedule::default(),
        seed: 1,
        end: Duration::from_secs(5),
        window: Duration::from_secs(1),
    };
    let Err(why) = check_determinism(request) else {
        panic!("a service reading process-wide state must fail madsim's check");
    };
    assert!(why.contains("non-determinism"), "{why}");
}

#[test]
fn the_cli_runs_madsim_by_default_and_checks_determinism() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args([
            "run",
            "--scenario",
            "gc-pressure",
            "--fault",
            "load-spike:at=30s,for=5s,factor=3",
            "--check-determinism",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("engine madsim"), "{stdout}");
    assert!(
        stdout.contains("madsim's check: the same random draws"),
        "{stdout}"
    );
}

/// The seam's two paths: a stream writes straight to madsim until its link
/// has a condition, then through the forwarder; a segment sent after the
/// condition is lifted must still arrive after the one it held.
#[test]
fn a_held_segment_is_never_overtaken_when_the_link_clears() {
    use hormesis_sut::net::{links, LinkCondition, TcpListener, TcpStream};
    use std::net::{IpAddr, Ipv4Addr};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server_ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let client_ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let runtime = madsim::runtime::Runtime::with_seed_and_config(7, madsim::Config::default());
    let arrivals = runtime.block_on(async move {
        let handle = madsim::runtime::Handle::current();
        let server = handle.create_node().name("server").ip(server_ip).build();
        let client = handle.create_node().name("client").ip(client_ip).build();
        let received = server.spawn(async move {
            let listener = TcpListener::bind("0.0.0.0:9000").await.unwrap();
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut arrivals = Vec::new();
            let mut byte = [0u8; 1];
            while stream.read_exact(&mut byte).await.is_ok() {
                arrivals.push((byte[0], tokio::time::Instant::now()));
            }
            arrivals
        });
        client
            .spawn(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let mut stream = TcpStream::connect("10.0.0.1:9000").await.unwrap();
                // Straight through: no condition yet.
                stream.write_all(b"a").await.unwrap();
                stream.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
                // Held for a second on the way out...
                links::set(
                    client_ip,
                    server_ip,
                    LinkCondition {
                        delay: Duration::from_secs(1),
                        loss: 0.0,
                    },
                );
                stream.write_all(b"b").await.unwrap();
                stream.flush().await.unwrap();
                // ...and the next segment, sent once the link is clear,
                // waits for it.
                links::set(client_ip, server_ip, LinkCondition::default());
                stream.write_all(b"c").await.unwrap();
                stream.flush().await.unwrap();
                tokio::time::sleep(Duration::from_secs(2)).await;
                drop(stream);
            })
            .await
            .unwrap();
        received.await.unwrap()
    });
    let order: Vec<u8> = arrivals.iter().map(|(b, _)| *b).collect();
    assert_eq!(order, b"abc");
    let gap = arrivals[1].1 - arrivals[0].1;
    assert!(gap >= Duration::from_millis(1000), "b was held: {gap:?}");
    assert!(arrivals[2].1 >= arrivals[1].1, "c came after b");
}

/// The turmoil build `cargo test --workspace` made before `cargo
/// madsim-test` ran (.ci/run): beside this one (`target/<profile>/` for
/// `target/madsim/<profile>/`), else under `CARGO_TARGET_DIR`, which the
/// madsim alias's own `--target-dir` overrides. Also whether it was the
/// one beside, which `--check-fidelity` finds without being told.
fn turmoil_build() -> (std::path::PathBuf, bool) {
    let madsim = std::path::Path::new(env!("CARGO_BIN_EXE_hormesis"));
    let profile = madsim.parent().unwrap();
    let target = profile.parent().unwrap().parent().unwrap();
    let beside = target.join(profile.file_name().unwrap()).join("hormesis");
    if beside.is_file() {
        return (beside, true);
    }
    let elsewhere = std::env::var_os("CARGO_TARGET_DIR").map(|dir| {
        std::path::PathBuf::from(dir)
            .join(profile.file_name().unwrap())
            .join("hormesis")
    });
    match elsewhere {
        Some(path) if path.is_file() => (path, false),
        _ => panic!(
            "no turmoil build at {} or under CARGO_TARGET_DIR: run `cargo test --workspace` (or `cargo build`) first",
            beside.display()
        ),
    }
}

/// `--check-fidelity` asks the other engine's build: from turmoil it flags
/// mru-pool's old trap (the fixture's parameters), which madsim does not
/// tip; from madsim it asks turmoil at a fifth of the step and agrees on
/// retry-storm's trigger and on mru-pool's at its current defaults.
#[test]
fn check_fidelity_asks_the_other_engines_build() {
    let madsim = std::path::PathBuf::from(env!("CARGO_BIN_EXE_hormesis"));
    let (turmoil, beside) = turmoil_build();
    let run = |binary: &std::path::Path, other: Option<&std::path::Path>, args: &[&str]| {
        let mut command = std::process::Command::new(binary);
        command
            .args(["run", "--seed", "1", "--check-fidelity"])
            .args(args)
            .env_remove("RUST_LOG");
        match other {
            Some(path) => command.env("HORMESIS_OTHER_ENGINE", path),
            None => command.env_remove("HORMESIS_OTHER_ENGINE"),
        };
        let out = command.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let spike = "load-spike:at=60s,for=10s,factor=3";
    let (code, out) = run(
        &turmoil,
        Some(&madsim),
        &[
            "--scenario",
            "mru-pool",
            "--fault",
            spike,
            "--set",
            "rate=120",
            "--set",
            "timeout=100ms",
            "--set",
            "max_connections=32",
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FIDELITY: madsim says stable")
            && out.contains(
                "where turmoil says metastable (never); the finding depends on the simulator"
            ),
        "{out}"
    );
    // Found beside this build without being named, where it is there.
    let other = (!beside).then_some(turmoil.as_path());
    for scenario in ["retry-storm", "mru-pool"] {
        let (code, out) = run(&madsim, other, &["--scenario", scenario, "--fault", spike]);
        assert_eq!(code, Some(1), "{scenario} is metastable: {out}");
        assert!(
            out.contains("fidelity: the same verdict on turmoil at a 2ms tick (metastable, never)"),
            "{scenario}: {out}"
        );
        assert!(!out.contains("FIDELITY"), "{scenario}: {out}");
    }
}

/// Generated systems are as deterministic on madsim as on turmoil, and
/// instance 5's recorded trigger (tests/synthetic.rs) tips it here too.
#[test]
fn synthetic_instances_replay_byte_for_byte_on_madsim() {
    for n in [2u64, 3, 10, 14] {
        let set = format!("instance={n}");
        let spike = "load-spike:at=40s,for=10s,factor=2.5";
        let a = run_specs("synthetic", &[spike], &[set.as_str()], 3);
        let b = run_specs("synthetic", &[spike], &[set.as_str()], 3);
        assert_eq!(a.engine, EngineKind::Madsim);
        assert_eq!(a.digest, b.digest, "instance {n}");
    }
    let tipped = run_specs(
        "synthetic",
        &["load-spike:at=49s,for=29s,factor=3"],
        &["instance=5"],
        1,
    );
    assert_eq!(tipped.verdict.class, Class::Metastable);
}
