//! `hormesis report`: self-contained HTML with the plots drawn, checked as
//! text and, where Chromium is installed, in a real headless browser.

use std::path::{Path, PathBuf};
use std::process::Command;

fn hormesis(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("report")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Polylines with at least two points: drawn data, not just axes.
fn drawn_lines(svg: &str) -> usize {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| {
            p.split("points=\"")
                .nth(1)
                .and_then(|q| q.split('"').next())
                .is_some_and(|points| points.split_whitespace().count() >= 2)
        })
        .count()
}

fn self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no scripts");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external files"
    );
}

#[test]
fn a_run_report_has_the_verdict_the_shaded_faults_and_the_control() {
    let d = dir("run");
    let (json, html, svg) = (
        d.join("run.json"),
        d.join("run.html"),
        d.join("timeline.svg"),
    );
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--fault",
        "load-spike:at=60s,for=10s,factor=3",
        "--json",
        s(&json),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = hormesis(&["report", s(&json), "-o", s(&html), "--svg", s(&svg)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    self_contained(&page);
    assert!(page.contains("METASTABLE"));
    assert!(page.contains("load-spike:at=60s,for=10s,factor=3"));
    assert!(page.contains("time to recover"));
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg"));
    // offered, attempts, goodput, the control's goodput, and p99.
    assert!(drawn_lines(&plot) >= 5, "{} lines", drawn_lines(&plot));
    assert!(plot.contains("control goodput") && plot.contains("fault"));
    // What keeps the failure alive: the scenario's own gauges, drawn.
    assert!(plot.contains("gauges the service exports"), "a gauge panel");
    assert!(plot.contains("queue_depth (peak "), "retry-storm's queue");
    assert!(drawn_lines(&plot) >= 8, "{} lines", drawn_lines(&plot));
    assert!(page.contains(&plot), "the page embeds the same plot");
    // Why it stays down, and the gauge that carries it highlighted.
    assert!(page.contains("Why it stays down"), "a diagnosis section");
    assert!(
        page.contains("<b><code>retry-amplification</code></b>"),
        "the mechanism first"
    );
    assert!(
        plot.contains("queue_depth (peak ") && plot.contains("carries retry-amplification"),
        "the queue carries the loop"
    );
}

#[test]
fn incidents_and_explorations_get_reports_too() {
    let d = dir("more");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let incident = root.join("replays/retry-storm/spike.yaml");
    let html = d.join("incident.html");
    let o = hormesis(&["report", s(&incident), "-o", s(&html)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("METASTABLE"));

    let mut files = Vec::new();
    for strategy in ["thompson", "random"] {
        let json = d.join(format!("{strategy}.json"));
        let o = hormesis(&[
            "explore",
            "--scenario",
            "gc-pressure",
            "--budget",
            "8",
            "--strategy",
            strategy,
            "--json",
            s(&json),
            "--incidents",
            s(&d.join("incidents")),
        ]);
        assert!(o.status.code().is_some_and(|c| c <= 1));
        files.push(json);
    }
    let html = d.join("explore.html");
    let o = hormesis(&["report", s(&files[0]), s(&files[1]), "-o", s(&html)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    self_contained(&page);
    assert!(page.contains("Score per arm: thompson") && page.contains("Score per arm: random"));
    assert_eq!(
        page.matches("<svg").count(),
        3,
        "best-so-far and two heatmaps"
    );
    assert!(drawn_lines(&page) >= 2, "a best-so-far line per strategy");

    // Bad input says what was expected.
    let o = hormesis(&["report", s(&files[0]), s(&incident), "-o", s(&html)]);
    assert_eq!(o.status.code(), Some(2));
    let o = hormesis(&[
        "report",
        s(&files[0]),
        "--svg",
        s(&d.join("x.svg")),
        "-o",
        s(&html),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--svg"));
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Renders the report in headless Chromium: the browser's DOM holds the
/// plots with their data, and a screenshot is far from blank. `.ci/run`
/// installs Chromium and sets HORMESIS_REQUIRE_BROWSER, so CI never skips.
#[test]
fn the_report_renders_in_a_real_browser() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("HORMESIS_REQUIRE_BROWSER").is_none(),
            "HORMESIS_REQUIRE_BROWSER is set but no Chromium was found"
        );
        eprintln!("skipped: no Chromium (install the `chromium` package to run this test)");
        return;
    };
    let d = dir("browser");
    let (json, html, png) = (d.join("run.json"), d.join("run.html"), d.join("run.png"));
    hormesis(&[
        "run",
        "--scenario",
        "gc-pressure",
        "--fault",
        "load-spike:at=60s,for=10s,factor=3",
        "--json",
        s(&json),
    ]);
    let o = hormesis(&["report", s(&json), "-o", s(&html)]);
    assert_eq!(o.status.code(), Some(0));
    let url = format!("file://{}", html.display());
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
    ];
    let dom = Command::new(browser)
        .args(flags)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<svg"), "the browser parsed no SVG:\n{dom}");
    assert!(
        drawn_lines(&dom) >= 5,
        "{} data lines in the browser's DOM",
        drawn_lines(&dom)
    );
    let shot = Command::new(browser)
        .args(flags)
        .arg("--window-size=1100,1500")
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::metadata(&png).unwrap().len();
    // A blank page of this size compresses to a few kB; the plots to ~100 kB.
    assert!(
        bytes > 30_000,
        "screenshot is {bytes} bytes: the page looks empty"
    );
}
