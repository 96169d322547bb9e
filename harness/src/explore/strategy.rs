//! Bandit strategies over arms whose reward is a run's stress in [0, 1]
//! (see `crate::stress`: graded below the tipping point, ¾ and over above). The math is small and owned here, with tests for each update
//! rule: Thompson sampling on a Beta posterior with fractional updates,
//! UCB1, EXP3, and uniform random as the honest baseline.
//!
//! Choices are made in batches (see `explore`): an arm chosen but not yet
//! rewarded counts as `pending`, so UCB1 does not pick the same arm for a
//! whole batch and every strategy sees the same state for any `--jobs`.

use rand::RngExt;
use rand_chacha::ChaCha12Rng;

/// What the explorer knows about one arm.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmStats {
    /// Rewards received.
    pub pulls: u32,
    /// Chosen in the current batch, reward not yet in.
    pub pending: u32,
    pub reward_sum: f64,
    /// Beta posterior of the arm's mean reward (Thompson).
    pub alpha: f64,
    pub beta: f64,
    /// log of the EXP3 weight.
    pub log_weight: f64,
}

impl Default for ArmStats {
    fn default() -> Self {
        ArmStats {
            pulls: 0,
            pending: 0,
            reward_sum: 0.0,
            alpha: 1.0,
            beta: 1.0,
            log_weight: 0.0,
        }
    }
}

impl ArmStats {
    pub fn mean(&self) -> f64 {
        if self.pulls == 0 {
            0.0
        } else {
            self.reward_sum / self.pulls as f64
        }
    }

    /// These stats with a shared prior of `runs` pseudo-runs of mean
    /// `mean` added to the Beta posterior (see `explore::guide`).
    pub fn with_prior(&self, mean: f64, runs: f64) -> ArmStats {
        let mean = mean.clamp(0.0, 1.0);
        ArmStats {
            alpha: self.alpha + runs * mean,
            beta: self.beta + runs * (1.0 - mean),
            ..self.clone()
        }
    }

    /// Two children that share this arm's evidence equally: counts halve,
    /// means and weights stay.
    pub fn halved(&self) -> ArmStats {
        ArmStats {
            pulls: self.pulls / 2,
            pending: 0,
            reward_sum: self.reward_sum * (self.pulls / 2) as f64 / self.pulls.max(1) as f64,
            alpha: 1.0 + (self.alpha - 1.0) / 2.0,
            beta: 1.0 + (self.beta - 1.0) / 2.0,
            log_weight: self.log_weight,
        }
    }
}

/// The strategies, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// The default: proposers (coverage, site probes, dose descent, near
    /// misses, a bandit over cells, group probes, uniform draws) sharing
    /// each batch by the yield each has shown (`explore::allocator`).
    Guided,
    /// Thompson sampling on a Beta posterior per cell.
    Thompson,
    /// UCB1: the mean plus an optimism bonus that shrinks with pulls.
    Ucb1,
    /// EXP3: exponential weights, for rewards that need not be stationary.
    Exp3,
    /// Uniform over the whole fault space (a template, then a point of it):
    /// the baseline every other strategy must beat.
    Random,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 5] = [
        StrategyKind::Guided,
        StrategyKind::Thompson,
        StrategyKind::Ucb1,
        StrategyKind::Exp3,
        StrategyKind::Random,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Guided => "guided",
            StrategyKind::Thompson => "thompson",
            StrategyKind::Ucb1 => "ucb1",
            StrategyKind::Exp3 => "exp3",
            StrategyKind::Random => "random",
        }
    }

    pub fn strategy(self) -> Box<dyn Strategy> {
        match self {
            StrategyKind::Guided | StrategyKind::Thompson => Box::new(Thompson),
            StrategyKind::Ucb1 => Box::new(Ucb1),
            StrategyKind::Exp3 => Box::new(Exp3 { gamma: 0.1 }),
            StrategyKind::Random => Box::new(Random),
        }
    }
}

/// One bandit strategy: choose an arm, learn from its reward.
pub trait Strategy: Send + Sync {
    /// The arm to pull next, and the probability with which it was chosen
    /// (EXP3's importance weight; 1 for deterministic choices).
    fn choose(&self, arms: &[ArmStats], rng: &mut ChaCha12Rng) -> (usize, f64);
    /// Records `reward` in [0, 1] for `arm`, chosen with `probability`
    /// among `arm_count` arms.
    fn update(&self, arm: &mut ArmStats, reward: f64, probability: f64, arm_count: usize) {
        let _ = (probability, arm_count);
        record(arm, reward);
    }
}

fn record(arm: &mut ArmStats, reward: f64) {
    let r = reward.clamp(0.0, 1.0);
    arm.pulls += 1;
    arm.pending = arm.pending.saturating_sub(1);
    arm.reward_sum += r;
    // Fractional Beta update: a reward r counts as r successes and 1 − r failures.
    arm.alpha += r;
    arm.beta += 1.0 - r;
}

fn uniform(rng: &mut ChaCha12Rng) -> f64 {
    rng.random::<f64>()
}

/// Standard normal by Box–Muller.
fn normal(rng: &mut ChaCha12Rng) -> f64 {
    let u1 = 1.0 - uniform(rng); // (0, 1]
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Gamma(shape, 1) by Marsaglia and Tsang (2000); shapes below 1 by the
/// boost Gamma(a) = Gamma(a + 1) · U^(1/a).
pub fn gamma(shape: f64, rng: &mut ChaCha12Rng) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - uniform(rng);
        return gamma(shape + 1.0, rng) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = uniform(rng);
        if u < 1.0 - 0.0331 * x.powi(4) || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
pub fn beta(a: f64, b: f64, rng: &mut ChaCha12Rng) -> f64 {
    let x = gamma(a, rng);
    let y = gamma(b, rng);
    x / (x + y)
}

/// Index of the largest value; ties go to the lowest index.
fn argmax(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

pub struct Thompson;

impl Strategy for Thompson {
    fn choose(&self, arms: &[ArmStats], rng: &mut ChaCha12Rng) -> (usize, f64) {
        // Pending pulls count as failures until their reward is in, so one
        // batch spreads over arms whose posteriors overlap.
        let samples: Vec<f64> = arms
            .iter()
            .map(|a| beta(a.alpha, a.beta + a.pending as f64, rng))
            .collect();
        (argmax(samples.into_iter()), 1.0)
    }
}

pub struct Ucb1;

impl Strategy for Ucb1 {
    fn choose(&self, arms: &[ArmStats], rng: &mut ChaCha12Rng) -> (usize, f64) {
        // Untried arms first, in random order: an order fixed by the
        // layout's host list would decide what a small budget sees.
        let untried: Vec<usize> = (0..arms.len())
            .filter(|&i| arms[i].pulls + arms[i].pending == 0)
            .collect();
        if !untried.is_empty() {
            let k = ((uniform(rng) * untried.len() as f64) as usize).min(untried.len() - 1);
            return (untried[k], 1.0);
        }
        let total: f64 = arms.iter().map(|a| (a.pulls + a.pending) as f64).sum();
        let scores = arms.iter().map(|a| {
            let n = (a.pulls + a.pending) as f64;
            // Pending pulls count as reward 0 (a "virtual loss").
            a.reward_sum / n + (2.0 * total.ln() / n).sqrt()
        });
        (argmax(scores), 1.0)
    }
}

pub struct Exp3 {
    /// Exploration rate γ in (0, 1].
    pub gamma: f64,
}

impl Exp3 {
    pub fn probabilities(&self, arms: &[ArmStats]) -> Vec<f64> {
        let k = arms.len() as f64;
        let top = arms
            .iter()
            .map(|a| a.log_weight)
            .fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = arms.iter().map(|a| (a.log_weight - top).exp()).collect();
        let sum: f64 = w.iter().sum();
        w.iter()
            .map(|w| (1.0 - self.gamma) * w / sum + self.gamma / k)
            .collect()
    }
}

impl Strategy for Exp3 {
    fn choose(&self, arms: &[ArmStats], rng: &mut ChaCha12Rng) -> (usize, f64) {
        let p = self.probabilities(arms);
        let mut u = uniform(rng);
        for (i, pi) in p.iter().enumerate() {
            if u < *pi {
                return (i, *pi);
            }
            u -= pi;
        }
        let last = p.len() - 1;
        (last, p[last])
    }

    fn update(&self, arm: &mut ArmStats, reward: f64, probability: f64, arm_count: usize) {
        record(arm, reward);
        // Importance-weighted reward estimate r / p.
        let estimate = reward.clamp(0.0, 1.0) / probability.max(1e-12);
        arm.log_weight += self.gamma * estimate / arm_count as f64;
    }
}

pub struct Random;

impl Strategy for Random {
    fn choose(&self, arms: &[ArmStats], rng: &mut ChaCha12Rng) -> (usize, f64) {
        let i = ((uniform(rng) * arms.len() as f64) as usize).min(arms.len() - 1);
        (i, 1.0 / arms.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> ChaCha12Rng {
        ChaCha12Rng::seed_from_u64(42)
    }

    #[test]
    fn gamma_and_beta_samples_have_the_right_means() {
        let mut r = rng();
        for shape in [0.5, 1.0, 3.0, 20.0] {
            let n = 20_000;
            let mean = (0..n).map(|_| gamma(shape, &mut r)).sum::<f64>() / n as f64;
            assert!(
                (mean - shape).abs() < 0.05 * shape.max(1.0),
                "Gamma({shape}) mean {mean}"
            );
        }
        let n = 20_000;
        let mean = (0..n).map(|_| beta(2.0, 6.0, &mut r)).sum::<f64>() / n as f64;
        assert!((mean - 0.25).abs() < 0.01, "Beta(2, 6) mean {mean}");
    }

    #[test]
    fn the_fractional_beta_update_adds_the_reward_and_its_complement() {
        let mut a = ArmStats::default();
        Thompson.update(&mut a, 0.75, 1.0, 3);
        Thompson.update(&mut a, 0.25, 1.0, 3);
        assert_eq!((a.alpha, a.beta, a.pulls), (2.0, 2.0, 2));
        assert_eq!(a.mean(), 0.5);
        Thompson.update(&mut a, 7.0, 1.0, 3); // clamped to 1
        assert_eq!(a.alpha, 3.0);
    }

    #[test]
    fn thompson_prefers_the_arm_with_more_evidence_of_reward() {
        let mut arms = vec![ArmStats::default(); 3];
        for _ in 0..20 {
            Thompson.update(&mut arms[1], 0.9, 1.0, 3);
            Thompson.update(&mut arms[0], 0.0, 1.0, 3);
            Thompson.update(&mut arms[2], 0.1, 1.0, 3);
        }
        let mut r = rng();
        let picks = (0..200)
            .filter(|_| Thompson.choose(&arms, &mut r).0 == 1)
            .count();
        assert!(picks > 190, "{picks}/200");
    }

    #[test]
    fn ucb1_tries_every_arm_then_adds_the_exploration_bonus() {
        let mut arms = vec![ArmStats::default(); 3];
        let mut r = rng();
        let mut order = Vec::new();
        for _ in 0..3 {
            let (i, _) = Ucb1.choose(&arms, &mut r);
            arms[i].pending += 1;
            order.push(i);
        }
        order.sort_unstable();
        assert_eq!(order, [0, 1, 2], "untried arms first, pending counted");
        Ucb1.update(&mut arms[0], 1.0, 1.0, 3);
        Ucb1.update(&mut arms[1], 0.0, 1.0, 3);
        Ucb1.update(&mut arms[2], 0.0, 1.0, 3);
        // Means 1, 0, 0 with one pull each: arm 0 wins.
        assert_eq!(Ucb1.choose(&arms, &mut r).0, 0);
        // Many pulls of a mediocre arm 0 make the bonus of the others win:
        // 0.5 + sqrt(2 ln 103 / 101) ≈ 0.80 < 0 + sqrt(2 ln 103 / 1) ≈ 3.04.
        arms[0] = ArmStats {
            pulls: 101,
            reward_sum: 50.5,
            ..ArmStats::default()
        };
        assert_eq!(Ucb1.choose(&arms, &mut r).0, 1);
    }

    #[test]
    fn exp3_weights_grow_by_the_importance_weighted_reward() {
        let exp3 = Exp3 { gamma: 0.2 };
        let mut arms = vec![ArmStats::default(); 4];
        let p = exp3.probabilities(&arms);
        assert!(p.iter().all(|x| (x - 0.25).abs() < 1e-12));
        exp3.update(&mut arms[2], 0.5, 0.25, 4);
        // log w += γ · (r / p) / K = 0.2 · 2 / 4.
        assert!((arms[2].log_weight - 0.1).abs() < 1e-12);
        let p = exp3.probabilities(&arms);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[2] > p[0] && p[0] >= 0.2 / 4.0);
        // Huge weights do not overflow: probabilities are computed in log space.
        arms[1].log_weight = 1e6;
        let p = exp3.probabilities(&arms);
        assert!(p.iter().all(|x| x.is_finite()) && p[1] > 0.8);
    }

    #[test]
    fn random_is_uniform_and_halving_keeps_the_mean() {
        let arms = vec![ArmStats::default(); 4];
        let mut r = rng();
        let mut counts = [0u32; 4];
        for _ in 0..4000 {
            counts[Random.choose(&arms, &mut r).0] += 1;
        }
        assert!(counts.iter().all(|c| (900..1100).contains(c)), "{counts:?}");
        let a = ArmStats {
            pulls: 10,
            reward_sum: 4.0,
            alpha: 5.0,
            beta: 7.0,
            ..ArmStats::default()
        };
        let h = a.halved();
        assert_eq!((h.pulls, h.mean(), h.alpha, h.beta), (5, 0.4, 3.0, 4.0));
    }
}
