//! Every built-in trigger and every kept replay holds its verdict at a
//! fifth of turmoil's step, except the known artifacts listed here (which
//! must still be flagged, so the list stays true): a finding that exists
//! only at the coarse step is the simulator's, not the system's.

use hormesis::engine::EngineKind;
use hormesis::incident::Incident;
use hormesis::registry::Registry;
use hormesis::run::{self, RunPlan};
use hormesis_faults::Schedule;
use std::path::Path;

/// mru-pool's trap needs turmoil's 10 ms step (docs/engines.md).
const ARTIFACT_SCENARIOS: [&str; 1] = ["mru-pool"];
const ARTIFACT_REPLAYS: [&str; 1] = ["mru-pool/trigger.yaml"];

fn same_at_a_fifth(plan: &RunPlan<'_>) -> (String, String) {
    let coarse = run::run(plan).unwrap();
    let fine = run::run(&plan.finer(5).unwrap()).unwrap();
    (
        coarse.verdict.class.name().to_string(),
        fine.verdict.class.name().to_string(),
    )
}

#[test]
fn every_builtin_trigger_keeps_its_verdict_at_a_fifth_of_the_step() {
    for scenario in hormesis::scenarios::builtin() {
        let plan = RunPlan::new(
            scenario,
            &[] as &[&str],
            Schedule::from_specs(&scenario.trigger()).unwrap(),
            "trigger",
            None,
            1,
            EngineKind::Turmoil,
        )
        .unwrap();
        let (coarse, fine) = same_at_a_fifth(&plan);
        let artifact = ARTIFACT_SCENARIOS.contains(&scenario.name());
        assert_eq!(
            coarse != fine,
            artifact,
            "{}: {coarse} at its step, {fine} at a fifth",
            scenario.name()
        );
    }
}

#[test]
fn every_kept_replay_keeps_its_verdict_at_a_fifth_of_the_step() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../replays");
    let registry = Registry::builtin();
    let files = hormesis::replay::collect(std::slice::from_ref(&root)).unwrap();
    assert!(files.len() >= 14);
    for file in files {
        let incident = Incident::load(&file).unwrap();
        let plan = incident.plan(&registry, &[] as &[&str]).unwrap();
        let (coarse, fine) = same_at_a_fifth(&plan);
        let name = hormesis::testing::test_name(&root, &file) + ".yaml";
        let artifact = ARTIFACT_REPLAYS.contains(&name.as_str());
        assert_eq!(
            coarse != fine,
            artifact,
            "{name}: {coarse} at its step, {fine} at a fifth"
        );
    }
}
