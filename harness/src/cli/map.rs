//! `map`: one template's tipping fraction over a duration × magnitude grid.

use super::Exit;
use super::{bad_input, emit, jobs, output, preflight, Env, Failure};
use crate::engine::EngineKind;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub(super) struct MapArgs {
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
    #[arg(long, default_value_t = 4, value_parser = parse_seeds)]
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
    /// Cells, at most, placed after the grid between neighbouring cells
    /// whose outcome (tipped or not) or kind of harm differs, halving the
    /// gap each time: a band narrower than a row is found (0 to 4096).
    #[arg(long, default_value_t = crate::map::DEFAULT_REFINE, value_name = "N")]
    refine: usize,
    /// The simulator. A build runs one engine: madsim needs the madsim build
    /// (`cargo madsim-build`, then target/madsim/release/hormesis); see docs/engines.md.
    #[arg(long, value_enum, default_value = EngineKind::BUILT.name())]
    engine: EngineKind,
}

fn parse_seeds(text: &str) -> Result<usize, String> {
    let max = crate::map::MAX_SEEDS;
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("`{text}`: a number of seeds from 1 to {max}"))
}

pub(super) fn parse_grid(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{text}`: write the grid as WxH, e.g. 8x8");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (usize, usize) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    let max = crate::map::MAX_GRID;
    if !(1..=max).contains(&w) || !(1..=max).contains(&h) {
        return Err(format!("`{text}`: each side from 1 to {max}"));
    }
    Ok((w, h))
}

pub(super) fn command(env: &Env, args: MapArgs) -> Result<Exit, Failure> {
    use crate::map::{self, MapConfig, MapError};
    preflight(&[output("--json", args.json.as_deref())], &[])?;
    let scenario = env.find(&args.scenario)?;
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
        refine: args.refine,
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
        MapError::Config(m) => bad_input(m),
        MapError::Setting(s) => bad_input(s.as_flag()),
    })?;
    let grid_runs: usize = m.cells.iter().filter(|c| !c.refined).map(|c| c.runs).sum();
    let refined: Vec<&map::MapCell> = m.cells.iter().filter(|c| c.refined).collect();
    let mut out = format!(
        "{} `{}` from {}s: {:.1} % of {} grid runs tip (fraction of seeds per cell; `.` none; `*` refined{}); durations {}, magnitudes {} ({})\n",
        m.scenario,
        m.template,
        m.onset_s,
        m.tipping_fraction * 100.0,
        grid_runs,
        if refined.is_empty() {
            String::new()
        } else {
            format!(
                ", {} cells, {} of them tipping",
                refined.len(),
                refined.iter().filter(|c| c.tipped > 0).count()
            )
        },
        m.duration_scale.name(),
        m.magnitude_scale.name(),
        m.unit
    );
    out += &map::table(&m);
    if m.cells.iter().all(|c| c.tipped == 0) && m.unhealthy_runs == 0 {
        out += &format!("{}\n", map::resolution(&m));
    }
    if m.unhealthy_runs > 0 {
        out += &format!(
            "UNHEALTHY-BASELINE: {} of {} runs had no healthy baseline to judge recovery against \
             (`ub` in the table: no goodput before the fault, or a control without faults that \
             collapsed): the system as configured is dead or overloaded, which is a finding, not \
             headroom\n",
            m.unhealthy_runs,
            m.cells.iter().map(|c| c.runs).sum::<usize>()
        );
    }
    emit(&out, args.json.as_deref(), &m)?;
    Ok(Exit::finding_if(m.unhealthy_runs > 0))
}
