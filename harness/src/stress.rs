//! The stress signal: how close a run came to tipping, graded below the
//! tipping point, where the score S of a recovering run is almost always 0.
//!
//! A metastable run's stress is ½ + ½·S, in [¾, 1]: every metastable run
//! outranks every recovering one, whose stress is under ½. A recovering run
//! combines what it showed beyond its control (same seed, no faults), each
//! part in [0, 1]:
//!
//! * the time to recover, over H;
//! * the goodput deficit D beyond the control's, over its largest value 0.8;
//! * excess attempts per offered request after the trigger;
//! * the peak of each gauge the system exports (queue depth, in-flight,
//!   retries, …) from the first fault on, over the control's peak: the
//!   largest of (peak − peak_ctrl)⁺ / (peak + peak_ctrl);
//! * the peak p99 latency, the same way;
//! * timed-out and failed requests beyond the control's, per offered one.
//!
//! and adds them as independent evidence, 1 − Π(1 − part), scaled into
//! [0, 0.49]. A run with an unhealthy baseline has no stress to measure: 0.

use crate::run::RunReport;
use crate::timeline::Window;
use crate::verdict::{Class, EPSILON};

/// The stress of one run, in [0, 1]; see the module docs.
pub fn stress(report: &RunReport) -> f64 {
    let v = &report.verdict;
    match v.class {
        Class::UnhealthyBaseline => return 0.0,
        Class::Metastable => return (0.5 + 0.5 * v.score).clamp(0.75, 1.0),
        Class::Stable | Class::SlowRecovery => {}
    }
    let control = report.control.as_ref();
    let run_windows = from(&report.windows, v.first_fault_s);
    let control_windows = control.map_or(&[][..], |c| from(&c.windows, v.first_fault_s));

    let recovery = unit(v.ttr_s.unwrap_or(0.0) / v.horizon_s.max(1e-9));
    let deficit =
        unit((v.damage - control.map_or(0.0, |c| c.figures.damage)).max(0.0) / (1.0 - EPSILON));
    let excess_attempts =
        (v.amplification - control.map_or(1.0, |c| c.figures.amplification)).max(0.0);
    let attempts = squash(4.0 * excess_attempts);
    let gauges = run_windows
        .first()
        .map(|w| {
            w.gauges
                .keys()
                .map(|name| {
                    let peak = |ws: &[Window]| {
                        ws.iter()
                            .filter_map(|x| x.gauges.get(name))
                            .fold(0.0f64, |a, &b| a.max(b.abs()))
                    };
                    above(peak(run_windows), peak(control_windows))
                })
                .fold(0.0, f64::max)
        })
        .unwrap_or(0.0);
    let p99 = |ws: &[Window]| ws.iter().filter_map(|x| x.p99_ms).fold(0.0, f64::max);
    let latency = above(p99(run_windows), p99(control_windows));
    let failed = |ws: &[Window]| {
        ws.iter()
            .map(|x| x.timeouts.saturating_add(x.errors))
            .fold(0u64, u64::saturating_add) as f64
    };
    let offered = run_windows
        .iter()
        .map(|x| x.offered)
        .fold(0u64, u64::saturating_add)
        .max(1) as f64;
    let failures = unit(4.0 * (failed(run_windows) - failed(control_windows)).max(0.0) / offered);

    let calm: f64 = [recovery, deficit, attempts, gauges, latency, failures]
        .iter()
        .map(|part| 1.0 - part)
        .product();
    0.49 * unit(1.0 - calm)
}

/// The windows from `t_s` on: a tail, since windows are in time order.
fn from(windows: &[Window], t_s: f64) -> &[Window] {
    &windows[windows.partition_point(|x| x.t_s < t_s)..]
}

fn unit(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

/// x / (1 + x): 0 at 0, ½ at 1, towards 1 for large x.
fn squash(x: f64) -> f64 {
    unit(x / (1.0 + x))
}

/// How far `run` peaks above `control`, in [0, 1).
fn above(run: f64, control: f64) -> f64 {
    if run + control > 0.0 {
        unit((run - control).max(0.0) / (run + control))
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_and_squashes_stay_in_the_unit_interval() {
        assert_eq!(above(0.0, 0.0), 0.0);
        assert_eq!(above(1.0, 3.0), 0.0);
        assert_eq!(above(3.0, 1.0), 0.5);
        assert!(above(1e300, 0.0) <= 1.0);
        assert_eq!(squash(1.0), 0.5);
        assert_eq!(squash(f64::NAN), 0.0);
        assert_eq!(unit(f64::INFINITY), 1.0);
    }
}
