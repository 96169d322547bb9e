//! The `hormesis` command line. Exit codes: 0 success, 1 a finding
//! (metastable, or a host that failed on its own), 2 bad input.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use hormesis::engine::EngineKind;
use hormesis::run::{self, RunError, RunPlan, RunReport};
use hormesis::scenario::{ParamValue, Params, Scenario};
use hormesis::{scenarios, summary};
use hormesis_faults::{KnobKind, Schedule};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// The simulator.
    #[arg(long, value_enum, default_value = "turmoil")]
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
    let result = match cli.command {
        Command::Scenarios { json } => list_scenarios(json),
        Command::Run(args) => run_command(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure { code, error }) => {
            eprintln!("error: {error:#}");
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
    trigger: Vec<String>,
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
        trigger: s.trigger(),
    })
}

fn list_scenarios(json: bool) -> Result<u8, Failure> {
    let all = scenarios::builtin()
        .into_iter()
        .map(listing)
        .collect::<Result<Vec<_>, _>>()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&all).map_err(bad_input)?);
        return Ok(0);
    }
    for s in all {
        println!("{}\n  {}", s.name, s.description);
        println!(
            "  hosts:   {}   clients: {}",
            s.hosts.join(", "),
            s.clients.join(", ")
        );
        let knobs: Vec<String> = s
            .knobs
            .iter()
            .map(|k| format!("{} ({})", k.name, k.kind))
            .collect();
        println!("  knobs:   {}", knobs.join(", "));
        println!(
            "  trigger: {}",
            s.trigger
                .iter()
                .map(|t| format!("--fault '{t}'"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!("  params:");
        for p in &s.params {
            println!(
                "    {:<14} {:>8}  {:<16} {}",
                p.name,
                p.default.to_string(),
                p.range,
                p.help
            );
        }
        println!();
    }
    Ok(0)
}

fn run_command(args: RunArgs) -> Result<u8, Failure> {
    let scenario = scenarios::find(&args.scenario).map_err(|m| bad_input(anyhow::anyhow!(m)))?;
    let (schedule, origin, source) = match &args.schedule {
        Some(path) => {
            let text = std::fs::read_to_string(path)
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
    eprintln!(
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
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    };
    say(&summary::render(&report));
    let mut code = u8::from(report.is_finding());
    if args.check_determinism {
        eprintln!("checking determinism: running the same plan again");
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
    }
    if report.is_finding() {
        let mut replay = format!(
            "hormesis run --scenario {} --seed {}",
            report.scenario, report.seed
        );
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
    Ok(code)
}

fn write_json(path: &Path, report: &RunReport) -> Result<()> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    if path.as_os_str() == "-" {
        std::io::stdout().write_all(text.as_bytes())?;
        return Ok(());
    }
    write_atomically(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes to a temporary file beside `path`, then renames it into place, so
/// an interrupted write never leaves a half-written file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
