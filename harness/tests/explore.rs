//! The explorer: same result for any number of jobs, shards that partition
//! the run seeds, and the acceptance run that finds a metastable schedule.

use hormesis::engine::EngineKind;
use hormesis::explore::strategy::StrategyKind;
use hormesis::explore::{explore, explore_until, shard_seeds, ExploreConfig};
use hormesis::incident::Incident;
use hormesis::verdict::Class;
use std::path::PathBuf;
use std::process::Command;

fn config(strategy: StrategyKind, budget: usize, jobs: usize) -> ExploreConfig {
    ExploreConfig {
        scenario: hormesis::scenarios::find("retry-storm").unwrap(),
        overrides: Vec::new(),
        engine: EngineKind::Turmoil,
        strategy,
        seed: 3,
        budget,
        jobs,
        seeds: 4,
        shard: (0, 1),
    }
}

#[test]
fn the_result_does_not_depend_on_jobs() {
    for strategy in [StrategyKind::Thompson, StrategyKind::Exp3] {
        let one = explore(&config(strategy, 20, 1), &mut |_, _| {}).unwrap();
        let three = explore(&config(strategy, 20, 3), &mut |_, _| {}).unwrap();
        assert_eq!(one, three, "{strategy:?}");
        assert_eq!(one.runs.len(), 20);
    }
}

#[test]
fn stopping_early_keeps_exactly_the_first_runs() {
    let full = explore(&config(StrategyKind::Thompson, 24, 2), &mut |_, _| {}).unwrap();
    assert!(!full.stopped_early);
    // Stop before the third batch, as a time budget or Ctrl-C would.
    let asked = std::cell::Cell::new(0);
    let stop = || {
        asked.set(asked.get() + 1);
        asked.get() > 2
    };
    let cut = explore_until(
        &config(StrategyKind::Thompson, 24, 2),
        &mut |_, _| {},
        &stop,
    )
    .unwrap();
    assert!(cut.stopped_early);
    assert_eq!(cut.runs.len(), 16);
    assert_eq!(cut.runs, full.runs[..16]);
}

#[test]
fn shards_partition_the_run_seeds() {
    let all = shard_seeds(9, 12, (0, 1));
    assert_eq!(all.len(), 12);
    let mut union: Vec<u64> = (0..5).flat_map(|i| shard_seeds(9, 12, (i, 5))).collect();
    assert_eq!(union.len(), 12, "every seed exactly once");
    union.sort_unstable();
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(union, sorted);
    assert_ne!(shard_seeds(10, 12, (0, 1)), all, "another exploration seed");
    let mut c = config(StrategyKind::Random, 4, 2);
    c.shard = (3, 4);
    c.seeds = 2;
    assert!(explore(&c, &mut |_, _| {})
        .unwrap_err()
        .to_string()
        .contains("fewer than the 4 shards"));
}

#[test]
fn explore_finds_a_metastable_schedule_and_writes_its_incident() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explore-acceptance");
    let _ = std::fs::remove_dir_all(&dir);
    let json = dir.join("out.json");
    let o = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args([
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "60",
            "--seed",
            "1",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--incidents")
        .arg(dir.join("incidents"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 60);
    for field in ["arm", "schedule", "seed", "score", "class"] {
        assert!(!v["runs"][0][field].is_null(), "runs[].{field}");
    }
    let s = &v["summary"];
    assert!(s["runs_to_first_metastable"].as_u64().unwrap() >= 1);
    assert!(s["metastable_runs"].as_u64().unwrap() >= 1);
    assert!(s["distinct_metastable_arms"].as_u64().unwrap() >= 1);
    assert!(out.contains("distinct metastable arms"), "{out}");
    // Each incident replays to what the explorer saw.
    let incidents: Vec<PathBuf> = std::fs::read_dir(dir.join("incidents"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!incidents.is_empty());
    let incident = Incident::load(&incidents[0]).unwrap();
    assert_eq!(incident.found.class, Class::Metastable);
    let replayed = hormesis::replay::replay(&incident, &[] as &[&str]).unwrap();
    assert!(replayed.regression.is_none() && replayed.digest_same);
}

/// Ctrl-C (SIGINT) ends the exploration after the batch in flight and keeps
/// everything: the JSON says so, and holds whole batches of runs.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_cleanly_and_keeps_what_was_found() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explore-ctrl-c");
    let _ = std::fs::remove_dir_all(&dir);
    let json = dir.join("out.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args([
            "explore",
            "--scenario",
            "gc-pressure",
            "--budget",
            "1000",
            "--jobs",
            "1",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--incidents")
        .arg(dir.join("incidents"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    // Interrupt once the second batch has begun reporting.
    for line in lines.by_ref() {
        if line.unwrap().contains("[   9/1000]") {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let rest = rest.join("\n");
    assert!(rest.contains("stopping after the runs in flight"), "{rest}");
    assert_eq!(status.code(), Some(1), "found something, so exit 1: {rest}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["stopped_early"], true);
    let runs = v["runs"].as_array().unwrap().len();
    assert!(
        (16..1000).contains(&runs) && runs % 8 == 0,
        "{runs} runs: whole batches, stopped well before the budget"
    );
    assert_eq!(v["summary"]["runs"].as_u64().unwrap() as usize, runs);
}
