//! `tune`: search a mitigation's policy parameters for the setting that
//! keeps the system out of metastable failure, and close the loop with the
//! explorer.
//!
//! An *attack* is a fault schedule on a seed that tipped the system: an
//! incident of the scenario, or a find of the explorer. A policy is scored
//! over every attack (the worst and the mean metastability score, then how
//! long recovery took) and, without faults, by the goodput it costs against
//! the unmitigated system; a policy that costs more than `max_cost` is
//! ranked after every one that does not. Bayesian optimisation ([`gp`]: a
//! Gaussian process with expected improvement) proposes the policies.
//!
//! Each round tunes against the attack set, then explores against the
//! round's best policy and adds what tips it, so the next round tunes
//! against the failures the new policy meets. Everything follows from the
//! seed: proposals are sequential and runs within one evaluation are
//! spread over `jobs` threads, so the result is the same for any `jobs`.

pub mod gp;
pub mod space;

use crate::engine::EngineKind;
use crate::explore::{self, parallel, ExploreConfig};
use crate::incident::Incident;
use crate::run::{self, RunError, RunPlan};
use crate::scenario::Scenario;
use crate::verdict::Class;
use hormesis_faults::Schedule;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;
use serde::Serialize;
use space::Space;
use std::collections::BTreeMap;

/// Weight of the recovery time in the objective: enough to order policies
/// that all recover, too little to outweigh a score.
const RECOVERY_WEIGHT: f64 = 0.1;
/// Where an over-budget policy's objective starts: above any feasible one.
const INFEASIBLE: f64 = 1.0 + RECOVERY_WEIGHT + 1.0;
/// Random candidates scored by expected improvement per proposal, and
/// candidates near each of the best few policies so far.
const CANDIDATES: usize = 2000;
const LOCAL_CANDIDATES: usize = 300;
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
    /// Seeds of the no-fault runs that measure cost.
    pub cost_seeds: usize,
    pub jobs: usize,
}

impl TuneConfig {
    /// `budget` policies in one round against `incidents`, no exploration,
    /// a 5 % cost bound on 3 seeds, seed 1, one thread per core.
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
            jobs: explore::default_jobs(),
        }
    }
}

/// Why tuning could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Explore(#[from] explore::ExploreError),
}

/// A schedule on a seed that tipped the system.
#[derive(Debug, Clone, Serialize)]
pub struct Attack {
    /// The incident's id, or `explore round N #I` for a find.
    pub label: String,
    pub seed: u64,
    pub schedule: Vec<String>,
    /// The round whose exploration found it; 0 for an incident.
    pub round: usize,
    /// The incident's own parameters (`key=value`), under the overrides.
    #[serde(skip)]
    params: Vec<String>,
    #[serde(skip)]
    parsed: Schedule,
}

/// One attack under one policy.
#[derive(Debug, Clone, Serialize)]
pub struct AttackResult {
    pub class: Class,
    /// The verdict's score; 1 for a failure the verdict does not blame on
    /// the fault (an unhealthy baseline, a collapsed control).
    pub score: f64,
    pub ttr_s: Option<f64>,
    pub control_collapsed: bool,
}

impl AttackResult {
    /// Whether the system came back: not metastable, healthy before the
    /// fault, and stable without it.
    pub fn recovered(&self) -> bool {
        !matches!(self.class, Class::Metastable | Class::UnhealthyBaseline)
            && !self.control_collapsed
    }
}

/// One policy, scored.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub round: usize,
    /// How it was chosen: `start`, `incumbent` (the previous round's best,
    /// rescored), `design` (space-filling), `expected-improvement`.
    pub how: &'static str,
    /// The tuned parameters' values.
    pub policy: BTreeMap<String, String>,
    /// What is minimised: (worst + mean score) / 2 + 0.1 × mean recovery
    /// time as a fraction of H (1 when not recovered); over-budget policies
    /// score 2.1 + the excess cost.
    pub objective: f64,
    pub worst: f64,
    pub mean: f64,
    /// Attacks it recovered from ([`AttackResult::recovered`]).
    pub recovered: usize,
    pub attacks: usize,
    /// Goodput lost without faults against the unmitigated system, a
    /// fraction (negative: more goodput).
    pub cost: f64,
    pub feasible: bool,
    pub results: Vec<AttackResult>,
}

/// What one round's exploration against its best policy found.
#[derive(Debug, Clone, Serialize)]
pub struct RoundExploration {
    pub runs: usize,
    pub metastable_runs: usize,
    /// Runs whose baseline was unhealthy under the policy: it failed
    /// before any fault.
    pub unhealthy_runs: usize,
    pub runs_to_first_metastable: Option<usize>,
    /// Labels of the finds added to the attack set.
    pub added: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub round: usize,
    /// The attacks its policies were scored against.
    pub attacks: usize,
    pub evaluations: Vec<Evaluation>,
    /// Index into `evaluations` of the round's best.
    pub best: Option<usize>,
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
    pub budget: usize,
    pub rounds_asked: usize,
    pub explore_budget: usize,
    pub max_cost: f64,
    pub cost_seeds: usize,
    pub dimensions: Space,
    /// Unmitigated goodput without faults, summed over the cost seeds.
    pub baseline_goodput: u64,
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
    if c.budget == 0 || c.budget > MAX_BUDGET {
        return Err(TuneError::Config(format!(
            "--budget {}: 1 to {MAX_BUDGET} policies per round",
            c.budget
        )));
    }
    if c.rounds == 0 || c.rounds > MAX_ROUNDS {
        return Err(TuneError::Config(format!(
            "--rounds {}: 1 to {MAX_ROUNDS}",
            c.rounds
        )));
    }
    if c.cost_seeds == 0 || c.cost_seeds > explore::MAX_SEEDS {
        return Err(TuneError::Config(format!(
            "--cost-seeds {}: 1 to {}",
            c.cost_seeds,
            explore::MAX_SEEDS
        )));
    }
    if !(c.max_cost >= 0.0 && c.max_cost <= 1.0) {
        return Err(TuneError::Config(format!(
            "--max-cost {}: a fraction from 0 to 1 (e.g. 5%)",
            c.max_cost
        )));
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
    let mut attacks: Vec<Attack> = Vec::new();
    for incident in c
        .incidents
        .iter()
        .filter(|i| i.scenario == c.scenario.name())
    {
        let params: Vec<String> = incident
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        add_attack(
            &mut attacks,
            Attack {
                label: incident.id.clone(),
                seed: incident.seed,
                schedule: incident
                    .schedule
                    .events
                    .iter()
                    .map(|e| e.to_spec())
                    .collect(),
                round: 0,
                params,
                parsed: incident.schedule.clone(),
            },
        );
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
    let baseline_goodput = no_fault_goodput(c, &c.overrides, &cost_seeds)?;
    let mut tuning = Tuning {
        hormesis_version: env!("CARGO_PKG_VERSION"),
        scenario: c.scenario.name().to_string(),
        mitigation: c.mitigation.clone(),
        engine: c.engine,
        seed: c.seed,
        set: c.overrides.clone(),
        budget: c.budget,
        rounds_asked: c.rounds,
        explore_budget: c.explore_budget,
        max_cost: c.max_cost,
        cost_seeds: c.cost_seeds,
        dimensions: space.clone(),
        baseline_goodput,
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
        if attacks.is_empty() {
            tuning.attacks = attacks;
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
            let evaluation = evaluate(
                c,
                &mitigated(&policy),
                &policy,
                &attacks,
                &cost_seeds,
                baseline_goodput,
                round,
                how,
            )?;
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

/// `n` points of a Latin hypercube in `d` dimensions: every axis cut into
/// `n` strata, one point in each.
fn latin_hypercube(rng: &mut ChaCha12Rng, n: usize, d: usize) -> impl Iterator<Item = Vec<f64>> {
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(d);
    for _ in 0..d {
        let mut strata: Vec<usize> = (0..n).collect();
        // Fisher–Yates with the named generator: the same on every platform.
        for i in (1..n).rev() {
            strata.swap(i, rng.random_range(0..=i));
        }
        columns.push(
            strata
                .into_iter()
                .map(|s| (s as f64 + rng.random::<f64>()) / n as f64)
                .collect(),
        );
    }
    (0..n).map(move |i| columns.iter().map(|col| col[i]).collect())
}

/// The surrogate's data: this round's evaluations, and every point of the
/// earlier rounds not rescored in this one, its objective moved by how much
/// the rescored points moved on average (the attack set grew, so the same
/// policy scores worse; the landscape's shape is what carries over).
fn with_earlier(
    points: &[Vec<f64>],
    evaluations: &[Evaluation],
    earlier: &[(Vec<f64>, f64)],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let moved: Vec<f64> = points
        .iter()
        .zip(evaluations)
        .filter_map(|(p, e)| {
            let (_, before) = earlier.iter().find(|(q, _)| q == p)?;
            Some(e.objective - before)
        })
        .collect();
    let shift = if moved.is_empty() {
        0.0
    } else {
        moved.iter().sum::<f64>() / moved.len() as f64
    };
    let mut xs = points.to_vec();
    let mut ys: Vec<f64> = evaluations.iter().map(|e| e.objective).collect();
    for (p, y) in earlier.iter().filter(|(p, _)| !points.contains(p)) {
        xs.push(p.clone());
        ys.push(y + shift);
    }
    (xs, ys)
}

/// The next policy: the candidate with the largest expected improvement
/// under a GP fitted to `data` (this round's evaluations and the earlier
/// rounds', shifted), among random points and points near this round's best
/// few; never a policy already evaluated when another candidate is new.
fn propose(
    rng: &mut ChaCha12Rng,
    space: &Space,
    (xs, ys): &(Vec<Vec<f64>>, Vec<f64>),
    points: &[Vec<f64>],
    evaluations: &[Evaluation],
    seen: &[Vec<String>],
) -> Vec<f64> {
    let d = space.len();
    let mut candidates: Vec<Vec<f64>> = (0..CANDIDATES)
        .map(|_| (0..d).map(|_| rng.random::<f64>()).collect())
        .collect();
    for &i in ranked(evaluations).iter().take(3) {
        for _ in 0..LOCAL_CANDIDATES / 3 {
            candidates.push(
                points[i]
                    .iter()
                    .map(|x| (x + rng.random_range(-0.1..0.1)).clamp(0.0, 1.0))
                    .collect(),
            );
        }
    }
    let Some(gp) = gp::Gp::fit(xs, ys) else {
        return candidates.swap_remove(0);
    };
    // Improvement is over what this round has measured, not a shifted guess.
    let best = evaluations
        .iter()
        .map(|e| e.objective)
        .fold(f64::INFINITY, f64::min);
    let mut scored: Vec<(f64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let (mean, sd) = gp.predict(x);
            (gp::expected_improvement(mean, sd, best), i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let fresh = scored
        .iter()
        .find(|(_, i)| !seen.contains(&space.decode(&candidates[*i])));
    let (_, pick) = fresh.or(scored.first()).copied().unwrap_or((0.0, 0));
    candidates.swap_remove(pick)
}

/// Logical requests that succeeded over whole no-fault runs on `seeds`.
fn no_fault_goodput(c: &TuneConfig, overrides: &[String], seeds: &[u64]) -> Result<u64, TuneError> {
    let totals = parallel(c.jobs, seeds.len(), |i| {
        goodput_without_faults(c, overrides, seeds[i])
    })?;
    Ok(totals.iter().sum())
}

/// Logical requests that succeeded over one whole run without faults.
fn goodput_without_faults(
    c: &TuneConfig,
    overrides: &[String],
    seed: u64,
) -> Result<u64, RunError> {
    let plan = RunPlan::new(
        c.scenario,
        overrides,
        Schedule::default(),
        "--set",
        None,
        seed,
        c.engine,
    )?;
    Ok(run::run(&plan)?.windows.iter().map(|w| w.goodput).sum())
}

/// Runs every attack and the cost seeds under one policy.
#[allow(clippy::too_many_arguments)]
fn evaluate(
    c: &TuneConfig,
    overrides: &[String],
    policy: &[String],
    attacks: &[Attack],
    cost_seeds: &[u64],
    baseline_goodput: u64,
    round: usize,
    how: &'static str,
) -> Result<Evaluation, TuneError> {
    enum Outcome {
        Attack(AttackResult, f64),
        Goodput(u64),
    }
    let n = attacks.len() + cost_seeds.len();
    let outcomes = parallel(c.jobs, n, |i| -> Result<Outcome, RunError> {
        if let Some(attack) = attacks.get(i) {
            let mut all = attack.params.clone();
            all.extend(overrides.iter().cloned());
            let plan = RunPlan::new(
                c.scenario,
                &all,
                attack.parsed.clone(),
                &attack.label,
                None,
                attack.seed,
                c.engine,
            )?;
            let v = run::run(&plan)?.verdict;
            // A policy that unsettles the system without any fault (an
            // unhealthy baseline, a control that collapses) has failed,
            // whatever score the verdict gives a fault it cannot blame.
            let unsettled = v.class == Class::UnhealthyBaseline || v.control_collapsed;
            let recovery = if unsettled || v.class == Class::Metastable {
                1.0
            } else {
                v.ttr_s
                    .map_or(0.0, |t| (t / v.horizon_s.max(1e-9)).min(1.0))
            };
            Ok(Outcome::Attack(
                AttackResult {
                    class: v.class,
                    score: if unsettled { 1.0 } else { v.score },
                    ttr_s: v.ttr_s,
                    control_collapsed: v.control_collapsed,
                },
                recovery,
            ))
        } else {
            let seed = cost_seeds[i - attacks.len()];
            goodput_without_faults(c, overrides, seed).map(Outcome::Goodput)
        }
    })?;
    let mut results = Vec::new();
    let mut recovery = 0.0;
    let mut goodput = 0u64;
    for o in outcomes {
        match o {
            Outcome::Attack(r, t) => {
                recovery += t;
                results.push(r);
            }
            Outcome::Goodput(g) => goodput += g,
        }
    }
    let k = results.len().max(1) as f64;
    let worst = results.iter().map(|r| r.score).fold(0.0, f64::max);
    let mean = results.iter().map(|r| r.score).sum::<f64>() / k;
    let cost = if baseline_goodput == 0 {
        0.0
    } else {
        1.0 - goodput as f64 / baseline_goodput as f64
    };
    let feasible = cost <= c.max_cost + 1e-12;
    let objective = if feasible {
        (worst + mean) / 2.0 + RECOVERY_WEIGHT * recovery / k
    } else {
        INFEASIBLE + (cost - c.max_cost).min(1.0)
    };
    Ok(Evaluation {
        round,
        how,
        policy: policy
            .iter()
            .filter_map(|o| o.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        objective,
        worst,
        mean,
        recovered: results.iter().filter(|r| r.recovered()).count(),
        attacks: results.len(),
        cost,
        feasible,
        results,
    })
}

/// Explores against a policy; the round's summary and its metastable runs.
fn explore_against(
    c: &TuneConfig,
    overrides: &[String],
    round: usize,
    on_progress: &mut dyn FnMut(Progress<'_>),
    stop: &dyn Fn() -> bool,
) -> Result<(RoundExploration, Vec<explore::RunRecord>), TuneError> {
    let mut config = ExploreConfig::new(c.scenario, c.explore_budget)
        .engine(c.engine)
        .seed(c.seed.wrapping_add(round as u64 * 0x9E37_79B9))
        .jobs(c.jobs);
    config.overrides = overrides.to_vec();
    let mut runs = 0;
    let exploration = explore::explore_until(
        &config,
        &mut |_, _| {
            runs += 1;
            on_progress(Progress::Explored { round, runs });
        },
        stop,
    )?;
    // A policy under which the system is unhealthy before the fault has
    // failed too (an autoscaler that oscillates on its own): its runs are
    // attacks, after the metastable ones.
    let mut finds: Vec<explore::RunRecord> = exploration
        .runs
        .iter()
        .filter(|r| matches!(r.class, Some(Class::Metastable | Class::UnhealthyBaseline)))
        .cloned()
        .collect();
    let rank = |r: &explore::RunRecord| (r.class != Some(Class::Metastable), -r.score, -r.stress);
    finds.sort_by(|a, b| {
        let (x, y) = (rank(a), rank(b));
        x.0.cmp(&y.0)
            .then(x.1.total_cmp(&y.1))
            .then(x.2.total_cmp(&y.2))
            .then(a.index.cmp(&b.index))
    });
    Ok((
        RoundExploration {
            runs: exploration.summary.runs,
            metastable_runs: exploration.summary.metastable_runs,
            unhealthy_runs: exploration
                .runs
                .iter()
                .filter(|r| r.class == Some(Class::UnhealthyBaseline))
                .count(),
            runs_to_first_metastable: exploration.summary.runs_to_first_metastable,
            added: Vec::new(),
        },
        finds,
    ))
}

/// Adds the best `keep` finds not already attacks; their labels.
fn keep_finds(
    c: &TuneConfig,
    attacks: &mut Vec<Attack>,
    finds: Vec<explore::RunRecord>,
    round: usize,
) -> Vec<String> {
    let mut added = Vec::new();
    for find in finds {
        if added.len() >= c.keep {
            break;
        }
        let Ok(parsed) = Schedule::from_specs(&find.schedule) else {
            continue;
        };
        let attack = Attack {
            label: format!("explore round {round} #{}", find.index),
            seed: find.seed,
            schedule: find.schedule,
            round,
            params: Vec::new(),
            parsed,
        };
        let label = attack.label.clone();
        if add_attack(attacks, attack) {
            added.push(label);
        }
    }
    added
}

/// Adds `attack` unless the same schedule on the same seed is there.
fn add_attack(attacks: &mut Vec<Attack>, attack: Attack) -> bool {
    let same = |a: &Attack| {
        a.seed == attack.seed && a.schedule == attack.schedule && a.params == attack.params
    };
    if attacks.iter().any(same) {
        return false;
    }
    attacks.push(attack);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(objective: f64) -> Evaluation {
        Evaluation {
            round: 2,
            how: "carried",
            policy: BTreeMap::new(),
            objective,
            worst: 0.0,
            mean: 0.0,
            recovered: 0,
            attacks: 0,
            cost: 0.0,
            feasible: true,
            results: Vec::new(),
        }
    }

    #[test]
    fn earlier_rounds_inform_the_surrogate_moved_as_the_rescored_points_moved() {
        let earlier = vec![(vec![0.1], 0.2), (vec![0.5], 0.4), (vec![0.9], 0.8)];
        // Rescored against more attacks, the first point scores 0.3 higher.
        let (xs, ys) = with_earlier(&[vec![0.1]], &[evaluation(0.5)], &earlier);
        assert_eq!(xs, [vec![0.1], vec![0.5], vec![0.9]]);
        let expected = [0.5, 0.7, 1.1];
        for (y, e) in ys.iter().zip(expected) {
            assert!((y - e).abs() < 1e-12, "{ys:?}");
        }
        // Nothing rescored: earlier values as they were.
        let (_, ys) = with_earlier(&[vec![0.3]], &[evaluation(0.1)], &earlier);
        assert_eq!(ys, [0.1, 0.2, 0.4, 0.8]);
    }

    #[test]
    fn a_latin_hypercube_has_one_point_in_every_stratum_of_every_axis() {
        let mut rng = ChaCha12Rng::seed_from_u64(7);
        let points: Vec<Vec<f64>> = latin_hypercube(&mut rng, 5, 3).collect();
        assert_eq!(points.len(), 5);
        for axis in 0..3 {
            let mut strata: Vec<usize> = points.iter().map(|p| (p[axis] * 5.0) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, [0, 1, 2, 3, 4], "axis {axis}");
        }
    }
}
