//! The acceptance rates of the foundation issue: `retry-storm` is stable on
//! its own and tipped to metastable by a 3x spike for 10 s, each on at least
//! 19 of 20 seeds.

mod common;
use common::run_specs;
use hormesis::verdict::Class;

const SPIKE: &str = "load-spike:at=60s,for=10s,factor=3";

#[test]
fn stable_without_faults_on_19_of_20_seeds() {
    let stable: Vec<u64> = (1..=20)
        .filter(|&seed| run_specs("retry-storm", &[], &[], seed).verdict.class == Class::Stable)
        .collect();
    assert!(stable.len() >= 19, "stable on seeds {stable:?}");
}

#[test]
fn a_3x_spike_for_10s_is_metastable_on_19_of_20_seeds() {
    let mut metastable = Vec::new();
    for seed in 1..=20 {
        let r = run_specs("retry-storm", &[SPIKE], &[], seed);
        assert!(r.failures.is_empty(), "seed {seed}: {:?}", r.failures);
        let control = r.control.as_ref().expect("a faulted run has a control");
        assert!(
            control.figures.recovered,
            "seed {seed}: the control must hold its baseline"
        );
        if r.verdict.class == Class::Metastable {
            assert!(r.verdict.score >= 0.5, "seed {seed}: {}", r.verdict.score);
            assert!(
                r.verdict.amplification > 2.0,
                "seed {seed}: retries should amplify load"
            );
            metastable.push(seed);
        }
    }
    assert!(metastable.len() >= 19, "metastable on seeds {metastable:?}");
}

#[test]
fn without_retries_the_same_spike_recovers() {
    // The sustaining effect is the retries: take them away and the backlog drains.
    let r = run_specs("retry-storm", &[SPIKE], &["retries=0"], 3);
    assert_ne!(r.verdict.class, Class::Metastable, "{:?}", r.verdict);
    assert!(r.verdict.ttr_s.is_some());
}

#[test]
fn a_retry_budget_recovers_from_the_spike_on_9_of_10_seeds_within_60s() {
    let mut recovered = Vec::new();
    for seed in 1..=10 {
        let r = run_specs("retry-storm", &[SPIKE], &["mitigation=retry-budget"], seed);
        let within = r.verdict.ttr_s.is_some_and(|t| t <= 60.0);
        if r.verdict.class != Class::Metastable && within {
            assert!(
                r.verdict.amplification < 1.5,
                "seed {seed}: the budget caps retries, got {}",
                r.verdict.amplification
            );
            recovered.push(seed);
        }
    }
    assert!(recovered.len() >= 9, "recovered on seeds {recovered:?}");
}

#[test]
fn a_retry_budget_costs_under_5_percent_goodput_without_faults() {
    for seed in 1..=3 {
        let goodput = |sets: &[&str]| -> u64 {
            run_specs("retry-storm", &[], sets, seed)
                .windows
                .iter()
                .map(|w| w.goodput)
                .sum()
        };
        let (plain, budget) = (goodput(&[]), goodput(&["mitigation=retry-budget"]));
        assert!(
            budget as f64 >= 0.95 * plain as f64,
            "seed {seed}: {budget} vs {plain}"
        );
    }
}

#[test]
fn an_autoscaler_recovers_from_the_spike_on_9_of_10_seeds_within_30s() {
    let mut recovered = Vec::new();
    for seed in 1..=10 {
        let r = run_specs("retry-storm", &[SPIKE], &["mitigation=autoscaler"], seed);
        if r.verdict.class != Class::Metastable && r.verdict.ttr_s.is_some_and(|t| t <= 30.0) {
            recovered.push(seed);
        }
    }
    assert!(recovered.len() >= 9, "recovered on seeds {recovered:?}");
}

/// The autoscaler is a feedback loop with a delay: on an under-provisioned
/// server (4 workers for a load that needs 5) a gentle gain settles, while a
/// high gain with a slow boot swings between the floor and the ceiling and
/// keeps the service down with no fault at all.
#[test]
fn an_under_damped_autoscaler_oscillates_and_causes_its_own_outage() {
    let workers = |r: &hormesis::run::RunReport| -> Vec<f64> {
        r.windows
            .iter()
            .map(|w| w.gauges.get("workers").copied().unwrap_or(0.0))
            .collect()
    };
    let swings = |series: &[f64]| {
        let mut directions = series
            .windows(2)
            .map(|w| (w[1] - w[0]).signum())
            .filter(|d| *d != 0.0)
            .collect::<Vec<_>>();
        directions.dedup();
        directions.len().saturating_sub(1)
    };
    for seed in 1..=3 {
        let gentle = run_specs(
            "retry-storm",
            &[],
            &["workers=4", "mitigation=autoscaler", "horizon=150s"],
            seed,
        );
        assert_eq!(gentle.verdict.class, Class::Stable, "seed {seed}");
        let wild = run_specs(
            "retry-storm",
            &[],
            &[
                "workers=4",
                "mitigation=autoscaler",
                "autoscaler.gain=3",
                "autoscaler.boot_delay=30s",
                "horizon=150s",
            ],
            seed,
        );
        let series = workers(&wild);
        assert!(swings(&series) >= 3, "seed {seed}: workers {series:?}");
        assert!(
            series.iter().any(|w| *w >= 64.0) && series[40..].iter().any(|w| *w <= 4.0),
            "seed {seed}: workers {series:?}"
        );
        // Down most of the time: well under the gentle autoscaler's goodput.
        let total = |r: &hormesis::run::RunReport| r.windows.iter().map(|w| w.goodput).sum::<u64>();
        assert!(
            (total(&wild) as f64) < 0.6 * total(&gentle) as f64,
            "seed {seed}: {} vs {}",
            total(&wild),
            total(&gentle)
        );
    }
}
