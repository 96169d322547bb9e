//! The explorer: a bandit over arms (fault template × parameter cell) that
//! looks for the schedules that most stress metastability.
//!
//! Runs go in batches of a fixed size. The strategy chooses a whole batch
//! from the state after the previous one (pending pulls count, see
//! [`strategy`]), the batch runs on `jobs` threads, and rewards are applied
//! in batch order. The batch size never depends on `jobs`, so an
//! exploration gives the same records for any `--jobs` with the same seed.
//!
//! Each run's seed comes from a small pool derived from the exploration
//! seed; the control run of each pool seed is simulated once, long enough
//! for any schedule of the space, and shared by every run on that seed.

pub mod boundary;
pub mod descent;
pub mod guide;
pub mod merge;
pub mod sites;
pub mod strategy;

use crate::consequence;
use crate::engine::EngineKind;
use crate::run::{self, Control, RunError, RunPlan, RunReport};
use crate::scenario::Scenario;
use crate::verdict::Class;
use hormesis_faults::space::{Cell, Space};
use hormesis_faults::{Schedule, Target};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use strategy::{ArmStats, StrategyKind};

/// Runs chosen together before any of their rewards is seen.
pub const BATCH: usize = 8;
/// The largest seed pool: every seed a run reaches costs one control run.
pub const MAX_SEEDS: usize = 100_000;
/// How deep cells may be split.
const MAX_DEPTH: u32 = 8;
/// The share of the default strategy's bandit draws that probe two or
/// three sites at once, from the second batch until the first metastable run.
const GROUP_SHARE: f64 = 0.35;

/// The size of the seed pool when none is given (`explore --seeds`).
pub const DEFAULT_SEEDS: usize = 4;
/// The score from which a metastable run is written as an incident
/// (`explore --threshold`).
pub const DEFAULT_INCIDENT_THRESHOLD: f64 = 0.5;

/// One thread per core: the default of `jobs` (and `--jobs`).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What to explore and how. [`ExploreConfig::new`] starts from the
/// command line's defaults:
///
/// ```no_run
/// use hormesis::explore::{explore, ExploreConfig};
/// use hormesis::explore::strategy::StrategyKind;
/// use hormesis::scenarios::RetryStorm;
///
/// let config = ExploreConfig::new(&RetryStorm, 60)
///     .set("mitigation=retry-budget")
///     .strategy(StrategyKind::Random)
///     .seed(7);
/// let found = explore(&config, &mut |_, _| {}).unwrap();
/// println!("{} metastable runs", found.summary.metastable_runs);
/// ```
#[derive(Clone)]
pub struct ExploreConfig {
    pub scenario: &'static dyn Scenario,
    pub overrides: Vec<String>,
    pub engine: EngineKind,
    pub strategy: StrategyKind,
    pub seed: u64,
    pub budget: usize,
    pub jobs: usize,
    /// Size of the pool of run seeds (over all shards).
    pub seeds: usize,
    /// `(i, n)`: this machine explores shard i of n.
    pub shard: (usize, usize),
}

impl ExploreConfig {
    /// `budget` runs of `scenario` with the defaults of `explore`: the
    /// build's engine, the default strategy, seed 1, [`DEFAULT_SEEDS`] run
    /// seeds, one thread per core, the whole exploration (shard 0/1), no
    /// overrides.
    pub fn new(scenario: &'static dyn Scenario, budget: usize) -> ExploreConfig {
        ExploreConfig {
            scenario,
            overrides: Vec::new(),
            engine: EngineKind::BUILT,
            strategy: StrategyKind::Thompson,
            seed: 1,
            budget,
            jobs: default_jobs(),
            seeds: DEFAULT_SEEDS,
            shard: (0, 1),
        }
    }

    /// Overrides a parameter (`key=value`), as `--set` does.
    pub fn set(mut self, key_value: &str) -> Self {
        self.overrides.push(key_value.to_string());
        self
    }

    pub fn engine(mut self, engine: EngineKind) -> Self {
        self.engine = engine;
        self
    }

    pub fn strategy(mut self, strategy: StrategyKind) -> Self {
        self.strategy = strategy;
        self
    }

    /// Fixes every choice of the exploration and its run seeds.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Threads; does not change the result.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// The size of the pool of run seeds, over all shards.
    pub fn seeds(mut self, seeds: usize) -> Self {
        self.seeds = seeds;
        self
    }

    /// Explore shard `i` of `n`.
    pub fn shard(mut self, i: usize, n: usize) -> Self {
        self.shard = (i, n);
        self
    }
}

/// One run of the exploration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub index: usize,
    /// The initial arm (template and coarse cell) the run belongs to.
    pub arm: String,
    /// The (possibly refined) cell it was drawn from.
    pub cell: String,
    pub schedule: Vec<String>,
    pub seed: u64,
    pub score: f64,
    /// How close the run came to tipping, in [0, 1]: under ½ when it
    /// recovered, ¾ and over when metastable ([`crate::stress`]). 0 in
    /// files written before it was recorded.
    #[serde(default)]
    pub stress: f64,
    /// Null when the run could not be simulated (see `error`).
    pub class: Option<Class>,
    pub ttr_s: Option<f64>,
    /// Why the simulation itself failed (an engine limit), if it did; the
    /// run then counts as reward 0 and the exploration goes on.
    pub error: Option<String>,
}

/// The best run of one arm.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BestOfArm {
    pub arm: String,
    pub runs: usize,
    pub metastable_runs: usize,
    pub best_score: f64,
    /// The highest stress of the arm's runs: the nearest miss when none
    /// tipped. Its run gives `best_schedule` and `best_seed`.
    #[serde(default)]
    pub best_stress: f64,
    pub best_schedule: Vec<String>,
    pub best_seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub runs: usize,
    /// 1-based: how many runs it took to see the first metastable one.
    pub runs_to_first_metastable: Option<usize>,
    pub metastable_runs: usize,
    /// Arms with a metastable run: distinct failure modes. A compound
    /// counts only when none of its faults tipped on its own.
    pub distinct_metastable_arms: usize,
    pub best_score: f64,
    /// Runs the engine could not simulate.
    pub errors: usize,
    /// Runs whose system had no healthy baseline (`unhealthy-baseline`: no
    /// goodput before the first fault, or a control that collapsed without
    /// faults): a dead or overloaded build, never a pass. 0 in files
    /// written before it was recorded.
    #[serde(default)]
    pub unhealthy_runs: usize,
    /// Cells at the end (initial cells plus splits).
    pub cells: usize,
    /// Every arm that was run, best first. A compound schedule's arm is
    /// its faults' arms joined with ` + `.
    pub arms: Vec<BestOfArm>,
}

/// The result of an exploration: the `--json` output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Exploration {
    pub hormesis_version: &'static str,
    pub scenario: String,
    pub engine: EngineKind,
    pub strategy: StrategyKind,
    pub seed: u64,
    pub shard: String,
    /// The parameter overrides (`--set KEY=VALUE`) every run used.
    pub set: Vec<String>,
    /// Size of the run seed pool (`--seeds`), over all shards.
    pub seeds: usize,
    /// The run budget; null when only a time budget was given.
    pub budget: Option<usize>,
    /// Whether `stop` (a time budget, Ctrl-C) ended it before the budget.
    pub stopped_early: bool,
    pub batch: usize,
    pub run_seeds: Vec<u64>,
    pub runs: Vec<RunRecord>,
    pub summary: Summary,
    /// Each metastable arm's smallest trigger, when asked for
    /// (`--smallest-trigger`, see [`boundary`]); empty otherwise.
    pub smallest_triggers: Vec<boundary::SmallestTrigger>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{0}")]
    Config(String),
}

/// The run seeds of shard `i` of `n` from a pool of `size` derived from
/// `seed`: pool entries i, i + n, i + 2n, ...
pub fn shard_seeds(seed: u64, size: usize, (i, n): (usize, usize)) -> Vec<u64> {
    let mut key = blake3::Hasher::new_derive_key("hormesis explore run seeds v1");
    key.update(&seed.to_le_bytes());
    let mut rng = ChaCha12Rng::from_seed(*key.finalize().as_bytes());
    let pool: Vec<u64> = (0..size).map(|_| rng.random::<u64>()).collect();
    pool.into_iter().skip(i).step_by(n.max(1)).collect()
}

struct Arm {
    cell: Cell,
    stats: ArmStats,
    tipped: u32,
    held: u32,
    /// The lowest and highest stress of the cell's runs.
    stress_range: Option<(f64, f64)>,
}

impl Arm {
    fn new(cell: Cell, stats: ArmStats) -> Arm {
        Arm {
            cell,
            stats,
            tipped: 0,
            held: 0,
            stress_range: None,
        }
    }

    /// A cell worth splitting: its runs both tipped and held (it straddles
    /// a tipping boundary), or their stress differs by more than this,
    /// a slope the halves can tell apart.
    fn straddles(&self) -> bool {
        const STRESS_SLOPE: f64 = 0.2;
        (self.tipped > 0 && self.held > 0)
            || self
                .stress_range
                .is_some_and(|(lo, hi)| hi - lo > STRESS_SLOPE)
    }
}

/// What one slot of a batch runs.
struct Choice {
    /// The cell it counts for; `None` for a compound schedule.
    arm: Option<usize>,
    /// The probability it was chosen with (EXP3's importance weight).
    probability: f64,
    /// The initial cells of a group probe (several faults drawn by the
    /// bandit at once): each is credited with the run's stress.
    members: Vec<usize>,
    events: Vec<guide::Placed>,
    schedule: Schedule,
    seed_slot: usize,
    /// Whether it is one dose of a template's descent (its full-strength
    /// probe or a dose below it).
    dose: Option<Dose>,
}

/// The part a run plays in a template's dose descent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dose {
    FullStrength,
    Below,
}

/// A point of `template` at its longest duration and at `magnitude` (where
/// it has one), the onset at `u` of its range: a full-strength probe, or
/// one dose of a descent below it.
fn at_full_duration(
    template: &hormesis_faults::space::Template,
    u: f64,
    magnitude: Option<f64>,
) -> Vec<f64> {
    let mut point = vec![template.onset.lo + u * (template.onset.hi - template.onset.lo)];
    point.extend(template.duration.map(|d| d.hi));
    point.extend(magnitude.filter(|_| template.magnitude.is_some()));
    template.snap(&point)
}

/// The cell of `arms` that holds `point` of `template`.
fn locate(arms: &[Arm], space: &Space, template: usize, point: &[f64]) -> Option<usize> {
    arms.iter()
        .position(|a| space.contains(&a.cell, template, point))
}

/// Explores; `on_run` sees every run, in order, as its batch completes.
pub fn explore(
    config: &ExploreConfig,
    on_run: &mut dyn FnMut(&RunRecord, Option<&RunReport>),
) -> Result<Exploration, ExploreError> {
    explore_until(config, on_run, &|| false)
}

/// Like [`explore`], but asks `stop` before each batch and ends early when
/// it says so (a time budget, Ctrl-C). The runs made are exactly the first
/// runs of the same exploration with a larger budget: stopping never
/// changes what was chosen, only how much.
pub fn explore_until(
    config: &ExploreConfig,
    on_run: &mut dyn FnMut(&RunRecord, Option<&RunReport>),
    stop: &dyn Fn() -> bool,
) -> Result<Exploration, ExploreError> {
    let (shard, shards) = config.shard;
    if shards == 0 || shard >= shards {
        return Err(ExploreError::Config(format!(
            "--shard {shard}/{shards}: expected i/n with 0 ≤ i < n"
        )));
    }
    if config.seeds > MAX_SEEDS {
        return Err(ExploreError::Config(format!(
            "--seeds {}: at most {MAX_SEEDS} run seeds (each is one control simulation)",
            config.seeds
        )));
    }
    if config.seeds < shards {
        return Err(ExploreError::Config(format!(
            "--seeds {} is fewer than the {shards} shards: every shard needs at least one run seed",
            config.seeds
        )));
    }
    let run_seeds = shard_seeds(config.seed, config.seeds, config.shard);
    let base = |seed: u64, schedule: Schedule| {
        RunPlan::new(
            config.scenario,
            &config.overrides,
            schedule,
            "explore",
            None,
            seed,
            config.engine,
        )
    };
    let probe = base(run_seeds[0], Schedule::default())?;
    let system = config
        .scenario
        .build(&probe.params)
        .map_err(|e| ExploreError::Config(e.message))?;
    let layout = system.layout().clone();
    let target: Target = run::target(config.scenario, &probe.params, &layout);
    let space = Space::new(&target, layout.warmup);
    if space.cells.is_empty() {
        return Err(ExploreError::Config(format!(
            "no fault fits between the warm-up's end ({}) and the latest a trigger may end ({}, the run limit less the horizon): shorten --set warmup or --set horizon",
            hormesis_faults::format_duration(layout.warmup),
            hormesis_faults::format_duration(target.latest_end)
        )));
    }
    let mut arms: Vec<Arm> = space
        .cells
        .iter()
        .map(|c| Arm::new(c.clone(), ArmStats::default()))
        .collect();
    let mut evidence = guide::Evidence::default();
    let roots = space.cells.len();
    let mut root_stats = vec![ArmStats::default(); roots];
    // The default strategy shares evidence between cells and proposes
    // around near misses (see `guide`); the others are plain bandits.
    let guided = config.strategy == StrategyKind::Thompson;
    let root_label = |cell: &Cell| space.label(&space.cells[cell.root]);

    // The longest run any cell can make: latest onset + longest duration + H.
    let longest = space
        .templates
        .iter()
        .map(|t| t.onset.hi + t.duration.map_or(0.0, |d| d.hi))
        .fold(0.0, f64::max);
    let control_end = Duration::from_secs_f64(longest) + layout.horizon;
    // Controls are simulated when a run first needs their seed, so a large
    // pool costs nothing the budget does not reach.
    let mut controls: Vec<Option<Result<Control, RunError>>> =
        (0..run_seeds.len()).map(|_| None).collect();

    let strategy = config.strategy.strategy();
    let mut key = blake3::Hasher::new_derive_key("hormesis explore choices v1");
    key.update(&config.seed.to_le_bytes());
    key.update(&(shard as u64).to_le_bytes());
    let mut rng = ChaCha12Rng::from_seed(*key.finalize().as_bytes());

    let mut records: Vec<RunRecord> = Vec::with_capacity(config.budget.min(4096));
    // Templates the default strategy has run at full strength.
    let mut probed: Vec<usize> = Vec::new();
    // Doses below the full-strength probes that hurt without tipping.
    let mut descent = descent::Descent::default();
    // The hosts and links the faults of a tipping run were aimed at.
    let mut tipped_sites: Vec<String> = Vec::new();
    // Full-strength single faults, to find a site that stands out.
    let mut full_strength = sites::FullStrengthRuns::default();
    // The sites of the run that came closest without tipping.
    let mut best_near_miss: Option<(f64, Vec<String>)> = None;
    let mut stopped_early = false;
    while records.len() < config.budget {
        if stop() {
            stopped_early = true;
            break;
        }
        let size = BATCH.min(config.budget - records.len());
        // Choose the whole batch from the state after the last one.
        let priors = if guided {
            evidence.prior(&space)
        } else {
            Vec::new()
        };
        // The plain bandits draw over the current cells.
        let mut pending: Vec<ArmStats> = arms.iter().map(|a| a.stats.clone()).collect();
        // The default strategy covers the space over its initial cells,
        // where distinct failure modes are told apart; splits only refine
        // what its runs are labelled and counted as.
        let mut pending_roots: Vec<ArmStats> = root_stats
            .iter()
            .zip(&space.cells)
            .map(|(stats, cell)| match priors.get(cell.template) {
                Some(&mean) => stats.with_prior(mean, guide::PRIOR_RUNS),
                None => stats.clone(),
            })
            .collect();
        let mut chosen: Vec<Choice> = Vec::with_capacity(size);

        // Failures are rare here (a batch or more and none yet): probe
        // several sites per run.
        let sparse =
            !records.is_empty() && !records.iter().any(|r| r.class == Some(Class::Metastable));
        // The descents' next doses lead the batch, in an order drawn: up
        // to three quarters of it while nothing has tipped (a failure in a
        // middle band is what they look for), a quarter once something has
        // (then other failure modes matter more: at half, gc-pressure's
        // distinct arms fell to 0.86x random's at budget 16).
        let mut doses = if guided {
            descent.next(&space)
        } else {
            Vec::new()
        };
        for i in (1..doses.len()).rev() {
            let j = ((rng.random::<f64>() * (i + 1) as f64) as usize).min(i);
            doses.swap(i, j);
        }
        doses.truncate(if sparse { size * 3 / 4 } else { size / 4 });
        // The templates aimed at a site of a tipping run, of the run that
        // came closest without tipping, or where a full-strength fault
        // stood out against the same kind elsewhere, and not yet run at
        // full strength, are probed next, a quarter of a batch at most: a
        // host that gave way (or nearly did) under one fault is the
        // likeliest to give way under another (one weak host among many),
        // and each is a failure mode of its own.
        let mut standing_out = full_strength.standing_out();
        standing_out.extend(best_near_miss.iter().flat_map(|(_, sites)| sites.clone()));
        let mut site_probes: Vec<usize> = (0..space.templates.len())
            .filter(|t| guided && !probed.contains(t))
            .filter(|&t| {
                space.templates[t]
                    .site()
                    .is_some_and(|site| tipped_sites.iter().chain(&standing_out).any(|s| s == site))
            })
            .collect();
        for i in (1..site_probes.len()).rev() {
            let j = ((rng.random::<f64>() * (i + 1) as f64) as usize).min(i);
            site_probes.swap(i, j);
        }
        // The most promising first, by the evidence shared over each
        // template's kind and host (ties in the order drawn).
        let promise = |t: usize| priors.get(t).copied().unwrap_or(0.0);
        site_probes.sort_by(|&a, &b| promise(b).total_cmp(&promise(a)));
        site_probes.truncate(size / 4);
        for k in 0..size {
            let seed_slot = (records.len() + k) % run_seeds.len();
            // The batch's leading runs: the descents' doses, then site probes.
            let lead = match doses.get(k) {
                Some(&(template, magnitude)) => Some((template, Some(magnitude), Dose::Below)),
                None => k
                    .checked_sub(doses.len())
                    .and_then(|i| site_probes.get(i))
                    .map(|&template| {
                        probed.push(template);
                        let strongest = space.templates[template].magnitude.map(|m| m.hi);
                        (template, strongest, Dose::FullStrength)
                    }),
            };
            if let Some((template, magnitude, dose)) = lead {
                let point =
                    at_full_duration(&space.templates[template], rng.random::<f64>(), magnitude);
                let arm = locate(&arms, &space, template, &point);
                if let Some(arm) = arm {
                    pending[arm].pending += 1;
                }
                let events = vec![(template, point)];
                chosen.push(Choice {
                    arm,
                    probability: 1.0,
                    members: Vec::new(),
                    schedule: schedule_of(&space, &events),
                    events,
                    seed_slot,
                    dose: Some(dose),
                });
                continue;
            }
            let mut uniform = || rng.random::<f64>();
            let near_miss = guided && !records.is_empty() && evidence.wants_near_miss(uniform());
            let proposal = near_miss
                .then(|| evidence.propose(&space, &mut uniform))
                .and_then(|events| {
                    let schedule = schedule_of(&space, &events);
                    // A compound the schedule rules refuse (two faults on
                    // one link) is dropped for a bandit choice.
                    schedule.validate(&target).ok().map(|()| (events, schedule))
                });
            let choice = match proposal {
                Some((events, schedule)) => {
                    let arm = match events.as_slice() {
                        [(template, point)] => locate(&arms, &space, *template, point),
                        _ => None,
                    };
                    Choice {
                        arm,
                        probability: 1.0,
                        members: Vec::new(),
                        events,
                        schedule,
                        seed_slot,
                        dose: None,
                    }
                }
                None => {
                    let uniform_draw = config.strategy == StrategyKind::Random;
                    // Templates not yet run at full strength, while nothing
                    // has tipped: the whole first batch, then half of the
                    // bandit's share of each batch.
                    let fresh: Vec<usize> = (0..space.templates.len())
                        .filter(|t| !probed.contains(t))
                        .collect();
                    let full_strength = guided
                        && (records.is_empty()
                            || (sparse && !fresh.is_empty() && rng.random::<f64>() < 0.5));
                    let dose = full_strength.then_some(Dose::FullStrength);
                    let (arm, probability, template, point) = if full_strength {
                        // A probe of a whole template at full strength (the
                        // longest, largest fault it allows, onset drawn),
                        // templates without repeats: most vulnerabilities
                        // grow with the dose, so a template that does not
                        // tip at its strongest rarely tips elsewhere, and
                        // its stress says how close it came.
                        let pool: Vec<usize> = if fresh.is_empty() {
                            (0..space.templates.len()).collect()
                        } else {
                            least_probed_sites(&space, &probed, fresh)
                        };
                        let template = pool[((rng.random::<f64>() * pool.len() as f64) as usize)
                            .min(pool.len() - 1)];
                        probed.push(template);
                        let t = &space.templates[template];
                        let point =
                            at_full_duration(t, rng.random::<f64>(), t.magnitude.map(|m| m.hi));
                        let arm = locate(&arms, &space, template, &point);
                        (arm, 1.0 / pool.len() as f64, template, point)
                    } else if uniform_draw {
                        // Uniform over the fault space: the initial cells,
                        // whatever has been split since.
                        let n = space.cells.len();
                        let root =
                            &space.cells[((rng.random::<f64>() * n as f64) as usize).min(n - 1)];
                        let point = space.sample_point(root, &mut || rng.random::<f64>());
                        let arm = locate(&arms, &space, root.template, &point);
                        (arm, 1.0 / n as f64, root.template, point)
                    } else if guided {
                        let (root, probability) = strategy.choose(&pending_roots, &mut rng);
                        pending_roots[root].pending += 1;
                        let cell = &space.cells[root];
                        let point = space.sample_point(cell, &mut || rng.random::<f64>());
                        let arm = locate(&arms, &space, cell.template, &point);
                        (arm, probability, cell.template, point)
                    } else {
                        let (arm, probability) = strategy.choose(&pending, &mut rng);
                        let cell = &arms[arm].cell;
                        let point = space.sample_point(cell, &mut || rng.random::<f64>());
                        (Some(arm), probability, cell.template, point)
                    };
                    let mut events = vec![(template, point)];
                    // A group probe's initial cells, credited with its stress.
                    let mut members: Vec<usize> =
                        arm.map(|a| arms[a].cell.root).into_iter().collect();
                    if guided && sparse && rng.random::<f64>() < GROUP_SHARE {
                        // A group probe: up to two more cells on other
                        // hosts in the same run, so one run tests several
                        // sites while nothing has tipped yet; a probe that
                        // comes close is cut back to its parts among the
                        // near misses. Once failures are found, single
                        // faults tell them apart.
                        for _ in 0..2 {
                            let (extra, _) = strategy.choose(&pending_roots, &mut rng);
                            let t = space.cells[extra].template;
                            let site = space.templates[t].site();
                            if events.iter().any(|(u, _)| {
                                *u == t || (site.is_some() && space.templates[*u].site() == site)
                            }) {
                                continue;
                            }
                            let point = space
                                .sample_point(&space.cells[extra], &mut || rng.random::<f64>());
                            events.push((t, point));
                            members.push(extra);
                            pending_roots[extra].pending += 1;
                        }
                    }
                    let mut schedule = schedule_of(&space, &events);
                    if events.len() > 1 && schedule.validate(&target).is_err() {
                        events.truncate(1);
                        members.truncate(1);
                        schedule = schedule_of(&space, &events);
                    }
                    let (arm, members) = if events.len() > 1 {
                        (None, members)
                    } else {
                        (arm, Vec::new())
                    };
                    Choice {
                        arm,
                        probability,
                        members,
                        schedule,
                        // A group probe is no one template's dose.
                        dose: dose.filter(|_| events.len() == 1),
                        events,
                        seed_slot,
                    }
                }
            };
            if let Some(arm) = choice.arm {
                pending[arm].pending += 1;
            }
            chosen.push(choice);
        }
        let mut missing: Vec<usize> = chosen
            .iter()
            .map(|c| c.seed_slot)
            .filter(|&slot| controls[slot].is_none())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let made: Vec<Result<Control, RunError>> = parallel(config.jobs, missing.len(), |i| {
            Ok::<_, RunError>(
                base(run_seeds[missing[i]], Schedule::default())
                    .and_then(|plan| run::control(&plan, control_end)),
            )
        })?;
        for (slot, control) in missing.into_iter().zip(made) {
            controls[slot] = Some(control);
        }
        // A run that cannot be planned or simulated is that run's error;
        // the exploration goes on.
        let reports: Vec<Result<RunReport, RunError>> = parallel(config.jobs, chosen.len(), |k| {
            let Choice {
                schedule,
                seed_slot: slot,
                ..
            } = &chosen[k];
            let control = match &controls[*slot] {
                Some(Ok(control)) => control,
                Some(Err(e)) => {
                    return Ok(Err(RunError::Setup(format!(
                        "the control run of seed {}: {e}",
                        run_seeds[*slot]
                    ))))
                }
                None => unreachable!("every control a batch needs is made before it"),
            };
            Ok::<_, RunError>(
                base(run_seeds[*slot], schedule.clone())
                    .and_then(|plan| run::run_with_control(&plan, Some(control))),
            )
        })?;
        let arm_count = arms.len();
        let mut touched = Vec::new();
        for (choice, report) in chosen.into_iter().zip(reports) {
            let (score, stress, class, ttr_s, error) = match &report {
                Ok(r) => (
                    r.verdict.score,
                    r.stress,
                    Some(r.verdict.class),
                    r.verdict.ttr_s,
                    None,
                ),
                Err(e) => (0.0, 0.0, None, None, Some(e.to_string())),
            };
            let (arm_label, cell_label) = match choice.arm {
                Some(arm) => {
                    let a = &mut arms[arm];
                    // The reward is the graded stress, so runs that recover
                    // still teach the strategy how close they came. The
                    // default strategy halves it for each earlier tip of
                    // the same arm: a known failure mode is worth less
                    // than a new one.
                    let reward = if guided {
                        stress * 0.5f64.powi(evidence.tips_of(&root_label(&a.cell)).min(30) as i32)
                    } else {
                        stress
                    };
                    strategy.update(&mut a.stats, reward, choice.probability, arm_count);
                    if guided {
                        let root = a.cell.root;
                        strategy.update(&mut root_stats[root], reward, choice.probability, roots);
                    }
                    match class {
                        Some(Class::Metastable) => a.tipped += 1,
                        Some(_) => a.held += 1,
                        None => {}
                    }
                    if class.is_some() {
                        a.stress_range = Some(match a.stress_range {
                            Some((lo, hi)) => (lo.min(stress), hi.max(stress)),
                            None => (stress, stress),
                        });
                    }
                    touched.push(arm);
                    (root_label(&a.cell), space.label(&a.cell))
                }
                None => {
                    for &root in &choice.members {
                        strategy.update(&mut root_stats[root], stress, choice.probability, roots);
                    }
                    compound_labels(&space, &arms, &choice.events)
                }
            };
            if let (Some(dose), Ok(report), [(template, point)]) =
                (choice.dose, &report, choice.events.as_slice())
            {
                if let Some(magnitude) = descent::dose_of(&space, *template, point) {
                    let harm = consequence::consequences(report);
                    let tipped = class == Some(Class::Metastable);
                    match dose {
                        Dose::FullStrength => {
                            descent.start(&space, *template, magnitude, &harm, tipped)
                        }
                        Dose::Below => descent.record(*template, magnitude, &harm, tipped),
                    }
                }
            }
            if matches!(class, Some(Class::Stable | Class::SlowRecovery))
                && best_near_miss
                    .as_ref()
                    .is_none_or(|(best, _)| stress > *best)
            {
                let sites: Vec<String> = choice
                    .events
                    .iter()
                    .filter_map(|(t, _)| space.templates[*t].site().map(str::to_string))
                    .collect();
                if !sites.is_empty() {
                    best_near_miss = Some((stress, sites));
                }
            }
            if let (Some(Dose::FullStrength), Some(_), [(template, _)]) =
                (choice.dose, class, choice.events.as_slice())
            {
                let t = &space.templates[*template];
                if let Some(site) = t.site() {
                    full_strength.record(t.kind(), site, stress);
                }
            }
            if class == Some(Class::Metastable) {
                for (template, _) in &choice.events {
                    if let Some(site) = space.templates[*template].site() {
                        if !tipped_sites.iter().any(|s| s == site) {
                            tipped_sites.push(site.to_string());
                        }
                    }
                }
            }
            evidence.record(guide::Tried {
                events: choice.events,
                stress,
                arm: arm_label.clone(),
                tipped: class == Some(Class::Metastable),
            });
            let record = RunRecord {
                index: records.len(),
                arm: arm_label,
                cell: cell_label,
                schedule: choice.schedule.events.iter().map(|e| e.to_spec()).collect(),
                seed: run_seeds[choice.seed_slot],
                score,
                stress,
                class,
                ttr_s,
                error,
            };
            on_run(&record, report.as_ref().ok());
            records.push(record);
        }
        // Refine where a cell's runs disagree: in verdict (a tipping
        // boundary runs through it) or in stress (a slope toward one).
        touched.sort_unstable();
        touched.dedup();
        for i in touched {
            let a = &arms[i];
            if !a.straddles() || a.cell.depth >= MAX_DEPTH {
                continue;
            }
            if let Some((left, right)) = space.split(&a.cell) {
                let stats = a.stats.halved();
                arms[i] = Arm::new(left, stats.clone());
                arms.push(Arm::new(right, stats));
            }
        }
    }
    let summary = summarise(&records, arms.len());
    Ok(Exploration {
        hormesis_version: env!("CARGO_PKG_VERSION"),
        scenario: config.scenario.name().to_string(),
        engine: config.engine,
        strategy: config.strategy,
        seed: config.seed,
        shard: format!("{shard}/{shards}"),
        set: config.overrides.clone(),
        seeds: config.seeds,
        budget: (config.budget != usize::MAX).then_some(config.budget),
        stopped_early,
        batch: BATCH,
        run_seeds,
        runs: records,
        summary,
        smallest_triggers: Vec::new(),
    })
}

/// The schedule of placed faults, in onset order.
fn schedule_of(space: &Space, events: &[guide::Placed]) -> Schedule {
    let mut events: Vec<_> = events
        .iter()
        .map(|(template, point)| space.templates[*template].event(point))
        .collect();
    events.sort_by_key(|e| e.at);
    Schedule::new(events)
}

/// The arm and cell labels of a compound: its faults' labels joined with
/// ` + `, sorted, so one combination is one arm whatever the order drawn.
fn compound_labels(space: &Space, arms: &[Arm], events: &[guide::Placed]) -> (String, String) {
    let mut roots = Vec::new();
    let mut cells = Vec::new();
    for (template, point) in events {
        match locate(arms, space, *template, point) {
            Some(a) => {
                roots.push(space.label(&space.cells[arms[a].cell.root]));
                cells.push(space.label(&arms[a].cell));
            }
            None => {
                roots.push(space.templates[*template].name.clone());
                cells.push(space.templates[*template].name.clone());
            }
        }
    }
    roots.sort();
    cells.sort();
    (roots.join(" + "), cells.join(" + "))
}

/// The summary of a list of runs (also of merged shards).
pub fn summarise(records: &[RunRecord], cells: usize) -> Summary {
    let mut arms: Vec<BestOfArm> = Vec::new();
    let mut best_run: Vec<Option<(f64, f64)>> = Vec::new();
    for r in records {
        let i = match arms.iter().position(|a| a.arm == r.arm) {
            Some(i) => i,
            None => {
                best_run.push(None);
                arms.push(BestOfArm {
                    arm: r.arm.clone(),
                    runs: 0,
                    metastable_runs: 0,
                    best_score: f64::NEG_INFINITY,
                    best_stress: f64::NEG_INFINITY,
                    best_schedule: Vec::new(),
                    best_seed: 0,
                });
                arms.len() - 1
            }
        };
        let a = &mut arms[i];
        a.runs += 1;
        a.metastable_runs += usize::from(r.class == Some(Class::Metastable));
        a.best_score = a.best_score.max(r.score);
        // The best run: by stress, which orders metastable runs as the
        // score does and grades those that recovered (score almost always
        // 0); by score among equal stress (files without stress).
        let key = (r.stress, r.score);
        if best_run[i].is_none_or(|best| key > best) {
            best_run[i] = Some(key);
            a.best_stress = r.stress;
            a.best_schedule = r.schedule.clone();
            a.best_seed = r.seed;
        }
    }
    arms.sort_by(|a, b| {
        b.best_score
            .total_cmp(&a.best_score)
            .then(b.best_stress.total_cmp(&a.best_stress))
            .then(a.arm.cmp(&b.arm))
    });
    Summary {
        runs: records.len(),
        runs_to_first_metastable: records
            .iter()
            .position(|r| r.class == Some(Class::Metastable))
            .map(|i| i + 1),
        metastable_runs: records
            .iter()
            .filter(|r| r.class == Some(Class::Metastable))
            .count(),
        errors: records.iter().filter(|r| r.error.is_some()).count(),
        unhealthy_runs: records
            .iter()
            .filter(|r| r.class == Some(Class::UnhealthyBaseline))
            .count(),
        distinct_metastable_arms: distinct_failure_modes(&arms),
        best_score: records.iter().map(|r| r.score).fold(0.0, f64::max),
        cells,
        arms,
    }
}

/// The arms that tipped, less the compounds one of whose faults tipped on
/// its own: adding a harmless fault to a known trigger finds nothing new.
fn distinct_failure_modes(arms: &[BestOfArm]) -> usize {
    let tipped: Vec<&str> = arms
        .iter()
        .filter(|a| a.metastable_runs > 0)
        .map(|a| a.arm.as_str())
        .collect();
    tipped
        .iter()
        .filter(|arm| {
            let parts: Vec<&str> = arm.split(" + ").collect();
            parts.len() == 1 || !parts.iter().any(|p| tipped.contains(p))
        })
        .count()
}

/// Runs `task(0..n)` on up to `jobs` threads; results in index order.
pub(crate) fn parallel<T: Send, E: Send>(
    jobs: usize,
    n: usize,
    task: impl Fn(usize) -> Result<T, E> + Sync,
) -> Result<Vec<T>, E> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<T, E>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.clamp(1, n.max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break out;
                        }
                        out.push((i, task(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Of `fresh` templates, those aimed at the sites probed least so far (a
/// template aimed at no site counts as a site of its own): a sweep that
/// reaches every host before it returns to one, so that one weak host among
/// many is reached in a fraction of the templates.
fn least_probed_sites(space: &Space, probed: &[usize], fresh: Vec<usize>) -> Vec<usize> {
    let probes_at = |t: usize| match space.templates[t].site() {
        Some(site) => probed
            .iter()
            .filter(|&&p| space.templates[p].site() == Some(site))
            .count(),
        None => 0,
    };
    let fewest = fresh.iter().map(|&t| probes_at(t)).min().unwrap_or(0);
    fresh
        .into_iter()
        .filter(|&t| probes_at(t) == fewest)
        .collect()
}
