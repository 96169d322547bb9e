//! Ground truth of a scenario's fault space by uniform sampling: what
//! share of the explorer's space tips the system, which templates tip it,
//! and the shape of the failing region, measured without any strategy.
//!
//! Runs `samples` schedules drawn uniformly from the templates of
//! [`Space`] (a quarter of them two faults at once), each on one of
//! `seeds` shared seeds with its shared control. Then, for the templates
//! that tipped, lines through one tipping point (magnitude, then duration)
//! say whether the region is monotone (everything stronger or longer tips
//! too) or a middle band (something stronger or longer recovers again); a
//! pair that tips while neither of its faults does alone is a compound.
//! The figures are exact for a given build: every draw comes from `seed`.

use crate::engine::EngineKind;
use crate::explore::parallel;
use crate::run::{self, Control, RunError, RunPlan};
use crate::scenario::Scenario;
use crate::verdict::Class;
use hormesis_faults::space::{Cell, Space, Template};
use hormesis_faults::{Event, Schedule};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;
use std::collections::BTreeMap;

/// What to measure.
#[derive(Clone)]
pub struct TruthConfig {
    pub scenario: &'static dyn Scenario,
    pub overrides: Vec<String>,
    /// Uniform runs (96).
    pub samples: usize,
    /// Seeds the runs share, each with its control (8).
    pub seeds: usize,
    /// The seed of the draws.
    pub seed: u64,
    /// Points on each line through a tipping point (6).
    pub line_points: usize,
    /// Templates whose region shape is probed, the most tipping first (1).
    pub probed_templates: usize,
    pub jobs: usize,
    pub engine: EngineKind,
}

impl TruthConfig {
    pub fn new(scenario: &'static dyn Scenario) -> TruthConfig {
        TruthConfig {
            scenario,
            overrides: Vec::new(),
            samples: 96,
            seeds: 8,
            seed: 1,
            line_points: 6,
            probed_templates: 1,
            jobs: 1,
            engine: EngineKind::Turmoil,
        }
    }
}

/// The shape of a failing region along lines through a tipping point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    /// Stronger and longer faults tip too.
    Monotone,
    /// Some stronger or longer fault on the line recovers again.
    MiddleBand,
    /// Two faults tip together where neither tips alone.
    Compound,
    /// Tipped, but no single fault did, so no line was drawn.
    Unprobed,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::Monotone => "monotone",
            Shape::MiddleBand => "middle band",
            Shape::Compound => "compound",
            Shape::Unprobed => "not probed",
        }
    }
}

/// One template's share of the tipping runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateTruth {
    /// The template's name (`latency host=db`, `load-spike`).
    pub template: String,
    pub runs: usize,
    pub tipped: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub runs: usize,
    /// Metastable runs among the uniform samples.
    pub tipped: usize,
    /// Runs not judged: an unhealthy baseline, or a simulation stopped by
    /// the simulator's own limits (ephemeral ports, memory).
    pub unhealthy: usize,
    /// `tipped / runs` and its 95 % Wilson interval.
    pub fraction: f64,
    pub interval: (f64, f64),
    /// Templates that tipped at least once, most tipping first (a pair
    /// counts for both its templates).
    pub templates: Vec<TemplateTruth>,
    /// The shapes seen (empty when nothing tipped).
    pub shapes: Vec<Shape>,
    /// One tipping schedule and its seed, the first drawn, in spec form.
    pub example: Option<(u64, Vec<String>)>,
    /// Simulations run, lines and controls included.
    pub simulations: usize,
}

/// The 95 % Wilson score interval of `k` successes in `n`.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959_964);
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// A drawn schedule: its seed's index, and each fault as (template, point).
type Draw = (usize, Vec<(usize, Vec<f64>)>);
/// Runs to make: a seed's index and the events of one schedule.
type Runs = Vec<(usize, Vec<Event>)>;

struct Sampler<'c> {
    config: &'c TruthConfig,
    space: Space,
    seeds: Vec<u64>,
    controls: Vec<Control>,
}

/// The outcome of one schedule on one seed.
#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    Tipped,
    Recovered,
    Unhealthy,
}

impl Sampler<'_> {
    fn plan(&self, seed: u64, schedule: Schedule) -> Result<RunPlan<'static>, RunError> {
        RunPlan::of(self.config.scenario)
            .sets(&self.config.overrides)
            .schedule(schedule)
            .located("truth", None)
            .seed(seed)
            .engine(self.config.engine)
            .build()
    }

    /// Runs each `(seed index, events)` in parallel; a schedule validation
    /// refuses counts as recovered (it is not in the space).
    fn outcomes(&self, runs: &[(usize, Vec<Event>)]) -> Result<Vec<Outcome>, RunError> {
        parallel(self.config.jobs, runs.len(), |k| {
            let (s, events) = &runs[k];
            let plan = match self.plan(self.seeds[*s], Schedule::new(events.clone())) {
                Ok(p) => p,
                Err(RunError::Schedule(_)) => return Ok(Outcome::Recovered),
                Err(e) => return Err(e),
            };
            let report = match run::run_with_control(&plan, Some(&self.controls[*s])) {
                Ok(r) => r,
                // The simulator's own limits (ports, memory) say nothing
                // about the system: not judged.
                Err(RunError::Engine(_)) => return Ok(Outcome::Unhealthy),
                Err(e) => return Err(e),
            };
            Ok(match report.verdict.class {
                Class::Metastable => Outcome::Tipped,
                Class::UnhealthyBaseline => Outcome::Unhealthy,
                _ => Outcome::Recovered,
            })
        })
    }

    fn full_cell(&self, template: usize) -> Cell {
        let dims = self.space.templates[template].dims();
        Cell {
            template,
            root: template,
            lo: dims.iter().map(|d| d.lo).collect(),
            hi: dims.iter().map(|d| d.hi).collect(),
            depth: 0,
        }
    }
}

/// Measures the ground truth of `config.scenario`'s fault space.
pub fn measure(config: &TruthConfig) -> Result<Truth, RunError> {
    let probe = RunPlan::of(config.scenario)
        .sets(&config.overrides)
        .located("truth", None)
        .seed(1)
        .engine(config.engine)
        .build()?;
    let layout = config
        .scenario
        .build(&probe.params)
        .map_err(|error| RunError::Param {
            scenario: config.scenario.name().to_string(),
            error,
        })?
        .layout()
        .clone();
    let space = Space::new(
        &run::fault_space(config.scenario, &probe.params, &layout),
        layout.warmup,
    );
    let seeds: Vec<u64> = (1..=config.seeds.max(1) as u64).collect();
    let mut sampler = Sampler {
        config,
        space,
        seeds,
        controls: Vec::new(),
    };
    if sampler.space.templates.is_empty() {
        return Err(RunError::Setup(
            "the scenario's fault space is empty (no room for faults after the warm-up)".into(),
        ));
    }
    // The longest event the space holds bounds every control.
    let longest = (0..sampler.space.templates.len())
        .map(|t| {
            let cell = sampler.full_cell(t);
            sampler.space.templates[t].event(&cell.hi).end()
        })
        .max()
        .unwrap_or_default();
    sampler.controls = parallel(config.jobs, sampler.seeds.len(), |i| {
        run::control(
            &sampler.plan(sampler.seeds[i], Schedule::default())?,
            longest + layout.horizon,
        )
    })?;
    let mut simulations = sampler.seeds.len();

    // The uniform draws: template, then a point of its whole box.
    let mut rng = ChaCha12Rng::seed_from_u64(config.seed);
    let n_templates = sampler.space.templates.len();
    let singles = config.samples - config.samples / 4;
    let mut draws: Vec<Draw> = Vec::new();
    for k in 0..config.samples {
        let faults = if k < singles { 1 } else { 2 };
        let picked = (0..faults)
            .map(|_| {
                let t = rng.random_range(0..n_templates);
                let cell = sampler.full_cell(t);
                let point = sampler
                    .space
                    .sample_point(&cell, &mut || rng.random::<f64>());
                (t, point)
            })
            .collect();
        draws.push((k % sampler.seeds.len(), picked));
    }
    let event = |(t, p): &(usize, Vec<f64>)| sampler.space.templates[*t].event(p);
    let runs: Vec<(usize, Vec<Event>)> = draws
        .iter()
        .map(|(s, faults)| (*s, faults.iter().map(event).collect()))
        .collect();
    let outcomes = sampler.outcomes(&runs)?;
    simulations += runs.len();

    let mut per_template: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for ((_, faults), outcome) in draws.iter().zip(&outcomes) {
        for (t, _) in faults {
            let entry = per_template.entry(*t).or_default();
            entry.0 += 1;
            entry.1 += usize::from(*outcome == Outcome::Tipped);
        }
    }
    let tipped = outcomes.iter().filter(|o| **o == Outcome::Tipped).count();
    let unhealthy = outcomes
        .iter()
        .filter(|o| **o == Outcome::Unhealthy)
        .count();
    let mut templates: Vec<(usize, TemplateTruth)> = per_template
        .into_iter()
        .filter(|(_, (_, k))| *k > 0)
        .map(|(t, (runs, tipped))| {
            (
                t,
                TemplateTruth {
                    template: sampler.space.templates[t].name.clone(),
                    runs,
                    tipped,
                },
            )
        })
        .collect();
    templates.sort_by(|a, b| b.1.tipped.cmp(&a.1.tipped).then(a.0.cmp(&b.0)));

    // Shapes: lines through the first tipping single of each probed
    // template; alone-runs of each tipping pair's faults.
    let mut shapes = Vec::new();
    let mut lines: Vec<Runs> = Vec::new();
    // The most tipping templates that tipped alone at least once.
    let probed = templates.iter().filter_map(|(t, _)| {
        draws
            .iter()
            .zip(&outcomes)
            .find(|((_, f), o)| f.len() == 1 && f[0].0 == *t && **o == Outcome::Tipped)
            .map(|(draw, _)| (t, draw))
    });
    for (t, (s, faults)) in probed.take(config.probed_templates) {
        {
            let template = &sampler.space.templates[*t];
            for dim in (1..template.dims().len()).rev() {
                let points = line(template, &faults[0].1, dim, config.line_points);
                lines.push(
                    points
                        .iter()
                        .map(|p| (*s, vec![template.event(p)]))
                        .collect(),
                );
            }
        }
    }
    let mut pairs: Vec<(usize, Vec<Event>)> = Vec::new();
    for ((s, faults), o) in draws.iter().zip(&outcomes) {
        if faults.len() == 2 && *o == Outcome::Tipped {
            pairs.extend(faults.iter().map(|f| (*s, vec![event(f)])));
        }
    }
    let line_runs: Vec<(usize, Vec<Event>)> = lines
        .iter()
        .flat_map(|r| r.iter().cloned())
        .chain(pairs.iter().cloned())
        .collect();
    let line_outcomes = sampler.outcomes(&line_runs)?;
    simulations += line_runs.len();
    let mut offset = 0;
    for runs in &lines {
        let along = &line_outcomes[offset..offset + runs.len()];
        offset += runs.len();
        let first = along.iter().position(|o| *o == Outcome::Tipped);
        if let Some(first) = first {
            let band = along[first..].contains(&Outcome::Recovered);
            shapes.push(if band {
                Shape::MiddleBand
            } else {
                Shape::Monotone
            });
        }
    }
    for alone in line_outcomes[offset..].chunks(2) {
        if alone.iter().all(|o| *o != Outcome::Tipped) {
            shapes.push(Shape::Compound);
        }
    }
    if tipped > 0 && shapes.is_empty() {
        // Only pairs tipped, and a fault of each also tipped alone on
        // another draw's terms: no line was drawn, so no shape is claimed.
        shapes.push(Shape::Unprobed);
    }
    shapes.sort_unstable();
    shapes.dedup();

    let example = draws
        .iter()
        .zip(&outcomes)
        .find(|(_, o)| **o == Outcome::Tipped)
        .map(|((s, faults), _)| {
            (
                sampler.seeds[*s],
                faults.iter().map(|f| event(f).to_spec()).collect(),
            )
        });
    let judged = config.samples - unhealthy;
    Ok(Truth {
        runs: config.samples,
        tipped,
        unhealthy,
        fraction: tipped as f64 / judged.max(1) as f64,
        interval: wilson(tipped, judged),
        templates: templates.into_iter().map(|(_, t)| t).collect(),
        shapes,
        example,
        simulations,
    })
}

/// `n` points along dimension `dim` of `template`'s box through `point`
/// (geometric where the span covers a decade), snapped to the grid, with
/// `point` itself among them.
fn line(template: &Template, point: &[f64], dim: usize, n: usize) -> Vec<Vec<f64>> {
    let span = template.dims()[dim];
    let (lo, hi) = (span.lo, span.hi);
    let log = lo > 0.0 && hi / lo >= 10.0;
    let mut values: Vec<f64> = (0..n.max(2))
        .map(|i| {
            let f = i as f64 / (n.max(2) - 1) as f64;
            let v = if log {
                (lo.ln() + f * (hi.ln() - lo.ln())).exp()
            } else {
                lo + f * (hi - lo)
            };
            span.snap(v).clamp(lo, hi)
        })
        .collect();
    values.push(point[dim]);
    values.sort_by(f64::total_cmp);
    values.dedup();
    values
        .into_iter()
        .map(|v| {
            let mut p = point.to_vec();
            p[dim] = v;
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_brackets_the_fraction() {
        let (lo, hi) = wilson(10, 100);
        assert!(lo < 0.1 && 0.1 < hi);
        assert!((lo - 0.0552).abs() < 0.001 && (hi - 0.1744).abs() < 0.001);
        assert_eq!(wilson(0, 0), (0.0, 1.0));
        let (lo, hi) = wilson(0, 96);
        assert_eq!(lo, 0.0);
        assert!(hi < 0.04);
    }
}
