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
    /// `--set` overrides (absent from files of hormesis before 0.1.0's
    /// verdict rework: read as none).
    #[serde(default)]
    pub set: Vec<String>,
    /// The seed pool size; 0 when the file does not say.
    #[serde(default)]
    pub seeds: usize,
    pub budget: Option<usize>,
    pub stopped_early: bool,
    pub runs: Vec<RunRecord>,
    pub summary: Summary,
    /// Present when the shard ran with `--smallest-trigger`.
    #[serde(default)]
    pub smallest_triggers: Vec<super::boundary::SmallestTrigger>,
}

/// What `shard` says in a merged output: it holds every shard's runs and
/// reads like one exploration (for `report` and `triage`), but is not one
/// shard of another merge.
pub const MERGED_SHARD: &str = "merged";

impl ShardOutput {
    /// Checks what a hand edit or a damaged file could break: scores in
    /// [0, 1] and schedules that parse.
    fn validate(&self) -> Result<(), String> {
        // The seeds this shard's runs may use, where the file says enough
        // to derive them (a merged output holds every shard's).
        let pool = (self.seeds > 0 && self.shard != MERGED_SHARD)
            .then(|| parse_shard(Path::new(""), &self.shard).ok())
            .flatten()
            .map(|shard| super::shard_seeds(self.seed, self.seeds, shard));
        if let Some(budget) = self.budget {
            if self.runs.len() > budget {
                return Err(format!(
                    "{} runs under a budget of {budget}",
                    self.runs.len()
                ));
            }
        }
        if self.runs.is_empty() && !self.stopped_early {
            return Err("no runs, yet it does not say it stopped early".into());
        }
        for r in &self.runs {
            if !(r.score.is_finite() && (0.0..=1.0).contains(&r.score)) {
                return Err(format!(
                    "run {}: score {} is not in [0, 1]",
                    r.index + 1,
                    r.score
                ));
            }
            if !(r.stress.is_finite() && (0.0..=1.0).contains(&r.stress)) {
                return Err(format!(
                    "run {}: stress {} is not in [0, 1]",
                    r.index + 1,
                    r.stress
                ));
            }
            if let Some(t) = r.ttr_s.filter(|t| !(t.is_finite() && *t >= 0.0)) {
                return Err(format!("run {}: ttr_s {t} is not a time", r.index + 1));
            }
            if pool.as_ref().is_some_and(|p| !p.contains(&r.seed)) {
                return Err(format!(
                    "run {}: seed {} is not one of shard {}'s seeds (seed {}, {} seeds)",
                    r.index + 1,
                    r.seed,
                    self.shard,
                    self.seed,
                    self.seeds
                ));
            }
            if let Err(e) = hormesis_faults::Schedule::from_specs(&r.schedule) {
                return Err(format!("run {}: schedule: {e}", r.index + 1));
            }
        }
        for t in &self.smallest_triggers {
            if let Some(score) = t
                .score
                .filter(|s| !(s.is_finite() && (0.0..=1.0).contains(s)))
            {
                return Err(format!(
                    "smallest trigger of {}: score {score} is not in [0, 1]",
                    t.arm
                ));
            }
            if let Some(s) = &t.smallest {
                if let Err(e) = hormesis_faults::Schedule::from_specs(s) {
                    return Err(format!("smallest trigger of {}: schedule: {e}", t.arm));
                }
            }
        }
        let best = self.summary.best_score;
        if !(best.is_finite() && (0.0..=1.0).contains(&best)) {
            return Err(format!("summary: best_score {best} is not in [0, 1]"));
        }
        Ok(())
    }
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
    /// Always [`MERGED_SHARD`].
    pub shard: &'static str,
    pub set: Vec<String>,
    pub seeds: usize,
    /// Null: shards may have had their own budgets.
    pub budget: Option<usize>,
    /// Whether any shard stopped early.
    pub stopped_early: bool,
    /// n of `--shard i/n`.
    pub shards: usize,
    /// The shards that were expected but not given, as `i/n`.
    pub missing: Vec<String>,
    pub runs_per_shard: Vec<MergedShard>,
    /// Every shard's runs, in shard order.
    pub runs: Vec<RunRecord>,
    pub summary: Summary,
    /// Every shard's smallest triggers, in shard order.
    pub smallest_triggers: Vec<super::boundary::SmallestTrigger>,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{path}: cannot read: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: not an `explore --json` output: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: `shard` is `{shard}`; expected i/n with 0 ≤ i < n (a `merge --json` output is merged already: merge the shard files themselves)")]
    BadShard { path: PathBuf, shard: String },
    #[error(
        "{path}: {field} is {got}, but {first} has {expected}: shards of one exploration share scenario, engine, strategy, seed, --set, --seeds and n"
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
    let text = crate::files::read_text(path).map_err(|error| MergeError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let output: ShardOutput = serde_json::from_str(&text).map_err(|e| MergeError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    output.validate().map_err(|message| MergeError::Parse {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(output)
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
        if shard.set != first.set {
            return Err(mismatch(
                "--set",
                format!("{:?}", shard.set),
                format!("{:?}", first.set),
            ));
        }
        if shard.seeds != first.seeds {
            return Err(mismatch(
                "--seeds",
                shard.seeds.to_string(),
                first.seeds.to_string(),
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
        shard: MERGED_SHARD,
        set: first.set.clone(),
        seeds: first.seeds,
        budget: None,
        stopped_early: present.iter().any(|(_, s)| s.stopped_early),
        shards: n,
        missing,
        runs: all,
        smallest_triggers: present
            .iter()
            .flat_map(|(_, s)| s.smallest_triggers.iter().cloned())
            .collect(),
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
            set: e.set.clone(),
            seeds: e.seeds,
            budget: e.budget,
            stopped_early: e.stopped_early,
            runs: e.runs.clone(),
            summary: e.summary.clone(),
            smallest_triggers: e.smallest_triggers.clone(),
        }
    }
}
