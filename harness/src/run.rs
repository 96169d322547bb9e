//! One run: build the system, simulate it under the schedule and, when there
//! are faults, once more without them (the control), then judge.

use crate::digest::{first_difference, Digest};
use crate::engine::{self, Applied, EngineError, EngineKind, HostFailure, SimOutcome, SimRequest};
use crate::scenario::{ParamError, Params, Scenario, System};
use crate::timeline::{Timeline, Window};
use crate::verdict::{self, Figures, Frame, Verdict};
use hormesis_faults::{format_duration, KnobSpec, Schedule, ScheduleError, Target};
use serde::Serialize;
use std::rc::Rc;
use std::time::Duration;

/// The window length of every timeline.
pub const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("scenario `{scenario}`: {error}")]
    Param { scenario: String, error: ParamError },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Setup(String),
}

/// Lets a build without seeded scheduling run anyway (with a warning).
pub const ALLOW_UNSEEDED_ENV: &str = "HORMESIS_ALLOW_UNSEEDED";

/// Why this build cannot promise "one seed in, the same bytes out", if it
/// cannot: turmoil runs the services on real tokio, whose `select!` and
/// scheduler draw from OS randomness unless built with `--cfg
/// tokio_unstable` (madsim's tokio is seeded by construction). The message
/// holds the exact lines to add.
pub fn unseeded_scheduling() -> Option<String> {
    scheduling_guard(cfg!(any(tokio_unstable, madsim)))
}

fn scheduling_guard(seeded: bool) -> Option<String> {
    (!seeded).then(|| {
        format!(
            "this build lacks `--cfg tokio_unstable`: tokio's `select!` and scheduler then draw \
             from OS randomness, so the same seed can give different runs and no finding \
             replays. Add to the `.cargo/config.toml` of your crate or workspace:\n\n\
             [build]\n\
             rustflags = [\"--cfg\", \"tokio_unstable\"]\n\n\
             (a RUSTFLAGS environment variable replaces those flags: include `--cfg \
             tokio_unstable` in it too), then rebuild. To run anyway, unseeded, set \
             {ALLOW_UNSEEDED_ENV}=1."
        )
    })
}

/// Refuses an unseeded build unless [`ALLOW_UNSEEDED_ENV`] is set, in
/// which case it warns once per process.
fn check_seeded(problem: Option<String>, allowed: bool) -> Result<(), RunError> {
    static WARNED: std::sync::Once = std::sync::Once::new();
    match (problem, allowed) {
        (None, _) => Ok(()),
        (Some(why), false) => Err(RunError::Setup(why)),
        (Some(why), true) => {
            WARNED.call_once(|| eprintln!("warning: {why}"));
            Ok(())
        }
    }
}

/// The inputs of a run, validated.
pub struct RunPlan<'s> {
    pub scenario: &'s dyn Scenario,
    pub params: Params,
    pub schedule: Schedule,
    pub seed: u64,
    pub engine: EngineKind,
    /// turmoil's step when not the scenario's own (`Layout::tick`): the
    /// fidelity check reruns at a fifth of it.
    pub tick: Option<Duration>,
}

impl<'s> RunPlan<'s> {
    /// The same plan at a finer turmoil step, `1/divisor` of its own (the
    /// override, else the scenario's; never under 1 µs).
    pub fn finer(&self, divisor: u32) -> Result<RunPlan<'s>, RunError> {
        let layout_tick = match self.tick {
            Some(tick) => tick,
            None => {
                self.scenario
                    .build(&self.params)
                    .map_err(|error| RunError::Param {
                        scenario: self.scenario.name().to_string(),
                        error,
                    })?
                    .layout()
                    .tick
            }
        };
        Ok(RunPlan {
            scenario: self.scenario,
            params: self.params.clone(),
            schedule: self.schedule.clone(),
            seed: self.seed,
            engine: self.engine,
            tick: Some((layout_tick / divisor.max(1)).max(Duration::from_micros(1))),
        })
    }

    /// The step turmoil simulates this plan at: the override, else the
    /// scenario's; `None` on madsim, which has no step.
    pub fn turmoil_tick(&self) -> Result<Option<Duration>, RunError> {
        if self.engine != EngineKind::Turmoil {
            return Ok(None);
        }
        if let Some(tick) = self.tick {
            return Ok(Some(tick));
        }
        let layout = self
            .scenario
            .build(&self.params)
            .map_err(|error| RunError::Param {
                scenario: self.scenario.name().to_string(),
                error,
            })?;
        Ok(Some(layout.layout().tick))
    }

    /// Starts a plan of a run of `scenario`: its default parameters, no
    /// faults, seed 0, on turmoil at the scenario's own step. Each setter
    /// of the [`RunPlanBuilder`] changes one of these, and
    /// [`build`](RunPlanBuilder::build) checks them together.
    ///
    /// ```
    /// use hormesis::{engine::EngineKind, run::RunPlan, scenarios};
    /// use hormesis_faults::Schedule;
    ///
    /// let schedule = Schedule::from_specs(&["load-spike:at=60s,for=10s,factor=3"]).unwrap();
    /// let plan = RunPlan::of(&scenarios::RetryStorm)
    ///     .set("rate=80")
    ///     .schedule(schedule)
    ///     .seed(7)
    ///     .engine(EngineKind::Turmoil)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!((plan.seed, plan.schedule.events.len()), (7, 1));
    /// ```
    pub fn of(scenario: &'s dyn Scenario) -> RunPlanBuilder<'s> {
        RunPlanBuilder {
            scenario,
            overrides: Vec::new(),
            schedule: Schedule::default(),
            origin: "schedule".to_string(),
            source: None,
            seed: 0,
            engine: EngineKind::Turmoil,
            tick: None,
        }
    }

    /// The positional form of [`RunPlan::of`]; kept for one release.
    #[deprecated(
        note = "use RunPlan::of(scenario).sets(overrides).schedule(schedule).located(origin, source).seed(seed).engine(engine).build()"
    )]
    pub fn new<S: AsRef<str>>(
        scenario: &'s dyn Scenario,
        overrides: &[S],
        schedule: Schedule,
        origin: &str,
        source: Option<&str>,
        seed: u64,
        engine: EngineKind,
    ) -> Result<RunPlan<'s>, RunError> {
        RunPlan::of(scenario)
            .sets(overrides)
            .schedule(schedule)
            .located(origin, source)
            .seed(seed)
            .engine(engine)
            .build()
    }
}

/// The inputs of a run being gathered; [`RunPlan::of`] starts one.
#[derive(Clone)]
pub struct RunPlanBuilder<'s> {
    scenario: &'s dyn Scenario,
    overrides: Vec<String>,
    schedule: Schedule,
    origin: String,
    source: Option<String>,
    seed: u64,
    engine: EngineKind,
    tick: Option<Duration>,
}

impl<'s> RunPlanBuilder<'s> {
    /// Overrides one parameter, `name=value`, as `--set` does; a later
    /// setting of the same name wins.
    pub fn set(mut self, key_value: impl AsRef<str>) -> Self {
        self.overrides.push(key_value.as_ref().to_string());
        self
    }

    /// Overrides each of `key_values` in turn, as [`set`](Self::set).
    pub fn sets<S: AsRef<str>>(mut self, key_values: impl IntoIterator<Item = S>) -> Self {
        self.overrides
            .extend(key_values.into_iter().map(|kv| kv.as_ref().to_string()));
        self
    }

    /// The faults to apply (none by default).
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Where the schedule came from, for its errors: `origin` names it (a
    /// file, or a flag such as `--fault`), and `source`, its text, lets an
    /// error point at the line of the offending event.
    pub fn located(mut self, origin: &str, source: Option<&str>) -> Self {
        self.origin = origin.to_string();
        self.source = source.map(str::to_string);
        self
    }

    /// The run's seed (0 by default).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The simulator (turmoil by default).
    pub fn engine(mut self, engine: EngineKind) -> Self {
        self.engine = engine;
        self
    }

    /// turmoil's step instead of the scenario's own ([`Layout::tick`](crate::scenario::Layout)).
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = Some(tick);
        self
    }

    /// Resolves the parameters and checks the schedule against the built
    /// system: its hosts and knobs, a first fault late enough to measure the
    /// baseline goodput by, and a run long enough to judge.
    pub fn build(self) -> Result<RunPlan<'s>, RunError> {
        let RunPlanBuilder {
            scenario,
            overrides,
            schedule,
            origin,
            source,
            seed,
            engine,
            tick,
        } = self;
        let (origin, source) = (origin.as_str(), source.as_deref());
        if tick.is_some() && engine != EngineKind::Turmoil {
            return Err(RunError::Setup(format!(
                "a step (tick) is turmoil's; {} has none",
                engine.name()
            )));
        }
        let param_error = |error| RunError::Param {
            scenario: scenario.name().to_string(),
            error,
        };
        if let Some(error) = engine.unavailable() {
            return Err(error.into());
        }
        check_seeded(
            unseeded_scheduling(),
            std::env::var_os(ALLOW_UNSEEDED_ENV).is_some_and(|v| v == "1"),
        )?;
        if let Some(why) = scenario.unsupported_on(engine) {
            return Err(RunError::Setup(format!(
                "scenario `{}` does not run on {}: {why}",
                scenario.name(),
                engine.name()
            )));
        }
        let params = Params::resolve(&scenario.params(), &overrides).map_err(param_error)?;
        let system = scenario.build(&params).map_err(param_error)?;
        let target = target(scenario, &params, system.layout());
        schedule.check(&target, origin, source)?;
        let first = schedule.first_onset().unwrap_or(system.layout().warmup);
        if first < WINDOW * 3 {
            let line = source
                .zip(schedule.events.iter().position(|e| e.at == first))
                .and_then(|(text, index)| Schedule::event_line(text, index))
                .map_or(String::new(), |l| format!(":{l}"));
            return Err(RunError::Setup(format!(
                "{origin}{line}: the first fault starts at {}; it must start at {} or later so the baseline goodput (G0) can be measured",
                format_duration(first),
                format_duration(WINDOW * 3)
            )));
        }
        let specs = scenario.params();
        verdict::judgeable_with(
            system.layout().rate,
            first,
            system.layout().horizon,
            WINDOW,
            &|name| specs.iter().any(|p| p.name == name),
        )
        .map_err(|why| RunError::Setup(format!("scenario `{}`: {why}", scenario.name())))?;
        Ok(RunPlan {
            scenario,
            params,
            schedule,
            seed,
            engine,
            tick,
        })
    }
}

/// What a schedule for this built system may refer to: its hosts, its
/// knobs and its remedies.
pub fn target(
    scenario: &dyn Scenario,
    params: &Params,
    layout: &crate::scenario::Layout,
) -> Target {
    Target {
        knobs: knobs(scenario, params),
        ..fault_space(scenario, params, layout)
    }
}

/// What a search may propose as faults: [`target`] without the remedies,
/// which cut loops rather than stress them.
pub fn fault_space(
    scenario: &dyn Scenario,
    params: &Params,
    layout: &crate::scenario::Layout,
) -> Target {
    Target {
        hosts: layout.hosts.clone(),
        clients: layout.clients.clone(),
        knobs: scenario.knobs_for(params),
        latest_end: layout.run_limit.saturating_sub(layout.horizon),
    }
}

/// Every knob a schedule may turn: the scenario's knobs, then its
/// remedies.
pub fn knobs(scenario: &dyn Scenario, params: &Params) -> Vec<KnobSpec> {
    let mut knobs = scenario.knobs_for(params);
    knobs.extend(scenario.remedies(params));
    knobs
}

/// The figures of the paired control run.
#[derive(Debug, Clone, Serialize)]
pub struct ControlReport {
    pub digest: String,
    #[serde(flatten)]
    pub figures: Figures,
    pub failures: Vec<HostFailure>,
    pub windows: Vec<Window>,
}

/// Everything a run found; this is the `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub hormesis_version: &'static str,
    pub scenario: String,
    pub engine: EngineKind,
    pub seed: u64,
    pub params: Params,
    /// The schedule, one inline spec per event.
    pub schedule: Vec<String>,
    pub digest: String,
    /// What the run did, without its inputs: the timeline, the faults as
    /// applied, failures, and its control's timeline and failures. Equal
    /// for two runs whose settings differ but whose behaviour does not (a
    /// setting the system rounds, clamps or ignores); `digest` stays the
    /// replay's check of the whole run.
    pub behaviour: String,
    pub verdict: Verdict,
    /// How close the run came to tipping, in [0, 1] (see [`crate::stress`]).
    pub stress: f64,
    /// The loop that kept goodput down after the trigger, with its evidence
    /// (see [`crate::diagnosis`]); null for a run without a control.
    pub diagnosis: Option<crate::diagnosis::Diagnosis>,
    /// The same seed without faults; null when the schedule is empty (the run is its own control).
    pub control: Option<ControlReport>,
    /// Hosts that stopped on their own (panic or exit): findings in themselves.
    pub failures: Vec<HostFailure>,
    pub applied: Vec<Applied>,
    pub in_flight_at_end: u64,
    /// turmoil's step this run simulated at, in milliseconds (the
    /// scenario's, or a finer one); null on madsim, which has no step.
    pub tick_ms: Option<f64>,
    pub window_s: f64,
    pub windows: Vec<Window>,
}

impl RunReport {
    pub fn timeline(&self) -> Timeline {
        Timeline {
            window_s: self.window_s,
            windows: self.windows.clone(),
        }
    }

    /// A finding: metastable, a host that failed on its own, or a baseline
    /// too unhealthy to judge (never a pass).
    pub fn is_finding(&self) -> bool {
        matches!(
            self.verdict.class,
            verdict::Class::Metastable | verdict::Class::UnhealthyBaseline
        ) || !self.failures.is_empty()
    }
}

struct Simulated {
    outcome: SimOutcome,
    digest: String,
}

fn simulate(plan: &RunPlan<'_>, schedule: &Schedule, end: Duration) -> Result<Simulated, RunError> {
    let param_error = |error| RunError::Param {
        scenario: plan.scenario.name().to_string(),
        error,
    };
    // A fresh system per simulation: systems hold the state of their hosts.
    let params = plan.params.clone().with_seed(plan.seed);
    let system: Rc<dyn System> = plan.scenario.build(&params).map_err(param_error)?.into();
    let knobs = knobs(plan.scenario, &plan.params);
    let outcome = engine::simulate(
        plan.engine,
        &SimRequest {
            system,
            knobs: &knobs,
            schedule,
            seed: plan.seed,
            end,
            window: WINDOW,
            tick: plan.tick,
        },
    )?;
    let mut header = vec![
        format!("scenario={}", plan.scenario.name()),
        format!("engine={}", plan.engine.name()),
        format!("seed={}", plan.seed),
        format!("end={}", format_duration(end)),
    ];
    // Only an overridden step enters the digest: every digest recorded at
    // the scenario's own step stays as it was.
    header.extend(plan.tick.map(|t| format!("tick={}", format_duration(t))));
    header.extend(plan.params.canonical());
    header.extend(schedule.events.iter().map(|e| e.to_spec()));
    let digest = Digest::new(&header)
        .applied(&outcome.applied)
        .failures(&outcome.failures)
        .timeline(&outcome.timeline)
        .hex();
    Ok(Simulated { outcome, digest })
}

/// A control run (the plan's seed and params, no faults) simulated up to
/// `end`, to be shared by every faulted run on the same seed that ends no
/// later: a run without faults is the same simulation whatever its end, so
/// its first windows serve any shorter frame.
#[derive(Debug, Clone)]
pub struct Control {
    pub seed: u64,
    pub end: Duration,
    pub digest: String,
    pub failures: Vec<HostFailure>,
    pub timeline: Timeline,
}

/// Simulates the plan's control run up to `end`.
pub fn control(plan: &RunPlan<'_>, end: Duration) -> Result<Control, RunError> {
    let c = simulate(plan, &Schedule::default(), end)?;
    Ok(Control {
        seed: plan.seed,
        end,
        digest: c.digest,
        failures: c.outcome.failures,
        timeline: c.outcome.timeline,
    })
}

/// The engine's own determinism check of the plan's faulted run, where the
/// engine has one: madsim replays the run comparing every random draw with
/// the first (`Some(Err)` says where they part). `None` on turmoil, whose
/// check is the digest comparison alone.
pub fn engine_determinism(plan: &RunPlan<'static>) -> Result<Option<Result<(), String>>, RunError> {
    #[cfg(madsim)]
    if plan.engine == EngineKind::Madsim {
        let request = engine::madsim::OwnedRequest {
            scenario: plan.scenario,
            params: plan.params.clone(),
            knobs: knobs(plan.scenario, &plan.params),
            schedule: plan.schedule.clone(),
            seed: plan.seed,
            end: end_of(plan)?,
            window: WINDOW,
        };
        return Ok(Some(engine::madsim::check_determinism(request)));
    }
    let _ = plan;
    Ok(None)
}

/// The simulated end of the plan's runs: t_e + H.
pub fn end_of(plan: &RunPlan<'_>) -> Result<Duration, RunError> {
    Ok(frame_of(plan)?.1)
}

fn frame_of(plan: &RunPlan<'_>) -> Result<(Frame, Duration), RunError> {
    let param_error = |error| RunError::Param {
        scenario: plan.scenario.name().to_string(),
        error,
    };
    let layout = plan
        .scenario
        .build(&plan.params)
        .map_err(param_error)?
        .layout()
        .clone();
    let frame = Frame {
        first_fault: plan.schedule.first_onset().unwrap_or(layout.warmup),
        trigger_end: plan.schedule.trigger_end().unwrap_or(layout.warmup),
        horizon: layout.horizon,
        recovers_within: layout.recovers_within,
    };
    Ok((frame, frame.trigger_end + frame.horizon))
}

/// Runs the plan: the faulted simulation and, if there are faults, its control.
pub fn run(plan: &RunPlan<'_>) -> Result<RunReport, RunError> {
    run_with_control(plan, None)
}

/// The run's timeline alone, without its control, verdict or diagnosis:
/// for a caller that prices goodput and nothing else (tune's no-fault and
/// benign runs), at half the simulation of [`run`] for a faulted plan.
pub(crate) fn timeline_only(plan: &RunPlan<'_>) -> Result<Timeline, RunError> {
    let (_, end) = frame_of(plan)?;
    Ok(simulate(plan, &plan.schedule, end)?.outcome.timeline)
}

/// Like [`run`], but takes the control from `shared` when it is for the
/// plan's seed and long enough (its digest is then that of the longer run).
pub fn run_with_control(
    plan: &RunPlan<'_>,
    shared: Option<&Control>,
) -> Result<RunReport, RunError> {
    let (frame, end) = frame_of(plan)?;
    let faulted = simulate(plan, &plan.schedule, end)?;
    let run_figures = verdict::figures(&faulted.outcome.timeline, &frame);
    let control = if plan.schedule.is_empty() {
        None
    } else {
        let own;
        let c = match shared {
            Some(c) if c.seed == plan.seed && c.end >= end => c,
            _ => {
                own = control(plan, end)?;
                &own
            }
        };
        let windows = (end.as_secs_f64() / c.timeline.window_s).round() as usize;
        let timeline = Timeline {
            window_s: c.timeline.window_s,
            windows: c.timeline.windows[..windows.min(c.timeline.windows.len())].to_vec(),
        };
        let figures = verdict::figures(&timeline, &frame);
        Some(ControlReport {
            digest: c.digest.clone(),
            figures,
            failures: c
                .failures
                .iter()
                .filter(|f| f.t_s <= end.as_secs_f64())
                .cloned()
                .collect(),
            windows: timeline.windows,
        })
    };
    let verdict = verdict::judge(&run_figures, control.as_ref().map(|c| &c.figures), &frame);
    let SimOutcome {
        timeline,
        applied,
        failures,
        in_flight,
        ..
    } = faulted.outcome;
    let mut report = RunReport {
        hormesis_version: env!("CARGO_PKG_VERSION"),
        scenario: plan.scenario.name().to_string(),
        engine: plan.engine,
        seed: plan.seed,
        params: plan.params.clone(),
        schedule: plan.schedule.events.iter().map(|e| e.to_spec()).collect(),
        digest: faulted.digest,
        behaviour: String::new(),
        verdict,
        control,
        failures,
        applied,
        in_flight_at_end: in_flight,
        tick_ms: plan.turmoil_tick()?.map(|t| t.as_secs_f64() * 1000.0),
        window_s: timeline.window_s,
        windows: timeline.windows,
        stress: 0.0,
        diagnosis: None,
    };
    report.stress = crate::stress::stress(&report);
    report.diagnosis = crate::diagnosis::diagnose(&report);
    report.behaviour = behaviour_digest(&report);
    Ok(report)
}

/// The behaviour digest of a finished report ([`RunReport::behaviour`]).
fn behaviour_digest(report: &RunReport) -> String {
    let mut d = Digest::new(&["behaviour".to_string()]);
    d.applied(&report.applied)
        .failures(&report.failures)
        .timeline(&report.timeline());
    if let Some(c) = &report.control {
        d.failures(&c.failures).timeline(&Timeline {
            window_s: report.window_s,
            windows: c.windows.clone(),
        });
    }
    d.hex()
}

/// The outcome of running one plan twice.
#[derive(Debug, Clone, Serialize)]
pub struct DeterminismCheck {
    pub deterministic: bool,
    /// Index of the first window that differs between the two runs (faulted
    /// run first, then control), when they differ.
    pub first_different_window: Option<usize>,
    pub which: Option<&'static str>,
}

/// Compares two reports of the same plan.
pub fn compare(a: &RunReport, b: &RunReport) -> DeterminismCheck {
    let same_control =
        a.control.as_ref().map(|c| &c.digest) == b.control.as_ref().map(|c| &c.digest);
    if a.digest == b.digest && same_control {
        return DeterminismCheck {
            deterministic: true,
            first_different_window: None,
            which: None,
        };
    }
    if a.digest != b.digest {
        return DeterminismCheck {
            deterministic: false,
            first_different_window: first_difference(&a.timeline(), &b.timeline()),
            which: Some("run"),
        };
    }
    let timeline = |r: &RunReport| Timeline {
        window_s: r.window_s,
        windows: r
            .control
            .as_ref()
            .map(|c| c.windows.clone())
            .unwrap_or_default(),
    };
    DeterminismCheck {
        deterministic: false,
        first_different_window: first_difference(&timeline(a), &timeline(b)),
        which: Some("control"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_built_from_defaults_and_setters_and_checked_as_a_whole() {
        let scenario = &crate::scenarios::RetryStorm;
        let plan = RunPlan::of(scenario).build().unwrap();
        assert_eq!(
            (plan.seed, plan.engine, plan.tick),
            (0, EngineKind::Turmoil, None)
        );
        assert!(plan.schedule.is_empty());
        // A later setting of the same name wins, as with repeated --set.
        let plan = RunPlan::of(scenario)
            .set("retries=2")
            .sets(["retries=5"])
            .seed(9)
            .tick(Duration::from_millis(2))
            .build()
            .unwrap();
        assert_eq!(plan.params.int("retries").unwrap(), 5);
        assert_eq!((plan.seed, plan.tick), (9, Some(Duration::from_millis(2))));
        // Errors name where the schedule came from.
        let early = Schedule::from_specs(&["load-spike:at=1s,for=5s,factor=2"]).unwrap();
        let err = RunPlan::of(scenario)
            .schedule(early)
            .located("plan.yaml", None)
            .build()
            .err()
            .expect("a fault before the baseline is measured");
        assert!(
            err.to_string().starts_with("plan.yaml: the first fault"),
            "{err}"
        );
        let err = RunPlan::of(scenario)
            .engine(EngineKind::Madsim)
            .tick(Duration::from_millis(1))
            .build()
            .err()
            .expect("madsim has no step");
        assert!(err.to_string().contains("turmoil's"), "{err}");
    }

    #[test]
    fn an_unseeded_build_is_refused_with_the_lines_to_add() {
        // This build is seeded (.cargo/config.toml), so nothing to say.
        assert_eq!(unseeded_scheduling(), None);
        assert!(check_seeded(unseeded_scheduling(), false).is_ok());
        // The other way, as a build without the flag sees it.
        let why = scheduling_guard(false).unwrap();
        assert!(
            why.contains("[build]\nrustflags = [\"--cfg\", \"tokio_unstable\"]"),
            "{why}"
        );
        assert!(why.contains(ALLOW_UNSEEDED_ENV));
        let refused = check_seeded(Some(why.clone()), false).unwrap_err();
        assert!(refused.to_string().contains("tokio_unstable"));
        assert!(check_seeded(Some(why), true).is_ok());
    }
}
