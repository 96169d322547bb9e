//! Issue 14's reproducers, each as the user typed it: a verdict that must
//! not pass a dead or noisy system, and inputs that must not hurt (no
//! panic, no destroyed file, no unbounded work, nothing lost).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn hormesis_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("hostile")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exit 0, 1 or 2 with no panic (101) and no Rust panic text.
fn no_panic(o: &Output) {
    let t = text(o);
    assert!(
        matches!(o.status.code(), Some(0..=2)),
        "exit {:?}: {t}",
        o.status.code()
    );
    assert!(!t.contains("panicked"), "{t}");
}

/// Refused as bad input (exit 2), saying `needle`.
fn refused(o: &Output, needle: &str) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains(needle), "expected `{needle}` in: {t}");
}

fn run_schedule(dir: &Path, file: &str) -> Output {
    hormesis_in(
        dir,
        &["run", "--scenario", "retry-storm", "--schedule", file],
    )
}

/// A schedule of `n` identical overlapping load spikes.
fn spikes(n: usize, factor: f64) -> String {
    let mut yaml = String::from("version: 1\nevents:\n");
    for _ in 0..n {
        yaml +=
            &format!("  - at: 60s\n    for: 10s\n    fault: load-spike\n    factor: {factor}\n");
    }
    yaml
}

fn leftover_temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && (n.ends_with(".tmp") || n.contains(".tmp-")))
        .collect()
}

const REPLAY_GUARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../replays/retry-storm/spike-retry-budget.yaml"
);

// D1: a service that answers nothing is never stable, and no guard passes on it.
#[test]
fn a_dead_service_is_an_unhealthy_baseline_not_stable() {
    let dir = scratch("dead");
    let o = hormesis_in(
        &dir,
        &[
            "run",
            "--scenario",
            "retry-storm",
            "--set",
            "workers=1",
            "--set",
            "service_time=10s",
            "--json",
            "dead.json",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.starts_with("UNHEALTHY-BASELINE"), "{t}");
    assert!(t.contains("G0 = 0"), "{t}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("dead.json")).unwrap()).unwrap();
    assert_eq!(v["verdict"]["class"], "unhealthy-baseline");
    assert!(v["verdict"]["unhealthy"].as_str().unwrap().contains("G0"));

    let o = hormesis_in(
        &dir,
        &[
            "replay",
            REPLAY_GUARD,
            "--set",
            "workers=1",
            "--set",
            "service_time=10s",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("REGRESSION: unhealthy baseline"), "{t}");
}

// D1: collapsed during the warm-up (offered far beyond capacity). Its
// queue grows without bound, so the run may end at the simulation's memory
// budget (issue 29, E3) before its verdict: never stable either way.
#[test]
fn a_system_collapsed_before_the_fault_is_never_stable() {
    let dir = scratch("collapsed");
    let o = hormesis_in(
        &dir,
        &["run", "--scenario", "retry-storm", "--set", "rate=10000"],
    );
    let t = text(&o);
    match o.status.code() {
        Some(1) => assert!(t.starts_with("UNHEALTHY-BASELINE"), "{t}"),
        Some(2) => assert!(t.contains("more than a simulation can hold"), "{t}"),
        other => panic!("exit {other:?}: {t}"),
    }
    let o = hormesis_in(
        &dir,
        &["run", "--scenario", "retry-storm", "--set", "rate=2000"],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.starts_with("UNHEALTHY-BASELINE"), "{t}");
}

// D2: healthy low-rate runs without faults are stable on every seed the
// issue listed; a rate too low for the default warm-up is refused with the
// settings that would do.
#[test]
fn low_rates_judge_healthy_runs_stable_or_say_what_they_need() {
    let dir = scratch("low-rate");
    for rate in ["5", "10", "20"] {
        for seed in ["1", "2", "3"] {
            let o = hormesis_in(
                &dir,
                &[
                    "run",
                    "--scenario",
                    "retry-storm",
                    "--set",
                    &format!("rate={rate}"),
                    "--seed",
                    seed,
                ],
            );
            let t = text(&o);
            assert_eq!(o.status.code(), Some(0), "rate {rate} seed {seed}: {t}");
            assert!(t.starts_with("STABLE"), "rate {rate} seed {seed}: {t}");
        }
    }
    let o = hormesis_in(
        &dir,
        &["run", "--scenario", "retry-storm", "--set", "rate=0.5"],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("too low to judge"), "{t}");
    assert!(t.contains("--set horizon=400s"), "{t}");
    // What it asks for works.
    let o = hormesis_in(
        &dir,
        &[
            "run",
            "--scenario",
            "retry-storm",
            "--set",
            "rate=0.5",
            "--set",
            "warmup=202s",
            "--set",
            "horizon=400s",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("judged on"), "{t}");
}

// D3: devices and links are never replaced; a planted temporary is never
// written through.
#[cfg(unix)]
#[test]
fn outputs_never_replace_devices_or_follow_links() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch("devices");
    let o = hormesis_in(
        &dir,
        &["run", "--scenario", "retry-storm", "--json", "/dev/null"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(std::fs::symlink_metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    if Path::new("/dev/full").exists() {
        let o = hormesis_in(
            &dir,
            &["run", "--scenario", "retry-storm", "--json", "/dev/full"],
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(std::fs::symlink_metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device());
    }
    // A FIFO (what `--json >(jq .)` passes) is written in place.
    let script = format!(
        "mkfifo out.fifo && {{ cat out.fifo > got.json & }} && '{}' run --scenario retry-storm --json out.fifo; echo rc=$?; wait",
        env!("CARGO_BIN_EXE_hormesis")
    );
    let o = Command::new("bash")
        .args(["-c", &script])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(text(&o).contains("rc=0"), "{}", text(&o));
    assert!(std::fs::symlink_metadata(dir.join("out.fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(std::fs::read_to_string(dir.join("got.json"))
        .unwrap()
        .contains("\"verdict\""));
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("out.json")).unwrap();
    let o = hormesis_in(
        &dir,
        &["run", "--scenario", "retry-storm", "--json", "out.json"],
    );
    refused(&o, "symbolic link");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // The old writer's temporary name, planted as a link.
    for pid in 0..3 {
        let _ = std::os::unix::fs::symlink(&victim, dir.join(format!(".o.json.tmp-{pid}")));
    }
    let o = hormesis_in(
        &dir,
        &["run", "--scenario", "retry-storm", "--json", "o.json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::read_to_string(dir.join("o.json"))
        .unwrap()
        .contains("\"verdict\""));
}

// D10: an output that is an input is refused before anything runs.
#[test]
fn outputs_never_overwrite_their_own_inputs() {
    let dir = scratch("inputs");
    let o = hormesis_in(
        &dir,
        &[
            "run",
            "--scenario",
            "retry-storm",
            "--seed",
            "7",
            "--fault",
            "load-spike:at=60s,for=10s,factor=3",
            "--json",
            "r.json",
            "--record",
            "inc.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    std::fs::write(
        dir.join("s.yaml"),
        "version: 1\nevents:\n  - at: 60s\n    for: 10s\n    fault: load-spike\n    factor: 3\n",
    )
    .unwrap();
    let before: Vec<(String, String)> = ["inc.yaml", "r.json", "s.yaml"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(dir.join(f)).unwrap()))
        .collect();
    for args in [
        &["report", "inc.yaml", "-o", "inc.yaml"][..],
        &["report", "r.json", "-o", "r.json"],
        &["report", "r.json", "-o", "x.html", "--svg", "r.json"],
        &["report", "r.json", "-o", "x.html", "--svg", "x.html"],
        &[
            "run",
            "--scenario",
            "retry-storm",
            "--schedule",
            "s.yaml",
            "--json",
            "s.yaml",
        ],
        &["shrink", "inc.yaml", "-o", "inc.yaml"],
        &["replay", "inc.yaml", "--junit", "inc.yaml"],
    ] {
        let o = hormesis_in(&dir, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("input") || text(&o).contains("own file"),
            "{args:?}: {}",
            text(&o)
        );
    }
    for (f, content) in before {
        assert_eq!(
            std::fs::read_to_string(dir.join(&f)).unwrap(),
            content,
            "{f}"
        );
    }
    assert!(!dir.join("x.html").exists());
    assert!(leftover_temporaries(&dir).is_empty());
}

// D4: durations that overflow are refused from every input form.
#[test]
fn overflowing_durations_are_refused_not_panics() {
    let dir = scratch("durations");
    let huge = "18446744073709551615s";
    for spec in [
        format!("load-spike:at=60s,for={huge},factor=3"),
        format!("load-spike:at={huge},for=1s,factor=3"),
    ] {
        let o = hormesis_in(
            &dir,
            &["run", "--scenario", "retry-storm", "--fault", &spec],
        );
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    }
    std::fs::write(
        dir.join("s.yaml"),
        format!("version: 1\nevents:\n  - at: 60s\n    for: {huge}\n    fault: load-spike\n    factor: 3\n"),
    )
    .unwrap();
    let o = run_schedule(&dir, "s.yaml");
    no_panic(&o);
    assert!(text(&o).contains("s.yaml:4"), "{}", text(&o));
    // An incident with one, inside a folder: replay lists the bad file.
    let good = std::fs::read_to_string(REPLAY_GUARD).unwrap();
    std::fs::create_dir_all(dir.join("inc")).unwrap();
    let bad = good.replacen("for: 2s", &format!("for: {huge}"), 1);
    assert_ne!(bad, good);
    std::fs::write(dir.join("inc/bad.yaml"), bad).unwrap();
    for args in [
        &["replay", "inc"][..],
        &["shrink", "inc/bad.yaml"],
        &["report", "inc/bad.yaml", "-o", "r.html"],
    ] {
        let o = hormesis_in(&dir, args);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("bad.yaml"), "{args:?}: {}", text(&o));
    }
    std::fs::write(dir.join("t.csv"), "time,offered\n0,100\n1,300\n").unwrap();
    let o = hormesis_in(
        &dir,
        &[
            "import",
            "t.csv",
            "--scenario",
            "retry-storm",
            "-o",
            "i.yaml",
            "--at",
            huge,
        ],
    );
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

// D5: the seed pool is bounded, and a large one costs only what the budget reaches.
#[test]
fn seed_pools_are_bounded_and_cost_only_what_runs_use() {
    let dir = scratch("seeds");
    let o = hormesis_in(
        &dir,
        &[
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "1",
            "--seeds",
            "18446744073709551615",
        ],
    );
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = hormesis_in(
        &dir,
        &[
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "2",
            "--seeds",
            "100000",
            "--jobs",
            "1",
            "--json",
            "e.json",
        ],
    );
    no_panic(&o);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("e.json")).unwrap()).unwrap();
    assert_eq!(v["summary"]["runs"], 2);
    assert_eq!(v["seeds"], 100000);
    let o = hormesis_in(
        &dir,
        &[
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "1",
            "--jobs",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

// D6: overlapping load factors and offered rates that would fill memory.
#[test]
fn load_that_would_fill_memory_is_refused_or_ends_the_run() {
    let dir = scratch("load");
    let o = hormesis_in(
        &dir,
        &[
            "run",
            "--scenario",
            "retry-storm",
            "--fault",
            "load-spike:at=40s,for=30s,factor=1000",
            "--fault",
            "load-spike:at=50s,for=30s,factor=1000",
        ],
    );
    refused(&o, "multiply");
    let o = hormesis_in(
        &dir,
        &["run", "--scenario", "retry-storm", "--set", "rate=100000"],
    );
    refused(&o, "in flight");
    // In an exploration it is that run's error, and the exploration goes on.
    let o = hormesis_in(
        &dir,
        &[
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "2",
            "--set",
            "rate=100000",
            "--json",
            "e.json",
        ],
    );
    no_panic(&o);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("e.json")).unwrap()).unwrap();
    assert_eq!(v["summary"]["errors"], 2, "{v}");
}

// D7: a closed stdout loses text, never the files or the exit code.
#[cfg(unix)]
#[test]
fn a_closed_stdout_keeps_the_files() {
    let dir = scratch("pipe");
    let script = format!(
        "'{}' run --scenario retry-storm --seed 7 --fault 'load-spike:at=60s,for=10s,factor=3' --json o.json --record o.yaml | true; echo \"rc=${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_hormesis")
    );
    let o = Command::new("bash")
        .args(["-c", &script])
        .current_dir(&dir)
        .output()
        .unwrap();
    let t = text(&o);
    assert!(t.contains("rc=1"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
    assert!(dir.join("o.json").exists() && dir.join("o.yaml").exists());
    if Path::new("/dev/full").exists() {
        let o = Command::new("bash")
            .args([
                "-c",
                &format!("'{}' scenarios > /dev/full", env!("CARGO_BIN_EXE_hormesis")),
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(!text(&o).contains("panicked"));
    }
}

// D8: a bad output path is found before the work, not after.
#[test]
fn bad_output_paths_fail_before_any_run() {
    let dir = scratch("preflight");
    std::fs::write(dir.join("a-file"), "x").unwrap();
    for args in [
        &[
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "1000",
            "--json",
            "nodir/e.json",
        ][..],
        &[
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "1000",
            "--incidents",
            "a-file",
        ],
        &["run", "--scenario", "retry-storm", "--json", "nodir/x.json"],
        &[
            "run",
            "--scenario",
            "retry-storm",
            "--record",
            "a-file/x.yaml",
        ],
    ] {
        let o = hormesis_in(&dir, args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(
            !t.contains("running") && !t.contains("[   1/"),
            "{args:?}: {t}"
        );
    }
    // Incident files are written with their missing folders, as before.
    let o = hormesis_in(
        &dir,
        &[
            "run",
            "--scenario",
            "retry-storm",
            "--record",
            "new/sub/x.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(dir.join("new/sub/x.yaml").is_file());
}

// D9: legal parameters never make the explorer build schedules it refuses.
#[test]
fn the_explorer_fits_its_arms_to_the_parameters() {
    let dir = scratch("arms");
    for sets in [&["horizon=3600s"][..], &["warmup=600s", "horizon=2980s"]] {
        let mut args = vec![
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "4",
            "--json",
            "e.json",
        ];
        for s in sets {
            args.extend(["--set", s]);
        }
        let o = hormesis_in(&dir, &args);
        no_panic(&o);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("e.json")).unwrap()).unwrap();
        assert_eq!(v["summary"]["runs"], 4, "{sets:?}");
        assert_eq!(v["summary"]["errors"], 0, "{sets:?}: {v}");
        assert_eq!(v["set"].as_array().unwrap().len(), sets.len());
    }
}

// D11: SIGTERM stops an exploration like Ctrl-C; a second signal exits 130
// without writing a result.
#[cfg(unix)]
#[test]
fn signals_stop_cleanly_once_and_abort_twice() {
    use std::io::{BufRead, BufReader};
    let dir = scratch("signals");
    let spawn = |json: &str| {
        Command::new(env!("CARGO_BIN_EXE_hormesis"))
            .args([
                "explore",
                "--scenario",
                "gc-pressure",
                "--budget",
                "1000",
                "--jobs",
                "1",
                // Long runs (~10 min simulated each): a batch lasts seconds,
                // so the second signal lands inside it however loaded the
                // machine is.
                "--set",
                "horizon=600s",
                "--json",
                json,
            ])
            .current_dir(&dir)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let wait_for_runs = |child: &mut std::process::Child| {
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        for line in lines.by_ref() {
            if line.unwrap().contains("[   2/1000]") {
                break;
            }
        }
        lines
    };
    let kill = |sig: &str, pid: u32| {
        assert!(Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success())
    };
    // Once: stops after the batch, writes a JSON that says so.
    let mut child = spawn("once.json");
    let lines = wait_for_runs(&mut child);
    kill("-TERM", child.id());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(rest
        .join("\n")
        .contains("stopping after the runs in flight"));
    assert_ne!(
        status.code(),
        Some(0),
        "a cancelled exploration never passes"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("once.json")).unwrap()).unwrap();
    assert_eq!(v["stopped_early"], true);
    // Twice: exit 130, no JSON, no temporary left.
    let mut child = spawn("twice.json");
    let lines = wait_for_runs(&mut child);
    kill("-TERM", child.id());
    kill("-INT", child.id());
    let _: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!dir.join("twice.json").exists());
    assert!(leftover_temporaries(&dir).is_empty());
}

// D12: shrink reaches 100 ms whatever the starting duration.
#[test]
fn shrink_refines_below_the_starting_step() {
    let dir = scratch("shrink");
    let o = hormesis_in(
        &dir,
        &[
            "run",
            "--scenario",
            "retry-storm",
            "--seed",
            "9912024499324999787",
            "--fault",
            "crash:at=43s,for=6s,host=server",
            "--record",
            "c.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = hormesis_in(&dir, &["shrink", "c.yaml", "-o", "s.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("crash:at=43s,for=1500ms,host=server"),
        "{}",
        text(&o)
    );
}

// D13: merge refuses shards of different explorations; its output reads as
// an exploration; hand-edited scores are refused.
#[test]
fn merge_checks_parameters_and_its_output_is_readable() {
    let dir = scratch("merge");
    for (i, rate) in [(0, "120"), (1, "100")] {
        let o = hormesis_in(
            &dir,
            &[
                "explore",
                "--scenario",
                "retry-storm",
                "--budget",
                "2",
                "--shard",
                &format!("{i}/2"),
                "--set",
                &format!("rate={rate}"),
                "--json",
                &format!("s{i}.json"),
            ],
        );
        no_panic(&o);
    }
    let o = hormesis_in(&dir, &["merge", "s0.json", "s1.json"]);
    refused(&o, "--set");
    let o = hormesis_in(
        &dir,
        &[
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "2",
            "--shard",
            "1/2",
            "--set",
            "rate=120",
            "--json",
            "s1.json",
        ],
    );
    no_panic(&o);
    let o = hormesis_in(&dir, &["merge", "s0.json", "s1.json", "--json", "m.json"]);
    no_panic(&o);
    let o = hormesis_in(&dir, &["report", "m.json", "-o", "m.html"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = hormesis_in(
        &dir,
        &[
            "triage",
            "m.json",
            "--known",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../replays"),
        ],
    );
    no_panic(&o);
    if text(&o).contains("keep ") {
        assert!(text(&o).contains("--set 'rate=120'"), "{}", text(&o));
    }
    let o = hormesis_in(&dir, &["merge", "m.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("merged already"), "{}", text(&o));
    let o = hormesis_in(&dir, &["report", "m.json", "-o", "-"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("<!DOCTYPE html>"));
    assert!(!dir.join("-").exists());
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("s0.json")).unwrap()).unwrap();
    edited["runs"][0]["score"] = serde_json::json!(1e308);
    std::fs::write(dir.join("bad.json"), edited.to_string()).unwrap();
    let o = hormesis_in(
        &dir,
        &[
            "triage",
            "bad.json",
            "--known",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../replays"),
        ],
    );
    refused(&o, "not in [0, 1]");
}

// D14: unbounded inputs are refused, not read.
#[cfg(unix)]
#[test]
fn devices_and_fifos_are_not_read_as_files() {
    let dir = scratch("reads");
    let o = run_schedule(&dir, "/dev/zero");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = hormesis_in(&dir, &["replay", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    std::fs::create_dir_all(dir.join("inc")).unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.join("inc/pipe.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    let o = hormesis_in(&dir, &["replay", "inc"]);
    refused(&o, "pipe.yaml");
    // Deep nesting is refused by a linear scan (200 KB of `[` took 30 s).
    std::fs::write(
        dir.join("deep.yaml"),
        format!("version: 1\nevents: {}\n", "[".repeat(200_000)),
    )
    .unwrap();
    let o = run_schedule(&dir, "deep.yaml");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("deep.yaml:2: nested deeper"),
        "{}",
        text(&o)
    );
    // A 50 MB schedule is refused by its size, not loaded.
    let big = std::fs::File::create(dir.join("big.yaml")).unwrap();
    big.set_len(50 << 20).unwrap();
    let o = run_schedule(&dir, "big.yaml");
    refused(&o, "MiB");
    // A megabyte value is quoted by its start only.
    std::fs::write(
        dir.join("long.yaml"),
        format!(
            "version: 1\nevents:\n  - at: 60s\n    for: 1s\n    fault: crash\n    host: {}\n",
            "x".repeat(1 << 20)
        ),
    )
    .unwrap();
    let o = run_schedule(&dir, "long.yaml");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).len() < 4000, "{} bytes of error", text(&o).len());
}

// D6: ten thousand tiny overlapping spikes, or a few hundred that multiply
// past the cap, are refused before the run.
#[test]
fn schedules_are_bounded_in_events_and_in_load() {
    let dir = scratch("events");
    std::fs::write(dir.join("many.yaml"), spikes(10_000, 1.001)).unwrap();
    refused(&run_schedule(&dir, "many.yaml"), "at most 1000 events");
    std::fs::write(dir.join("product.yaml"), spikes(800, 1.01)).unwrap();
    refused(&run_schedule(&dir, "product.yaml"), "multiply");
}

// D18: a score out of range in an incident file is refused with its line.
#[test]
fn an_incident_expecting_an_impossible_score_is_refused() {
    let dir = scratch("max-score");
    let good = std::fs::read_to_string(REPLAY_GUARD).unwrap();
    let bad = good.replacen("  recovers-within: 60s", "  max-score: 5", 1);
    assert_ne!(bad, good);
    std::fs::write(dir.join("bad.yaml"), &bad).unwrap();
    let line = bad.lines().position(|l| l.contains("max-score")).unwrap() + 1;
    let o = hormesis_in(&dir, &["replay", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("bad.yaml:{line}: `max-score: 5`")),
        "{}",
        text(&o)
    );
}

// D16, D17, D18: a byte-order mark, a link loop, *.YAML, single messages.
#[cfg(unix)]
#[test]
fn small_input_traps() {
    let dir = scratch("traps");
    std::fs::write(
        dir.join("bom.yaml"),
        "\u{feff}version: 1\nevents:\n  - at: 60s\n    for: 10s\n    fault: load-spike\n    factor: 3\n",
    )
    .unwrap();
    let o = hormesis_in(
        &dir,
        &[
            "run",
            "--scenario",
            "retry-storm",
            "--seed",
            "7",
            "--schedule",
            "bom.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    std::fs::create_dir_all(dir.join("inc")).unwrap();
    std::fs::copy(REPLAY_GUARD, dir.join("inc/GUARD.YAML")).unwrap();
    std::os::unix::fs::symlink(dir.join("inc"), dir.join("inc/loop")).unwrap();
    let o = hormesis_in(&dir, &["replay", "inc"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("1 incidents, 1 passed"), "{t}");
    let o = hormesis_in(
        &dir,
        &["run", "--scenario", "retry-storm", "--set", "retries=abc"],
    );
    let t = text(&o);
    assert_eq!(t.matches("expected a whole number").count(), 1, "{t}");
    // Errors name their line: flow-style events, a fault at 0s, a bad CSV host.
    std::fs::write(
        dir.join("flow.yaml"),
        "version: 1\nevents: [{at: 60s, for: 10s, fault: load-spike, factor: -3}]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("zero.yaml"),
        "version: 1\nevents:\n  - at: 0s\n    for: 10s\n    fault: load-spike\n    factor: 3\n",
    )
    .unwrap();
    for (file, line) in [("flow.yaml", "flow.yaml:2:"), ("zero.yaml", "zero.yaml:3:")] {
        let o = run_schedule(&dir, file);
        refused(&o, line);
    }
    std::fs::write(
        dir.join("t.csv"),
        "time,offered,event\n0,100,\n1,300,node-down:nohost\n",
    )
    .unwrap();
    let o = hormesis_in(
        &dir,
        &[
            "import",
            "t.csv",
            "--scenario",
            "retry-storm",
            "-o",
            "i.yaml",
        ],
    );
    assert!(text(&o).contains("t.csv:3:"), "{}", text(&o));
    let o = hormesis_in(
        &dir,
        &[
            "import",
            "t.csv",
            "--scenario",
            "retry-storm",
            "-o",
            "i.yaml",
            "--baseline",
            "0",
        ],
    );
    assert!(text(&o).contains("--baseline 0"), "{}", text(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .arg("scenarios")
        .env("RUST_LOG", "foo=[")
        .output()
        .unwrap();
    assert!(text(&o).contains("RUST_LOG `foo=[`"), "{}", text(&o));
}
