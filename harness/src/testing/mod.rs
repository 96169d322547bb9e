//! Checking a service from `cargo test`: run a scenario under a schedule on
//! a few seeds and assert how it recovers.
//!
//! ```no_run
//! use hormesis::testing::check;
//! use std::time::Duration;
//!
//! #[test]
//! fn a_retry_budget_survives_the_storm() {
//!     check(&hormesis::scenarios::RetryStorm)
//!         .fault("load-spike:at=40s,for=5s,factor=3")
//!         .set("mitigation=retry-budget")
//!         .seeds(1..=3)
//!         .recovers_within(Duration::from_secs(60));
//! }
//! ```
//!
//! `HORMESIS_SEED=7` runs one seed instead of the test's own, and
//! `HORMESIS_SEEDS=1..20` (or `1,5,9`) a list: the way to widen a test in
//! nightly CI, or to rerun the one seed a failure printed. A failed check
//! panics with the seed, the verdict's figures and how to reproduce it, and
//! writes the run as an incident under `target/hormesis/incidents/` (or
//! `$CARGO_TARGET_DIR/hormesis/incidents/`), ready to keep in `replays/`.
//!
//! [`stable_under`] asks the same of every schedule a proptest strategy
//! generates (see [`schedules`]); a failure is shrunk by proptest to the
//! smallest schedule that still tips the system before it is reported.
//!
//! [`replays`] turns a folder of kept incidents into named tests.

mod replays;

pub use replays::{
    kept_incidents, overrides_from_env, replay_trials, replays, test_name, KeptIncident,
};

use crate::engine::EngineKind;
use crate::files;
use crate::incident::{Expect, Incident};
use crate::run::{self, RunPlan, RunReport};
use crate::scenario::Scenario;
use crate::verdict::Class;
use hormesis_faults::{Schedule, Target};
use proptest::strategy::{BoxedStrategy, Strategy};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::path::PathBuf;
use std::time::Duration;

/// Starts a check of `scenario` (with no faults until some are added).
pub fn check(scenario: &dyn Scenario) -> Check<'_> {
    Check {
        scenario,
        overrides: Vec::new(),
        specs: Vec::new(),
        schedule: None,
        seeds: vec![1, 2, 3],
        engine: EngineKind::Turmoil,
    }
}

/// A check being set up; the assertion methods run it.
#[derive(Clone)]
pub struct Check<'s> {
    scenario: &'s dyn Scenario,
    overrides: Vec<String>,
    specs: Vec<String>,
    schedule: Option<Schedule>,
    seeds: Vec<u64>,
    engine: EngineKind,
}

impl<'s> Check<'s> {
    /// Adds a fault in the inline form, e.g. `crash:at=40s,for=5s,host=server`.
    pub fn fault(mut self, spec: &str) -> Self {
        self.specs.push(spec.to_string());
        self
    }

    /// Uses a whole schedule (before any [`fault`](Self::fault)s).
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// Overrides a scenario parameter, `key=value`.
    pub fn set(mut self, key_value: &str) -> Self {
        self.overrides.push(key_value.to_string());
        self
    }

    /// The seeds to run when `HORMESIS_SEED(S)` is not set (default 1, 2, 3).
    pub fn seeds(mut self, seeds: impl IntoIterator<Item = u64>) -> Self {
        self.seeds = seeds.into_iter().collect();
        self
    }

    pub fn engine(mut self, engine: EngineKind) -> Self {
        self.engine = engine;
        self
    }

    /// Every seed recovers (goodput back within 10 % of the baseline and
    /// staying there) no later than `bound` after the trigger ends.
    #[track_caller]
    pub fn recovers_within(self, bound: Duration) -> Vec<RunReport> {
        self.assert_each(
            &format!("recover within {}", humantime::format_duration(bound)),
            |r| {
                !matches!(
                    r.verdict.class,
                    Class::Metastable | Class::UnhealthyBaseline
                ) && r.verdict.ttr_s.is_some_and(|t| t <= bound.as_secs_f64())
            },
        )
    }

    /// No seed ends metastable (a slow recovery is allowed). A seed with an
    /// unhealthy baseline (nothing to recover to) fails too.
    #[track_caller]
    pub fn not_metastable(self) -> Vec<RunReport> {
        self.assert_each("not be metastable", |r| {
            !matches!(
                r.verdict.class,
                Class::Metastable | Class::UnhealthyBaseline
            )
        })
    }

    /// Runs every seed and returns the reports, for assertions of your own.
    #[track_caller]
    pub fn run(self) -> Vec<RunReport> {
        self.assert_each("run", |_| true)
    }

    #[track_caller]
    fn assert_each(self, what: &str, ok: impl Fn(&RunReport) -> bool) -> Vec<RunReport> {
        let seeds = match seeds_from_env() {
            Ok(Some(seeds)) => seeds,
            Ok(None) => self.seeds.clone(),
            Err(message) => panic!("{message}"),
        };
        let schedule = match self.full_schedule() {
            Ok(s) => s,
            Err(message) => panic!("{message}"),
        };
        let mut reports = Vec::new();
        for seed in seeds {
            let report = match self.run_one(&schedule, seed) {
                Ok(r) => r,
                Err(message) => panic!("{message}"),
            };
            if !ok(&report) {
                panic!("{}", failure(what, &report));
            }
            reports.push(report);
        }
        reports
    }

    fn full_schedule(&self) -> Result<Schedule, String> {
        let extra = Schedule::from_specs(&self.specs).map_err(|e| e.to_string())?;
        let mut events = self.schedule.clone().unwrap_or_default().events;
        events.extend(extra.events);
        Ok(Schedule::new(events))
    }

    fn run_one(&self, schedule: &Schedule, seed: u64) -> Result<RunReport, String> {
        let plan = RunPlan::of(self.scenario)
            .sets(&self.overrides)
            .schedule(schedule.clone())
            .located("hormesis::testing", None)
            .seed(seed)
            .engine(self.engine)
            .build()
            .map_err(|e| e.to_string())?;
        run::run(&plan).map_err(|e| format!("seed {seed}: {e}"))
    }
}

/// The seeds `HORMESIS_SEED` / `HORMESIS_SEEDS` ask for, if set.
pub fn seeds_from_env() -> Result<Option<Vec<u64>>, String> {
    if let Ok(one) = std::env::var("HORMESIS_SEED") {
        let seed = one
            .trim()
            .parse()
            .map_err(|_| format!("HORMESIS_SEED=`{one}`: expected a seed, e.g. 7"))?;
        return Ok(Some(vec![seed]));
    }
    match std::env::var("HORMESIS_SEEDS") {
        Ok(many) => parse_seeds(&many)
            .map(Some)
            .map_err(|e| format!("HORMESIS_SEEDS={e}")),
        Err(_) => Ok(None),
    }
}

/// Seeds written as a range (`1..20`, `1..=20`) or a list (`1,5,9`).
pub fn parse_seeds(many: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("`{many}`: expected a range `1..20` (or `1..=20`) or a list `1,5,9`");
    let text = many.trim();
    let seeds: Vec<u64> = if let Some((a, b)) = text.split_once("..") {
        let (inclusive, b) = match b.strip_prefix('=') {
            Some(b) => (true, b),
            None => (false, b),
        };
        let (a, b): (u64, u64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if inclusive {
            (a..=b).collect()
        } else {
            (a..b).collect()
        }
    } else {
        text.split(',')
            .map(|s| s.trim().parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()?
    };
    if seeds.is_empty() {
        return Err(bad());
    }
    Ok(seeds)
}

/// Where a failed check writes its incident: `hormesis/incidents/` in
/// `$CARGO_TARGET_DIR`, else in the target directory the test binary runs
/// from (`target/debug/deps/…`), else in `./target`.
pub fn incidents_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            let deps = exe.parent()?;
            (deps.file_name()? == "deps").then(|| deps.parent()?.parent().map(PathBuf::from))?
        })
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("hormesis").join("incidents")
}

/// The panic message of a failed check; also writes its incident.
fn failure(what: &str, r: &RunReport) -> String {
    let v = &r.verdict;
    let incident = Incident::from_report(
        r,
        "hormesis::testing".into(),
        crate::incident::today(),
        Expect::observed(v),
    );
    let path = incidents_dir().join(format!("{}.yaml", incident.id));
    let written = std::fs::create_dir_all(incidents_dir())
        .and_then(|()| files::write_atomically(&path, incident.to_yaml().as_bytes()));
    let faults: Vec<String> = r
        .schedule
        .iter()
        .map(|s| format!("--fault '{s}'"))
        .collect();
    let mut m = format!(
        "{} should {what} on seed {}, but was {} (score {:.2}, TTR {}, damage {:.2}, G0 {:.1} req/s, amplification {:.2}x)\n  schedule: {}\n",
        r.scenario,
        r.seed,
        v.class.name(),
        v.score,
        v.ttr_s.map_or("never".to_string(), |t| format!("{t:.0}s")),
        v.damage,
        v.g0,
        v.amplification,
        if r.schedule.is_empty() { "(none)".to_string() } else { r.schedule.join(" ") },
    );
    let binary = cli_binary(&r.scenario);
    match written {
        Ok(()) => {
            m += &format!("  incident: {}\n", path.display());
            m += &format!("  replay:   {binary} replay {}\n", path.display());
        }
        Err(e) => {
            m += &format!(
                "  (could not write the incident to {}: {e})\n",
                path.display()
            )
        }
    }
    m += &format!(
        "  rerun:    HORMESIS_SEED={} cargo test   (or: {binary} run --scenario {} --seed {} {})",
        r.seed,
        r.scenario,
        r.seed,
        faults.join(" ")
    );
    m
}

/// The command line that runs `scenario`: `hormesis` for a built-in, the
/// user's own binary on `hormesis::cli` for theirs.
fn cli_binary(scenario: &str) -> &'static str {
    if crate::scenarios::find(scenario).is_ok() {
        "hormesis"
    } else {
        "<your hormesis::cli binary>"
    }
}

/// Schedules of up to `max_events` events for `scenario`, all within
/// `within` after its warm-up: a proptest strategy that shrinks toward
/// fewer, shorter and weaker faults.
pub fn schedules(
    scenario: &dyn Scenario,
    overrides: &[&str],
    max_events: usize,
    within: Duration,
) -> Result<BoxedStrategy<Schedule>, String> {
    let params =
        crate::scenario::Params::resolve(&scenario.params(), overrides).map_err(|e| e.message)?;
    let system = scenario.build(&params).map_err(|e| e.message)?;
    let layout = system.layout().clone();
    let target = Target {
        latest_end: within,
        ..run::fault_space(scenario, &params, &layout)
    };
    let warmup = layout.warmup;
    Ok(hormesis_faults::strategy::schedule(&target, max_events)
        .prop_map(move |s| {
            Schedule::new(
                s.events
                    .into_iter()
                    .map(|mut e| {
                        e.at += warmup;
                        e
                    })
                    .collect(),
            )
        })
        .boxed())
}

/// Runs `cases` schedules from `strategy` (on seed 1, or `HORMESIS_SEED`)
/// and panics on the first that tips the system into metastability, after
/// proptest has shrunk it (at most `max_shrink_iters` more runs) to the
/// smallest schedule that still does. The generated cases are fixed by
/// `rng_seed`, so the test is deterministic.
#[track_caller]
pub fn stable_under(
    check: Check<'_>,
    strategy: impl Strategy<Value = Schedule>,
    cases: u32,
    max_shrink_iters: u32,
    rng_seed: u64,
) {
    let seed = match seeds_from_env() {
        Ok(Some(seeds)) => seeds[0],
        Ok(None) => check.seeds.first().copied().unwrap_or(1),
        Err(message) => panic!("{message}"),
    };
    let config = Config {
        cases,
        max_shrink_iters,
        failure_persistence: None,
        ..Config::default()
    };
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&rng_seed.to_le_bytes());
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let result = runner.run(&strategy, |schedule| {
        let report = check
            .run_one(&schedule, seed)
            .map_err(TestCaseError::reject)?;
        if matches!(
            report.verdict.class,
            Class::Metastable | Class::UnhealthyBaseline
        ) {
            return Err(TestCaseError::fail(format!(
                "{}, score {:.2}",
                report.verdict.class.name(),
                report.verdict.score
            )));
        }
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(_, minimal)) => {
            let report = match check.run_one(&minimal, seed) {
                Ok(r) => r,
                Err(message) => panic!("{message}"),
            };
            panic!(
                "{}\n  (the smallest of the failing schedules proptest found)",
                failure("not be metastable under any generated schedule", &report)
            );
        }
        Err(TestError::Abort(reason)) => panic!("stable_under gave up: {reason}"),
    }
}
