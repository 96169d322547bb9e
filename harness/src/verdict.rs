//! The metastability score of DESIGN.md, a pure function of two timelines.
//!
//! * G0: mean goodput over the warm-up windows before the first fault
//!   (window 0 is left out: connections are still being opened).
//! * TTR: the smallest τ such that goodput ≥ (1−ε)·G0 in all of the `h`
//!   windows from t_e+τ; M = 1 when no such τ exists within H.
//! * D: the goodput shortfall below (1−ε)·G0 over H, as a fraction of H·G0.
//! * S = ½·(M − M_ctrl)⁺ + ½·(D − D_ctrl)⁺, the control being the same seed
//!   without faults, so a system that collapses on its own is not blamed on
//!   the fault.

use crate::timeline::Timeline;
use serde::Serialize;
use std::time::Duration;

pub const EPSILON: f64 = 0.2;
pub const HOLD_WINDOWS: usize = 10;

/// Verdict classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Recovered within the scenario's SLO.
    Stable,
    /// Recovered within H, but later than the SLO.
    SlowRecovery,
    /// Not recovered within H (while the control run was fine).
    Metastable,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::Stable, Class::SlowRecovery, Class::Metastable];

    pub fn name(self) -> &'static str {
        match self {
            Class::Stable => "stable",
            Class::SlowRecovery => "slow-recovery",
            Class::Metastable => "metastable",
        }
    }
}

/// Where the verdict looks: the first fault, the trigger end t_e, and H.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub first_fault: Duration,
    pub trigger_end: Duration,
    pub horizon: Duration,
    pub recovers_within: Duration,
}

/// Recovery figures of one timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// G0, logical requests per second.
    pub g0: f64,
    /// Whether goodput came back within H (M = 0).
    pub recovered: bool,
    /// Seconds from the trigger's end to sustained recovery; null when not recovered.
    pub ttr_s: Option<f64>,
    /// D in [0, 1].
    pub damage: f64,
    /// Attempts per offered request after the trigger ends.
    pub amplification: f64,
}

impl Figures {
    pub fn m(&self) -> f64 {
        if self.recovered {
            0.0
        } else {
            1.0
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub class: Class,
    /// S in [0, 1].
    pub score: f64,
    pub ttr_s: Option<f64>,
    pub damage: f64,
    pub amplification: f64,
    pub g0: f64,
    pub first_fault_s: f64,
    pub trigger_end_s: f64,
    pub horizon_s: f64,
    /// The control run did not recover on its own: the system is unstable
    /// without any fault, so the fault is not blamed.
    pub control_collapsed: bool,
}

/// Measures one timeline within `frame`.
pub fn figures(timeline: &Timeline, frame: &Frame) -> Figures {
    let w = timeline.window().as_secs_f64();
    let windows = &timeline.windows;
    let rate = |i: usize| windows.get(i).map_or(0.0, |x| x.goodput as f64 / w);

    let warm_end = (frame.first_fault.as_secs_f64() / w).floor() as usize;
    let warm: Vec<f64> = (1.min(warm_end.saturating_sub(1))..warm_end.min(windows.len()))
        .map(rate)
        .collect();
    let g0 = if warm.is_empty() {
        0.0
    } else {
        warm.iter().sum::<f64>() / warm.len() as f64
    };
    let floor = (1.0 - EPSILON) * g0;

    let first = (frame.trigger_end.as_secs_f64() / w).ceil() as usize;
    let span = (frame.horizon.as_secs_f64() / w).round() as usize;
    let last = first + span; // exclusive
    let ttr_s = (first..=last.saturating_sub(HOLD_WINDOWS))
        .find(|&s| (s..s + HOLD_WINDOWS).all(|i| rate(i) >= floor))
        .map(|s| s as f64 * w - frame.trigger_end.as_secs_f64());
    let shortfall: f64 = (first..last).map(|i| (floor - rate(i)).max(0.0) * w).sum();
    let damage = if g0 > 0.0 {
        (shortfall / (frame.horizon.as_secs_f64() * g0)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (attempts, offered) = windows
        .iter()
        .skip(first)
        .take(span)
        .fold((0u64, 0u64), |(a, o), x| (a + x.attempts, o + x.offered));
    Figures {
        g0,
        recovered: ttr_s.is_some(),
        ttr_s,
        damage,
        amplification: if offered > 0 {
            attempts as f64 / offered as f64
        } else {
            0.0
        },
    }
}

/// The verdict on a faulted run against its control. Without a control (a
/// run with no faults is its own control), the run is judged on its own.
pub fn judge(run: &Figures, control: Option<&Figures>, frame: &Frame) -> Verdict {
    let (m_ctrl, d_ctrl) = control.map_or((0.0, 0.0), |c| (c.m(), c.damage));
    let score = 0.5 * (run.m() - m_ctrl).max(0.0) + 0.5 * (run.damage - d_ctrl).max(0.0);
    let control_collapsed = control.is_some_and(|c| !c.recovered);
    let class = match run.ttr_s {
        None if !control_collapsed => Class::Metastable,
        None => Class::Stable,
        Some(t) if t > frame.recovers_within.as_secs_f64() => Class::SlowRecovery,
        Some(_) => Class::Stable,
    };
    Verdict {
        class,
        score,
        ttr_s: run.ttr_s,
        damage: run.damage,
        amplification: run.amplification,
        g0: run.g0,
        first_fault_s: frame.first_fault.as_secs_f64(),
        trigger_end_s: frame.trigger_end.as_secs_f64(),
        horizon_s: frame.horizon.as_secs_f64(),
        control_collapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Window;

    fn timeline(goodput: &[u64]) -> Timeline {
        Timeline {
            window_s: 1.0,
            windows: goodput
                .iter()
                .enumerate()
                .map(|(i, &g)| Window {
                    t_s: i as f64,
                    offered: 100,
                    attempts: if g < 80 { 300 } else { 100 },
                    goodput: g,
                    errors: 0,
                    timeouts: 100 - g.min(100),
                    p50_ms: None,
                    p99_ms: None,
                    gauges: Default::default(),
                })
                .collect(),
        }
    }

    fn frame() -> Frame {
        Frame {
            first_fault: Duration::from_secs(10),
            trigger_end: Duration::from_secs(15),
            horizon: Duration::from_secs(30),
            recovers_within: Duration::from_secs(5),
        }
    }

    /// 10 warm windows at 100, the trigger, then `after` for 30 windows.
    fn shaped(after: impl Fn(usize) -> u64) -> Timeline {
        let mut g = vec![100; 15];
        g.extend((0..30).map(after));
        timeline(&g)
    }

    #[test]
    fn a_system_that_never_recovers_scores_one_half_plus_its_damage() {
        let f = figures(&shaped(|_| 0), &frame());
        assert_eq!(f.g0, 100.0);
        assert!(!f.recovered);
        // 80 short in each of 30 windows, over 30 * 100.
        assert!((f.damage - 0.8).abs() < 1e-9, "{}", f.damage);
        assert_eq!(f.amplification, 3.0);
        let ctrl = figures(&shaped(|_| 100), &frame());
        let v = judge(&f, Some(&ctrl), &frame());
        assert_eq!(v.class, Class::Metastable);
        assert!((v.score - 0.9).abs() < 1e-9);
    }

    #[test]
    fn ttr_is_the_start_of_the_first_sustained_stretch() {
        // Recovered from window 3 after t_e, with a blip at 1.
        let f = figures(
            &shaped(|i| if i == 1 || i == 2 { 10 } else { 100 }),
            &frame(),
        );
        assert_eq!(f.ttr_s, Some(3.0));
        let v = judge(&f, None, &frame());
        assert_eq!(v.class, Class::Stable);
        // A stretch of 9 good windows is not recovery; 10 is.
        let f = figures(&shaped(|i| if i == 9 { 0 } else { 100 }), &frame());
        assert_eq!(f.ttr_s, Some(10.0));
        assert_eq!(judge(&f, None, &frame()).class, Class::SlowRecovery);
    }

    #[test]
    fn recovery_must_fit_inside_the_horizon() {
        // Good only in the last 9 windows of H: not recovered.
        let f = figures(&shaped(|i| if i >= 21 { 100 } else { 0 }), &frame());
        assert!(!f.recovered);
        // Good in the last 10: recovered at τ = 20.
        let f = figures(&shaped(|i| if i >= 20 { 100 } else { 0 }), &frame());
        assert_eq!(f.ttr_s, Some(20.0));
    }

    #[test]
    fn exactly_at_the_floor_counts_as_recovered() {
        let f = figures(&shaped(|_| 80), &frame());
        assert_eq!(f.ttr_s, Some(0.0));
        assert_eq!(f.damage, 0.0);
        let f = figures(&shaped(|_| 79), &frame());
        assert!(!f.recovered);
    }

    #[test]
    fn a_control_that_collapses_on_its_own_takes_the_blame_off_the_fault() {
        let bad = figures(&shaped(|_| 0), &frame());
        let v = judge(&bad, Some(&bad), &frame());
        assert_eq!(v.score, 0.0);
        assert!(v.control_collapsed);
        assert_ne!(v.class, Class::Metastable);
    }

    #[test]
    fn the_score_only_counts_damage_beyond_the_control() {
        let run = figures(&shaped(|i| if i < 5 { 0 } else { 100 }), &frame());
        let ctrl = figures(&shaped(|i| if i < 2 { 0 } else { 100 }), &frame());
        let v = judge(&run, Some(&ctrl), &frame());
        // (5 - 2) windows * 80 / (30 * 100) / 2
        assert!(
            (v.score - 0.5 * (5.0 - 2.0) * 80.0 / 3000.0).abs() < 1e-9,
            "{}",
            v.score
        );
    }
}
