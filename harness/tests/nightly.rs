//! The nightly pipeline: `ci/nightly.yml` is a valid workflow that runs only
//! commands that exist, and `ci/nightly.sh` runs end to end on one machine.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn hormesis_subcommands() -> Vec<String> {
    let help = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn the_workflow_parses_and_runs_only_commands_that_exist() {
    let text = std::fs::read_to_string(root().join("ci/nightly.yml")).unwrap();
    let w: serde_yaml::Value = serde_yaml::from_str(&text).expect("ci/nightly.yml parses");
    assert!(
        w["on"]["schedule"][0]["cron"].is_string(),
        "runs on a schedule"
    );
    assert!(!w["on"]["workflow_dispatch"].is_null(), "and by hand");
    let jobs = &w["jobs"];
    let matrix: Vec<&str> = jobs["explore"]["strategy"]["matrix"]["scenario"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let builtin: Vec<&str> = hormesis::scenarios::builtin()
        .iter()
        .map(|s| s.name())
        .collect();
    assert_eq!(
        matrix, builtin,
        "the matrix explores every built-in scenario"
    );
    assert!(jobs["explore"]["strategy"]["matrix"]["shard"]
        .as_sequence()
        .is_some_and(|s| s.len() >= 2));
    assert_eq!(jobs["finish"]["needs"].as_str(), Some("explore"));

    let script = std::fs::read_to_string(root().join("ci/nightly.sh")).unwrap();
    let mut runs = 0;
    for job in jobs.as_mapping().unwrap().values() {
        for step in job["steps"].as_sequence().unwrap() {
            let Some(run) = step["run"].as_str() else {
                assert!(step["uses"].is_string(), "a step runs or uses: {step:?}");
                continue;
            };
            runs += 1;
            let words: Vec<&str> = run.split_whitespace().collect();
            match words.first() {
                Some(&"cargo") => assert_eq!(words.get(1), Some(&"build")),
                Some(&"ci/nightly.sh") => {
                    let step = words[1];
                    assert!(
                        script.contains(&format!("{step})")),
                        "ci/nightly.sh has no step `{step}`"
                    );
                }
                other => panic!("unexpected command in the workflow: {other:?}"),
            }
        }
    }
    assert!(runs >= 4);
    // Every hormesis subcommand the script calls exists.
    let known = hormesis_subcommands();
    assert!(known.contains(&"explore".to_string()), "{known:?}");
    for call in script.split("\"$bin\" ").skip(1) {
        let sub = call.split_whitespace().next().unwrap();
        assert!(
            known.iter().any(|k| k == sub),
            "hormesis {sub} does not exist"
        );
    }
}

#[test]
fn the_nightly_pipeline_runs_on_one_machine() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("nightly");
    let _ = std::fs::remove_dir_all(&out);
    let o = Command::new(root().join("ci/nightly.sh"))
        .args([
            "--time",
            "1s",
            "--shards",
            "2",
            "--scenarios",
            "gc-pressure",
        ])
        .arg("--out")
        .arg(&out)
        .env("HORMESIS_BIN", env!("CARGO_BIN_EXE_hormesis"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    let code = o.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{code:?}\n{stdout}\n{stderr}"
    );
    for file in [
        "gc-pressure/shard-0.json",
        "gc-pressure/shard-1.json",
        "gc-pressure/explore.json",
        "gc-pressure/report.html",
        "replays.xml",
        "triage.json",
    ] {
        assert!(
            out.join(file).is_file(),
            "{file} missing\n{stdout}\n{stderr}"
        );
    }
    let triage: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("triage.json")).unwrap()).unwrap();
    let findings = triage.as_array().unwrap();
    assert!(!findings.is_empty(), "gc-pressure tips under many faults");
    let new = findings.iter().filter(|f| f["known_in"].is_null()).count();
    // Exit 1 exactly when something is new (replays/ passes on this build).
    assert_eq!(code == Some(1), new > 0, "{stdout}\n{stderr}");
    // The documented trigger is kept in replays/ (`found.mechanism:
    // memory-pressure`), so every spelling of that loop is known.
    assert!(
        findings
            .iter()
            .filter(|f| f["signature"] == "memory-pressure")
            .all(|f| !f["known_in"].is_null()),
        "{triage:#}"
    );
    let junit = std::fs::read_to_string(out.join("replays.xml")).unwrap();
    assert!(junit.contains("<testcase") && !junit.contains("<failure"));
}

/// `finish --check-fidelity` fails on a kept incident whose verdict holds
/// only at its scenario's coarse step: mru-pool's old trap (docs/engines.md).
#[test]
fn the_finish_step_can_check_fidelity() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("nightly-fidelity");
    let _ = std::fs::remove_dir_all(&base);
    let (kept, out) = (base.join("kept"), base.join("out"));
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(
        root().join("harness/tests/fixtures/mru-pool-tick-artifact.yaml"),
        kept.join("mru-trap.yaml"),
    )
    .unwrap();
    let finish = |extra: &[&str]| {
        Command::new(root().join("ci/nightly.sh"))
            .arg("finish")
            .args(extra)
            .arg("--out")
            .arg(&out)
            .env("HORMESIS_BIN", env!("CARGO_BIN_EXE_hormesis"))
            .env("HORMESIS_REPLAYS", &kept)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let plain = finish(&[]);
    assert_eq!(plain.status.code(), Some(0), "{plain:?}");
    let checked = finish(&["--check-fidelity"]);
    assert_eq!(checked.status.code(), Some(1), "{checked:?}");
    let junit = std::fs::read_to_string(out.join("replays.xml")).unwrap();
    assert!(junit.contains("FIDELITY"), "{junit}");
}

/// A copy of the repository's layout (ci/ and a kept incidents folder with
/// one incident) where the nightly may be run with hostile arguments.
fn layout_copy(name: &str) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("nightly-hostile")
        .join(name);
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(base.join("ci")).unwrap();
    std::fs::create_dir_all(base.join("replays/retry-storm")).unwrap();
    std::fs::create_dir_all(base.join("precious")).unwrap();
    std::fs::copy(root().join("ci/nightly.sh"), base.join("ci/nightly.sh")).unwrap();
    std::fs::copy(
        root().join("replays/retry-storm/spike.yaml"),
        base.join("replays/retry-storm/spike.yaml"),
    )
    .unwrap();
    std::fs::write(base.join("precious/notes.txt"), "mine").unwrap();
    base
}

fn nightly_in(base: &Path, args: &[&str], bin: Option<&str>) -> std::process::Output {
    Command::new(base.join("ci/nightly.sh"))
        .args(args)
        .current_dir(base)
        .env(
            "HORMESIS_BIN",
            bin.unwrap_or(env!("CARGO_BIN_EXE_hormesis")),
        )
        .env("HORMESIS_REPLAYS", "replays")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Issue 29, E2 and E11: the nightly never removes what it did not make,
/// and refuses every odd argument (exit 2) before it explores, builds or
/// removes anything.
#[test]
fn the_nightly_refuses_odd_inputs_and_deletes_nothing_it_did_not_make() {
    let base = layout_copy("refuse");
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--time",
                "1s",
                "--shards",
                "1",
                "--scenarios",
                "nosuch",
                "--out",
                "replays",
            ],
            "not a scenario",
        ),
        (
            &[
                "--time",
                "1s",
                "--shards",
                "1",
                "--scenarios",
                "retry-storm",
                "--out",
                "replays",
            ],
            "not made by ci/nightly.sh",
        ),
        (
            &[
                "--time",
                "1s",
                "--shards",
                "1",
                "--scenarios",
                "retry-storm",
                "--out",
                "precious",
            ],
            "nothing was removed",
        ),
        (&["--shards", "0"], "--shards `0`"),
        (&["--shards", "abc"], "--shards `abc`"),
        (&["--time", "0s"], "--time `0s`"),
        (&["--budget", "0"], "--budget `0`"),
        (&["--time"], "needs a value"),
        (&["--scenarios", ""], "--scenarios is empty"),
        (&["--frobnicate"], "unknown argument"),
    ];
    for (args, needle) in cases {
        let o = nightly_in(&base, args, None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in {err}"
        );
    }
    // A path that is not an executable is refused, never built.
    let not_a_program = base.join("precious/notes.txt");
    let o = nightly_in(&base, &["--time", "1s"], not_a_program.to_str());
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("never built"));
    assert!(base.join("replays/retry-storm/spike.yaml").is_file());
    assert_eq!(
        std::fs::read_to_string(base.join("precious/notes.txt")).unwrap(),
        "mine"
    );
    // The kept incidents inside the output folder: refused too.
    let o = nightly_in(
        &base,
        &["--time", "1s", "--scenarios", "retry-storm", "--out", "."],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(base.join("replays/retry-storm/spike.yaml").is_file());
}

/// Issue 29, E11 and issue 32: with an empty kept-incidents folder the
/// nightly still triages (everything found is new); `--time` bounds the
/// whole shard, smallest-trigger phase included; an earlier night's output
/// is cleared of this script's own files only.
#[test]
fn the_nightly_triages_with_no_kept_incidents_and_reuses_only_its_own_folder() {
    let base = layout_copy("empty");
    std::fs::remove_dir_all(base.join("replays/retry-storm")).unwrap();
    let args = [
        "--budget",
        "3",
        "--shards",
        "1",
        "--scenarios",
        "retry-storm",
        "--out",
        "out",
    ];
    let o = nightly_in(&base, &args, None);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("nothing to replay"), "{err}");
    assert!(base.join("out/triage.json").is_file(), "{err}");
    // A file of the user's own in the output folder survives the next night.
    std::fs::write(base.join("out/mine.txt"), "keep").unwrap();
    let o = nightly_in(&base, &args, None);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(
        std::fs::read_to_string(base.join("out/mine.txt")).unwrap(),
        "keep"
    );
    assert!(base.join("out/retry-storm/shard-0.json").is_file());
}
