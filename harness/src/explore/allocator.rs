//! Sharing each batch among the default strategy's proposers by what each
//! has yielded in this exploration.
//!
//! A bandit over proposers: each has a Beta posterior over its *yield*,
//! the reward of the runs it proposed (stress, halved for every earlier
//! tip of the same arm, so a new failure mode pays most and a known one
//! little). Each slot of a batch goes to the proposer whose posterior
//! sample is highest, its slots already taken this batch counting as
//! failures until their rewards are in (so one batch spreads over
//! proposers that look alike). A proposer with nothing to propose now is
//! passed over for the slot. Every proposer starts from the same
//! Beta(1, 1): nothing about a target decides who runs first.

use super::proposers::index;
use super::strategy::{beta, ArmStats, Strategy, Thompson};
use rand_chacha::ChaCha12Rng;

pub struct Allocator {
    stats: Vec<ArmStats>,
}

impl Allocator {
    pub fn new(proposers: usize) -> Allocator {
        Allocator {
            stats: vec![ArmStats::default(); proposers],
        }
    }

    /// The proposer for the next slot among those still `willing`, or
    /// `None` when none is.
    pub fn choose(&mut self, willing: &[bool], rng: &mut ChaCha12Rng) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.stats.len()).filter(|&i| willing[i]).collect();
        if candidates.is_empty() {
            return None;
        }
        // Ties (equal samples never happen in practice) go in a drawn order.
        let offset = index(rng, candidates.len());
        let mut best: Option<(usize, f64)> = None;
        for k in 0..candidates.len() {
            let i = candidates[(k + offset) % candidates.len()];
            let a = &self.stats[i];
            let sample = beta(a.alpha, a.beta + a.pending as f64, rng);
            if best.is_none_or(|(_, b)| sample > b) {
                best = Some((i, sample));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Counts a slot given to `proposer` until its reward is in.
    pub fn take(&mut self, proposer: usize) {
        self.stats[proposer].pending += 1;
    }

    /// Credits `proposer` with one run's reward.
    pub fn credit(&mut self, proposer: usize, reward: f64) {
        let n = self.stats.len();
        Thompson.update(&mut self.stats[proposer], reward, 1.0, n);
    }

    /// Each proposer's runs and mean yield so far.
    pub fn yields(&self) -> Vec<(u32, f64)> {
        self.stats.iter().map(|a| (a.pulls, a.mean())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_proposer_that_yields_gets_most_slots_and_none_is_starved() {
        let mut a = Allocator::new(3);
        for _ in 0..12 {
            a.credit(0, 0.05);
            a.credit(1, 0.6);
            a.credit(2, 0.1);
        }
        let mut r = ChaCha12Rng::seed_from_u64(9);
        let mut counts = [0; 3];
        for _ in 0..300 {
            // One batch of eight, pending counted.
            for _ in 0..8 {
                let i = a.choose(&[true; 3], &mut r).unwrap();
                a.take(i);
                counts[i] += 1;
            }
            for s in &mut a.stats {
                s.pending = 0;
            }
        }
        assert!(counts[1] > counts[0] + counts[2], "{counts:?}");
        assert!(counts[0] > 0 && counts[2] > 0, "{counts:?}");
    }

    #[test]
    fn unwilling_proposers_are_passed_over_and_even_priors_share_evenly() {
        let mut a = Allocator::new(3);
        let mut r = ChaCha12Rng::seed_from_u64(10);
        assert_eq!(a.choose(&[false, false, true], &mut r), Some(2));
        assert_eq!(a.choose(&[false; 3], &mut r), None);
        let mut counts = [0; 3];
        for _ in 0..3000 {
            counts[a.choose(&[true; 3], &mut r).unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }
}
