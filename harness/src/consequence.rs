//! What a fault did while it lasted, as a set of named consequences against
//! the run's control: the *kind* of harm, where [`stress`](crate::stress)
//! grades its amount.
//!
//! Two doses of one fault that do different kinds of harm straddle a
//! change of regime in the system, and such changes are where metastable
//! windows hide: a slow link that makes calls time out builds a retry
//! backlog; a slower one trips a keepalive, and the calls fail fast
//! instead (a fail-stop the system handles, where the fail-slow one tips
//! it). The explorer's dose descent ([`crate::explore::descent`]) follows
//! these signatures down from a fault's full strength.

use crate::run::RunReport;
use crate::stress::counters_as_rates;
use crate::timeline::Window;

/// The consequences of a run's faults while they lasted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consequences {
    /// Goodput fell below half the control's over the same windows: the
    /// fault took the service down rather than degrading it.
    pub hurt: bool,
    /// What rose well above the control, sorted: `goodput` (lost),
    /// `timeouts`, `errors`, and each exported gauge (a counter by its
    /// rate). Latency is left out: with no successful calls it has no
    /// value, so it would tell an outage's seeds apart, not its kind.
    pub signature: Vec<String>,
}

/// Failures count once they are this share of the offered requests.
const FAILURE_SHARE: f64 = 0.1;
/// A gauge counts once its peak is this many times the control's (plus one,
/// so a gauge idle in the control does not count for a single blip).
const GAUGE_FACTOR: f64 = 2.0;

/// The consequences of `report`'s faults, from its first fault to the end
/// of its trigger, against its control over the same windows. A run
/// without a control or without faults has none.
pub fn consequences(report: &RunReport) -> Consequences {
    let Some(control) = report.control.as_ref() else {
        return Consequences::default();
    };
    let v = &report.verdict;
    let (run_all, control_all) = counters_as_rates(&report.windows, &control.windows);
    let during = |ws: &[Window]| -> Vec<Window> {
        ws.iter()
            .filter(|w| w.t_s >= v.first_fault_s && w.t_s < v.trigger_end_s)
            .cloned()
            .collect()
    };
    let (run, calm) = (during(&run_all), during(&control_all));
    if run.is_empty() || calm.is_empty() {
        return Consequences::default();
    }
    let sum = |ws: &[Window], f: fn(&Window) -> u64| ws.iter().map(f).sum::<u64>() as f64;
    let offered = sum(&run, |w| w.offered);
    let hurt = sum(&run, |w| w.goodput) < 0.5 * sum(&calm, |w| w.goodput);
    let mut signature = Vec::new();
    if hurt {
        signature.push("goodput".to_string());
    }
    for (name, count) in [
        ("timeouts", (|w| w.timeouts) as fn(&Window) -> u64),
        ("errors", |w| w.errors),
    ] {
        let (x, normal) = (sum(&run, count), sum(&calm, count));
        if x >= FAILURE_SHARE * offered && x > 2.0 * normal {
            signature.push(name.to_string());
        }
    }
    let peak = |ws: &[Window], name: &str| {
        ws.iter()
            .filter_map(|w| w.gauges.get(name))
            .fold(0.0f64, |a, &b| a.max(b.abs()))
    };
    if let Some(first) = run.first() {
        for name in first.gauges.keys() {
            if peak(&run, name) > GAUGE_FACTOR * peak(&calm, name) + 1.0 {
                signature.push(name.clone());
            }
        }
    }
    signature.sort();
    Consequences { hurt, signature }
}
