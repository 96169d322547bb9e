//! One seed in, the same bytes out.

mod common;
use common::run_specs;
use hormesis::run::compare;

const SPIKE: &str = "load-spike:at=60s,for=10s,factor=3";

#[test]
fn the_same_seed_gives_the_same_digest_and_windows() {
    let a = run_specs("retry-storm", &[SPIKE], &[], 11);
    let b = run_specs("retry-storm", &[SPIKE], &[], 11);
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.windows, b.windows);
    assert_eq!(
        a.control.as_ref().unwrap().digest,
        b.control.as_ref().unwrap().digest
    );
    assert!(compare(&a, &b).deterministic);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap(),
        "the whole JSON report is byte-identical"
    );
}

#[test]
fn another_seed_or_schedule_changes_the_digest() {
    let a = run_specs("retry-storm", &[SPIKE], &[], 11);
    let other_seed = run_specs("retry-storm", &[SPIKE], &[], 12);
    let other_schedule = run_specs(
        "retry-storm",
        &["load-spike:at=60s,for=9s,factor=3"],
        &[],
        11,
    );
    assert_ne!(a.digest, other_seed.digest);
    assert_ne!(a.digest, other_schedule.digest);
}

#[test]
fn a_difference_is_located_at_its_first_window() {
    let a = run_specs("retry-storm", &[], &[], 3);
    let mut b = a.clone();
    b.windows[17].goodput += 1;
    b.digest = "changed".into();
    let check = compare(&a, &b);
    assert!(!check.deterministic);
    assert_eq!(check.first_different_window, Some(17));
    assert_eq!(check.which, Some("run"));
}

#[test]
fn a_longer_shared_control_judges_exactly_as_the_runs_own() {
    use hormesis::run::{self, RunPlan};
    use hormesis_faults::Schedule;
    let scenario = hormesis::scenarios::find("retry-storm").unwrap();
    let plan = |specs: &[&str]| {
        RunPlan::of(scenario)
            .schedule(Schedule::from_specs(specs).unwrap())
            .located("t", None)
            .seed(5)
            .build()
            .unwrap()
    };
    let short = plan(&["load-spike:at=40s,for=4s,factor=3"]);
    let long = plan(&["load-spike:at=40s,for=60s,factor=1.1"]);
    let shared = run::control(&long, run::end_of(&long).unwrap()).unwrap();
    let own = run::run(&short).unwrap();
    let reused = run::run_with_control(&short, Some(&shared)).unwrap();
    assert_eq!(reused.digest, own.digest);
    assert_eq!(reused.verdict, own.verdict);
    let (a, b) = (own.control.unwrap(), reused.control.unwrap());
    assert_eq!(a.figures, b.figures);
    assert_eq!(
        a.windows, b.windows,
        "a control's prefix does not depend on its end"
    );
}

/// Every built-in scenario, under its documented trigger, with and without
/// each mitigation: services that spawn tasks, share pools and learn must
/// still replay byte for byte.
#[test]
fn every_builtin_scenario_replays_byte_for_byte() {
    for scenario in hormesis::scenarios::builtin() {
        let trigger = scenario.trigger();
        let specs: Vec<&str> = trigger.iter().map(String::as_str).collect();
        let mitigations = scenario
            .params()
            .into_iter()
            .find(|p| p.name == "mitigation")
            .map(|p| match p.kind {
                hormesis::scenario::ParamKind::Choice { options } => options.to_vec(),
                _ => vec![],
            })
            .unwrap_or_default();
        for mitigation in mitigations {
            let set = format!("mitigation={mitigation}");
            let a = run_specs(scenario.name(), &specs, &[set.as_str()], 3);
            let b = run_specs(scenario.name(), &specs, &[set.as_str()], 3);
            assert_eq!(
                a.digest,
                b.digest,
                "{} with {set}: two runs of seed 3 differ",
                scenario.name()
            );
        }
    }
}
