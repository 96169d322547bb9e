//! The stress signal: how close a run came to tipping, graded below the
//! tipping point, where the score S of a recovering run is almost always 0.
//!
//! A metastable run's stress is ½ + ½·S, in [¾, 1]: every metastable run
//! outranks every recovering one, whose stress is under ½. A recovering run
//! is graded by what it showed *after the trigger ended*, against its
//! control (same seed, no faults): while a fault lasts, damage says how
//! hard the fault hit, not how close the system came to keeping it; what
//! lingers once the fault is gone does. Each part is in [0, 1]:
//!
//! * the time to recover, over H;
//! * the goodput deficit D beyond the control's, over its largest value 0.8;
//! * excess attempts per offered request after the trigger;
//! * how long each exported gauge (queue depth, in-flight, retries, …; a
//!   counter, which never falls, by its rate per window), the
//!   p99 latency and the fraction of requests that fail stay above the
//!   control's peak after the trigger: the excess of each window
//!   ((x − peak)⁺ / (x + peak) for gauges and latency, (x − peak)⁺ for the
//!   failed fraction), summed over the windows of H and scaled so that
//!   [`PERSISTENCE_WINDOWS`] windows of full excess count 1. A burst
//!   that drains at once barely counts; a backlog that takes long to drain
//!   counts the more the closer it came to never draining.
//!
//! and adds them as independent evidence, 1 − Π(1 − part). What the fault
//! did while it lasted (the peaks of the gauges and of p99 from the first
//! fault on, over the control's) is added the same way at 0.3 weight
//! ([`PRESSURE_WEIGHT`]): it grades faults below a sharp boundary, where
//! nothing lingers, but harmless faults that hurt while they last show it
//! too. The sum is scaled into [0, 0.49]. A run with an unhealthy baseline
//! has no stress to measure: 0.

use crate::run::RunReport;
use crate::timeline::Window;
use crate::verdict::{Class, EPSILON};

/// Windows of full excess after the trigger that make a lingering part 1.
pub const PERSISTENCE_WINDOWS: f64 = 30.0;

/// The stress of one run, in [0, 1]; see the module docs.
pub fn stress(report: &RunReport) -> f64 {
    let v = &report.verdict;
    match v.class {
        Class::UnhealthyBaseline => return 0.0,
        Class::Metastable => return (0.5 + 0.5 * v.score).clamp(0.75, 1.0),
        Class::Stable | Class::SlowRecovery => {}
    }
    let control = report.control.as_ref();
    // Counters (late responses, connects, requests served) read as their
    // rate per window: a total that stays where the fault left it is not a
    // backlog that lingers.
    let (run_windows, control_all) =
        counters_as_rates(&report.windows, control.map_or(&[][..], |c| &c.windows[..]));
    // What the system does after the trigger, over H; what the control
    // does anywhere from the first fault on sets "normal".
    let end = v.trigger_end_s + v.horizon_s;
    let after = |ws: &[Window]| -> Vec<Window> {
        from(ws, v.trigger_end_s)
            .iter()
            .take_while(|x| x.t_s < end)
            .cloned()
            .collect()
    };
    let run_after = after(&run_windows);
    let control_windows = from(&control_all, v.first_fault_s);

    let recovery = unit(v.ttr_s.unwrap_or(0.0) / v.horizon_s.max(1e-9));
    let deficit =
        unit((v.damage - control.map_or(0.0, |c| c.figures.damage)).max(0.0) / (1.0 - EPSILON));
    let excess_attempts =
        (v.amplification - control.map_or(1.0, |c| c.figures.amplification)).max(0.0);
    let attempts = squash(4.0 * excess_attempts);

    let peak = |ws: &[Window], metric: &dyn Fn(&Window) -> Option<f64>| {
        ws.iter()
            .filter_map(metric)
            .fold(0.0f64, |a, b| a.max(b.abs()))
    };
    // `excess(x, normal)` in [0, 1] per window after the trigger.
    let lingering = |metric: &dyn Fn(&Window) -> Option<f64>, excess: &dyn Fn(f64, f64) -> f64| {
        let normal = peak(control_windows, metric);
        let sum: f64 = run_after
            .iter()
            .filter_map(metric)
            .map(|x| excess(x.abs(), normal))
            .sum();
        unit(sum / PERSISTENCE_WINDOWS)
    };
    let gauges = run_after
        .first()
        .map(|w| {
            w.gauges
                .keys()
                .map(|name| lingering(&|x: &Window| x.gauges.get(name).copied(), &above))
                .fold(0.0, f64::max)
        })
        .unwrap_or(0.0);
    let latency = lingering(&|x: &Window| x.p99_ms, &above);
    // Failures as the fraction of the window's offered requests, beyond
    // the control's worst: one timeout where the control had none is not
    // a window of full excess.
    let failures = lingering(
        &|x: &Window| {
            (x.offered > 0).then(|| x.timeouts.saturating_add(x.errors) as f64 / x.offered as f64)
        },
        &|x, normal| unit(x - normal),
    );

    let lingered = noisy_or(&[recovery, deficit, attempts, gauges, latency, failures]);

    // How hard the fault pressed while it lasted: the peaks from the first
    // fault on over the control's. Graded below a sharp boundary where
    // nothing lingers (a spike that drains at once), but it also rises for
    // harmless faults that hurt while they last, so it counts for at most
    // PRESSURE_WEIGHT of the range.
    let run_from_fault = from(&run_windows, v.first_fault_s);
    let peak_above = |metric: &dyn Fn(&Window) -> Option<f64>| {
        above(peak(run_from_fault, metric), peak(control_windows, metric))
    };
    let gauge_peaks = run_from_fault
        .first()
        .map(|w| {
            w.gauges
                .keys()
                .map(|name| peak_above(&|x: &Window| x.gauges.get(name).copied()))
                .fold(0.0, f64::max)
        })
        .unwrap_or(0.0);
    let pressed = noisy_or(&[gauge_peaks, peak_above(&|x: &Window| x.p99_ms)]);

    0.49 * noisy_or(&[lingered, PRESSURE_WEIGHT * pressed])
}

/// The share of the recovering range that pressure during the fault alone
/// can reach.
pub const PRESSURE_WEIGHT: f64 = 0.3;

/// Independent evidence combined: 1 − Π(1 − part).
fn noisy_or(parts: &[f64]) -> f64 {
    unit(1.0 - parts.iter().map(|p| 1.0 - unit(*p)).product::<f64>())
}

/// The run's and the control's windows with every gauge that never
/// decreases in either (a counter: it only says how much has happened so
/// far) replaced by its increase over the window before. A scenario's
/// scrape does not say which gauges are counters; a level that never falls
/// over a whole run and its control measures accumulation all the same.
pub(crate) fn counters_as_rates(run: &[Window], control: &[Window]) -> (Vec<Window>, Vec<Window>) {
    let names: Vec<String> = run
        .first()
        .map(|w| w.gauges.keys().cloned().collect())
        .unwrap_or_default();
    let never_falls = |ws: &[Window], name: &str| {
        let series: Vec<f64> = ws
            .iter()
            .filter_map(|w| w.gauges.get(name).copied())
            .collect();
        series.windows(2).all(|p| p[1] >= p[0])
    };
    let counters: Vec<&String> = names
        .iter()
        .filter(|name| never_falls(run, name) && never_falls(control, name))
        .collect();
    let rates = |ws: &[Window]| -> Vec<Window> {
        let mut out = ws.to_vec();
        for name in &counters {
            let mut before = 0.0;
            for w in &mut out {
                if let Some(total) = w.gauges.get_mut(name.as_str()) {
                    let now = *total;
                    *total = (now - before).max(0.0);
                    before = now;
                }
            }
        }
        out
    };
    (rates(run), rates(control))
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

    fn windows(series: &[(&str, &[f64])]) -> Vec<Window> {
        let n = series.first().map_or(0, |(_, v)| v.len());
        (0..n)
            .map(|i| Window {
                t_s: i as f64,
                offered: 0,
                attempts: 0,
                goodput: 0,
                errors: 0,
                timeouts: 0,
                p50_ms: None,
                p99_ms: None,
                gauges: series
                    .iter()
                    .map(|(name, v)| (name.to_string(), v[i]))
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn a_gauge_that_never_falls_reads_as_its_rate_and_a_level_as_itself() {
        let run = windows(&[
            ("late", &[0.0, 0.0, 40.0, 90.0, 90.0, 90.0]),
            ("queue", &[0.0, 5.0, 60.0, 30.0, 0.0, 0.0]),
        ]);
        let control = windows(&[
            ("late", &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
            ("queue", &[0.0, 1.0, 0.0, 2.0, 0.0, 1.0]),
        ]);
        let (r, c) = counters_as_rates(&run, &control);
        let of =
            |ws: &[Window], name: &str| -> Vec<f64> { ws.iter().map(|w| w.gauges[name]).collect() };
        // The counter's total stays at 90 after the fault: nothing lingers.
        assert_eq!(of(&r, "late"), [0.0, 0.0, 40.0, 50.0, 0.0, 0.0]);
        assert_eq!(of(&c, "late"), [0.0; 6]);
        // A queue that falls is a level, whatever the control does.
        assert_eq!(of(&r, "queue"), [0.0, 5.0, 60.0, 30.0, 0.0, 0.0]);
        assert_eq!(of(&c, "queue"), [0.0, 1.0, 0.0, 2.0, 0.0, 1.0]);
    }

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
