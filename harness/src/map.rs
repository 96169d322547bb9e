//! The vulnerability map of one fault template: the fraction of seeds that
//! tip over a duration × magnitude grid at a fixed onset. It says how large
//! a scenario's failing region is (a benchmark's ground truth) and how much
//! headroom a system has.
//!
//! Every cell runs on the same seeds, each seed's control run simulated
//! once and shared; runs spread over `jobs` threads and the map is the same
//! for any `jobs`.

use crate::engine::EngineKind;
use crate::explore::{parallel, shard_seeds};
use crate::run::{self, Control, RunError, RunPlan};
use crate::scenario::Scenario;
use crate::verdict::Class;
use hormesis_faults::space::{Space, Span};
use hormesis_faults::Schedule;
use serde::Serialize;
use std::time::Duration;

/// What to map.
#[derive(Clone)]
pub struct MapConfig {
    pub scenario: &'static dyn Scenario,
    pub overrides: Vec<String>,
    pub engine: EngineKind,
    /// A template name as `explore` labels arms, e.g. `load-spike`,
    /// `crash host=server`, `knob service-time`.
    pub template: String,
    /// Points along the duration and the magnitude axes (1 for an axis the
    /// template lacks).
    pub grid: (usize, usize),
    /// Seeds per cell, derived from `seed`.
    pub seeds: usize,
    pub seed: u64,
    /// When the fault starts; the warm-up's end by default.
    pub onset: Option<Duration>,
    pub jobs: usize,
}

/// The largest grid side: 64 × 64 cells.
pub const MAX_GRID: usize = 64;
/// The most seeds per cell.
pub const MAX_SEEDS: usize = 100;

/// One grid point.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MapCell {
    /// Null for a template without a duration (an action knob).
    pub duration_s: Option<f64>,
    /// Null for a template without a magnitude (crash, partition, hold).
    pub magnitude: Option<f64>,
    /// The event, as an inline spec.
    pub fault: String,
    pub runs: usize,
    pub tipped: usize,
    /// tipped / runs (runs that could not be simulated left out).
    pub fraction: f64,
    /// Mean stress of the runs ([`crate::stress`]): how near the cell is
    /// to tipping where it does not.
    pub mean_stress: f64,
    pub errors: usize,
    /// Runs with no healthy baseline (`unhealthy-baseline`): counted in
    /// `runs`, never as recovering.
    pub unhealthy: usize,
}

/// The `map --json` output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VulnerabilityMap {
    pub hormesis_version: &'static str,
    pub scenario: String,
    pub engine: EngineKind,
    pub template: String,
    pub set: Vec<String>,
    pub onset_s: f64,
    pub seeds: Vec<u64>,
    /// The duration axis, seconds (empty without one).
    pub durations_s: Vec<f64>,
    /// The magnitude axis (empty without one), weakest first, as the faults
    /// hold it (a capacity knob's values, falling).
    pub magnitudes: Vec<f64>,
    /// Duration-major: every magnitude of the first duration, then the next.
    pub cells: Vec<MapCell>,
    /// The fraction of all runs that tipped: the failing region's size.
    pub tipping_fraction: f64,
    /// Runs with no healthy baseline to judge against: a system dead or
    /// overloaded as configured. Any makes `map` exit 1.
    pub unhealthy_runs: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{0}")]
    Config(String),
}

/// `n` points across `span`, on its grid, without repeats.
fn axis(span: Option<Span>, n: usize) -> Vec<f64> {
    let Some(span) = span else {
        return Vec::new();
    };
    let mut points: Vec<f64> = (0..n)
        .map(|i| {
            let t = if n == 1 {
                1.0
            } else {
                i as f64 / (n - 1) as f64
            };
            span.snap(span.lo + t * (span.hi - span.lo))
        })
        .collect();
    points.dedup();
    points
}

/// The points of one axis of a map; a template without that axis (no
/// duration, no magnitude) has the single point `None`.
pub fn along(axis: &[f64]) -> Vec<Option<f64>> {
    if axis.is_empty() {
        vec![None]
    } else {
        axis.iter().map(|&v| Some(v)).collect()
    }
}

/// Maps the template: every grid cell on every seed.
pub fn map(config: &MapConfig) -> Result<VulnerabilityMap, MapError> {
    let (w, h) = config.grid;
    if !(1..=MAX_GRID).contains(&w) || !(1..=MAX_GRID).contains(&h) {
        return Err(MapError::Config(format!(
            "--grid {w}x{h}: each side from 1 to {MAX_GRID}"
        )));
    }
    if !(1..=MAX_SEEDS).contains(&config.seeds) {
        return Err(MapError::Config(format!(
            "--seeds {}: from 1 to {MAX_SEEDS}",
            config.seeds
        )));
    }
    let seeds = shard_seeds(config.seed, config.seeds, (0, 1));
    let plan = |seed: u64, schedule: Schedule| {
        RunPlan::new(
            config.scenario,
            &config.overrides,
            schedule,
            "map",
            None,
            seed,
            config.engine,
        )
    };
    let probe = plan(seeds[0], Schedule::default())?;
    let layout = config
        .scenario
        .build(&probe.params)
        .map_err(|e| MapError::Config(e.message))?
        .layout()
        .clone();
    let target = run::target(config.scenario, &layout);
    let space = Space::new(&target, layout.warmup);
    let Some(template) = space.templates.iter().find(|t| t.name == config.template) else {
        return Err(MapError::Config(format!(
            "scenario `{}` has no template `{}`; allowed: {}",
            config.scenario.name(),
            config.template,
            space
                .templates
                .iter()
                .map(|t| format!("`{}`", t.name))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let onset = config.onset.unwrap_or(layout.warmup).as_secs_f64();
    let durations = axis(template.duration, w);
    let magnitudes = axis(template.magnitude, h);
    let points: Vec<(Option<f64>, Option<f64>)> = along(&durations)
        .into_iter()
        .flat_map(|d| along(&magnitudes).into_iter().map(move |m| (d, m)))
        .collect();
    let events: Vec<_> = points
        .iter()
        .map(|&(d, m)| {
            let mut point = vec![onset];
            point.extend(d);
            point.extend(m);
            template.event(&point)
        })
        .collect();
    // Refuse a grid that cannot run (an onset past what validation
    // accepts) before simulating anything.
    for event in &events {
        plan(seeds[0], Schedule::new(vec![event.clone()]))?;
    }
    let longest = events.iter().map(|e| e.end()).max().unwrap_or_default();
    let control_end = longest + layout.horizon;
    let controls: Vec<Control> = parallel(config.jobs, seeds.len(), |i| {
        run::control(&plan(seeds[i], Schedule::default())?, control_end)
    })?;
    let outcomes: Vec<Option<(Class, f64)>> =
        parallel(config.jobs, events.len() * seeds.len(), |k| {
            let (cell, s) = (k / seeds.len(), k % seeds.len());
            let schedule = Schedule::new(vec![events[cell].clone()]);
            let outcome = plan(seeds[s], schedule)
                .and_then(|p| run::run_with_control(&p, Some(&controls[s])))
                .ok()
                .map(|r| (r.verdict.class, r.stress));
            Ok::<_, RunError>(outcome)
        })?;
    // Reported in the fault's own terms (a capacity knob's value held, not
    // its cut below the default), so the table and the heatmap read as the
    // faults do; the axis keeps its order, weakest first.
    let shown = |m: Option<f64>| m.map(|m| template.value_of(m));
    let cells: Vec<MapCell> = points
        .iter()
        .zip(&events)
        .enumerate()
        .map(|(i, (&(d, m), event))| {
            let runs = &outcomes[i * seeds.len()..(i + 1) * seeds.len()];
            let done: Vec<(Class, f64)> = runs.iter().flatten().copied().collect();
            let tipped = done.iter().filter(|r| r.0 == Class::Metastable).count();
            let unhealthy = done
                .iter()
                .filter(|r| r.0 == Class::UnhealthyBaseline)
                .count();
            let n = done.len();
            MapCell {
                duration_s: d,
                magnitude: shown(m),
                fault: event.to_spec(),
                runs: n,
                tipped,
                fraction: if n == 0 {
                    0.0
                } else {
                    tipped as f64 / n as f64
                },
                mean_stress: if n == 0 {
                    0.0
                } else {
                    done.iter().map(|r| r.1).sum::<f64>() / n as f64
                },
                errors: runs.len() - n,
                unhealthy,
            }
        })
        .collect();
    let (runs, tipped) = cells
        .iter()
        .fold((0, 0), |(r, t), c| (r + c.runs, t + c.tipped));
    let unhealthy_runs = cells.iter().map(|c| c.unhealthy).sum();
    Ok(VulnerabilityMap {
        hormesis_version: env!("CARGO_PKG_VERSION"),
        scenario: config.scenario.name().to_string(),
        engine: config.engine,
        template: template.name.clone(),
        set: config.overrides.clone(),
        onset_s: onset,
        seeds,
        durations_s: durations,
        magnitudes: magnitudes.iter().map(|&m| template.value_of(m)).collect(),
        cells,
        tipping_fraction: if runs == 0 {
            0.0
        } else {
            tipped as f64 / runs as f64
        },
        unhealthy_runs,
    })
}

/// The map as a table: magnitudes down (strongest first: a capacity knob's
/// lowest value), durations across,
/// each entry the fraction of seeds that tipped.
pub fn table(map: &VulnerabilityMap) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let columns = along(&map.durations_s);
    let mut rows = along(&map.magnitudes);
    rows.reverse();
    let _ = write!(out, "{:>10} ", "for →");
    for d in &columns {
        let _ = write!(out, "{:>6}", d.map_or("-".into(), |d| format!("{d}s")));
    }
    out.push('\n');
    for m in &rows {
        let _ = write!(out, "{:>10} ", m.map_or("-".into(), |m| format!("{m}")));
        for d in &columns {
            let cell = map
                .cells
                .iter()
                .find(|c| c.duration_s == *d && c.magnitude == *m);
            let shown = match cell {
                Some(c) if c.runs == 0 => "err".to_string(),
                Some(c) if c.unhealthy == c.runs => "ub".to_string(),
                Some(c) if c.tipped == 0 => ".".to_string(),
                Some(c) => format!("{:.2}", c.fraction),
                None => "?".to_string(),
            };
            let _ = write!(out, "{shown:>6}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_spread_over_the_span_on_its_grid() {
        let span = Span {
            lo: 1.0,
            hi: 30.0,
            step: 1.0,
        };
        assert_eq!(axis(Some(span), 4), vec![1.0, 11.0, 20.0, 30.0]);
        assert_eq!(axis(Some(span), 1), vec![30.0]);
        // More points than grid steps: no repeats.
        let narrow = Span {
            lo: 1.0,
            hi: 2.0,
            step: 1.0,
        };
        assert_eq!(axis(Some(narrow), 5), vec![1.0, 2.0]);
        assert!(axis(None, 5).is_empty());
    }
}
