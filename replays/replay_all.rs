//! Replays every incident in `replays/` as its own test: `cargo test -p
//! hormesis-replays` lists `retry-storm/spike`, `imported/checkout-outage`,
//! ... and a regression fails the test named after its file, with the seed,
//! what was expected, what happened, and the command that reproduces it.
//!
//! `HORMESIS_REPLAY_SET="key=value,key=value"` overrides parameters of every
//! incident that has them, as `hormesis replay --set` does.

use hormesis::incident::Incident;
use hormesis::replay;
use hormesis_replays::{incident_files, test_name};
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::PathBuf;

fn replay_one(path: PathBuf, overrides: Vec<String>) -> Result<(), Failed> {
    let incident = Incident::load(&path).map_err(|e| e.to_string())?;
    let overrides = replay::applicable(&incident, &overrides).map_err(|e| e.to_string())?;
    let outcome = replay::replay(&incident, &overrides).map_err(|e| e.to_string())?;
    let sets: String = overrides.iter().map(|o| format!(" --set {o}")).collect();
    match outcome.regression {
        None => Ok(()),
        Some(why) => Err(format!(
            "{}: {why}\n  expected: {}\n  got: {}\n  seed: {}\n  reproduce: hormesis replay {}{sets}",
            incident.id,
            outcome.expected,
            outcome.got,
            incident.seed,
            path.display()
        )
        .into()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let overrides: Vec<String> = std::env::var("HORMESIS_REPLAY_SET")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let files = incident_files().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let trials = files
        .into_iter()
        .map(|path| {
            let overrides = overrides.clone();
            Trial::test(test_name(&path), move || replay_one(path, overrides))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
