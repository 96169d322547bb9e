//! The stress signal rises toward the tipping boundary: a sweep of load
//! spikes on retry-storm (seed 7), from harmless to just past the point
//! where the storm outlives the spike.

mod common;

use hormesis::stress::stress;
use hormesis::verdict::Class;

fn swept(factors: &[&str], duration: &str) -> Vec<(String, Class, f64)> {
    factors
        .iter()
        .map(|f| {
            let spec = format!("load-spike:at=60s,for={duration},factor={f}");
            let report = common::run_specs("retry-storm", &[&spec], &[], 7);
            (spec, report.verdict.class, stress(&report))
        })
        .collect()
}

fn assert_graded(sweep: &[(String, Class, f64)]) {
    let shown = format!("{sweep:#?}");
    // Rises (allowing a hair of noise between neighbours) and crosses ½
    // exactly where the runs start to tip.
    for pair in sweep.windows(2) {
        assert!(pair[1].2 >= pair[0].2 - 0.02, "{shown}");
    }
    let tipped: Vec<bool> = sweep.iter().map(|s| s.1 == Class::Metastable).collect();
    assert!(!tipped[0] && tipped[tipped.len() - 1], "{shown}");
    for (spec, class, s) in sweep {
        match class {
            Class::Metastable => assert!((0.75..=1.0).contains(s), "{spec}: {shown}"),
            _ => assert!((0.0..0.5).contains(s), "{spec}: {shown}"),
        }
    }
    // Graded below the boundary: the last recovering run is far above
    // the first, though both score 0.
    let recovering: Vec<f64> = sweep
        .iter()
        .filter(|s| s.1 != Class::Metastable)
        .map(|s| s.2)
        .collect();
    assert!(recovering.len() >= 3, "{shown}");
    assert!(
        recovering[recovering.len() - 1] > recovering[0] + 0.1,
        "{shown}"
    );
}

#[test]
fn stress_rises_with_the_spike_factor_toward_tipping() {
    assert_graded(&swept(&["1.2", "1.5", "1.6", "1.7", "1.8", "2.5"], "10s"));
}

#[test]
fn an_unhealthy_baseline_has_no_stress() {
    let report = common::run_specs(
        "retry-storm",
        &["load-spike:at=60s,for=10s,factor=3"],
        &["workers=1", "service_time=10s"],
        7,
    );
    assert_eq!(report.verdict.class, Class::UnhealthyBaseline);
    assert_eq!(stress(&report), 0.0);
}

/// The kind of harm, not its amount: on latency-window a 2 s delay trips
/// the keepalive and calls fail fast (an outage the system shrugs off), a
/// 300 ms one makes them time out and builds a backlog, a 100 ms one only
/// slows them. The dose descent bisects where such signatures differ.
#[test]
fn consequences_tell_a_fail_fast_outage_from_a_fail_slow_one() {
    use hormesis::consequence::consequences;
    let at = |delay: &str| {
        let spec = format!("latency:at=60s,for=20s,host=server,delay={delay}");
        consequences(&common::run_specs("latency-window", &[&spec], &[], 1))
    };
    let (fast, slow, mild) = (at("2s"), at("300ms"), at("100ms"));
    let has =
        |c: &hormesis::consequence::Consequences, what: &str| c.signature.iter().any(|s| s == what);
    assert!(
        fast.hurt && has(&fast, "errors") && !has(&fast, "timeouts"),
        "{fast:?}"
    );
    assert!(
        slow.hurt && has(&slow, "timeouts") && has(&slow, "queue_depth"),
        "{slow:?}"
    );
    assert!(!has(&slow, "errors"), "{slow:?}");
    assert!(!mild.hurt && mild.signature.is_empty(), "{mild:?}");
    // No faults, no consequences.
    let quiet = consequences(&common::run_specs("latency-window", &[], &[], 1));
    assert_eq!(quiet, Default::default());
}
