//! Kept incidents as tests: every incident file below a folder becomes a
//! test named after its path (`retry-storm/spike`), run by libtest-mimic
//! from a `harness = false` test target, so `cargo test` names the
//! incident that regressed and `cargo test -- retry-storm/spike` reruns it.

use crate::incident::Incident;
use crate::registry::Registry;
use crate::replay;
use crate::scenario::Scenario;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

/// Runs every incident below `dir` (relative paths are from the package
/// root, where `cargo test` runs) as its own test, its scenario looked up
/// among `scenarios`, and exits with the result. The body of a test target
/// declared with `harness = false`:
///
/// ```no_run
/// # use hormesis::scenarios::RetryStorm as MyScenario;
/// fn main() {
///     hormesis::testing::replays("replays", &[&MyScenario]);
/// }
/// ```
///
/// `HORMESIS_REPLAY_SET="key=value,key=value"` overrides the parameters of
/// every incident whose scenario has them, as `hormesis replay --set` does.
/// A folder without incidents, an unknown scenario or a clash of names is
/// reported and exits 2 before any test runs.
pub fn replays(dir: impl AsRef<Path>, scenarios: &[&'static dyn Scenario]) -> ! {
    let args = Arguments::from_args();
    let trials = Registry::new(scenarios)
        .map_err(|e| e.to_string())
        .and_then(|registry| {
            let overrides = overrides_from_env()?;
            replay_trials(dir.as_ref(), &registry, &overrides)
        })
        .unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2)
        });
    libtest_mimic::run(&args, trials).exit()
}

/// `HORMESIS_REPLAY_SET`, split at commas.
pub fn overrides_from_env() -> Result<Vec<String>, String> {
    let set = match std::env::var("HORMESIS_REPLAY_SET") {
        Ok(set) => set,
        Err(std::env::VarError::NotPresent) => String::new(),
        Err(e) => return Err(format!("HORMESIS_REPLAY_SET: {e}")),
    };
    Ok(set
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// An incident file kept as a test: read, and planned against its
/// registry, with the overrides its scenario has.
#[derive(Debug, Clone)]
pub struct KeptIncident {
    /// Its path below the folder, without the extension (`retry-storm/spike`).
    pub name: String,
    pub path: PathBuf,
    pub incident: Incident,
    pub overrides: Vec<String>,
}

impl KeptIncident {
    /// Replays it: `Err` says why its expectation failed, with its seed,
    /// file and how to rerun it.
    pub fn check(&self, registry: &Registry) -> Result<(), String> {
        let (incident, overrides) = (&self.incident, &self.overrides);
        let outcome = replay::replay(registry, incident, overrides).map_err(|e| e.to_string())?;
        let Some(why) = outcome.regression else {
            return Ok(());
        };
        let sets: String = overrides.iter().map(|o| format!(" --set {o}")).collect();
        let env: String = if overrides.is_empty() {
            String::new()
        } else {
            format!("HORMESIS_REPLAY_SET={} ", overrides.join(","))
        };
        let binary = super::cli_binary(&incident.scenario);
        Err(format!(
            "{}: {why}\n  expected: {}\n  got: {}\n  seed: {}\n  file: {}\n  rerun: {env}cargo test -- --exact {}\n  or: {binary} replay {}{sets}",
            incident.id,
            outcome.expected,
            outcome.got,
            incident.seed,
            self.path.display(),
            self.name,
            self.path.display()
        ))
    }
}

/// Every incident file below `dir`, in name order, with the `overrides`
/// its scenario has. Every file is read and planned, so a file that cannot
/// be replayed (bad YAML, an unknown scenario or parameter) is an error
/// naming it, before anything runs.
pub fn kept_incidents(
    dir: &Path,
    registry: &Registry,
    overrides: &[String],
) -> Result<Vec<KeptIncident>, String> {
    let files = replay::collect(&[dir.to_path_buf()])?;
    let mut kept = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for path in files {
        let loaded = Incident::load(&path).and_then(|incident| {
            let applicable = replay::applicable(registry, &incident, overrides)?;
            incident.plan(registry, &applicable)?;
            Ok((incident, applicable))
        });
        match loaded {
            Ok((incident, overrides)) => kept.push(KeptIncident {
                name: test_name(dir, &path),
                path,
                incident,
                overrides,
            }),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(kept)
    } else {
        Err(format!(
            "{} incident files cannot be replayed:\n  {}",
            errors.len(),
            errors.join("\n  ")
        ))
    }
}

/// [`kept_incidents`] as libtest-mimic tests, one per file.
pub fn replay_trials(
    dir: &Path,
    registry: &Registry,
    overrides: &[String],
) -> Result<Vec<Trial>, String> {
    Ok(kept_incidents(dir, registry, overrides)?
        .into_iter()
        .map(|kept| {
            let registry = registry.clone();
            Trial::test(kept.name.clone(), move || {
                kept.check(&registry).map_err(Failed::from)
            })
        })
        .collect())
}

/// The test name of an incident file: its path below `dir` without the
/// extension, `/`-separated on every platform (`retry-storm/spike`).
pub fn test_name(dir: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(dir).unwrap_or(file);
    relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
