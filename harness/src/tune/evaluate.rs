//! Scoring one policy: every attack under it, and its goodput without
//! faults against the unmitigated system.

use super::{Attack, TuneConfig, TuneError};
use crate::explore::parallel;
use crate::run::{self, RunError, RunPlan};
use crate::verdict::Class;
use hormesis_faults::Schedule;
use serde::Serialize;
use std::collections::BTreeMap;

/// Weight of the recovery time in the objective: enough to order policies
/// that all recover, too little to outweigh a score.
pub(super) const RECOVERY_WEIGHT: f64 = 0.1;

/// Where an over-budget policy's objective starts: above any feasible one.
pub(super) const INFEASIBLE: f64 = 1.0 + RECOVERY_WEIGHT + 1.0;

/// One attack under one policy.
#[derive(Debug, Clone, Serialize)]
pub struct AttackResult {
    pub class: Class,
    /// The verdict's score; 1 for a failure the verdict does not blame on
    /// the fault (an unhealthy baseline, a collapsed control).
    pub score: f64,
    pub ttr_s: Option<f64>,
    /// Attempts per offered request after the trigger ends (the verdict's):
    /// how hard the policy lets retries multiply the load.
    pub amplification: f64,
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
    /// Mean over the attacks of [`AttackResult::amplification`].
    pub mean_amplification: f64,
    /// Goodput lost without faults against the unmitigated system, a
    /// fraction (negative: more goodput).
    pub cost: f64,
    pub feasible: bool,
    pub results: Vec<AttackResult>,
}

/// Logical requests that succeeded over whole no-fault runs on `seeds`.
pub(super) fn no_fault_goodput(
    c: &TuneConfig,
    overrides: &[String],
    seeds: &[u64],
) -> Result<u64, TuneError> {
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
pub(super) fn evaluate(
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
                    amplification: v.amplification,
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
        mean_amplification: results.iter().map(|r| r.amplification).sum::<f64>() / k,
        cost,
        feasible,
        results,
    })
}
