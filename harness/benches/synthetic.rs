//! Ground truth of the generated systems: for each synthetic instance,
//! uniform runs over the explorer's fault space (`hormesis::truth`): the
//! tipping fraction with its 95 % interval, the templates that tip, the
//! shape of the failing region, and the mechanism the instance was built
//! around. Prints a markdown table and a summary over the instances.
//!
//! `cargo bench --bench synthetic` (environment: BENCH_INSTANCES, a range
//! `A..B` (inclusive) or a comma-separated list, default 1..100;
//! BENCH_RUNS, uniform runs per instance, default 96; BENCH_JOBS, default
//! the number of cores).

use hormesis::engine::EngineKind;
use hormesis::scenarios::synthetic::{Design, Synthetic};
use hormesis::truth::{self, TruthConfig};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `A..B` (inclusive) or `a,b,c`.
fn instances(text: &str) -> Option<Vec<u64>> {
    if let Some((a, b)) = text.split_once("..") {
        let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        return (a <= b).then(|| (a..=b).collect());
    }
    text.split(',').map(|v| v.trim().parse().ok()).collect()
}

#[allow(clippy::disallowed_methods)] // wall time of the bench itself, outside any simulation
fn main() {
    let spec = std::env::var("BENCH_INSTANCES").unwrap_or_else(|_| "1..100".into());
    let Some(ids) = instances(&spec) else {
        eprintln!("BENCH_INSTANCES: expected A..B or a,b,c of u64, got {spec:?}");
        std::process::exit(2);
    };
    let runs = env_usize("BENCH_RUNS", 96);
    let jobs = env_usize(
        "BENCH_JOBS",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let started = std::time::Instant::now();
    println!("# synthetic ground truth: instances {spec}, {runs} uniform runs each (a quarter of them pairs), 8 shared seeds, {jobs} jobs\n");
    println!("| instance | mechanism | hosts | weak spot (util.) | tipping fraction [95 %] | failing templates (tipped/runs) | region | example trigger (seed) |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut failing = 0;
    let mut fractions = Vec::new();
    let mut mechanisms = std::collections::BTreeMap::<&str, usize>::new();
    let mut simulations = 0;
    for &id in &ids {
        let design = Design::generate(id);
        let config = TruthConfig {
            overrides: vec![format!("instance={id}")],
            samples: runs,
            jobs,
            engine: EngineKind::Turmoil,
            ..TruthConfig::new(&Synthetic)
        };
        let t = match truth::measure(&config) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("instance {id}: {e}");
                std::process::exit(1);
            }
        };
        simulations += t.simulations;
        fractions.push(t.fraction);
        if t.tipped > 0 {
            failing += 1;
            *mechanisms.entry(design.mechanism.name()).or_default() += 1;
        }
        let weak = &design.services[design.weak];
        let templates: Vec<String> = t
            .templates
            .iter()
            .take(4)
            .map(|x| format!("{} {}/{}", x.template, x.tipped, x.runs))
            .collect();
        let shapes: Vec<&str> = t.shapes.iter().map(|s| s.name()).collect();
        let example = t
            .example
            .as_ref()
            .map(|(seed, specs)| format!("`{}` ({seed})", specs.join(" + ")))
            .unwrap_or_else(|| "—".into());
        let unhealthy = if t.unhealthy > 0 {
            format!(", {} unhealthy", t.unhealthy)
        } else {
            String::new()
        };
        // A `|` inside a cell (`hold a|rest`) would end it.
        let (templates, example) = (
            templates.join(", ").replace('|', "\\|"),
            example.replace('|', "\\|"),
        );
        println!(
            "| {id} | {} | {} | {} ({:.0} %) | {:.1} % [{:.1}, {:.1}]{unhealthy} | {} | {} | {example} |",
            design.mechanism.name(),
            design.hosts().len(),
            weak.name,
            weak.utilisation * 100.0,
            t.fraction * 100.0,
            t.interval.0 * 100.0,
            t.interval.1 * 100.0,
            if templates.is_empty() { "—".into() } else { templates },
            if shapes.is_empty() { "none".into() } else { shapes.join(", ") },
        );
        eprintln!(
            "  instance {id} done ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }
    let under = fractions.iter().filter(|f| **f > 0.0 && **f < 0.01).count();
    let over = fractions.iter().filter(|f| **f > 0.10).count();
    println!(
        "\n{failing} of {} instances have a failing region; tipping fractions: {} above 0 and under 1 %, {} over 10 %; mechanisms of the failing ones: {}. {simulations} simulations in {:.0} s.",
        ids.len(),
        under,
        over,
        mechanisms
            .iter()
            .map(|(m, n)| format!("{m} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    );
}
