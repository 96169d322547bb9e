//! The nightly job for a repository of one's own: `ci/nightly.sh` given the
//! quote service's binary, its scenario and its kept incidents (the inputs
//! a copy of `ci/` changes) explores, replays and triages them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_nightly_job_runs_on_the_users_own_binary_and_incidents() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("quotes-nightly");
    let _ = std::fs::remove_dir_all(&out);
    let replays = Path::new(env!("CARGO_MANIFEST_DIR")).join("replays");
    let o = Command::new(workspace().join("ci/nightly.sh"))
        .args(["--time", "1s", "--shards", "1"])
        .arg("--out")
        .arg(&out)
        .env("HORMESIS_BIN", env!("CARGO_BIN_EXE_hormesis-quotes"))
        .env("HORMESIS_REPLAYS", &replays)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    // The quote service tips under faults its three kept incidents do not
    // cover (a crash, latency, ...): new failure modes, exit 1.
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    for file in [
        "quotes/shard-0.json",
        "quotes/explore.json",
        "quotes/report.html",
        "replays.xml",
        "triage.json",
    ] {
        assert!(
            out.join(file).is_file(),
            "{file} missing\n{stdout}\n{stderr}"
        );
    }
    let junit = std::fs::read_to_string(out.join("replays.xml")).unwrap();
    assert_eq!(
        junit.matches("<testcase").count(),
        3,
        "its own kept incidents"
    );
    assert!(!junit.contains("<failure"), "{junit}");
    let triage: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("triage.json")).unwrap()).unwrap();
    let findings = triage.as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["signature"] == "load-spike" && !f["known_in"].is_null()),
        "the kept spike is known: {triage:#}"
    );
    assert!(
        stdout.contains("keep quotes")
            && stdout.contains(": hormesis-quotes run --scenario quotes --seed"),
        "keep lines name the binary: {stdout}"
    );
    assert!(
        stdout.contains(&format!("--record {}/quotes/NAME.yaml", replays.display())),
        "and the folder of kept incidents: {stdout}"
    );
}
