//! Exploration strategies against `random`, on every built-in scenario.
//!
//! For each scenario and each explorer seed, runs one exploration per
//! strategy at the same budget, and reports per strategy: the median runs to
//! the first metastable run (an exploration that finds none counts as
//! budget + 1, shown as `>B`, so a ratio to a random that found nothing is
//! an upper bound), in how many explorations it found one at all,
//! the mean number of distinct metastable arms, and the mean score of its
//! runs; then each strategy's ratios to `random`. The figures are exact for
//! a given build: explorations are deterministic.
//!
//! `cargo bench --bench explore` (environment: BENCH_BUDGET, default 16;
//! BENCH_SEEDS, default 20; BENCH_SCENARIOS and BENCH_STRATEGIES,
//! comma-separated subsets; BENCH_JOBS, default the number of cores;
//! BENCH_SET, comma-separated `name=value` parameters applied to every
//! scenario benched, as `--set` would: the same system with its failing
//! region moved, to check a strategy is not fitted to where it was).

use hormesis::engine::EngineKind;
use hormesis::explore::strategy::StrategyKind;
use hormesis::explore::{self, ExploreConfig};
use hormesis::scenarios;

struct Outcome {
    first: usize,
    found: bool,
    arms: usize,
    mean_score: f64,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<usize>) -> f64 {
    v.sort_unstable();
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    }
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n.max(1) as f64
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let budget = env_usize("BENCH_BUDGET", 16);
    let seeds = env_usize("BENCH_SEEDS", 20) as u64;
    let jobs = env_usize(
        "BENCH_JOBS",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let only: Option<Vec<String>> = std::env::var("BENCH_SCENARIOS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let strategies: Option<Vec<String>> = std::env::var("BENCH_STRATEGIES")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let sets: Vec<String> = std::env::var("BENCH_SET")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let shown_sets = if sets.is_empty() {
        String::new()
    } else {
        format!(", --set {}", sets.join(" --set "))
    };
    println!("# strategies vs random: budget {budget}, explorer seeds 1..={seeds}, {jobs} jobs{shown_sets}\n");
    for scenario in scenarios::builtin() {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|s| s == scenario.name()))
        {
            continue;
        }
        let mut rows: Vec<(StrategyKind, Vec<Outcome>)> = Vec::new();
        for strategy in StrategyKind::ALL {
            if strategies
                .as_ref()
                .is_some_and(|o| !o.iter().any(|s| s == strategy.name()))
            {
                continue;
            }
            let mut outcomes = Vec::new();
            for seed in 1..=seeds {
                let config = ExploreConfig {
                    scenario,
                    overrides: sets.clone(),
                    engine: EngineKind::Turmoil,
                    strategy,
                    seed,
                    budget,
                    jobs,
                    seeds: 4,
                    shard: (0, 1),
                };
                let e = match explore::explore(&config, &mut |_, _| {}) {
                    Ok(e) => e,
                    Err(err) => {
                        eprintln!("{} {} seed {seed}: {err}", scenario.name(), strategy.name());
                        std::process::exit(1);
                    }
                };
                let s = &e.summary;
                outcomes.push(Outcome {
                    first: s.runs_to_first_metastable.unwrap_or(budget + 1),
                    found: s.runs_to_first_metastable.is_some(),
                    arms: s.distinct_metastable_arms,
                    mean_score: mean(e.runs.iter().map(|r| r.score)),
                });
            }
            eprintln!("  {} {} done", scenario.name(), strategy.name());
            rows.push((strategy, outcomes));
        }
        let random = rows
            .iter()
            .find(|(k, _)| *k == StrategyKind::Random)
            .map(|(_, o)| {
                (
                    median(o.iter().map(|x| x.first).collect()),
                    mean(o.iter().map(|x| x.arms as f64)),
                )
            })
            .unwrap_or((f64::NAN, f64::NAN));
        println!("## {}\n", scenario.name());
        println!("| strategy | median runs to first metastable | found | mean distinct metastable arms | mean score | first ÷ random | arms ÷ random |");
        println!("|---|---|---|---|---|---|---|");
        for (strategy, o) in &rows {
            let first = median(o.iter().map(|x| x.first).collect());
            let arms = mean(o.iter().map(|x| x.arms as f64));
            let shown = if first > budget as f64 {
                format!(">{budget}")
            } else {
                format!("{first}")
            };
            // Random finding nothing has no ratio to show.
            let arms_ratio = if random.1 > 0.0 {
                format!("{:.2}", arms / random.1)
            } else {
                "—".into()
            };
            println!(
                "| {} | {} | {}/{} | {:.1} | {:.2} | {:.2} | {} |",
                strategy.name(),
                shown,
                o.iter().filter(|x| x.found).count(),
                o.len(),
                arms,
                mean(o.iter().map(|x| x.mean_score)),
                first / random.0,
                arms_ratio,
            );
        }
        println!();
    }
}
