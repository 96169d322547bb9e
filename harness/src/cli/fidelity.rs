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
    /// Why it was not asked: no build found, `HORMESIS_OTHER_ENGINE`
    /// empty, or a scenario that does not run there.
    Skipped(String),
    /// A build was there (found or named) but gave no verdict: it crashed,
    /// refused, hung past the time limit, printed too much or something
    /// that is no run report. The check then fails: it could not be made.
    Failed(String),
}

/// The environment variable naming the other engine's binary.
pub(crate) const OTHER_ENGINE_ENV: &str = "HORMESIS_OTHER_ENGINE";
/// The environment variable bounding how long the other engine may take
/// (a duration such as `90s`; default [`DEFAULT_TIMEOUT`]).
pub(crate) const TIMEOUT_ENV: &str = "HORMESIS_OTHER_ENGINE_TIMEOUT";
/// Far above one run at a fifth of the step (seconds to a minute), far
/// below forever.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The most of the other engine's stdout (its `--json -` report) kept: the
/// most hormesis reads of any file.
const MAX_ANSWER_BYTES: usize = crate::files::MAX_INPUT_BYTES as usize;
/// The tail of its stderr kept for the message.
const STDERR_TAIL_BYTES: usize = 4096;

/// The process group of the other engine's child while it runs (0: none),
/// so a signal that ends this process ends it and its descendants too.
static CHILD_GROUP: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Ends the other engine's child, and every process it started, if one
/// runs. For the signal handler and for the end of every ask.
pub(crate) fn end_child() {
    let group = CHILD_GROUP.swap(0, std::sync::atomic::Ordering::SeqCst);
    kill_group(group);
}

fn kill_group(group: i32) {
    #[cfg(unix)]
    if group > 0 {
        // SAFETY: kill(2) with a negative pid signals that process group;
        // it touches no memory of ours.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = group;
}

/// Where the other engine's binary is: found, not there, or named wrongly.
enum Binary {
    At(PathBuf),
    Missing(String),
    Unusable(String),
}

/// The binary of the other engine's build, if there is one.
fn other_binary(other: EngineKind) -> Binary {
    if let Some(named) = std::env::var_os(OTHER_ENGINE_ENV) {
        if named.is_empty() {
            return Binary::Missing(format!("{OTHER_ENGINE_ENV} is empty"));
        }
        let path = PathBuf::from(named);
        return match executable(&path) {
            Ok(()) => Binary::At(path),
            Err(why) => Binary::Unusable(format!("{OTHER_ENGINE_ENV}={}: {why}", path.display())),
        };
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return Binary::Missing(format!("cannot find this binary: {e}")),
    };
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        return Binary::Missing(format!("cannot place {}", exe.display()));
    };
    let Some(profile) = dir.file_name() else {
        return Binary::Missing(format!("cannot place {}", exe.display()));
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
                return Binary::Missing(format!(
                    "{} is not in a madsim target directory",
                    exe.display()
                ))
            }
        },
    };
    if candidate.is_file() {
        Binary::At(candidate)
    } else {
        Binary::Missing(format!(
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

/// Whether `path` is a regular file this process may execute.
fn executable(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a file (a directory or a device)".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err("not executable".into());
        }
    }
    Ok(())
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
        Binary::At(b) => b,
        Binary::Missing(why) => return OtherEngine::Skipped(why),
        Binary::Unusable(why) => return OtherEngine::Failed(why),
    };
    let timeout = match timeout() {
        Ok(t) => t,
        Err(why) => return OtherEngine::Failed(why),
    };
    match ask(&binary, other, plan, fine_tick, timeout) {
        Ok((class, ttr_s)) => OtherEngine::Verdict {
            engine: other,
            class,
            ttr_s,
        },
        Err(why) => OtherEngine::Failed(format!("{} could not answer: {why}", binary.display())),
    }
}

fn timeout() -> Result<Duration, String> {
    match std::env::var(TIMEOUT_ENV) {
        Err(_) => Ok(DEFAULT_TIMEOUT),
        Ok(text) => hormesis_faults::parse_duration(&text)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("{TIMEOUT_ENV}=`{text}`: a duration such as 90s or 10m")),
    }
}

/// The other engine's `run --json -` for the plan, its whole schedule as
/// `--fault`s (no temporary file to leave behind), bounded in time and in
/// what it may print; the child and anything it started are ended after.
fn ask(
    binary: &Path,
    other: EngineKind,
    plan: &RunPlan<'_>,
    fine_tick: Option<Duration>,
    timeout: Duration,
) -> Result<(String, Option<f64>), String> {
    use std::process::{Command, Stdio};
    let mut command = Command::new(binary);
    command
        .args(["run", "--scenario", plan.scenario.name()])
        .args(["--seed", &plan.seed.to_string(), "--engine", other.name()])
        .args(["--json", "-"]);
    for event in &plan.schedule.events {
        command.args(["--fault", &event.to_spec()]);
    }
    for (key, value) in plan.params.iter() {
        command.args(["--set", &format!("{key}={value}")]);
    }
    if let (EngineKind::Turmoil, Some(tick)) = (other, fine_tick) {
        command.args(["--tick", &hormesis_faults::format_duration(tick)]);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    let group = i32::try_from(child.id()).unwrap_or(0);
    CHILD_GROUP.store(group, std::sync::atomic::Ordering::SeqCst);
    let too_much = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stdout = child.stdout.take().map(|out| {
        let too_much = too_much.clone();
        std::thread::spawn(move || read_bounded(out, MAX_ANSWER_BYTES, &too_much))
    });
    let stderr = child
        .stderr
        .take()
        .map(|err| std::thread::spawn(move || read_tail(err, STDERR_TAIL_BYTES)));
    let status = wait_until(&mut child, timeout, &too_much);
    // Whatever it left running (a background child holding its pipes)
    // ends with it, so the readers below see the end of their streams.
    kill_group(group);
    CHILD_GROUP.store(0, std::sync::atomic::Ordering::SeqCst);
    let answer = stdout.and_then(|t| t.join().ok()).unwrap_or_default();
    let tail = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    let status = status?;
    if too_much.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(format!(
            "it printed more than {} MiB, more than any run report",
            MAX_ANSWER_BYTES >> 20
        ));
    }
    // 0: recovered, 1: a finding; anything else is a refusal or a crash.
    if !matches!(status.code(), Some(0 | 1)) {
        let tail = String::from_utf8_lossy(&tail);
        let last = tail.lines().rev().find(|l| !l.trim().is_empty());
        return Err(format!(
            "exit {}: {}",
            status
                .code()
                .map_or("by signal".to_string(), |c| c.to_string()),
            last.map_or("no message".to_string(), |l| format!("{:?}", clip(l)))
        ));
    }
    verdict_of(&answer, other)
}

/// Waits for `child` to exit, up to `timeout` or until its output grew too
/// large; then it is killed. Wall time and sleeps bound a child process
/// here; neither enters a simulation.
#[allow(clippy::disallowed_methods)]
fn wait_until(
    child: &mut std::process::Child,
    timeout: Duration,
    too_much: &std::sync::atomic::AtomicBool,
) -> Result<std::process::ExitStatus, String> {
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
        let timed_out = started.elapsed() >= timeout;
        if timed_out || too_much.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = child.kill();
            let status = child
                .wait()
                .map_err(|e| format!("cannot wait for it: {e}"))?;
            if timed_out {
                return Err(format!(
                    "no answer within {} ({TIMEOUT_ENV} sets the limit)",
                    humantime::format_duration(timeout)
                ));
            }
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads `from` to its end, keeping at most `limit` bytes; past that it
/// stops reading and says so.
fn read_bounded(
    mut from: impl std::io::Read,
    limit: usize,
    too_much: &std::sync::atomic::AtomicBool,
) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return kept,
            Ok(n) if kept.len() + n > limit => {
                too_much.store(true, std::sync::atomic::Ordering::SeqCst);
                return kept;
            }
            Ok(n) => kept.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads `from` to its end, keeping its last `limit` bytes.
fn read_tail(mut from: impl std::io::Read, limit: usize) -> Vec<u8> {
    let mut tail: std::collections::VecDeque<u8> = std::collections::VecDeque::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return tail.into(),
            Ok(n) => {
                tail.extend(&buf[..n]);
                let extra = tail.len().saturating_sub(limit);
                tail.drain(..extra);
            }
        }
    }
}

fn clip(line: &str) -> &str {
    let mut end = line.len().min(200);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// The verdict in the other engine's run report, checked: a report of the
/// engine asked for, with a class this build knows.
fn verdict_of(answer: &[u8], other: EngineKind) -> Result<(String, Option<f64>), String> {
    let report: serde_json::Value = serde_json::from_slice(answer)
        .map_err(|e| format!("its output is not a run report (JSON): {e}"))?;
    let engine = report["engine"].as_str().unwrap_or_default();
    if engine != other.name() {
        return Err(format!(
            "its report is of engine {:?}, not {}",
            clip(engine),
            other.name()
        ));
    }
    let verdict = &report["verdict"];
    let class = verdict["class"]
        .as_str()
        .ok_or("a report without a verdict")?;
    if !crate::verdict::Class::ALL.iter().any(|c| c.name() == class) {
        return Err(format!(
            "its verdict class {:?} is none of {}",
            clip(class),
            crate::verdict::Class::ALL.map(|c| c.name()).join(", ")
        ));
    }
    let ttr_s = verdict["ttr_s"]
        .as_f64()
        .filter(|t| t.is_finite() && *t >= 0.0);
    Ok((class.to_string(), ttr_s))
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
