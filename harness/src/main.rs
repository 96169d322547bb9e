//! The `hormesis` command line. Exit codes: 0 success, 1 a finding
//! (metastable, or a host that failed on its own), 2 bad input.
// The madsim flavour answers std's clock reads with simulated time inside a
// simulation, and tokio's Instant is std's there: the wall-clock rules of
// clippy.toml hold in the default build, which lints this same code.
#![cfg_attr(madsim, allow(clippy::disallowed_methods))]

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use hormesis::engine::EngineKind;
use hormesis::incident::{self, Expect, Incident};
use hormesis::replay::{self, ReplayError};
use hormesis::run::{self, RunError, RunPlan, RunReport};
use hormesis::scenario::{ParamKind, ParamValue, Params, Scenario};
use hormesis::shrink;
use hormesis::{files, scenarios, summary};
use hormesis_faults::{KnobKind, Schedule};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

// Text goes to stdout and stderr through these: a closed or full stream (a
// pipe to `head`, /dev/full) loses the text, never the files a command
// writes, and never panics.
macro_rules! out {
    ($($arg:tt)*) => {{
        note_stdout(write!(std::io::stdout(), $($arg)*));
    }};
}
macro_rules! outln {
    ($($arg:tt)*) => {{
        note_stdout(writeln!(std::io::stdout(), $($arg)*));
    }};
}

/// Set when stdout refused text for a reason other than a reader that went
/// away (a full disk): the command then cannot end as a success.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

fn note_stdout(result: std::io::Result<()>) {
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
    given.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    )
}

fn interrupted() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// An output of a command, as `preflight` checks it.
struct Output<'a> {
    flag: &'a str,
    path: Option<&'a Path>,
    /// Incident files are written with their missing folders (`--record
    /// replays/new/x.yaml`); other outputs need an existing folder.
    makes_folders: bool,
}

fn output<'a>(flag: &'a str, path: Option<&'a Path>) -> Output<'a> {
    Output {
        flag,
        path,
        makes_folders: false,
    }
}

fn incident_output<'a>(flag: &'a str, path: Option<&'a Path>) -> Output<'a> {
    Output {
        flag,
        path,
        makes_folders: true,
    }
}

/// Checks every output of a command before any work starts: each can be
/// written (its folder exists, or for incidents can be made, and takes
/// files), none is an input, and no two are the same file.
fn preflight(outputs: &[Output<'_>], inputs: &[&Path]) -> Result<(), Failure> {
    let outputs: Vec<(&str, &Path, bool)> = outputs
        .iter()
        .filter_map(|o| Some((o.flag, o.path?, o.makes_folders)))
        .collect();
    for (i, &(flag, path, makes_folders)) in outputs.iter().enumerate() {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        let checked = match folder {
            Some(folder) if makes_folders && !folder.exists() => files::check_output_dir(folder),
            _ => files::check_output(path, inputs),
        };
        checked.map_err(|m| bad_input(anyhow::anyhow!("{flag} {m}")))?;
        if let Some((other, _, _)) = outputs[..i]
            .iter()
            .find(|(_, o, _)| !files::is_stdout(path) && (*o == path || files::same_file(o, path)))
        {
            return Err(bad_input(anyhow::anyhow!(
                "{flag} {} is also given to {other}: each output needs its own file",
                path.display()
            )));
        }
    }
    Ok(())
}

#[derive(Parser)]
#[command(
    name = "hormesis",
    version,
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
    /// List the built-in scenarios: hosts, knobs, parameters and a trigger that tips each.
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

#[derive(Args)]
struct MapArgs {
    #[arg(long)]
    scenario: String,
    /// The template, as `explore` names arms (`hormesis map --scenario S
    /// --template ?` lists them).
    #[arg(long)]
    template: String,
    /// Durations × magnitudes, e.g. `8x8` (each side 1 to 64).
    #[arg(long, default_value = "8x8", value_parser = parse_grid, value_name = "WxH")]
    grid: (usize, usize),
    /// Seeds per cell (1 to 100), derived from --seed.
    #[arg(long, default_value_t = 4)]
    seeds: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// When the fault starts [default: the warm-up's end].
    #[arg(long, value_parser = hormesis_faults::parse_duration, value_name = "DURATION")]
    onset: Option<std::time::Duration>,
    /// Override a scenario parameter. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Threads [default: the number of cores], 1 to 1024. Does not change the result.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// Write the map as JSON (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The simulator. A build runs one engine: madsim needs the madsim build
    /// (`cargo madsim-build`, then target/madsim/release/hormesis); see docs/engines.md.
    #[arg(long, value_enum, default_value = EngineKind::BUILT.name())]
    engine: EngineKind,
}

fn parse_grid(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{text}`: write the grid as WxH, e.g. 8x8");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    Ok((
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    ))
}

fn map_command(args: MapArgs) -> Result<u8, Failure> {
    use hormesis::map::{self, MapConfig, MapError};
    preflight(&[output("--json", args.json.as_deref())], &[])?;
    let scenario = scenarios::find(&args.scenario).map_err(|m| bad_input(anyhow::anyhow!(m)))?;
    let config = MapConfig {
        scenario,
        overrides: args.set.clone(),
        engine: args.engine,
        template: args.template.clone(),
        grid: args.grid,
        seeds: args.seeds,
        seed: args.seed,
        onset: args.onset,
        jobs: jobs(args.jobs),
    };
    errln!(
        "mapping {} `{}` over a {}x{} grid on {} seeds",
        scenario.name(),
        args.template,
        args.grid.0,
        args.grid.1,
        args.seeds
    );
    let m = map::map(&config).map_err(|e| match e {
        MapError::Run(e) => Failure::from(e),
        MapError::Config(m) => bad_input(anyhow::anyhow!(m)),
    })?;
    let mut out = format!(
        "{} `{}` from {}s: {:.1} % of {} runs tip (fraction of seeds per cell; `.` none)\n",
        m.scenario,
        m.template,
        m.onset_s,
        m.tipping_fraction * 100.0,
        m.cells.iter().map(|c| c.runs).sum::<usize>()
    );
    out += &map::table(&m);
    emit(&out, args.json.as_deref(), &m)?;
    Ok(0)
}

#[derive(Args)]
struct ImportArgs {
    /// The timeline: CSV with `time`, `offered` and optionally `event` columns.
    #[arg(value_name = "TIMELINE.csv")]
    timeline: PathBuf,
    /// The scenario that stands in for the production system.
    #[arg(long)]
    scenario: String,
    /// Where to write the incident (never overwrites an existing file).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// Simulated time of the timeline's first row [default: the scenario's warm-up].
    #[arg(long, value_name = "DURATION", value_parser = hormesis_faults::parse_duration)]
    at: Option<std::time::Duration>,
    /// The production rate that maps to the scenario's own rate [default: the first row's].
    #[arg(long, value_name = "RATE")]
    baseline: Option<f64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Override a scenario parameter. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// What a replay must show (as for `run --record`). Repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    expect: Vec<String>,
}

#[derive(Args)]
struct ReportArgs {
    /// A run's JSON, an incident (YAML), explorations' JSON or a map's JSON.
    #[arg(
        required = true,
        value_name = "RUN.json|INCIDENT.yaml|EXPLORE.json|MAP.json"
    )]
    inputs: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE.html")]
    output: PathBuf,
    /// Also write the timeline plot alone as SVG (runs and incidents), e.g. for a PR.
    #[arg(long, value_name = "FILE.svg")]
    svg: Option<PathBuf>,
}

#[derive(Args)]
struct TriageArgs {
    /// `explore --json` files.
    #[arg(required = true, value_name = "EXPLORE.json")]
    explorations: Vec<PathBuf>,
    /// Incidents already kept (files or folders searched for *.yaml).
    #[arg(long, value_name = "PATH", required = true)]
    known: Vec<PathBuf>,
    /// Write the findings as JSON; `-` for stdout.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct MergeArgs {
    /// The shards' `explore --json` files, in any order.
    #[arg(required = true, value_name = "SHARD.json")]
    shards: Vec<PathBuf>,
    /// Write the merged runs and summary as JSON; `-` for stdout.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct ExploreArgs {
    /// Scenario name (see `hormesis scenarios`).
    #[arg(long)]
    scenario: String,
    /// How many runs (each with a shared control).
    #[arg(long, required_unless_present = "time")]
    budget: Option<usize>,
    /// Stop starting new batches after this much wall time, e.g. `10m`
    /// (with --budget: whichever comes first). The runs made are the first
    /// runs of the same exploration with an unlimited budget.
    #[arg(long, value_parser = hormesis_faults::parse_duration, value_name = "DURATION")]
    time: Option<std::time::Duration>,
    #[arg(long, value_enum, default_value = "thompson")]
    strategy: hormesis::explore::strategy::StrategyKind,
    /// Fixes every choice of the exploration and its run seeds.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Threads [default: the number of cores], 1 to 1024. Does not change the result.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// Where incidents are written.
    #[arg(long, value_name = "DIR", default_value = "target/hormesis/incidents")]
    incidents: PathBuf,
    /// Write every run and the summary as JSON; `-` for stdout.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Override a scenario parameter. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Size of the pool of run seeds (shared out among shards), 1 to 100000;
    /// a seed costs one control run when a run first uses it.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    seeds: u32,
    /// A metastable run with at least this score is written as an incident.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Explore shard i of n (0-based), e.g. `--shard 2/8` in a CI matrix.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, default_value = "0/1")]
    shard: (usize, usize),
    /// The simulator. A build runs one engine: madsim needs the madsim build
    /// (`cargo madsim-build`, then target/madsim/release/hormesis); see docs/engines.md.
    #[arg(long, value_enum, default_value = EngineKind::BUILT.name())]
    engine: EngineKind,
    /// Then shrink the best metastable run of every arm to its smallest
    /// trigger (duration and magnitude bisected on its seed): the arm's
    /// vulnerability boundary at the scenario's load. About 10 runs per arm.
    #[arg(long)]
    smallest_trigger: bool,
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{text}`: expected I/N with 0 ≤ I < N, e.g. 0/4");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

#[derive(Args)]
struct ReplayArgs {
    /// Incident files, or directories searched recursively for *.yaml.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also fail when an incident's digest changed (its behaviour is not identical).
    #[arg(long)]
    strict: bool,
    /// Override a parameter of every incident, e.g. `--set retry_budget.ratio=0.2`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Write a JUnit XML report (one test case per incident) for CI.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// After an intended change of behaviour: rewrite the recorded figures
    /// (digest, score, TTR, version, date) of every incident whose
    /// expectation still holds. Regressions are left as they are.
    #[arg(long, conflicts_with_all = ["set", "strict"])]
    rerecord: bool,
    /// Also replay each incident at a fifth of turmoil's tick and fail one
    /// whose verdict class changes there: a likely simulation artifact.
    #[arg(long, conflicts_with = "rerecord")]
    check_fidelity: bool,
}

#[derive(Args)]
struct ShrinkArgs {
    /// The incident file to shrink.
    #[arg(value_name = "INCIDENT")]
    incident: PathBuf,
    /// Where to write the shrunk incident [default: INCIDENT with `.shrunk.yaml`].
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    /// Scenario name (see `hormesis scenarios`).
    #[arg(long)]
    scenario: String,
    /// A schedule file (YAML, see docs/guide.md).
    #[arg(long, conflicts_with = "fault", value_name = "FILE")]
    schedule: Option<PathBuf>,
    /// A fault event inline: `kind:key=value,...`, e.g.
    /// `load-spike:at=60s,for=10s,factor=3` or
    /// `partition:at=65s,for=5s,between=server|client-1+client-2`. Repeatable.
    #[arg(long, value_name = "SPEC")]
    fault: Vec<String>,
    /// The seed that fixes every random choice of the run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The simulator. A build runs one engine: madsim needs the madsim build
    /// (`cargo madsim-build`, then target/madsim/release/hormesis); see docs/engines.md.
    #[arg(long, value_enum, default_value = EngineKind::BUILT.name())]
    engine: EngineKind,
    /// Override a scenario parameter, e.g. `--set retries=0`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Write the full report (verdict, control, windows) as JSON; `-` for stdout.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Run twice and compare digests; on a difference, name the first window
    /// that differs and exit 1.
    #[arg(long)]
    check_determinism: bool,
    /// Rerun at a fifth of turmoil's tick (the scenario's step) and flag a
    /// verdict that changes as a likely simulation artifact (exit 1).
    #[arg(long)]
    check_fidelity: bool,
    /// Write the run as an incident file (never overwrites an existing file).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// What a replay of the recorded incident must show: `class=stable|slow-recovery|metastable`,
    /// `recovers-within=60s`, `max-score=0.1`. Repeatable. [default: the class seen when
    /// metastable, else recovery within the horizon]
    #[arg(long, value_name = "KEY=VALUE", requires = "record")]
    expect: Vec<String>,
}

/// An error and the exit code it maps to.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

fn bad_input(error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: 2,
        error: error.into(),
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Failure {
        let code = match e {
            RunError::Engine(hormesis::engine::EngineError::Panicked { .. }) => 1,
            _ => 2,
        };
        Failure {
            code,
            error: e.into(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = ctrlc::set_handler(on_signal) {
        errln!("warning: Ctrl-C and SIGTERM will abort without cleaning up: {e}");
    }
    if let Err(message) = hormesis::log::init(cli.log.as_deref()) {
        errln!("error: {message}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Scenarios { json } => list_scenarios(json),
        Command::Run(args) => run_command(args),
        Command::Explore(args) => explore_command(args),
        Command::Merge(args) => merge_command(args),
        Command::Triage(args) => triage_command(args),
        Command::Report(args) => report_command(args),
        Command::Replay(args) => replay_command(args),
        Command::Shrink(args) => shrink_command(args),
        Command::Import(args) => import_command(args),
        Command::Map(args) => map_command(args),
    };
    let result = result.and_then(|code| {
        note_stdout(std::io::stdout().flush());
        if code == 0 && STDOUT_FAILED.load(Ordering::SeqCst) {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!("could not write to standard output (is it full?)"),
            });
        }
        Ok(code)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure { code, error }) => {
            errln!("error: {}", clipped(&format!("{error:#}")));
            ExitCode::from(code)
        }
    }
}

#[derive(Serialize)]
struct ScenarioListing {
    name: &'static str,
    description: &'static str,
    hosts: Vec<String>,
    clients: Vec<String>,
    knobs: Vec<KnobListing>,
    params: Vec<ParamListing>,
    /// The values of the `mitigation` parameter (`none` first), if it has one.
    mitigations: Vec<&'static str>,
    trigger: Vec<String>,
    /// turmoil's step at the default parameters, milliseconds: the finest
    /// time scale a turmoil run resolves (`run --check-fidelity` reruns at
    /// a fifth of it).
    tick_ms: f64,
    /// The engines it runs on, and why not on the others.
    engines: Vec<&'static str>,
    unsupported: Vec<EngineSupport>,
}

#[derive(Serialize)]
struct EngineSupport {
    engine: &'static str,
    why: &'static str,
}

#[derive(Serialize)]
struct KnobListing {
    name: String,
    kind: &'static str,
    default: Option<f64>,
    range: Option<[f64; 2]>,
    help: String,
}

#[derive(Serialize)]
struct ParamListing {
    name: &'static str,
    default: ParamValue,
    range: String,
    help: &'static str,
}

fn listing(s: &dyn Scenario) -> Result<ScenarioListing, Failure> {
    let params = Params::resolve(&s.params(), &[] as &[&str]).map_err(bad_input)?;
    let system = s.build(&params).map_err(bad_input)?;
    let layout = system.layout();
    Ok(ScenarioListing {
        name: s.name(),
        description: s.description(),
        hosts: layout.hosts.clone(),
        clients: layout.clients.clone(),
        tick_ms: layout.tick.as_secs_f64() * 1000.0,
        knobs: s
            .knobs()
            .into_iter()
            .map(|k| {
                let (kind, default, range) = match k.kind {
                    KnobKind::Action => ("action", None, None),
                    KnobKind::Value { min, max, default } => {
                        ("value", Some(default), Some([min, max]))
                    }
                };
                KnobListing {
                    name: k.name,
                    kind,
                    default,
                    range,
                    help: k.help,
                }
            })
            .collect(),
        params: s
            .params()
            .into_iter()
            .map(|p| ParamListing {
                name: p.name,
                range: p.range(),
                default: p.default.clone(),
                help: p.help,
            })
            .collect(),
        mitigations: s
            .params()
            .into_iter()
            .find(|p| p.name == "mitigation")
            .and_then(|p| match p.kind {
                ParamKind::Choice { options } => Some(options.to_vec()),
                _ => None,
            })
            .unwrap_or_default(),
        trigger: s.trigger(),
        engines: ENGINES
            .into_iter()
            .filter(|e| s.unsupported_on(*e).is_none())
            .map(EngineKind::name)
            .collect(),
        unsupported: ENGINES
            .into_iter()
            .filter_map(|e| {
                s.unsupported_on(e).map(|why| EngineSupport {
                    engine: e.name(),
                    why,
                })
            })
            .collect(),
    })
}

const ENGINES: [EngineKind; 2] = [EngineKind::Turmoil, EngineKind::Madsim];

fn list_scenarios(json: bool) -> Result<u8, Failure> {
    let all = scenarios::builtin()
        .into_iter()
        .map(listing)
        .collect::<Result<Vec<_>, _>>()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&all).map_err(bad_input)?);
        return Ok(0);
    }
    for s in all {
        outln!("{}\n  {}", s.name, s.description);
        outln!(
            "  hosts:   {}   clients: {}",
            s.hosts.join(", "),
            s.clients.join(", ")
        );
        let knobs: Vec<String> = s
            .knobs
            .iter()
            .map(|k| format!("{} ({})", k.name, k.kind))
            .collect();
        outln!("  knobs:   {}", knobs.join(", "));
        if !s.mitigations.is_empty() {
            outln!("  mitigations: {}", s.mitigations.join(", "));
        }
        outln!(
            "  engines: {}   turmoil tick: {}ms",
            s.engines.join(", "),
            s.tick_ms
        );
        for u in &s.unsupported {
            outln!("    not on {}: {}", u.engine, u.why);
        }
        outln!(
            "  trigger: {}",
            s.trigger
                .iter()
                .map(|t| format!("--fault '{t}'"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        outln!("  params:");
        let name_width = s.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        let range_width = s.params.iter().map(|p| p.range.len()).max().unwrap_or(0);
        for p in &s.params {
            outln!(
                "    {:<name_width$} {:>8}  {:<range_width$}  {}",
                p.name,
                p.default.to_string(),
                p.range,
                p.help
            );
        }
        outln!();
    }
    Ok(0)
}

/// The `--expect` options, parsed before anything runs; `None` when none
/// were given (the recorded run's own outcome is then expected).
fn expectation(specs: &[String]) -> Result<Option<Expect>, Failure> {
    let mut expect = Expect::default();
    for e in specs {
        expect.set(e).map_err(|m| bad_input(anyhow::anyhow!(m)))?;
    }
    Ok((!expect.is_empty()).then_some(expect))
}

fn run_command(args: RunArgs) -> Result<u8, Failure> {
    let expect = expectation(&args.expect)?;
    if let Some(path) = args.record.as_ref().filter(|p| p.exists()) {
        return Err(bad_input(anyhow::anyhow!(
            "--record {}: the file already exists and is kept as it is; remove it or choose another name",
            path.display()
        )));
    }
    let inputs: Vec<&Path> = args.schedule.iter().map(|p| p.as_path()).collect();
    preflight(
        &[
            output("--json", args.json.as_deref()),
            incident_output("--record", args.record.as_deref()),
        ],
        &inputs,
    )?;
    let scenario = scenarios::find(&args.scenario).map_err(|m| bad_input(anyhow::anyhow!(m)))?;
    let (schedule, origin, source) = match &args.schedule {
        Some(path) => {
            let text = files::read_text(path)
                .with_context(|| format!("cannot read schedule file {}", path.display()))
                .map_err(bad_input)?;
            let origin = path.display().to_string();
            let schedule = Schedule::from_yaml(&text, &origin).map_err(bad_input)?;
            (schedule, origin, Some(text))
        }
        None => (
            Schedule::from_specs(&args.fault).map_err(bad_input)?,
            "--fault".to_string(),
            None,
        ),
    };
    let plan = RunPlan::new(
        scenario,
        &args.set,
        schedule,
        &origin,
        source.as_deref(),
        args.seed,
        args.engine,
    )?;
    errln!(
        "running {} with seed {} on {} ({})",
        scenario.name(),
        args.seed,
        args.engine.name(),
        if plan.schedule.is_empty() {
            "no faults"
        } else {
            "faulted run and its control"
        }
    );
    let report = run::run(&plan)?;
    // With `--json -` stdout carries the JSON alone; the summary goes to stderr.
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let say = |text: &str| {
        if json_to_stdout {
            err!("{text}");
        } else {
            out!("{text}");
        }
    };
    say(&summary::render(&report));
    let mut code = u8::from(report.is_finding());
    if args.check_determinism {
        errln!("checking determinism: running the same plan again");
        let again = run::run(&plan)?;
        let check = run::compare(&report, &again);
        if check.deterministic {
            say("  determinism: same digest on a second run\n");
        } else {
            say(&format!(
                "  determinism: NOT deterministic: the {} differs first at window {} (t = {}s); seed {}\n",
                check.which.unwrap_or("run"),
                check.first_different_window.map_or("?".into(), |w| w.to_string()),
                check.first_different_window.map_or("?".into(), |w| format!("{}", w as f64 * report.window_s)),
                args.seed
            ));
            code = 1;
        }
        match run::engine_determinism(&plan)? {
            None => {}
            Some(Ok(())) => say(&format!(
                "  determinism: {}'s check: the same random draws, in the same order\n",
                plan.engine.name()
            )),
            Some(Err(why)) => {
                say(&format!(
                    "  determinism: NOT deterministic by {}'s check (seed {}): {why}\n",
                    plan.engine.name(),
                    args.seed
                ));
                code = 1;
            }
        }
    }
    if args.check_fidelity {
        code = code.max(check_fidelity(&plan, &report, &say)?);
    }
    if report.is_finding() {
        let mut replay = format!(
            "hormesis run --scenario {} --seed {}",
            report.scenario, report.seed
        );
        if report.engine != EngineKind::Turmoil {
            replay += &format!(" --engine {}", report.engine.name());
        }
        for spec in &report.schedule {
            replay += &format!(" --fault '{spec}'");
        }
        for s in &args.set {
            replay += &format!(" --set {s}");
        }
        say(&format!("  reproduce: {replay}\n"));
    }
    if let Some(path) = &args.json {
        write_json(path, &report).map_err(bad_input)?;
    }
    if let Some(path) = &args.record {
        let expect = expect.unwrap_or_else(|| Expect::observed(&report.verdict));
        let incident = Incident::from_report(&report, command_line(), incident::today(), expect);
        write_incident(path, &incident)?;
        say(&format!(
            "  recorded {} to {} (expects {})\n",
            incident.id,
            path.display(),
            incident.expect.describe()
        ));
    }
    Ok(code)
}

/// Reruns `plan` at a fifth of the scenario's turmoil tick; a verdict
/// class that changes is most likely an artifact of the coarse step (1).
fn check_fidelity(
    plan: &RunPlan<'_>,
    report: &RunReport,
    say: &dyn Fn(&str),
) -> Result<u8, Failure> {
    if plan.engine != EngineKind::Turmoil {
        say(&format!(
            "  fidelity: {} has no tick to refine; nothing to check\n",
            plan.engine.name()
        ));
        return Ok(0);
    }
    let finer = plan.finer(5)?;
    let tick = finer.tick.unwrap_or_default();
    errln!(
        "checking fidelity: running the same plan at a {} tick",
        hormesis_faults::format_duration(tick)
    );
    let again = run::run(&finer)?;
    let (was, now) = (report.verdict.class, again.verdict.class);
    let ttr = |r: &RunReport| {
        r.verdict
            .ttr_s
            .map_or("never".to_string(), |t| format!("TTR {t}s"))
    };
    if was == now {
        say(&format!(
            "  fidelity: the same verdict at a {} tick ({}, {})\n",
            hormesis_faults::format_duration(tick),
            now.name(),
            ttr(&again)
        ));
        Ok(0)
    } else {
        say(&format!(
            "  FIDELITY: the verdict changes at a {} tick: {} ({}) becomes {} ({}); likely an artifact of the scenario's coarser step, not of the system\n",
            hormesis_faults::format_duration(tick),
            was.name(),
            ttr(report),
            now.name(),
            ttr(&again)
        ));
        Ok(1)
    }
}

/// The command as typed, for an incident's `found.command`.
fn command_line() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                "hormesis".to_string()
            } else if a.contains([' ', '\'', '|', ',', '"']) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn write_incident(path: &Path, incident: &Incident) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {}", dir.display()))
            .map_err(bad_input)?;
    }
    files::write_new(path, incident.to_yaml().as_bytes()).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            ": remove it or choose another name"
        } else {
            ""
        };
        bad_input(anyhow::anyhow!(
            "cannot write {}: {e}{hint}",
            path.display()
        ))
    })
}

fn incident_failure(e: impl Into<anyhow::Error>) -> Failure {
    bad_input(e)
}

fn explore_command(args: ExploreArgs) -> Result<u8, Failure> {
    use hormesis::explore::{self, ExploreConfig, ExploreError};
    let scenario = scenarios::find(&args.scenario).map_err(|m| bad_input(anyhow::anyhow!(m)))?;
    if args.budget == Some(0) {
        return Err(bad_input(anyhow::anyhow!("--budget must be at least 1")));
    }
    let budget = args.budget.unwrap_or(usize::MAX);
    let budget_text = args.budget.map_or("?".to_string(), |b| b.to_string());
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(bad_input(anyhow::anyhow!(
            "--threshold is a score in [0, 1]"
        )));
    }
    let jobs = jobs(args.jobs);
    // The incidents folder is made now, not at the first finding, so an
    // unusable one (a file in the way, no permission) fails before any run,
    // and outputs beside or inside it (`--json out/e.json --incidents
    // out/incidents`) have their folder.
    files::check_output_dir(&args.incidents)
        .and_then(|()| {
            std::fs::create_dir_all(&args.incidents)
                .map_err(|e| format!("{}: cannot create: {e}", args.incidents.display()))
        })
        .map_err(|m| bad_input(anyhow::anyhow!("--incidents {m}")))?;
    preflight(&[output("--json", args.json.as_deref())], &[])?;
    let config = ExploreConfig {
        scenario,
        overrides: args.set.clone(),
        engine: args.engine,
        strategy: args.strategy,
        seed: args.seed,
        budget,
        jobs,
        seeds: args.seeds as usize,
        shard: args.shard,
    };
    errln!(
        "exploring {} with {} for {} runs{} (seed {}, shard {}/{}, {} jobs)",
        scenario.name(),
        args.strategy.name(),
        budget_text,
        args.time.map_or(String::new(), |t| format!(
            " or {}",
            humantime::format_duration(t)
        )),
        args.seed,
        args.shard.0,
        args.shard.1,
        jobs
    );
    let command = command_line();
    let mut written = 0usize;
    let mut write_error: Option<Failure> = None;
    let mut best = 0.0f64;
    let progress = ExploreProgress::new(args.budget);
    let mut on_run = |record: &explore::RunRecord, report: Option<&RunReport>| {
        best = best.max(record.score);
        let finding = record.class == Some(hormesis::verdict::Class::Metastable)
            && record.score >= args.threshold;
        if let (true, None, Some(report)) = (finding, &write_error, report) {
            let incident = Incident::from_report(
                report,
                command.clone(),
                incident::today(),
                Expect::observed(&report.verdict),
            );
            let path = args.incidents.join(format!("{}.yaml", incident.id));
            // The id is a hash of the inputs: an existing file is this finding.
            if !path.exists() {
                match write_incident(&path, &incident) {
                    Ok(()) => written += 1,
                    Err(e) => write_error = Some(e),
                }
            }
        }
        progress.run(
            format!(
                "  [{:>4}/{}] {:<13} {:.2}  stress {:.2}  best {:.2}  incidents {}  {}",
                record.index + 1,
                budget_text,
                record.class.map_or("ERROR", |c| c.name()),
                record.score,
                record.stress,
                best,
                written,
                record.schedule.join(" ")
            ),
            best,
            written,
        );
    };
    // A first signal (Ctrl-C, SIGTERM) ends the exploration after the batch
    // in flight, which keeps every run made and writes the JSON; a second
    // aborts (exit 130) without writing anything more.
    STOPS_CLEANLY.store(true, Ordering::SeqCst);
    // Wall time only decides when to stop starting batches; it never enters a run.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let stop = || interrupted() || args.time.is_some_and(|t| started.elapsed() >= t);
    let exploration = explore::explore_until(&config, &mut on_run, &stop).map_err(|e| match e {
        ExploreError::Run(e) => Failure::from(e),
        ExploreError::Config(m) => bad_input(anyhow::anyhow!(m)),
    });
    progress.finish();
    let mut exploration = exploration?;
    if args.smallest_trigger && !interrupted() {
        let arms = exploration.summary.distinct_metastable_arms;
        errln!("shrinking the best metastable run of {arms} arms to its smallest trigger");
        exploration.smallest_triggers =
            explore::boundary::smallest_triggers(&config, &exploration.runs);
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    let summary = &exploration.summary;
    for r in exploration.runs.iter().filter(|r| r.error.is_some()) {
        errln!(
            "warning: run {} could not be simulated (seed {}, {}): {}",
            r.index + 1,
            r.seed,
            r.schedule.join(" "),
            r.error.as_deref().unwrap_or_default()
        );
    }
    let mut out = String::new();
    out += &format!(
        "{} runs{}: {} metastable, {} distinct metastable arms, first after {}, best score {:.2}; {} new incidents in {}\n",
        summary.runs,
        match (exploration.stopped_early, interrupted()) {
            (true, true) => " (stopped by a signal)",
            (true, false) => " (stopped by --time)",
            _ => "",
        },
        summary.metastable_runs,
        summary.distinct_metastable_arms,
        summary
            .runs_to_first_metastable
            .map_or("never".to_string(), |n| format!("{n} runs")),
        summary.best_score,
        written,
        args.incidents.display()
    );
    out += &arm_table(summary);
    if !exploration.smallest_triggers.is_empty() {
        out += "smallest trigger per metastable arm (shrunk on the seed of its best run):\n";
        let width = exploration
            .smallest_triggers
            .iter()
            .map(|t| t.arm.len())
            .max()
            .unwrap_or(3);
        for t in &exploration.smallest_triggers {
            out += &format!(
                "  {:<width$}  {}\n",
                t.arm,
                match (&t.smallest, &t.error) {
                    (Some(s), _) => format!("{}  ({} runs)", s.join(" "), t.runs),
                    (None, Some(e)) => format!("could not shrink: {e}"),
                    (None, None) => "could not shrink".to_string(),
                }
            );
        }
    }
    emit(&out, args.json.as_deref(), &exploration)?;
    // Stopped by a signal: a finding still exits 1, but nothing else may
    // look like a clean pass to CI.
    Ok(match (summary.metastable_runs > 0, interrupted()) {
        (true, _) => 1,
        (false, true) => 130,
        (false, false) => 0,
    })
}

fn replay_command(args: ReplayArgs) -> Result<u8, Failure> {
    let paths = replay::collect(&args.paths).map_err(|m| bad_input(anyhow::anyhow!(m)))?;
    let inputs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    preflight(&[output("--junit", args.junit.as_deref())], &inputs)?;
    // Read every file before running any, so bad input fails fast and whole.
    let mut incidents = Vec::new();
    let mut errors = Vec::new();
    let mut used = vec![false; args.set.len()];
    for path in &paths {
        let loaded = Incident::load(path).and_then(|i| {
            let overrides = replay::applicable(&i, &args.set)?;
            for (u, o) in used.iter_mut().zip(&args.set) {
                *u |= overrides.contains(o);
            }
            i.plan(&overrides).map(|_| (i, overrides))
        });
        match loaded {
            Ok((i, overrides)) => incidents.push((path.clone(), i, overrides)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        if let Some((o, _)) = args.set.iter().zip(&used).find(|(_, u)| !**u) {
            return Err(bad_input(anyhow::anyhow!(
                "--set {o}: no incident's scenario has this parameter (see `hormesis scenarios`)"
            )));
        }
    }
    if !errors.is_empty() {
        return Err(bad_input(anyhow::anyhow!(
            "{} of {} incident files cannot be replayed:\n  {}",
            errors.len(),
            paths.len(),
            errors.join("\n  ")
        )));
    }
    errln!("replaying {} incidents", incidents.len());
    let id_width = incidents
        .iter()
        .map(|(_, i, _)| i.id.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let exp_width = incidents
        .iter()
        .map(|(_, i, _)| i.expect.describe().chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    outln!(
        "{:<id_width$}  {:<exp_width$}  {:<22}  {:<7}  {:>6}  result",
        "incident",
        "expected",
        "got",
        "digest",
        "time"
    );
    let mut cases = Vec::new();
    let mut regressions = 0;
    for (path, incident, overrides) in &incidents {
        #[allow(clippy::disallowed_methods)] // reports wall time; never read by a simulation
        let started = std::time::Instant::now();
        let outcome = replay::replay(incident, overrides);
        let elapsed = started.elapsed();
        let outcome = match outcome {
            Ok(o) => o,
            Err(ReplayError::Incident(e)) => return Err(incident_failure(e)),
            Err(e @ ReplayError::Run { .. }) => {
                return Err(Failure {
                    code: 1,
                    error: e.into(),
                })
            }
        };
        // A verdict that changes at a finer tick is an artifact of the
        // step, not a property of the system: it fails like a regression.
        let artifact = if args.check_fidelity && incident.engine == EngineKind::Turmoil {
            let finer = incident
                .plan(overrides)
                .map_err(incident_failure)?
                .finer(5)?;
            let fine = run::run(&finer)?;
            let (was, now) = (outcome.report.verdict.class, fine.verdict.class);
            (was != now).then(|| {
                format!(
                    "FIDELITY: {} at the scenario's tick, {} at {}: likely a simulation artifact",
                    was.name(),
                    now.name(),
                    hormesis_faults::format_duration(finer.tick.unwrap_or_default())
                )
            })
        } else {
            None
        };
        let passed = outcome.passed(args.strict) && artifact.is_none();
        regressions += usize::from(!passed);
        let rerecord = args.rerecord && passed && !outcome.digest_same;
        if rerecord {
            let updated = incident.rerecorded(&outcome.report, hormesis::incident::today());
            files::write_atomically(path, updated.to_yaml().as_bytes())
                .with_context(|| format!("cannot rewrite {}", path.display()))
                .map_err(bad_input)?;
        }
        let result = match (&outcome.regression, outcome.digest_same) {
            (Some(why), _) => format!("REGRESSION: {why}"),
            (None, _) if artifact.is_some() => artifact.clone().unwrap_or_default(),
            (None, false) if args.strict => "CHANGED (--strict)".to_string(),
            (None, false) if rerecord => "ok (re-recorded)".to_string(),
            (None, _) => "ok".to_string(),
        };
        outln!(
            "{:<id_width$}  {:<exp_width$}  {:<22}  {:<7}  {:>5.1}s  {result}",
            outcome.id,
            outcome.expected,
            outcome.got,
            if outcome.digest_same {
                "same"
            } else {
                "changed"
            },
            elapsed.as_secs_f64(),
        );
        if !passed {
            outln!(
                "  seed {}; file {}; reproduce: hormesis replay {}{}",
                incident.seed,
                path.display(),
                path.display(),
                if artifact.is_some() {
                    " --check-fidelity"
                } else {
                    ""
                }
            );
        }
        cases.push(JunitCase {
            name: outcome.id.clone(),
            file: path.display().to_string(),
            seconds: elapsed.as_secs_f64(),
            failure: (!passed).then(|| result.clone()),
            detail: format!(
                "expected: {}\ngot: {}\ndigest: {} (recorded {})\nseed: {}",
                outcome.expected,
                outcome.got,
                outcome.report.digest,
                incident.found.digest,
                incident.seed
            ),
        });
    }
    outln!(
        "{} incidents, {} passed, {} {}",
        incidents.len(),
        incidents.len() - regressions,
        regressions,
        if args.strict {
            "failed (strict)"
        } else {
            "regressed"
        }
    );
    if let Some(path) = &args.junit {
        let xml = junit_xml(&cases).map_err(bad_input)?;
        files::write_atomically(path, xml.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(bad_input)?;
    }
    Ok(u8::from(regressions > 0))
}

struct JunitCase {
    name: String,
    file: String,
    seconds: f64,
    failure: Option<String>,
    detail: String,
}

fn junit_xml(cases: &[JunitCase]) -> Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("hormesis replay");
    for case in cases {
        let status = match &case.failure {
            None => TestCaseStatus::success(),
            Some(why) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(why.as_str());
                s.set_description(case.detail.as_str());
                s
            }
        };
        let mut tc = TestCase::new(case.name.as_str(), status);
        tc.set_classname(case.file.as_str());
        tc.set_time(std::time::Duration::from_secs_f64(case.seconds));
        suite.add_test_case(tc);
    }
    let mut report = Report::new("hormesis");
    report.add_test_suite(suite);
    Ok(report.to_string()?)
}

fn import_command(args: ImportArgs) -> Result<u8, Failure> {
    let expect = expectation(&args.expect)?;
    preflight(
        &[incident_output("-o", Some(&args.output))],
        &[&args.timeline],
    )?;
    if args.output.exists() {
        return Err(bad_input(anyhow::anyhow!(
            "{} already exists and is kept as it is; remove it or choose another name",
            args.output.display()
        )));
    }
    let scenario = scenarios::find(&args.scenario).map_err(|m| bad_input(anyhow::anyhow!(m)))?;
    let params = Params::resolve(&scenario.params(), &args.set).map_err(bad_input)?;
    let layout = scenario.build(&params).map_err(bad_input)?.layout().clone();
    let origin = args.timeline.display().to_string();
    let text = files::read_text(&args.timeline)
        .with_context(|| format!("cannot read {origin}"))
        .map_err(bad_input)?;
    let placement = hormesis::import::Placement {
        at: args.at.unwrap_or(layout.warmup),
        baseline: args.baseline,
    };
    let (schedule, event_lines) = hormesis::import::import_timeline_located(
        &text,
        &origin,
        scenario,
        &layout.hosts,
        &placement,
    )
    .map_err(bad_input)?;
    let plan = RunPlan::new(
        scenario,
        &args.set,
        schedule,
        &origin,
        None,
        args.seed,
        EngineKind::Turmoil,
    )
    .map_err(|e| match e {
        // Name the CSV row the offending event came from.
        RunError::Schedule(hormesis_faults::ScheduleError::Event {
            origin,
            line: None,
            index,
            kind,
            message,
        }) => RunError::Schedule(hormesis_faults::ScheduleError::Event {
            origin,
            line: event_lines.get(index).map(|&l| l as usize),
            index,
            kind,
            message,
        }),
        other => other,
    })?;
    errln!(
        "imported {} events from {origin}; running {} with seed {}",
        plan.schedule.events.len(),
        scenario.name(),
        args.seed
    );
    let report = run::run(&plan)?;
    out!("{}", summary::render(&report));
    let expect = expect.unwrap_or_else(|| Expect::observed(&report.verdict));
    let incident = Incident::from_report(&report, command_line(), incident::today(), expect);
    write_incident(&args.output, &incident)?;
    outln!(
        "  wrote {} to {} (expects {})",
        incident.id,
        args.output.display(),
        incident.expect.describe()
    );
    Ok(u8::from(report.is_finding()))
}

fn shrink_command(args: ShrinkArgs) -> Result<u8, Failure> {
    let original = Incident::load(&args.incident).map_err(incident_failure)?;
    let output = args.output.clone().unwrap_or_else(|| {
        let stem = args
            .incident
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "incident".into());
        args.incident.with_file_name(format!("{stem}.shrunk.yaml"))
    });
    preflight(&[incident_output("-o", Some(&output))], &[&args.incident])?;
    if output.exists() {
        return Err(bad_input(anyhow::anyhow!(
            "{} already exists and is not overwritten; remove it or pass -o FILE",
            output.display()
        )));
    }
    let command = format!("hormesis shrink {}", args.incident.display());
    let shrunk = shrink::shrink(&original, command, incident::today(), &mut |line| {
        errln!("{line}")
    })
    .map_err(|e| match e {
        shrink::ShrinkError::Incident(e) => incident_failure(e),
        other => bad_input(other),
    })?;
    let i = &shrunk.incident;
    outln!(
        "shrunk {} ({} events) to {} ({} events) in {} runs:",
        original.id,
        original.schedule.events.len(),
        i.id,
        i.schedule.events.len(),
        shrunk.runs
    );
    for e in &i.schedule.events {
        outln!("  {}", e.to_spec());
    }
    outln!("  score {:.2}; wrote {}", i.found.score, output.display());
    write_incident(&output, i)?;
    Ok(0)
}

fn write_json(path: &Path, report: &RunReport) -> Result<()> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    files::write_atomically(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// What `explore` shows while it runs: a progress bar on a terminal (runs,
/// best score, incidents), else one line per run.
struct ExploreProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl ExploreProgress {
    fn new(budget: Option<usize>) -> Self {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return ExploreProgress { bar: None };
        }
        let bar = match budget {
            Some(b) => indicatif::ProgressBar::new(b as u64),
            None => indicatif::ProgressBar::no_length(),
        };
        let template = if budget.is_some() {
            "{bar:30} {pos}/{len} runs  {msg}  [{elapsed_precise}, {eta} left]"
        } else {
            "{pos} runs  {msg}  [{elapsed_precise}]"
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message("best 0.00  incidents 0");
        ExploreProgress { bar: Some(bar) }
    }

    fn run(&self, line: String, best: f64, incidents: usize) {
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.set_message(format!("best {best:.2}  incidents {incidents}"));
                bar.inc(1);
            }
            None => errln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The end-of-run table of `explore` and `merge`: every arm, best first.
fn arm_table(summary: &hormesis::explore::Summary) -> String {
    let width = summary
        .arms
        .iter()
        .map(|a| a.arm.len())
        .max()
        .unwrap_or(3)
        .max(3);
    let mut out = format!(
        "  {:<width$}  runs  meta  best  stress  best schedule (seed)\n",
        "arm"
    );
    for a in &summary.arms {
        out += &format!(
            "  {:<width$}  {:>4}  {:>4}  {:.2}  {:>6.2}  {} ({})\n",
            a.arm,
            a.runs,
            a.metastable_runs,
            a.best_score,
            a.best_stress,
            a.best_schedule.join(" "),
            a.best_seed
        );
    }
    out
}

fn merge_command(args: MergeArgs) -> Result<u8, Failure> {
    use hormesis::explore::merge;
    let inputs: Vec<&Path> = args.shards.iter().map(|p| p.as_path()).collect();
    preflight(&[output("--json", args.json.as_deref())], &inputs)?;
    let mut shards = Vec::new();
    for path in &args.shards {
        shards.push((path.clone(), merge::load(path).map_err(bad_input)?));
    }
    let merged = merge::merge(shards).map_err(bad_input)?;
    let summary = &merged.summary;
    let mut out = format!(
        "merged {} of {} shards of {} ({}, seed {}){}\n{} runs: {} metastable, {} distinct metastable arms, first after {} (fastest shard), best score {:.2}\n",
        merged.runs_per_shard.len(),
        merged.shards,
        merged.scenario,
        merged.strategy.name(),
        merged.seed,
        if merged.missing.is_empty() {
            String::new()
        } else {
            format!("; missing {}", merged.missing.join(", "))
        },
        summary.runs,
        summary.metastable_runs,
        summary.distinct_metastable_arms,
        summary
            .runs_to_first_metastable
            .map_or("never".to_string(), |n| format!("{n} runs")),
        summary.best_score,
    );
    out += &arm_table(summary);
    if !merged.missing.is_empty() {
        errln!(
            "warning: shards {} are missing; the summary covers only the shards given",
            merged.missing.join(", ")
        );
    }
    emit(&out, args.json.as_deref(), &merged)?;
    Ok(u8::from(summary.metastable_runs > 0))
}

fn triage_command(args: TriageArgs) -> Result<u8, Failure> {
    use hormesis::explore::merge;
    let inputs: Vec<&Path> = args.explorations.iter().map(|p| p.as_path()).collect();
    preflight(&[output("--json", args.json.as_deref())], &inputs)?;
    let mut explorations = Vec::new();
    for path in &args.explorations {
        explorations.push(merge::load(path).map_err(bad_input)?);
    }
    let paths = replay::collect(&args.known).map_err(|m| bad_input(anyhow::anyhow!(m)))?;
    let mut known = Vec::new();
    for path in paths {
        let incident = Incident::load(&path).map_err(bad_input)?;
        known.push((path, incident));
    }
    let findings = hormesis::triage::triage(&explorations, &known);
    let new = findings.iter().filter(|f| f.known_in.is_none()).count();
    let mut out = format!(
        "{} failure modes found, {} new (known incidents: {})\n",
        findings.len(),
        new,
        known.len()
    );
    for f in &findings {
        out += &format!(
            "  {:<4} {:<18} {:<32} {}  (seed {}, score {:.2}){}\n",
            if f.known_in.is_some() { "ok" } else { "NEW" },
            f.scenario,
            f.signature,
            f.schedule.join(" "),
            f.seed,
            f.score,
            f.known_in
                .as_ref()
                .map_or(String::new(), |p| format!("  kept in {}", p.display()))
        );
    }
    for f in findings.iter().filter(|f| f.known_in.is_none()) {
        let faults: Vec<String> = f
            .schedule
            .iter()
            .map(|s| format!("--fault '{s}'"))
            .collect();
        let sets: String = f.set.iter().map(|s| format!(" --set '{s}'")).collect();
        out += &format!(
            "keep {} {}: hormesis run --scenario {} --seed {}{sets} {} --record replays/{}/NAME.yaml\n",
            f.scenario,
            f.signature,
            f.scenario,
            f.seed,
            faults.join(" "),
            f.scenario
        );
    }
    emit(&out, args.json.as_deref(), &findings)?;
    Ok(u8::from(new > 0))
}

fn report_command(args: ReportArgs) -> Result<u8, Failure> {
    use hormesis::report::{self, ExploreView, RunView};
    let inputs: Vec<&Path> = args.inputs.iter().map(|p| p.as_path()).collect();
    preflight(
        &[
            output("-o", Some(&args.output)),
            output("--svg", args.svg.as_deref()),
        ],
        &inputs,
    )?;
    let mut runs: Vec<RunView> = Vec::new();
    let mut explorations: Vec<ExploreView> = Vec::new();
    let mut maps: Vec<report::MapView> = Vec::new();
    for path in &args.inputs {
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        let value: serde_json::Value = if is_yaml {
            let incident = Incident::load(path).map_err(bad_input)?;
            let plan = incident.plan(&[] as &[&str]).map_err(bad_input)?;
            errln!("replaying {} to draw it", path.display());
            serde_json::to_value(run::run(&plan)?).map_err(bad_input)?
        } else {
            let text = files::read_text(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map_err(bad_input)?;
            serde_json::from_str(&text)
                .with_context(|| format!("{}: not JSON", path.display()))
                .map_err(bad_input)?
        };
        let what = |e: serde_json::Error| {
            bad_input(anyhow::anyhow!(
                "{}: not a `run --json` or `explore --json` output: {e}",
                path.display()
            ))
        };
        if value.get("windows").is_some() {
            runs.push(serde_json::from_value(value).map_err(what)?);
        } else if value.get("template").is_some() && value.get("cells").is_some() {
            maps.push(serde_json::from_value(value).map_err(what)?);
        } else if value.get("runs").is_some() && value.get("summary").is_some() {
            explorations.push(serde_json::from_value(value).map_err(what)?);
        } else {
            return Err(bad_input(anyhow::anyhow!(
                "{}: not a run (`run --json`), an incident (.yaml), an exploration (`explore --json`) or a map (`map --json`)",
                path.display()
            )));
        }
    }
    let html = match (runs.as_slice(), explorations.as_slice(), maps.as_slice()) {
        ([], [], [map]) => {
            if let Some(svg) = &args.svg {
                let plot = report::map_svg(map).map_err(bad_input)?;
                files::write_atomically(svg, plot.as_bytes())
                    .with_context(|| format!("cannot write {}", svg.display()))
                    .map_err(bad_input)?;
            }
            report::map_html(map).map_err(bad_input)?
        }
        ([run], [], []) => {
            if let Some(svg) = &args.svg {
                let plot = report::timeline_svg(run).map_err(bad_input)?;
                files::write_atomically(svg, plot.as_bytes())
                    .with_context(|| format!("cannot write {}", svg.display()))
                    .map_err(bad_input)?;
            }
            report::run_html(run).map_err(bad_input)?
        }
        ([], [first, ..], []) => {
            if args.svg.is_some() {
                return Err(bad_input(anyhow::anyhow!(
                    "--svg writes a run's timeline; explorations have none"
                )));
            }
            if let Some(other) = explorations.iter().find(|e| e.scenario != first.scenario) {
                return Err(bad_input(anyhow::anyhow!(
                    "explorations of different scenarios ({} and {}) cannot share a report",
                    first.scenario,
                    other.scenario
                )));
            }
            report::explore_html(&explorations).map_err(bad_input)?
        }
        _ => {
            return Err(bad_input(anyhow::anyhow!(
                "give one run or incident, one map, or one or more explorations of one scenario"
            )))
        }
    };
    files::write_atomically(&args.output, html.as_bytes())
        .with_context(|| format!("cannot write {}", args.output.display()))
        .map_err(bad_input)?;
    errln!("wrote {}", args.output.display());
    Ok(0)
}

/// Prints the human-readable `out` and writes `value` as JSON to `json`:
/// with `--json -` the JSON goes to stdout and the text to stderr, so
/// scripts can pipe one and people still see the other.
fn emit(out: &str, json: Option<&Path>, value: &impl Serialize) -> Result<(), Failure> {
    let to_stdout = json.is_some_and(|p| p.as_os_str() == "-");
    if to_stdout {
        err!("{out}");
    } else {
        out!("{out}");
    }
    if let Some(path) = json {
        let mut text = serde_json::to_string_pretty(value).map_err(bad_input)?;
        text.push('\n');
        if to_stdout {
            out!("{text}");
        } else {
            files::write_atomically(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))
                .map_err(bad_input)?;
        }
    }
    Ok(())
}
