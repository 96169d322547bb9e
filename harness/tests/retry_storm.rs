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
