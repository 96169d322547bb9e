//! Faults apply at their tick and are undone at their end, and the system
//! feels them exactly then.

mod common;
use common::run_specs;
use hormesis::run::RunReport;

fn applied_at(r: &RunReport, action: &str) -> Vec<f64> {
    r.applied
        .iter()
        .filter(|a| a.action == action)
        .map(|a| a.t_s)
        .collect()
}

fn mean(
    r: &RunReport,
    from: usize,
    to: usize,
    f: impl Fn(&hormesis::timeline::Window) -> f64,
) -> f64 {
    r.windows[from..to].iter().map(f).sum::<f64>() / (to - from) as f64
}

#[test]
fn a_load_spike_triples_offered_load_exactly_over_its_interval() {
    let r = run_specs(
        "retry-storm",
        &["load-spike:at=20s,for=10s,factor=3"],
        &["retries=0"],
        5,
    );
    assert_eq!(applied_at(&r, "apply"), vec![20.0]);
    assert_eq!(applied_at(&r, "revert"), vec![30.0]);
    let before = mean(&r, 5, 20, |w| w.offered as f64);
    let during = mean(&r, 20, 30, |w| w.offered as f64);
    let after = mean(&r, 30, 45, |w| w.offered as f64);
    assert!(
        (during / before - 3.0).abs() < 0.5,
        "before {before} during {during}"
    );
    assert!(
        (after / before - 1.0).abs() < 0.25,
        "before {before} after {after}"
    );
}

#[test]
fn a_crash_stops_goodput_for_its_duration_and_the_restart_brings_it_back() {
    let r = run_specs(
        "retry-storm",
        &["crash:at=20s,for=5s,host=server"],
        &["retries=0"],
        2,
    );
    assert_eq!(applied_at(&r, "apply"), vec![20.0]);
    assert_eq!(applied_at(&r, "revert"), vec![25.0]);
    assert!(
        r.failures.is_empty(),
        "a crash we caused is not a failure: {:?}",
        r.failures
    );
    // Requests answered before the crash may still land in window 20; none after.
    for w in &r.windows[21..25] {
        assert_eq!(w.goodput, 0, "window {}: {w:?}", w.t_s);
    }
    assert!(mean(&r, 19, 20, |w| w.goodput as f64) > 30.0);
    assert!(
        mean(&r, 27, 40, |w| w.goodput as f64) > 40.0,
        "{:?}",
        &r.windows[25..30]
    );
}

#[test]
fn a_partition_cuts_one_client_and_is_repaired_at_its_end() {
    let r = run_specs(
        "retry-storm",
        &["partition:at=20s,for=10s,between=server|client-1"],
        &["retries=0"],
        4,
    );
    assert_eq!(applied_at(&r, "apply"), vec![20.0]);
    assert_eq!(applied_at(&r, "revert"), vec![30.0]);
    let before = mean(&r, 5, 20, |w| w.goodput as f64);
    let during = mean(&r, 21, 30, |w| w.goodput as f64);
    // Half the clients are cut off: about half the goodput.
    assert!(
        during < 0.7 * before && during > 0.3 * before,
        "before {before} during {during}"
    );
    // The stalled connection is replaced and goodput comes back.
    assert!(r.verdict.ttr_s.is_some(), "{:?}", r.verdict);
}

#[test]
fn a_knob_holds_its_value_for_the_duration_then_returns_to_default() {
    // 200 ms per request on 2 workers: capacity 10/s against 60/s offered.
    let r = run_specs(
        "retry-storm",
        &["knob:at=20s,for=3s,knob=service-time,value=200"],
        &["retries=0"],
        6,
    );
    assert_eq!(applied_at(&r, "apply"), vec![20.0]);
    assert_eq!(applied_at(&r, "revert"), vec![23.0]);
    let depth = |i: usize| r.windows[i].gauges["queue_depth"];
    assert!(depth(18) < 10.0, "{}", depth(18));
    assert!(
        depth(21) > 50.0,
        "the queue should grow while the knob holds: {}",
        depth(21)
    );
    // Back to 20 ms: the backlog drains and the system recovers (no retries).
    assert!(r.verdict.ttr_s.is_some());
    assert!(depth(40) < 10.0, "{}", depth(40));
}

/// A value knob returns to what the parameters configured, not to the
/// knob's declared default: under `--set service_time=20ms` a slowdown to
/// 100 ms ends at 20 ms again (retry-storm declares 40).
#[test]
fn a_value_knob_returns_to_its_configured_value() {
    let r = run_specs(
        "retry-storm",
        &["knob:at=20s,for=5s,knob=service-time,value=100"],
        &["retries=0", "service_time=20ms"],
        3,
    );
    assert_eq!(applied_at(&r, "revert"), vec![25.0]);
    let p50 = |w: &hormesis::timeline::Window| w.p50_ms.unwrap_or(f64::NAN);
    let before = mean(&r, 5, 20, p50);
    let after = mean(&r, 30, 45, p50);
    let served = |w: &hormesis::timeline::Window| w.goodput as f64;
    assert!(mean(&r, 21, 25, served) < mean(&r, 5, 20, served) / 2.0);
    assert!(
        (after - before).abs() < 3.0,
        "median latency before {before} ms, after {after} ms: not back at the configured 20 ms of service"
    );
}
