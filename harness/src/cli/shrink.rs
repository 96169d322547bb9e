//! `shrink`: an incident cut down to the smallest schedule that still tips.

use super::Exit;
use super::{bad_input, incident_output, preflight, write_incident, Env, Failure};
use crate::incident::{self, Incident};
use crate::shrink;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub(super) struct ShrinkArgs {
    /// The incident file to shrink.
    #[arg(value_name = "INCIDENT")]
    incident: PathBuf,
    /// Where to write the shrunk incident [default: INCIDENT with `.shrunk.yaml`].
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Keep a candidate only if it also tips at a fifth of turmoil's tick,
    /// so the shrink stops before the finding becomes an artifact of the
    /// coarse step (each tipping candidate costs a second, finer run).
    #[arg(long)]
    check_fidelity: bool,
}

pub(super) fn command(env: &Env, args: ShrinkArgs) -> Result<Exit, Failure> {
    let original = Incident::load(&args.incident).map_err(bad_input)?;
    let output = args.output.clone().unwrap_or_else(|| {
        let stem = args
            .incident
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "incident".into());
        args.incident.with_file_name(format!("{stem}.shrunk.yaml"))
    });
    preflight(&[incident_output("-o", Some(&output))], &[&args.incident])?;
    if output.exists() {
        return Err(bad_input(format!(
            "{} already exists and is not overwritten; remove it or pass -o FILE",
            output.display()
        )));
    }
    let command = format!(
        "{} shrink {}{}",
        env.bin,
        args.incident.display(),
        if args.check_fidelity {
            " --check-fidelity"
        } else {
            ""
        }
    );
    let shrunk = shrink::shrink_with(
        &env.registry,
        &original,
        shrink::ShrinkOptions {
            check_fidelity: args.check_fidelity,
        },
        command,
        incident::today(),
        &mut |line| errln!("{line}"),
    )
    .map_err(|e| match e {
        shrink::ShrinkError::Incident(e) => bad_input(e),
        other => bad_input(other),
    })?;
    let i = &shrunk.incident;
    outln!(
        "shrunk {} ({} events) to {} ({} events) in {} runs:",
        original.id,
        original.schedule.events.len(),
        i.id,
        i.schedule.events.len(),
        shrunk.runs
    );
    for e in &i.schedule.events {
        outln!("  {}", e.to_spec());
    }
    outln!("  score {:.2}; wrote {}", i.found.score, output.display());
    write_incident(&output, i)?;
    Ok(Exit::Clean)
}
