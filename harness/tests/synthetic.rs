//! The generated family (`synthetic --set instance=N`): instances are
//! deterministic, described as built, loaded as their model says, and fail
//! only where the mechanisms put them under stress.

mod common;
use common::run_specs;
use hormesis::run::{RunPlan, RunReport};
use hormesis::scenario::{Params, Scenario};
use hormesis::scenarios::synthetic::{Design, Synthetic};
use hormesis::verdict::Class;
use hormesis_faults::Schedule;

fn instance(n: u64) -> String {
    format!("instance={n}")
}

fn run_instance(n: u64, specs: &[&str], seed: u64) -> RunReport {
    let set = instance(n);
    run_specs("synthetic", specs, &[set.as_str()], seed)
}

#[test]
fn an_instance_replays_byte_for_byte_and_instances_differ() {
    let spike = "load-spike:at=40s,for=10s,factor=2.5";
    let mut digests = Vec::new();
    for n in [2, 3, 10, 14] {
        let a = run_instance(n, &[spike], 3);
        let b = run_instance(n, &[spike], 3);
        assert_eq!(
            a.digest, b.digest,
            "instance {n}: two runs of seed 3 differ"
        );
        digests.push(a.digest);
    }
    digests.sort();
    digests.dedup();
    assert_eq!(digests.len(), 4, "four instances, four systems");
}

#[test]
fn the_description_names_what_is_built() {
    for n in (0..20).chain([u64::MAX]) {
        let set = instance(n);
        let params = Params::resolve(&Synthetic.params(), &[set.as_str()]).unwrap();
        let design = Design::generate(n);
        let system = Synthetic.build(&params).unwrap();
        let layout = system.layout();
        assert_eq!(layout.hosts, design.hosts(), "instance {n}");
        assert_eq!(layout.clients, design.client_hosts(), "instance {n}");
        assert!((layout.rate - design.rate).abs() < 1e-9);
        let text = Synthetic.describe(&params).unwrap();
        assert!(
            text.contains(&format!(
                "instance {n}: built around {}",
                design.mechanism.name()
            )),
            "{text}"
        );
        for host in &layout.hosts {
            assert!(
                text.contains(host.as_str()),
                "instance {n}: {host} missing from\n{text}"
            );
        }
        let knobs: Vec<String> = Synthetic
            .knobs_for(&params)
            .into_iter()
            .map(|k| k.name)
            .collect();
        for s in &design.services {
            assert!(
                knobs.contains(&format!("slow-{}", s.name)),
                "instance {n}: {knobs:?}"
            );
            assert!(
                text.contains(&format!(
                    "{} × ",
                    match s.workers {
                        1 => "1 worker".to_string(),
                        w => format!("{w} workers"),
                    }
                )),
                "instance {n}: {}'s pool missing from\n{text}",
                s.name
            );
        }
        assert_eq!(
            knobs.contains(&"cache-flush".to_string()),
            design.services.iter().any(|s| s.cache.is_some())
        );
        // Every knob the target offers is one a schedule may name.
        let knob = format!(
            "knob:at=40s,for=5s,knob=slow-{},value=2",
            design.services[0].name
        );
        RunPlan::of(&Synthetic)
            .sets([set.as_str()])
            .schedule(Schedule::from_specs(&[knob]).unwrap())
            .located("test", None)
            .seed(1)
            .engine(hormesis::engine::EngineKind::BUILT)
            .build()
            .unwrap();
    }
}

/// The model the sizes come from holds in the simulation: without faults
/// the weak spot's workers are busy the share of the time the model says
/// (to 0.15: the token-refresh model overestimates refreshes, memory
/// pressure stretches service), and no instance starts overloaded.
#[test]
fn without_faults_the_weak_spot_is_as_busy_as_its_model_says() {
    let mut checked = 0;
    for n in 1..=12 {
        let design = Design::generate(n);
        let run = run_instance(n, &[], 1);
        assert_ne!(run.verdict.class, Class::UnhealthyBaseline, "instance {n}");
        let weak = &design.services[design.weak];
        if weak.threads.is_some() || weak.cache.is_some() || weak.lease.is_some() {
            continue;
        }
        let busy = format!("{}_busy", weak.name);
        let windows: Vec<f64> = run
            .timeline()
            .windows
            .iter()
            .filter(|w| w.t_s >= 5.0)
            .filter_map(|w| w.gauges.get(&busy).copied())
            .collect();
        let measured = windows.iter().sum::<f64>()
            / windows.len() as f64
            / (weak.workers * weak.shards) as f64;
        let model =
            weak.arrivals * weak.service_time.as_secs_f64() / (weak.workers * weak.shards) as f64;
        assert!(
            (measured - model).abs() < 0.15,
            "instance {n}: {} busy {measured:.3} of the time, model {model:.3}",
            weak.name
        );
        checked += 1;
    }
    assert!(
        checked >= 3,
        "only {checked} instances had a plain weak pool"
    );
}

/// Instance 5 (ground truth in docs/benchmarks.md): a gateway at 62 % with
/// clients that wait 3 s and retry once. A spike of 3× for 29 s leaves a
/// backlog whose age passes the timeout, so the gateway serves only work
/// nobody waits for, and the retries keep it full, past the horizon; 1.5×
/// leaves one it drains.
#[test]
fn a_recorded_trigger_tips_instance_5_and_a_weaker_spike_recovers() {
    for seed in [1, 2] {
        let strong = run_instance(5, &["load-spike:at=49s,for=29s,factor=3"], seed);
        assert_eq!(strong.verdict.class, Class::Metastable, "seed {seed}");
        let weak = run_instance(5, &["load-spike:at=49s,for=29s,factor=1.5"], seed);
        assert_eq!(weak.verdict.class, Class::Stable, "seed {seed}");
    }
}

#[test]
fn a_horizon_too_short_for_the_clients_deadline_is_refused() {
    // Instance 5's clients wait up to 3.8 s: a 20 s horizon is too short.
    let err = RunPlan::of(&Synthetic)
        .sets(["instance=5", "horizon=20s"])
        .located("test", None)
        .seed(1)
        .engine(hormesis::engine::EngineKind::BUILT)
        .build()
        .err()
        .expect("refused");
    assert!(err.to_string().contains("horizon"), "{err}");
}

/// Remedies (`Scenario::remedies`) are knobs a schedule may turn but no
/// search proposes; `pause-retries` stops every retry while it is held,
/// and turned at a trigger's end it brings back a run that retries kept
/// down (a diagnosis checked by intervention, scripts/diagnosis.py).
#[test]
fn remedies_are_turned_by_schedules_and_cut_their_loop() {
    let set = instance(11);
    let params = Params::resolve(&Synthetic.params(), &[set.as_str()]).unwrap();
    let system = Synthetic.build(&params).unwrap();
    let layout = system.layout().clone();
    let names = |t: hormesis_faults::Target| -> Vec<String> {
        t.knobs.into_iter().map(|k| k.name).collect()
    };
    let space = names(hormesis::run::fault_space(&Synthetic, &params, &layout));
    let target = names(hormesis::run::target(&Synthetic, &params, &layout));
    for remedy in ["pause-retries", "flush-queues", "restore-caches"] {
        assert!(!space.contains(&remedy.to_string()), "{space:?}");
        assert!(target.contains(&remedy.to_string()), "{target:?}");
    }

    let crash = "crash:at=48s,for=3s,host=catalog";
    let seed = 4466838986402576708;
    let plain = run_instance(11, &[crash], seed);
    assert_eq!(
        plain.verdict.class,
        Class::Metastable,
        "{:?}",
        plain.verdict
    );
    assert!(
        plain.windows.iter().any(|w| w.attempts > w.offered),
        "the clients retry"
    );
    // Held at its no-op value as long, the switch moves the trigger's end
    // (and the window recovery is judged in) without bringing it back.
    let null = run_instance(
        11,
        &[crash, "knob:at=51s,for=30s,knob=pause-retries,value=0"],
        seed,
    );
    assert_eq!(null.verdict.class, Class::Metastable, "{:?}", null.verdict);
    let paused = run_instance(
        11,
        &[crash, "knob:at=51s,for=30s,knob=pause-retries,value=1"],
        seed,
    );
    assert_ne!(
        paused.verdict.class,
        Class::Metastable,
        "{:?}",
        paused.verdict
    );
    // While held (after the windows a retry begun before it may finish in),
    // no client retries.
    for w in paused
        .windows
        .iter()
        .filter(|w| w.t_s >= 53.0 && w.t_s < 80.0)
    {
        assert_eq!(w.attempts, w.offered, "at {} s", w.t_s);
    }
    // Restoring the cache alone does not: the retries keep the backlog.
    let restored = run_instance(11, &[crash, "knob:at=51s,knob=restore-caches"], seed);
    assert_eq!(
        restored.verdict.class,
        Class::Metastable,
        "{:?}",
        restored.verdict
    );
}
