//! The quote service's resilience, checked from `cargo test`.

use hormesis::testing::check;
use hormesis_example::scenario::Quotes;
use std::time::Duration;

const SPIKE: &str = "load-spike:at=60s,for=5s,factor=2";

#[test]
fn without_retries_a_spike_passes() {
    check(&Quotes)
        .fault(SPIKE)
        .set("retries=0")
        .seeds(1..=3)
        .recovers_within(Duration::from_secs(30));
}

/// Pins a known weakness until it is fixed: with 3 retries on a 500 ms
/// timeout the same spike never ends. (Replace with `recovers_within` once
/// the client has a retry budget.)
#[test]
fn retries_turn_a_two_second_queue_into_an_outage() {
    for report in check(&Quotes).fault(SPIKE).seeds(1..=3).run() {
        assert_eq!(
            report.verdict.class.name(),
            "metastable",
            "seed {}",
            report.seed
        );
    }
}

#[test]
fn nothing_happens_without_faults() {
    check(&Quotes).seeds(1..=3).not_metastable();
}
