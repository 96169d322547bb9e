//! The default strategy's proposers: each is one way of choosing the next
//! run, behind [`Proposer`]. The [`allocator`](super::allocator) shares
//! every batch among them by the yield each has shown in this exploration.
//!
//! A proposer reads the [`Board`] (the space and what every run so far
//! showed), proposes one run at a time, and observes every finished run,
//! its own and the others'. It never simulates and never sees the clock,
//! so each is unit-tested on made-up outcomes, and the same outcomes give
//! the same proposals for any `--jobs`.

pub mod cell_bandit;
pub mod coverage;
pub mod dose_descent;
pub mod group_probes;
pub mod near_miss;
pub mod site_probes;
pub mod uniform;

use super::guide::Evidence;
pub use super::guide::Placed;
use crate::consequence::Consequences;
use crate::verdict::Class;
use hormesis_faults::space::{Space, Template};
use rand::RngExt;
use rand_chacha::ChaCha12Rng;

/// What every proposer may read when it proposes.
pub struct Board<'a> {
    pub space: &'a Space,
    /// Every finished run, with shared priors and near misses.
    pub evidence: &'a Evidence,
    /// Templates run, or chosen in this batch, at full strength.
    pub probed: &'a [usize],
    /// Finished runs, and of them the metastable ones.
    pub runs: usize,
    pub tipped: usize,
}

/// The part a run plays for the proposers that follow doses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A template at its longest duration and largest magnitude.
    FullStrength,
    /// One dose of a descent below a full-strength probe.
    Dose,
    Other,
}

/// One run a proposer asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The faults, one or more, each a template and a point on its grid.
    pub events: Vec<Placed>,
    pub role: Role,
}

/// A finished run, as every proposer observes it.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub events: &'a [Placed],
    pub role: Role,
    /// The name of the proposer that asked for it.
    pub proposer: &'a str,
    pub stress: f64,
    /// Stress discounted by how often the run's arm tipped before: what
    /// the run was worth to the search (see [`super::allocator`]).
    pub reward: f64,
    /// `None` when the run could not be simulated.
    pub class: Option<Class>,
    pub consequences: Option<&'a Consequences>,
}

impl Outcome<'_> {
    pub fn tipped(&self) -> bool {
        self.class == Some(Class::Metastable)
    }

    /// It ran and recovered.
    pub fn held(&self) -> bool {
        matches!(self.class, Some(Class::Stable | Class::SlowRecovery))
    }
}

/// One way of choosing runs.
pub trait Proposer: Send {
    /// The name `BENCH_ABLATE` and the run records use.
    fn name(&self) -> &'static str;
    /// Called once before each batch is chosen.
    fn begin_batch(&mut self, board: &Board, rng: &mut ChaCha12Rng) {
        let _ = (board, rng);
    }
    /// The next run this proposer wants, or `None` when it has nothing to
    /// propose now (the allocator then asks another for this slot).
    fn propose(&mut self, board: &Board, rng: &mut ChaCha12Rng) -> Option<Proposal>;
    /// Every finished run, in record order, whoever proposed it.
    fn observe(&mut self, space: &Space, outcome: &Outcome);
}

/// The proposers of the default strategy, in a fixed order, less those
/// named in `ablate`.
pub fn default_set(space: &Space, ablate: &[String]) -> Vec<Box<dyn Proposer>> {
    let all: Vec<Box<dyn Proposer>> = vec![
        Box::new(coverage::Coverage),
        Box::new(site_probes::SiteProbes::default()),
        Box::new(dose_descent::DoseDescent::default()),
        Box::new(near_miss::NearMiss),
        Box::new(cell_bandit::CellBandit::new(space)),
        Box::new(group_probes::GroupProbes::new(space)),
        Box::new(uniform::Uniform),
    ];
    all.into_iter()
        .filter(|p| !ablate.iter().any(|a| a == p.name()))
        .collect()
}

/// The names of the default strategy's proposers.
pub const NAMES: [&str; 7] = [
    "coverage",
    "site-probes",
    "dose-descent",
    "near-miss",
    "cell-bandit",
    "group-probes",
    "uniform",
];

/// A uniform number in [0, 1).
pub(crate) fn unit(rng: &mut ChaCha12Rng) -> f64 {
    rng.random::<f64>()
}

/// An index in `0..n` (n > 0), uniformly.
pub(crate) fn index(rng: &mut ChaCha12Rng, n: usize) -> usize {
    ((unit(rng) * n as f64) as usize).min(n.saturating_sub(1))
}

/// `items` in an order drawn from `rng` (Fisher–Yates).
pub(crate) fn shuffle<T>(items: &mut [T], rng: &mut ChaCha12Rng) {
    for i in (1..items.len()).rev() {
        let j = index(rng, i + 1);
        items.swap(i, j);
    }
}

/// A point of `template` at its longest duration and at `magnitude` (where
/// it has one), the onset at `u` of its range: a full-strength probe, or
/// one dose of a descent below it.
pub fn at_full_duration(template: &Template, u: f64, magnitude: Option<f64>) -> Vec<f64> {
    let mut point = vec![template.onset.lo + u * (template.onset.hi - template.onset.lo)];
    point.extend(template.duration.map(|d| d.hi));
    point.extend(magnitude.filter(|_| template.magnitude.is_some()));
    template.snap(&point)
}

/// The initial cell of `space` that holds `point` of `template`.
pub fn root_of(space: &Space, template: usize, point: &[f64]) -> Option<usize> {
    space
        .cells
        .iter()
        .position(|c| space.contains(c, template, point))
}

#[cfg(test)]
pub(crate) mod testing {
    //! A small space and made-up outcomes for the proposers' tests.
    use super::*;
    use hormesis_faults::{KnobKind, KnobSpec, Target};
    use rand::SeedableRng;
    use std::time::Duration;

    pub fn space() -> Space {
        let target = Target {
            hosts: vec!["a".into(), "b".into(), "c".into()],
            clients: vec!["client-1".into()],
            knobs: vec![KnobSpec {
                name: "flush".into(),
                kind: KnobKind::Action,
                help: String::new(),
            }],
            latest_end: Duration::from_secs(3000),
        };
        Space::new(&target, Duration::from_secs(30))
    }

    pub fn rng(seed: u64) -> ChaCha12Rng {
        ChaCha12Rng::seed_from_u64(seed)
    }

    pub fn template(space: &Space, name: &str) -> usize {
        space
            .templates
            .iter()
            .position(|t| t.name == name)
            .unwrap_or_else(|| panic!("no template {name}"))
    }

    pub fn board<'a>(space: &'a Space, evidence: &'a Evidence, probed: &'a [usize]) -> Board<'a> {
        Board {
            space,
            evidence,
            probed,
            runs: 0,
            tipped: 0,
        }
    }

    /// A finished run of one fault.
    pub fn outcome<'a>(
        events: &'a [Placed],
        role: Role,
        stress: f64,
        class: Class,
        consequences: Option<&'a Consequences>,
    ) -> Outcome<'a> {
        Outcome {
            events,
            role,
            proposer: "test",
            stress,
            reward: stress,
            class: Some(class),
            consequences,
        }
    }
}
