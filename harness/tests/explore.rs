//! The explorer: same result for any number of jobs, shards that partition
//! the run seeds, and the acceptance run that finds a metastable schedule.

use hormesis::engine::EngineKind;
use hormesis::explore::strategy::StrategyKind;
use hormesis::explore::{explore, explore_until, shard_seeds, ExploreConfig};
use hormesis::incident::Incident;
use hormesis::verdict::Class;
use std::path::PathBuf;
use std::process::Command;

fn config(strategy: StrategyKind, budget: usize, jobs: usize) -> ExploreConfig {
    ExploreConfig {
        scenario: hormesis::scenarios::find("retry-storm").unwrap(),
        overrides: Vec::new(),
        engine: EngineKind::Turmoil,
        strategy,
        seed: 3,
        budget,
        jobs,
        seeds: 4,
        shard: (0, 1),
        ablate: Vec::new(),
    }
}

#[test]
fn the_result_does_not_depend_on_jobs() {
    for strategy in [StrategyKind::Guided, StrategyKind::Exp3] {
        let one = explore(&config(strategy, 20, 1), &mut |_, _| {}).unwrap();
        let three = explore(&config(strategy, 20, 3), &mut |_, _| {}).unwrap();
        assert_eq!(one, three, "{strategy:?}");
        assert_eq!(one.runs.len(), 20);
    }
}

#[test]
fn stopping_early_keeps_exactly_the_first_runs() {
    let full = explore(&config(StrategyKind::Guided, 24, 2), &mut |_, _| {}).unwrap();
    assert!(!full.stopped_early);
    // Stop before the third batch, as a time budget or Ctrl-C would.
    let asked = std::cell::Cell::new(0);
    let stop = || {
        asked.set(asked.get() + 1);
        asked.get() > 2
    };
    let cut = explore_until(&config(StrategyKind::Guided, 24, 2), &mut |_, _| {}, &stop).unwrap();
    assert!(cut.stopped_early);
    assert_eq!(cut.runs.len(), 16);
    assert_eq!(cut.runs, full.runs[..16]);
}

#[test]
fn shards_partition_the_run_seeds() {
    let all = shard_seeds(9, 12, (0, 1));
    assert_eq!(all.len(), 12);
    let mut union: Vec<u64> = (0..5).flat_map(|i| shard_seeds(9, 12, (i, 5))).collect();
    assert_eq!(union.len(), 12, "every seed exactly once");
    union.sort_unstable();
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(union, sorted);
    assert_ne!(shard_seeds(10, 12, (0, 1)), all, "another exploration seed");
    let mut c = config(StrategyKind::Random, 4, 2);
    c.shard = (3, 4);
    c.seeds = 2;
    assert!(explore(&c, &mut |_, _| {})
        .unwrap_err()
        .to_string()
        .contains("fewer than the 4 shards"));
}

#[test]
fn explore_finds_a_metastable_schedule_and_writes_its_incident() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explore-acceptance");
    let _ = std::fs::remove_dir_all(&dir);
    let json = dir.join("out.json");
    let o = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args([
            "explore",
            "--scenario",
            "retry-storm",
            "--budget",
            "60",
            "--seed",
            "1",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--incidents")
        .arg(dir.join("incidents"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 60);
    for field in ["arm", "schedule", "seed", "score", "class"] {
        assert!(!v["runs"][0][field].is_null(), "runs[].{field}");
    }
    let s = &v["summary"];
    assert!(s["runs_to_first_metastable"].as_u64().unwrap() >= 1);
    assert!(s["metastable_runs"].as_u64().unwrap() >= 1);
    assert!(s["distinct_metastable_arms"].as_u64().unwrap() >= 1);
    assert!(out.contains("distinct metastable arms"), "{out}");
    // Each incident replays to what the explorer saw.
    let incidents: Vec<PathBuf> = std::fs::read_dir(dir.join("incidents"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!incidents.is_empty());
    let incident = Incident::load(&incidents[0]).unwrap();
    assert_eq!(incident.found.class, Class::Metastable);
    let replayed = hormesis::replay::replay(
        &hormesis::registry::Registry::builtin(),
        &incident,
        &[] as &[&str],
    )
    .unwrap();
    assert!(replayed.regression.is_none() && replayed.digest_same);
}

/// Ctrl-C (SIGINT) ends the exploration after the batch in flight and keeps
/// everything: the JSON says so, and holds whole batches of runs.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_cleanly_and_keeps_what_was_found() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explore-ctrl-c");
    let _ = std::fs::remove_dir_all(&dir);
    let json = dir.join("out.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args([
            "explore",
            "--scenario",
            "gc-pressure",
            "--budget",
            "1000",
            "--jobs",
            "1",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--incidents")
        .arg(dir.join("incidents"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    // Interrupt once the second batch has begun reporting.
    for line in lines.by_ref() {
        if line.unwrap().contains("[   9/1000]") {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let rest = rest.join("\n");
    assert!(rest.contains("stopping after the runs in flight"), "{rest}");
    assert_eq!(status.code(), Some(1), "found something, so exit 1: {rest}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["stopped_early"], true);
    let runs = v["runs"].as_array().unwrap().len();
    assert!(
        (16..1000).contains(&runs) && runs % 8 == 0,
        "{runs} runs: whole batches, stopped well before the budget"
    );
    assert_eq!(v["summary"]["runs"].as_u64().unwrap() as usize, runs);
}

fn shard_outputs(n: usize) -> Vec<(PathBuf, hormesis::explore::merge::ShardOutput)> {
    (0..n)
        .map(|i| {
            let mut c = config(StrategyKind::Guided, 8, 2);
            c.seeds = 6;
            c.shard = (i, n);
            let e = explore(&c, &mut |_, _| {}).unwrap();
            (PathBuf::from(format!("shard-{i}.json")), (&e).into())
        })
        .collect()
}

#[test]
fn merging_shards_counts_every_run_once_whatever_the_order() {
    use hormesis::explore::merge::merge;
    let shards = shard_outputs(3);
    let mut reversed = shards.clone();
    reversed.reverse();
    let merged = merge(shards.clone()).unwrap();
    assert_eq!(merge(reversed).unwrap(), merged, "order does not matter");
    assert!(merged.missing.is_empty());
    let s = &merged.summary;
    assert_eq!(s.runs, 24);
    let metastable: usize = shards.iter().map(|(_, o)| o.summary.metastable_runs).sum();
    assert_eq!(s.metastable_runs, metastable);
    assert_eq!(
        s.runs_to_first_metastable,
        shards
            .iter()
            .filter_map(|(_, o)| o.summary.runs_to_first_metastable)
            .min()
    );
    // An arm's best over all shards is at least its best in each shard.
    for (_, o) in &shards {
        for arm in &o.summary.arms {
            let m = s.arms.iter().find(|a| a.arm == arm.arm).unwrap();
            assert!(m.best_score >= arm.best_score);
        }
    }
    let mut distinct: Vec<&str> = shards
        .iter()
        .flat_map(|(_, o)| o.runs.iter())
        .filter(|r| r.class == Some(Class::Metastable))
        .map(|r| r.arm.as_str())
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(s.distinct_metastable_arms, distinct.len());
}

#[test]
fn merge_refuses_duplicates_and_mismatched_shards_and_reports_missing_ones() {
    use hormesis::explore::merge::merge;
    let shards = shard_outputs(3);
    let partial = merge(vec![shards[0].clone(), shards[2].clone()]).unwrap();
    assert_eq!(partial.missing, ["1/3"]);
    let twice = merge(vec![shards[0].clone(), shards[0].clone()]).unwrap_err();
    assert!(twice.to_string().contains("given twice"), "{twice}");
    let mut other = shards[1].clone();
    other.1.seed += 1;
    let mismatch = merge(vec![shards[0].clone(), other]).unwrap_err();
    assert!(mismatch.to_string().contains("seed is 4"), "{mismatch}");
}

#[test]
fn merge_command_reads_shard_files() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explore-merge");
    let _ = std::fs::remove_dir_all(&dir);
    let mut files = Vec::new();
    for i in 0..2 {
        let json = dir.join(format!("shard-{i}.json"));
        let o = Command::new(env!("CARGO_BIN_EXE_hormesis"))
            .args(["explore", "--scenario", "gc-pressure", "--budget", "8"])
            .args(["--seeds", "4", "--shard", &format!("{i}/2")])
            .arg("--json")
            .arg(&json)
            .arg("--incidents")
            .arg(dir.join("incidents"))
            .output()
            .unwrap();
        assert!(o.status.code().is_some_and(|c| c <= 1), "{o:?}");
        files.push(json);
    }
    let merged = dir.join("merged.json");
    let o = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .arg("merge")
        .args(&files)
        .arg("--json")
        .arg(&merged)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "gc-pressure tips easily: {out}");
    assert!(out.contains("merged 2 of 2 shards"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    assert_eq!(v["summary"]["runs"], 16);
    // Bad input: a file that is not an exploration.
    let o = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .arg("merge")
        .arg(&files[0])
        .arg(dir.join("incidents"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read"));
}

/// `--smallest-trigger`: each metastable arm's best run shrinks to a
/// schedule no longer than it, which still tips the system on its seed.
#[test]
fn smallest_triggers_are_no_longer_and_still_tip() {
    use hormesis::explore::boundary::smallest_triggers;
    use hormesis_faults::Schedule;
    let c = config(StrategyKind::Guided, 8, 2);
    let e = explore(&c, &mut |_, _| {}).unwrap();
    let triggers = smallest_triggers(&c, &e.runs);
    assert_eq!(triggers.len(), e.summary.distinct_metastable_arms);
    assert!(!triggers.is_empty());
    for t in &triggers {
        let smallest = t.smallest.as_ref().unwrap_or_else(|| panic!("{t:?}"));
        let (found, small) = (
            Schedule::from_specs(&t.found).unwrap(),
            Schedule::from_specs(smallest).unwrap(),
        );
        assert!(small.events.len() <= found.events.len());
        let length = |s: &Schedule| s.events.iter().filter_map(|e| e.duration).max();
        assert!(length(&small) <= length(&found), "{t:?}");
        let plan = hormesis::run::RunPlan::of(c.scenario)
            .schedule(small)
            .located("test", None)
            .seed(t.seed)
            .build()
            .unwrap();
        let report = hormesis::run::run(&plan).unwrap();
        assert_eq!(report.verdict.class, Class::Metastable, "{t:?}");
    }
    // In arm order, whatever the number of threads.
    let mut one = c.clone();
    one.jobs = 1;
    assert_eq!(smallest_triggers(&one, &e.runs), triggers);
}

/// A cell is split only after its runs disagree (one tipped, one held, or
/// stresses more than 0.2 apart), so the refined cells of an arm appear
/// only after such runs were seen in earlier batches; and arms whose runs
/// all agree are never refined.
#[test]
fn cells_are_refined_only_where_runs_disagree() {
    let mut refined_arms = 0;
    // Three explorations: whether one refines depends on its draws. On
    // gc-headroom, whose boundary runs through its spike cells, they do.
    for seed in 1..=3 {
        let mut c = config(StrategyKind::Guided, 48, 2);
        c.scenario = hormesis::scenarios::find("gc-headroom").unwrap();
        c.seed = seed;
        let e = explore(&c, &mut |_, _| {}).unwrap();
        let batch = e.batch;
        let mut arms: Vec<&str> = e.runs.iter().map(|r| r.arm.as_str()).collect();
        arms.sort_unstable();
        arms.dedup();
        // Compounds are labelled by their faults' cells, not split themselves.
        arms.retain(|a| !a.contains(" + "));
        let before_count = refined_arms;
        for arm in arms {
            let runs: Vec<_> = e.runs.iter().filter(|r| r.arm == arm).collect();
            let Some(first_refined) = runs.iter().find(|r| r.cell != r.arm) else {
                continue;
            };
            refined_arms += 1;
            let before: Vec<_> = runs
                .iter()
                .filter(|r| r.index / batch < first_refined.index / batch)
                .collect();
            let stresses = before
                .iter()
                .filter(|r| r.class.is_some())
                .map(|r| r.stress);
            let slope = stresses.clone().fold(0.0, f64::max) - stresses.fold(1.0, f64::min);
            assert!(
                (before.iter().any(|r| r.class == Some(Class::Metastable))
                    && before
                        .iter()
                        .any(|r| r.class.is_some_and(|c| c != Class::Metastable)))
                    || slope > 0.2,
                "seed {seed}: {arm} was refined at run {} without disagreeing runs before it",
                first_refined.index
            );
        }
        if refined_arms > before_count {
            assert!(
                e.summary.cells > refined_arms - before_count,
                "splits add cells"
            );
        }
    }
    assert!(
        refined_arms > 0,
        "3 × 48 runs of gc-headroom refine at least one arm"
    );
}

/// The default strategy also runs compound schedules (near misses joined,
/// group probes); each is a valid schedule for the scenario, labelled by
/// its faults' arms, and counted as a distinct failure mode only when no
/// part tipped alone. `random` runs single faults only.
#[test]
fn the_default_strategy_runs_valid_compound_schedules() {
    // warm-cache: single faults almost never tip it, so the strategy turns
    // to group probes and compounds.
    let scenario = hormesis::scenarios::find("warm-cache").unwrap();
    let mut c = config(StrategyKind::Guided, 48, 2);
    c.scenario = scenario;
    let e = explore(&c, &mut |_, _| {}).unwrap();
    let compounds: Vec<_> = e.runs.iter().filter(|r| r.schedule.len() > 1).collect();
    assert!(
        compounds.len() >= 3,
        "{} compounds in 48 runs",
        compounds.len()
    );
    for r in &compounds {
        let schedule = hormesis_faults::Schedule::from_specs(&r.schedule).unwrap();
        let plan = hormesis::run::RunPlan::of(scenario)
            .schedule(schedule)
            .located("t", None)
            .seed(r.seed)
            .build();
        assert!(plan.is_ok(), "{:?}", r.schedule);
        assert_eq!(r.arm.split(" + ").count(), r.schedule.len(), "{r:?}");
    }
    let tipped_alone: Vec<&str> = e
        .summary
        .arms
        .iter()
        .filter(|a| a.metastable_runs > 0 && !a.arm.contains(" + "))
        .map(|a| a.arm.as_str())
        .collect();
    let new_compounds = e
        .summary
        .arms
        .iter()
        .filter(|a| a.metastable_runs > 0 && a.arm.contains(" + "))
        .filter(|a| !a.arm.split(" + ").any(|p| tipped_alone.contains(&p)))
        .count();
    assert_eq!(
        e.summary.distinct_metastable_arms,
        tipped_alone.len() + new_compounds
    );
    c.strategy = StrategyKind::Random;
    c.budget = 24;
    let r = explore(&c, &mut |_, _| {}).unwrap();
    assert!(r.runs.iter().all(|r| r.schedule.len() == 1));
}

/// latency-window tips only under 200-400 ms of added latency: at full
/// strength (2 s) its keepalive closes the connection and calls fail fast.
/// Every dose the default strategy's descent runs is one fault at full
/// duration, of a template whose full-strength probe ran in an earlier
/// batch and did not tip, and a latency dose is below that probe's delay.
#[test]
fn the_dose_descent_goes_below_a_full_strength_probe_that_held() {
    let scenario = hormesis::scenarios::find("latency-window").unwrap();
    let delay_ms = |spec: &str| {
        let event = hormesis_faults::Schedule::from_specs(&[spec.to_string()]).unwrap();
        match &event.events[0].fault {
            hormesis_faults::Fault::Latency { delay, .. } => Some(delay.as_millis()),
            _ => None,
        }
    };
    let mut doses = 0;
    for seed in 1..=3 {
        let mut c = config(StrategyKind::Guided, 32, 2);
        c.scenario = scenario;
        c.seed = seed;
        let e = explore(&c, &mut |_, _| {}).unwrap();
        for r in e
            .runs
            .iter()
            .filter(|r| r.proposer.as_deref() == Some("dose-descent"))
        {
            doses += 1;
            assert_eq!(r.schedule.len(), 1);
            assert!(r.schedule[0].contains("for=30s"), "{r:?}");
            let delay = delay_ms(&r.schedule[0]);
            let template = r.arm.split(" for=").next().unwrap();
            let above = e.runs[..r.index - r.index % e.batch].iter().any(|p| {
                p.arm.starts_with(template)
                    && matches!(p.proposer.as_deref(), Some("coverage" | "site-probes"))
                    && p.schedule[0].contains("for=30s")
                    && delay.is_none_or(|d| delay_ms(&p.schedule[0]).is_some_and(|top| top > d))
                    && p.class != Some(Class::Metastable)
            });
            assert!(above, "seed {seed}: {r:?} has no probe above it");
        }
    }
    assert!(doses > 0, "no descent in 3 explorations");
}

/// A knob declared with its default at its max (call-chain's `capacity`,
/// the share of the back end's workers in service) is a capacity: the
/// explorer only ever lowers it (its full-strength probe, a tenth of the
/// default, is `coverage`'s unit test).
#[test]
fn a_capacity_knob_is_lowered_and_its_full_strength_probe_is_its_lowest_value() {
    let scenario = hormesis::scenarios::find("call-chain").unwrap();
    let mut capacity_runs = Vec::new();
    for seed in 1..=3 {
        let mut c = config(StrategyKind::Guided, 8, 2);
        c.scenario = scenario;
        c.seed = seed;
        capacity_runs.extend(
            explore(&c, &mut |_, _| {})
                .unwrap()
                .runs
                .into_iter()
                .filter(|r| r.schedule.len() == 1 && r.schedule[0].contains("knob=capacity")),
        );
    }
    let value = |spec: &str| -> f64 {
        let schedule = hormesis_faults::Schedule::from_specs(&[spec.to_string()]).unwrap();
        match &schedule.events[0].fault {
            hormesis_faults::Fault::Knob { value, .. } => value.unwrap(),
            other => panic!("{other:?}"),
        }
    };
    assert!(!capacity_runs.is_empty(), "no run lowered the capacity");
    assert!(
        capacity_runs.iter().all(|r| value(&r.schedule[0]) < 1.0),
        "{capacity_runs:#?}"
    );
}

/// hot-shard: twelve shards, of which shard-7 alone is vulnerable. Each
/// site probe is one fault at full duration, of a template not yet run at
/// full strength, on a site an earlier batch's run was aimed at (one that
/// tipped, came closest, or stood out).
#[test]
fn site_probes_go_to_sites_earlier_runs_pointed_at() {
    let scenario = hormesis::scenarios::find("hot-shard").unwrap();
    let mut probes = 0;
    for seed in 1..=2 {
        let mut c = config(StrategyKind::Guided, 24, 2);
        c.scenario = scenario;
        c.seed = seed;
        let e = explore(&c, &mut |_, _| {}).unwrap();
        for r in e
            .runs
            .iter()
            .filter(|r| r.proposer.as_deref() == Some("site-probes"))
        {
            probes += 1;
            assert_eq!(r.schedule.len(), 1, "{r:?}");
            assert!(r.schedule[0].contains("for=30s") || !r.schedule[0].contains("for="));
            let site = site_of(&r.schedule[0]).expect("aimed at a site");
            let before = &e.runs[..r.index - r.index % e.batch];
            assert!(
                before.iter().any(|p| p
                    .schedule
                    .iter()
                    .any(|s| site_of(s).as_deref() == Some(&site))),
                "seed {seed}: {r:?}"
            );
            assert!(
                !e.runs[..r.index].iter().any(|p| p.schedule.len() == 1
                    && p.schedule[0] == r.schedule[0]
                    && p.proposer.as_deref() == Some("site-probes")),
                "a template probed twice: {r:?}"
            );
        }
    }
    assert!(probes > 0, "no site probe in two explorations of hot-shard");
}

/// The site of a fault template (`shard-7` for `latency:…,host=shard-7` and
/// for `hold:…,between=shard-7|…`), read from a run's schedule entry.
fn site_of(spec: &str) -> Option<String> {
    spec.split([',', ':']).find_map(|part| {
        part.strip_prefix("host=")
            .or_else(|| part.strip_prefix("between="))
            .map(|s| s.split('|').next().unwrap_or(s).to_string())
    })
}

/// hot-shard: coverage reaches every site before it returns to one, so
/// that one weak shard among twelve is reached within a few batches
/// (drawing among the 62 templates alone repeats a shard in most batches
/// of eight). Up to the first site probe (which also counts as probing its
/// site), coverage's runs are on distinct sites.
#[test]
fn coverage_sweeps_every_site_before_returning_to_one() {
    let scenario = hormesis::scenarios::find("hot-shard").unwrap();
    for seed in 1..=3 {
        let mut c = config(StrategyKind::Guided, 16, 2);
        c.scenario = scenario;
        c.seed = seed;
        let e = explore(&c, &mut |_, _| {}).unwrap();
        let sites: Vec<String> = e
            .runs
            .iter()
            .take_while(|r| r.proposer.as_deref() != Some("site-probes"))
            .filter(|r| r.proposer.as_deref() == Some("coverage"))
            .filter_map(|r| site_of(&r.schedule[0]))
            .collect();
        let mut distinct = sites.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), sites.len(), "seed {seed}: {sites:?}");
    }
}

/// Leaving a proposer out (an ablation) removes its runs and nothing
/// else changes shape; an unknown name is refused with the list of names.
/// The plain strategies name no proposer.
#[test]
fn an_ablated_proposer_never_runs() {
    let mut c = config(StrategyKind::Guided, 16, 2);
    let e = explore(&c, &mut |_, _| {}).unwrap();
    let names: Vec<&str> = e
        .runs
        .iter()
        .filter_map(|r| r.proposer.as_deref())
        .collect();
    assert_eq!(
        names.len(),
        16,
        "every run of the default strategy names its proposer"
    );
    c = c.ablate("coverage").ablate("uniform");
    let e = explore(&c, &mut |_, _| {}).unwrap();
    assert_eq!(e.ablated, ["coverage", "uniform"]);
    assert!(e
        .runs
        .iter()
        .all(|r| !matches!(r.proposer.as_deref(), Some("coverage" | "uniform"))));
    let err = explore(&c.clone().ablate("nope"), &mut |_, _| {})
        .expect_err("an unknown proposer is refused");
    assert!(err.to_string().contains("near-miss"), "{err}");
    for plain in [StrategyKind::Thompson, StrategyKind::Random] {
        let e = explore(&config(plain, 8, 2), &mut |_, _| {}).unwrap();
        assert!(e
            .runs
            .iter()
            .all(|r| r.proposer.is_none() && r.schedule.len() == 1));
    }
}
