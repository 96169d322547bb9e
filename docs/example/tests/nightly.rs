//! The nightly job for a repository of one's own: `ci/nightly.sh` given the
//! quote service's binary, its scenario and its kept incidents (the inputs
//! a copy of `ci/` changes) explores, replays and triages them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn nightly(out: &Path, replays: &Path) -> (Option<i32>, String, String) {
    let _ = std::fs::remove_dir_all(out);
    let o = Command::new(workspace().join("ci/nightly.sh"))
        .args(["--budget", "6", "--shards", "1"])
        .arg("--out")
        .arg(out)
        .env("HORMESIS_BIN", env!("CARGO_BIN_EXE_hormesis-quotes"))
        .env("HORMESIS_REPLAYS", replays)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_nightly_job_runs_on_the_users_own_binary_and_incidents() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let out = tmp.join("quotes-nightly");
    let replays = Path::new(env!("CARGO_MANIFEST_DIR")).join("replays");
    let (code, stdout, stderr) = nightly(&out, &replays);
    // Every fault that tips the quote service tips the one loop its kept
    // incidents pin down, so nothing is new.
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
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
        !findings.is_empty() && findings.iter().all(|f| !f["known_in"].is_null()),
        "the kept incidents' mode is known: {triage:#}"
    );

    // With no incidents kept, the same mode is new, and the keep line names
    // the user's binary and folder.
    let empty = tmp.join("quotes-kept-none");
    let _ = std::fs::remove_dir_all(&empty);
    std::fs::create_dir_all(&empty).unwrap();
    let (code, stdout, stderr) = nightly(&out, &empty);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("keep quotes")
            && stdout.contains(": hormesis-quotes run --scenario quotes --seed"),
        "keep lines name the binary: {stdout}"
    );
    assert!(
        stdout.contains(&format!("--record {}/quotes/NAME.yaml", empty.display())),
        "and the folder of kept incidents: {stdout}"
    );
}
