//! `tune`: search a mitigation's policy parameters for the setting that
//! keeps the system out of metastable failure, and close the loop with the
//! explorer.
//!
//! An *attack* is a fault schedule on a seed that tipped the system: an
//! incident of the scenario, or a find of the explorer. A policy is scored
//! over every attack (the worst and the mean metastability score, then how
//! long recovery took), plus the fraction of requests it fails to serve
//! under *benign* faults (light faults where the mitigation should help:
//! retries rescue requests under light loss), so that switching the
//! mitigation off does not pass for a tuned policy. Without faults it is priced by the goodput it costs
//! against the unmitigated system; a policy that costs more than
//! `max_cost` is ranked after every one that does not. What each policy
//! spends (attempts per request, worker-seconds) is measured too, and each
//! round reports the Pareto front of recovery, benefit and resources.
//! Bayesian optimisation ([`gp`]: a Gaussian process with expected
//! improvement) proposes the policies.
//!
//! Each round tunes against the attack set, then explores against the
//! round's best policy and adds what tips it, so the next round tunes
//! against the failures the new policy meets. Everything follows from the
//! seed: proposals are sequential and runs within one evaluation are
//! spread over `jobs` threads, so the result is the same for any `jobs`.

mod attacks;
mod evaluate;
pub mod gp;
mod propose;
pub mod space;

pub use attacks::{Attack, RoundExploration};
pub use evaluate::{pareto_front, AttackResult, Evaluation, Resources};

use crate::engine::EngineKind;
use crate::explore;
use crate::incident::Incident;
use crate::run::RunError;
use crate::scenario::{Params, Scenario};
use crate::setting::BadSetting;
use attacks::{add_attack, explore_against, keep_finds};
use evaluate::{evaluate, footprint, Bench};
use hormesis_faults::Schedule;
use propose::{latin_hypercube, propose, with_earlier};
use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use serde::Serialize;
use space::Space;

/// The most evaluations per round and rounds: a tuning run is bounded.
pub const MAX_BUDGET: usize = 1000;
pub const MAX_ROUNDS: usize = 100;

/// What to tune, against what, with how much.
#[derive(Clone)]
pub struct TuneConfig {
    pub scenario: &'static dyn Scenario,
    /// A value of the scenario's `mitigation` parameter.
    pub mitigation: String,
    /// `key=value` overrides every run gets (the environment, and policy
    /// parameters held fixed): `--set`.
    pub overrides: Vec<String>,
    /// The policy to start from (`--policy`): `key=value` over the defaults.
    pub start: Vec<String>,
    /// Incidents to tune against; those of other scenarios are left out.
    pub incidents: Vec<Incident>,
    pub engine: EngineKind,
    pub seed: u64,
    /// Policies evaluated per round.
    pub budget: usize,
    pub rounds: usize,
    /// Runs of the exploration after each round (0: none).
    pub explore_budget: usize,
    /// Metastable finds of each exploration added to the attack set, best first.
    pub keep: usize,
    /// The most no-fault goodput a policy may cost, as a fraction.
    pub max_cost: f64,
    /// Seeds of the no-fault runs that measure cost, and of each benign
    /// fault's runs.
    pub cost_seeds: usize,
    /// Benign faults (`--fault` specs, `at` counted from the end of the
    /// warm-up) under which the mitigation should help: the fraction of
    /// their requests a policy fails to serve joins its objective. The
    /// scenario's own
    /// ([`Scenario::benign_faults`]) by default; empty: none.
    pub benign: Vec<String>,
    pub jobs: usize,
}

impl TuneConfig {
    /// `budget` policies in one round against `incidents`, no exploration,
    /// a 5 % cost bound on 3 seeds, the scenario's benign faults for the
    /// mitigation, seed 1, one thread per core.
    pub fn new(
        scenario: &'static dyn Scenario,
        mitigation: &str,
        incidents: Vec<Incident>,
        budget: usize,
    ) -> TuneConfig {
        TuneConfig {
            scenario,
            mitigation: mitigation.to_string(),
            overrides: Vec::new(),
            start: Vec::new(),
            incidents,
            engine: EngineKind::BUILT,
            seed: 1,
            budget,
            rounds: 1,
            explore_budget: 0,
            keep: 4,
            max_cost: 0.05,
            cost_seeds: 3,
            benign: scenario.benign_faults(mitigation),
            jobs: explore::default_jobs(),
        }
    }

    /// Checks every setting, as [`tune`] does before any run: for a caller
    /// to refuse bad input before it says anything else.
    pub fn check(&self) -> Result<(), TuneError> {
        self.checked_space()?;
        self.benign_schedules().map(drop)
    }

    /// The benign faults at their place in a run: each spec's events
    /// moved past the warm-up of the system `overrides` build, each
    /// checked against its hosts and knobs.
    fn benign_schedules(&self) -> Result<Vec<Schedule>, TuneError> {
        if self.benign.is_empty() {
            return Ok(Vec::new());
        }
        let params = Params::resolve(&self.scenario.params(), &self.overrides)
            .map_err(|e| TuneError::Config(format!("--set: {e}")))?;
        let warmup = self
            .scenario
            .build(&params)
            .map_err(|e| TuneError::Config(format!("--set: {e}")))?
            .layout()
            .warmup;
        let mut unmitigated = self.overrides.clone();
        unmitigated.push("mitigation=none".into());
        self.benign
            .iter()
            .map(|spec| {
                let bad = |e: &dyn std::fmt::Display| {
                    TuneError::Config(format!(
                        "--benign '{spec}': {e} (`at` counts from the end of the warm-up)"
                    ))
                };
                let mut schedule = Schedule::from_specs(&[spec]).map_err(|e| bad(&e))?;
                for event in &mut schedule.events {
                    event.at = event.at.saturating_add(warmup);
                }
                crate::run::RunPlan::of(self.scenario)
                    .sets(&unmitigated)
                    .schedule(schedule.clone())
                    .located("--benign", None)
                    .seed(self.seed)
                    .engine(self.engine)
                    .build()
                    .map_err(|e| bad(&e))?;
                Ok(schedule)
            })
            .collect()
    }

    /// The box to search, once every setting is checked: what is wrong is
    /// said before any run.
    fn checked_space(&self) -> Result<Space, TuneError> {
        let c = self;
        if c.budget == 0 || c.budget > MAX_BUDGET {
            return Err(BadSetting::new(
                "budget",
                c.budget,
                format!("1 to {MAX_BUDGET} policies per round"),
            )
            .into());
        }
        if c.rounds == 0 || c.rounds > MAX_ROUNDS {
            return Err(BadSetting::new("rounds", c.rounds, format!("1 to {MAX_ROUNDS}")).into());
        }
        if c.cost_seeds == 0 || c.cost_seeds > explore::MAX_SEEDS {
            return Err(BadSetting::new(
                "cost_seeds",
                c.cost_seeds,
                format!("1 to {}", explore::MAX_SEEDS),
            )
            .into());
        }
        if c.explore_budget > 0 && c.keep == 0 {
            return Err(BadSetting::new(
                "keep",
                0,
                "with an explore budget the explorations' finds would never join the attacks; keep at least 1",
            )
            .into());
        }
        if !(c.max_cost >= 0.0 && c.max_cost <= 1.0) {
            return Err(BadSetting::new(
                "max_cost",
                c.max_cost,
                "a fraction from 0 to 1 (e.g. 5%)",
            )
            .into());
        }
        let fixed: Vec<String> = c
            .overrides
            .iter()
            .filter_map(|o| o.split_once('=').map(|(k, _)| k.trim().to_string()))
            .collect();
        if fixed.iter().any(|k| k == "mitigation") {
            return Err(TuneError::Config(
                "`mitigation` is what --mitigation names; leave it out of --set".into(),
            ));
        }
        let space = Space::of(c.scenario, &c.mitigation, &fixed).map_err(TuneError::Config)?;
        for (key, value) in c.start.iter().filter_map(|o| o.split_once('=')) {
            let (key, value) = (key.trim(), value.trim());
            if key == "mitigation" && value != c.mitigation {
                return Err(TuneError::Config(format!(
                    "the starting policy is for `{value}`, not `{}`",
                    c.mitigation
                )));
            }
            if key != "mitigation" && !space.dimensions.iter().any(|d| d.name == key) {
                return Err(TuneError::Config(format!(
                    "the starting policy sets `{key}`, which is not searched (searched: {}); give it with --set to hold it",
                    space.dimensions.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        Ok(space)
    }
}

/// Why tuning could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error("{0}")]
    Config(String),
    /// A setting outside what it allows.
    #[error(transparent)]
    Setting(#[from] BadSetting),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Explore(#[from] explore::ExploreError),
}

#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub round: usize,
    /// The attacks its policies were scored against.
    pub attacks: usize,
    pub evaluations: Vec<Evaluation>,
    /// Index into `evaluations` of the round's best.
    pub best: Option<usize>,
    /// Indices into `evaluations` of the round's Pareto front
    /// ([`pareto_front`]), best objective first.
    pub pareto: Vec<usize>,
    pub exploration: Option<RoundExploration>,
}

/// The result: the `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct Tuning {
    pub hormesis_version: &'static str,
    pub scenario: String,
    pub mitigation: String,
    pub engine: EngineKind,
    pub seed: u64,
    pub set: Vec<String>,
    /// The mitigation's own parameters that `set` held fixed (`key=value`):
    /// part of the policy every figure was measured with, so the policy
    /// file carries them.
    pub held: Vec<String>,
    pub budget: usize,
    pub rounds_asked: usize,
    pub explore_budget: usize,
    pub max_cost: f64,
    pub cost_seeds: usize,
    pub dimensions: Space,
    /// Unmitigated goodput without faults, summed over the cost seeds.
    pub baseline_goodput: u64,
    /// The benign faults, as given (`at` from the end of the warm-up).
    pub benign: Vec<String>,
    /// The fraction of requests the unmitigated system serves under the
    /// benign faults ([`Evaluation::benign_served`]).
    pub baseline_benign_served: Option<f64>,
    /// What the unmitigated system spends over the no-fault and benign runs.
    pub baseline_resources: Resources,
    /// Every attack, in the order it joined.
    pub attacks: Vec<Attack>,
    /// The exploration against the starting policy, when there was no
    /// incident to start from.
    pub initial_exploration: Option<RoundExploration>,
    pub rounds: Vec<Round>,
    /// The starting policy's first evaluation.
    pub start: Option<Evaluation>,
    /// The best policy of the last round (against the largest attack set).
    pub best: Option<Evaluation>,
    /// Stopped before the budget was spent (Ctrl-C): the best so far.
    pub stopped_early: bool,
}

impl Tuning {
    /// The policy file for the best policy: the mitigation and each tuned
    /// value, with what it was measured to do.
    pub fn policy_yaml(&self, command: &str) -> Option<String> {
        let best = self.best.as_ref()?;
        let mut out = format!("# tuned by: {command}\n");
        out += &format!(
            "# over {} attacks: worst score {:.3}, mean {:.3}, recovered {}/{}; no-fault cost {:.1} % on {} seeds\n",
            best.attacks,
            best.worst,
            best.mean,
            best.recovered,
            best.attacks,
            best.cost * 100.0,
            self.cost_seeds
        );
        if !self.benign.is_empty() {
            out += &format!(
                "# under the benign faults ({}): {:.1} % of requests served; {:.2} attempts per request\n",
                self.benign.join(" + "),
                best.benign_served.unwrap_or(1.0) * 100.0,
                best.resources.attempts_per_request
            );
        }
        if let Some(start) = &self.start {
            out += &format!(
                "# the starting policy: worst {:.3}, mean {:.3}, recovered {}/{}\n",
                start.worst, start.mean, start.recovered, start.attacks
            );
        }
        out += &format!("mitigation: {}\n", self.mitigation);
        for (k, v) in &best.policy {
            out += &format!("{k}: {v}\n");
        }
        for (k, v) in self.held.iter().filter_map(|h| h.split_once('=')) {
            out += &format!("{}: {}  # held with --set\n", k.trim(), v.trim());
        }
        Some(out)
    }
}

/// What `tune` reports as it goes.
pub enum Progress<'a> {
    Evaluated(&'a Evaluation),
    Explored { round: usize, runs: usize },
}

/// Tunes; `on_progress` sees each evaluation and each exploration run;
/// `stop` is asked before each and ends the search early with the best so
/// far.
pub fn tune(
    config: &TuneConfig,
    on_progress: &mut dyn FnMut(Progress<'_>),
    stop: &dyn Fn() -> bool,
) -> Result<Tuning, TuneError> {
    let c = config;
    let space = c.checked_space()?;
    let mut attacks: Vec<Attack> = Vec::new();
    for incident in c
        .incidents
        .iter()
        .filter(|i| i.scenario == c.scenario.name())
    {
        add_attack(&mut attacks, Attack::from_incident(incident));
    }
    if attacks.is_empty() && c.explore_budget == 0 {
        return Err(TuneError::Config(format!(
            "nothing to tune against: give --against DIR with incidents of `{}`, or --explore-budget N to find some",
            c.scenario.name()
        )));
    }
    let mut rng = ChaCha12Rng::seed_from_u64(c.seed);
    let start = space.encode(&c.start);
    let mitigated = |policy: &[String]| -> Vec<String> {
        let mut all = c.overrides.clone();
        all.push(format!("mitigation={}", c.mitigation));
        all.extend(policy.iter().cloned());
        all
    };
    let cost_seeds: Vec<u64> = (0..c.cost_seeds as u64)
        .map(|i| c.seed.wrapping_add(i))
        .collect();
    let benign = c.benign_schedules()?;
    let baseline = footprint(c, &c.overrides, &cost_seeds, &benign)?;
    let baseline_goodput = baseline.quiet_goodput;
    let mut tuning = Tuning {
        hormesis_version: env!("CARGO_PKG_VERSION"),
        scenario: c.scenario.name().to_string(),
        mitigation: c.mitigation.clone(),
        engine: c.engine,
        seed: c.seed,
        set: c.overrides.clone(),
        held: {
            let own = c.scenario.policy_params(&c.mitigation);
            c.overrides
                .iter()
                .filter(|o| {
                    o.split_once('=')
                        .is_some_and(|(k, _)| own.iter().any(|n| *n == k.trim()))
                })
                .cloned()
                .collect()
        },
        budget: c.budget,
        rounds_asked: c.rounds,
        explore_budget: c.explore_budget,
        max_cost: c.max_cost,
        cost_seeds: c.cost_seeds,
        dimensions: space.clone(),
        baseline_goodput,
        benign: c.benign.clone(),
        baseline_benign_served: baseline.benign_served(),
        baseline_resources: baseline.resources(),
        attacks: Vec::new(),
        initial_exploration: None,
        rounds: Vec::new(),
        start: None,
        best: None,
        stopped_early: false,
    };
    if attacks.is_empty() {
        if stop() {
            tuning.stopped_early = true;
            return Ok(tuning);
        }
        let found = explore_against(c, &mitigated(&space.decode(&start)), 0, on_progress, stop)?;
        let added = keep_finds(c, &mut attacks, found.1, 0);
        tuning.initial_exploration = Some(RoundExploration { added, ..found.0 });
        if attacks.is_empty() && stop() {
            tuning.stopped_early = true;
            return Ok(tuning);
        }
        if attacks.is_empty() {
            return Err(TuneError::Config(format!(
                "the exploration ({} runs) found nothing that tips `{}` with the starting policy: nothing to tune against (give --against DIR, or a larger --explore-budget)",
                c.explore_budget,
                c.scenario.name()
            )));
        }
    }
    // Points carried into the next round: the best few of this one.
    let mut carried: Vec<Vec<f64>> = vec![start.clone()];
    // Every point of the earlier rounds with its latest objective: the
    // surrogate's prior knowledge once shifted to the new attack set.
    let mut earlier: Vec<(Vec<f64>, f64)> = Vec::new();
    'rounds: for round in 1..=c.rounds {
        let mut points: Vec<Vec<f64>> = Vec::new();
        let mut evaluations: Vec<Evaluation> = Vec::new();
        let mut seen: Vec<Vec<String>> = Vec::new();
        // The round's plan before any proposal: what it carries over, then
        // space-filling points in the first round.
        let mut planned: Vec<(Vec<f64>, &'static str)> = carried
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let how = match (round, i) {
                    (1, 0) => "start",
                    (_, 0) => "incumbent",
                    _ => "carried",
                };
                (p.clone(), how)
            })
            .collect();
        if round == 1 {
            let design = space.len().max(2);
            planned.extend(latin_hypercube(&mut rng, design, space.len()).map(|p| (p, "design")));
        }
        planned.truncate(c.budget);
        let mut planned = planned.into_iter();
        while evaluations.len() < c.budget {
            if stop() {
                tuning.stopped_early = true;
                tuning
                    .rounds
                    .push(finish_round(round, &attacks, evaluations, None));
                break 'rounds;
            }
            let (point, how) = match planned.next() {
                Some(p) => p,
                None => (
                    propose(
                        &mut rng,
                        &space,
                        &with_earlier(&points, &evaluations, &earlier),
                        &points,
                        &evaluations,
                        &seen,
                    ),
                    "expected-improvement",
                ),
            };
            let policy = space.decode(&point);
            if seen.contains(&policy) && how != "expected-improvement" {
                continue;
            }
            let bench = Bench {
                attacks: &attacks,
                cost_seeds: &cost_seeds,
                benign: &benign,
                baseline_goodput,
            };
            let evaluation = evaluate(c, &mitigated(&policy), &policy, &bench, round, how)?;
            on_progress(Progress::Evaluated(&evaluation));
            if round == 1 && how == "start" {
                tuning.start = Some(evaluation.clone());
            }
            seen.push(policy);
            points.push(point);
            evaluations.push(evaluation);
        }
        let order = ranked(&evaluations);
        let best = order.first().copied();
        carried = order.iter().take(3).map(|&i| points[i].clone()).collect();
        earlier.retain(|(p, _)| !points.contains(p));
        earlier.extend(
            points
                .iter()
                .cloned()
                .zip(evaluations.iter().map(|e| e.objective)),
        );
        let mut exploration = None;
        let attacked = attacks.len();
        if c.explore_budget > 0 {
            if stop() {
                tuning.stopped_early = true;
                tuning
                    .rounds
                    .push(finish_round(round, &attacks, evaluations, best));
                break;
            }
            let policy = best.map(|b| space.decode(&points[b])).unwrap_or_default();
            let found = explore_against(c, &mitigated(&policy), round, on_progress, stop)?;
            let added = if round < c.rounds {
                keep_finds(c, &mut attacks, found.1, round)
            } else {
                Vec::new()
            };
            exploration = Some(RoundExploration { added, ..found.0 });
        }
        let mut finished = finish_round(round, &attacks[..attacked], evaluations, best);
        finished.exploration = exploration;
        tuning.rounds.push(finished);
    }
    tuning.best = tuning
        .rounds
        .iter()
        .rev()
        .find_map(|r| r.best.map(|b| r.evaluations[b].clone()));
    tuning.attacks = attacks;
    Ok(tuning)
}

fn finish_round(
    round: usize,
    attacks: &[Attack],
    evaluations: Vec<Evaluation>,
    best: Option<usize>,
) -> Round {
    let best = best.or_else(|| ranked(&evaluations).first().copied());
    Round {
        round,
        attacks: attacks.len(),
        pareto: pareto_front(&evaluations),
        evaluations,
        best,
        exploration: None,
    }
}

/// Indices of `evaluations`, best first: lower objective, then the earlier.
fn ranked(evaluations: &[Evaluation]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..evaluations.len()).collect();
    order.sort_by(|&a, &b| {
        evaluations[a]
            .objective
            .total_cmp(&evaluations[b].objective)
            .then(a.cmp(&b))
    });
    order
}
