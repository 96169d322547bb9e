//! A scenario that is not a built-in (as a user's own would be) gets
//! everything the built-ins get through the library: its incidents replay,
//! shrink and yield smallest triggers, resolved through a registry; its
//! client is built inside its host; its service sees the run seed.

use hormesis::explore::boundary::smallest_triggers;
use hormesis::explore::ExploreConfig;
use hormesis::incident::{Expect, Incident};
use hormesis::registry::Registry;
use hormesis::run::{self, RunPlan};
use hormesis::scenario::{
    Client, HostSoftware, Layout, ParamError, ParamSpec, Params, Scenario, Scrape, System,
};
use hormesis::scenarios::RetryStorm;
use hormesis::verdict::Class;
use hormesis::{replay, shrink};
use hormesis_faults::{KnobSpec, Schedule};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// The retry storm under a name no built-in has.
struct MyStorm;

impl Scenario for MyStorm {
    fn name(&self) -> &'static str {
        "my-storm"
    }
    fn description(&self) -> &'static str {
        "a user's own scenario (the retry storm, renamed)"
    }
    fn params(&self) -> Vec<ParamSpec> {
        RetryStorm.params()
    }
    fn knobs(&self) -> Vec<KnobSpec> {
        RetryStorm.knobs()
    }
    fn trigger(&self) -> Vec<String> {
        RetryStorm.trigger()
    }
    fn build(&self, params: &Params) -> Result<Box<dyn System>, ParamError> {
        RetryStorm.build(params)
    }
}

const SPIKE: &str = "load-spike:at=40s,for=6s,factor=3";

fn incident() -> Incident {
    let plan = RunPlan::of(&MyStorm)
        .schedule(Schedule::from_specs(&[SPIKE]).unwrap())
        .located("test", None)
        .seed(7)
        .build()
        .unwrap();
    let report = run::run(&plan).unwrap();
    assert_eq!(report.verdict.class, Class::Metastable);
    let written = Incident::from_report(
        &report,
        "test".into(),
        "today".into(),
        Expect::observed(&report.verdict),
    );
    Incident::parse(&written.to_yaml(), "my-storm.yaml").unwrap()
}

#[test]
fn a_user_scenarios_incident_replays_and_shrinks_through_its_registry() {
    let incident = incident();
    assert_eq!(incident.scenario, "my-storm");
    let mine = Registry::new(&[&MyStorm]).unwrap();

    let outcome = replay::replay(&mine, &incident, &[] as &[&str]).unwrap();
    assert_eq!(outcome.regression, None);
    assert!(outcome.digest_same);
    let builtin = replay::replay(&Registry::builtin(), &incident, &[] as &[&str]);
    assert!(
        builtin.is_err_and(|e| e.to_string().contains("unknown scenario `my-storm`")),
        "the built-ins do not know it"
    );

    let shrunk = shrink::shrink(&mine, &incident, "t".into(), "today".into(), &mut |_| {}).unwrap();
    assert_eq!(shrunk.incident.scenario, "my-storm");
    assert_eq!(shrunk.incident.schedule.events.len(), 1);
    assert!(shrunk.incident.schedule.events[0].duration < incident.schedule.events[0].duration);
}

#[test]
fn a_user_scenarios_exploration_gets_smallest_triggers() {
    let config = ExploreConfig::new(&MyStorm, 8).jobs(2);
    let explored = hormesis::explore::explore(&config, &mut |_, _| {}).unwrap();
    assert!(explored.summary.metastable_runs > 0);
    let triggers = smallest_triggers(&config, &explored.runs);
    assert_eq!(triggers.len(), explored.summary.distinct_metastable_arms);
    for t in &triggers {
        assert_eq!(t.error, None, "{t:?}");
        assert!(t.smallest.is_some(), "{t:?}");
    }
}

/// A system whose client spawns its connection task as it is built (as
/// many client libraries do) and whose service draws from the run seed.
struct Eager {
    inner: Box<dyn System>,
    seed: u64,
    seeds: Arc<Mutex<Vec<u64>>>,
}

impl System for Eager {
    fn layout(&self) -> &Layout {
        self.inner.layout()
    }
    fn host_software(&self, host: &str) -> HostSoftware {
        self.inner.host_software(host)
    }
    fn client(&self, client: &str) -> Rc<dyn Client> {
        // Panics outside a runtime ("must be called from the context of a
        // Tokio runtime"): only inside its host can it be built.
        drop(tokio::spawn(async {}));
        self.seeds.lock().unwrap().push(self.seed);
        self.inner.client(client)
    }
    fn set_knob(&self, knob: &str, value: Option<f64>) {
        self.inner.set_knob(knob, value)
    }
    fn scrape(&self) -> Scrape {
        self.inner.scrape()
    }
}

struct EagerStorm {
    seeds: Arc<Mutex<Vec<u64>>>,
}

impl Scenario for EagerStorm {
    fn name(&self) -> &'static str {
        "eager-storm"
    }
    fn description(&self) -> &'static str {
        "the retry storm with a client that spawns when built"
    }
    fn params(&self) -> Vec<ParamSpec> {
        RetryStorm.params()
    }
    fn knobs(&self) -> Vec<KnobSpec> {
        RetryStorm.knobs()
    }
    fn trigger(&self) -> Vec<String> {
        RetryStorm.trigger()
    }
    fn build(&self, params: &Params) -> Result<Box<dyn System>, ParamError> {
        Ok(Box::new(Eager {
            inner: RetryStorm.build(params)?,
            seed: params.seed(),
            seeds: self.seeds.clone(),
        }))
    }
}

#[test]
fn clients_are_built_inside_their_host_and_services_see_the_run_seed() {
    let scenario: &'static EagerStorm = Box::leak(Box::new(EagerStorm {
        seeds: Arc::default(),
    }));
    for seed in [5, 6] {
        let plan = RunPlan::of(scenario)
            .schedule(Schedule::from_specs(&[SPIKE]).unwrap())
            .located("test", None)
            .seed(seed)
            .build()
            .unwrap();
        let report = run::run(&plan).unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.verdict.class, Class::Metastable);
    }
    let seeds = scenario.seeds.lock().unwrap().clone();
    // Two clients, in the faulted run and in its control, per seed.
    assert_eq!(seeds, [5, 5, 5, 5, 6, 6, 6, 6]);
}
