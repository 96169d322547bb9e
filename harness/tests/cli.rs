//! The command-line contract: output, exit codes and JSON fields users' scripts rely on.

use std::path::PathBuf;
use std::process::{Command, Output};

fn hormesis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args(args)
        // The contract is checked as users see it without logging.
        .env_remove("RUST_LOG")
        // `--check-fidelity` asks no madsim build that may sit beside this
        // one (tests/madsim.rs checks that half, where both are fresh).
        .env("HORMESIS_OTHER_ENGINE", "")
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn scenarios_lists_every_builtin_as_json() {
    let o = hormesis(&["scenarios", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "retry-storm",
            "lookaside-cache",
            "call-chain",
            "gc-pressure",
            "mru-pool",
            "axum-tower",
            "hot-shard",
            "warm-cache",
            "latency-window",
            "gc-headroom",
            "synthetic"
        ]
    );
    // The generated family has no documented trigger and no mitigation.
    for s in v
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] != "synthetic")
    {
        assert_eq!(s["tick_ms"], 10.0, "{}", s["name"]);
        assert_eq!(s["mitigations"][0], "none", "{}", s["name"]);
        assert!(
            s["mitigations"].as_array().unwrap().len() >= 2,
            "{}",
            s["name"]
        );
        assert!(
            !s["trigger"].as_array().unwrap().is_empty(),
            "{}",
            s["name"]
        );
    }
    let rs = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "retry-storm")
        .expect("retry-storm is listed");
    for field in [
        "description",
        "hosts",
        "clients",
        "knobs",
        "params",
        "mitigations",
        "trigger",
    ] {
        assert!(!rs[field].is_null(), "missing {field}");
    }
    assert_eq!(rs["hosts"][0], "server");
    assert_eq!(
        rs["mitigations"],
        serde_json::json!(["none", "retry-budget", "autoscaler"])
    );
    assert_eq!(rs["trigger"][0], "load-spike:at=60s,for=10s,factor=3");
    let (out, _) = text(&hormesis(&["scenarios"]));
    assert!(
        out.contains("retry-storm") && out.contains("service-time (value)"),
        "{out}"
    );
}

#[test]
fn scenarios_describes_one_synthetic_instance() {
    let (out, err) = text(&hormesis(&[
        "scenarios",
        "--scenario",
        "synthetic",
        "--set",
        "instance=7",
    ]));
    assert!(out.starts_with("synthetic\n"), "{out}{err}");
    assert!(
        out.contains("synthetic instance 7: built around memory-pressure"),
        "{out}"
    );
    assert!(out.contains("knobs:   slow-gateway (value)"), "{out}");
    assert!(out.contains("trigger: none documented"), "{out}");
    assert!(!out.contains("retry-storm"), "{out}");
    let o = hormesis(&[
        "scenarios",
        "--json",
        "--scenario",
        "synthetic",
        "--set",
        "instance=8",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v[0]["details"]
        .as_str()
        .unwrap()
        .contains("instance 8: built around token-herd"));
    assert_eq!(v[0]["hosts"].as_array().unwrap().len(), 3);
    // A built-in says nothing more.
    let o = hormesis(&["scenarios", "--json", "--scenario", "retry-storm"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v[0]["details"].is_null());
    for bad in [
        &["scenarios", "--set", "instance=7"][..],
        &["scenarios", "--scenario", "nope"],
        &[
            "scenarios",
            "--scenario",
            "synthetic",
            "--set",
            "instance=-1",
        ],
        &[
            "scenarios",
            "--scenario",
            "synthetic",
            "--set",
            "colour=red",
        ],
    ] {
        let o = hormesis(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o).1);
    }
}

#[test]
fn seed_7_is_stable_and_the_spike_is_metastable() {
    let o = hormesis(&["run", "--scenario", "retry-storm", "--seed", "7"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.starts_with("STABLE  retry-storm  seed 7"), "{out}");

    let json = scratch("spike.json");
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "7",
        "--fault",
        "load-spike:at=60s,for=10s,factor=3",
        "--json",
        json.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a metastable finding exits 1: {out}{err}"
    );
    assert!(out.starts_with("METASTABLE"), "{out}");
    assert!(out.contains("reproduce: hormesis run --scenario retry-storm --seed 7 --fault 'load-spike:at=60s,for=10s,factor=3'"), "{out}");
    let raw = std::fs::read_to_string(&json).unwrap();
    assert!(
        raw.contains("\"scenario\": \"retry-storm\""),
        "pretty-printed `\"key\": value`"
    );
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["seed"], 7);
    assert_eq!(v["engine"], "turmoil");
    assert_eq!(v["verdict"]["class"], "metastable");
    assert!(v["verdict"]["score"].as_f64().unwrap() > 0.5);
    assert!(v["verdict"]["ttr_s"].is_null());
    assert!(v["verdict"]["damage"].as_f64().unwrap() > 0.5);
    assert!(v["control"]["recovered"].as_bool().unwrap());
    assert_eq!(v["digest"].as_str().unwrap().len(), 64);
    assert_eq!(v["windows"].as_array().unwrap().len(), 130);
    assert!(v["windows"][0]["gauges"]["queue_depth"].is_number());
}

#[test]
fn the_same_command_twice_prints_the_same_digest() {
    let digest = |o: Output| {
        let (out, _) = text(&o);
        out.lines()
            .find(|l| l.trim_start().starts_with("digest"))
            .unwrap()
            .to_string()
    };
    let args = [
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "7",
        "--fault",
        "crash:at=40s,for=3s,host=server",
    ];
    assert_eq!(digest(hormesis(&args)), digest(hormesis(&args)));
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "3",
        "--check-determinism",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains("determinism: same digest on a second run"),
        "{out}"
    );
}

#[test]
fn a_schedule_file_with_an_unknown_fault_kind_exits_2_naming_file_and_line() {
    let path = scratch("bad-kind.yaml");
    std::fs::write(&path, "version: 1\nevents:\n  - at: 60s\n    for: 10s\n    fault: load-spike\n    factor: 3\n  - at: 75s\n    fault: meteor-strike\n").unwrap();
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--schedule",
        path.to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:8: event 2", path.display())),
        "{err}"
    );
    assert!(
        err.contains("unknown fault kind `meteor-strike`; allowed: partition, latency"),
        "{err}"
    );
}

#[test]
fn a_schedule_file_runs_like_the_same_inline_faults() {
    let path = scratch("spike.yaml");
    std::fs::write(
        &path,
        "version: 1\nevents:\n  - at: 60s\n    for: 10s\n    fault: load-spike\n    factor: 3\n",
    )
    .unwrap();
    let from_file = text(&hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "2",
        "--schedule",
        path.to_str().unwrap(),
    ]))
    .0;
    let inline = text(&hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "2",
        "--fault",
        "load-spike:at=60s,for=10s,factor=3",
    ]))
    .0;
    assert_eq!(from_file, inline);
}

#[test]
fn bad_input_exits_2_with_what_is_allowed() {
    for (args, needle) in [
        (
            vec!["run", "--scenario", "retry-strom"],
            "unknown scenario `retry-strom`; known scenarios: retry-storm",
        ),
        (
            vec!["run", "--scenario", "retry-storm", "--set", "retires=1"],
            "unknown parameter `retires`; allowed:",
        ),
        (
            vec!["run", "--scenario", "retry-storm", "--set", "retries=many"],
            "expected a whole number",
        ),
        (
            vec![
                "run",
                "--scenario",
                "retry-storm",
                "--fault",
                "crash:at=60s,for=5s,host=db",
            ],
            "unknown host `db`; allowed: server, client-1, client-2",
        ),
        (
            vec![
                "run",
                "--scenario",
                "retry-storm",
                "--fault",
                "knob:at=60s,knob=cache-flush",
            ],
            "unknown knob `cache-flush`; allowed: service-time, queue-flush",
        ),
        (
            vec![
                "run",
                "--scenario",
                "retry-storm",
                "--fault",
                "load-spike:at=1s,for=1s,factor=2",
            ],
            "must start at 3s or later",
        ),
        (
            vec![
                "run",
                "--scenario",
                "retry-storm",
                "--schedule",
                "/nonexistent/s.yaml",
            ],
            "cannot read schedule file /nonexistent/s.yaml",
        ),
        (
            vec!["run", "--scenario", "retry-storm", "--engine", "madsim"],
            "madsim",
        ),
        // The library names a refused setting by its field; the command
        // line words it as the flag that set it.
        (
            vec![
                "explore",
                "--scenario",
                "retry-storm",
                "--seeds",
                "2",
                "--shard",
                "0/4",
                "--budget",
                "4",
            ],
            "--seeds 2: fewer than the 4 shards",
        ),
        (
            vec![
                "tune",
                "--scenario",
                "retry-storm",
                "--mitigation",
                "retry-budget",
                "--keep",
                "0",
                "--explore-budget",
                "2",
            ],
            "--keep 0: ",
        ),
    ] {
        let o = hormesis(&args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in {err}"
        );
        // Refused before the banner that says what would run.
        assert!(!err.contains("exploring "), "{args:?}: {err}");
    }
}

#[test]
fn json_to_stdout_is_json_alone() {
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "4",
        "--json",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("stdout is the JSON report alone");
    assert_eq!(v["verdict"]["class"], "stable");
    assert!(
        v["control"].is_null(),
        "a run without faults is its own control"
    );
    let (_, err) = text(&o);
    assert!(
        err.contains("STABLE  retry-storm  seed 4"),
        "the summary moves to stderr: {err}"
    );
}

/// `--log` tells the run's story in simulated time, and changes nothing.
#[test]
fn log_stamps_events_with_simulated_time_and_host_and_changes_nothing() {
    let args = [
        "run",
        "--scenario",
        "retry-storm",
        "--fault",
        "load-spike:at=60s,for=10s,factor=3",
    ];
    let quiet = hormesis(&args);
    let (quiet_out, quiet_err) = text(&quiet);
    assert!(!quiet_err.contains("INFO"), "quiet by default: {quiet_err}");
    let mut logged_args = args.to_vec();
    logged_args.extend(["--log", "info"]);
    let logged = hormesis(&logged_args);
    let (logged_out, logged_err) = text(&logged);
    assert_eq!(quiet.status.code(), logged.status.code());
    let digest = |out: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with("digest"))
            .map(str::to_string)
    };
    assert!(digest(&quiet_out).is_some());
    assert_eq!(digest(&quiet_out), digest(&logged_out), "same bytes out");
    let applied = logged_err
        .lines()
        .find(|l| l.contains("fault") && l.contains("Apply"))
        .unwrap_or_else(|| panic!("{logged_err}"));
    assert!(applied.trim_start().starts_with("60.000s"), "{applied}");
    assert!(applied.contains("sim{seed=1 faults=1}"), "{applied}");
    assert!(
        logged_err.contains("node{name=\"server\"}"),
        "host spans: {logged_err}"
    );
    let bad = hormesis(&["scenarios", "--log", "no such level=="]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).1.contains("--log"));
}

/// `--check-fidelity` reruns at a fifth of the tick: it flags mru-pool's
/// trigger at its old defaults as the artifact of turmoil's 10 ms step that docs/engines.md
/// describes, and passes retry-storm's.
#[test]
fn check_fidelity_flags_a_verdict_that_changes_at_a_finer_tick() {
    let o = hormesis(&[
        "run",
        "--scenario",
        "mru-pool",
        "--seed",
        "1",
        "--fault",
        "load-spike:at=60s,for=10s,factor=3",
        // mru-pool's defaults until 2026-11-28, whose trap needs the 10 ms
        // step (docs/engines.md)
        "--set",
        "rate=120",
        "--set",
        "timeout=100ms",
        "--set",
        "max_connections=32",
        "--check-fidelity",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains(
            "FIDELITY: the verdict changes at a 2ms tick: metastable (never) becomes stable"
        ),
        "{out}"
    );
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "1",
        "--fault",
        "load-spike:at=60s,for=10s,factor=3",
        "--check-fidelity",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "metastable: {out}{err}");
    assert!(
        out.contains("fidelity: the same verdict at a 2ms tick (metastable, never)"),
        "{out}"
    );
    assert!(
        out.contains("fidelity: not checked on the other engine: HORMESIS_OTHER_ENGINE is empty"),
        "{out}"
    );
}

/// A build that cannot answer for the other engine (here this turmoil
/// build, named as the other one) is reported, never taken for a verdict
/// nor for a pass: the check could not be made, so it fails (issue 29, E9).
#[test]
fn check_fidelity_reports_another_engine_that_cannot_answer() {
    let o = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args(["run", "--scenario", "gc-pressure", "--seed", "1"])
        .args([
            "--fault",
            "load-spike:at=30s,for=5s,factor=3",
            "--check-fidelity",
        ])
        .env("HORMESIS_OTHER_ENGINE", env!("CARGO_BIN_EXE_hormesis"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(
        out.contains("FIDELITY: the other engine's build gave no verdict:")
            && out.contains("could not answer: exit 2:"),
        "{out}{err}"
    );
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
}

/// `replay --check-fidelity` fails mru-pool's old trap (kept as a fixture, found at
/// turmoil's 10 ms step, gone at 2 ms) and passes retry-storm's.
#[test]
fn replay_check_fidelity_fails_an_incident_that_is_a_tick_artifact() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../replays");
    let o = hormesis(&[
        "replay",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/mru-pool-tick-artifact.yaml"
        ),
        &format!("{root}/retry-storm/spike.yaml"),
        "--check-fidelity",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("FIDELITY: metastable at the scenario's tick, stable at 2ms"),
        "{out}"
    );
    assert!(out.contains("reproduce: hormesis replay") && out.contains("--check-fidelity"));
    assert!(out.contains("2 incidents, 1 passed, 1 regressed"), "{out}");
}

/// `run --tick` sets turmoil's step (recorded in the JSON); out of range,
/// on madsim, or with --record it is refused.
#[test]
fn run_takes_a_finer_tick() {
    let json = scratch("tick-fine.json");
    let o = hormesis(&[
        "run",
        "--scenario",
        "gc-pressure",
        "--tick",
        "2ms",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["tick_ms"], 2.0);
    for (args, needle) in [
        (vec!["--tick", "0ms"], "from 10us to 1s"),
        (vec!["--tick", "2ms", "--engine", "madsim"], "madsim"),
        (
            vec!["--tick", "2ms", "--record", "x.yaml"],
            "cannot be used with",
        ),
    ] {
        let o = hormesis(&[&["run", "--scenario", "gc-pressure"][..], &args].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {:?}", text(&o));
        assert!(text(&o).1.contains(needle), "{args:?}: {:?}", text(&o));
    }
}

/// A path that is not UTF-8 is a path like any other: recorded, and shown
/// lossily in the incident's command (reading the arguments as strings
/// used to panic).
#[cfg(unix)]
#[test]
fn a_non_utf8_path_is_recorded_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let dir = scratch("non-utf8");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(std::ffi::OsStr::from_bytes(b"odd-\xff.yaml"));
    let o = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args(["run", "--scenario", "gc-pressure", "--record"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let incident = std::fs::read_to_string(&path).unwrap();
    assert!(
        incident.contains("command: \"hormesis run --scenario gc-pressure --record"),
        "{incident}"
    );
    assert!(incident.contains("odd-\u{fffd}.yaml"), "{incident}");
}

/// `--policy FILE` applies a policy's values (before any --set) on run,
/// replay and explore; what the scenario does not allow is refused with
/// the file's line.
#[test]
fn a_policy_file_is_applied_by_run_replay_and_explore() {
    let policy = scratch("retry-budget-policy.yaml");
    std::fs::write(
        &policy,
        "# the retry budget, tuned\nmitigation: retry-budget\nretry_budget.ratio: 0.1\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    let spike = "load-spike:at=60s,for=10s,factor=3";
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "7",
        "--fault",
        spike,
        "--policy",
        policy,
    ]);
    assert_eq!(o.status.code(), Some(0), "the budget holds: {:?}", text(&o));
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "7",
        "--fault",
        spike,
        "--policy",
        policy,
        "--set",
        "mitigation=none",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a --set wins over the policy: {:?}",
        text(&o)
    );
    assert!(text(&o).0.contains(
        "--set 'mitigation=retry-budget' --set 'retry_budget.ratio=0.1' --set 'mitigation=none'"
    ));

    let kept = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../replays/retry-storm/spike.yaml"
    );
    let o = hormesis(&["replay", kept, "--policy", policy]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the kept storm no longer tips: {:?}",
        text(&o)
    );
    assert!(text(&o).0.contains("REGRESSION"), "{:?}", text(&o));

    let json = scratch("policy-explore.json");
    let incidents = scratch("policy-incidents");
    let o = hormesis(&[
        "explore",
        "--scenario",
        "retry-storm",
        "--budget",
        "8",
        "--jobs",
        "2",
        "--policy",
        policy,
        "--json",
        json.to_str().unwrap(),
        "--incidents",
        incidents.to_str().unwrap(),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{:?}", text(&o));
    let explored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        explored["set"],
        serde_json::json!(["mitigation=retry-budget", "retry_budget.ratio=0.1"])
    );

    let bad = scratch("bad-policy.yaml");
    std::fs::write(&bad, "mitigation: retry-budget\nbudget.ratio: 0.1\n").unwrap();
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--policy",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .1
            .contains("bad-policy.yaml:2: `retry-storm` has no parameter `budget.ratio`"),
        "{:?}",
        text(&o)
    );
}
