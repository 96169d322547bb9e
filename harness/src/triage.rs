//! Which failures an exploration found are new: not yet pinned down by an
//! incident in `replays/`. The nightly job fails only on those.
//!
//! A failure is identified by its scenario and its *signature*: the kinds
//! and targets of its schedule's events (`crash host=server`, `knob
//! cache-flush`, `load-spike`), without onsets, durations or magnitudes.
//! The explorer finds the same failure mode at many sizes and times; one
//! replay of that mode (ideally its shrunk trigger) is what a team keeps.

use crate::explore::merge::ShardOutput;
use crate::incident::Incident;
use crate::verdict::Class;
use hormesis_faults::{Fault, Schedule};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The signature of a finding that is no failure mode but a system with
/// nothing to recover to: an exploration whose runs had no healthy
/// baseline. It is never known, so the gate fails on it.
pub const UNHEALTHY: &str = "unhealthy-baseline";

/// The kinds and targets of a schedule's events, sorted: its failure mode.
pub fn signature(schedule: &Schedule) -> String {
    let mut parts: Vec<String> = schedule
        .events
        .iter()
        .map(|e| {
            let kind = e.fault.kind().name();
            match &e.fault {
                Fault::Knob { knob, .. } => format!("{kind} {knob}"),
                other => {
                    let hosts = other.hosts();
                    if hosts.is_empty() {
                        kind.to_string()
                    } else {
                        format!("{kind} host={}", hosts.join("+"))
                    }
                }
            }
        })
        .collect();
    parts.sort();
    parts.dedup();
    parts.join(" & ")
}

/// One failure mode an exploration found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub scenario: String,
    pub signature: String,
    /// The smallest schedule seen for it (shrunk when the exploration ran
    /// with `--smallest-trigger`), its seed and score.
    pub schedule: Vec<String>,
    pub seed: u64,
    pub score: f64,
    /// The exploration's `--set` overrides, which the run needs to tip.
    pub set: Vec<String>,
    /// Where it is already pinned down, if anywhere.
    pub known_in: Option<PathBuf>,
}

/// Every failure mode in `explorations`, each matched against `known`.
/// Findings come sorted by scenario and signature; new ones have no
/// `known_in`.
pub fn triage(explorations: &[ShardOutput], known: &[(PathBuf, Incident)]) -> Vec<Finding> {
    let mut known_modes: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    for (path, incident) in known {
        if incident.found.class == Class::Metastable {
            known_modes
                .entry((incident.scenario.clone(), signature(&incident.schedule)))
                .or_insert_with(|| path.clone());
        }
    }
    let mut found: BTreeMap<(String, String), Finding> = BTreeMap::new();
    let mut offer =
        |scenario: &str, set: &[String], specs: &[String], seed: u64, score: f64, shrunk: bool| {
            let Ok(schedule) = Schedule::from_specs(specs) else {
                return;
            };
            let key = (scenario.to_string(), signature(&schedule));
            let finding = Finding {
                scenario: key.0.clone(),
                signature: key.1.clone(),
                schedule: specs.to_vec(),
                seed,
                score,
                set: set.to_vec(),
                known_in: known_modes.get(&key).cloned(),
            };
            // Prefer a shrunk schedule, then the highest score.
            match found.get(&key) {
                Some(old) if !shrunk && old.score >= score => {}
                _ => {
                    found.insert(key, finding);
                }
            }
        };
    for e in explorations {
        for r in e.runs.iter().filter(|r| r.class == Some(Class::Metastable)) {
            offer(&e.scenario, &e.set, &r.schedule, r.seed, r.score, false);
        }
    }
    for e in explorations {
        for t in &e.smallest_triggers {
            if let (Some(s), Some(score)) = (&t.smallest, t.score) {
                offer(&e.scenario, &e.set, s, t.seed, score, true);
            }
        }
    }
    // A run with no healthy baseline is never a known mode: the build
    // under test is dead or overloaded as configured, and the gate fails.
    for e in explorations {
        if let Some(r) = e
            .runs
            .iter()
            .find(|r| r.class == Some(Class::UnhealthyBaseline))
        {
            let key = (e.scenario.clone(), UNHEALTHY.to_string());
            found.entry(key).or_insert_with(|| Finding {
                scenario: e.scenario.clone(),
                signature: UNHEALTHY.to_string(),
                schedule: r.schedule.clone(),
                seed: r.seed,
                score: r.score,
                set: e.set.clone(),
                known_in: None,
            });
        }
    }
    found.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(specs: &[&str]) -> String {
        signature(&Schedule::from_specs(specs).unwrap())
    }

    #[test]
    fn a_signature_ignores_onsets_sizes_and_order() {
        assert_eq!(
            sig(&["load-spike:at=60s,for=10s,factor=3"]),
            sig(&["load-spike:at=41s,for=2s,factor=2.5"])
        );
        assert_eq!(
            sig(&[
                "crash:at=40s,for=5s,host=server",
                "knob:at=50s,knob=cache-flush"
            ]),
            sig(&[
                "knob:at=30s,knob=cache-flush",
                "crash:at=31s,for=9s,host=server"
            ])
        );
        assert_eq!(
            sig(&["crash:at=40s,for=5s,host=server"]),
            "crash host=server"
        );
        assert_ne!(
            sig(&["crash:at=40s,for=5s,host=server"]),
            sig(&["crash:at=40s,for=5s,host=client-1"])
        );
        assert_eq!(sig(&["knob:at=60s,knob=cache-flush"]), "knob cache-flush");
    }
}
