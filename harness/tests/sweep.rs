//! `hormesis sweep` and the behaviour digest (issue 35): a setting swept on
//! shared seeds, the verdict's turn bisected to the stated resolution,
//! ranges where a setting changes nothing, the same for any `--jobs`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn hormesis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn json_of(o: &Output) -> serde_json::Value {
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

const SPIKE: &str = "load-spike:at=60s,for=10s,factor=3";

#[test]
fn the_verdicts_turn_is_bisected_to_the_resolution_the_same_for_any_jobs() {
    let sweep = |jobs: &str| {
        json_of(&hormesis(&[
            "sweep",
            "--scenario",
            "retry-storm",
            "--param",
            "retry_budget.ratio=0..1",
            "--steps",
            "5",
            "--seeds",
            "2",
            "--set",
            "mitigation=retry-budget",
            "--fault",
            SPIKE,
            "--jobs",
            jobs,
            "--json",
            "-",
        ]))
    };
    let one = sweep("1");
    assert_eq!(one, sweep("2"), "the sweep is the same for any --jobs");
    let resolution = one["resolution"].as_f64().unwrap();
    assert_eq!(resolution, 1.0 / 32.0);
    let turns = one["boundaries"].as_array().unwrap();
    assert_eq!(turns.len(), 1, "{one:#}");
    let (a, b): (f64, f64) = (
        turns[0][0].as_str().unwrap().parse().unwrap(),
        turns[0][1].as_str().unwrap().parse().unwrap(),
    );
    assert!(b - a <= resolution + 1e-9, "{a}..{b}");
    // Below the turn the budget saves the system; above, it does not.
    let points = one["points"].as_array().unwrap();
    assert_eq!(points.first().unwrap()["tipped"], 0);
    assert_eq!(points.last().unwrap()["tipped"], 2);
    assert!(points.iter().any(|p| p["refined"] == true));
}

/// Under `mitigation=none` the autoscaler's settings are never read: the
/// sweep says so, and only the behaviour digest sees that the runs match.
#[test]
fn a_setting_the_system_ignores_is_a_range_of_no_effect() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sweep-no-effect");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("sweep.json");
    let o = hormesis(&[
        "sweep",
        "--scenario",
        "retry-storm",
        "--param",
        "autoscaler.max=8..64",
        "--steps",
        "3",
        "--seeds",
        "1",
        "--fault",
        SPIKE,
        "--json",
        json.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "no effect: `autoscaler.max` 8..64: identical behaviour on 1/1 seeds (3 values)"
        ),
        "{text}"
    );
    // The report draws it: the range shaded, every value in the table.
    let (html, svg) = (dir.join("sweep.html"), dir.join("sweep.svg"));
    let r = hormesis(&[
        "report",
        json.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("identical behaviour on 1 seeds over 3 values"),
        "{page}"
    );
    assert!(page.contains("<svg") && !page.contains("<script"));
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.contains("fraction of seeds that tip"), "{plot}");
    // A hand-edited sweep is refused with what is wrong, not drawn.
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    edited["points"][0]["fraction"] = 2.0.into();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, edited.to_string()).unwrap();
    let r = hormesis(&[
        "report",
        bad.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("points[0].fraction is 2"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let run = |set: &str| {
        json_of(&hormesis(&[
            "run",
            "--scenario",
            "retry-storm",
            "--fault",
            SPIKE,
            "--set",
            set,
            "--json",
            "-",
        ]))
    };
    let (a, b) = (run("autoscaler.max=8"), run("autoscaler.max=64"));
    assert_ne!(
        a["digest"], b["digest"],
        "the run digest hashes the parameters"
    );
    assert_eq!(
        a["behaviour"], b["behaviour"],
        "the behaviour did not change"
    );
    let used = |ratio: &str| {
        json_of(&hormesis(&[
            "run",
            "--scenario",
            "retry-storm",
            "--fault",
            SPIKE,
            "--set",
            "mitigation=retry-budget",
            "--set",
            &format!("retry_budget.ratio={ratio}"),
            "--json",
            "-",
        ]))
    };
    assert_ne!(used("0.6")["behaviour"], used("0.7")["behaviour"]);
}

#[test]
fn a_sweep_refuses_what_it_cannot_sweep() {
    for (args, needle) in [
        (&["--param", "nosuch=1..2"][..], "no parameter `nosuch`"),
        (&["--param", "mitigation=a..b"], "is a choice"),
        (&["--param", "timeout=2s..1s"], "from low to high"),
        (
            &["--param", "retry_budget.ratio=0..1", "--log-scale"],
            "above 0",
        ),
        (&["--param", "timeout"], "NAME=LO..HI"),
        (&["--param", "timeout=1s..2s", "--steps", "1"], "--steps 1"),
    ] {
        let mut all = vec!["sweep", "--scenario", "retry-storm", "--fault", SPIKE];
        all.extend_from_slice(args);
        let o = hormesis(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in {err}"
        );
    }
}

/// With a template, every value runs the template's whole grid: the
/// fraction is the failing region's size at that setting. Retries widen
/// retry-storm's region under load spikes.
#[test]
fn a_template_sweep_measures_the_failing_region_at_each_value() {
    let sweep = |jobs: &str| {
        json_of(&hormesis(&[
            "sweep",
            "--scenario",
            "retry-storm",
            "--param",
            "retries=0..3",
            "--steps",
            "2",
            "--template",
            "load-spike",
            "--grid",
            "2x2",
            "--seeds",
            "1",
            "--refine",
            "0",
            "--jobs",
            jobs,
            "--json",
            "-",
        ]))
    };
    let one = sweep("1");
    assert_eq!(one, sweep("2"), "the same for any --jobs");
    assert_eq!(one["template"], "load-spike");
    assert_eq!(one["triggers"], 4);
    assert_eq!(one["schedule"].as_array().unwrap().len(), 4, "{one:#}");
    let points = one["points"].as_array().unwrap();
    let tipped: Vec<u64> = points
        .iter()
        .map(|p| p["tipped"].as_u64().unwrap())
        .collect();
    assert!(points.iter().all(|p| p["runs"] == 4), "{one:#}");
    assert!(
        tipped[0] < tipped[1],
        "retries tip more of the grid: {tipped:?}"
    );
    // One kind of trigger at a time, and a grid only with a template.
    for (args, needle) in [
        (
            vec!["--template", "load-spike", "--fault", SPIKE],
            "cannot be used with",
        ),
        (vec!["--grid", "2x2", "--fault", SPIKE], "--template"),
        (vec!["--template", "no-such"], "no template `no-such`"),
    ] {
        let mut all = vec![
            "sweep",
            "--scenario",
            "retry-storm",
            "--param",
            "retries=0..3",
        ];
        all.extend(args.iter());
        let o = hormesis(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// A setting the system clamps: with a 1 s attempt timeout, a 5 s
/// deadline ends every request by its sixth attempt, so `retries` above 5
/// changes nothing, while 4 → 5 still does (the near-identical neighbour
/// is not called identical).
#[test]
fn a_setting_the_deadline_clamps_is_a_range_of_no_effect_from_where_it_binds() {
    let one = json_of(&hormesis(&[
        "sweep",
        "--scenario",
        "retry-storm",
        "--param",
        "retries=4..7",
        "--steps",
        "4",
        "--seeds",
        "1",
        "--refine",
        "0",
        "--fault",
        SPIKE,
        "--json",
        "-",
    ]));
    let ranges = one["no_effect"].as_array().unwrap();
    assert_eq!(ranges.len(), 1, "{one:#}");
    assert_eq!(
        (ranges[0]["from"].as_str(), ranges[0]["to"].as_str()),
        (Some("5"), Some("7"))
    );
    let points = one["points"].as_array().unwrap();
    assert_ne!(points[0]["behaviour"], points[1]["behaviour"]);
}
