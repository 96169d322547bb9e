//! `replay`: kept incidents run again, each expectation and digest
//! checked; a JUnit report for CI.

use super::fidelity;
use super::Exit;
use super::{bad_input, output, policy_sets, preflight, write_file, Env, Failure, OrBadInput};
use crate::engine::EngineKind;
use crate::files;
use crate::incident::Incident;
use crate::replay::{self, ReplayError};
use crate::run;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(super) struct ReplayArgs {
    /// Incident files, or directories searched recursively for *.yaml.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also fail when an incident's digest changed (its behaviour is not identical).
    #[arg(long)]
    strict: bool,
    /// Override a parameter of every incident, e.g. `--set retry_budget.ratio=0.2`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// A policy file (YAML: parameter names to values, e.g. a tuned
    /// mitigation): replay every incident whose scenario has its
    /// parameters under it. Applied before any --set.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Write a JUnit XML report (one test case per incident) for CI.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// After an intended change of behaviour: rewrite the recorded figures
    /// (digest, score, TTR, version, date) of every incident whose
    /// expectation still holds. Regressions are left as they are.
    #[arg(long, conflicts_with_all = ["set", "strict", "policy"])]
    rerecord: bool,
    /// Also replay each incident at a fifth of turmoil's tick, and on the
    /// other engine where its build is found (as `run --check-fidelity`),
    /// and fail one whose verdict class changes: a likely simulation
    /// artifact.
    #[arg(long, conflicts_with = "rerecord")]
    check_fidelity: bool,
}

pub(super) fn command(env: &Env, args: ReplayArgs) -> Result<Exit, Failure> {
    let paths = replay::collect(&args.paths).map_err(bad_input)?;
    let inputs: Vec<&Path> = paths
        .iter()
        .chain(&args.policy)
        .map(|p| p.as_path())
        .collect();
    preflight(&[output("--junit", args.junit.as_deref())], &inputs)?;
    // A policy is checked against the scenarios of the incidents it meets.
    let mut scenarios: Vec<&dyn crate::scenario::Scenario> = Vec::new();
    if args.policy.is_some() {
        for path in &paths {
            if let Ok(s) = Incident::load(path).and_then(|i| i.scenario(&env.registry)) {
                if !scenarios.iter().any(|k| k.name() == s.name()) {
                    scenarios.push(s);
                }
            }
        }
    }
    let sets = policy_sets(args.policy.as_deref(), &scenarios, &args.set)?;
    // Read every file before running any, so bad input fails fast and whole.
    let mut incidents = Vec::new();
    let mut errors = Vec::new();
    let mut used = vec![false; sets.len()];
    for path in &paths {
        let loaded = Incident::load(path).and_then(|i| {
            let overrides = replay::applicable(&env.registry, &i, &sets)?;
            for (u, o) in used.iter_mut().zip(&sets) {
                *u |= overrides.contains(o);
            }
            i.plan(&env.registry, &overrides).map(|_| (i, overrides))
        });
        match loaded {
            Ok((i, overrides)) => incidents.push((path.clone(), i, overrides)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        if let Some((o, _)) = sets.iter().zip(&used).find(|(_, u)| !**u) {
            return Err(bad_input(format!(
                "--set {o}: no incident's scenario has this parameter (see `{} scenarios`)",
                env.bin
            )));
        }
    }
    if !errors.is_empty() {
        return Err(bad_input(format!(
            "{} of {} incident files cannot be replayed:\n  {}",
            errors.len(),
            paths.len(),
            errors.join("\n  ")
        )));
    }
    errln!("replaying {} incidents", incidents.len());
    let id_width = incidents
        .iter()
        .map(|(_, i, _)| i.id.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let exp_width = incidents
        .iter()
        .map(|(_, i, _)| i.expect.describe().chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    outln!(
        "{:<id_width$}  {:<exp_width$}  {:<22}  {:<7}  {:>6}  result",
        "incident",
        "expected",
        "got",
        "digest",
        "time"
    );
    let mut cases = Vec::new();
    let mut regressions = 0;
    // Why the other engine was not asked, once each (no build found, a
    // scenario that does not run there).
    let mut not_checked: Vec<String> = Vec::new();
    for (path, incident, overrides) in &incidents {
        #[allow(clippy::disallowed_methods)] // reports wall time; never read by a simulation
        let started = std::time::Instant::now();
        let outcome = replay::replay(&env.registry, incident, overrides);
        let elapsed = started.elapsed();
        let outcome = match outcome {
            Ok(o) => o,
            Err(ReplayError::Incident(e)) => return Err(bad_input(e)),
            Err(e @ ReplayError::Run { .. }) => {
                return Err(Failure {
                    code: Exit::Finding,
                    message: e.to_string(),
                })
            }
        };
        // A verdict that changes at a finer tick is an artifact of the
        // step, not a property of the system: it fails like a regression.
        let artifact = if args.check_fidelity {
            let plan = incident.plan(&env.registry, overrides).map_err(bad_input)?;
            let finer = plan.finer(5)?;
            let fine = hormesis_faults::format_duration(finer.tick.unwrap_or_default());
            let got = outcome.report.verdict.class;
            let on_tick = if incident.engine == EngineKind::Turmoil {
                let now = run::run(&finer)?.verdict.class;
                (got != now).then(|| {
                    format!(
                        "FIDELITY: {} at the scenario's tick, {} at {fine}: likely a simulation artifact",
                        got.name(),
                        now.name(),
                    )
                })
            } else {
                None
            };
            let on_other = match fidelity::on_other_engine(&plan, finer.tick) {
                fidelity::OtherEngine::Verdict { engine, class, .. } => {
                    (class != got.name()).then(|| {
                        format!(
                            "FIDELITY: {} on {}, {class} on {}{}: the finding depends on the simulator",
                            got.name(),
                            incident.engine.name(),
                            engine.name(),
                            if engine == EngineKind::Turmoil {
                                format!(" at {fine}")
                            } else {
                                String::new()
                            }
                        )
                    })
                }
                fidelity::OtherEngine::Skipped(why) => {
                    if !not_checked.contains(&why) {
                        not_checked.push(why);
                    }
                    None
                }
                fidelity::OtherEngine::Failed(why) => Some(format!(
                    "FIDELITY: the other engine's build gave no verdict: {why}"
                )),
            };
            match (on_tick, on_other) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            }
        } else {
            None
        };
        let passed = outcome.passed(args.strict) && artifact.is_none();
        regressions += usize::from(!passed);
        let rerecord = args.rerecord && passed && !outcome.digest_same;
        if rerecord {
            let updated = incident.rerecorded(&outcome.report, crate::incident::today());
            files::write_atomically(path, updated.to_yaml().as_bytes())
                .or_bad(|| format!("cannot rewrite {}", path.display()))?;
        }
        let result = match (&outcome.regression, outcome.digest_same) {
            (Some(why), _) => format!("REGRESSION: {why}"),
            (None, _) if artifact.is_some() => artifact.clone().unwrap_or_default(),
            (None, false) if args.strict => "CHANGED (--strict)".to_string(),
            (None, false) if rerecord => "ok (re-recorded)".to_string(),
            (None, _) => "ok".to_string(),
        };
        outln!(
            "{:<id_width$}  {:<exp_width$}  {:<22}  {:<7}  {:>5.1}s  {result}",
            outcome.id,
            outcome.expected,
            outcome.got,
            if outcome.digest_same {
                "same"
            } else {
                "changed"
            },
            elapsed.as_secs_f64(),
        );
        let replayed_at = outcome.report.tick_ms.map(|ms| ms / 1000.0);
        if let (Some(found), Some(now)) = (incident.found.tick, replayed_at) {
            if (found.as_secs_f64() - now).abs() > 1e-9 {
                outln!(
                    "  note: found at a {} step, replayed at {}: the scenario's tick changed since",
                    hormesis_faults::format_duration(found),
                    hormesis_faults::format_duration(std::time::Duration::from_secs_f64(now))
                );
            }
        }
        if !passed {
            // What changed the plan goes with it, or the line reproduces
            // another run (issue 29, E6).
            let policy = args
                .policy
                .as_ref()
                .map_or(String::new(), |p| format!(" --policy '{}'", p.display()));
            let sets: String = args.set.iter().map(|s| format!(" --set '{s}'")).collect();
            outln!(
                "  seed {}; file {}; reproduce: {} replay '{}'{policy}{sets}{}",
                incident.seed,
                path.display(),
                env.bin,
                path.display(),
                if artifact.is_some() {
                    " --check-fidelity"
                } else {
                    ""
                }
            );
        }
        cases.push(JunitCase {
            name: outcome.id.clone(),
            file: path.display().to_string(),
            seconds: elapsed.as_secs_f64(),
            failure: (!passed).then(|| result.clone()),
            detail: format!(
                "expected: {}\ngot: {}\ndigest: {} (recorded {})\nseed: {}",
                outcome.expected,
                outcome.got,
                outcome.report.digest,
                incident.found.digest,
                incident.seed
            ),
        });
    }
    outln!(
        "{} incidents, {} passed, {} {}",
        incidents.len(),
        incidents.len() - regressions,
        regressions,
        if args.strict {
            "failed (strict)"
        } else {
            "regressed"
        }
    );
    for why in &not_checked {
        outln!("fidelity: not checked on the other engine: {why}");
    }
    if let Some(path) = &args.junit {
        let xml = junit_xml(&cases).map_err(bad_input)?;
        write_file(path, xml.as_bytes())?;
    }
    Ok(Exit::finding_if(regressions > 0))
}

struct JunitCase {
    name: String,
    file: String,
    seconds: f64,
    failure: Option<String>,
    detail: String,
}

fn junit_xml(cases: &[JunitCase]) -> Result<String, quick_junit::SerializeError> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("hormesis replay");
    for case in cases {
        let status = match &case.failure {
            None => TestCaseStatus::success(),
            Some(why) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(why.as_str());
                s.set_description(case.detail.as_str());
                s
            }
        };
        let mut tc = TestCase::new(case.name.as_str(), status);
        tc.set_classname(case.file.as_str());
        tc.set_time(std::time::Duration::from_secs_f64(case.seconds));
        suite.add_test_case(tc);
    }
    let mut report = Report::new("hormesis");
    report.add_test_suite(suite);
    report.to_string()
}
