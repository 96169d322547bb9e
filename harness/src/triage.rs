//! Which failures an exploration found are new: not yet pinned down by an
//! incident in `replays/`. The nightly job fails only on those.
//!
//! A failure mode is identified by its scenario and its *signature*: the
//! loop that kept the system down and where it lives
//! (`retry-amplification@back`, see [`crate::diagnosis`]), whatever fault
//! tipped it. A crash, a hold, a load step and lost packets that all leave
//! one backlog kept by retries are one mode; a cold cache and a retry
//! storm on one scenario are two. The fault spellings merged under a mode
//! are listed with it. A run or kept incident recorded before the
//! mechanism was (no `mechanism` field) falls back to its *fault
//! signature*: the kinds and targets of its schedule's events (`crash
//! host=server`, `knob cache-flush`, `load-spike`), without onsets,
//! durations or magnitudes. One replay of each mode (ideally its shrunk
//! trigger) is what a team keeps.

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

/// The name of the accepted-modes file in a folder of kept incidents
/// (`replays/accepted.yaml`); a folder walk for incidents skips it.
pub const ACCEPTED_FILE: &str = "accepted.yaml";

/// The signature of a failure mode: its mechanism (`mechanism@place`) when
/// one was diagnosed, else the fault signature of its schedule.
pub fn mode(schedule: &Schedule, mechanism: Option<&str>) -> String {
    match mechanism {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => signature(schedule),
    }
}

/// The kinds and targets of a schedule's events, sorted: its fault spelling.
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
    /// The fault signatures of the runs merged under this mode, sorted.
    pub spellings: Vec<String>,
    /// The smallest schedule seen for it (shrunk when the exploration ran
    /// with `--smallest-trigger`), its seed and score.
    pub schedule: Vec<String>,
    pub seed: u64,
    pub score: f64,
    /// The exploration's `--set` overrides, which the run needs to tip.
    pub set: Vec<String>,
    /// Where it is already pinned down, if anywhere.
    pub known_in: Option<PathBuf>,
    /// Why the team accepts it without keeping an incident (its entry in
    /// the accepted file), if it does.
    pub accepted: Option<String>,
}

/// A failure mode a team has acknowledged without keeping an incident for
/// it: one entry of an accepted file (`replays/accepted.yaml`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    pub scenario: String,
    /// The mode's signature, as triage prints it (`backlog@replica-3`).
    pub mode: String,
    /// Why it is accepted: required, so the file says why each entry is there.
    pub reason: String,
}

/// Why an accepted file was refused.
#[derive(Debug, thiserror::Error)]
pub enum AcceptedError {
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}:{line}: {message}")]
    Entry {
        origin: String,
        line: usize,
        message: String,
    },
}

/// Parses an accepted file: a YAML list of `{scenario, mode, reason}`.
/// `scenarios` are the names the file may use; an entry with an unknown
/// scenario, an empty mode or reason, or a duplicate is refused with its
/// line.
pub fn parse_accepted(
    text: &str,
    origin: &str,
    scenarios: &[&str],
) -> Result<Vec<Accepted>, AcceptedError> {
    let entries: Vec<Accepted> = if text.trim().is_empty() {
        Vec::new()
    } else {
        serde_yaml::from_str(text).map_err(|e| AcceptedError::Parse {
            origin: origin.to_string(),
            message: match e.location() {
                Some(at) => format!("line {}: {e}", at.line()),
                None => e.to_string(),
            },
        })?
    };
    // Entries start at top-level `- ` lines, in order.
    let starts: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with('-'))
        .map(|(i, _)| i + 1)
        .collect();
    let mut seen = BTreeMap::new();
    for (i, a) in entries.iter().enumerate() {
        let line = starts.get(i).copied().unwrap_or(1);
        let refuse = |message: String| AcceptedError::Entry {
            origin: origin.to_string(),
            line,
            message,
        };
        if !scenarios.contains(&a.scenario.as_str()) {
            return Err(refuse(format!(
                "unknown scenario `{}`; allowed: {}",
                a.scenario,
                scenarios.join(", ")
            )));
        }
        if a.mode.trim().is_empty() {
            return Err(refuse(
                "`mode` is empty: give the signature triage prints".into(),
            ));
        }
        if a.reason.trim().is_empty() {
            return Err(refuse(
                "`reason` is empty: say why the mode is accepted".into(),
            ));
        }
        if a.mode == UNHEALTHY {
            return Err(refuse(format!(
                "`{UNHEALTHY}` cannot be accepted: a dead build is always a finding"
            )));
        }
        if let Some(first) = seen.insert((a.scenario.clone(), a.mode.clone()), line) {
            return Err(refuse(format!(
                "`{} {}` is already accepted on line {first}",
                a.scenario, a.mode
            )));
        }
    }
    Ok(entries)
}

/// Every failure mode in `explorations`, each matched against `known`.
/// Findings come sorted by scenario and signature; new ones have no
/// `known_in`.
pub fn triage(
    explorations: &[ShardOutput],
    known: &[(PathBuf, Incident)],
    accepted: &[Accepted],
) -> Vec<Finding> {
    let accepted_modes: BTreeMap<(String, String), String> = accepted
        .iter()
        .map(|a| ((a.scenario.clone(), a.mode.clone()), a.reason.clone()))
        .collect();
    let mut known_modes: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    for (path, incident) in known {
        if incident.found.class == Class::Metastable {
            known_modes
                .entry((
                    incident.scenario.clone(),
                    mode(&incident.schedule, incident.found.mechanism.as_deref()),
                ))
                .or_insert_with(|| path.clone());
        }
    }
    let mut found: BTreeMap<(String, String), Finding> = BTreeMap::new();
    let mut offer = |scenario: &str,
                     set: &[String],
                     specs: &[String],
                     mechanism: Option<&str>,
                     seed: u64,
                     score: f64,
                     shrunk: bool| {
        let Ok(schedule) = Schedule::from_specs(specs) else {
            return;
        };
        let key = (scenario.to_string(), mode(&schedule, mechanism));
        let spelling = signature(&schedule);
        let mut spellings = found
            .get(&key)
            .map(|f| f.spellings.clone())
            .unwrap_or_default();
        if let Err(at) = spellings.binary_search(&spelling) {
            spellings.insert(at, spelling);
        }
        let finding = Finding {
            scenario: key.0.clone(),
            signature: key.1.clone(),
            spellings: spellings.clone(),
            schedule: specs.to_vec(),
            seed,
            score,
            set: set.to_vec(),
            known_in: known_modes.get(&key).cloned(),
            accepted: accepted_modes.get(&key).cloned(),
        };
        // Prefer a shrunk schedule, then the highest score.
        match found.get_mut(&key) {
            Some(old) if !shrunk && old.score >= score => old.spellings = spellings,
            _ => {
                found.insert(key, finding);
            }
        }
    };
    for e in explorations {
        for r in e.runs.iter().filter(|r| r.class == Some(Class::Metastable)) {
            let m = r.mechanism.as_deref();
            offer(&e.scenario, &e.set, &r.schedule, m, r.seed, r.score, false);
        }
    }
    for e in explorations {
        for t in &e.smallest_triggers {
            if let (Some(s), Some(score)) = (&t.smallest, t.score) {
                // A shrunk trigger belongs to the mode of the run it was
                // shrunk from.
                let m = e
                    .runs
                    .iter()
                    .find(|r| r.seed == t.seed && r.schedule == t.found)
                    .and_then(|r| r.mechanism.as_deref());
                offer(&e.scenario, &e.set, s, m, t.seed, score, true);
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
                spellings: vec![signature_or_empty(&r.schedule)],
                schedule: r.schedule.clone(),
                seed: r.seed,
                score: r.score,
                set: e.set.clone(),
                known_in: None,
                accepted: None,
            });
        }
    }
    found.into_values().collect()
}

fn signature_or_empty(specs: &[String]) -> String {
    Schedule::from_specs(specs)
        .map(|s| signature(&s))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::EngineKind;
    use crate::explore::strategy::StrategyKind;
    use crate::explore::{RunRecord, Summary};

    fn run(spec: &str, mechanism: Option<&str>, seed: u64) -> RunRecord {
        RunRecord {
            index: 0,
            arm: String::new(),
            cell: String::new(),
            schedule: vec![spec.to_string()],
            seed,
            score: 0.9,
            stress: 0.95,
            class: Some(Class::Metastable),
            ttr_s: None,
            error: None,
            proposer: None,
            mechanism: mechanism.map(str::to_string),
        }
    }

    fn shard(runs: Vec<RunRecord>) -> ShardOutput {
        ShardOutput {
            scenario: "retry-storm".into(),
            engine: EngineKind::Turmoil,
            strategy: StrategyKind::Guided,
            seed: 1,
            shard: "0/1".into(),
            set: vec![],
            seeds: 4,
            budget: Some(runs.len()),
            stopped_early: false,
            summary: Summary {
                runs: runs.len(),
                runs_to_first_metastable: Some(1),
                metastable_runs: runs.len(),
                distinct_metastable_arms: 1,
                best_score: 0.9,
                errors: 0,
                unhealthy_runs: 0,
                cells: 1,
                arms: vec![],
            },
            runs,
            smallest_triggers: vec![],
        }
    }

    #[test]
    fn spellings_of_one_loop_are_one_mode_and_two_loops_stay_two() {
        let shard = shard(vec![
            run(
                "crash:at=40s,for=2s,host=server",
                Some("retry-amplification"),
                1,
            ),
            run(
                "load-spike:at=40s,for=9s,factor=3",
                Some("retry-amplification"),
                2,
            ),
            run(
                "loss:at=40s,for=9s,host=server,rate=0.04",
                Some("retry-amplification"),
                3,
            ),
            run(
                "knob:at=40s,for=9s,knob=service-time,value=90",
                Some("memory-pressure"),
                4,
            ),
        ]);
        let found = triage(&[shard], &[], &[]);
        let modes: Vec<(&str, usize)> = found
            .iter()
            .map(|f| (f.signature.as_str(), f.spellings.len()))
            .collect();
        assert_eq!(modes, [("memory-pressure", 1), ("retry-amplification", 3)]);
        assert_eq!(
            found[1].spellings,
            ["crash host=server", "load-spike", "loss host=server"]
        );
        assert!(found
            .iter()
            .all(|f| f.known_in.is_none() && f.accepted.is_none()));
    }

    #[test]
    fn a_run_without_a_mechanism_falls_back_to_its_fault_signature() {
        let shard = shard(vec![run("crash:at=40s,for=2s,host=server", None, 1)]);
        let found = triage(&[shard], &[], &[]);
        assert_eq!(found[0].signature, "crash host=server");
    }

    #[test]
    fn an_accepted_mode_is_reported_apart() {
        let shard = shard(vec![run(
            "crash:at=40s,for=2s,host=server",
            Some("backlog"),
            1,
        )]);
        let accepted = parse_accepted(
            "- scenario: retry-storm\n  mode: backlog\n  reason: drains in 70 s, known\n",
            "accepted.yaml",
            &["retry-storm"],
        )
        .unwrap();
        let found = triage(&[shard], &[], &accepted);
        assert_eq!(found[0].accepted.as_deref(), Some("drains in 70 s, known"));
    }

    #[test]
    fn bad_accepted_entries_are_refused_with_their_line() {
        let names = ["retry-storm", "hot-shard"];
        let refused = |text: &str| {
            parse_accepted(text, "a.yaml", &names)
                .unwrap_err()
                .to_string()
        };
        let ok = "- scenario: retry-storm\n  mode: backlog\n  reason: known\n";
        assert_eq!(parse_accepted("", "a.yaml", &names).unwrap(), vec![]);
        assert!(
            refused(&format!("{ok}- scenario: nope\n  mode: x\n  reason: y\n"))
                .starts_with("a.yaml:4: unknown scenario `nope`")
        );
        assert!(refused(&format!("{ok}{ok}"))
            .starts_with("a.yaml:4: `retry-storm backlog` is already accepted on line 1"));
        assert!(refused("- scenario: hot-shard\n  mode: x\n  reason: ' '\n")
            .starts_with("a.yaml:1: `reason` is empty"));
        assert!(
            refused("- scenario: hot-shard\n  mode: unhealthy-baseline\n  reason: y\n")
                .contains("cannot be accepted")
        );
        assert!(refused("- scenario: hot-shard\n  mode: x\n").contains("reason"));
        assert!(
            refused("- scenario: hot-shard\n  mode: x\n  reason: y\n  why: z\n").contains("why")
        );
    }

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
