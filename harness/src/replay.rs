//! Replaying an incident: run it again and check its expectation (the
//! regression verdict) and its digest (did behaviour change at all?).

use crate::incident::{Incident, IncidentError};
use crate::registry::Registry;
use crate::run::{self, RunError, RunReport};
use crate::verdict::Class;
use hormesis_faults::format_duration;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why an incident could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Incident(#[from] IncidentError),
    #[error("{origin}: {error}")]
    Run { origin: String, error: RunError },
}

/// What one replay showed.
#[derive(Debug, Clone)]
pub struct ReplayOutcome {
    pub id: String,
    pub expected: String,
    /// The class, and the time to recovery when there was one.
    pub got: String,
    /// Why the expectation failed; `None` when it held.
    pub regression: Option<String>,
    pub digest_same: bool,
    pub report: RunReport,
}

impl ReplayOutcome {
    pub fn passed(&self, strict: bool) -> bool {
        self.regression.is_none() && (self.digest_same || !strict)
    }
}

/// Replays `incident`, its scenario looked up in `registry`, with
/// `overrides` (`key=value`) over its params.
pub fn replay<S: AsRef<str>>(
    registry: &Registry,
    incident: &Incident,
    overrides: &[S],
) -> Result<ReplayOutcome, ReplayError> {
    let plan = incident.plan(registry, overrides)?;
    let report = run::run(&plan).map_err(|error| ReplayError::Run {
        origin: incident.origin().unwrap_or(&incident.id).to_string(),
        error,
    })?;
    let v = &report.verdict;
    let got = match (v.class, v.ttr_s) {
        (Class::Metastable, _) | (_, None) => v.class.name().to_string(),
        (c, Some(t)) => format!(
            "{} ({})",
            c.name(),
            format_duration(Duration::from_secs_f64(t))
        ),
    };
    let mut regression = incident.expect.check(v).err();
    if !report.failures.is_empty() {
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|f| format!("host {} failed: {}", f.host, f.message))
            .collect();
        let failures = failures.join("; ");
        regression = Some(match regression {
            Some(r) => format!("{r}; {failures}"),
            None => failures,
        });
    }
    Ok(ReplayOutcome {
        id: incident.id.clone(),
        expected: incident.expect.describe(),
        got,
        regression,
        digest_same: report.digest == incident.found.digest,
        report,
    })
}

/// The overrides (`key=value`) that name a parameter of the incident's
/// scenario: a policy override such as `retry_budget.ratio=0.5` applies to
/// the incidents whose scenario has a retry budget and leaves the others.
pub fn applicable<S: AsRef<str>>(
    registry: &Registry,
    incident: &Incident,
    overrides: &[S],
) -> Result<Vec<String>, IncidentError> {
    let params = incident.scenario(registry)?.params();
    Ok(overrides
        .iter()
        .map(|o| o.as_ref().to_string())
        .filter(|o| {
            let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k).trim();
            params.iter().any(|p| p.name == key)
        })
        .collect())
}

/// The incident files named by `paths`: files as given, directories
/// searched recursively for `*.yaml` / `*.yml` (but `accepted.yaml`, the
/// accepted modes of [`crate::triage`]), in name order. A directory
/// without any is an error, as is a path that does not exist.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    collect_in(paths, false)
}

/// Like [`collect`], but a directory without incidents is simply empty:
/// the kept incidents of a team that has kept none yet.
pub fn collect_kept(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    collect_in(paths, true)
}

fn collect_in(paths: &[PathBuf], empty_ok: bool) -> Result<Vec<PathBuf>, String> {
    // Folders and files are visited once each by identity, so a link loop
    // or a second link to the same incident cannot replay it twice.
    fn walk(
        dir: &Path,
        seen: &mut BTreeSet<crate::files::FileId>,
        out: &mut Vec<PathBuf>,
    ) -> std::io::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for path in entries {
            let Some(id) = crate::files::file_id(&path) else {
                continue; // a dangling link
            };
            if path.is_dir() {
                if seen.insert(id) {
                    walk(&path, seen, out)?;
                }
            } else if path
                .file_name()
                .is_some_and(|n| n == crate::triage::ACCEPTED_FILE)
            {
                // The accepted modes beside the kept incidents are no incident.
                continue;
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
                && seen.insert(id)
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            if let Some(id) = crate::files::file_id(path) {
                seen.insert(id);
            }
            walk(path, &mut seen, &mut files)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            if files.len() == before && !empty_ok {
                return Err(format!(
                    "{}: no incident files (*.yaml, *.yml) in this directory",
                    path.display()
                ));
            }
        } else if path.exists() {
            if crate::files::file_id(path).is_none_or(|id| seen.insert(id)) {
                files.push(path.clone());
            }
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(files)
}
