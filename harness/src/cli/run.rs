//! `run`: one run and its control, judged; optionally checked for
//! determinism and fidelity, and recorded as an incident.

use super::fidelity;
use super::Exit;
use super::{
    bad_input, command_line, incident_output, output, policy_sets, preflight, write_file,
    write_incident, Env, Failure, OrBadInput,
};
use crate::engine::EngineKind;
use crate::files;
use crate::incident::{self, Expect, Incident};
use crate::run::{self, RunPlan, RunReport};
use crate::summary;
use clap::Args;
use hormesis_faults::Schedule;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(super) struct RunArgs {
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
    /// A policy file (YAML: parameter names to values, e.g. a tuned
    /// mitigation), applied before any --set.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
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
    /// Rerun at a fifth of turmoil's tick (the scenario's step), and on the
    /// other engine where its build is found (`target/madsim/<profile>/`
    /// beside `target/<profile>/`, or the binary `HORMESIS_OTHER_ENGINE`
    /// names); flag a verdict that changes as a likely simulation artifact
    /// (exit 1).
    #[arg(long)]
    check_fidelity: bool,
    /// turmoil's step [default: the scenario's, `hormesis scenarios` shows
    /// it]: finer resolves finer timing and runs slower. Not with --record
    /// (an incident replays at its scenario's step); madsim has no step.
    #[arg(long, value_parser = hormesis_faults::parse_duration, value_name = "DURATION", conflicts_with = "record")]
    tick: Option<std::time::Duration>,
    /// Write the run as an incident file (never overwrites an existing file).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// What a replay of the recorded incident must show: `class=stable|slow-recovery|metastable`,
    /// `recovers-within=60s`, `max-score=0.1`. Repeatable. [default: the class seen when
    /// metastable, else recovery within the horizon]
    #[arg(long, value_name = "KEY=VALUE", requires = "record")]
    expect: Vec<String>,
}

/// The `--expect` options, parsed before anything runs; `None` when none
/// were given (the recorded run's own outcome is then expected).
pub(super) fn expectation(specs: &[String]) -> Result<Option<Expect>, Failure> {
    let mut expect = Expect::default();
    for e in specs {
        expect.set(e).map_err(bad_input)?;
    }
    Ok((!expect.is_empty()).then_some(expect))
}

pub(super) fn command(env: &Env, args: RunArgs) -> Result<Exit, Failure> {
    let expect = expectation(&args.expect)?;
    if let Some(path) = args.record.as_ref().filter(|p| p.exists()) {
        return Err(bad_input(format!(
            "--record {}: the file already exists and is kept as it is; remove it or choose another name",
            path.display()
        )));
    }
    let inputs: Vec<&Path> = args
        .schedule
        .iter()
        .chain(&args.policy)
        .map(|p| p.as_path())
        .collect();
    preflight(
        &[
            output("--json", args.json.as_deref()),
            incident_output("--record", args.record.as_deref()),
        ],
        &inputs,
    )?;
    let scenario = env.find(&args.scenario)?;
    let (schedule, origin, source) = match &args.schedule {
        Some(path) => {
            let text = files::read_text(path)
                .or_bad(|| format!("cannot read schedule file {}", path.display()))?;
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
    let sets = policy_sets(args.policy.as_deref(), &[scenario], &args.set)?;
    if let Some(tick) = args.tick {
        if args.engine != EngineKind::Turmoil {
            return Err(bad_input(format!(
                "--tick sets turmoil's step; {} has none",
                args.engine.name()
            )));
        }
        if tick < std::time::Duration::from_micros(10) || tick > std::time::Duration::from_secs(1) {
            return Err(bad_input("--tick takes a step from 10us to 1s"));
        }
    }
    let mut builder = RunPlan::of(scenario)
        .sets(&sets)
        .schedule(schedule)
        .located(&origin, source.as_deref())
        .seed(args.seed)
        .engine(args.engine);
    if let Some(tick) = args.tick {
        builder = builder.tick(tick);
    }
    let plan = builder.build()?;
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
    let mut code = Exit::finding_if(report.is_finding());
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
            code = Exit::Finding;
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
                code = Exit::Finding;
            }
        }
    }
    if args.check_fidelity {
        code = code.max(check_fidelity(&plan, &report, &say)?);
    }
    if report.is_finding() {
        let mut replay = format!(
            "{} run --scenario {} --seed {}",
            env.bin, report.scenario, report.seed
        );
        if report.engine != EngineKind::Turmoil {
            replay += &format!(" --engine {}", report.engine.name());
        }
        for spec in &report.schedule {
            replay += &format!(" --fault '{spec}'");
        }
        for s in &sets {
            replay += &format!(" --set '{s}'");
        }
        // A step of its own changes the plan: without it the line would
        // reproduce another run (issue 29, E6).
        if let Some(tick) = plan.tick {
            replay += &format!(" --tick {}", hormesis_faults::format_duration(tick));
        }
        say(&format!("  reproduce: {replay}\n"));
    }
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if let Some(path) = &args.record {
        let expect = expect.unwrap_or_else(|| Expect::observed(&report.verdict));
        // An incident that fails its own first replay is no regression
        // test: refuse to keep it, and say why (issue 29, E19).
        if let Err(why) = expect.check(&report.verdict) {
            say(&format!(
                "  not recorded: this run does not meet --expect ({why}); an incident kept so would fail its first replay. Record it without --expect, or with what the run shows ({})\n",
                Expect::observed(&report.verdict).describe()
            ));
            return Ok(Exit::Finding);
        }
        let incident = Incident::from_report(&report, command_line(env), incident::today(), expect);
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

/// Reruns `plan` at a fifth of the scenario's turmoil tick, and on the
/// other engine where its build is found; a verdict class that changes is
/// most likely an artifact of the coarse step or of one simulator (1).
fn check_fidelity(
    plan: &RunPlan<'_>,
    report: &RunReport,
    say: &dyn Fn(&str),
) -> Result<Exit, Failure> {
    let finer = plan.finer(5)?;
    let tick = finer.tick.unwrap_or_default();
    let fine = hormesis_faults::format_duration(tick);
    let ttr = |r: &RunReport| fidelity::describe(r.verdict.class.name(), r.verdict.ttr_s);
    let mut code = Exit::Clean;
    if plan.engine == EngineKind::Turmoil {
        errln!("checking fidelity: running the same plan at a {fine} tick");
        let again = run::run(&finer)?;
        if report.verdict.class == again.verdict.class {
            say(&format!(
                "  fidelity: the same verdict at a {fine} tick ({})\n",
                fidelity::pair(again.verdict.class.name(), again.verdict.ttr_s)
            ));
        } else {
            say(&format!(
                "  FIDELITY: the verdict changes at a {fine} tick: {} becomes {}; likely an artifact of the scenario's coarser step, not of the system\n",
                ttr(report),
                ttr(&again)
            ));
            code = Exit::Finding;
        }
    }
    errln!("checking fidelity: asking the other engine's build for the same plan");
    match fidelity::on_other_engine(plan, Some(tick)) {
        fidelity::OtherEngine::Verdict {
            engine,
            class,
            ttr_s,
        } => {
            let theirs = fidelity::describe(&class, ttr_s);
            let step = if engine == EngineKind::Turmoil {
                format!(" at a {fine} tick")
            } else {
                String::new()
            };
            if class == report.verdict.class.name() {
                say(&format!(
                    "  fidelity: the same verdict on {}{step} ({})\n",
                    engine.name(),
                    fidelity::pair(&class, ttr_s)
                ));
            } else {
                say(&format!(
                    "  FIDELITY: {}{step} says {theirs} where {} says {}; the finding depends on the simulator (docs/engines.md)\n",
                    engine.name(),
                    plan.engine.name(),
                    ttr(report)
                ));
                code = Exit::Finding;
            }
        }
        fidelity::OtherEngine::Skipped(why) => {
            say(&format!(
                "  fidelity: not checked on the other engine: {why}\n"
            ));
        }
        fidelity::OtherEngine::Failed(why) => {
            say(&format!(
                "  FIDELITY: the other engine's build gave no verdict: {why}\n"
            ));
            code = Exit::Finding;
        }
    }
    Ok(code)
}

fn write_json(path: &Path, report: &RunReport) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(report).map_err(bad_input)?;
    text.push('\n');
    write_file(path, text.as_bytes())
}
