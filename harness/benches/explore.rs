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
//! region moved, to check a strategy is not fitted to where it was;
//! BENCH_SYNTHETIC, generated instances instead of the built-ins: a range
//! `A..B` (inclusive) or a list `a,b,c` of `synthetic` instances);
//! BENCH_ABLATE, comma-separated proposers of the default strategy
//! (`explore::proposers::NAMES`), or sets of them joined by `+`: for each,
//! one more row, `guided-no-NAME` (or `guided-no-A+B`), the default
//! strategy without it (or without all of them at once).
//!
//! After the per-target tables, an aggregate over the targets: per
//! strategy, the median over targets of (its median runs to first ÷
//! random's), the share of targets where it is no worse than random, found
//! over all explorations, and the ratio of its mean distinct metastable
//! arms to random's, summed over targets. Instance ranges are chosen when
//! the bench runs: nothing in the explorer knows which will be used.

use hormesis::engine::EngineKind;
use hormesis::explore::strategy::StrategyKind;
use hormesis::explore::{self, ExploreConfig};
use hormesis::scenario::Scenario;
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

/// `A..B` (inclusive) or `a,b,c`.
fn instances(text: &str) -> Option<Vec<u64>> {
    if let Some((a, b)) = text.split_once("..") {
        let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        return (a <= b).then(|| (a..=b).collect());
    }
    text.split(',').map(|v| v.trim().parse().ok()).collect()
}

/// One system benched: a scenario and the parameters that make it.
struct Target {
    label: String,
    scenario: &'static dyn Scenario,
    overrides: Vec<String>,
}

/// A strategy benched: one of the command line's, or the default one
/// without one of its proposers.
struct Contender {
    label: String,
    strategy: StrategyKind,
    ablate: Vec<String>,
}

/// A strategy's figures on one target.
struct Row {
    contender: String,
    first: f64,
    found: usize,
    explorations: usize,
    arms: f64,
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
    let synthetic = std::env::var("BENCH_SYNTHETIC").ok();
    let mut contenders: Vec<Contender> = StrategyKind::ALL
        .into_iter()
        .filter(|k| {
            strategies
                .as_ref()
                .is_none_or(|o| o.iter().any(|s| s == k.name()))
        })
        .map(|k| Contender {
            label: k.name().to_string(),
            strategy: k,
            ablate: Vec::new(),
        })
        .collect();
    for set in std::env::var("BENCH_ABLATE")
        .ok()
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        let names: Vec<String> = set.split('+').map(|n| n.trim().to_string()).collect();
        if let Some(name) = names
            .iter()
            .find(|n| !explore::proposers::NAMES.contains(&n.as_str()))
        {
            eprintln!(
                "BENCH_ABLATE: no proposer {name:?}; the default strategy's are {}",
                explore::proposers::NAMES.join(", ")
            );
            std::process::exit(2);
        }
        contenders.push(Contender {
            label: format!("guided-no-{}", names.join("+")),
            strategy: StrategyKind::Guided,
            ablate: names,
        });
    }
    let shown_sets = if sets.is_empty() {
        String::new()
    } else {
        format!(", --set {}", sets.join(" --set "))
    };
    let targets: Vec<Target> = match &synthetic {
        Some(spec) => {
            let Some(ids) = instances(spec) else {
                eprintln!("BENCH_SYNTHETIC: expected A..B or a,b,c of u64, got {spec:?}");
                std::process::exit(2);
            };
            ids.into_iter()
                .map(|id| Target {
                    label: format!("synthetic instance {id}"),
                    scenario: &scenarios::Synthetic,
                    overrides: std::iter::once(format!("instance={id}"))
                        .chain(sets.iter().cloned())
                        .collect(),
                })
                .collect()
        }
        None => scenarios::all()
            .into_iter()
            .filter(|s| match &only {
                Some(o) => o.iter().any(|n| n == s.name()),
                // The generated family is benched with BENCH_SYNTHETIC.
                None => s.name() != "synthetic",
            })
            .map(|scenario| Target {
                label: scenario.name().to_string(),
                scenario,
                overrides: sets.clone(),
            })
            .collect(),
    };
    let shown_targets = synthetic
        .as_ref()
        .map_or(String::new(), |s| format!(", synthetic instances {s}"));
    println!("# strategies vs random: budget {budget}, explorer seeds 1..={seeds}, {jobs} jobs{shown_sets}{shown_targets}\n");
    let mut all: Vec<Vec<Row>> = Vec::new();
    for target in &targets {
        let mut rows: Vec<(&Contender, Vec<Outcome>)> = Vec::new();
        for contender in &contenders {
            let mut outcomes = Vec::new();
            for seed in 1..=seeds {
                let config = ExploreConfig {
                    scenario: target.scenario,
                    overrides: target.overrides.clone(),
                    engine: EngineKind::Turmoil,
                    strategy: contender.strategy,
                    seed,
                    budget,
                    jobs,
                    seeds: 4,
                    shard: (0, 1),
                    ablate: contender.ablate.clone(),
                };
                let e = match explore::explore(&config, &mut |_, _| {}) {
                    Ok(e) => e,
                    Err(err) => {
                        eprintln!("{} {} seed {seed}: {err}", target.label, contender.label);
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
            eprintln!("  {} {} done", target.label, contender.label);
            rows.push((contender, outcomes));
        }
        let random = rows
            .iter()
            .find(|(k, _)| k.label == "random")
            .map(|(_, o)| {
                (
                    median(o.iter().map(|x| x.first).collect()),
                    mean(o.iter().map(|x| x.arms as f64)),
                )
            })
            .unwrap_or((f64::NAN, f64::NAN));
        println!("## {}\n", target.label);
        println!("| strategy | median runs to first metastable | found | mean distinct metastable arms | mean score | first ÷ random | arms ÷ random |");
        println!("|---|---|---|---|---|---|---|");
        let mut figures = Vec::new();
        for (contender, o) in &rows {
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
            let found = o.iter().filter(|x| x.found).count();
            println!(
                "| {} | {} | {}/{} | {:.1} | {:.2} | {:.2} | {} |",
                contender.label,
                shown,
                found,
                o.len(),
                arms,
                mean(o.iter().map(|x| x.mean_score)),
                first / random.0,
                arms_ratio,
            );
            figures.push(Row {
                contender: contender.label.clone(),
                first,
                found,
                explorations: o.len(),
                arms,
            });
        }
        println!();
        all.push(figures);
    }
    if targets.len() > 1 {
        aggregate(&all, targets.len(), &contenders);
    }
}

/// Each strategy over every target, against random on the same target.
fn aggregate(all: &[Vec<Row>], n: usize, contenders: &[Contender]) {
    println!("## aggregate over {n} targets\n");
    println!("| strategy | median of first ÷ random | no worse than random | found | arms ÷ random (summed) |");
    println!("|---|---|---|---|---|");
    for contender in contenders {
        let mut ratios = Vec::new();
        let (mut no_worse, mut compared, mut found, mut explorations) = (0, 0, 0, 0);
        let (mut arms, mut random_arms) = (0.0, 0.0);
        for rows in all {
            let (Some(mine), Some(random)) = (
                rows.iter().find(|r| r.contender == contender.label),
                rows.iter().find(|r| r.contender == "random"),
            ) else {
                continue;
            };
            ratios.push(mine.first / random.first);
            compared += 1;
            no_worse += usize::from(mine.first <= random.first);
            found += mine.found;
            explorations += mine.explorations;
            arms += mine.arms;
            random_arms += random.arms;
        }
        if compared == 0 {
            continue;
        }
        ratios.sort_by(f64::total_cmp);
        let k = ratios.len();
        let median_ratio = if k % 2 == 1 {
            ratios[k / 2]
        } else {
            (ratios[k / 2 - 1] + ratios[k / 2]) / 2.0
        };
        println!(
            "| {} | {:.2} | {}/{} | {}/{} | {} |",
            contender.label,
            median_ratio,
            no_worse,
            compared,
            found,
            explorations,
            if random_arms > 0.0 {
                format!("{:.2}", arms / random_arms)
            } else {
                "—".into()
            }
        );
    }
    println!();
}
