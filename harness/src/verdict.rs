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
//!
//! Two guards make the verdict trustworthy (DESIGN.md, "Verdict you can
//! trust"):
//!
//! * **A healthy baseline.** A run whose warm-up goodput is zero, or below
//!   [`HEALTHY_BASELINE`] of the load offered in the same windows, or whose
//!   control does not hold its own baseline, has nothing to recover to: it is
//!   [`Class::UnhealthyBaseline`], never `stable`.
//! * **Calibrated at any rate.** The hold test compares *sums over judging
//!   blocks* of `b` windows, `b` chosen so each block expects at least
//!   [`EXPECTED_PER_BLOCK`] successes: at 120 req/s b = 1 (the per-window
//!   rule of DESIGN.md), at 5 req/s b = 20. With fewer expected successes per
//!   test, Poisson noise alone fails "every window ≥ 0.8·G0" (at 5 req/s, 3
//!   fault-free runs in 4). A rate too low to fill a block in the warm-up, or
//!   two blocks in H, is refused before the run ([`judgeable`]).

use crate::timeline::Timeline;
use serde::Serialize;
use std::time::Duration;

pub const EPSILON: f64 = 0.2;
pub const HOLD_WINDOWS: usize = 10;
/// Successes a judging block must expect: (1−ε) of 100 lies two standard
/// deviations of Poisson noise below the mean, so a healthy system fails one
/// block test in ~50, and a sustained stretch of them almost never.
pub const EXPECTED_PER_BLOCK: f64 = 100.0;
/// A baseline is healthy when G0 is at least this fraction of the load
/// offered in the same windows. Below it, the system fails most requests
/// with no fault at all, and "back to 80 % of G0" would certify recovery to
/// under 40 % of demand. Healthy built-in systems measure 0.99–1.01.
pub const HEALTHY_BASELINE: f64 = 0.5;

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
    /// Nothing to judge recovery against: no goodput before the first
    /// fault, far less than was offered, or a control run (no faults) that
    /// does not hold its own baseline. Never a pass.
    UnhealthyBaseline,
}

impl Class {
    pub const ALL: [Class; 4] = [
        Class::Stable,
        Class::SlowRecovery,
        Class::Metastable,
        Class::UnhealthyBaseline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Stable => "stable",
            Class::SlowRecovery => "slow-recovery",
            Class::Metastable => "metastable",
            Class::UnhealthyBaseline => "unhealthy-baseline",
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
    /// Logical requests offered per second over the same warm-up windows.
    pub offered0: f64,
    /// Why the baseline cannot be judged against; null when it is healthy.
    pub unhealthy: Option<String>,
    /// Length of a judging block (the hold and damage are tested on sums
    /// over blocks this long), seconds.
    pub block_s: f64,
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
    /// Why the class is `unhealthy-baseline`; null otherwise.
    pub unhealthy: Option<String>,
    /// Length of a judging block, seconds (1 window at high rates).
    pub block_s: f64,
}

/// Windows per judging block for a baseline of `g0` successes per second:
/// enough that a block expects [`EXPECTED_PER_BLOCK`] successes.
pub fn block_windows(g0: f64, window: Duration) -> usize {
    blocks_of(g0, window.as_secs_f64())
}

fn blocks_of(g0: f64, window_s: f64) -> usize {
    let per_window = g0 * window_s;
    if per_window.is_nan() || per_window <= 0.0 {
        return 1;
    }
    let b = (EXPECTED_PER_BLOCK / per_window).ceil();
    if b >= 1.0e9 {
        1_000_000_000
    } else {
        (b as usize).max(1)
    }
}

/// Whether a run offered `rate` requests per second, first faulted at
/// `first_fault` (or the warm-up's end) and watched for `horizon`, can be
/// judged at all: the warm-up must expect a block's worth of successes (so
/// G0 is measured to ~10 %) and H must hold two blocks (so recovery has
/// somewhere to start). The error says what would make it judgeable.
pub fn judgeable(
    rate: f64,
    first_fault: Duration,
    horizon: Duration,
    window: Duration,
) -> Result<(), String> {
    judgeable_with(rate, first_fault, horizon, window, &|_| true)
}

/// [`judgeable`], whose advice names a `--set NAME=…` only where
/// `settable(NAME)`: a scenario without a `warmup` parameter is told what
/// to change, not given a flag it would refuse.
pub fn judgeable_with(
    rate: f64,
    first_fault: Duration,
    horizon: Duration,
    window: Duration,
    settable: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    let w = window.as_secs_f64();
    if !(rate.is_finite() && rate > 0.0 && w > 0.0) {
        return Err(format!("an offered rate of {rate} req/s cannot be judged"));
    }
    let warm_windows = ((first_fault.as_secs_f64() / w).floor() as usize).saturating_sub(1);
    let warm_expected = rate * warm_windows as f64 * w;
    let b = block_windows(rate, window);
    let horizon_windows = (horizon.as_secs_f64() / w).round() as usize;
    if warm_expected >= EXPECTED_PER_BLOCK && horizon_windows >= 2 * b.max(HOLD_WINDOWS / 2) {
        return Ok(());
    }
    let seconds = |s: f64| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX);
    let need_warm = seconds(((EXPECTED_PER_BLOCK / rate / w).ceil() + 1.0) * w);
    let need_horizon = seconds((2 * b.max(HOLD_WINDOWS / 2)) as f64 * w);
    let mut needs = Vec::new();
    let mut fixes = Vec::new();
    if warm_expected < EXPECTED_PER_BLOCK {
        needs.push(format!(
            "{EXPECTED_PER_BLOCK} expected successes before the first fault to measure G0 (here {warm_expected:.1} over {warm_windows} s)"
        ));
        fixes.push(format!(
            "start the first fault (or, with none, the warm-up's end{}) at {} or later",
            if settable("warmup") {
                ": --set warmup=..."
            } else {
                ", which the scenario's layout sets"
            },
            hormesis_faults::format_duration(need_warm)
        ));
    }
    if horizon < need_horizon {
        needs.push(format!(
            "a horizon H of two judging blocks of {} s each (here H = {} s)",
            b as f64 * w,
            horizon.as_secs_f64()
        ));
        let need = hormesis_faults::format_duration(need_horizon);
        fixes.push(if settable("horizon") {
            format!("use --set horizon={need} or more")
        } else {
            format!("give the scenario's layout a horizon of {need} or more")
        });
    }
    Err(format!(
        "offered {rate} req/s is too low to judge: the verdict needs {}; {}, or offer more load{}",
        needs.join(" and "),
        fixes.join(" and "),
        if settable("rate") {
            " (--set rate=...)"
        } else {
            ""
        }
    ))
}

/// Measures one timeline within `frame`.
pub fn figures(timeline: &Timeline, frame: &Frame) -> Figures {
    let w = timeline.window_s;
    let windows = &timeline.windows;
    let rate = |i: usize| windows.get(i).map_or(0.0, |x| x.goodput as f64 / w);
    let mean = |range: std::ops::Range<usize>, f: &dyn Fn(usize) -> f64| {
        let n = range.len();
        if n == 0 {
            0.0
        } else {
            range.map(f).sum::<f64>() / n as f64
        }
    };

    let warm_end = (frame.first_fault.as_secs_f64() / w).floor() as usize;
    let warm = 1.min(warm_end.saturating_sub(1))..warm_end.min(windows.len());
    let g0 = mean(warm.clone(), &rate);
    let offered0 = mean(warm, &|i| {
        windows.get(i).map_or(0.0, |x| x.offered as f64 / w)
    });
    let floor = (1.0 - EPSILON) * g0;

    let first = (frame.trigger_end.as_secs_f64() / w).ceil() as usize;
    let span = (frame.horizon.as_secs_f64() / w).round() as usize;
    let last = first + span; // exclusive
                             // Blocks never longer than half of H, so a recovery has room to start.
    let b = blocks_of(g0, w).min((span / 2).max(1));
    let hold = HOLD_WINDOWS.max(b);
    // Mean goodput rate over the block of `b` windows from `i`.
    let block = |i: usize| (i..i + b).map(rate).sum::<f64>() / b as f64;
    let unhealthy = if g0 <= 0.0 {
        Some("no goodput before the first fault (G0 = 0): the system never served a request".into())
    } else if g0 < HEALTHY_BASELINE * offered0 {
        Some(format!(
            "goodput before the first fault is {g0:.1} req/s of {offered0:.1} offered (under {:.0} %): \
             the system is failing without any fault",
            HEALTHY_BASELINE * 100.0
        ))
    } else {
        None
    };
    let ttr_s = if unhealthy.is_some() {
        None
    } else {
        (first..=last.saturating_sub(hold))
            .find(|&s| (s..=s + hold - b).all(|i| block(i) >= floor))
            .map(|s| s as f64 * w - frame.trigger_end.as_secs_f64())
    };
    let shortfall: f64 = (first..last)
        .step_by(b)
        .map(|i| {
            let n = b.min(last - i);
            let got = (i..i + n).map(rate).sum::<f64>() / n as f64;
            (floor - got).max(0.0) * n as f64 * w
        })
        .sum();
    let damage = if g0 > 0.0 {
        (shortfall / (frame.horizon.as_secs_f64() * g0)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (attempts, offered) = windows
        .iter()
        .skip(first)
        .take(span)
        .fold((0u64, 0u64), |(a, o), x| {
            (a.saturating_add(x.attempts), o.saturating_add(x.offered))
        });
    Figures {
        g0,
        offered0,
        unhealthy,
        block_s: b as f64 * w,
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
    // With no baseline of its own there is nothing the fault took away.
    let score = if run.unhealthy.is_some() {
        0.0
    } else {
        0.5 * (run.m() - m_ctrl).max(0.0) + 0.5 * (run.damage - d_ctrl).max(0.0)
    };
    let control_collapsed = control.is_some_and(|c| !c.recovered);
    let unhealthy = run.unhealthy.clone().or_else(|| {
        let c = control?;
        Some(match &c.unhealthy {
            Some(why) => format!("the control run (no faults): {why}"),
            None if !c.recovered => "the control run (same seed, no faults) does not hold its own \
                baseline: the system collapses without any fault, so none is blamed"
                .to_string(),
            None => return None,
        })
    });
    let class = match run.ttr_s {
        _ if unhealthy.is_some() => Class::UnhealthyBaseline,
        None => Class::Metastable,
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
        unhealthy,
        block_s: run.block_s,
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
        shaped_from(&[100; 15], after)
    }

    fn shaped_from(before: &[u64], after: impl Fn(usize) -> u64) -> Timeline {
        let mut g = before.to_vec();
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

    #[test]
    fn a_baseline_with_no_goodput_is_never_stable() {
        // Dead before, during and after: goodput 0 >= 0.8 * 0 everywhere.
        let dead = figures(&shaped_from(&[0; 15], |_| 0), &frame());
        assert_eq!(dead.g0, 0.0);
        assert!(!dead.recovered);
        assert!(dead.unhealthy.as_deref().unwrap().contains("G0 = 0"));
        let v = judge(&dead, None, &frame());
        assert_eq!(v.class, Class::UnhealthyBaseline);
        assert_eq!(v.score, 0.0);
        // Against a control that is just as dead.
        let v = judge(&dead, Some(&dead), &frame());
        assert_eq!(v.class, Class::UnhealthyBaseline);
    }

    #[test]
    fn a_baseline_far_below_the_offered_load_is_unhealthy() {
        // 100 offered per window, 40 served before any fault.
        let f = figures(&shaped_from(&[40; 15], |_| 40), &frame());
        assert_eq!(f.offered0, 100.0);
        assert!(f
            .unhealthy
            .as_deref()
            .unwrap()
            .contains("40.0 req/s of 100.0"));
        assert_eq!(judge(&f, None, &frame()).class, Class::UnhealthyBaseline);
        // 60 of 100 is a poor but judgeable baseline.
        let f = figures(&shaped_from(&[60; 15], |_| 60), &frame());
        assert!(f.unhealthy.is_none());
        assert_eq!(judge(&f, None, &frame()).class, Class::Stable);
    }

    #[test]
    fn a_control_that_collapses_makes_the_baseline_unhealthy() {
        let run = figures(&shaped(|_| 100), &frame());
        let ctrl = figures(&shaped(|_| 0), &frame());
        let v = judge(&run, Some(&ctrl), &frame());
        assert_eq!(v.class, Class::UnhealthyBaseline);
        assert!(v.unhealthy.as_deref().unwrap().contains("control"));
    }

    /// A low-rate timeline: 60 warm windows and 60 after, goodput from
    /// `pattern` (e.g. Poisson-like counts around 5).
    fn low_rate(after: impl Fn(usize) -> u64) -> (Timeline, Frame) {
        let noisy = |i: usize| [3u64, 7, 4, 6, 5, 2, 8, 5, 4, 6][i % 10];
        let mut g: Vec<u64> = (0..60).map(noisy).collect();
        g.extend((0..60).map(after));
        let mut t = timeline(&g);
        for w in &mut t.windows {
            w.offered = 5;
        }
        let frame = Frame {
            first_fault: Duration::from_secs(60),
            trigger_end: Duration::from_secs(60),
            horizon: Duration::from_secs(60),
            recovers_within: Duration::from_secs(30),
        };
        (t, frame)
    }

    #[test]
    fn at_low_rates_recovery_is_judged_on_blocks_not_noisy_windows() {
        let noisy = |i: usize| [3u64, 7, 4, 6, 5, 2, 8, 5, 4, 6][i % 10];
        let (t, frame) = low_rate(noisy);
        let f = figures(&t, &frame);
        // 5 per window: blocks of 20 windows, each expecting 100.
        assert_eq!(f.block_s, 20.0);
        assert_eq!(f.ttr_s, Some(0.0), "healthy noise is recovered at once");
        assert_eq!(f.damage, 0.0);
        assert_eq!(judge(&f, None, &frame).class, Class::Stable);
        // The per-window rule would have failed it: windows of 2 and 3
        // are under 0.8 * 5 in every stretch of ten.
        assert!((0..51).all(|s| (s..s + 10).any(|i| noisy(i) < 4)));
        // Half the goodput after the trigger is not recovery at any rate.
        let (t, frame) = low_rate(|i| noisy(i) / 2);
        let f = figures(&t, &frame);
        assert!(!f.recovered);
        assert!(f.damage > 0.2, "{}", f.damage);
    }

    #[test]
    fn blocks_are_one_window_at_high_rates_and_sized_to_expect_100() {
        let w = Duration::from_secs(1);
        assert_eq!(block_windows(120.0, w), 1);
        assert_eq!(block_windows(100.0, w), 1);
        assert_eq!(block_windows(99.0, w), 2);
        assert_eq!(block_windows(5.0, w), 20);
        assert_eq!(block_windows(0.5, w), 200);
        assert_eq!(block_windows(0.0, w), 1);
        assert_eq!(block_windows(f64::NAN, w), 1);
    }

    #[test]
    fn too_low_a_rate_is_refused_with_what_would_do() {
        let w = Duration::from_secs(1);
        let s = Duration::from_secs;
        assert!(judgeable(120.0, s(30), s(60), w).is_ok());
        assert!(judgeable(5.0, s(30), s(60), w).is_ok());
        let e = judgeable(0.5, s(30), s(60), w).unwrap_err();
        assert!(e.contains("--set horizon=400s"), "{e}");
        assert!(e.contains("at 201s or later"), "{e}");
        assert!(judgeable(0.5, s(201), s(400), w).is_ok());
        assert!(judgeable(0.0, s(30), s(60), w).is_err());
        assert!(judgeable(f64::INFINITY, s(30), s(60), w).is_err());
        // A rate so low the warm-up it needs overflows a duration.
        assert!(judgeable(1e-30, s(30), s(60), w).is_err());
    }
}
