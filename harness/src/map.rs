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
use crate::setting::BadSetting;
use crate::verdict::Class;
use hormesis_faults::space::{Aim, Space, Span, Template};
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
    /// Extra cells, at most, placed between neighbouring cells whose
    /// outcome or kind of harm differ ([`DEFAULT_REFINE`] by default).
    pub refine: usize,
}

/// The largest grid side: 64 × 64 cells.
pub const MAX_GRID: usize = 64;
/// The most seeds per cell.
pub const MAX_SEEDS: usize = 100;
/// The most refined cells.
pub const MAX_REFINE: usize = 4096;
/// Refined cells by default: enough to bisect a boundary a few times
/// along each of a handful of rows, a fraction of an 8×8 grid's cost.
pub const DEFAULT_REFINE: usize = 16;
/// An axis whose values span this ratio or more is log-spaced: its
/// behaviour changes per factor (a delay doubled), not per step.
pub const LOG_RATIO: f64 = 10.0;

/// How an axis is spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    Linear,
    Log,
}

impl Scale {
    /// Log where the values (as the faults hold them) are positive and span
    /// a decade or more; linear otherwise.
    pub fn of(lo: f64, hi: f64) -> Scale {
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        if lo > 0.0 && hi / lo >= LOG_RATIO {
            Scale::Log
        } else {
            Scale::Linear
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scale::Linear => "linear",
            Scale::Log => "log",
        }
    }

    /// The point a fraction `t` of the way from `a` to `b` on this scale.
    fn at(self, a: f64, b: f64, t: f64) -> f64 {
        match self {
            Scale::Linear => a + t * (b - a),
            Scale::Log => (a.ln() + t * (b.ln() - a.ln())).exp(),
        }
    }

    /// How far apart `a` and `b` are on this scale (a ratio on a log one).
    fn gap(self, a: f64, b: f64) -> f64 {
        match self {
            Scale::Linear => (b - a).abs(),
            Scale::Log => (b.max(a) / b.min(a).max(f64::MIN_POSITIVE)).ln(),
        }
    }
}

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
    /// Mean attempts per offered request of the runs: how hard clients
    /// retried under the fault.
    pub mean_amplification: f64,
    pub errors: usize,
    /// Runs with no healthy baseline (`unhealthy-baseline`): counted in
    /// `runs`, never as recovering.
    pub unhealthy: usize,
    /// The kind of harm the fault did while it lasted, as most of the
    /// cell's seeds saw it ([`crate::consequence`]): where it changes
    /// between neighbours, the system changed regime.
    pub harm: Vec<String>,
    /// Placed by refinement between two cells that differ, not on the grid.
    pub refined: bool,
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
    /// The grid asked for (durations × magnitudes).
    pub grid: (usize, usize),
    /// The duration axis, seconds (empty without one), with the refined
    /// points among the grid's.
    pub durations_s: Vec<f64>,
    pub duration_scale: Scale,
    /// The magnitude axis (empty without one), weakest first, as the faults
    /// hold it (a capacity knob's values, falling), refined points included.
    pub magnitudes: Vec<f64>,
    pub magnitude_scale: Scale,
    /// The magnitude's unit: `ms`, `x` (a load factor), `rate`, `value`.
    pub unit: &'static str,
    /// Duration-major: every magnitude of the first duration, then the
    /// next; then the refined cells, in the order they were placed.
    pub cells: Vec<MapCell>,
    /// The fraction of the grid's runs that tipped: the failing region's
    /// size (refined cells, placed at boundaries, are left out of it).
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
    /// A setting outside what it allows.
    #[error(transparent)]
    Setting(#[from] BadSetting),
}

/// What a template's magnitude is measured in.
fn unit_of(template: &Template) -> &'static str {
    match template.aim {
        Aim::Latency(_) => "ms",
        Aim::Loss(_) => "rate",
        Aim::LoadSpike | Aim::LoadStep => "x",
        _ => "value",
    }
}

/// One axis of a template: its span (the values the space holds), the
/// scale its points are spread on, and how a span value reads as the fault
/// holds it: itself, or for a capacity knob's cut the value left
/// (`from - cut`). Both readings are their own inverse.
#[derive(Debug, Clone, Copy)]
struct Axis {
    span: Span,
    scale: Scale,
    reflect: Option<f64>,
}

impl Axis {
    fn new(span: Span, reflect: Option<f64>) -> Axis {
        let mut axis = Axis {
            span,
            scale: Scale::Linear,
            reflect,
        };
        axis.scale = Scale::of(axis.shown(span.lo), axis.shown(span.hi));
        axis
    }

    fn shown(&self, v: f64) -> f64 {
        self.reflect.map_or(v, |from| from - v)
    }

    /// The span value whose shown value is a fraction `t` of the way
    /// across, on the axis's scale, snapped to the span's grid.
    fn point(&self, t: f64) -> f64 {
        let (a, b) = (self.shown(self.span.lo), self.shown(self.span.hi));
        self.span.snap(self.shown(self.scale.at(a, b, t)))
    }

    /// `n` points across, in span order, without repeats.
    fn points(&self, n: usize) -> Vec<f64> {
        let mut points: Vec<f64> = (0..n)
            .map(|i| {
                if n == 1 {
                    self.point(1.0)
                } else {
                    self.point(i as f64 / (n - 1) as f64)
                }
            })
            .collect();
        points.sort_by(f64::total_cmp);
        points.dedup();
        points
    }

    /// The span value halfway between `a` and `b` on the axis's scale,
    /// unless the grid has none strictly between them.
    fn between(&self, a: f64, b: f64) -> Option<f64> {
        let mid = self.scale.at(self.shown(a), self.shown(b), 0.5);
        let mid = self.span.snap(self.shown(mid));
        (mid > a.min(b) && mid < a.max(b)).then_some(mid)
    }

    /// How far apart two span values are, as the faults hold them.
    fn gap(&self, a: f64, b: f64) -> f64 {
        self.scale.gap(self.shown(a), self.shown(b))
    }
}

/// The axes of a template, where it has them.
fn axes(template: &Template) -> (Option<Axis>, Option<Axis>) {
    let reflect = match template.aim {
        Aim::KnobCut { from, .. } => Some(from),
        _ => None,
    };
    (
        template.duration.map(|d| Axis::new(d, None)),
        template.magnitude.map(|m| Axis::new(m, reflect)),
    )
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

/// A point of the map in the template's own terms (span values).
type Point = (Option<f64>, Option<f64>);

/// What one run of a cell showed.
#[derive(Clone)]
struct Outcome {
    class: Class,
    stress: f64,
    amplification: f64,
    harm: Vec<String>,
}

/// Everything a map's runs share: the plan, the template, its onset, the
/// seeds and their controls.
struct Mapper<'c> {
    config: &'c MapConfig,
    template: Template,
    onset: f64,
    seeds: Vec<u64>,
    controls: Vec<Control>,
}

impl Mapper<'_> {
    fn plan(&self, seed: u64, schedule: Schedule) -> Result<RunPlan<'static>, RunError> {
        RunPlan::of(self.config.scenario)
            .sets(&self.config.overrides)
            .schedule(schedule)
            .located("map", None)
            .seed(seed)
            .engine(self.config.engine)
            .build()
    }

    fn event(&self, (d, m): Point) -> hormesis_faults::Event {
        let mut point = vec![self.onset];
        point.extend(d);
        point.extend(m);
        self.template.event(&point)
    }

    /// Runs every point on every seed (in parallel, the same for any
    /// `jobs`) and gathers each point's cell.
    fn cells(&self, points: &[Point], refined: bool) -> Result<Vec<MapCell>, RunError> {
        let n = self.seeds.len();
        let events: Vec<_> = points.iter().map(|&p| self.event(p)).collect();
        let outcomes: Vec<Option<Outcome>> = parallel(self.config.jobs, events.len() * n, |k| {
            let (cell, s) = (k / n, k % n);
            let schedule = Schedule::new(vec![events[cell].clone()]);
            let outcome = self
                .plan(self.seeds[s], schedule)
                .and_then(|p| run::run_with_control(&p, Some(&self.controls[s])))
                .ok()
                .map(|r| Outcome {
                    class: r.verdict.class,
                    stress: r.stress,
                    amplification: r.verdict.amplification,
                    harm: crate::consequence::consequences(&r).signature,
                });
            Ok::<_, RunError>(outcome)
        })?;
        Ok(points
            .iter()
            .zip(&events)
            .zip(outcomes.chunks(n.max(1)))
            .map(|((&(d, m), event), runs)| {
                let done: Vec<&Outcome> = runs.iter().flatten().collect();
                cell_of(
                    d,
                    m.map(|m| self.template.value_of(m)),
                    event.to_spec(),
                    &done,
                    runs.len(),
                    refined,
                )
            })
            .collect())
    }
}

fn cell_of(
    duration_s: Option<f64>,
    magnitude: Option<f64>,
    fault: String,
    done: &[&Outcome],
    runs: usize,
    refined: bool,
) -> MapCell {
    let n = done.len();
    let tipped = done.iter().filter(|r| r.class == Class::Metastable).count();
    let ratio = |x: f64| if n == 0 { 0.0 } else { x / n as f64 };
    MapCell {
        duration_s,
        magnitude,
        fault,
        runs: n,
        tipped,
        fraction: ratio(tipped as f64),
        mean_stress: ratio(done.iter().map(|r| r.stress).sum()),
        mean_amplification: ratio(done.iter().map(|r| r.amplification).sum()),
        errors: runs - n,
        unhealthy: done
            .iter()
            .filter(|r| r.class == Class::UnhealthyBaseline)
            .count(),
        harm: most_common(done.iter().map(|r| &r.harm)),
        refined,
    }
}

/// The value seen most often; among equals, the least.
fn most_common<'a>(values: impl Iterator<Item = &'a Vec<String>>) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<&Vec<String>, usize> = Default::default();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(v, _)| (*v).clone())
        .unwrap_or_default()
}

/// Maps the template: every grid cell on every seed, then up to
/// `config.refine` cells between neighbours that differ.
pub fn map(config: &MapConfig) -> Result<VulnerabilityMap, MapError> {
    let (w, h) = config.grid;
    if !(1..=MAX_GRID).contains(&w) || !(1..=MAX_GRID).contains(&h) {
        return Err(BadSetting::new(
            "grid",
            format!("{w}x{h}"),
            format!("each side from 1 to {MAX_GRID}"),
        )
        .into());
    }
    if !(1..=MAX_SEEDS).contains(&config.seeds) {
        return Err(
            BadSetting::new("seeds", config.seeds, format!("from 1 to {MAX_SEEDS}")).into(),
        );
    }
    if config.refine > MAX_REFINE {
        return Err(BadSetting::new(
            "refine",
            config.refine,
            format!("from 0 to {MAX_REFINE} cells"),
        )
        .into());
    }
    let (mut mapper, horizon) = mapper(config)?;
    let (durations, magnitudes) = axes(&mapper.template);
    let grid: Vec<Point> = along_axis(durations, w)
        .into_iter()
        .flat_map(|d| along_axis(magnitudes, h).into_iter().map(move |m| (d, m)))
        .collect();
    // Refuse a grid that cannot run (an onset past what validation
    // accepts) before simulating anything.
    for &point in &grid {
        mapper.plan(mapper.seeds[0], Schedule::new(vec![mapper.event(point)]))?;
    }
    // Refined points lie within the grid's span (its longest duration is
    // the span's end): its longest event bounds every control.
    let longest = grid
        .iter()
        .map(|&p| mapper.event(p).end())
        .max()
        .unwrap_or_default();
    mapper.controls = parallel(config.jobs, mapper.seeds.len(), |i| {
        run::control(
            &mapper.plan(mapper.seeds[i], Schedule::default())?,
            longest + horizon,
        )
    })?;
    let mut points = grid.clone();
    let mut cells = mapper.cells(&grid, false)?;
    let mut budget = config.refine;
    while budget > 0 {
        let mut next = refinements(&points, &cells, durations, magnitudes);
        next.truncate(budget);
        if next.is_empty() {
            break;
        }
        budget -= next.len();
        cells.extend(mapper.cells(&next, true)?);
        points.extend(next);
    }
    Ok(assemble(
        config,
        &mapper,
        &points,
        cells,
        (durations, magnitudes),
    ))
}
/// The grid of `config`'s template as `map` lays it out (duration-major,
/// no refinement), each cell a one-event schedule, checked against the
/// scenario and run by none: what `sweep --template` runs at every value.
pub fn grid_schedules(config: &MapConfig) -> Result<Vec<Schedule>, MapError> {
    let (w, h) = config.grid;
    if !(1..=MAX_GRID).contains(&w) || !(1..=MAX_GRID).contains(&h) {
        return Err(BadSetting::new(
            "grid",
            format!("{w}x{h}"),
            format!("each side from 1 to {MAX_GRID}"),
        )
        .into());
    }
    let (mapper, _) = mapper(config)?;
    let (durations, magnitudes) = axes(&mapper.template);
    let mut schedules = Vec::new();
    for d in along_axis(durations, w) {
        for m in along_axis(magnitudes, h) {
            let schedule = Schedule::new(vec![mapper.event((d, m))]);
            mapper.plan(mapper.seeds[0], schedule.clone())?;
            schedules.push(schedule);
        }
    }
    Ok(schedules)
}

/// The template and seeds of `config`, its scenario's horizon; no run yet.
fn mapper(config: &MapConfig) -> Result<(Mapper<'_>, Duration), MapError> {
    let seeds = shard_seeds(config.seed, config.seeds, (0, 1));
    let probe = RunPlan::of(config.scenario)
        .sets(&config.overrides)
        .located("map", None)
        .seed(seeds[0])
        .engine(config.engine)
        .build()?;
    let layout = config
        .scenario
        .build(&probe.params)
        .map_err(|e| MapError::Config(e.message))?
        .layout()
        .clone();
    let target = run::fault_space(config.scenario, &probe.params, &layout);
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
    let mapper = Mapper {
        config,
        template: template.clone(),
        onset: config.onset.unwrap_or(layout.warmup).as_secs_f64(),
        seeds,
        controls: Vec::new(),
    };
    Ok((mapper, layout.horizon))
}

/// `n` points of `axis`, or the single point `None` without one.
fn along_axis(axis: Option<Axis>, n: usize) -> Vec<Option<f64>> {
    match axis {
        Some(a) => a.points(n).into_iter().map(Some).collect(),
        None => vec![None],
    }
}

/// Why two neighbouring cells are worth a cell between them, most telling
/// first: one tipped and the other did not, or the fault did another kind
/// of harm (a change of regime, where a narrow band can hide).
fn difference(a: &MapCell, b: &MapCell) -> Option<u8> {
    // A cell with no healthy baseline has no boundary to find: the system
    // is dead there whatever the fault.
    let dead = |c: &MapCell| c.runs == 0 || c.unhealthy == c.runs;
    if dead(a) || dead(b) {
        None
    } else if (a.tipped > 0) != (b.tipped > 0) {
        Some(0)
    } else if a.harm != b.harm {
        Some(1)
    } else {
        None
    }
}

/// The points to run next: between each pair of neighbours (along either
/// axis) that differ, widest gap first within each kind of difference;
/// none already measured.
fn refinements(
    points: &[Point],
    cells: &[MapCell],
    durations: Option<Axis>,
    magnitudes: Option<Axis>,
) -> Vec<Point> {
    // (kind, -gap, point): sorted, the most telling and widest first.
    let mut wanted: Vec<(u8, f64, Point)> = Vec::new();
    let mut consider = |axis: Axis, pairs: Vec<(usize, usize)>, along_duration: bool| {
        for (i, j) in pairs {
            let Some(kind) = difference(&cells[i], &cells[j]) else {
                continue;
            };
            let (a, b) = (points[i], points[j]);
            let (x, y) = if along_duration {
                (a.0, b.0)
            } else {
                (a.1, b.1)
            };
            let (Some(x), Some(y)) = (x, y) else { continue };
            let Some(mid) = axis.between(x, y) else {
                continue;
            };
            let point = if along_duration {
                (Some(mid), a.1)
            } else {
                (a.0, Some(mid))
            };
            wanted.push((kind, -axis.gap(x, y), point));
        }
    };
    if let Some(axis) = magnitudes {
        consider(axis, neighbours(points, |p| p.0, |p| p.1), false);
    }
    if let Some(axis) = durations {
        consider(axis, neighbours(points, |p| p.1, |p| p.0), true);
    }
    wanted.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(cmp_point(&a.2, &b.2))
    });
    let mut out: Vec<Point> = Vec::new();
    for (_, _, p) in wanted {
        if !points.contains(&p) && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

fn cmp_point(a: &Point, b: &Point) -> std::cmp::Ordering {
    let key = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
    key(a.0)
        .total_cmp(&key(b.0))
        .then(key(a.1).total_cmp(&key(b.1)))
}

/// Index pairs of points adjacent along one axis: same `line` value,
/// consecutive in `along` order.
fn neighbours(
    points: &[Point],
    line: impl Fn(&Point) -> Option<f64>,
    along: impl Fn(&Point) -> Option<f64>,
) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    let key = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
    order.sort_by(|&i, &j| {
        key(line(&points[i]))
            .total_cmp(&key(line(&points[j])))
            .then(key(along(&points[i])).total_cmp(&key(along(&points[j]))))
    });
    order
        .windows(2)
        .filter(|w| line(&points[w[0]]) == line(&points[w[1]]))
        .map(|w| (w[0], w[1]))
        .collect()
}

/// The map of the measured points and their cells.
fn assemble(
    config: &MapConfig,
    mapper: &Mapper<'_>,
    points: &[Point],
    cells: Vec<MapCell>,
    (durations, magnitudes): (Option<Axis>, Option<Axis>),
) -> VulnerabilityMap {
    let sorted = |pick: fn(&Point) -> Option<f64>| {
        let mut v: Vec<f64> = points.iter().filter_map(pick).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let grid = cells.iter().filter(|c| !c.refined);
    let (runs, tipped) = grid.fold((0, 0), |(r, t), c| (r + c.runs, t + c.tipped));
    VulnerabilityMap {
        hormesis_version: env!("CARGO_PKG_VERSION"),
        scenario: config.scenario.name().to_string(),
        engine: config.engine,
        template: mapper.template.name.clone(),
        set: config.overrides.clone(),
        onset_s: mapper.onset,
        seeds: mapper.seeds.clone(),
        grid: config.grid,
        durations_s: sorted(|p| p.0),
        duration_scale: durations.map_or(Scale::Linear, |a| a.scale),
        magnitudes: sorted(|p| p.1)
            .iter()
            .map(|&m| mapper.template.value_of(m))
            .collect(),
        magnitude_scale: magnitudes.map_or(Scale::Linear, |a| a.scale),
        unit: unit_of(&mapper.template),
        unhealthy_runs: cells.iter().map(|c| c.unhealthy).sum(),
        tipping_fraction: if runs == 0 {
            0.0
        } else {
            tipped as f64 / runs as f64
        },
        cells,
    }
}

/// A magnitude as the map shows it, in its unit.
pub fn label(value: f64, unit: &str) -> String {
    match unit {
        "ms" => format!("{value}ms"),
        "x" => format!("x{value}"),
        _ => format!("{value}"),
    }
}

/// The map as a table: magnitudes down (strongest first: a capacity knob's
/// lowest value), durations across, each entry the fraction of seeds that
/// tipped; refined cells among the grid's at their true positions, marked
/// `*`, and blank where nothing ran.
pub fn table(map: &VulnerabilityMap) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let columns = along(&map.durations_s);
    let mut rows = along(&map.magnitudes);
    rows.reverse();
    let _ = write!(out, "{:>10} ", "for →");
    for d in &columns {
        let _ = write!(out, "{:>7}", d.map_or("-".into(), |d| format!("{d}s")));
    }
    out.push('\n');
    for m in &rows {
        let _ = write!(out, "{:>10} ", m.map_or("-".into(), |m| label(m, map.unit)));
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
                None => String::new(),
            };
            let mark = if cell.is_some_and(|c| c.refined) {
                "*"
            } else {
                " "
            };
            let _ = write!(out, "{shown:>6}{mark}");
        }
        out.push('\n');
    }
    out
}

/// How fine the map looked, for a map where nothing tipped: its grid, each
/// axis's range and spacing, and the widest gap between neighbouring
/// points, which a narrower failing band could fall within.
pub fn resolution(map: &VulnerabilityMap) -> String {
    let refined = map.cells.iter().filter(|c| c.refined).count();
    let mut parts = vec![format!(
        "no tip on a {}×{} grid{}",
        map.grid.0,
        map.grid.1,
        if refined > 0 {
            format!(" and {refined} refined cells")
        } else {
            String::new()
        }
    )];
    let mut gaps = Vec::new();
    let mut describe = |name: &str, values: &[f64], scale: Scale, show: &dyn Fn(f64) -> String| {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let (Some(&lo), Some(&hi)) = (v.first(), v.last()) else {
            return;
        };
        if lo == hi {
            parts.push(format!("{name} {} only", show(lo)));
            return;
        }
        parts.push(format!(
            "{name} {}–{}, {}-spaced",
            show(lo),
            show(hi),
            scale.name()
        ));
        let widest = v
            .windows(2)
            .map(|w| (scale.gap(w[0], w[1]), w[0], w[1]))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((gap, a, b)) = widest {
            let size = match scale {
                Scale::Log => format!("×{:.1}", gap.exp()),
                Scale::Linear => show(gap),
            };
            gaps.push(format!("{size} in {name} ({} → {})", show(a), show(b)));
        }
    };
    describe("durations", &map.durations_s, map.duration_scale, &|d| {
        format!("{d}s")
    });
    describe("magnitudes", &map.magnitudes, map.magnitude_scale, &|m| {
        label(crate::scenario::number(m).parse().unwrap_or(m), map.unit)
    });
    let mut text = parts.join("; ");
    if !gaps.is_empty() {
        text += &format!(
            "; a failing band narrower than {} could be missed: --grid or --refine looks closer",
            gaps.join(" or ")
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(lo: f64, hi: f64, step: f64) -> Span {
        Span { lo, hi, step }
    }

    #[test]
    fn an_axis_over_a_decade_is_log_spaced_on_its_grid() {
        let latency = Axis::new(span(20.0, 2000.0, 10.0), None);
        assert_eq!(latency.scale, Scale::Log);
        assert_eq!(latency.points(3), vec![20.0, 200.0, 2000.0]);
        assert_eq!(
            latency.points(6),
            vec![20.0, 50.0, 130.0, 320.0, 800.0, 2000.0]
        );
        let durations = Axis::new(span(1.0, 30.0, 1.0), None);
        assert_eq!(durations.points(4), vec![1.0, 3.0, 10.0, 30.0]);
        assert_eq!(durations.points(1), vec![30.0]);
        // More points than grid steps: no repeats.
        assert_eq!(
            Axis::new(span(1.0, 2.0, 1.0), None).points(5),
            vec![1.0, 2.0]
        );
        // A load factor within a decade stays linear.
        let factor = Axis::new(span(1.2, 5.0, 0.1), None);
        assert_eq!(factor.scale, Scale::Linear);
        assert_eq!(factor.points(3), vec![1.2, 3.1, 5.0]);
    }

    #[test]
    fn a_capacity_cut_is_spaced_by_the_value_it_leaves() {
        // Cuts of 0.018..0.9 below 1.0 leave 0.982 down to 0.1: just under
        // a decade, so linear in the value held, evenly from 0.1 up.
        let cut = Axis::new(span(0.018, 0.9, 0.018), Some(1.0));
        assert_eq!(cut.scale, Scale::Linear);
        let values: Vec<f64> = cut
            .points(3)
            .iter()
            .map(|c| ((1.0 - c) * 1000.0).round() / 1000.0)
            .collect();
        assert_eq!(values, [0.982, 0.532, 0.1]);
        // Cut to a twentieth: a decade and more, so log in the value held.
        let deep = Axis::new(span(0.05, 0.95, 0.05), Some(1.0));
        assert_eq!(deep.scale, Scale::Log);
        let values: Vec<f64> = deep
            .points(3)
            .iter()
            .map(|c| ((1.0 - c) * 100.0).round() / 100.0)
            .collect();
        assert_eq!(values, [0.95, 0.2, 0.05]);
    }

    #[test]
    fn between_halves_on_the_scale_and_stops_at_the_grid() {
        let latency = Axis::new(span(20.0, 2000.0, 10.0), None);
        assert_eq!(latency.between(200.0, 800.0), Some(400.0));
        assert_eq!(latency.between(20.0, 30.0), None);
        let linear = Axis::new(span(1.2, 5.0, 0.1), None);
        assert_eq!(linear.between(1.2, 3.0), Some(2.1));
    }

    fn cell(tipped: usize, harm: &[&str]) -> MapCell {
        MapCell {
            duration_s: None,
            magnitude: None,
            fault: String::new(),
            runs: 2,
            tipped,
            fraction: tipped as f64 / 2.0,
            mean_stress: 0.0,
            mean_amplification: 1.0,
            errors: 0,
            unhealthy: 0,
            harm: harm.iter().map(|s| s.to_string()).collect(),
            refined: false,
        }
    }

    /// Refinement splits where the outcome or the kind of harm changes,
    /// tips first, and never where neighbours agree.
    #[test]
    fn refinement_splits_between_neighbours_that_differ() {
        let latency = Axis::new(span(20.0, 2000.0, 10.0), None);
        let points: Vec<Point> = [20.0, 130.0, 800.0, 2000.0]
            .iter()
            .map(|&m| (Some(10.0), Some(m)))
            .collect();
        let cells = vec![
            cell(0, &[]),
            cell(0, &[]),
            cell(0, &["timeouts"]),
            cell(1, &["timeouts"]),
        ];
        let next = refinements(&points, &cells, None, Some(latency));
        // 800 → 2000 tips on one side only: first; 130 → 800 changes harm.
        assert_eq!(
            next,
            vec![(Some(10.0), Some(1260.0)), (Some(10.0), Some(320.0))]
        );
        let calm = vec![cell(0, &[]); 4];
        assert!(refinements(&points, &calm, None, Some(latency)).is_empty());
        // A dead cell (no healthy baseline) has no boundary to refine.
        let mut dead = cells.clone();
        for c in &mut dead[2..] {
            c.unhealthy = c.runs;
        }
        assert!(refinements(&points, &dead, None, Some(latency)).is_empty());
    }

    #[test]
    fn a_map_that_never_tipped_states_its_resolution() {
        let m = VulnerabilityMap {
            hormesis_version: "",
            scenario: "s".into(),
            engine: EngineKind::Turmoil,
            template: "latency host=server".into(),
            set: Vec::new(),
            onset_s: 30.0,
            seeds: vec![1],
            grid: (2, 3),
            durations_s: vec![1.0, 30.0],
            duration_scale: Scale::Log,
            magnitudes: vec![20.0, 200.0, 2000.0],
            magnitude_scale: Scale::Log,
            unit: "ms",
            cells: Vec::new(),
            tipping_fraction: 0.0,
            unhealthy_runs: 0,
        };
        let text = resolution(&m);
        assert!(text.starts_with("no tip on a 2×3 grid"), "{text}");
        assert!(
            text.contains("magnitudes 20ms–2000ms, log-spaced"),
            "{text}"
        );
        assert!(text.contains("×10.0 in magnitudes ("), "{text}");
        assert!(text.contains("×30.0 in durations"), "{text}");
    }
}
