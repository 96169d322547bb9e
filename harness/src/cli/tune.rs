//! `tune`: Bayesian optimisation of a mitigation's policy against the
//! incidents it meets, rounds of tuning and exploring, the best policy
//! written as a policy file.

use super::Exit;
use super::{
    bad_input, command_line, emit, interrupted, jobs, output, policy_sets, preflight, write_file,
    Env, Failure, STOPS_CLEANLY,
};
use crate::engine::EngineKind;
use crate::incident::Incident;
use crate::tune::{self, Progress, TuneConfig, TuneError, Tuning};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

#[derive(Args)]
pub(super) struct TuneArgs {
    /// Scenario name (see `hormesis scenarios`).
    #[arg(long)]
    scenario: String,
    /// The mitigation whose parameters are tuned: a value of the scenario's
    /// `mitigation` parameter, as the `scenarios` command lists them.
    #[arg(long)]
    mitigation: String,
    /// Incidents to tune against: files or folders searched for *.yaml.
    /// Repeatable; incidents of other scenarios are left out.
    #[arg(long, value_name = "DIR")]
    against: Vec<PathBuf>,
    /// Policies evaluated per round (1 to 1000), each against every attack
    /// and on the cost seeds.
    #[arg(long, default_value_t = 20)]
    budget: usize,
    /// Rounds of tuning, each followed by an exploration against its best
    /// policy whose finds join the attack set (1 to 100).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Runs of the exploration after each round (0: none). Without
    /// incidents, one exploration against the starting policy finds the
    /// first attacks.
    #[arg(long, default_value_t = 0, value_name = "N")]
    explore_budget: usize,
    /// Metastable finds of each exploration added to the attacks, best first.
    #[arg(long, default_value_t = 4)]
    keep: usize,
    /// The most goodput a policy may cost without faults against the
    /// unmitigated system: `5%` or `0.05`.
    #[arg(long, default_value = "5%", value_parser = parse_fraction, value_name = "FRACTION")]
    max_cost: f64,
    /// Seeds of the no-fault runs that measure the cost, and of each
    /// benign fault's runs (1 to 100000).
    #[arg(long, default_value_t = 3)]
    cost_seeds: usize,
    /// A benign fault: a light fault under which the mitigation should help
    /// (retries rescue requests under light loss), as a --fault spec whose
    /// `at` counts from the end of the warm-up, e.g.
    /// `loss:at=0s,for=30s,rate=0.002,host=server`. The fraction of
    /// requests a policy fails to serve under them joins its objective, so
    /// that turning the mitigation off does not pass for tuning it. Repeatable; `none` for
    /// no benign fault. [default: the scenario's own for the mitigation,
    /// which `tune` prints as it starts]
    #[arg(long, value_name = "SPEC")]
    benign: Vec<String>,
    /// Fixes every proposal and exploration.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Threads [default: the number of cores], 1 to 1024. Does not change the result.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// The policy to start from (a policy file); the scenario's defaults otherwise.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Override a scenario parameter for every run; a parameter of the
    /// mitigation given here is held fixed. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Write the best policy as a policy file (for --policy on run, replay, explore).
    #[arg(short = 'o', long = "output", value_name = "POLICY.yaml")]
    output: Option<PathBuf>,
    /// Write every evaluation and round as JSON (`-` for stdout); `hormesis
    /// report` draws it.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The simulator. A build runs one engine: madsim needs the madsim build
    /// (`cargo madsim-build`, then target/madsim/release/hormesis); see docs/engines.md.
    #[arg(long, value_enum, default_value = EngineKind::BUILT.name())]
    engine: EngineKind,
}

/// The most runs of one round's exploration.
const MAX_EXPLORE_BUDGET: usize = 100_000;

/// `5%`, `0.05`: a fraction in [0, 1]. A bare `1` is refused: it reads as
/// 1 % as readily as 100 %.
fn parse_fraction(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("`{text}`: a percentage such as `5%` or a fraction such as `0.05`"))?;
    if !t.ends_with('%') && v == 1.0 {
        return Err(format!(
            "`{text}` is ambiguous: write `1%` for one percent or `100%` for no bound"
        ));
    }
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("`{text}`: from 0 % to 100 %"));
    }
    Ok(v)
}

pub(super) fn command(env: &Env, args: TuneArgs) -> Result<Exit, Failure> {
    let scenario = env.find(&args.scenario)?;
    let mut inputs: Vec<&std::path::Path> = args.against.iter().map(|p| p.as_path()).collect();
    inputs.extend(args.policy.as_deref());
    preflight(
        &[
            output("-o", args.output.as_deref()),
            output("--json", args.json.as_deref()),
        ],
        &inputs,
    )?;
    let files = if args.against.is_empty() {
        Vec::new()
    } else {
        crate::replay::collect(&args.against).map_err(bad_input)?
    };
    let mut incidents = Vec::new();
    let mut other_scenarios = 0;
    // An incident kept under another mitigation tests that one: its
    // parameters belong to it, and no policy of this one answers for it
    // (issue 29, E8). Unmitigated incidents are what a mitigation is for.
    let mut other_mitigations: Vec<String> = Vec::new();
    for path in &files {
        let incident = Incident::load(path).map_err(bad_input)?;
        let kept_under = incident
            .params
            .get("mitigation")
            .map_or("none", String::as_str);
        if incident.scenario != scenario.name() {
            other_scenarios += 1;
        } else if kept_under != "none" && kept_under != args.mitigation {
            other_mitigations.push(format!("{} ({kept_under})", path.display()));
        } else {
            incidents.push(incident);
        }
    }
    if !files.is_empty() && incidents.is_empty() {
        return Err(bad_input(format!(
            "--against: none of the {} incidents is of `{}` unmitigated or under `{}`{}",
            files.len(),
            scenario.name(),
            args.mitigation,
            if other_mitigations.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} are kept under another mitigation)",
                    other_mitigations.len()
                )
            }
        )));
    }
    for left_out in &other_mitigations {
        errln!(
            "left out {left_out}: kept under another mitigation than {}",
            args.mitigation
        );
    }
    let start = policy_sets(args.policy.as_deref(), &[scenario], &[])?;
    let mut config = TuneConfig::new(scenario, &args.mitigation, incidents, args.budget);
    config.overrides = args.set.clone();
    config.start = start;
    config.engine = args.engine;
    config.seed = args.seed;
    config.rounds = args.rounds;
    config.explore_budget = args.explore_budget;
    config.keep = args.keep;
    config.max_cost = args.max_cost;
    config.cost_seeds = args.cost_seeds;
    match args.benign.as_slice() {
        [] => {}
        [none] if none.trim() == "none" => config.benign.clear(),
        given if given.iter().any(|b| b.trim() == "none") => {
            return Err(bad_input(
                "--benign none: no benign fault, so it cannot stand beside another --benign",
            ))
        }
        given => config.benign = given.to_vec(),
    }
    config.jobs = jobs(args.jobs);
    config.check().map_err(|e| match e {
        TuneError::Config(m) => bad_input(m),
        TuneError::Setting(s) => bad_input(s.as_flag()),
        other => bad_input(other),
    })?;
    errln!(
        "tuning {} of {} against {} incidents{} ({} policies x {} rounds, explore {} runs per round, max cost {:.1} %, seed {}, {} jobs)",
        args.mitigation,
        scenario.name(),
        config.incidents.len(),
        if other_scenarios > 0 {
            format!(" ({other_scenarios} of other scenarios left out)")
        } else {
            String::new()
        },
        args.budget,
        args.rounds,
        args.explore_budget,
        args.max_cost * 100.0,
        args.seed,
        config.jobs
    );
    errln!(
        "  benign faults (requests not served under them join the objective): {}",
        if config.benign.is_empty() {
            "none".to_string()
        } else {
            config.benign.join(" + ")
        }
    );
    if args.explore_budget > MAX_EXPLORE_BUDGET {
        return Err(bad_input(format!(
            "--explore-budget {}: from 0 to {MAX_EXPLORE_BUDGET} runs per round",
            args.explore_budget
        )));
    }
    let explorations = args.rounds + usize::from(config.incidents.is_empty());
    let total = args
        .budget
        .saturating_mul(args.rounds)
        .saturating_add(args.explore_budget.saturating_mul(explorations));
    let progress = TuneProgress::new(total as u64);
    let mut best = f64::INFINITY;
    let mut on_progress = |p: Progress<'_>| match p {
        Progress::Evaluated(e) => {
            best = best.min(e.objective);
            progress.line(
                format!(
                    "  round {} {:<20} objective {:.3} (worst {:.2}, mean {:.2}, recovered {}/{}, amplification {:.2}x, served under benign faults {}, {:.2} attempts/request, cost {:+.1} %{})  {}",
                    e.round,
                    e.how,
                    e.objective,
                    e.worst,
                    e.mean,
                    e.recovered,
                    e.attacks,
                    e.mean_amplification,
                    served(e.benign_served),
                    e.resources.attempts_per_request,
                    e.cost * 100.0,
                    if e.feasible { "" } else { ", over --max-cost" },
                    e.policy
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                best,
            );
        }
        Progress::Explored { .. } => progress.tick(best),
    };
    // A first signal ends the search after the evaluation in flight and
    // writes the best so far; a second aborts.
    STOPS_CLEANLY.store(true, Ordering::SeqCst);
    let tuning = tune::tune(&config, &mut on_progress, &|| interrupted());
    progress.finish();
    let tuning = tuning.map_err(|e| match e {
        TuneError::Config(m) => bad_input(m),
        TuneError::Setting(s) => bad_input(s.as_flag()),
        TuneError::Run(e) => Failure::from(e),
        TuneError::Explore(crate::explore::ExploreError::Run(e)) => Failure::from(e),
        TuneError::Explore(e) => bad_input(e),
    })?;
    let out = summary(&tuning);
    if let (Some(path), Some(yaml)) = (&args.output, tuning.policy_yaml(&command_line(env))) {
        write_file(path, yaml.as_bytes())?;
        errln!(
            "wrote the best policy to {}; try it with: {} replay DIR --policy {}",
            path.display(),
            env.bin,
            path.display()
        );
    }
    emit(&out, args.json.as_deref(), &tuning)?;
    let tips = tuning
        .best
        .as_ref()
        .is_some_and(|b| b.recovered < b.attacks);
    Ok(match (tips, tuning.stopped_early) {
        (true, _) => Exit::Finding,
        (false, true) => Exit::Interrupted,
        (false, false) => Exit::Clean,
    })
}

/// The end-of-run text: each round, then the best policy against the start.
fn summary(t: &Tuning) -> String {
    let mut out = format!(
        "{} {} on {}{}: {} dimensions, {} attacks\n  round  attacks  policies  best objective  recovered  cost     explored: metastable/runs\n",
        t.scenario,
        t.mitigation,
        t.engine.name(),
        if t.stopped_early {
            " (stopped by a signal: the best so far)"
        } else {
            ""
        },
        t.dimensions.len(),
        t.attacks.len()
    );
    if let Some(e) = &t.initial_exploration {
        out += &format!(
            "  {:>5}  {:>7}  {:>8}  {:>14}  {:>9}  {:>7}  {} with the starting policy\n",
            0,
            "-",
            "-",
            "-",
            "-",
            "-",
            explored(e)
        );
    }
    for r in &t.rounds {
        let best = r.best.map(|b| &r.evaluations[b]);
        out += &format!(
            "  {:>5}  {:>7}  {:>8}  {:>14}  {:>9}  {:>7}  {}\n",
            r.round,
            r.attacks,
            r.evaluations.len(),
            best.map_or("-".into(), |b| format!("{:.3}", b.objective)),
            best.map_or("-".into(), |b| format!("{}/{}", b.recovered, b.attacks)),
            best.map_or("-".into(), |b| format!("{:+.1} %", b.cost * 100.0)),
            r.exploration.as_ref().map_or("-".into(), explored)
        );
    }
    let policy = |e: &tune::Evaluation| {
        e.policy
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    out += &format!(
        "unmitigated  served under benign faults {}, {:.2} attempts/request{}\n",
        served(t.baseline_benign_served),
        t.baseline_resources.attempts_per_request,
        t.baseline_resources
            .worker_seconds
            .map_or(String::new(), |w| format!(", {w:.0} worker-s"))
    );
    for (name, e) in [("start", &t.start), ("best ", &t.best)] {
        if let Some(e) = e {
            out += &format!("{name}  {}: {}\n", figures(e), policy(e));
        }
    }
    if let Some(last) = t.rounds.last().filter(|r| r.pareto.len() > 1) {
        out += &format!(
            "Pareto front of round {} (recovery, benefit, resources: none beats another on all three):\n",
            last.round
        );
        for &i in &last.pareto {
            let e = &last.evaluations[i];
            out += &format!("  {}: {}\n", figures(e), policy(e));
        }
    }
    out
}

/// One policy's figures: what the attacks, the benign faults, the
/// resources and the no-fault runs say of it.
fn figures(e: &tune::Evaluation) -> String {
    format!(
        "objective {:.3}, recovered {}/{}, served under benign faults {}, {:.2} attempts/request{}, cost {:+.1} %",
        e.objective,
        e.recovered,
        e.attacks,
        served(e.benign_served),
        e.resources.attempts_per_request,
        e.resources
            .worker_seconds
            .map_or(String::new(), |w| format!(", {w:.0} worker-s")),
        e.cost * 100.0
    )
}

/// A fraction of requests served, or `-` without benign faults.
fn served(fraction: Option<f64>) -> String {
    fraction.map_or("-".into(), |f| format!("{:.1} %", f * 100.0))
}

/// What an exploration against a policy found.
fn explored(e: &tune::RoundExploration) -> String {
    let mut out = format!("{}/{}", e.metastable_runs, e.runs);
    if e.unhealthy_runs > 0 {
        out += &format!(", {} unhealthy before the fault", e.unhealthy_runs);
    }
    if !e.added.is_empty() {
        out += &format!(" ({} added)", e.added.len());
    }
    out
}

/// A progress bar on a terminal; one line per evaluation otherwise.
struct TuneProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl TuneProgress {
    fn new(total: u64) -> Self {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return TuneProgress { bar: None };
        }
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} evaluations and runs  {msg}  [{elapsed_precise}, {eta} left]",
        ) {
            bar.set_style(style);
        }
        TuneProgress { bar: Some(bar) }
    }

    fn line(&self, line: String, best: f64) {
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.set_message(format!("best {best:.3}"));
                bar.inc(1);
            }
            None => errln!("{line}"),
        }
    }

    fn tick(&self, best: f64) {
        if let Some(bar) = &self.bar {
            if best.is_finite() {
                bar.set_message(format!("best {best:.3}"));
            }
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_fraction;

    #[test]
    fn cost_bounds_read_as_percentages_or_fractions() {
        assert_eq!(parse_fraction("5%"), Ok(0.05));
        assert_eq!(parse_fraction(" 0.1 "), Ok(0.1));
        assert_eq!(parse_fraction("0 %"), Ok(0.0));
        assert_eq!(parse_fraction("100%"), Ok(1.0));
        for bad in ["-1%", "150%", "x", "1.5", "NaN", "1", "1.0"] {
            assert!(parse_fraction(bad).is_err(), "{bad}");
        }
    }
}
