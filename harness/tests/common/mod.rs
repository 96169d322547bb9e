#![allow(dead_code)]
use hormesis::engine::EngineKind;
use hormesis::run::{self, RunPlan, RunReport};
use hormesis::scenarios;
use hormesis_faults::Schedule;

pub fn run_specs(scenario: &str, specs: &[&str], sets: &[&str], seed: u64) -> RunReport {
    let scenario = scenarios::find(scenario).unwrap();
    let schedule = Schedule::from_specs(specs).unwrap();
    let plan = RunPlan::of(scenario)
        .sets(sets)
        .schedule(schedule)
        .located("--fault", None)
        .seed(seed)
        .engine(
            // The build's engine: the madsim flavour's tests run the same helpers.
            EngineKind::BUILT,
        )
        .build()
        .unwrap();
    run::run(&plan).unwrap_or_else(|e| panic!("seed {seed}: {e}"))
}

/// `latency-window`'s band on the build's engine: 20 s of each added
/// latency on seeds 1–4, and the seeds that tipped. Too little latency (no
/// attempt times out) and too much (the keepalive ping fails, reconnects
/// fail fast) must both recover; the middle must tip.
pub fn latency_window_band() -> Vec<(u64, Vec<u64>)> {
    [150, 300, 600, 2000]
        .into_iter()
        .map(|delay_ms| {
            let fault = format!("latency:at=40s,for=20s,host=server,delay={delay_ms}ms");
            let tipped = (1..=4)
                .filter(|&seed| {
                    run_specs("latency-window", &[&fault], &[], seed)
                        .verdict
                        .class
                        == hormesis::verdict::Class::Metastable
                })
                .collect();
            (delay_ms, tipped)
        })
        .collect()
}

/// What [`latency_window_band`] must give on either engine.
pub fn assert_latency_window_band() {
    let band = latency_window_band();
    let expected: Vec<(u64, Vec<u64>)> = vec![
        (150, vec![]),
        (300, vec![1, 2, 3, 4]),
        (600, vec![]),
        (2000, vec![]),
    ];
    assert_eq!(
        band, expected,
        "latency-window: (delay ms, seeds that tipped) for 20 s of latency"
    );
}
