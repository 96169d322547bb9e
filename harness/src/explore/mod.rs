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

pub mod allocator;
pub mod boundary;
pub mod descent;
pub mod guide;
pub mod merge;
pub mod proposers;
pub mod settings;
pub mod sites;
pub mod strategy;

use crate::consequence;
use crate::engine::EngineKind;
use crate::run::{self, Control, RunError, RunPlan, RunReport};
use crate::scenario::Scenario;
use crate::setting::BadSetting;
use crate::verdict::Class;
use allocator::Allocator;
use hormesis_faults::space::{Cell, Space};
use hormesis_faults::{Schedule, Target};
use proposers::{Board, Outcome, Proposer, Role};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;
use serde::{Deserialize, Serialize};
use settings::SETTINGS;
use std::time::Duration;
use strategy::{ArmStats, StrategyKind};

/// The largest seed pool: every seed a run reaches costs one control run.
pub const MAX_SEEDS: usize = 100_000;

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
    /// The default strategy's proposers left out ([`proposers::NAMES`]):
    /// an ablation, to measure what each is worth.
    pub ablate: Vec<String>,
}

impl ExploreConfig {
    /// Refuses settings no exploration can run with (a shard outside its
    /// count, fewer run seeds than shards, too many run seeds, an unknown
    /// proposer to leave out) before any run; [`explore_until`] checks the
    /// same first.
    pub fn check(&self) -> Result<(), ExploreError> {
        check(self)
    }

    /// `budget` runs of `scenario` with the defaults of `explore`: the
    /// build's engine, the default strategy, seed 1, [`DEFAULT_SEEDS`] run
    /// seeds, one thread per core, the whole exploration (shard 0/1), no
    /// overrides.
    pub fn new(scenario: &'static dyn Scenario, budget: usize) -> ExploreConfig {
        ExploreConfig {
            scenario,
            overrides: Vec::new(),
            engine: EngineKind::BUILT,
            strategy: StrategyKind::Guided,
            seed: 1,
            budget,
            jobs: default_jobs(),
            seeds: DEFAULT_SEEDS,
            shard: (0, 1),
            ablate: Vec::new(),
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

    /// Leaves the default strategy's proposer `name` out (an ablation).
    pub fn ablate(mut self, name: &str) -> Self {
        self.ablate.push(name.to_string());
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
    /// The default strategy's proposer that chose the run
    /// ([`proposers::NAMES`]); absent for the other strategies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposer: Option<String>,
    /// The loop that kept a metastable run down, `mechanism@place`
    /// ([`crate::diagnosis`]); absent for a run that recovered and in files
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<String>,
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
    /// The proposers left out (an ablation); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ablated: Vec<String>,
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
    /// A setting outside what it allows.
    #[error(transparent)]
    Setting(#[from] BadSetting),
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

/// A cell of the space as the explorer refines it: where runs are labelled
/// and the plain bandits draw.
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
    /// a tipping boundary), or their stress differs by more than
    /// [`Settings::stress_slope`](settings::Settings::stress_slope), a
    /// slope the halves can tell apart.
    fn straddles(&self) -> bool {
        (self.tipped > 0 && self.held > 0)
            || self
                .stress_range
                .is_some_and(|(lo, hi)| hi - lo > SETTINGS.stress_slope)
    }
}

/// What one slot of a batch runs.
struct Choice {
    /// The current cell of a single fault; `None` for a compound.
    arm: Option<usize>,
    /// The probability it was chosen with (EXP3's importance weight).
    probability: f64,
    events: Vec<guide::Placed>,
    schedule: Schedule,
    seed_slot: usize,
    role: Role,
    /// The default strategy's proposer that chose it.
    proposer: Option<usize>,
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
    let mut explorer = Explorer::new(config)?;
    let mut records: Vec<RunRecord> = Vec::with_capacity(config.budget.min(4096));
    let mut stopped_early = false;
    while records.len() < config.budget {
        if stop() {
            stopped_early = true;
            break;
        }
        let size = SETTINGS.batch.min(config.budget - records.len());
        // The whole batch is chosen from the state after the last one.
        let chosen = explorer.choose(size, records.len());
        let reports = explorer.simulate(&chosen)?;
        let mut touched = Vec::new();
        for (choice, report) in chosen.into_iter().zip(reports) {
            touched.extend(choice.arm);
            let record = explorer.absorb(choice, &report, records.len());
            on_run(&record, report.as_ref().ok());
            records.push(record);
        }
        explorer.refine(touched);
    }
    let summary = summarise(&records, explorer.arms.len());
    let (shard, shards) = config.shard;
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
        batch: SETTINGS.batch,
        ablated: config.ablate.clone(),
        run_seeds: explorer.run_seeds,
        runs: records,
        summary,
        smallest_triggers: Vec::new(),
    })
}

/// The state of one exploration between batches.
struct Explorer<'a> {
    config: &'a ExploreConfig,
    space: Space,
    target: Target,
    run_seeds: Vec<u64>,
    /// Simulated when a run first needs its seed, so a large pool costs
    /// nothing the budget does not reach.
    controls: Vec<Option<Result<Control, RunError>>>,
    /// Long enough for any schedule of the space.
    control_end: Duration,
    arms: Vec<Arm>,
    evidence: guide::Evidence,
    rng: ChaCha12Rng,
    /// The plain bandits' rule (`thompson`, `ucb1`, `exp3`).
    strategy: Box<dyn strategy::Strategy>,
    /// The default strategy's proposers and their allocator.
    proposers: Vec<Box<dyn Proposer>>,
    allocator: Allocator,
    /// Templates run, or chosen, at full strength.
    probed: Vec<usize>,
}

impl<'a> Explorer<'a> {
    fn new(config: &'a ExploreConfig) -> Result<Explorer<'a>, ExploreError> {
        let (shard, _) = config.shard;
        check(config)?;
        let run_seeds = shard_seeds(config.seed, config.seeds, config.shard);
        let probe = plan(config, run_seeds[0], Schedule::default())?;
        let system = config
            .scenario
            .build(&probe.params)
            .map_err(|e| ExploreError::Config(e.message))?;
        let layout = system.layout().clone();
        let target: Target = run::fault_space(config.scenario, &probe.params, &layout);
        let space = Space::new(&target, layout.warmup);
        if space.cells.is_empty() {
            return Err(ExploreError::Config(format!(
                "no fault fits between the warm-up's end ({}) and the latest a trigger may end ({}, the run limit less the horizon): shorten the `warmup` or `horizon` parameter",
                hormesis_faults::format_duration(layout.warmup),
                hormesis_faults::format_duration(target.latest_end)
            )));
        }
        // The longest run any cell can make: latest onset + longest duration + H.
        let longest = space
            .templates
            .iter()
            .map(|t| t.onset.hi + t.duration.map_or(0.0, |d| d.hi))
            .fold(0.0, f64::max);
        let mut key = blake3::Hasher::new_derive_key("hormesis explore choices v1");
        key.update(&config.seed.to_le_bytes());
        key.update(&(shard as u64).to_le_bytes());
        let proposers = if config.strategy == StrategyKind::Guided {
            proposers::default_set(&space, &config.ablate)
        } else {
            Vec::new()
        };
        Ok(Explorer {
            config,
            arms: space
                .cells
                .iter()
                .map(|c| Arm::new(c.clone(), ArmStats::default()))
                .collect(),
            allocator: Allocator::new(proposers.len()),
            proposers,
            controls: (0..run_seeds.len()).map(|_| None).collect(),
            control_end: Duration::from_secs_f64(longest) + layout.horizon,
            run_seeds,
            space,
            target,
            evidence: guide::Evidence::default(),
            rng: ChaCha12Rng::from_seed(*key.finalize().as_bytes()),
            strategy: config.strategy.strategy(),
            probed: Vec::new(),
        })
    }

    /// The runs of the next batch of `size`, the first of which is run
    /// number `done`.
    fn choose(&mut self, size: usize, done: usize) -> Vec<Choice> {
        let mut pending: Vec<ArmStats> = self.arms.iter().map(|a| a.stats.clone()).collect();
        if self.config.strategy == StrategyKind::Guided {
            let board = board(&self.space, &self.evidence, &self.probed, done);
            for p in &mut self.proposers {
                p.begin_batch(&board, &mut self.rng);
            }
        }
        let mut exhausted = vec![false; self.proposers.len()];
        let mut chosen = Vec::with_capacity(size);
        for k in 0..size {
            let seed_slot = (done + k) % self.run_seeds.len();
            let (events, probability, role, proposer) = match self.config.strategy {
                StrategyKind::Guided => self.propose(done, &mut exhausted),
                StrategyKind::Random => (self.uniform(), 1.0, Role::Other, None),
                _ => {
                    let (arm, probability) = self.strategy.choose(&pending, &mut self.rng);
                    let cell = &self.arms[arm].cell;
                    let point = self
                        .space
                        .sample_point(cell, &mut || self.rng.random::<f64>());
                    (vec![(cell.template, point)], probability, Role::Other, None)
                }
            };
            let choice = self.place(events, probability, role, proposer, seed_slot);
            if let Some(arm) = choice.arm {
                pending[arm].pending += 1;
            }
            chosen.push(choice);
        }
        chosen
    }

    /// One slot of the default strategy: the allocator's proposer's run (a
    /// proposer with nothing to propose is passed over for the batch).
    fn propose(
        &mut self,
        done: usize,
        exhausted: &mut [bool],
    ) -> (Vec<guide::Placed>, f64, Role, Option<usize>) {
        loop {
            let willing: Vec<bool> = exhausted.iter().map(|e| !e).collect();
            let Some(i) = self.allocator.choose(&willing, &mut self.rng) else {
                // Every proposer ablated or spent: a uniform draw.
                return (self.uniform(), 1.0, Role::Other, None);
            };
            let board = board(&self.space, &self.evidence, &self.probed, done);
            match self.proposers[i].propose(&board, &mut self.rng) {
                Some(p) => {
                    self.allocator.take(i);
                    if p.role == Role::FullStrength {
                        self.probed.extend(p.events.iter().map(|(t, _)| *t));
                    }
                    return (p.events, 1.0, p.role, Some(i));
                }
                None => exhausted[i] = true,
            }
        }
    }

    fn uniform(&mut self) -> Vec<guide::Placed> {
        proposers::uniform::draw(&self.space, &mut self.rng).unwrap_or_default()
    }

    /// A choice of `events`, cut to its first fault when the schedule
    /// rules refuse the compound (two faults on one link).
    fn place(
        &self,
        mut events: Vec<guide::Placed>,
        probability: f64,
        role: Role,
        proposer: Option<usize>,
        seed_slot: usize,
    ) -> Choice {
        let mut schedule = schedule_of(&self.space, &events);
        if events.len() > 1 && schedule.validate(&self.target).is_err() {
            events.truncate(1);
            schedule = schedule_of(&self.space, &events);
        }
        let arm = match events.as_slice() {
            [(template, point)] => locate(&self.arms, &self.space, *template, point),
            _ => None,
        };
        Choice {
            arm,
            probability,
            events,
            schedule,
            seed_slot,
            role,
            proposer,
        }
    }

    /// Simulates a batch on `jobs` threads: the controls it needs first,
    /// then its runs. A run that cannot be planned or simulated is that
    /// run's error; the exploration goes on.
    fn simulate(
        &mut self,
        chosen: &[Choice],
    ) -> Result<Vec<Result<RunReport, RunError>>, ExploreError> {
        let (config, run_seeds, control_end) = (self.config, &self.run_seeds, self.control_end);
        let mut missing: Vec<usize> = chosen
            .iter()
            .map(|c| c.seed_slot)
            .filter(|&slot| self.controls[slot].is_none())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let made = parallel(config.jobs, missing.len(), |i| {
            Ok::<_, RunError>(
                plan(config, run_seeds[missing[i]], Schedule::default())
                    .and_then(|plan| run::control(&plan, control_end)),
            )
        })?;
        for (slot, control) in missing.into_iter().zip(made) {
            self.controls[slot] = Some(control);
        }
        let controls = &self.controls;
        Ok(parallel(config.jobs, chosen.len(), |k| {
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
                plan(config, run_seeds[*slot], schedule.clone())
                    .and_then(|plan| run::run_with_control(&plan, Some(control))),
            )
        })?)
    }

    /// Learns from one finished run and returns its record.
    fn absorb(
        &mut self,
        choice: Choice,
        report: &Result<RunReport, RunError>,
        index: usize,
    ) -> RunRecord {
        let (score, stress, class, ttr_s, error) = match report {
            Ok(r) => (
                r.verdict.score,
                r.stress,
                Some(r.verdict.class),
                r.verdict.ttr_s,
                None,
            ),
            Err(e) => (0.0, 0.0, None, None, Some(e.to_string())),
        };
        let mechanism = report
            .as_ref()
            .ok()
            .filter(|r| r.verdict.class == Class::Metastable)
            .and_then(|r| r.diagnosis.as_ref())
            .map(|d| d.key());
        let (arm_label, cell_label) = match choice.arm {
            Some(arm) => (
                self.space
                    .label(&self.space.cells[self.arms[arm].cell.root]),
                self.space.label(&self.arms[arm].cell),
            ),
            None => compound_labels(&self.space, &self.arms, &choice.events),
        };
        // A known failure mode is worth less than a new one: the reward
        // halves for each earlier tip of the arm (of any part of a compound).
        let repeats = arm_label
            .split(" + ")
            .map(|part| self.evidence.tips_of(part))
            .max()
            .unwrap_or(0);
        let reward = stress * SETTINGS.novelty_discount.powi(repeats.min(30) as i32);
        if let Some(arm) = choice.arm {
            let arm_count = self.arms.len();
            let a = &mut self.arms[arm];
            self.strategy
                .update(&mut a.stats, stress, choice.probability, arm_count);
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
        }
        let harm = report.as_ref().ok().map(consequence::consequences);
        let name = choice.proposer.map(|i| self.proposers[i].name());
        let outcome = Outcome {
            events: &choice.events,
            role: choice.role,
            proposer: name.unwrap_or("uniform"),
            stress,
            reward,
            class,
            consequences: harm.as_ref(),
        };
        if let Some(i) = choice.proposer {
            self.allocator.credit(i, reward);
        }
        for p in &mut self.proposers {
            p.observe(&self.space, &outcome);
        }
        self.evidence.record(guide::Tried {
            events: choice.events,
            stress,
            arm: arm_label.clone(),
            tipped: class == Some(Class::Metastable),
        });
        RunRecord {
            index,
            arm: arm_label,
            cell: cell_label,
            schedule: choice.schedule.events.iter().map(|e| e.to_spec()).collect(),
            seed: self.run_seeds[choice.seed_slot],
            score,
            stress,
            class,
            ttr_s,
            error,
            proposer: name.map(str::to_string),
            mechanism,
        }
    }

    /// Refines where a cell's runs disagree: in verdict (a tipping
    /// boundary runs through it) or in stress (a slope toward one).
    fn refine(&mut self, mut touched: Vec<usize>) {
        touched.sort_unstable();
        touched.dedup();
        for i in touched {
            let a = &self.arms[i];
            if !a.straddles() || a.cell.depth >= SETTINGS.max_depth {
                continue;
            }
            if let Some((left, right)) = self.space.split(&a.cell) {
                let stats = a.stats.halved();
                self.arms[i] = Arm::new(left, stats.clone());
                self.arms.push(Arm::new(right, stats));
            }
        }
    }
}

/// What the proposers read, after `runs` finished runs.
fn board<'b>(
    space: &'b Space,
    evidence: &'b guide::Evidence,
    probed: &'b [usize],
    runs: usize,
) -> Board<'b> {
    Board {
        space,
        evidence,
        probed,
        runs,
        tipped: evidence.tipped(),
    }
}

/// The configuration's shard, seed pool and ablation, checked.
fn check(config: &ExploreConfig) -> Result<(), ExploreError> {
    let (shard, shards) = config.shard;
    if shards == 0 || shard >= shards {
        return Err(BadSetting::new(
            "shard",
            format!("{shard}/{shards}"),
            "expected i/n with 0 ≤ i < n",
        )
        .into());
    }
    if config.seeds > MAX_SEEDS {
        return Err(BadSetting::new(
            "seeds",
            config.seeds,
            format!("at most {MAX_SEEDS} run seeds (each is one control simulation)"),
        )
        .into());
    }
    if config.seeds < shards {
        return Err(BadSetting::new(
            "seeds",
            config.seeds,
            format!("fewer than the {shards} shards: every shard needs at least one run seed"),
        )
        .into());
    }
    if let Some(unknown) = config
        .ablate
        .iter()
        .find(|a| !proposers::NAMES.contains(&a.as_str()))
    {
        return Err(ExploreError::Config(format!(
            "no proposer named {unknown:?} to leave out; the default strategy's are {}",
            proposers::NAMES.join(", ")
        )));
    }
    Ok(())
}

/// The plan of one run of the exploration.
fn plan(config: &ExploreConfig, seed: u64, schedule: Schedule) -> Result<RunPlan<'_>, RunError> {
    RunPlan::of(config.scenario)
        .sets(&config.overrides)
        .schedule(schedule)
        .located("explore", None)
        .seed(seed)
        .engine(config.engine)
        .build()
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
