//! The kept incidents are tests that can fail: an incident whose
//! expectation no longer holds fails, naming itself, its seed and how to
//! rerun it.

use hormesis::registry::Registry;
use hormesis::testing::kept_incidents;
use hormesis_example::scenario::Quotes;
use std::path::{Path, PathBuf};

fn kept_spike() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("replays/spike.yaml"))
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hormesis-example-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pinned")).unwrap();
    dir
}

#[test]
fn a_flipped_expectation_fails_its_named_test() {
    let registry = Registry::new(&[&Quotes]).unwrap();
    let kept = kept_spike();
    let flipped = kept.replace("expect:\n  class: metastable", "expect:\n  class: stable");
    assert_ne!(kept, flipped, "the kept spike expects metastable");
    let dir = scratch("flipped");
    std::fs::write(dir.join("pinned/spike.yaml"), &flipped).unwrap();
    let flipped = kept_incidents(&dir, &registry, &[]).unwrap();
    std::fs::write(dir.join("pinned/spike.yaml"), &kept).unwrap();
    let kept = kept_incidents(&dir, &registry, &[]).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(flipped.len(), 1);
    assert_eq!(flipped[0].name, "pinned/spike");
    let why = flipped[0].check(&registry).unwrap_err();
    for needle in [
        "expected: stable",
        "got: metastable",
        "seed: 2",
        "cargo test -- --exact pinned/spike",
    ] {
        assert!(why.contains(needle), "`{needle}` in {why}");
    }
    assert_eq!(kept[0].check(&registry), Ok(()));
}

#[test]
fn an_incident_of_an_unknown_scenario_is_refused_before_any_test() {
    let dir = scratch("unknown");
    let other = kept_spike().replace("scenario: quotes", "scenario: prices");
    std::fs::write(dir.join("pinned/other.yaml"), other).unwrap();
    let refused = kept_incidents(&dir, &Registry::new(&[&Quotes]).unwrap(), &[]).map(|k| k.len());
    std::fs::remove_dir_all(&dir).unwrap();
    let message = refused.unwrap_err();
    assert!(
        message.contains("unknown scenario `prices`; known scenarios: quotes"),
        "{message}"
    );
    assert!(message.contains("other.yaml"), "{message}");
}
