//! `triage`: which failure modes explorations found are not yet kept.

use super::{bad_input, emit, output, preflight, Env, Failure};
use crate::incident::Incident;
use crate::replay;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(super) struct TriageArgs {
    /// `explore --json` files.
    #[arg(required = true, value_name = "EXPLORE.json")]
    explorations: Vec<PathBuf>,
    /// Incidents already kept (files or folders searched for *.yaml).
    #[arg(long, value_name = "PATH", required = true)]
    known: Vec<PathBuf>,
    /// Write the findings as JSON; `-` for stdout.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

pub(super) fn command(env: &Env, args: TriageArgs) -> Result<u8, Failure> {
    use crate::explore::merge;
    let inputs: Vec<&Path> = args.explorations.iter().map(|p| p.as_path()).collect();
    preflight(&[output("--json", args.json.as_deref())], &inputs)?;
    let mut explorations = Vec::new();
    for path in &args.explorations {
        explorations.push(merge::load(path).map_err(bad_input)?);
    }
    let paths = replay::collect_kept(&args.known).map_err(bad_input)?;
    let mut known = Vec::new();
    for path in paths {
        let incident = Incident::load(&path).map_err(bad_input)?;
        known.push((path, incident));
    }
    let findings = crate::triage::triage(&explorations, &known);
    let new = findings.iter().filter(|f| f.known_in.is_none()).count();
    let mut out = format!(
        "{} failure modes found, {} new (known incidents: {})\n",
        findings.len(),
        new,
        known.len()
    );
    for f in &findings {
        out += &format!(
            "  {:<4} {:<18} {:<32} {}  (seed {}, score {:.2}){}\n",
            if f.known_in.is_some() { "ok" } else { "NEW" },
            f.scenario,
            f.signature,
            f.schedule.join(" "),
            f.seed,
            f.score,
            f.known_in
                .as_ref()
                .map_or(String::new(), |p| format!("  kept in {}", p.display()))
        );
    }
    // New incidents belong with the known ones: the first folder given.
    let keep_in = args
        .known
        .iter()
        .find(|p| p.is_dir())
        .map_or_else(|| "replays".to_string(), |p| p.display().to_string());
    let keep_in = keep_in.trim_end_matches('/');
    for f in findings
        .iter()
        .filter(|f| f.known_in.is_none() && f.signature == crate::triage::UNHEALTHY)
    {
        let sets: String = f.set.iter().map(|s| format!(" --set '{s}'")).collect();
        out += &format!(
            "UNHEALTHY-BASELINE {}: runs had no healthy baseline (the system is dead or overloaded as configured); see {} run --scenario {} --seed {}{sets}\n",
            f.scenario, env.bin, f.scenario, f.seed
        );
    }
    for f in findings
        .iter()
        .filter(|f| f.known_in.is_none() && f.signature != crate::triage::UNHEALTHY)
    {
        let faults: Vec<String> = f
            .schedule
            .iter()
            .map(|s| format!("--fault '{s}'"))
            .collect();
        let sets: String = f.set.iter().map(|s| format!(" --set '{s}'")).collect();
        out += &format!(
            "keep {} {}: {} run --scenario {} --seed {}{sets} {} --record {keep_in}/{}/NAME.yaml\n",
            f.scenario,
            f.signature,
            env.bin,
            f.scenario,
            f.seed,
            faults.join(" "),
            f.scenario
        );
    }
    emit(&out, args.json.as_deref(), &findings)?;
    Ok(u8::from(new > 0))
}
