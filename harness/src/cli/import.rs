//! `import`: a production timeline (CSV) turned into an incident.

use super::run::expectation;
use super::Exit;
use super::{
    bad_input, command_line, incident_output, preflight, write_incident, Env, Failure, OrBadInput,
};
use crate::files;
use crate::incident::{self, Expect, Incident};
use crate::run::{self, RunError, RunPlan};
use crate::scenario::Params;
use crate::summary;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub(super) struct ImportArgs {
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

pub(super) fn command(env: &Env, args: ImportArgs) -> Result<Exit, Failure> {
    let expect = expectation(&args.expect)?;
    preflight(
        &[incident_output("-o", Some(&args.output))],
        &[&args.timeline],
    )?;
    if args.output.exists() {
        return Err(bad_input(format!(
            "{} already exists and is kept as it is; remove it or choose another name",
            args.output.display()
        )));
    }
    let scenario = env.find(&args.scenario)?;
    let params = Params::resolve(&scenario.params(), &args.set).map_err(bad_input)?;
    let layout = scenario.build(&params).map_err(bad_input)?.layout().clone();
    let origin = args.timeline.display().to_string();
    let text = files::read_text(&args.timeline).or_bad(|| format!("cannot read {origin}"))?;
    let placement = crate::import::Placement {
        at: args.at.unwrap_or(layout.warmup),
        baseline: args.baseline,
    };
    let (schedule, event_lines) =
        crate::import::import_timeline_located(&text, &origin, scenario, &layout.hosts, &placement)
            .map_err(bad_input)?;
    let plan = RunPlan::of(scenario)
        .sets(&args.set)
        .schedule(schedule)
        .located(&origin, None)
        .seed(args.seed)
        .build()
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
    let incident = Incident::from_report(&report, command_line(env), incident::today(), expect);
    write_incident(&args.output, &incident)?;
    outln!(
        "  wrote {} to {} (expects {})",
        incident.id,
        args.output.display(),
        incident.expect.describe()
    );
    Ok(Exit::finding_if(report.is_finding()))
}
