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
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

// Text goes to stdout and stderr through these: a closed or full stream (a
// pipe to `head`, /dev/full) loses the text, never the files a command
// writes, and never panics.
macro_rules! out {
    ($($arg:tt)*) => {{
        $crate::cli::note_stdout(write!(std::io::stdout(), $($arg)*));
    }};
}
macro_rules! outln {
    ($($arg:tt)*) => {{
        $crate::cli::note_stdout(writeln!(std::io::stdout(), $($arg)*));
    }};
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

mod explore;
mod import;
mod map;
mod merge;
mod outputs;
mod replay;
mod report;
mod run;
mod scenarios;
mod shrink;
mod triage;

use explore::ExploreArgs;
use import::ImportArgs;
use map::MapArgs;
use merge::MergeArgs;
use outputs::{emit, incident_output, output, preflight, write_file, write_incident};
use replay::ReplayArgs;
use report::ReportArgs;
use run::RunArgs;
use shrink::ShrinkArgs;
use triage::TriageArgs;

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
    files::remove_temporaries();
    errln!("\naborted");
    std::process::exit(130);
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
fn jobs(given: Option<u16>) -> usize {
    given.map_or_else(crate::explore::default_jobs, usize::from)
}

fn interrupted() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

#[derive(Parser)]
#[command(
    name = "hormesis",
    version = env!("CARGO_PKG_VERSION"),
    about = "Find the fault schedules that tip a tokio service into metastable failure, and replay them",
    long_about = "hormesis runs real tokio services under deterministic network simulation, applies \
timed fault schedules, and judges whether goodput comes back after the trigger ends.\n\n\
Exit codes: 0 no finding, 1 a finding (metastable, or a host failed on its own), 2 bad input.",
    after_help = "Start with:\n  hormesis scenarios\n  hormesis run --scenario retry-storm --fault 'load-spike:at=60s,for=10s,factor=3'"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log what happens inside simulations, stamped with simulated time and
    /// host: a level (`info`, `debug`) or filter directives
    /// (`hormesis=debug,hormesis_sut=trace`). Overrides RUST_LOG; without
    /// either, nothing is logged.
    #[arg(long, global = true, value_name = "LEVEL")]
    log: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// List the scenarios: hosts, knobs, parameters and a trigger that tips each.
    Scenarios {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run a scenario under a fault schedule and judge its recovery.
    Run(RunArgs),
    /// Explore fault schedules with a bandit to find those that tip the system.
    #[command(
        long_about = "Explore the fault space of a scenario with a multi-armed bandit: arms are fault \
templates (load spikes and steps, crashes, latency, loss, partitions, holds, each knob) × cells of \
their parameter space (onset, duration, magnitude), refined where runs disagree. The reward is the \
metastability score. Every run at or over --threshold that is metastable is written as an incident.\n\n\
The result depends only on --seed, --budget, --strategy, --seeds, --shard and --set: never on --jobs.\n\n\
Exit codes: 0 nothing metastable found, 1 found at least one, 2 bad input.",
        after_help = "Example:\n  hormesis explore --scenario retry-storm --budget 60 --seed 1 --json out.json"
    )]
    Explore(ExploreArgs),
    /// Combine the `--json` outputs of `explore --shard i/n` into one summary.
    #[command(
        long_about = "Combine the `--json` outputs of `explore --shard i/n` (one per machine of a CI \
matrix) into one summary: every run of every shard, each arm's best schedule over all shards, and \
the fewest runs any shard needed to its first metastable run. The shards must come from one \
exploration (same scenario, engine, strategy, --seed and n); a missing shard is reported, a \
duplicate or a mismatch is an error.\n\n\
Exit codes: 0 nothing metastable in any shard, 1 found at least one, 2 bad input.",
        after_help = "Example:\n  hormesis merge shard-0.json shard-1.json shard-2.json --json explore.json"
    )]
    Merge(MergeArgs),
    /// Which failures explorations found are new: not yet in a folder of known incidents.
    #[command(
        long_about = "Compare the metastable failures found by explorations (their `--json` files, one \
per shard) with the incidents already kept (e.g. replays/). A failure mode is a scenario and the \
kinds and targets of its schedule's events (`crash host=server`, `knob cache-flush`), without \
onsets or sizes. Prints every mode found, with its smallest schedule (shrunk when the exploration \
ran with --smallest-trigger) and where it is already kept.\n\n\
Exit codes: 0 nothing new, 1 a new failure mode (add its incident to the known folder to accept \
it), 2 bad input.",
        after_help = "Example (the nightly job):\n  hormesis triage out/*/shard-*.json --known replays/"
    )]
    Triage(TriageArgs),
    /// Write a self-contained HTML report of a run, an incident or explorations.
    #[command(
        long_about = "Write one self-contained HTML file (inline SVG, no scripts or external files):\n\
- for a run (`run --json`) or an incident (replayed first): the verdict table and the timeline of \
offered load, attempts, goodput and p99 latency, fault intervals shaded, the control run's goodput \
overlaid;\n\
- for explorations (`explore --json`, one or more of one scenario, e.g. one per strategy): the \
score of every run per arm as a heatmap, and each one's best score so far against runs;\n\
- for a vulnerability map (`map --json`): the fraction of seeds that tip per grid cell as a heatmap.\n\n\
Exit codes: 0 written, 2 bad input.",
        after_help = "Examples:\n  hormesis report run.json -o run.html --svg timeline.svg\n  hormesis report replays/retry-storm/spike.yaml -o spike.html\n  hormesis report thompson.json random.json -o explore.html\n  hormesis report map.json -o map.html"
    )]
    Report(ReportArgs),
    /// Replay incident files and check what each expects: exit 1 on any regression.
    #[command(
        long_about = "Replay incident files (or every *.yaml under a directory) and check each one's \
`expect` (the regression verdict) and its digest (whether behaviour changed at all).\n\n\
Exit codes: 0 every expectation held, 1 a regression (or, with --strict, a changed digest), \
2 bad input (a file that does not parse, an unknown scenario or parameter, an empty directory).",
        after_help = "Examples:\n  hormesis replay replays/\n  hormesis replay replays/ --set retry_budget.ratio=0.5 --junit replays.xml\n  hormesis replay replays/ --rerecord   # after an intended change"
    )]
    Replay(ReplayArgs),
    /// Shrink an incident to the smallest schedule that still tips the system.
    #[command(
        long_about = "Shrink a metastable incident: drop events (delta debugging), bisect each event's \
duration and magnitude, then move onsets as late as the trigger allows, keeping only changes \
after which the run is still metastable on the incident's seed. Prints each step and writes \
the minimal incident, which names the original in `found.shrunk-from`. Deterministic."
    )]
    Shrink(ShrinkArgs),
    /// Turn a production incident's timeline (CSV) into an incident file.
    #[command(
        long_about = "Turn a production incident's timeline into an incident: the offered load follows \
the recorded curve (a `load-profile` fault, relative to the baseline rate) and annotated events \
become fault events. The run is simulated once to fill in what was found.\n\n\
CSV columns (header row required): `time` (seconds, a duration such as `1m30s`, or an RFC 3339 \
timestamp), `offered` (requests/s), and optionally `event`: `node-down[:HOST]` ... \
`node-up[:HOST]`, `deploy[:HOST]` (a restart), an action knob such as `cache-flush`, \
`KNOB=VALUE` for a value knob (held until the next `KNOB=...`), or an inline fault without \
`at`. Several events in one row are separated by `;`. See replays/imported/README.md.",
        after_help = "Example:\n  hormesis import replays/imported/checkout-outage.csv --scenario retry-storm -o outage.yaml"
    )]
    Import(ImportArgs),
    /// Map one fault template: the fraction of seeds that tip over a duration × magnitude grid.
    #[command(
        long_about = "Map one fault template of a scenario (an arm of `explore`, e.g. `load-spike`, \
`crash host=server`, `latency host=server`): run it at a fixed onset over a grid of durations × \
magnitudes spread across the template's ranges, on the same seeds in every cell, and print the \
fraction of seeds that tip in each cell. The overall fraction is the size of the failing region: \
how hard the scenario is for a searcher, and how much headroom the system has. The mean stress of \
each cell (JSON) shows how near it comes where it does not tip.\n\n\
The result depends on --seed, --seeds, --grid, --onset and --set; never on --jobs.\n\n\
Exit codes: 0 mapped, 2 bad input.",
        after_help = "Example:\n  hormesis map --scenario retry-storm --template load-spike --grid 6x6 --seeds 4 --json map.json"
    )]
    Map(MapArgs),
}

/// What every subcommand is given: the scenarios this binary knows, and
/// the name it runs under, for the commands it prints (reproduce, replay,
/// shrink) to name the binary actually running.
pub(crate) struct Env {
    registry: Registry,
    bin: String,
}

impl Env {
    /// The scenario called `name`, or bad input listing the known ones.
    fn find(&self, name: &str) -> Result<&'static dyn Scenario, Failure> {
        self.registry.find(name).map_err(bad_input)
    }
}

/// An error and the exit code it maps to.
pub(crate) struct Failure {
    code: u8,
    message: String,
}

/// Bad input (exit 2): `error` says what and where.
fn bad_input(error: impl Display) -> Failure {
    Failure {
        code: 2,
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
            RunError::Engine(crate::engine::EngineError::Panicked { .. }) => 1,
            _ => 2,
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
    let matches = clap_command(&bin).get_matches_from(&args);
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
    let env = Env { registry, bin };
    if let Err(e) = ctrlc::set_handler(on_signal) {
        errln!("warning: Ctrl-C and SIGTERM will abort without cleaning up: {e}");
    }
    if let Err(message) = crate::log::init(cli.log.as_deref()) {
        errln!("error: {message}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Scenarios { json } => scenarios::command(&env, json),
        Command::Run(args) => run::command(&env, args),
        Command::Explore(args) => explore::command(&env, args),
        Command::Merge(args) => merge::command(args),
        Command::Triage(args) => triage::command(&env, args),
        Command::Report(args) => report::command(&env, args),
        Command::Replay(args) => replay::command(&env, args),
        Command::Shrink(args) => shrink::command(&env, args),
        Command::Import(args) => import::command(&env, args),
        Command::Map(args) => map::command(&env, args),
    };
    let result = result.and_then(|code| {
        note_stdout(std::io::stdout().flush());
        if code == 0 && STDOUT_FAILED.load(Ordering::SeqCst) {
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

/// The clap command, named after the binary running, its examples too.
fn clap_command(bin: &str) -> clap::Command {
    let named = |text: String| text.replace("hormesis ", &format!("{bin} "));
    let mut cmd = Cli::command()
        .name(bin.to_string())
        .bin_name(bin.to_string());
    if bin == "hormesis" {
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

/// The command as typed, for an incident's `found.command`.
fn command_line(env: &Env) -> String {
    std::env::args()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                env.bin.clone()
            } else if a.contains([' ', '\'', '|', ',', '"']) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
