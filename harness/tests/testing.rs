//! The `cargo test` API: checks that pass, checks that fail loudly (seed,
//! figures, how to reproduce, an incident on disk), and proptest shrinking
//! a failing schedule.

use hormesis::scenarios::{GcPressure, RetryStorm};
use hormesis::testing::{check, parse_seeds, schedules, stable_under};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

const SPIKE: &str = "load-spike:at=40s,for=5s,factor=3";

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn a_mitigated_storm_recovers_within_its_bound() {
    let reports = check(&RetryStorm)
        .fault(SPIKE)
        .set("mitigation=retry-budget")
        .seeds([1, 2])
        .recovers_within(Duration::from_secs(60));
    if std::env::var_os("HORMESIS_SEED").is_none() && std::env::var_os("HORMESIS_SEEDS").is_none() {
        assert_eq!(reports.iter().map(|r| r.seed).collect::<Vec<_>>(), [1, 2]);
    }
}

#[test]
fn a_failing_check_names_the_seed_the_figures_and_the_replay_and_keeps_the_incident() {
    let failed = catch_unwind(AssertUnwindSafe(|| {
        check(&RetryStorm).fault(SPIKE).seeds([4]).not_metastable();
    }));
    let message = panic_message(failed.expect_err("an unmitigated storm is metastable"));
    for part in [
        "retry-storm should not be metastable on seed 4",
        "but was metastable",
        "score",
        "G0",
        "schedule: load-spike:at=40s,for=5s,factor=3",
        "HORMESIS_SEED=4 cargo test",
        "hormesis replay ",
    ] {
        assert!(message.contains(part), "missing `{part}` in:\n{message}");
    }
    let path = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("incident: "))
        .expect("the incident's path");
    let incident = hormesis::incident::Incident::load(std::path::Path::new(path)).unwrap();
    assert_eq!(incident.seed, 4);
    assert_eq!(incident.scenario, "retry-storm");
    assert!(path.contains("hormesis/incidents"), "{path}");
}

#[test]
fn bad_input_says_what_is_wrong() {
    let failed = catch_unwind(AssertUnwindSafe(|| {
        check(&RetryStorm).fault("load-spike:at=40s,factr=3").run();
    }));
    let message = panic_message(failed.unwrap_err());
    assert!(message.contains("factr"), "{message}");
}

#[test]
fn seeds_parse_as_ranges_or_lists() {
    assert_eq!(parse_seeds("1..4").unwrap(), [1, 2, 3]);
    assert_eq!(parse_seeds("1..=3").unwrap(), [1, 2, 3]);
    assert_eq!(parse_seeds(" 5, 9 ,2").unwrap(), [5, 9, 2]);
    assert!(parse_seeds("3..3").is_err());
    assert!(parse_seeds("one").unwrap_err().contains("1,5,9"));
}

/// proptest finds a schedule that tips gc-pressure and shrinks it: the
/// reported schedule is a single event, smaller than what failed first.
#[test]
fn proptest_shrinks_a_failing_schedule_to_a_minimal_one() {
    let strategy = schedules(&GcPressure, &[], 2, Duration::from_secs(40)).unwrap();
    let failed = catch_unwind(AssertUnwindSafe(|| {
        stable_under(check(&GcPressure).seeds([1]), strategy, 16, 24, 7);
    }));
    let message = panic_message(failed.expect_err("gc-pressure tips under some schedule"));
    assert!(
        message.contains("smallest of the failing schedules"),
        "{message}"
    );
    let schedule = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("schedule: "))
        .expect("the schedule")
        .to_string();
    assert_eq!(
        schedule.split_whitespace().count(),
        1,
        "shrunk to one event: {message}"
    );
}
