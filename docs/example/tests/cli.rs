//! The quote service's own command line (`src/bin/hormesis-quotes.rs`,
//! three lines over `hormesis::cli`), used as the guide shows: list, run,
//! explore, shrink a find, replay it, draw it. Exit codes as documented: 0
//! nothing found, 1 a finding, 2 bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn quotes(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hormesis-quotes"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hormesis-quotes-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_subcommand_works_on_the_users_own_scenario() {
    let dir = scratch("walkthrough");

    let o = quotes(&dir, &["scenarios", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed[0]["name"], "quotes");
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "only the user's scenario"
    );

    let o = quotes(
        &dir,
        &[
            "run",
            "--scenario",
            "quotes",
            "--seed",
            "2",
            "--fault",
            "load-spike:at=60s,for=5s,factor=2",
            "--json",
            "run.json",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "metastable is a finding: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("reproduce: hormesis-quotes run --scenario quotes --seed 2"),
        "the reproduce line names this binary: {}",
        text(&o)
    );
    assert!(dir.join("run.json").is_file());

    let o = quotes(
        &dir,
        &[
            "run",
            "--scenario",
            "quotes",
            "--set",
            "retries=0",
            "--fault",
            "load-spike:at=60s,for=5s,factor=2",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = quotes(
        &dir,
        &[
            "explore",
            "--scenario",
            "quotes",
            "--budget",
            "8",
            "--jobs",
            "2",
            "--incidents",
            "found",
            "--json",
            "explore.json",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "the quote service tips: {}",
        text(&o)
    );
    let explored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("explore.json")).unwrap()).unwrap();
    assert_eq!(explored["summary"]["runs"], 8);
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("found"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    assert!(!found.is_empty(), "explore writes its finds as incidents");
    let find = found[0].to_str().unwrap().to_string();

    let o = quotes(&dir, &["shrink", &find, "-o", "kept/smallest.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shrunk = std::fs::read_to_string(dir.join("kept/smallest.yaml")).unwrap();
    assert!(shrunk.contains("shrunk-from:"), "{shrunk}");
    assert!(
        shrunk.contains("command: \"hormesis-quotes shrink"),
        "{shrunk}"
    );

    let o = quotes(&dir, &["replay", "kept", "--junit", "replay.xml"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the kept find still tips: {}",
        text(&o)
    );
    assert!(text(&o).contains("1 incidents, 1 passed"), "{}", text(&o));
    assert!(dir.join("replay.xml").is_file());

    let o = quotes(
        &dir,
        &["report", "kept/smallest.yaml", "-o", "smallest.html"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let html = std::fs::read_to_string(dir.join("smallest.html")).unwrap();
    assert!(html.contains("<svg"), "the report draws the timeline");

    let o = quotes(&dir, &["run", "--scenario", "retry-storm"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("unknown scenario `retry-storm`; known scenarios: quotes"),
        "{}",
        text(&o)
    );

    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_names_this_binary() {
    let o = quotes(&std::env::temp_dir(), &["explore", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = text(&o);
    assert!(help.contains("Usage: hormesis-quotes explore"), "{help}");
    assert!(
        help.contains("hormesis-quotes explore --scenario"),
        "the example names this binary: {help}"
    );
}

/// Issue 29, E13: the user's binary inherits none of the built-ins'
/// assumptions: its help shows its own scenario, and advice names only
/// parameters its scenario has.
#[test]
fn help_and_advice_name_only_what_this_binary_has() {
    let dir = scratch("own-help");
    for args in [&["--help"][..], &["tune", "--help"], &["explore", "--help"]] {
        let o = quotes(&dir, args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{t}");
        assert!(!t.contains("retry-storm"), "{args:?}: {t}");
        assert!(!t.contains("retry-budget"), "{args:?}: {t}");
    }
    let o = quotes(&dir, &["--help"]);
    assert!(text(&o).contains("run --scenario quotes"), "{}", text(&o));
    // quotes has `rate` but no `warmup` or `horizon` parameter.
    let o = quotes(&dir, &["run", "--scenario", "quotes", "--set", "rate=1"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("too low to judge"), "{t}");
    assert!(
        !t.contains("--set warmup") && !t.contains("--set horizon"),
        "{t}"
    );
    assert!(t.contains("--set rate="), "{t}");
}
