//! The other half of `--check-fidelity`: the same plan on the other engine,
//! when its build sits beside this one.
//!
//! A build runs only its own engine (docs/engines.md), so the other engine
//! is another binary: `target/madsim/<profile>/NAME` beside
//! `target/<profile>/NAME` and the reverse (`cargo madsim-build` makes the
//! first), or the one `HORMESIS_OTHER_ENGINE` names (empty: never). It is
//! asked for the plan's exact parameters and schedule through `run --json`,
//! so a user's own harness binary is checked against its own madsim build.
//! turmoil is run at the finer step the tick check uses, so a verdict that
//! changes is set against the faithful step, not the coarse one.

use crate::engine::EngineKind;
use crate::run::RunPlan;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the other engine said about the plan.
pub(crate) enum OtherEngine {
    /// Its verdict class and time to recover (`None`: never).
    Verdict {
        engine: EngineKind,
        class: String,
        ttr_s: Option<f64>,
    },
    /// Why it was not asked (no build found, the scenario does not run
    /// there) or could not answer.
    Skipped(String),
}

/// The binary of the other engine's build, if there is one.
fn other_binary(other: EngineKind) -> Result<PathBuf, String> {
    if let Some(named) = std::env::var_os("HORMESIS_OTHER_ENGINE") {
        if named.is_empty() {
            return Err("HORMESIS_OTHER_ENGINE is empty".into());
        }
        return Ok(PathBuf::from(named));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        return Err(format!("cannot place {}", exe.display()));
    };
    let Some(profile) = dir.file_name() else {
        return Err(format!("cannot place {}", exe.display()));
    };
    let target = dir.parent().unwrap_or(Path::new("."));
    let candidate = match other {
        EngineKind::Madsim => target.join("madsim").join(profile).join(name),
        EngineKind::Turmoil => match target.file_name() {
            Some(m) if m == "madsim" => target
                .parent()
                .unwrap_or(Path::new("."))
                .join(profile)
                .join(name),
            _ => {
                return Err(format!(
                    "{} is not in a madsim target directory",
                    exe.display()
                ))
            }
        },
    };
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(format!(
            "no {} build at {}{}",
            other.name(),
            candidate.display(),
            if other == EngineKind::Madsim {
                " (cargo madsim-build makes it)"
            } else {
                " (cargo build makes it)"
            }
        ))
    }
}

/// Runs `plan` on the other engine's build; `fine_tick` is the step for
/// turmoil when turmoil is the other engine.
pub(crate) fn on_other_engine(plan: &RunPlan<'_>, fine_tick: Option<Duration>) -> OtherEngine {
    let other = match plan.engine {
        EngineKind::Turmoil => EngineKind::Madsim,
        EngineKind::Madsim => EngineKind::Turmoil,
    };
    if let Some(why) = plan.scenario.unsupported_on(other) {
        return OtherEngine::Skipped(format!(
            "{} does not run on {}: {why}",
            plan.scenario.name(),
            other.name()
        ));
    }
    let binary = match other_binary(other) {
        Ok(b) => b,
        Err(why) => return OtherEngine::Skipped(why),
    };
    match ask(&binary, other, plan, fine_tick) {
        Ok((class, ttr_s)) => OtherEngine::Verdict {
            engine: other,
            class,
            ttr_s,
        },
        Err(why) => OtherEngine::Skipped(format!("{} could not answer: {why}", binary.display())),
    }
}

fn ask(
    binary: &Path,
    other: EngineKind,
    plan: &RunPlan<'_>,
    fine_tick: Option<Duration>,
) -> Result<(String, Option<f64>), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
    let schedule = dir.path().join("schedule.yaml");
    let json = dir.path().join("report.json");
    std::fs::write(&schedule, plan.schedule.to_yaml())
        .map_err(|e| format!("cannot write {}: {e}", schedule.display()))?;
    let mut command = std::process::Command::new(binary);
    command
        .args(["run", "--scenario", plan.scenario.name(), "--schedule"])
        .arg(&schedule)
        .args(["--seed", &plan.seed.to_string(), "--engine", other.name()])
        .arg("--json")
        .arg(&json);
    for (key, value) in plan.params.iter() {
        command.args(["--set", &format!("{key}={value}")]);
    }
    if let (EngineKind::Turmoil, Some(tick)) = (other, fine_tick) {
        command.args(["--tick", &hormesis_faults::format_duration(tick)]);
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot start it: {e}"))?;
    // 0: recovered, 1: a finding; anything else is a refusal or a crash.
    if !matches!(output.status.code(), Some(0 | 1)) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(format!(
            "exit {}: {}",
            output
                .status
                .code()
                .map_or("by signal".to_string(), |c| c.to_string()),
            last.unwrap_or("no message")
        ));
    }
    let text = crate::files::read_text(&json).map_err(|e| format!("no report: {e}"))?;
    let report: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("unreadable report: {e}"))?;
    let verdict = &report["verdict"];
    let class = verdict["class"]
        .as_str()
        .ok_or("a report without a verdict")?
        .to_string();
    Ok((class, verdict["ttr_s"].as_f64()))
}

/// "metastable (never)", "stable (TTR 2s)": how a verdict reads in a line.
pub(crate) fn describe(class: &str, ttr_s: Option<f64>) -> String {
    match ttr_s {
        Some(t) => format!("{class} (TTR {t}s)"),
        None => format!("{class} (never)"),
    }
}

/// "metastable, never", "stable, TTR 2s": a verdict in parentheses.
pub(crate) fn pair(class: &str, ttr_s: Option<f64>) -> String {
    match ttr_s {
        Some(t) => format!("{class}, TTR {t}s"),
        None => format!("{class}, never"),
    }
}
