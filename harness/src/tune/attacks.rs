//! The attack set: incidents, and what explorations against a policy find.

use super::{Progress, TuneConfig, TuneError};
use crate::explore::{self, ExploreConfig};
use crate::incident::Incident;
use crate::verdict::Class;
use hormesis_faults::Schedule;
use serde::Serialize;

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
    pub(super) params: Vec<String>,
    #[serde(skip)]
    pub(super) parsed: Schedule,
}

impl Attack {
    /// The incident's schedule on its seed, with its own parameters.
    pub(super) fn from_incident(incident: &Incident) -> Attack {
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
            params: incident
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            parsed: incident.schedule.clone(),
        }
    }
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

/// Explores against a policy; the round's summary and its metastable runs.
pub(super) fn explore_against(
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
pub(super) fn keep_finds(
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
pub(super) fn add_attack(attacks: &mut Vec<Attack>, attack: Attack) -> bool {
    let same = |a: &Attack| {
        a.seed == attack.seed && a.schedule == attack.schedule && a.params == attack.params
    };
    if attacks.iter().any(same) {
        return false;
    }
    attacks.push(attack);
    true
}
