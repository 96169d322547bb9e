//! A service that panics is a finding with its message and seed, never a
//! crash of the harness. The scenario here is written against the public
//! API, as a user's would be.

use hormesis::run::{self, RunPlan};
use hormesis::scenario::{
    CallFailure, Client, HostSoftware, Layout, LocalFuture, ParamError, ParamSpec, Params,
    Scenario, Scrape, System,
};
use hormesis_faults::KnobSpec;
use std::rc::Rc;
use std::time::Duration;

/// A host that panics 12 s in (in its main task, or in a task it spawned);
/// a client whose calls always succeed at once.
struct Fragile {
    in_spawned_task: bool,
}

struct FragileSystem(Layout, bool);

struct Instant;

impl Client for Instant {
    fn call(&self, _key: u64) -> LocalFuture<'_, Result<(), CallFailure>> {
        Box::pin(async { Ok(()) })
    }
}

impl Scenario for Fragile {
    fn name(&self) -> &'static str {
        "fragile"
    }
    fn description(&self) -> &'static str {
        "panics on purpose"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![]
    }
    fn knobs(&self) -> Vec<KnobSpec> {
        vec![]
    }
    fn trigger(&self) -> Vec<String> {
        vec![]
    }
    fn build(&self, _: &Params) -> Result<Box<dyn System>, ParamError> {
        Ok(Box::new(FragileSystem(
            Layout {
                hosts: vec!["server".into()],
                clients: vec!["client".into()],
                // 20 req/s: the warm-up's 9 measured seconds expect 180
                // successes, enough to judge (verdict::judgeable).
                rate: 20.0,
                deadline: Duration::from_secs(1),
                warmup: Duration::from_secs(10),
                horizon: Duration::from_secs(20),
                recovers_within: Duration::from_secs(5),
                run_limit: Duration::from_secs(600),
                tick: Duration::from_millis(5),
                min_latency: Duration::from_millis(1),
                max_latency: Duration::from_millis(2),
            },
            self.in_spawned_task,
        )))
    }
}

impl System for FragileSystem {
    fn layout(&self) -> &Layout {
        &self.0
    }
    fn host_software(&self, _: &str) -> HostSoftware {
        let spawned = self.1;
        Rc::new(move || {
            Box::pin(async move {
                let fail = async {
                    tokio::time::sleep(Duration::from_secs(12)).await;
                    panic!("invariant broken: queue depth went negative");
                };
                if spawned {
                    tokio::spawn(fail);
                    std::future::pending::<()>().await;
                } else {
                    fail.await
                }
                Ok(())
            })
        })
    }
    fn client(&self, _: &str) -> Rc<dyn Client> {
        Rc::new(Instant)
    }
    fn set_knob(&self, _: &str, _: Option<f64>) {}
    fn scrape(&self) -> Scrape {
        Scrape::default()
    }
}

#[test]
fn a_panicking_host_is_reported_with_its_message_and_time() {
    for in_spawned_task in [false, true] {
        check(&Fragile { in_spawned_task });
    }
}

fn check(scenario: &Fragile) {
    let plan = RunPlan::of(scenario)
        .located("test", None)
        .seed(9)
        .build()
        .unwrap();
    let report = run::run(&plan).expect("the harness survives a service panic");
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let f = &report.failures[0];
    assert_eq!(f.host, "server");
    assert!((12.0..12.1).contains(&f.t_s), "{}", f.t_s);
    assert!(
        f.message
            .contains("invariant broken: queue depth went negative"),
        "{}",
        f.message
    );
    assert!(report.is_finding());
}
