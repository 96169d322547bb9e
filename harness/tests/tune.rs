//! `tune`: from a deliberately bad policy, a small budget finds a better
//! one, the same for any number of threads; the command line writes a
//! policy file that `run --policy` takes and a JSON `report` draws.

use hormesis::incident::Incident;
use hormesis::scenarios::RetryStorm;
use hormesis::tune::{tune, TuneConfig, TuneError};
use std::path::PathBuf;
use std::process::Command;

fn kept(name: &str) -> Incident {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../replays/retry-storm")
        .join(name);
    Incident::load(&path).unwrap()
}

/// A retry budget of 100 % lets retries double the load: the kept storm
/// tips again (docs/scenarios.md). Six policies must find one that holds.
fn bad_start(jobs: usize) -> TuneConfig {
    let mut config = TuneConfig::new(&RetryStorm, "retry-budget", vec![kept("spike.yaml")], 6);
    config.start = vec!["retry_budget.ratio=1".into()];
    config.cost_seeds = 2;
    config.seed = 3;
    config.jobs = jobs;
    config
}

#[test]
fn tune_improves_on_a_bad_starting_policy_the_same_for_any_jobs() {
    let one = tune(&bad_start(1), &mut |_| {}, &|| false).unwrap();
    let start = one.start.as_ref().expect("the start is evaluated first");
    assert_eq!(start.how, "start");
    assert_eq!(start.policy["retry_budget.ratio"], "1");
    assert_eq!(
        (start.recovered, start.attacks),
        (0, 1),
        "the bad start tips: {start:?}"
    );
    let best = one.best.as_ref().unwrap();
    assert!(
        best.objective < start.objective - 0.3,
        "best {} vs start {}",
        best.objective,
        start.objective
    );
    assert_eq!(best.recovered, 1, "{best:?}");
    // Unlimited retries multiply the attack's load; the tuned budget cuts it.
    assert!(
        start.mean_amplification > best.mean_amplification && best.mean_amplification >= 1.0,
        "amplification: start {} best {}",
        start.mean_amplification,
        best.mean_amplification
    );
    assert!(best.feasible && best.cost <= 0.05, "{best:?}");
    assert_eq!(one.rounds[0].evaluations.len(), 6);

    let two = tune(&bad_start(2), &mut |_| {}, &|| false).unwrap();
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&two).unwrap(),
        "the result does not depend on --jobs"
    );
}

/// The start alone (budget 1), with the scenario's benign fault for the
/// retry budget (light loss): what the policy serves under it.
fn start_only(start: &[&str], benign: Option<Vec<String>>) -> hormesis::tune::Tuning {
    let mut config = TuneConfig::new(&RetryStorm, "retry-budget", vec![kept("spike.yaml")], 1);
    config.start = start.iter().map(|s| s.to_string()).collect();
    config.cost_seeds = 2;
    if let Some(benign) = benign {
        config.benign = benign;
    }
    tune(&config, &mut |_| {}, &|| false).unwrap()
}

#[test]
fn benign_faults_price_what_turning_the_mitigation_off_loses() {
    let off = [
        "retry_budget.ratio=0",
        "retry_budget.min_per_s=0",
        "retry_budget.max_tokens=1",
    ];
    let no_retries = start_only(&off, None);
    let generous = start_only(&["retry_budget.ratio=1"], None);
    assert_eq!(
        no_retries.benign,
        vec!["loss:at=0s,for=30s,rate=0.002,host=server".to_string()]
    );
    let (n, g) = (
        no_retries.start.as_ref().unwrap(),
        generous.start.as_ref().unwrap(),
    );
    let (ns, gs) = (n.benign_served.unwrap(), g.benign_served.unwrap());
    // Retries rescue what light loss strands: the generous budget serves
    // more, the unmitigated system (unlimited retries) at least as much.
    assert!(gs > ns + 0.02, "served: generous {gs}, no retries {ns}");
    assert!(no_retries.baseline_benign_served.unwrap() > ns + 0.02);
    assert!(
        n.resources.attempts_per_request < g.resources.attempts_per_request,
        "{:?} vs {:?}",
        n.resources,
        g.resources
    );
    // The shortfall is part of the objective, without a weight.
    assert!((n.objective - (n.attack_objective + (1.0 - ns))).abs() < 1e-9);
    // Without benign faults the objective is the attacks' alone.
    let plain = start_only(&off, Some(Vec::new()));
    let p = plain.start.as_ref().unwrap();
    assert_eq!(p.benign_served, None);
    assert_eq!(p.objective, p.attack_objective);
    assert_eq!(p.attack_objective, n.attack_objective);
    // A benign fault that cannot apply is refused before any run.
    let mut config = TuneConfig::new(&RetryStorm, "retry-budget", vec![kept("spike.yaml")], 1);
    config.benign = vec!["loss:at=0s,for=5s,rate=0.1,host=nowhere".into()];
    match config.check() {
        Err(TuneError::Config(m)) => {
            assert!(m.contains("--benign") && m.contains("nowhere"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stop_keeps_the_best_so_far() {
    let asked = std::cell::Cell::new(0);
    let stop = || {
        asked.set(asked.get() + 1);
        asked.get() > 3
    };
    let t = tune(&bad_start(2), &mut |_| {}, &stop).unwrap();
    assert!(t.stopped_early);
    assert_eq!(t.rounds[0].evaluations.len(), 3);
    assert!(t.best.is_some());
}

#[test]
fn nothing_to_tune_against_is_said() {
    let config = TuneConfig::new(&RetryStorm, "retry-budget", vec![], 4);
    match tune(&config, &mut |_| {}, &|| false) {
        Err(TuneError::Config(m)) => assert!(m.contains("nothing to tune against"), "{m}"),
        other => panic!("{:?}", other.map(|t| t.best)),
    }
    for (overrides, start, needle) in [
        (
            vec!["mitigation=autoscaler"],
            vec![],
            "leave it out of --set",
        ),
        (vec![], vec!["mitigation=autoscaler"], "is for `autoscaler`"),
        (
            vec![],
            vec!["rate=50"],
            "sets `rate`, which is not searched",
        ),
    ] {
        let mut config = bad_start(1);
        config.overrides = overrides.into_iter().map(String::from).collect();
        config.start = start.into_iter().map(String::from).collect();
        match tune(&config, &mut |_| {}, &|| false) {
            Err(TuneError::Config(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("{needle}: {:?}", other.map(|t| t.best)),
        }
    }
    let mut keep_none = bad_start(1);
    keep_none.explore_budget = 8;
    keep_none.keep = 0;
    match tune(&keep_none, &mut |_| {}, &|| false) {
        // Typed: the field refused, which the command line words as its flag.
        Err(TuneError::Setting(s)) => {
            assert_eq!((s.setting, s.value.as_str()), ("keep", "0"));
            assert!(s.as_flag().starts_with("--keep 0: "), "{}", s.as_flag());
        }
        other => panic!("{:?}", other.map(|t| t.best)),
    }
}

#[test]
fn the_command_writes_a_policy_that_run_takes_and_a_json_report_draws() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tune-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let (policy, json, html) = (
        dir.join("tuned.yaml"),
        dir.join("tune.json"),
        dir.join("tune.html"),
    );
    let start = dir.join("bad.yaml");
    std::fs::write(&start, "retry_budget.ratio: 1\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_hormesis");
    let kept = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../replays/retry-storm/spike.yaml"
    );
    let o = Command::new(bin)
        .args([
            "tune",
            "--scenario",
            "retry-storm",
            "--mitigation",
            "retry-budget",
        ])
        .args([
            "--against",
            kept,
            "--budget",
            "5",
            "--cost-seeds",
            "1",
            "--seed",
            "3",
        ])
        .arg("--policy")
        .arg(&start)
        .arg("-o")
        .arg(&policy)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("best   objective"), "{out}");
    let written = std::fs::read_to_string(&policy).unwrap();
    assert!(
        written.starts_with("# tuned by: hormesis tune"),
        "{written}"
    );
    assert!(written.contains("mitigation: retry-budget\n"), "{written}");
    let o = Command::new(bin)
        .args(["replay", kept, "--policy"])
        .arg(&policy)
        .output()
        .unwrap();
    // The kept storm expects to tip; under the tuned policy it recovers.
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("REGRESSION"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for field in [
        "scenario",
        "mitigation",
        "dimensions",
        "attacks",
        "rounds",
        "start",
        "best",
    ] {
        assert!(v.get(field).is_some(), "--json has `{field}`");
    }
    assert_eq!(v["rounds"][0]["evaluations"].as_array().unwrap().len(), 5);
    let o = Command::new(bin)
        .arg("report")
        .arg(&json)
        .arg("-o")
        .arg(&html)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h1>Tuning retry-budget on retry-storm</h1>"));
    assert!(page.contains("<svg"), "the convergence plot");
    assert!(page.contains("<th>amplification</th>"), "{page}");
    assert!(
        page.contains("<th>served under benign faults</th>"),
        "{page}"
    );
    assert!(page.contains("Pareto front of round 1"), "{page}");
    assert!(!v["rounds"][0]["pareto"].as_array().unwrap().is_empty());
    let best = v["best"]["mean_amplification"].as_f64().expect("a number");
    assert!(page.contains(&format!("{best:.2}×")), "{page}");

    // What is wrong is said before any run.
    for (args, needle) in [
        (vec!["--mitigation", "degrader"], "no mitigation `degrader`"),
        (
            vec!["--mitigation", "retry-budget", "--max-cost", "150%"],
            "from 0 % to 100 %",
        ),
        (
            vec!["--mitigation", "retry-budget", "--budget", "0"],
            "--budget 0",
        ),
        (
            vec![
                "--mitigation",
                "retry-budget",
                "--benign",
                "none",
                "--benign",
                "hold:at=0s,for=1s,host=server",
            ],
            "cannot stand beside",
        ),
        (
            vec![
                "--mitigation",
                "retry-budget",
                "--benign",
                "loss:at=0s,for=1s,rate=0.5,host=nowhere",
            ],
            "--benign 'loss",
        ),
    ] {
        let o = Command::new(bin)
            .args(["tune", "--scenario", "retry-storm", "--against", kept])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
