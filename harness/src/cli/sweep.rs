//! `sweep`: one trigger across a setting's range on shared seeds; the
//! table, where the verdict turns, and the ranges where the setting
//! changes nothing.

use super::Exit;
use super::{bad_input, emit, jobs, output, preflight, Env, Failure, OrBadInput};
use crate::engine::EngineKind;
use crate::files;
use crate::sweep::{self, Sweep, SweepConfig, SweepError};
use clap::Args;
use hormesis_faults::Schedule;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub(super) struct SweepArgs {
    /// Scenario name (see the `scenarios` command).
    #[arg(long)]
    scenario: String,
    /// The numeric parameter and its range: `NAME=LO..HI`, e.g.
    /// `timeout=200ms..2s` or `retry_budget.ratio=0..1`.
    #[arg(long, value_name = "NAME=LO..HI", value_parser = parse_param)]
    param: (String, String, String),
    /// Values across the range, both ends included (2 to 100).
    #[arg(long, default_value_t = 9)]
    steps: usize,
    /// Spread the values geometrically (for a range spanning decades).
    /// (`--log` is every command's log level.)
    #[arg(long = "log-scale")]
    log_scale: bool,
    /// A schedule file (YAML): the trigger every value runs.
    #[arg(long, conflicts_with = "fault", value_name = "FILE")]
    schedule: Option<PathBuf>,
    /// A fault event inline, as `run --fault`. Repeatable.
    #[arg(long, value_name = "SPEC")]
    fault: Vec<String>,
    /// A fault template, as `map --template` names it (`hormesis map
    /// --scenario S --template ?` lists them): every value runs each cell
    /// of the template's --grid on every seed, and its fraction is the
    /// failing region's size at that setting.
    #[arg(long, conflicts_with_all = ["fault", "schedule"], value_name = "TEMPLATE")]
    template: Option<String>,
    /// The template's grid, durations × magnitudes (each side 1 to 64)
    /// [default: 4x4].
    #[arg(long, value_parser = super::map::parse_grid, value_name = "WxH")]
    grid: Option<(usize, usize)>,
    /// Seeds per value (1 to 100), the same for every value.
    #[arg(long, default_value_t = 4)]
    seeds: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Values, at most, added by bisection where the fraction of seeds
    /// that tip changes between neighbours (0 to 100).
    #[arg(long, default_value_t = 8, value_name = "N")]
    refine: usize,
    /// Override another parameter for every value. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Threads [default: the number of cores], 1 to 1024. Does not change the result.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// Write the sweep as JSON (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The simulator (see `run --engine`).
    #[arg(long, value_enum, default_value = EngineKind::BUILT.name())]
    engine: EngineKind,
}

fn parse_param(text: &str) -> Result<(String, String, String), String> {
    let bad = || format!("`{text}`: write NAME=LO..HI, e.g. timeout=200ms..2s");
    let (name, range) = text.split_once('=').ok_or_else(bad)?;
    let (lo, hi) = range.split_once("..").ok_or_else(bad)?;
    let (name, lo, hi) = (name.trim(), lo.trim(), hi.trim());
    if name.is_empty() || lo.is_empty() || hi.is_empty() {
        return Err(bad());
    }
    Ok((name.to_string(), lo.to_string(), hi.to_string()))
}

pub(super) fn command(env: &Env, args: SweepArgs) -> Result<Exit, Failure> {
    let inputs: Vec<&std::path::Path> = args.schedule.iter().map(|p| p.as_path()).collect();
    preflight(&[output("--json", args.json.as_deref())], &inputs)?;
    let scenario = env.find(&args.scenario)?;
    let schedule = match &args.schedule {
        Some(path) => {
            let text = files::read_text(path)
                .or_bad(|| format!("cannot read schedule file {}", path.display()))?;
            Schedule::from_yaml(&text, &path.display().to_string()).map_err(bad_input)?
        }
        None => Schedule::from_specs(&args.fault).map_err(bad_input)?,
    };
    if args.grid.is_some() && args.template.is_none() {
        return Err(bad_input(
            "--grid is a template's grid: give it with --template",
        ));
    }
    let (param, lo, hi) = args.param.clone();
    if args
        .set
        .iter()
        .any(|s| s.split_once('=').is_some_and(|(k, _)| k.trim() == param))
    {
        return Err(bad_input(format!(
            "--set {param}=… and --param {param}: the swept parameter takes its values from --param"
        )));
    }
    let config = SweepConfig {
        scenario,
        overrides: args.set.clone(),
        engine: args.engine,
        param,
        lo,
        hi,
        steps: args.steps,
        log: args.log_scale,
        schedule,
        template: args.template.clone(),
        grid: args.grid.unwrap_or((4, 4)),
        seeds: args.seeds,
        seed: args.seed,
        jobs: jobs(args.jobs),
        refine: args.refine,
    };
    errln!(
        "sweeping {} `{}` over {}..{} ({} values{}, up to {} more by bisection) on {} seeds{}",
        scenario.name(),
        config.param,
        config.lo,
        config.hi,
        config.steps,
        if config.log { ", log-spaced" } else { "" },
        config.refine,
        config.seeds,
        config.template.as_ref().map_or(String::new(), |t| format!(
            " x the {}x{} grid of `{t}`",
            config.grid.0, config.grid.1
        ))
    );
    let result = sweep::sweep(&config).map_err(|e| match e {
        SweepError::Run(e) => Failure::from(e),
        SweepError::Config(m) => bad_input(m),
        SweepError::Setting(s) => bad_input(s.as_flag()),
    })?;
    emit(&render(&result), args.json.as_deref(), &result)?;
    Ok(Exit::finding_if(
        result.points.iter().any(|p| p.unhealthy > 0),
    ))
}

/// The table, the boundaries and the ranges of no effect.
fn render(s: &Sweep) -> String {
    let width = s
        .points
        .iter()
        .map(|p| p.value.len())
        .max()
        .unwrap_or(5)
        .max(5);
    // Room for a template's runs per value (cells × seeds) in the tip column.
    let runs = s
        .points
        .iter()
        .map(|p| p.runs.to_string().len())
        .max()
        .unwrap_or(1)
        .max(2);
    let under = match &s.template {
        Some(t) => format!("each of the {} cells of `{t}`", s.triggers),
        None => s.schedule.join(" "),
    };
    let mut out = format!(
        "{} `{}` under {under} on {} seeds\n  {:>width$}   tip    amplif.  TTR (median)  goodput under trigger\n",
        s.scenario,
        s.param,
        s.seeds.len(),
        "value"
    );
    for p in &s.points {
        out += &format!(
            "  {:>width$}{} {:>runs$}/{:<runs$}  {:>6.2}x  {:>12}  {:>5.0} %{}\n",
            p.value,
            if p.refined { "*" } else { " " },
            p.tipped,
            p.runs,
            p.amplification,
            p.median_ttr_s
                .map_or("never".to_string(), |t| format!("{t}s")),
            p.goodput_under_trigger * 100.0,
            match (p.errors, p.unhealthy) {
                (0, 0) => String::new(),
                (e, 0) => format!("  ({e} could not be simulated)"),
                (_, u) => format!("  ({u} unhealthy baseline)"),
            }
        );
    }
    if s.points.iter().any(|p| p.refined) {
        out += "  (* placed by bisection)\n";
    }
    for (a, b) in &s.boundaries {
        out += &format!(
            "verdict turns between {} = {a} and {b} (bisected down to {})\n",
            s.param,
            if s.log {
                format!("×{:.3}", s.resolution)
            } else {
                crate::scenario::number(s.resolution)
            }
        );
    }
    let compared = if s.triggers > 1 { "runs" } else { "seeds" };
    for r in &s.no_effect {
        out += &format!(
            "no effect: `{}` {}..{}: identical behaviour on {}/{} {compared} ({} values)\n",
            s.param, r.from, r.to, r.seeds, r.seeds, r.values
        );
    }
    out
}
