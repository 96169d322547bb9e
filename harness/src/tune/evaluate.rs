//! Scoring one policy: every attack under it, its goodput without faults
//! against the unmitigated system, its goodput under the benign faults it
//! should help with, and what it spends doing so.

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

/// Where an over-budget policy's objective starts: above any feasible one
/// (the attacks' part is at most 1 + the recovery weight, the benign
/// shortfall at most 1).
pub(super) const INFEASIBLE: f64 = 1.0 + RECOVERY_WEIGHT + 1.0 + 1.0;

/// The gauge whose time integral is a policy's worker-seconds.
const WORKERS_GAUGE: &str = "workers";

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

/// What a policy spends over its no-fault and benign runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Resources {
    /// Attempts the clients sent per offered request (1: no retry).
    pub attempts_per_request: f64,
    /// Mean worker-seconds per run, the time integral of the scenario's
    /// `workers` gauge; null for a scenario without one.
    pub worker_seconds: Option<f64>,
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
    /// What is minimised: `attack_objective` + the fraction of requests
    /// not served under the benign faults; over-budget policies score 3.1
    /// + the excess cost.
    pub objective: f64,
    /// The attacks' part: (worst + mean score) / 2 + 0.1 × mean recovery
    /// time as a fraction of H (1 when not recovered).
    pub attack_objective: f64,
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
    /// The fraction of the requests offered under the benign faults (over
    /// whole runs, every fault on every cost seed) that succeeded: what the
    /// mitigation buys; null without benign faults.
    pub benign_served: Option<f64>,
    pub resources: Resources,
    pub feasible: bool,
    pub results: Vec<AttackResult>,
}

/// What every policy of a round is measured on.
pub(super) struct Bench<'a> {
    pub attacks: &'a [Attack],
    pub cost_seeds: &'a [u64],
    /// The benign faults, at their place in a run.
    pub benign: &'a [Schedule],
    /// Unmitigated goodput without faults, summed over the cost seeds.
    pub baseline_goodput: u64,
}

/// Goodput and spending over one policy's no-fault and benign runs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Footprint {
    pub quiet_goodput: u64,
    benign_goodput: u64,
    benign_offered: u64,
    attempts: u64,
    offered: u64,
    worker_seconds: Option<f64>,
    runs: usize,
}

impl Footprint {
    fn add(&mut self, run: &Spend, benign: bool) {
        if benign {
            self.benign_goodput += run.goodput;
            self.benign_offered += run.offered;
        } else {
            self.quiet_goodput += run.goodput;
        }
        self.attempts += run.attempts;
        self.offered += run.offered;
        if let Some(w) = run.worker_seconds {
            *self.worker_seconds.get_or_insert(0.0) += w;
        }
        self.runs += 1;
    }

    /// The fraction of requests offered under the benign faults that
    /// succeeded; `None` without a benign run.
    pub(super) fn benign_served(&self) -> Option<f64> {
        (self.benign_offered > 0).then(|| self.benign_goodput as f64 / self.benign_offered as f64)
    }

    pub(super) fn resources(&self) -> Resources {
        Resources {
            attempts_per_request: if self.offered == 0 {
                0.0
            } else {
                self.attempts as f64 / self.offered as f64
            },
            worker_seconds: self.worker_seconds.map(|w| w / self.runs.max(1) as f64),
        }
    }
}

/// One run's goodput and spending.
struct Spend {
    goodput: u64,
    attempts: u64,
    offered: u64,
    worker_seconds: Option<f64>,
}

/// The no-fault and benign runs of a policy: each cost seed without
/// faults, then under each benign fault.
fn spend_tasks(cost_seeds: &[u64], benign: &[Schedule]) -> Vec<(Option<usize>, u64)> {
    let mut tasks: Vec<(Option<usize>, u64)> = cost_seeds.iter().map(|&s| (None, s)).collect();
    for b in 0..benign.len() {
        tasks.extend(cost_seeds.iter().map(|&s| (Some(b), s)));
    }
    tasks
}

/// Goodput and spending of `overrides` without faults and under the
/// benign faults, on `seeds`.
pub(super) fn footprint(
    c: &TuneConfig,
    overrides: &[String],
    seeds: &[u64],
    benign: &[Schedule],
) -> Result<Footprint, TuneError> {
    let tasks = spend_tasks(seeds, benign);
    let spends = parallel(c.jobs, tasks.len(), |i| {
        let (b, seed) = tasks[i];
        spend(c, overrides, b.map(|b| &benign[b]), seed)
    })?;
    let mut total = Footprint::default();
    for (s, (b, _)) in spends.iter().zip(&tasks) {
        total.add(s, b.is_some());
    }
    Ok(total)
}

/// One run without faults (`benign` none) or under one benign fault.
fn spend(
    c: &TuneConfig,
    overrides: &[String],
    benign: Option<&Schedule>,
    seed: u64,
) -> Result<Spend, RunError> {
    let plan = RunPlan::of(c.scenario)
        .sets(overrides)
        .schedule(benign.cloned().unwrap_or_default())
        .located(
            if benign.is_some() {
                "--benign"
            } else {
                "--set"
            },
            None,
        )
        .seed(seed)
        .engine(c.engine)
        .build()?;
    let timeline = run::timeline_only(&plan)?;
    let workers: Vec<f64> = timeline
        .windows
        .iter()
        .filter_map(|w| w.gauges.get(WORKERS_GAUGE).copied())
        .collect();
    Ok(Spend {
        goodput: timeline.windows.iter().map(|w| w.goodput).sum(),
        attempts: timeline.windows.iter().map(|w| w.attempts).sum(),
        offered: timeline.windows.iter().map(|w| w.offered).sum(),
        worker_seconds: (!workers.is_empty())
            .then(|| workers.iter().sum::<f64>() * timeline.window_s),
    })
}

/// One attack under a policy, with its recovery time as a fraction of H
/// (1 when it did not recover).
fn attack(
    c: &TuneConfig,
    overrides: &[String],
    attack: &Attack,
) -> Result<(AttackResult, f64), RunError> {
    let mut all = attack.params.clone();
    all.extend(overrides.iter().cloned());
    let plan = RunPlan::of(c.scenario)
        .sets(&all)
        .schedule(attack.parsed.clone())
        .located(&attack.label, None)
        .seed(attack.seed)
        .engine(c.engine)
        .build()?;
    let v = run::run(&plan)?.verdict;
    // A policy that unsettles the system without any fault (an unhealthy
    // baseline, a control that collapses) has failed, whatever score the
    // verdict gives a fault it cannot blame.
    let unsettled = v.class == Class::UnhealthyBaseline || v.control_collapsed;
    let recovery = if unsettled || v.class == Class::Metastable {
        1.0
    } else {
        v.ttr_s
            .map_or(0.0, |t| (t / v.horizon_s.max(1e-9)).min(1.0))
    };
    Ok((
        AttackResult {
            class: v.class,
            score: if unsettled { 1.0 } else { v.score },
            ttr_s: v.ttr_s,
            amplification: v.amplification,
            control_collapsed: v.control_collapsed,
        },
        recovery,
    ))
}

/// The part of the objective the benign faults set: the fraction of their
/// requests a policy failed to serve (a goodput fraction, as the
/// metastability score's deficit is, so the two add without a weight).
fn unserved(served: Option<f64>) -> f64 {
    served.map_or(0.0, |s| (1.0 - s).clamp(0.0, 1.0))
}

/// `1 − measured / reference`: the fraction of the reference lost; 0
/// where there is no reference to lose.
fn loss(measured: u64, reference: u64) -> f64 {
    if reference == 0 {
        0.0
    } else {
        1.0 - measured as f64 / reference as f64
    }
}

/// Runs every attack and the no-fault and benign runs under one policy.
pub(super) fn evaluate(
    c: &TuneConfig,
    overrides: &[String],
    policy: &[String],
    bench: &Bench<'_>,
    round: usize,
    how: &'static str,
) -> Result<Evaluation, TuneError> {
    enum Outcome {
        Attack(AttackResult, f64),
        Spent(Spend, bool),
    }
    let spending = spend_tasks(bench.cost_seeds, bench.benign);
    let n = bench.attacks.len() + spending.len();
    let outcomes = parallel(c.jobs, n, |i| -> Result<Outcome, RunError> {
        match bench.attacks.get(i) {
            Some(a) => attack(c, overrides, a).map(|(r, t)| Outcome::Attack(r, t)),
            None => {
                let (b, seed) = spending[i - bench.attacks.len()];
                spend(c, overrides, b.map(|b| &bench.benign[b]), seed)
                    .map(|s| Outcome::Spent(s, b.is_some()))
            }
        }
    })?;
    let mut results = Vec::new();
    let mut recovery = 0.0;
    let mut footprint = Footprint::default();
    for o in outcomes {
        match o {
            Outcome::Attack(r, t) => {
                recovery += t;
                results.push(r);
            }
            Outcome::Spent(s, benign) => footprint.add(&s, benign),
        }
    }
    let k = results.len().max(1) as f64;
    let worst = results.iter().map(|r| r.score).fold(0.0, f64::max);
    let mean = results.iter().map(|r| r.score).sum::<f64>() / k;
    let cost = loss(footprint.quiet_goodput, bench.baseline_goodput);
    let benign_served = footprint.benign_served();
    let feasible = cost <= c.max_cost + 1e-12;
    let attack_objective = (worst + mean) / 2.0 + RECOVERY_WEIGHT * recovery / k;
    let objective = if feasible {
        attack_objective + unserved(benign_served)
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
        attack_objective,
        worst,
        mean,
        recovered: results.iter().filter(|r| r.recovered()).count(),
        attacks: results.len(),
        mean_amplification: results.iter().map(|r| r.amplification).sum::<f64>() / k,
        cost,
        benign_served,
        resources: footprint.resources(),
        feasible,
        results,
    })
}

/// The policies within the cost bound that no other beats on every axis
/// at once: recovery (the attacks' objective), benefit (the requests
/// served under the benign faults) and resources (attempts per request, worker-seconds). Indices into
/// `evaluations`, best objective first; of identical points, the first.
pub fn pareto_front(evaluations: &[Evaluation]) -> Vec<usize> {
    let axes = |e: &Evaluation| {
        [
            e.attack_objective,
            unserved(e.benign_served),
            e.resources.attempts_per_request,
            e.resources.worker_seconds.unwrap_or(0.0),
        ]
    };
    let dominates = |a: &[f64; 4], b: &[f64; 4]| {
        a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
    };
    super::ranked(evaluations)
        .into_iter()
        .filter(|&i| evaluations[i].feasible)
        .filter(|&i| {
            let me = axes(&evaluations[i]);
            evaluations.iter().enumerate().all(|(j, other)| {
                let them = axes(other);
                !other.feasible || !(dominates(&them, &me) || (j < i && them == me))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(attack: f64, benign: f64, attempts: f64, feasible: bool) -> Evaluation {
        Evaluation {
            round: 1,
            how: "design",
            policy: BTreeMap::new(),
            objective: attack + benign,
            attack_objective: attack,
            worst: attack,
            mean: attack,
            recovered: 0,
            attacks: 1,
            mean_amplification: attempts,
            cost: 0.0,
            benign_served: Some(1.0 - benign),
            resources: Resources {
                attempts_per_request: attempts,
                worker_seconds: None,
            },
            feasible,
            results: Vec::new(),
        }
    }

    #[test]
    fn the_front_keeps_each_trade_and_drops_what_is_beaten_everywhere() {
        let e = vec![
            scored(0.0, 0.07, 1.0, true),  // recovers, keeps no benefit
            scored(0.5, 0.0, 1.3, true),   // keeps the benefit, tips
            scored(0.1, 0.02, 1.05, true), // between: a trade of its own
            scored(0.2, 0.03, 1.1, true),  // beaten on every axis by the one above
            scored(0.0, 0.0, 1.0, false),  // beats all but is over the cost bound
            scored(0.1, 0.02, 1.05, true), // the same point again
        ];
        assert_eq!(pareto_front(&e), vec![0, 2, 1]);
    }

    #[test]
    fn spending_sums_over_runs_and_worker_seconds_average_per_run() {
        let mut f = Footprint::default();
        for (goodput, benign, workers) in [(10, false, Some(8.0)), (6, true, Some(12.0))] {
            f.add(
                &Spend {
                    goodput,
                    attempts: 15,
                    offered: 10,
                    worker_seconds: workers,
                },
                benign,
            );
        }
        assert_eq!((f.quiet_goodput, f.benign_goodput), (10, 6));
        assert_eq!(f.benign_served(), Some(0.6));
        assert_eq!(Footprint::default().benign_served(), None);
        assert_eq!(
            f.resources(),
            Resources {
                attempts_per_request: 1.5,
                worker_seconds: Some(10.0)
            }
        );
        assert_eq!(Footprint::default().resources().worker_seconds, None);
    }

    #[test]
    fn loss_is_a_fraction_of_the_reference() {
        assert!((loss(90, 100) - 0.1).abs() < 1e-12);
        assert!(loss(110, 100) < 0.0);
        assert_eq!(loss(5, 0), 0.0);
        assert_eq!(unserved(None), 0.0);
        assert!((unserved(Some(0.75)) - 0.25).abs() < 1e-12);
    }
}
