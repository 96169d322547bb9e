//! Combining the outputs of `explore --shard i/n` run on n machines.
//!
//! Shards explore the same space from the same exploration seed, each on
//! its own run seeds, so their runs are independent samples of one space:
//! the merged summary counts every run. A shard's `runs_to_first_metastable`
//! is counted on that shard, so the merged one is the smallest: how many
//! runs the first machine to find something needed.

use super::{summarise, Exploration, RunRecord, Summary};
use crate::engine::EngineKind;
use crate::explore::strategy::StrategyKind;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `merge` reads from each shard's `--json` file.
#[derive(Debug, Clone, Deserialize)]
pub struct ShardOutput {
    pub scenario: String,
    pub engine: EngineKind,
    pub strategy: StrategyKind,
    pub seed: u64,
    pub shard: String,
    pub budget: Option<usize>,
    pub stopped_early: bool,
    pub runs: Vec<RunRecord>,
    pub summary: Summary,
    /// Present when the shard ran with `--smallest-trigger`.
    #[serde(default)]
    pub smallest_triggers: Vec<super::boundary::SmallestTrigger>,
}

/// One shard's runs, as kept in the merged output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MergedShard {
    pub shard: String,
    pub file: PathBuf,
    pub stopped_early: bool,
    pub runs: Vec<RunRecord>,
}

/// The `merge --json` output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Merged {
    pub hormesis_version: &'static str,
    pub scenario: String,
    pub engine: EngineKind,
    pub strategy: StrategyKind,
    pub seed: u64,
    /// n of `--shard i/n`.
    pub shards: usize,
    /// The shards that were expected but not given, as `i/n`.
    pub missing: Vec<String>,
    pub runs_per_shard: Vec<MergedShard>,
    pub summary: Summary,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not an `explore --json` output: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: `shard` is `{shard}`; expected i/n with 0 ≤ i < n")]
    BadShard { path: PathBuf, shard: String },
    #[error(
        "{path}: {field} is {got}, but {first} has {expected}: shards of one exploration share scenario, engine, strategy, seed and n"
    )]
    Mismatch {
        path: PathBuf,
        first: PathBuf,
        field: &'static str,
        got: String,
        expected: String,
    },
    #[error("shard {shard} is given twice: {first} and {second}")]
    Duplicate {
        shard: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("no shard files given")]
    Empty,
}

/// Reads one shard file.
pub fn load(path: &Path) -> Result<ShardOutput, MergeError> {
    let text = crate::files::read_text(path).map_err(|source| MergeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| MergeError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn parse_shard(path: &Path, text: &str) -> Result<(usize, usize), MergeError> {
    let bad = || MergeError::BadShard {
        path: path.to_path_buf(),
        shard: text.to_string(),
    };
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Merges shard outputs (in any order) into one summary.
pub fn merge(shards: Vec<(PathBuf, ShardOutput)>) -> Result<Merged, MergeError> {
    let Some((first_path, first)) = shards.first().cloned() else {
        return Err(MergeError::Empty);
    };
    let (_, n) = parse_shard(&first_path, &first.shard)?;
    let mut slots: Vec<Option<(PathBuf, ShardOutput)>> = vec![None; n];
    for (path, shard) in shards {
        let (i, shard_n) = parse_shard(&path, &shard.shard)?;
        let mismatch = |field: &'static str, got: String, expected: String| MergeError::Mismatch {
            path: path.clone(),
            first: first_path.clone(),
            field,
            got,
            expected,
        };
        if shard.scenario != first.scenario {
            return Err(mismatch(
                "scenario",
                shard.scenario.clone(),
                first.scenario.clone(),
            ));
        }
        if shard.engine != first.engine {
            return Err(mismatch(
                "engine",
                shard.engine.name().into(),
                first.engine.name().into(),
            ));
        }
        if shard.strategy != first.strategy {
            return Err(mismatch(
                "strategy",
                shard.strategy.name().into(),
                first.strategy.name().into(),
            ));
        }
        if shard.seed != first.seed {
            return Err(mismatch(
                "seed",
                shard.seed.to_string(),
                first.seed.to_string(),
            ));
        }
        if shard_n != n {
            return Err(mismatch("n", shard_n.to_string(), n.to_string()));
        }
        if let Some((earlier, _)) = &slots[i] {
            return Err(MergeError::Duplicate {
                shard: shard.shard.clone(),
                first: earlier.clone(),
                second: path,
            });
        }
        slots[i] = Some((path, shard));
    }
    let missing = (0..n)
        .filter(|&i| slots[i].is_none())
        .map(|i| format!("{i}/{n}"))
        .collect();
    let present: Vec<(PathBuf, ShardOutput)> = slots.into_iter().flatten().collect();
    let all: Vec<RunRecord> = present
        .iter()
        .flat_map(|(_, s)| s.runs.iter().cloned())
        .collect();
    // Each shard refines its own copy of the cells: report the most any
    // shard ended with, not a sum that counts the initial cells n times.
    let cells = present
        .iter()
        .map(|(_, s)| s.summary.cells)
        .max()
        .unwrap_or(0);
    let mut summary = summarise(&all, cells);
    summary.runs_to_first_metastable = present
        .iter()
        .filter_map(|(_, s)| s.summary.runs_to_first_metastable)
        .min();
    Ok(Merged {
        hormesis_version: env!("CARGO_PKG_VERSION"),
        scenario: first.scenario,
        engine: first.engine,
        strategy: first.strategy,
        seed: first.seed,
        shards: n,
        missing,
        runs_per_shard: present
            .into_iter()
            .map(|(file, s)| MergedShard {
                shard: s.shard,
                file,
                stopped_early: s.stopped_early,
                runs: s.runs,
            })
            .collect(),
        summary,
    })
}

impl From<&Exploration> for ShardOutput {
    fn from(e: &Exploration) -> Self {
        ShardOutput {
            scenario: e.scenario.clone(),
            engine: e.engine,
            strategy: e.strategy,
            seed: e.seed,
            shard: e.shard.clone(),
            budget: e.budget,
            stopped_early: e.stopped_early,
            runs: e.runs.clone(),
            summary: e.summary.clone(),
            smallest_triggers: e.smallest_triggers.clone(),
        }
    }
}
