//! `explore`: the bandit over a scenario's fault space, incidents written
//! as runs tip, progress while it runs, the arm table at the end.

use super::Exit;
use super::{
    bad_input, command_line, emit, interrupted, jobs, output, policy_sets, preflight,
    write_incident, Env, Failure, STOPS_CLEANLY,
};
use crate::engine::EngineKind;
use crate::explore::ExploreConfig;
use crate::files;
use crate::incident::{self, Expect, Incident};
use crate::run::RunReport;
use crate::scenario::Scenario;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

#[derive(Args)]
pub(super) struct ExploreArgs {
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
    #[arg(long, value_enum, default_value = "guided")]
    strategy: crate::explore::strategy::StrategyKind,
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
    /// A policy file (YAML: parameter names to values, e.g. a tuned
    /// mitigation): explore against it. Applied before any --set.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Override a scenario parameter. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Size of the pool of run seeds (shared out among shards), 1 to 100000;
    /// a seed costs one control run when a run first uses it.
    #[arg(long, default_value_t = crate::explore::DEFAULT_SEEDS as u32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    seeds: u32,
    /// A metastable run with at least this score is written as an incident.
    #[arg(long, default_value_t = crate::explore::DEFAULT_INCIDENT_THRESHOLD)]
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

/// The exploration `args` ask for, `budget` runs of `scenario` with the
/// overrides `sets` (`--set`s after any policy's values).
fn config(
    scenario: &'static dyn Scenario,
    args: &ExploreArgs,
    budget: usize,
    sets: Vec<String>,
) -> ExploreConfig {
    let mut config = ExploreConfig::new(scenario, budget)
        .engine(args.engine)
        .strategy(args.strategy)
        .seed(args.seed)
        .jobs(jobs(args.jobs))
        .seeds(args.seeds as usize)
        .shard(args.shard.0, args.shard.1);
    config.overrides = sets;
    config
}

pub(super) fn command(env: &Env, args: ExploreArgs) -> Result<Exit, Failure> {
    use crate::explore::{self, ExploreError};
    let scenario = env.find(&args.scenario)?;
    if args.budget == Some(0) {
        return Err(bad_input("--budget must be at least 1"));
    }
    if args.time.is_some_and(|t| t.is_zero()) {
        return Err(bad_input(
            "--time must be longer than 0s (it bounds the wall time of the whole exploration, e.g. 10m)",
        ));
    }
    let budget = args.budget.unwrap_or(usize::MAX);
    let budget_text = args.budget.map_or("?".to_string(), |b| b.to_string());
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(bad_input("--threshold is a score in [0, 1]"));
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
        .map_err(|m| bad_input(format!("--incidents {m}")))?;
    let policy: Vec<&std::path::Path> = args.policy.iter().map(|p| p.as_path()).collect();
    preflight(&[output("--json", args.json.as_deref())], &policy)?;
    let sets = policy_sets(args.policy.as_deref(), &[scenario], &args.set)?;
    let config = config(scenario, &args, budget, sets);
    let refused = |e: ExploreError| match e {
        ExploreError::Run(e) => Failure::from(e),
        ExploreError::Config(m) => bad_input(m),
        ExploreError::Setting(s) => bad_input(s.as_flag()),
    };
    // Settings are refused before the banner says what would run.
    config.check().map_err(refused)?;
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
    let command = command_line(env);
    let mut written = 0usize;
    let mut write_error: Option<Failure> = None;
    let mut best = 0.0f64;
    let progress = ExploreProgress::new(args.budget);
    let mut on_run = |record: &explore::RunRecord, report: Option<&RunReport>| {
        best = best.max(record.score);
        let finding = record.class == Some(crate::verdict::Class::Metastable)
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
    let exploration = explore::explore_until(&config, &mut on_run, &stop).map_err(refused);
    progress.finish();
    let mut exploration = exploration?;
    if args.smallest_trigger && !stop() {
        let arms = exploration.summary.distinct_metastable_arms;
        errln!("shrinking the best metastable run of {arms} arms to its smallest trigger");
        // --time bounds this phase too: a shrink cut short keeps the
        // smallest trigger it had reached, and arms not begun say so.
        exploration.smallest_triggers =
            explore::boundary::smallest_triggers_until(&config, &exploration.runs, &stop);
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
    if summary.unhealthy_runs > 0 {
        out += &format!(
            "UNHEALTHY-BASELINE: {} of {} runs had no healthy baseline to judge recovery against \
             (no goodput before the first fault, or a control without faults that collapsed): \
             the system as configured is dead or overloaded, which is a finding, not a pass; \
             see `{} run --scenario {}{}` without faults\n",
            summary.unhealthy_runs,
            summary.runs,
            env.bin,
            scenario.name(),
            config
                .overrides
                .iter()
                .map(|s| format!(" --set '{s}'"))
                .collect::<String>()
        );
    }
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
    let finding = summary.metastable_runs > 0 || summary.unhealthy_runs > 0;
    Ok(match (finding, interrupted()) {
        (true, _) => Exit::Finding,
        (false, true) => Exit::Interrupted,
        (false, false) => Exit::Clean,
    })
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
pub(super) fn arm_table(summary: &crate::explore::Summary) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Explore {
        #[command(flatten)]
        args: ExploreArgs,
    }

    /// `ExploreConfig::new` is what `explore` does when given only a
    /// scenario and a budget.
    #[test]
    fn the_builder_has_the_command_lines_defaults() {
        let parsed = Explore::parse_from(["explore", "--scenario", "retry-storm", "--budget", "9"]);
        let scenario: &'static dyn Scenario = &crate::scenarios::RetryStorm;
        let cli = config(scenario, &parsed.args, 9, parsed.args.set.clone());
        let built = ExploreConfig::new(scenario, 9);
        assert_eq!(cli.scenario.name(), built.scenario.name());
        assert_eq!(
            (
                &cli.overrides,
                cli.engine,
                cli.strategy,
                cli.seed,
                cli.budget,
                cli.jobs,
                cli.seeds,
                cli.shard
            ),
            (
                &built.overrides,
                built.engine,
                built.strategy,
                built.seed,
                built.budget,
                built.jobs,
                built.seeds,
                built.shard
            )
        );
        assert_eq!(
            parsed.args.threshold,
            crate::explore::DEFAULT_INCIDENT_THRESHOLD
        );
        assert_eq!(
            parsed.args.incidents,
            PathBuf::from("target/hormesis/incidents")
        );
    }
}
