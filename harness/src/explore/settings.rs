//! Every number that shapes the default strategy's search, in one place.
//!
//! Each field says why it has its value. Where a value came from watching
//! a target, the field says which, so that an ablation (`BENCH_ABLATE`, or
//! a changed value measured with `cargo bench --bench explore` across the
//! generated instances and the built-ins) can put it in question: a value
//! kept because it moved one target's figure is a fit, not a mechanism.
//! Limits on users' input (`MAX_SEEDS`, the defaults of `--seeds` and
//! `--threshold`) live with the flags they bound, not here.

/// The explorer's constants; [`SETTINGS`] holds those every exploration
/// uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Runs chosen together before any of their rewards is seen: the unit
    /// the allocator shares out and `--jobs` runs in parallel. It never
    /// depends on `--jobs`, so the records do not either.
    pub batch: usize,
    /// How deep a template's cells may be split: 2⁸ cells per axis at
    /// most, finer than any fault's effect resolves.
    pub max_depth: u32,
    /// A cell whose runs' stresses differ by more than this is split: a
    /// slope its halves can tell apart (stress is in [0, 1]).
    pub stress_slope: f64,
    /// A run's reward is its stress times this for each earlier tip of its
    /// arm: a known failure mode is worth less than a new one.
    pub novelty_discount: f64,
    /// The weight of a parent level's mean in a child's shrinkage
    /// estimate, in runs: a template with this many runs is believed half
    /// on its own.
    pub shrink_runs: f64,
    /// How many pseudo-runs the shared prior is worth next to a cell's own.
    pub prior_runs: f64,
    /// Of the near-miss proposals, the share that joins two near misses
    /// into one compound schedule.
    pub compound_share: f64,
    /// How much more a site's stress must be than the mean of the same
    /// fault on its peers to stand out. Watched on `hot-shard` (seed 1:
    /// the hot shard scores 1.4–1.6× a cold one; explorer seed 3: loss on
    /// cold shards 1.2×), so a value to question.
    pub stand_out_ratio: f64,
    /// And by how much at least, so that tiny stresses never stand out by
    /// their ratio alone.
    pub stand_out_margin: f64,
    /// Runs of the same kind on other sites needed before a comparison
    /// counts.
    pub min_peers: usize,
    /// The most doses one template's descent tries, its full-strength
    /// probe included.
    pub max_rungs: usize,
    /// The most midpoints one descent tries between doses of different
    /// kinds of harm.
    pub max_bisections: u32,
    /// The most faults in one group probe.
    pub group_size: usize,
}

/// The values every exploration uses.
pub const SETTINGS: Settings = Settings {
    batch: 8,
    max_depth: 8,
    stress_slope: 0.2,
    novelty_discount: 0.5,
    shrink_runs: 2.0,
    prior_runs: 2.0,
    compound_share: 0.4,
    stand_out_ratio: 1.3,
    stand_out_margin: 0.03,
    min_peers: 2,
    max_rungs: 6,
    max_bisections: 2,
    group_size: 3,
};

#[cfg(test)]
mod tests {
    use super::SETTINGS;

    #[test]
    fn the_settings_are_within_the_ranges_their_reasons_assume() {
        let s = SETTINGS;
        assert!(s.batch >= 1 && s.max_depth >= 1 && s.min_peers >= 1);
        assert!((0.0..1.0).contains(&s.stress_slope));
        assert!((0.0..=1.0).contains(&s.novelty_discount));
        assert!((0.0..=1.0).contains(&s.compound_share));
        assert!(s.stand_out_ratio > 1.0 && s.stand_out_margin > 0.0);
        assert!(s.shrink_runs > 0.0 && s.prior_runs > 0.0);
        assert!(s.max_rungs >= 1 && s.group_size >= 2);
    }
}
