//! `triage`: which failure modes explorations found are not yet kept.

use super::Exit;
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
    /// Modes the team accepts without keeping an incident: a YAML list of
    /// `{scenario, mode, reason}` (e.g. `replays/accepted.yaml`). Accepted
    /// modes are reported apart and never fail the gate.
    #[arg(long, value_name = "FILE")]
    accepted: Option<PathBuf>,
    /// Write the findings as JSON; `-` for stdout.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

pub(super) fn command(env: &Env, args: TriageArgs) -> Result<Exit, Failure> {
    use crate::explore::merge;
    let inputs: Vec<&Path> = args.explorations.iter().map(|p| p.as_path()).collect();
    preflight(&[output("--json", args.json.as_deref())], &inputs)?;
    let mut explorations = Vec::new();
    for path in &args.explorations {
        explorations.push(merge::load(path).map_err(bad_input)?);
    }
    let paths = replay::collect_kept(&args.known).map_err(bad_input)?;
    let mut known = Vec::new();
    let mut derived = 0;
    for path in paths {
        let mut incident = Incident::load(&path).map_err(bad_input)?;
        // An incident kept before mechanisms were recorded is matched by
        // the mechanism its replay shows.
        if incident.found.mechanism.is_none()
            && incident.found.class == crate::verdict::Class::Metastable
        {
            let outcome = replay::replay(&env.registry, &incident, &[] as &[&str])
                .map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
            if outcome.report.verdict.class == crate::verdict::Class::Metastable {
                incident.found.mechanism = outcome.report.diagnosis.map(|d| d.key());
                derived += 1;
            }
        }
        known.push((path, incident));
    }
    let accepted = match &args.accepted {
        Some(path) => {
            let text = crate::files::read_text(path)
                .map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
            let names: Vec<&str> = env.registry.scenarios().iter().map(|s| s.name()).collect();
            crate::triage::parse_accepted(&text, &path.display().to_string(), &names)
                .map_err(bad_input)?
        }
        None => Vec::new(),
    };
    let findings = crate::triage::triage(&explorations, &known, &accepted);
    let is_new = |f: &crate::triage::Finding| f.known_in.is_none() && f.accepted.is_none();
    let new = findings.iter().filter(|f| is_new(f)).count();
    let accepted_count = findings
        .iter()
        .filter(|f| f.known_in.is_none() && f.accepted.is_some())
        .count();
    let mut out = format!(
        "{} failure modes found, {} new, {} accepted (known incidents: {})\n",
        findings.len(),
        new,
        accepted_count,
        known.len()
    );
    if derived > 0 {
        out += &format!(
            "  (the mechanism of {derived} kept incidents was read by replaying them; \
             a `mechanism:` line under `found:` saves the replay)\n"
        );
    }
    for f in &findings {
        let status = match (&f.known_in, &f.accepted) {
            (Some(_), _) => "ok",
            (None, Some(_)) => "acc",
            (None, None) => "NEW",
        };
        out += &format!(
            "  {:<4} {:<18} {:<32} {}  (seed {}, score {:.2}){}\n",
            status,
            f.scenario,
            f.signature,
            f.schedule.join(" "),
            f.seed,
            f.score,
            match (&f.known_in, &f.accepted) {
                (Some(p), _) => format!("  kept in {}", p.display()),
                (None, Some(why)) => format!("  accepted: {why}"),
                (None, None) => String::new(),
            }
        );
        if f.spellings.len() > 1 || f.spellings.first() != Some(&f.signature) {
            out += &format!("         merged: {}\n", f.spellings.join(" | "));
        }
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
        .filter(|f| is_new(f) && f.signature != crate::triage::UNHEALTHY)
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
    Ok(Exit::finding_if(new > 0))
}
