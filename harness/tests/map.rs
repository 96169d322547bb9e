//! `hormesis map`: the vulnerability map of one template.

use std::path::PathBuf;
use std::process::{Command, Output};

fn hormesis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn json(path: &PathBuf) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_map_covers_the_grid_and_does_not_depend_on_jobs() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("map");
    std::fs::create_dir_all(&dir).unwrap();
    let mut maps = Vec::new();
    for jobs in ["1", "2"] {
        let out = dir.join(format!("map-{jobs}.json"));
        let o = hormesis(&[
            "map",
            "--scenario",
            "retry-storm",
            "--template",
            "load-spike",
            "--grid",
            "3x3",
            "--seeds",
            "2",
            "--refine",
            "4",
            "--jobs",
            jobs,
            "--json",
            out.to_str().unwrap(),
        ]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{text}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(text.contains("runs tip"), "{text}");
        maps.push(json(&out));
    }
    assert_eq!(maps[0], maps[1], "the map is the same for any --jobs");
    let m = &maps[0];
    // Durations span more than a decade: log-spaced. Load factors do not.
    assert_eq!(m["duration_scale"], "log");
    assert_eq!(m["magnitude_scale"], "linear");
    let cells = m["cells"].as_array().unwrap();
    let grid: Vec<&serde_json::Value> = cells.iter().filter(|c| c["refined"] == false).collect();
    assert_eq!(grid.len(), 9);
    let grid_durations: std::collections::BTreeSet<u64> = grid
        .iter()
        .map(|c| c["duration_s"].as_f64().unwrap() as u64)
        .collect();
    assert_eq!(grid_durations, [1, 5, 30].into_iter().collect());
    assert!(cells.len() <= 9 + 4, "at most --refine extra cells");
    let at = |d: f64, f: f64| {
        cells
            .iter()
            .find(|c| c["duration_s"] == d && c["magnitude"] == f)
            .unwrap()
    };
    // The longest, largest spike tips every seed; the smallest, shortest none.
    assert_eq!(at(30.0, 5.0)["fraction"], 1.0);
    assert_eq!(at(1.0, 1.2)["fraction"], 0.0);
    assert!(at(1.0, 1.2)["mean_stress"].as_f64().unwrap() < 0.5);
    // Retries multiply the load where the spike tips it, not where it does not.
    assert!(at(30.0, 5.0)["mean_amplification"].as_f64().unwrap() > 2.0);
    assert!(at(1.0, 1.2)["mean_amplification"].as_f64().unwrap() < 1.2);
    let fraction = m["tipping_fraction"].as_f64().unwrap();
    assert!(fraction > 0.0 && fraction < 1.0, "{fraction}");
    // `report` draws it: a cell per grid point, shaded and labelled.
    let html = dir.join("map.html");
    let o = hormesis(&[
        "report",
        dir.join("map-1.json").to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Vulnerability map of load-spike on retry-storm"));
    assert!(page.contains("<svg") && page.contains("1.00") && page.contains("s 0."));
}

#[test]
fn templates_without_a_magnitude_map_one_row_and_unknown_ones_are_listed() {
    let o = hormesis(&[
        "map",
        "--scenario",
        "retry-storm",
        "--template",
        "crash host=server",
        "--grid",
        "3x5",
        "--seeds",
        "1",
        "--refine",
        "0",
        "--json",
        "-",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["cells"].as_array().unwrap().len(), 3);
    assert!(m["magnitudes"].as_array().unwrap().is_empty());
    let o = hormesis(&["map", "--scenario", "retry-storm", "--template", "meteor"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("`crash host=server`"), "{err}");
    let o = hormesis(&[
        "map",
        "--scenario",
        "retry-storm",
        "--template",
        "load-spike",
        "--grid",
        "0x3",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// A capacity knob is mapped in the values its faults hold (falling as the
/// cut grows), not in the cut below its default, and its strongest row,
/// the lowest value, is printed first.
#[test]
fn a_capacity_knob_is_mapped_in_the_values_it_holds() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("map-capacity");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("map.json");
    // One run: the JSON to a file, the table on stdout.
    let o = hormesis(&[
        "map",
        "--scenario",
        "call-chain",
        "--template",
        "knob capacity",
        "--grid",
        "1x2",
        "--seeds",
        "1",
        "--refine",
        "0",
        "--json",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m = json(&out);
    let axis: Vec<f64> = m["magnitudes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(axis, [0.982, 0.1]);
    for cell in m["cells"].as_array().unwrap() {
        let value = cell["magnitude"].as_f64().unwrap();
        assert!(
            cell["fault"]
                .as_str()
                .unwrap()
                .ends_with(&format!("value={value}")),
            "{cell}"
        );
    }
    let table = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<&str> = table
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<f64>().is_ok())
        .collect();
    assert_eq!(rows, ["0.1", "0.982"], "{table}");
}

/// Issue 34: latency-window tips only in a middle band of delay (about
/// 200–350 ms); the default map finds it, and a grid too coarse to land a
/// row in it still finds it by refining where the kind of harm changes.
#[test]
fn a_narrow_middle_band_is_found_and_a_template_that_never_tips_says_how_fine_it_looked() {
    let tips = |grid: &str, seeds: &str| {
        let o = hormesis(&[
            "map",
            "--scenario",
            "latency-window",
            "--template",
            "latency host=server",
            "--grid",
            grid,
            "--seeds",
            seeds,
            "--json",
            "-",
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(m["magnitude_scale"], "log");
        assert_eq!(m["unit"], "ms");
        let cells = m["cells"].as_array().unwrap().clone();
        cells
            .into_iter()
            .filter(|c| c["tipped"].as_u64().unwrap() > 0)
            .map(|c| c["magnitude"].as_f64().unwrap())
            .collect::<Vec<f64>>()
    };
    for (grid, seeds) in [("8x8", "2"), ("4x4", "1")] {
        let band = tips(grid, seeds);
        assert!(!band.is_empty(), "{grid}: nothing tipped");
        assert!(
            band.iter().all(|d| (150.0..=450.0).contains(d)),
            "{grid}: tipped outside the band: {band:?}"
        );
    }
    let o = hormesis(&[
        "map",
        "--scenario",
        "latency-window",
        "--template",
        "loss host=server",
        "--grid",
        "2x2",
        "--seeds",
        "1",
        "--refine",
        "0",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("no tip on a 2×2 grid"), "{text}");
    assert!(
        text.contains("log-spaced") && text.contains("could be missed"),
        "{text}"
    );
}
