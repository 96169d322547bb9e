#![allow(dead_code)]
use hormesis::engine::EngineKind;
use hormesis::run::{self, RunPlan, RunReport};
use hormesis::scenarios;
use hormesis_faults::Schedule;

pub fn run_specs(scenario: &str, specs: &[&str], sets: &[&str], seed: u64) -> RunReport {
    let scenario = scenarios::find(scenario).unwrap();
    let schedule = Schedule::from_specs(specs).unwrap();
    let plan = RunPlan::new(
        scenario,
        sets,
        schedule,
        "--fault",
        None,
        seed,
        // The build's engine: the madsim flavour's tests run the same helpers.
        EngineKind::BUILT,
    )
    .unwrap();
    run::run(&plan).unwrap_or_else(|e| panic!("seed {seed}: {e}"))
}
