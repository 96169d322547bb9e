//! Sweeping one setting: the same trigger run across a parameter's range on
//! shared seeds, to see headroom as a function of what a team changes (a
//! timeout, a pool size, a retry percentage), where the verdict turns (found
//! by bisection to a stated resolution), and the ranges where the setting
//! changes nothing at all: neighbouring values whose runs behave identically
//! on every seed ([`crate::run::RunReport::behaviour`]), as when the code
//! rounds, clamps or ignores the value. A deterministic simulator is the one
//! tool that can prove such a thing.
//!
//! The trigger is one schedule, or a fault template's map grid (`--template`):
//! then every value runs every cell on every seed, and its fraction is the
//! size of the failing region at that setting, headroom over configuration.

use crate::engine::EngineKind;
use crate::explore::{parallel, shard_seeds};
use crate::run::{self, RunError, RunPlan, RunReport};
use crate::scenario::{number, ParamKind, Scenario};
use crate::setting::BadSetting;
use crate::verdict::Class;
use hormesis_faults::{format_duration, parse_duration, Schedule};
use serde::Serialize;
use std::time::Duration;

/// What to sweep.
#[derive(Clone)]
pub struct SweepConfig {
    pub scenario: &'static dyn Scenario,
    /// Other parameters, held for every value.
    pub overrides: Vec<String>,
    pub engine: EngineKind,
    /// The parameter swept, and its range as the user wrote it.
    pub param: String,
    pub lo: String,
    pub hi: String,
    /// Values across the range (2 to [`MAX_STEPS`]).
    pub steps: usize,
    /// Spread the values geometrically (the range must be positive).
    pub log: bool,
    /// The trigger; empty when `template` gives the triggers.
    pub schedule: Schedule,
    /// A fault template (as `map --template` names it) whose grid of
    /// `grid` cells (durations × magnitudes) every value runs, in place of
    /// `schedule`.
    pub template: Option<String>,
    pub grid: (usize, usize),
    pub seeds: usize,
    pub seed: u64,
    pub jobs: usize,
    /// Extra values, at most, bisecting where the tipping fraction changes.
    pub refine: usize,
}

/// The most values across a range, and the most seeds.
pub const MAX_STEPS: usize = 100;
pub const MAX_SEEDS: usize = 100;
pub const MAX_REFINE: usize = 100;

/// One value's runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SweepPoint {
    /// The value, as `--set` takes it.
    pub value: String,
    /// The value as a number (seconds for a duration).
    pub x: f64,
    /// Runs simulated: seeds × triggers, less errors.
    pub runs: usize,
    pub tipped: usize,
    /// tipped / runs.
    pub fraction: f64,
    /// Runs with no healthy baseline.
    pub unhealthy: usize,
    /// Mean attempts per offered request over the run.
    pub amplification: f64,
    /// Median time to recover over the seeds that did; null when none did.
    pub median_ttr_s: Option<f64>,
    /// Mean goodput while the trigger lasted, as a fraction of G0.
    pub goodput_under_trigger: f64,
    /// Each run's behaviour digest, trigger-major then in seed order
    /// (empty where a run could not be simulated).
    pub behaviour: Vec<String>,
    pub errors: usize,
    /// Placed by bisection, not on the first spread of values.
    pub refined: bool,
}

/// Neighbouring values whose runs behaved identically on every seed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NoEffect {
    pub from: String,
    pub to: String,
    /// Values measured in the range (at least two).
    pub values: usize,
    /// Runs compared per value: seeds × triggers.
    pub seeds: usize,
}

/// The `sweep --json` output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sweep {
    pub hormesis_version: &'static str,
    pub scenario: String,
    pub engine: EngineKind,
    pub param: String,
    pub set: Vec<String>,
    /// The trigger's events as inline specs; with a template, one per
    /// grid cell (each its own trigger).
    pub schedule: Vec<String>,
    /// The template whose grid each value ran; null for one trigger.
    pub template: Option<String>,
    /// Triggers per value: 1, or the template grid's cells.
    pub triggers: usize,
    pub seeds: Vec<u64>,
    pub log: bool,
    /// The gap below which bisection stops (in the value's units; a ratio
    /// on a log sweep).
    pub resolution: f64,
    /// Every value measured, in order of value.
    pub points: Vec<SweepPoint>,
    /// Where the tipping fraction changes between neighbours.
    pub boundaries: Vec<(String, String)>,
    pub no_effect: Vec<NoEffect>,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{0}")]
    Config(String),
    /// A setting outside what it allows.
    #[error(transparent)]
    Setting(#[from] BadSetting),
}

/// How the swept parameter reads and writes values.
#[derive(Clone, Copy)]
enum Kind {
    Int { min: f64, max: f64 },
    Float { min: f64, max: f64 },
    Duration { min: f64, max: f64 },
}

impl Kind {
    fn of(config: &SweepConfig) -> Result<Kind, SweepError> {
        let specs = config.scenario.params();
        let Some(spec) = specs.iter().find(|p| p.name == config.param) else {
            return Err(SweepError::Config(format!(
                "scenario `{}` has no parameter `{}`; numeric ones: {}",
                config.scenario.name(),
                config.param,
                specs
                    .iter()
                    .filter(|p| !matches!(p.kind, ParamKind::Choice { .. }))
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        Ok(match &spec.kind {
            ParamKind::Int { min, max } => Kind::Int {
                min: *min as f64,
                max: *max as f64,
            },
            ParamKind::Float { min, max } => Kind::Float {
                min: *min,
                max: *max,
            },
            ParamKind::Duration { min, max } => Kind::Duration {
                min: min.as_secs_f64(),
                max: max.as_secs_f64(),
            },
            ParamKind::Choice { options } => {
                return Err(SweepError::Config(format!(
                    "`{}` is a choice ({}), not a number to sweep; run each with --set",
                    config.param,
                    options.join(", ")
                )))
            }
        })
    }

    fn read(self, name: &str, text: &str) -> Result<f64, SweepError> {
        let bad = |why: String| SweepError::Config(format!("--param {name}: `{text}`: {why}"));
        let (v, min, max) = match self {
            Kind::Int { min, max } => (
                text.trim()
                    .parse::<u64>()
                    .map_err(|_| bad("expected a whole number".into()))? as f64,
                min,
                max,
            ),
            Kind::Float { min, max } => (
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad("expected a number".into()))?,
                min,
                max,
            ),
            Kind::Duration { min, max } => {
                (parse_duration(text).map_err(bad)?.as_secs_f64(), min, max)
            }
        };
        if !(min..=max).contains(&v) {
            return Err(bad(format!(
                "outside the parameter's range {}..={}",
                self.write(min),
                self.write(max)
            )));
        }
        Ok(v)
    }

    /// `x` on the parameter's own grid: whole numbers; six decimals; a
    /// duration in whole milliseconds over a range of 10 ms or more, else
    /// in microseconds.
    fn snap(self, x: f64, range: f64) -> f64 {
        let on = |grid: f64| (x / grid).round() * grid;
        match self {
            Kind::Int { .. } => x.round(),
            Kind::Float { .. } => (x * 1e6).round() / 1e6,
            Kind::Duration { .. } if range >= 0.01 => on(1e-3),
            Kind::Duration { .. } => on(1e-6),
        }
    }

    fn write(self, x: f64) -> String {
        match self {
            Kind::Int { .. } => format!("{}", x.round() as u64),
            Kind::Float { .. } => number(x),
            Kind::Duration { .. } => format_duration(Duration::from_secs_f64(x.max(0.0))),
        }
    }
}

/// Sweeps the parameter: `steps` values across the range, then bisection
/// where the tipping fraction changes, on the same seeds for every value.
pub fn sweep(config: &SweepConfig) -> Result<Sweep, SweepError> {
    let kind = Kind::of(config)?;
    let checks = [
        (config.steps, 2, MAX_STEPS, "steps"),
        (config.seeds, 1, MAX_SEEDS, "seeds"),
        (config.refine, 0, MAX_REFINE, "refine"),
    ];
    for (v, lo, hi, setting) in checks {
        if !(lo..=hi).contains(&v) {
            return Err(BadSetting::new(setting, v, format!("from {lo} to {hi}")).into());
        }
    }
    let triggers = triggers(config)?;
    let (lo, hi) = (
        kind.read(&config.param, &config.lo)?,
        kind.read(&config.param, &config.hi)?,
    );
    if lo >= hi {
        return Err(SweepError::Config(format!(
            "--param {}={}..{}: the range must run from low to high",
            config.param, config.lo, config.hi
        )));
    }
    if config.log && lo <= 0.0 {
        return Err(SweepError::Config(format!(
            "--log-scale needs a range above 0 (`{}` is not)",
            config.lo
        )));
    }
    let scale = |t: f64| {
        if config.log {
            (lo.ln() + t * (hi.ln() - lo.ln())).exp()
        } else {
            lo + t * (hi - lo)
        }
    };
    let mut xs: Vec<f64> = (0..config.steps)
        .map(|i| kind.snap(scale(i as f64 / (config.steps - 1) as f64), hi - lo))
        .collect();
    xs.dedup();
    // Bisection stops at an eighth of the first spread's gap (a ratio on a
    // log sweep), or at the parameter's own grid.
    let resolution = if config.log {
        (hi / lo).powf(1.0 / ((config.steps - 1) as f64 * 8.0))
    } else {
        (hi - lo) / ((config.steps - 1) as f64 * 8.0)
    };
    let seeds = shard_seeds(config.seed, config.seeds, (0, 1));
    let runner = Runner {
        config,
        kind,
        seeds: &seeds,
        triggers: &triggers,
    };
    // Every value is checked before any run.
    for &x in &xs {
        for trigger in &triggers {
            runner.plan(x, trigger, seeds[0])?;
        }
    }
    let mut points = runner.points(&xs, false)?;
    let mut budget = config.refine;
    while budget > 0 {
        let mut next = bisections(&points, kind, config.log, resolution, hi - lo);
        next.truncate(budget);
        if next.is_empty() {
            break;
        }
        budget -= next.len();
        points.extend(runner.points(&next, true)?);
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    Ok(Sweep {
        hormesis_version: env!("CARGO_PKG_VERSION"),
        scenario: config.scenario.name().to_string(),
        engine: config.engine,
        param: config.param.clone(),
        set: config.overrides.clone(),
        schedule: triggers
            .iter()
            .flat_map(|t| t.events.iter().map(|e| e.to_spec()))
            .collect(),
        template: config.template.clone(),
        triggers: triggers.len(),
        seeds: seeds.clone(),
        log: config.log,
        resolution,
        boundaries: points
            .windows(2)
            .filter(|w| w[0].tipped * w[1].runs != w[1].tipped * w[0].runs)
            .map(|w| (w[0].value.clone(), w[1].value.clone()))
            .collect(),
        no_effect: no_effect(&points),
        points,
    })
}

/// What every value runs: the one schedule, or the template's grid (laid
/// out once, from the overrides without the swept value, so every value
/// meets the same faults).
fn triggers(config: &SweepConfig) -> Result<Vec<Schedule>, SweepError> {
    match &config.template {
        Some(_) if !config.schedule.is_empty() => Err(SweepError::Config(
            "--template with --fault or --schedule: give one kind of trigger".into(),
        )),
        Some(template) => crate::map::grid_schedules(&crate::map::MapConfig {
            scenario: config.scenario,
            overrides: config.overrides.clone(),
            engine: config.engine,
            template: template.clone(),
            grid: config.grid,
            seeds: 1,
            seed: config.seed,
            onset: None,
            jobs: config.jobs,
            refine: 0,
        })
        .map_err(|e| match e {
            crate::map::MapError::Run(e) => SweepError::Run(e),
            crate::map::MapError::Config(m) => SweepError::Config(m),
            crate::map::MapError::Setting(s) => SweepError::Setting(s),
        }),
        None if config.schedule.is_empty() => Err(SweepError::Config(
            "give the trigger to sweep with --fault, --schedule or --template".into(),
        )),
        None => Ok(vec![config.schedule.clone()]),
    }
}

struct Runner<'a> {
    config: &'a SweepConfig,
    kind: Kind,
    seeds: &'a [u64],
    triggers: &'a [Schedule],
}

impl Runner<'_> {
    fn plan(&self, x: f64, trigger: &Schedule, seed: u64) -> Result<RunPlan<'static>, RunError> {
        let mut overrides = self.config.overrides.clone();
        overrides.push(format!("{}={}", self.config.param, self.kind.write(x)));
        RunPlan::of(self.config.scenario)
            .sets(&overrides)
            .schedule(trigger.clone())
            .located("sweep", None)
            .seed(seed)
            .engine(self.config.engine)
            .build()
    }

    /// Every value on every trigger and seed, in parallel (the same for
    /// any `jobs`).
    fn points(&self, xs: &[f64], refined: bool) -> Result<Vec<SweepPoint>, RunError> {
        let (t, s) = (self.triggers.len(), self.seeds.len());
        let n = t * s;
        let reports: Vec<Option<RunReport>> = parallel(self.config.jobs, xs.len() * n, |k| {
            let (x, run) = (xs[k / n], k % n);
            let (trigger, seed) = (&self.triggers[run / s], self.seeds[run % s]);
            Ok::<_, RunError>(self.plan(x, trigger, seed).and_then(|p| run::run(&p)).ok())
        })?;
        Ok(xs
            .iter()
            .zip(reports.chunks(n))
            .map(|(&x, runs)| point(self.kind.write(x), x, runs, refined))
            .collect())
    }
}

fn point(value: String, x: f64, runs: &[Option<RunReport>], refined: bool) -> SweepPoint {
    let done: Vec<&RunReport> = runs.iter().flatten().collect();
    let n = done.len();
    let mean = |f: &dyn Fn(&RunReport) -> f64| {
        if n == 0 {
            0.0
        } else {
            done.iter().map(|r| f(r)).sum::<f64>() / n as f64
        }
    };
    let tipped = done
        .iter()
        .filter(|r| r.verdict.class == Class::Metastable)
        .count();
    let mut ttrs: Vec<f64> = done.iter().filter_map(|r| r.verdict.ttr_s).collect();
    ttrs.sort_by(f64::total_cmp);
    SweepPoint {
        value,
        x,
        runs: n,
        tipped,
        fraction: if n == 0 {
            0.0
        } else {
            tipped as f64 / n as f64
        },
        unhealthy: done
            .iter()
            .filter(|r| r.verdict.class == Class::UnhealthyBaseline)
            .count(),
        amplification: mean(&|r| r.verdict.amplification),
        median_ttr_s: ttrs.get(ttrs.len() / 2).copied(),
        goodput_under_trigger: mean(&goodput_under_trigger),
        behaviour: runs
            .iter()
            .map(|r| r.as_ref().map_or(String::new(), |r| r.behaviour.clone()))
            .collect(),
        errors: runs.len() - n,
        refined,
    }
}

/// Mean goodput over the trigger's windows, as a fraction of G0.
fn goodput_under_trigger(r: &RunReport) -> f64 {
    let v = &r.verdict;
    let during: Vec<u64> = r
        .windows
        .iter()
        .filter(|w| w.t_s >= v.first_fault_s && w.t_s < v.trigger_end_s)
        .map(|w| w.goodput)
        .collect();
    if during.is_empty() || v.g0 <= 0.0 {
        return 0.0;
    }
    (during.iter().sum::<u64>() as f64 / during.len() as f64 / v.g0 / r.window_s).min(10.0)
}

/// Values halfway between neighbours whose tipping fraction differs, widest
/// gap first, while the gap is wider than `resolution`.
fn bisections(
    points: &[SweepPoint],
    kind: Kind,
    log: bool,
    resolution: f64,
    range: f64,
) -> Vec<f64> {
    let mut wanted: Vec<(f64, f64)> = points
        .windows(2)
        .filter(|w| w[0].tipped * w[1].runs != w[1].tipped * w[0].runs)
        .filter_map(|w| {
            let (a, b) = (w[0].x, w[1].x);
            let (gap, mid) = if log {
                (b / a, (a * b).sqrt())
            } else {
                (b - a, (a + b) / 2.0)
            };
            let mid = kind.snap(mid, range);
            (gap > resolution && mid > a && mid < b).then_some((gap, mid))
        })
        .collect();
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)));
    wanted.into_iter().map(|(_, mid)| mid).collect()
}

/// Maximal runs of neighbouring values whose every seed behaved the same
/// (equal behaviour digests, none missing).
pub fn no_effect(points: &[SweepPoint]) -> Vec<NoEffect> {
    let same = |a: &SweepPoint, b: &SweepPoint| {
        a.errors == 0 && b.errors == 0 && !a.behaviour.is_empty() && a.behaviour == b.behaviour
    };
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=points.len() {
        if i < points.len() && same(&points[i - 1], &points[i]) {
            continue;
        }
        if i - start >= 2 {
            out.push(NoEffect {
                from: points[start].value.clone(),
                to: points[i - 1].value.clone(),
                values: i - start,
                seeds: points[start].behaviour.len(),
            });
        }
        start = i;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: &str, x: f64, tipped: usize, behaviour: &[&str]) -> SweepPoint {
        SweepPoint {
            value: value.into(),
            x,
            runs: behaviour.len(),
            tipped,
            fraction: tipped as f64 / behaviour.len() as f64,
            unhealthy: 0,
            amplification: 1.0,
            median_ttr_s: None,
            goodput_under_trigger: 1.0,
            behaviour: behaviour.iter().map(|s| s.to_string()).collect(),
            errors: 0,
            refined: false,
        }
    }

    #[test]
    fn identical_neighbours_make_a_range_of_no_effect_and_one_seed_apart_breaks_it() {
        let points = vec![
            at("0.4", 0.4, 0, &["a", "b"]),
            at("0.5", 0.5, 0, &["a", "b"]),
            at("0.6", 0.6, 0, &["c", "d"]),
            at("0.7", 0.7, 0, &["c", "d"]),
            at("0.8", 0.8, 0, &["c", "d"]),
            // One seed differs: near-identical is not identical.
            at("0.9", 0.9, 0, &["c", "e"]),
        ];
        let ranges = no_effect(&points);
        assert_eq!(
            ranges
                .iter()
                .map(|r| (r.from.as_str(), r.to.as_str(), r.values))
                .collect::<Vec<_>>(),
            [("0.4", "0.5", 2), ("0.6", "0.8", 3)]
        );
        assert!(no_effect(&points[4..]).is_empty());
    }

    #[test]
    fn bisection_halves_where_the_verdict_turns_down_to_the_resolution() {
        let kind = Kind::Float {
            min: 0.0,
            max: 10.0,
        };
        let points = vec![
            at("1", 1.0, 0, &["a"]),
            at("2", 2.0, 0, &["b"]),
            at("4", 4.0, 1, &["c"]),
        ];
        assert_eq!(bisections(&points, kind, false, 0.5, 10.0), vec![3.0]);
        assert!(bisections(&points, kind, false, 2.0, 10.0).is_empty());
        assert_eq!(bisections(&points, kind, true, 1.1, 10.0), vec![2.828427]);
        let int = Kind::Int {
            min: 0.0,
            max: 10.0,
        };
        let close = vec![at("2", 2.0, 0, &["a"]), at("3", 3.0, 1, &["b"])];
        assert!(
            bisections(&close, int, false, 0.1, 10.0).is_empty(),
            "no whole number between"
        );
    }
}
