//! `merge`: the shards of one exploration as one summary.

use super::explore::arm_table;
use super::Exit;
use super::{bad_input, emit, output, preflight, Failure};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(super) struct MergeArgs {
    /// The shards' `explore --json` files, in any order.
    #[arg(required = true, value_name = "SHARD.json")]
    shards: Vec<PathBuf>,
    /// Write the merged runs and summary as JSON; `-` for stdout.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

pub(super) fn command(args: MergeArgs) -> Result<Exit, Failure> {
    use crate::explore::merge;
    let inputs: Vec<&Path> = args.shards.iter().map(|p| p.as_path()).collect();
    preflight(&[output("--json", args.json.as_deref())], &inputs)?;
    let mut shards = Vec::new();
    for path in &args.shards {
        shards.push((path.clone(), merge::load(path).map_err(bad_input)?));
    }
    let merged = merge::merge(shards).map_err(bad_input)?;
    let summary = &merged.summary;
    let mut out = format!(
        "merged {} of {} shards of {} ({}, seed {}){}\n{} runs: {} metastable, {} distinct metastable arms, first after {} (fastest shard), best score {:.2}\n",
        merged.runs_per_shard.len(),
        merged.shards,
        merged.scenario,
        merged.strategy.name(),
        merged.seed,
        if merged.missing.is_empty() {
            String::new()
        } else {
            format!("; missing {}", merged.missing.join(", "))
        },
        summary.runs,
        summary.metastable_runs,
        summary.distinct_metastable_arms,
        summary
            .runs_to_first_metastable
            .map_or("never".to_string(), |n| format!("{n} runs")),
        summary.best_score,
    );
    out += &arm_table(summary);
    if !merged.missing.is_empty() {
        errln!(
            "warning: shards {} are missing; the summary covers only the shards given",
            merged.missing.join(", ")
        );
    }
    emit(&out, args.json.as_deref(), &merged)?;
    Ok(Exit::finding_if(summary.metastable_runs > 0))
}
