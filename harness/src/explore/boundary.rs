//! The smallest trigger of each arm the explorer found metastable: its best
//! metastable run, shrunk (see [`crate::shrink`]) by bisecting duration and
//! magnitude on the same seed. At the scenario's load, that is the arm's
//! vulnerability boundary (Huang et al., OSDI 2022): a weaker or shorter
//! fault of that kind recovers.

use super::{parallel, ExploreConfig, RunRecord};
use crate::incident::{Expect, Incident};
use crate::registry::Registry;
use crate::run::{self, RunPlan};
use crate::shrink;
use crate::verdict::Class;
use hormesis_faults::Schedule;
use serde::{Deserialize, Serialize};

/// One arm's smallest trigger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SmallestTrigger {
    pub arm: String,
    pub seed: u64,
    /// The arm's best metastable schedule, where shrinking started.
    pub found: Vec<String>,
    /// The smallest schedule that still tipped the system; null on error.
    pub smallest: Option<Vec<String>>,
    pub score: Option<f64>,
    /// Runs the bisection took.
    pub runs: usize,
    pub error: Option<String>,
}

/// Shrinks the best metastable run of every arm in `records`, arms in
/// parallel on `config.jobs` threads; the result is in arm order and the
/// same for any `jobs`.
pub fn smallest_triggers(config: &ExploreConfig, records: &[RunRecord]) -> Vec<SmallestTrigger> {
    smallest_triggers_until(config, records, &|| false)
}

/// Like [`smallest_triggers`], until `stop` says so (a wall-time budget, a
/// signal): a shrink cut short keeps the smallest trigger it had reached,
/// and an arm not begun by then says so in its `error`.
pub fn smallest_triggers_until(
    config: &ExploreConfig,
    records: &[RunRecord],
    stop: &(dyn Fn() -> bool + Sync),
) -> Vec<SmallestTrigger> {
    let mut best: Vec<&RunRecord> = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.class == Some(Class::Metastable))
    {
        match best.iter_mut().find(|b| b.arm == r.arm) {
            Some(b) if r.score > b.score => *b = r,
            Some(_) => {}
            None => best.push(r),
        }
    }
    best.sort_by(|a, b| a.arm.cmp(&b.arm));
    let shrunk = parallel(config.jobs, best.len(), |i| {
        Ok::<_, std::convert::Infallible>(smallest_of(config, best[i], stop))
    });
    match shrunk {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

fn smallest_of(
    config: &ExploreConfig,
    record: &RunRecord,
    stop: &(dyn Fn() -> bool + Sync),
) -> SmallestTrigger {
    let mut out = SmallestTrigger {
        arm: record.arm.clone(),
        seed: record.seed,
        found: record.schedule.clone(),
        smallest: None,
        score: None,
        runs: 0,
        error: None,
    };
    if stop() {
        out.error = Some("not shrunk: the exploration's time ran out first".to_string());
        return out;
    }
    let incident = Schedule::from_specs(&record.schedule)
        .map_err(|e| e.to_string())
        .and_then(|schedule| {
            let plan = RunPlan::of(config.scenario)
                .sets(&config.overrides)
                .schedule(schedule)
                .located("explore", None)
                .seed(record.seed)
                .engine(config.engine)
                .build()
                .map_err(|e| e.to_string())?;
            let report = run::run(&plan).map_err(|e| e.to_string())?;
            Ok(Incident::from_report(
                &report,
                String::new(),
                String::new(),
                Expect::observed(&report.verdict),
            ))
        })
        .and_then(|incident| {
            // The exploration's own scenario, whatever registry the
            // caller keeps: a user's scenario shrinks like a built-in.
            let registry = Registry::new(&[config.scenario]).map_err(|e| e.to_string())?;
            shrink::shrink_until(
                &registry,
                &incident,
                shrink::ShrinkOptions::default(),
                stop,
                String::new(),
                String::new(),
                &mut |_| {},
            )
            .map_err(|e| e.to_string())
        });
    match incident {
        Ok(shrunk) => {
            out.smallest = Some(
                shrunk
                    .incident
                    .schedule
                    .events
                    .iter()
                    .map(|e| e.to_spec())
                    .collect(),
            );
            out.score = Some(shrunk.incident.found.score);
            out.runs = shrunk.runs;
        }
        Err(e) => out.error = Some(e),
    }
    out
}
