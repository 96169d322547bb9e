//! The command line's grammar: the top-level options and one variant per
//! subcommand, with the help that teaches each.

use super::explore::ExploreArgs;
use super::import::ImportArgs;
use super::map::MapArgs;
use super::merge::MergeArgs;
use super::replay::ReplayArgs;
use super::report::ReportArgs;
use super::run::RunArgs;
use super::shrink::ShrinkArgs;
use super::sweep::SweepArgs;
use super::triage::TriageArgs;
use super::tune::TuneArgs;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hormesis",
    version = env!("CARGO_PKG_VERSION"),
    about = "Find the fault schedules that tip a tokio service into metastable failure, and replay them",
    long_about = "hormesis runs real tokio services under deterministic network simulation, applies \
timed fault schedules, and judges whether goodput comes back after the trigger ends.\n\n\
Exit codes: 0 no finding, 1 a finding (metastable, a host failed on its own, or an unhealthy \
baseline) or a replay regression, 2 bad input, 130 interrupted (Ctrl-C, SIGTERM).",
    after_help = "Start with:\n  hormesis scenarios\n  hormesis run --scenario retry-storm --fault 'load-spike:at=60s,for=10s,factor=3'"
)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
    /// Log what happens inside simulations, stamped with simulated time and
    /// host: a level (`info`, `debug`) or filter directives
    /// (`hormesis=debug,hormesis_sut=trace`). Overrides RUST_LOG; without
    /// either, nothing is logged.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub(super) log: Option<String>,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// List the scenarios: hosts, knobs, parameters and a trigger that tips each.
    #[command(
        long_about = "List the scenarios: hosts, knobs, parameters and a trigger that tips each.\n\n\
With --scenario, only that one; with --set, the system those parameters build (its hosts and knobs), \
and for a scenario that can say more (a generated family), a description of that system: topology, every \
component's sizes and policies, its capacity and utilisation.\n\n\
Example: hormesis scenarios --scenario synthetic --set instance=17"
    )]
    Scenarios {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Only this scenario.
        #[arg(long, value_name = "NAME")]
        scenario: Option<String>,
        /// A parameter of the listed scenario, NAME=VALUE (repeatable); needs --scenario.
        #[arg(long = "set", value_name = "NAME=VALUE", requires = "scenario")]
        sets: Vec<String>,
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
Exit codes: 0 nothing metastable found, 1 found at least one or a run had no healthy baseline (the \
system is dead or overloaded as configured), 2 bad input, 130 interrupted before finding anything.",
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
        after_help = "Examples:\n  hormesis report run.json -o run.html --svg timeline.svg\n  hormesis report replays/retry-storm/spike.yaml -o spike.html\n  hormesis report guided.json random.json -o explore.html\n  hormesis report map.json -o map.html"
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
Exit codes: 0 mapped, 1 a run had no healthy baseline (`ub` cells: the system is dead or overloaded as configured), 2 bad input.",
        after_help = "Example:\n  hormesis map --scenario retry-storm --template load-spike --grid 6x6 --seeds 4 --json map.json"
    )]
    Map(MapArgs),
    /// Run one trigger across a setting's range: where the verdict turns, and where the setting changes nothing.
    #[command(
        long_about = "Run the same trigger (--fault or --schedule) across a numeric parameter's range \
(--param NAME=LO..HI, --steps values, --log-scale to spread them geometrically) on the same --seeds for \
every value, and print per value the seeds that tip, the amplification, the median time to recover \
and the goodput while the trigger lasted. Where the fraction that tips changes between neighbours, \
up to --refine more values bisect the gap, down to an eighth of the first spread's step. \
Neighbouring values whose runs behave identically on every seed (the same behaviour digest: \
timeline, faults as applied, failures and the control's) are reported as a range of no effect: \
a setting the code rounds, clamps or ignores there.\n\n\
The result depends on --seed, --seeds, --steps, --log-scale, --refine and --set; never on --jobs.\n\n\
Exit codes: 0 swept, 1 a run had no healthy baseline, 2 bad input.",
        after_help = "Examples:\n  hormesis sweep --scenario retry-storm --param timeout=200ms..2s --log-scale --fault 'load-spike:at=60s,for=10s,factor=3'\n  hormesis sweep --scenario retry-storm --param retry_budget.ratio=0..1 --set mitigation=retry-budget --fault 'load-spike:at=60s,for=10s,factor=3' --json sweep.json"
    )]
    Sweep(SweepArgs),
    /// Tune a mitigation's policy parameters against the incidents it meets (Bayesian optimisation).
    #[command(
        long_about = "Search the policy parameters of one mitigation (the scenario's `M.*` parameters, \
within their declared ranges; `--set` holds one fixed) for the policy that keeps the system out of \
metastable failure. A policy is scored against every attack (each incident of the scenario given \
with --against, and the explorer's finds): the mean of the worst and the mean metastability score, \
plus 0.1 x the mean recovery time as a fraction of H. A policy that costs more than --max-cost of \
the unmitigated system's goodput without faults ranks after every one that does not. Proposals come \
from a Gaussian process with expected improvement, after the starting policy and a Latin-hypercube \
design.\n\n\
Each round tunes, then (with --explore-budget) explores against the round's best policy and adds \
what tips it to the attacks; the next round starts from the best three policies so far. The best \
policy of the last round is written with -o as a policy file for `run`, `replay` and `explore \
--policy`.\n\n\
The result depends on --seed, --budget, --rounds, --explore-budget, --keep, --max-cost, \
--cost-seeds, --policy, --set and the incidents; never on --jobs. A first Ctrl-C stops after the \
evaluation in flight and writes the best so far.\n\n\
Exit codes: 0 the best policy recovers from every attack, 1 it still tips on one, 2 bad input, \
130 stopped by a signal.",
        after_help = "Examples:\n  hormesis tune --scenario retry-storm --mitigation retry-budget --against replays/retry-storm --budget 12 -o tuned.yaml\n  hormesis tune --scenario retry-storm --mitigation autoscaler --set workers=4 --set autoscaler.boot_delay=30s --rounds 2 --explore-budget 24 --json tune.json\n  hormesis replay replays/retry-storm --policy tuned.yaml"
    )]
    Tune(TuneArgs),
}
