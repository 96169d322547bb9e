//! The `hormesis` command line as a library: every subcommand, for any set
//! of scenarios. The `hormesis` binary is [`main`] with the built-ins; a
//! crate with its own scenarios gets the same command line from a
//! three-line `src/bin/*.rs`:
//!
//! ```no_run
//! # use hormesis::scenarios::RetryStorm as MyScenario;
//! fn main() -> std::process::ExitCode {
//!     hormesis::cli::main(&[&MyScenario])
//! }
//! ```
//!
//! Exit codes: 0 success, 1 a finding (metastable, or a host that failed
//! on its own), 2 bad input, 130 interrupted. One module per subcommand;
//! this one holds what they share: output that never panics, signals,
//! output checks before any work, errors and their exit codes.

use crate::files;
use crate::registry::Registry;
use crate::run::RunError;
use crate::scenario::Scenario;
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

// Text goes to stdout and stderr through these: a closed or full stream (a
// pipe to `head`, /dev/full) loses the text, never the files a command
// writes, and never panics.
// When an output is `-`, stdout carries that data alone and the text meant
// for people goes to stderr (`-o - > policy.yaml` is the policy, whole).
macro_rules! out {
    ($($arg:tt)*) => {{
        if $crate::cli::stdout_is_data() {
            let _ = write!(std::io::stderr(), $($arg)*);
        } else {
            $crate::cli::note_stdout(write!(std::io::stdout(), $($arg)*));
        }
    }};
}
macro_rules! outln {
    ($($arg:tt)*) => {{
        if $crate::cli::stdout_is_data() {
            let _ = writeln!(std::io::stderr(), $($arg)*);
        } else {
            $crate::cli::note_stdout(writeln!(std::io::stdout(), $($arg)*));
        }
    }};
}

/// Set by the output checks when one of the command's outputs is `-`.
pub(crate) static STDOUT_IS_DATA: AtomicBool = AtomicBool::new(false);

pub(crate) fn stdout_is_data() -> bool {
    STDOUT_IS_DATA.load(Ordering::SeqCst)
}

/// Set when stdout refused text for a reason other than a reader that went
/// away (a full disk): the command then cannot end as a success.
pub(crate) static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

pub(crate) fn note_stdout(result: std::io::Result<()>) {
    if let Err(e) = result {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            STDOUT_FAILED.store(true, Ordering::SeqCst);
        }
    }
}
macro_rules! err {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}
macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod command;
mod explore;
mod fidelity;
mod import;
mod map;
mod merge;
mod outputs;
mod replay;
mod report;
mod run;
mod scenarios;
mod shrink;
mod sweep;
mod triage;
mod tune;

use command::{Cli, Command};
use outputs::{emit, incident_output, output, preflight, write_file, write_incident};

/// Signals (Ctrl-C, SIGTERM, SIGHUP) received so far.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// Set while a command can stop cleanly on a first signal (explore: after
/// the runs in flight, writing everything). Otherwise, and on a second
/// signal, the process removes its unfinished temporary files and exits
/// 130 at once, writing nothing that could look complete.
static STOPS_CLEANLY: AtomicBool = AtomicBool::new(false);

fn on_signal() {
    let n = SIGNALS.fetch_add(1, Ordering::SeqCst) + 1;
    if n == 1 && STOPS_CLEANLY.load(Ordering::SeqCst) {
        errln!("\nstopping after the runs in flight (Ctrl-C again to abort)");
        return;
    }
    fidelity::end_child();
    files::remove_temporaries();
    errln!("\naborted");
    std::process::exit(Exit::Interrupted as i32);
}

/// An error message with every line cut to a readable length: a value
/// pasted by mistake (megabytes of it) is quoted by its start.
fn clipped(message: &str) -> String {
    const MAX_LINE: usize = 1000;
    message
        .lines()
        .map(|line| match line.char_indices().nth(MAX_LINE) {
            Some((cut, _)) => format!("{}… ({} more bytes)", &line[..cut], line.len() - cut),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--jobs`, or one thread per core.
/// No more threads than simulations of the largest size fit in the memory
/// available (`crate::memory`), so `--jobs` cannot multiply a run's memory
/// past what the machine has; results never depend on it.
fn jobs(given: Option<u16>) -> usize {
    let asked = given.map_or_else(crate::explore::default_jobs, usize::from);
    match crate::memory::simulations_that_fit() {
        Some(fit) if fit < asked => {
            errln!(
                "note: {asked} jobs lowered to {fit}: each simulation may hold up to {} MiB and that many fit in the memory available",
                crate::memory::MAX_SIMULATION_BYTES >> 20
            );
            fit
        }
        _ => asked,
    }
}

fn interrupted() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// What every subcommand is given: the scenarios this binary knows, and
/// the name it runs under, for the commands it prints (reproduce, replay,
/// shrink) to name the binary actually running.
pub(crate) struct Env {
    registry: Registry,
    bin: String,
    /// The command as typed (quoted for a shell), for an incident's
    /// `found.command`.
    typed: String,
}

impl Env {
    /// The scenario called `name`, or bad input listing the known ones.
    fn find(&self, name: &str) -> Result<&'static dyn Scenario, Failure> {
        self.registry.find(name).map_err(bad_input)
    }
}

/// How a command ends: the process's exit code, set in one place
/// ([`main_from`]) from what the command returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Exit {
    /// Done, nothing found (every expectation held, nothing new).
    Clean = 0,
    /// A finding or a regression: what the command is for found something.
    Finding = 1,
    /// Bad input: said with the file, line or flag, before or instead of work.
    BadInput = 2,
    /// Stopped by a signal, with what was done so far written.
    Interrupted = 130,
}

impl Exit {
    /// [`Exit::Finding`] when `found`, else [`Exit::Clean`].
    fn finding_if(found: bool) -> Exit {
        if found {
            Exit::Finding
        } else {
            Exit::Clean
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// An error and the exit it maps to.
pub(crate) struct Failure {
    code: Exit,
    message: String,
}

/// Bad input (exit 2): `error` says what and where.
fn bad_input(error: impl Display) -> Failure {
    Failure {
        code: Exit::BadInput,
        message: error.to_string(),
    }
}

/// `Result`s whose error becomes bad input, said in context.
trait OrBadInput<T> {
    /// The error as bad input, after `what` (`cannot read x.yaml: …`).
    fn or_bad(self, what: impl FnOnce() -> String) -> Result<T, Failure>;
}

impl<T, E: Display> OrBadInput<T> for Result<T, E> {
    fn or_bad(self, what: impl FnOnce() -> String) -> Result<T, Failure> {
        self.map_err(|e| bad_input(format!("{}: {e}", what())))
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Failure {
        let code = match e {
            RunError::Engine(crate::engine::EngineError::Panicked { .. }) => Exit::Finding,
            _ => Exit::BadInput,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// Runs the command line of this process for `scenarios` (the `hormesis`
/// binary passes [`crate::scenarios::builtin`]); returns the exit code.
/// Scenario names must be unique: a clash is an error naming both.
pub fn main(scenarios: &[&'static dyn Scenario]) -> ExitCode {
    main_from(std::env::args_os(), scenarios)
}

/// [`main`] with the arguments given, the first being the binary's name.
/// `--help` and argument errors print and exit the process, as clap does.
pub fn main_from(
    args: impl IntoIterator<Item = OsString>,
    scenarios: &[&'static dyn Scenario],
) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let bin = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map_or_else(
            || "hormesis".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
    let names: Vec<&str> = scenarios.iter().map(|s| s.name()).collect();
    let matches = clap_command(&bin, &names).get_matches_from(&args);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let registry = match Registry::new(scenarios) {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let typed = typed(&bin, &args);
    let env = Env {
        registry,
        bin,
        typed,
    };
    if let Err(e) = ctrlc::set_handler(on_signal) {
        errln!("warning: Ctrl-C and SIGTERM will abort without cleaning up: {e}");
    }
    if let Err(message) = crate::log::init(cli.log.as_deref()) {
        errln!("error: {message}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Scenarios {
            json,
            scenario,
            sets,
        } => scenarios::command(&env, json, scenario.as_deref(), &sets),
        Command::Run(args) => run::command(&env, args),
        Command::Explore(args) => explore::command(&env, args),
        Command::Merge(args) => merge::command(args),
        Command::Triage(args) => triage::command(&env, args),
        Command::Report(args) => report::command(&env, args),
        Command::Replay(args) => replay::command(&env, args),
        Command::Shrink(args) => shrink::command(&env, args),
        Command::Import(args) => import::command(&env, args),
        Command::Map(args) => map::command(&env, args),
        Command::Sweep(args) => sweep::command(&env, args),
        Command::Tune(args) => tune::command(&env, args),
    };
    let result = result.and_then(|code| {
        note_stdout(std::io::stdout().flush());
        if code == Exit::Clean && STDOUT_FAILED.load(Ordering::SeqCst) {
            return Err(bad_input(
                "could not write to standard output (is it full?)",
            ));
        }
        Ok(code)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure { code, message }) => {
            errln!("error: {}", clipped(&message));
            ExitCode::from(code)
        }
    }
}

/// Words of the built-in scenarios' examples that a binary without them
/// would refuse (their mitigations and parameters, sample files).
const BUILTIN_ONLY: [&str; 6] = [
    "instance=",
    "retry-budget",
    "autoscaler",
    "workers=",
    "checkout-outage",
    "guided.json",
];

/// The clap command, named after the binary running, its examples too: a
/// binary without the built-in scenarios shows its own first scenario and
/// none of the built-ins' parameters (issue 29, E13).
fn clap_command(bin: &str, scenarios: &[&str]) -> clap::Command {
    let builtin = scenarios.contains(&"retry-storm");
    let own = scenarios.first().copied().unwrap_or("SCENARIO");
    let named = |text: String| {
        let text = text.replace("hormesis ", &format!("{bin} "));
        if builtin {
            return text;
        }
        text.lines()
            .filter(|l| !BUILTIN_ONLY.iter().any(|w| l.contains(w)))
            .map(|l| {
                l.replace("replays/retry-storm/spike.yaml", "replays/INCIDENT.yaml")
                    .replace("replays/retry-storm", "replays")
                    .replace("retry-storm", own)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut cmd = Cli::command()
        .name(bin.to_string())
        .bin_name(bin.to_string());
    if bin == "hormesis" && builtin {
        return cmd;
    }
    if let Some(help) = cmd.get_after_help().map(|h| named(h.to_string())) {
        cmd = cmd.after_help(help);
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |sub| {
            match sub.get_after_help().map(|h| named(h.to_string())) {
                Some(help) => sub.after_help(help),
                None => sub,
            }
        });
    }
    cmd
}

/// `sets` with the values of a `--policy` file before them (so a `--set`
/// wins), the file checked against `scenarios` with its lines.
fn policy_sets(
    policy: Option<&Path>,
    scenarios: &[&dyn Scenario],
    sets: &[String],
) -> Result<Vec<String>, Failure> {
    let Some(path) = policy else {
        return Ok(sets.to_vec());
    };
    let policy = crate::policy::Policy::load(path).map_err(bad_input)?;
    policy.check(scenarios).map_err(bad_input)?;
    Ok(policy.then(sets))
}

/// The command as typed, for an incident's `found.command`.
fn command_line(env: &Env) -> String {
    env.typed.clone()
}

/// `args` as a shell line, the binary named `bin`; an argument that is
/// not UTF-8 (a path) is shown lossily rather than refused.
fn typed(bin: &str, args: &[OsString]) -> String {
    std::iter::once(bin.to_string())
        .chain(args.iter().skip(1).map(|a| {
            let a = a.to_string_lossy();
            if a.contains([' ', '\'', '|', ',', '"']) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a.into_owned()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}
