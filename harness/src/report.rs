//! Reports people look at: one self-contained HTML file (inline SVG drawn
//! with plotters, no scripts, no external files) for a run, an incident or
//! explorations.
//!
//! A run's timeline shows offered load, attempts and goodput, and p99
//! latency, per window, with the fault intervals shaded as Jepsen does and
//! the control run's goodput overlaid; the verdict table sits above it. An
//! exploration shows the score of every run per arm (a heatmap, one row per
//! arm, one column per pull) and, for several explorations of one scenario,
//! the best score so far of each strategy against the number of runs.

use plotters::prelude::*;
use serde::Deserialize;
use std::fmt::Write as _;

/// The parts of a run's `--json` a report draws.
#[derive(Debug, Clone, Deserialize)]
pub struct RunView {
    pub scenario: String,
    pub seed: u64,
    pub schedule: Vec<String>,
    pub digest: String,
    pub verdict: VerdictView,
    pub control: Option<ControlView>,
    pub applied: Vec<AppliedView>,
    pub window_s: f64,
    pub windows: Vec<WindowView>,
    /// Absent from a run without faults and from older reports.
    #[serde(default)]
    pub diagnosis: Option<DiagnosisView>,
}

/// A run's diagnosis ([`crate::diagnosis::Diagnosis`]) as its JSON holds it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DiagnosisView {
    #[serde(default)]
    pub loops: Vec<LoopView>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LoopView {
    #[serde(default)]
    pub mechanism: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub evidence: String,
    /// The gauges that carry the loop, highlighted in the timeline.
    #[serde(default)]
    pub gauges: Vec<String>,
}

impl LoopView {
    fn key(&self) -> String {
        crate::diagnosis::key(&self.mechanism, &self.place)
    }
}

/// The first loop of a run's diagnosis: the mechanism that kept it down.
fn mechanism(run: &RunView) -> Option<&LoopView> {
    run.diagnosis.as_ref()?.loops.first()
}

#[derive(Debug, Clone, Deserialize)]
pub struct VerdictView {
    pub class: String,
    pub score: f64,
    pub ttr_s: Option<f64>,
    pub damage: f64,
    pub amplification: f64,
    pub g0: f64,
    pub first_fault_s: f64,
    pub trigger_end_s: f64,
    pub horizon_s: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ControlView {
    pub ttr_s: Option<f64>,
    pub damage: f64,
    pub amplification: f64,
    pub g0: f64,
    pub windows: Vec<WindowView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AppliedView {
    pub t_s: f64,
    pub event: usize,
    pub action: String,
    pub spec: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WindowView {
    pub t_s: f64,
    pub offered: u64,
    pub attempts: u64,
    pub goodput: u64,
    pub p99_ms: Option<f64>,
    /// The scenario's own gauges (queue depth, in flight, retries, ...).
    #[serde(default)]
    pub gauges: std::collections::BTreeMap<String, f64>,
}

/// The parts of an `explore --json` a report draws.
#[derive(Debug, Clone, Deserialize)]
pub struct ExploreView {
    pub scenario: String,
    pub strategy: String,
    pub seed: u64,
    pub runs: Vec<ExploreRunView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExploreRunView {
    pub index: usize,
    pub arm: String,
    pub score: f64,
    pub class: Option<String>,
    pub schedule: Vec<String>,
}

/// A figure that must be a finite number in `lo..=hi`, else what is wrong.
fn within(what: &str, v: f64, lo: f64, hi: f64) -> Result<(), String> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(format!("{what} is {v}, outside [{lo}, {hi}]"))
    }
}

/// The most windows a run's report draws: 11 days of 1 s windows, far
/// beyond any run, and a page that still opens.
const MAX_WINDOWS: usize = 1_000_000;

/// The most characters of a name (scenario, template, arm) a report shows.
const MAX_NAME: usize = 1000;

fn name_ok(what: &str, name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME {
        return Err(format!(
            "{what} is {} bytes long, at most {MAX_NAME}",
            name.len()
        ));
    }
    Ok(())
}

impl RunView {
    /// What a hand edit or a damaged file could break in a run's JSON.
    pub fn validate(&self) -> Result<(), String> {
        name_ok("scenario", &self.scenario)?;
        within("verdict.score", self.verdict.score, 0.0, 1.0)?;
        within("verdict.damage", self.verdict.damage, 0.0, 1.0)?;
        if let Some(t) = self.verdict.ttr_s {
            within("verdict.ttr_s", t, 0.0, f64::MAX)?;
        }
        within("window_s", self.window_s, 1e-3, 3600.0)?;
        if self.windows.len() > MAX_WINDOWS {
            return Err(format!(
                "{} windows, more than a report draws ({MAX_WINDOWS})",
                self.windows.len()
            ));
        }
        Ok(())
    }
}

impl ExploreView {
    /// What a hand edit or a damaged file could break in an exploration.
    pub fn validate(&self) -> Result<(), String> {
        name_ok("scenario", &self.scenario)?;
        for r in &self.runs {
            within(&format!("run {}: score", r.index + 1), r.score, 0.0, 1.0)?;
            name_ok(&format!("run {}: arm", r.index + 1), &r.arm)?;
        }
        Ok(())
    }
}

impl MapView {
    /// What a hand edit or a damaged file could break in a map: fractions
    /// and stress in [0, 1], a grid no larger than `map` makes, one cell
    /// per grid point.
    pub fn validate(&self) -> Result<(), String> {
        use crate::map::{along, MAX_GRID, MAX_SEEDS};
        name_ok("scenario", &self.scenario)?;
        name_ok("template", &self.template)?;
        within("tipping_fraction", self.tipping_fraction, 0.0, 1.0)?;
        within("onset_s", self.onset_s, 0.0, 1e9)?;
        if self.durations_s.len() > MAX_GRID || self.magnitudes.len() > MAX_GRID {
            return Err(format!(
                "a grid of {}x{}; maps have at most {MAX_GRID} points a side",
                self.durations_s.len(),
                self.magnitudes.len()
            ));
        }
        if self.seeds.len() > MAX_SEEDS {
            return Err(format!(
                "{} seeds; maps have at most {MAX_SEEDS}",
                self.seeds.len()
            ));
        }
        for (i, v) in self.durations_s.iter().chain(&self.magnitudes).enumerate() {
            within(&format!("axis point {}", i + 1), *v, -1e12, 1e12)?;
        }
        let points = along(&self.durations_s).len() * along(&self.magnitudes).len();
        if self.cells.len() > points {
            return Err(format!(
                "{} cells for a grid of {points} points",
                self.cells.len()
            ));
        }
        for (what, scale) in [
            ("duration_scale", &self.duration_scale),
            ("magnitude_scale", &self.magnitude_scale),
        ] {
            if scale != "linear" && scale != "log" {
                return Err(format!("{what} is {scale:?}, not linear or log"));
            }
        }
        name_ok("unit", &self.unit)?;
        for (i, c) in self.cells.iter().enumerate() {
            within(&format!("cell {}: fraction", i + 1), c.fraction, 0.0, 1.0)?;
            within(
                &format!("cell {}: mean_stress", i + 1),
                c.mean_stress,
                0.0,
                1.0,
            )?;
            if c.runs > self.seeds.len().max(1) {
                return Err(format!(
                    "cell {}: {} runs on {} seeds",
                    i + 1,
                    c.runs,
                    self.seeds.len()
                ));
            }
        }
        Ok(())
    }
}

impl TuneView {
    /// What a hand edit or a damaged file could break in a tuning: a best
    /// policy where there were evaluations, indices that point at one,
    /// finite objectives and costs, recoveries out of the attacks made.
    pub fn validate(&self) -> Result<(), String> {
        name_ok("scenario", &self.scenario)?;
        name_ok("mitigation", &self.mitigation)?;
        within("max_cost", self.max_cost, 0.0, 1.0)?;
        let evaluated = self.rounds.iter().any(|r| !r.evaluations.is_empty());
        if evaluated && self.best.is_none() && !self.stopped_early {
            return Err("it has evaluations but no `best` policy".into());
        }
        let check = |what: &str, e: &TuneEvaluationView| -> Result<(), String> {
            within(&format!("{what}: objective"), e.objective, -1e9, 1e9)?;
            within(&format!("{what}: cost"), e.cost, -1e9, 1e9)?;
            within(&format!("{what}: worst"), e.worst, 0.0, 1.0)?;
            within(&format!("{what}: mean"), e.mean, 0.0, 1.0)?;
            if let Some(served) = e.benign_served {
                within(&format!("{what}: benign_served"), served, 0.0, 1.0)?;
            }
            if let Some(r) = &e.resources {
                within(
                    &format!("{what}: resources.attempts_per_request"),
                    r.attempts_per_request,
                    0.0,
                    1e9,
                )?;
                if let Some(w) = r.worker_seconds {
                    within(&format!("{what}: resources.worker_seconds"), w, 0.0, 1e15)?;
                }
            }
            if e.recovered > e.attacks {
                return Err(format!(
                    "{what}: recovered {} of {} attacks",
                    e.recovered, e.attacks
                ));
            }
            Ok(())
        };
        for r in &self.rounds {
            if r.best.is_some_and(|b| b >= r.evaluations.len()) {
                return Err(format!(
                    "round {}: best is evaluation {:?} of {}",
                    r.round,
                    r.best,
                    r.evaluations.len()
                ));
            }
            if let Some(&p) = r.pareto.iter().find(|&&p| p >= r.evaluations.len()) {
                return Err(format!(
                    "round {}: the Pareto front names evaluation {p} of {}",
                    r.round,
                    r.evaluations.len()
                ));
            }
            for (i, e) in r.evaluations.iter().enumerate() {
                check(&format!("round {} evaluation {}", r.round, i + 1), e)?;
            }
        }
        if let Some(b) = &self.best {
            check("best", b)?;
        }
        if let Some(s) = &self.start {
            check("start", s)?;
        }
        Ok(())
    }
}

/// One per-window count of a timeline.
type Metric = fn(&WindowView) -> u64;

#[derive(Debug, thiserror::Error)]
#[error("cannot draw the report: {0}")]
pub struct ReportError(String);

fn draw_error<E: std::fmt::Debug>(e: E) -> ReportError {
    ReportError(format!("{e:?}"))
}

/// Fault intervals `(start, end, label)` from what the engine applied;
/// an event never reverted lasts to the end of the run.
fn fault_intervals(run: &RunView, end: f64) -> Vec<(f64, f64, String)> {
    let mut out = Vec::new();
    for a in run.applied.iter().filter(|a| a.action == "apply") {
        let revert = run
            .applied
            .iter()
            .find(|r| r.action == "revert" && r.event == a.event && r.t_s >= a.t_s)
            .map_or(end, |r| r.t_s);
        // An instantaneous event (a crash, a flush) gets one window's band.
        let revert = if revert <= a.t_s {
            a.t_s + run.window_s
        } else {
            revert
        };
        out.push((a.t_s, revert, a.spec.clone()));
    }
    out
}

/// The timeline plot of a run, as an SVG document.
pub fn timeline_svg(run: &RunView) -> Result<String, ReportError> {
    let w = run.window_s.max(1e-9);
    let end = run
        .windows
        .last()
        .map_or(1.0, |x| x.t_s + run.window_s)
        .max(1.0);
    let per_s = |n: u64| n as f64 / w;
    let top = run
        .windows
        .iter()
        .map(|x| per_s(x.offered.max(x.attempts).max(x.goodput)))
        .fold(1.0, f64::max)
        * 1.1;
    let p99_top = run
        .windows
        .iter()
        .filter_map(|x| x.p99_ms)
        .fold(1.0, f64::max)
        * 1.1;
    let faults = fault_intervals(run, end);
    let gauges = gauge_series(&run.windows);
    let mut svg = String::new();
    {
        let height = if gauges.is_empty() { 560 } else { 800 };
        let root = SVGBackend::with_string(&mut svg, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let (upper, rest) = root.split_vertically(360);
        let (lower, bottom) = rest.split_vertically(200);
        let shade = RGBColor(255, 140, 0).mix(0.18);
        let mut load = ChartBuilder::on(&upper)
            .caption(
                format!(
                    "{} · seed {} · requests/s per {}s window",
                    run.scenario, run.seed, run.window_s
                ),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..end, 0.0..top)
            .map_err(draw_error)?;
        load.configure_mesh()
            .y_desc("req/s")
            .light_line_style(WHITE)
            .draw()
            .map_err(draw_error)?;
        load.draw_series(
            faults
                .iter()
                .map(|(a, b, _)| Rectangle::new([(*a, 0.0), (*b, top)], shade.filled())),
        )
        .map_err(draw_error)?
        .label("fault")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], shade.filled()));
        let series = |f: fn(&WindowView) -> u64, windows: &[WindowView]| -> Vec<(f64, f64)> {
            windows.iter().map(|x| (x.t_s, per_s(f(x)))).collect()
        };
        let grey = RGBColor(150, 150, 150);
        if let Some(control) = &run.control {
            load.draw_series(DashedLineSeries::new(
                series(|x| x.goodput, &control.windows),
                6,
                4,
                grey.stroke_width(2),
            ))
            .map_err(draw_error)?
            .label("control goodput")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], grey.stroke_width(2)));
        }
        let lines: [(&str, Metric, RGBColor); 3] = [
            ("offered", |x| x.offered, RGBColor(31, 119, 180)),
            ("attempts", |x| x.attempts, RGBColor(214, 39, 40)),
            ("goodput", |x| x.goodput, RGBColor(44, 160, 44)),
        ];
        for (name, f, color) in lines {
            load.draw_series(LineSeries::new(
                series(f, &run.windows),
                color.stroke_width(2),
            ))
            .map_err(draw_error)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2)));
        }
        legend(&mut load, SeriesLabelPosition::UpperLeft)?;

        let mut latency = ChartBuilder::on(&lower)
            .caption(
                "p99 latency of successful requests (ms)",
                ("sans-serif", 14),
            )
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..end, 0.0..p99_top)
            .map_err(draw_error)?;
        latency
            .configure_mesh()
            .x_desc("simulated time (s)")
            .y_desc("ms")
            .light_line_style(WHITE)
            .draw()
            .map_err(draw_error)?;
        latency
            .draw_series(
                faults
                    .iter()
                    .map(|(a, b, _)| Rectangle::new([(*a, 0.0), (*b, p99_top)], shade.filled())),
            )
            .map_err(draw_error)?;
        // A gap where no request succeeded: the line breaks there.
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let purple = RGBColor(148, 103, 189);
        for x in &run.windows {
            match x.p99_ms {
                Some(p) => segment.push((x.t_s, p)),
                None if !segment.is_empty() => {
                    latency
                        .draw_series(LineSeries::new(
                            std::mem::take(&mut segment),
                            purple.stroke_width(2),
                        ))
                        .map_err(draw_error)?;
                }
                None => {}
            }
        }
        if !segment.is_empty() {
            latency
                .draw_series(LineSeries::new(segment, purple.stroke_width(2)))
                .map_err(draw_error)?;
        }
        if !gauges.is_empty() {
            draw_gauges(&bottom, &gauges, mechanism(run), &faults, end)?;
        }
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// Each gauge the scenario exports, as `(name, peak, points)` with the
/// points a fraction of the peak: queue depths in thousands and hit rates
/// in [0, 1] share one panel, and what stays high after the trigger (the
/// loop that keeps the failure alive) shows as a line that does not fall.
type GaugeSeries = (String, f64, Vec<(f64, f64)>);

fn gauge_series(windows: &[WindowView]) -> Vec<GaugeSeries> {
    let mut names: Vec<&String> = windows.iter().flat_map(|w| w.gauges.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let points: Vec<(f64, f64)> = windows
                .iter()
                .filter_map(|w| Some((w.t_s, *w.gauges.get(name)?)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            let peak = points.iter().map(|(_, v)| v.abs()).fold(0.0, f64::max);
            (peak > 0.0).then(|| {
                let scaled = points.into_iter().map(|(t, v)| (t, v / peak)).collect();
                (name.clone(), peak, scaled)
            })
        })
        .collect()
}

fn draw_gauges(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    gauges: &[GaugeSeries],
    carrier: Option<&LoopView>,
    faults: &[(f64, f64, String)],
    end: f64,
) -> Result<(), ReportError> {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    let shade = RGBColor(255, 140, 0).mix(0.18);
    let mut chart = ChartBuilder::on(area)
        .caption(
            "gauges the service exports, each as a fraction of its peak",
            ("sans-serif", 14),
        )
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..end, -0.05..1.1)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("simulated time (s)")
        .y_desc("of peak")
        .light_line_style(WHITE)
        .draw()
        .map_err(draw_error)?;
    chart
        .draw_series(
            faults
                .iter()
                .map(|(a, b, _)| Rectangle::new([(*a, -0.05), (*b, 1.1)], shade.filled())),
        )
        .map_err(draw_error)?;
    for (i, (name, peak, points)) in gauges.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        // The gauges that carry the diagnosed loop stand out; the rest
        // stay for context.
        let carries = carrier.filter(|l| l.gauges.contains(name));
        let (width, label) = match carries {
            Some(l) => (
                4,
                format!("{name} (peak {}): carries {}", short_number(*peak), l.key()),
            ),
            None if carrier.is_some() => (1, format!("{name} (peak {})", short_number(*peak))),
            None => (2, format!("{name} (peak {})", short_number(*peak))),
        };
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(width)))
            .map_err(draw_error)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 14, y)], color.stroke_width(width))
            });
    }
    legend(&mut chart, SeriesLabelPosition::MiddleLeft)?;
    Ok(())
}

/// `1234.5` → `1235`, `0.8123` → `0.81`.
/// The series' legend, boxed, where it hides the least of the plot.
fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
) -> Result<(), ReportError>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(at)
        .draw()
        .map_err(draw_error)
}

fn short_number(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222;max-width:1000px}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}\
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}code{background:#f4f4f4;padding:1px 4px}\
.metastable{color:#b00;font-weight:bold}.stable{color:#070;font-weight:bold}.slow-recovery{color:#a60;font-weight:bold}.unhealthy-baseline{color:#707;font-weight:bold}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}\n<p><small>hormesis {}</small></p>\n</body></html>\n",
        escape(title),
        env!("CARGO_PKG_VERSION")
    )
}

fn seconds(v: Option<f64>) -> String {
    v.map_or("never".to_string(), |t| format!("{t:.0} s"))
}

/// A self-contained HTML report of one run.
pub fn run_html(run: &RunView) -> Result<String, ReportError> {
    let v = &run.verdict;
    let mut body = format!(
        "<h1>{} · seed {} · <span class=\"{}\">{}</span></h1>\n",
        escape(&run.scenario),
        run.seed,
        escape(&v.class),
        escape(&v.class.to_uppercase())
    );
    body += "<h2>Schedule</h2>\n<ul>\n";
    if run.schedule.is_empty() {
        body += "<li>no faults: the run is judged on its own</li>\n";
    }
    for s in &run.schedule {
        let _ = writeln!(body, "<li><code>{}</code></li>", escape(s));
    }
    body += "</ul>\n<h2>Verdict</h2>\n<table>\n<tr><th></th><th>run</th><th>control</th></tr>\n";
    let c = run.control.as_ref();
    let rows: [(&str, String, String); 5] = [
        (
            "G0 (req/s)",
            format!("{:.1}", v.g0),
            c.map_or("-".into(), |c| format!("{:.1}", c.g0)),
        ),
        (
            "time to recover",
            seconds(v.ttr_s),
            c.map_or("-".into(), |c| seconds(c.ttr_s)),
        ),
        (
            "damage D",
            format!("{:.3}", v.damage),
            c.map_or("-".into(), |c| format!("{:.3}", c.damage)),
        ),
        (
            "amplification",
            format!("{:.2}×", v.amplification),
            c.map_or("-".into(), |c| format!("{:.2}×", c.amplification)),
        ),
        ("score S", format!("{:.3}", v.score), "".into()),
    ];
    for (name, a, b) in rows {
        let _ = writeln!(body, "<tr><td>{name}</td><td>{a}</td><td>{b}</td></tr>");
    }
    let _ = writeln!(
        body,
        "</table>\n<p>First fault at {:.0} s, trigger over at t<sub>e</sub> = {:.0} s, recovery watched for H = {:.0} s. Digest <code>{}</code>.</p>",
        v.first_fault_s,
        v.trigger_end_s,
        v.horizon_s,
        escape(&run.digest)
    );
    if let Some(d) = &run.diagnosis {
        body += "<h2>Why it stays down</h2>\n<ul>\n";
        if d.loops.is_empty() {
            body += "<li>unexplained: no loop's evidence held after the trigger</li>\n";
        }
        for (i, l) in d.loops.iter().enumerate() {
            let (open, close) = if i == 0 {
                ("<b>", "</b>")
            } else {
                ("also ", "")
            };
            let _ = writeln!(
                body,
                "<li>{open}<code>{}</code>{close}: {}</li>",
                escape(&l.key()),
                escape(&l.evidence)
            );
        }
        body += "</ul>\n";
    }
    body += "<h2>Timeline</h2>\n<p>Shaded: fault intervals. Dashed grey: the control run's goodput (same seed, no faults). Thick: the gauges that carry the diagnosed loop.</p>\n";
    body += &timeline_svg(run)?;
    Ok(page(&format!("{} seed {}", run.scenario, run.seed), &body))
}

/// Light grey at score 0 to dark red at 1, so a run that did nothing
/// still shows as a cell.
fn heat(score: f64) -> RGBColor {
    let s = score.clamp(0.0, 1.0);
    let mix =
        |zero: u8, full: u8| (f64::from(zero) + (f64::from(full) - f64::from(zero)) * s) as u8;
    RGBColor(mix(232, 178), mix(232, 24), mix(232, 43))
}

/// Score of every run per arm: one row per arm, one column per pull.
pub fn heatmap_svg(e: &ExploreView) -> Result<String, ReportError> {
    let mut arms: Vec<&str> = e.runs.iter().map(|r| r.arm.as_str()).collect();
    arms.sort_unstable();
    arms.dedup();
    let pulls: Vec<Vec<&ExploreRunView>> = arms
        .iter()
        .map(|a| e.runs.iter().filter(|r| r.arm == *a).collect())
        .collect();
    let columns = pulls.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let row_h = 22u32;
    let label_w = 430u32;
    let cell_w = (520 / columns as u32).clamp(6, 40);
    let width = label_w + cell_w * columns as u32 + 40;
    let height = row_h * arms.len().max(1) as u32 + 60;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let title = format!(
            "{} · {} · seed {}: score of each run per arm (columns: 1st, 2nd, … pull)",
            e.scenario, e.strategy, e.seed
        );
        root.draw(&Text::new(title, (10, 10), ("sans-serif", 14)))
            .map_err(draw_error)?;
        for (row, (arm, runs)) in arms.iter().zip(&pulls).enumerate() {
            let y = 40 + row as i32 * row_h as i32;
            root.draw(&Text::new(arm.to_string(), (10, y + 4), ("sans-serif", 12)))
                .map_err(draw_error)?;
            for (col, r) in runs.iter().enumerate() {
                let x = (label_w + col as u32 * cell_w) as i32;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell_w as i32 - 2, y + row_h as i32 - 3)],
                    heat(r.score).filled(),
                ))
                .map_err(draw_error)?;
                if r.class.as_deref() == Some("metastable") {
                    root.draw(&Rectangle::new(
                        [(x, y), (x + cell_w as i32 - 2, y + row_h as i32 - 3)],
                        BLACK.stroke_width(1),
                    ))
                    .map_err(draw_error)?;
                }
            }
        }
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// The parts of a `map --json` a report draws.
#[derive(Debug, Clone, Deserialize)]
pub struct MapView {
    pub scenario: String,
    pub template: String,
    pub onset_s: f64,
    pub seeds: Vec<u64>,
    pub durations_s: Vec<f64>,
    pub magnitudes: Vec<f64>,
    pub cells: Vec<MapCellView>,
    pub tipping_fraction: f64,
    /// Axis spacing and the magnitude's unit (absent in maps of 0.1.0
    /// before natural-scale axes: linear, no unit).
    #[serde(default = "linear")]
    pub duration_scale: String,
    #[serde(default = "linear")]
    pub magnitude_scale: String,
    #[serde(default)]
    pub unit: String,
}

fn linear() -> String {
    "linear".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct MapCellView {
    pub duration_s: Option<f64>,
    pub magnitude: Option<f64>,
    pub runs: usize,
    pub fraction: f64,
    pub mean_stress: f64,
    #[serde(default)]
    pub refined: bool,
}

/// The vulnerability map as a heatmap: durations across, magnitudes up,
/// each cell shaded by the fraction of seeds that tipped and labelled
/// with it (and with the mean stress where none tipped).
pub fn map_svg(m: &MapView) -> Result<String, ReportError> {
    let columns = crate::map::along(&m.durations_s);
    let mut rows = crate::map::along(&m.magnitudes);
    rows.reverse();
    let (cell_w, cell_h, left, top) = (64i32, 34i32, 90i32, 50i32);
    let width = (left + cell_w * columns.len() as i32 + 20) as u32;
    let height = (top + cell_h * rows.len() as i32 + 100) as u32;
    let magnitude_label = |v: f64| crate::map::label(v, &m.unit);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width.max(420), height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let title = format!(
            "{} · {} from {}s: {:.1} % of runs tip",
            m.scenario,
            m.template,
            m.onset_s,
            m.tipping_fraction * 100.0
        );
        root.draw(&Text::new(title, (10, 10), ("sans-serif", 14)))
            .map_err(draw_error)?;
        for (r, magnitude) in rows.iter().enumerate() {
            let y = top + r as i32 * cell_h;
            let label = magnitude.map_or("-".into(), magnitude_label);
            root.draw(&Text::new(label, (10, y + 10), ("sans-serif", 12)))
                .map_err(draw_error)?;
            for (c, duration) in columns.iter().enumerate() {
                let x = left + c as i32 * cell_w;
                let Some(cell) = m
                    .cells
                    .iter()
                    .find(|k| k.duration_s == *duration && k.magnitude == *magnitude)
                else {
                    continue;
                };
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell_w - 2, y + cell_h - 2)],
                    heat(cell.fraction).filled(),
                ))
                .map_err(draw_error)?;
                if cell.refined {
                    root.draw(&Rectangle::new(
                        [(x + 1, y + 1), (x + cell_w - 3, y + cell_h - 3)],
                        BLACK.stroke_width(1),
                    ))
                    .map_err(draw_error)?;
                }
                let text = if cell.runs == 0 {
                    "err".to_string()
                } else if cell.fraction > 0.0 {
                    format!("{:.2}", cell.fraction)
                } else {
                    format!("s {:.2}", cell.mean_stress)
                };
                root.draw(&Text::new(text, (x + 6, y + 10), ("sans-serif", 11)))
                    .map_err(draw_error)?;
            }
        }
        let axis_y = top + rows.len() as i32 * cell_h + 8;
        for (c, duration) in columns.iter().enumerate() {
            let label = duration.map_or("-".into(), |d| format!("{d}s"));
            let x = left + c as i32 * cell_w + 6;
            root.draw(&Text::new(label, (x, axis_y), ("sans-serif", 12)))
                .map_err(draw_error)?;
        }
        let unit = if m.unit.is_empty() {
            String::new()
        } else {
            format!(" in {}", m.unit)
        };
        root.draw(&Text::new(
            format!(
                "duration → ({} scale); rows: magnitude{unit} ({} scale); cells: fraction of seeds that tip, or s = mean stress where none did; outlined: refined",
                m.duration_scale, m.magnitude_scale
            ),
            (10, axis_y + 20),
            ("sans-serif", 11),
        ))
        .map_err(draw_error)?;
        // The colour legend: what each shade means.
        let legend_y = axis_y + 40;
        root.draw(&Text::new(
            "fraction of seeds that tip:",
            (10, legend_y + 6),
            ("sans-serif", 11),
        ))
        .map_err(draw_error)?;
        for (i, f) in [0.0, 0.25, 0.5, 0.75, 1.0].iter().enumerate() {
            let x = 170 + i as i32 * 50;
            root.draw(&Rectangle::new(
                [(x, legend_y), (x + 20, legend_y + 16)],
                heat(*f).filled(),
            ))
            .map_err(draw_error)?;
            root.draw(&Text::new(
                format!("{f}"),
                (x + 23, legend_y + 4),
                ("sans-serif", 11),
            ))
            .map_err(draw_error)?;
        }
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// A self-contained HTML report of one vulnerability map.
pub fn map_html(m: &MapView) -> Result<String, ReportError> {
    let body = format!(
        "<h1>Vulnerability map of {} on {}</h1>\n<p>Onset {}s, {} seeds per cell; {:.1} % of all runs tip.</p>\n{}",
        escape(&m.template),
        escape(&m.scenario),
        m.onset_s,
        m.seeds.len(),
        m.tipping_fraction * 100.0,
        map_svg(m)?
    );
    Ok(page(&format!("hormesis map: {}", m.template), &body))
}

/// The best score so far against the number of runs, one line per
/// exploration (strategy).
pub fn best_so_far_svg(explorations: &[ExploreView]) -> Result<String, ReportError> {
    let runs = explorations
        .iter()
        .map(|e| e.runs.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("best score so far", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..runs as f64, 0.0..1.0)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("runs")
            .y_desc("S")
            .light_line_style(WHITE)
            .draw()
            .map_err(draw_error)?;
        for (i, e) in explorations.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let mut best = 0.0f64;
            let mut points = vec![(0.0, 0.0)];
            let mut ordered: Vec<&ExploreRunView> = e.runs.iter().collect();
            ordered.sort_by_key(|r| r.index);
            for (k, r) in ordered.iter().enumerate() {
                best = best.max(r.score);
                points.push(((k + 1) as f64, best));
            }
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(draw_error)?
                .label(format!("{} (seed {})", e.strategy, e.seed))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// A self-contained HTML report of one or more explorations.
pub fn explore_html(explorations: &[ExploreView]) -> Result<String, ReportError> {
    let Some(first) = explorations.first() else {
        return Err(ReportError("no exploration given".into()));
    };
    let mut body = format!("<h1>Exploration of {}</h1>\n", escape(&first.scenario));
    body += "<table>\n<tr><th>strategy</th><th>seed</th><th>runs</th><th>metastable</th><th>first metastable after</th><th>best score</th></tr>\n";
    for e in explorations {
        let metastable = e
            .runs
            .iter()
            .filter(|r| r.class.as_deref() == Some("metastable"))
            .count();
        let first_at = e
            .runs
            .iter()
            .filter(|r| r.class.as_deref() == Some("metastable"))
            .map(|r| r.index + 1)
            .min();
        let best = e.runs.iter().map(|r| r.score).fold(0.0, f64::max);
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
            escape(&e.strategy),
            e.seed,
            e.runs.len(),
            metastable,
            first_at.map_or("never".into(), |n| format!(
                "{n} run{}",
                if n == 1 { "" } else { "s" }
            )),
            best
        );
    }
    body += "</table>\n<h2>Best score so far</h2>\n";
    body += &best_so_far_svg(explorations)?;
    for e in explorations {
        let _ = writeln!(
            body,
            "<h2>Score per arm: {} (seed {})</h2>\n<p>One cell per run, in the order the arm was pulled: grey, score 0; dark red, score 1; outlined, metastable.</p>",
            escape(&e.strategy),
            e.seed
        );
        body += &heatmap_svg(e)?;
    }
    Ok(page(&format!("exploration of {}", first.scenario), &body))
}

/// The parts of a `tune --json` a report draws.
#[derive(Debug, Clone, Deserialize)]
pub struct TuneView {
    pub scenario: String,
    pub mitigation: String,
    pub max_cost: f64,
    pub rounds: Vec<TuneRoundView>,
    pub start: Option<TuneEvaluationView>,
    pub best: Option<TuneEvaluationView>,
    #[serde(default)]
    pub stopped_early: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TuneRoundView {
    pub round: usize,
    pub attacks: usize,
    pub evaluations: Vec<TuneEvaluationView>,
    pub best: Option<usize>,
    pub exploration: Option<TuneExplorationView>,
    /// The round's Pareto front, indices into `evaluations` (absent in
    /// tunings written before it was recorded).
    #[serde(default)]
    pub pareto: Vec<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TuneEvaluationView {
    pub how: String,
    pub policy: std::collections::BTreeMap<String, String>,
    pub objective: f64,
    pub worst: f64,
    pub mean: f64,
    pub recovered: usize,
    pub attacks: usize,
    /// Absent in tunings written before it was recorded.
    #[serde(default)]
    pub mean_amplification: Option<f64>,
    pub cost: f64,
    /// The fraction of requests served under the benign faults; absent
    /// without benign faults and in tunings written before them.
    #[serde(default)]
    pub benign_served: Option<f64>,
    #[serde(default)]
    pub resources: Option<TuneResourcesView>,
    pub feasible: bool,
}

/// What a policy spends (absent in tunings written before it was recorded).
#[derive(Debug, Clone, Deserialize)]
pub struct TuneResourcesView {
    pub attempts_per_request: f64,
    pub worker_seconds: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TuneExplorationView {
    pub runs: usize,
    pub metastable_runs: usize,
}

/// Convergence: every evaluation's objective in order (hollow when over
/// the cost bound), the best so far within each round as a line, rounds
/// separated and labelled with their attack count.
pub fn tune_svg(t: &TuneView) -> Result<String, ReportError> {
    let total: usize = t.rounds.iter().map(|r| r.evaluations.len()).sum();
    let top = t
        .rounds
        .iter()
        .flat_map(|r| r.evaluations.iter().map(|e| e.objective))
        .fold(1.1f64, f64::max)
        .min(3.2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{} · {}: objective per policy", t.scenario, t.mitigation),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..(total.max(1) as f64 + 1.0), 0.0..top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("policies evaluated")
            .y_desc("objective (lower is better)")
            .light_line_style(WHITE)
            .draw()
            .map_err(draw_error)?;
        let mut x = 0usize;
        for (i, r) in t.rounds.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let first = x + 1;
            let mut best = f64::INFINITY;
            let mut line = Vec::new();
            for e in &r.evaluations {
                x += 1;
                best = best.min(e.objective);
                line.push((x as f64, best.min(top)));
                let point = (x as f64, e.objective.min(top));
                let style = if e.feasible {
                    color.filled()
                } else {
                    color.stroke_width(1)
                };
                chart
                    .draw_series(std::iter::once(Circle::new(point, 3, style)))
                    .map_err(draw_error)?;
            }
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(draw_error)?
                .label(format!(
                    "round {} ({} attacks{})",
                    r.round,
                    r.attacks,
                    r.exploration.as_ref().map_or(String::new(), |e| format!(
                        "; then explored: {}/{} metastable",
                        e.metastable_runs, e.runs
                    ))
                ))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                });
            if i > 0 {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        [(first as f64 - 0.5, 0.0), (first as f64 - 0.5, top)],
                        BLACK.mix(0.3),
                    )))
                    .map_err(draw_error)?;
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// A self-contained HTML report of one tuning run.
pub fn tune_html(t: &TuneView) -> Result<String, ReportError> {
    let policy = |e: &TuneEvaluationView| {
        e.policy
            .iter()
            .map(|(k, v)| format!("<code>{}={}</code>", escape(k), escape(v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut body = format!(
        "<h1>Tuning {} on {}</h1>\n<p>Objective: the mean of the worst and the mean metastability score over the attacks, plus 0.1 × the mean recovery time as a fraction of H, plus the fraction of requests not served under the benign faults (when the tuning had any); over the cost bound ({:.1} % of no-fault goodput) a policy scores above every policy within it (hollow points).{}</p>\n",
        escape(&t.mitigation),
        escape(&t.scenario),
        t.max_cost * 100.0,
        if t.stopped_early {
            " Stopped by a signal: the best so far."
        } else {
            ""
        }
    );
    let header = "<table>\n<tr><th>policy</th><th>objective</th><th>worst</th><th>mean</th><th>recovered</th><th>amplification</th><th>served under benign faults</th><th>attempts per request</th><th>worker-seconds per run</th><th>cost</th><th>values</th></tr>\n";
    let row = |name: &str, e: &TuneEvaluationView| {
        let resources = e.resources.as_ref();
        format!(
            "<tr><td>{name}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:+.1} %</td><td>{}</td></tr>\n",
            e.objective,
            e.worst,
            e.mean,
            e.recovered,
            e.attacks,
            e.mean_amplification
                .map_or("-".into(), |a| format!("{a:.2}×")),
            e.benign_served
                .map_or("-".into(), |s| format!("{:.1} %", s * 100.0)),
            resources.map_or("-".into(), |r| format!("{:.2}", r.attempts_per_request)),
            resources
                .and_then(|r| r.worker_seconds)
                .map_or("-".into(), |w| format!("{w:.0}")),
            e.cost * 100.0,
            policy(e)
        )
    };
    body += header;
    for (name, e) in [("start", &t.start), ("best", &t.best)] {
        if let Some(e) = e {
            body += &row(name, e);
        }
    }
    body += "</table>\n";
    if let Some(last) = t.rounds.last().filter(|r| !r.pareto.is_empty()) {
        let _ = writeln!(
            body,
            "<h2>Pareto front of round {}</h2>\n<p>The policies within the cost bound that no other beats at once on recovery (the attacks' part of the objective), on the requests served under the benign faults and on resources: the trades a team can choose from.</p>",
            last.round
        );
        body += header;
        for &i in &last.pareto {
            if let Some(e) = last.evaluations.get(i) {
                body += &row(e.how.as_str(), e);
            }
        }
        body += "</table>\n";
    }
    body += "<h2>Convergence</h2>\n";
    body += &tune_svg(t)?;
    body += "<h2>Rounds</h2>\n<table>\n<tr><th>round</th><th>attacks</th><th>policies</th><th>best objective</th><th>recovered</th><th>explored after</th></tr>\n";
    for r in &t.rounds {
        let best = r.best.and_then(|b| r.evaluations.get(b));
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.round,
            r.attacks,
            r.evaluations.len(),
            best.map_or("-".into(), |b| format!("{:.3}", b.objective)),
            best.map_or("-".into(), |b| format!("{}/{}", b.recovered, b.attacks)),
            r.exploration.as_ref().map_or("-".into(), |e| format!(
                "{}/{} metastable",
                e.metastable_runs, e.runs
            ))
        );
    }
    body += "</table>\n";
    Ok(page(
        &format!("tuning {} on {}", t.mitigation, t.scenario),
        &body,
    ))
}

impl SweepView {
    /// What every value ran, in words.
    fn trigger(&self) -> String {
        match (&self.template, self.triggers) {
            (Some(t), Some(n)) => format!("each of the {n} grid cells of {t}"),
            (Some(t), None) => format!("the grid of {t}"),
            (None, _) if self.schedule.is_empty() => "no fault".to_string(),
            (None, _) => self.schedule.join(" + "),
        }
    }
}

/// The parts of a `sweep --json` a report draws.
#[derive(Debug, Clone, Deserialize)]
pub struct SweepView {
    pub scenario: String,
    pub param: String,
    pub schedule: Vec<String>,
    /// The template whose grid each value ran (absent: one trigger).
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub triggers: Option<usize>,
    pub seeds: Vec<u64>,
    pub log: bool,
    pub points: Vec<SweepPointView>,
    pub boundaries: Vec<(String, String)>,
    pub no_effect: Vec<NoEffectView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SweepPointView {
    pub value: String,
    pub x: f64,
    pub runs: usize,
    pub fraction: f64,
    pub amplification: f64,
    pub goodput_under_trigger: f64,
    #[serde(default)]
    pub refined: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NoEffectView {
    pub from: String,
    pub to: String,
    pub values: usize,
    pub seeds: usize,
}

/// The most values a sweep's report draws: the spread and every
/// bisection `sweep` allows, with room to spare.
const MAX_SWEEP_POINTS: usize = 10 * (crate::sweep::MAX_STEPS + crate::sweep::MAX_REFINE);

impl SweepView {
    /// What a hand edit or a damaged file could break in a sweep: fractions
    /// in [0, 1], finite values (positive on a log sweep), and boundaries
    /// and no-effect ranges that name measured values.
    pub fn validate(&self) -> Result<(), String> {
        name_ok("scenario", &self.scenario)?;
        name_ok("param", &self.param)?;
        for (i, spec) in self.schedule.iter().enumerate() {
            name_ok(&format!("schedule[{i}]"), spec)?;
        }
        if let Some(template) = &self.template {
            name_ok("template", template)?;
        }
        if self.points.is_empty() {
            return Err("no points: a sweep measures at least two values".into());
        }
        if self.points.len() > MAX_SWEEP_POINTS {
            return Err(format!(
                "{} points; a sweep's report draws at most {MAX_SWEEP_POINTS}",
                self.points.len()
            ));
        }
        for (i, p) in self.points.iter().enumerate() {
            let at = |field: &str| format!("points[{i}].{field}");
            name_ok(&at("value"), &p.value)?;
            let lo = if self.log { f64::MIN_POSITIVE } else { -1e15 };
            within(&at("x"), p.x, lo, 1e15)?;
            within(&at("fraction"), p.fraction, 0.0, 1.0)?;
            within(&at("amplification"), p.amplification, 0.0, 1e9)?;
            within(
                &at("goodput_under_trigger"),
                p.goodput_under_trigger,
                0.0,
                1e9,
            )?;
        }
        let named = |what: &str, value: &str| {
            if self.points.iter().any(|p| p.value == value) {
                Ok(())
            } else {
                Err(format!("{what} names {value:?}, which no point has"))
            }
        };
        for (a, b) in &self.boundaries {
            named("a boundary", a)?;
            named("a boundary", b)?;
        }
        for r in &self.no_effect {
            named("a no-effect range", &r.from)?;
            named("a no-effect range", &r.to)?;
        }
        Ok(())
    }

    fn x_of(&self, value: &str) -> Option<f64> {
        self.points.iter().find(|p| p.value == value).map(|p| p.x)
    }
}

/// One figure of a sweep's point, as a line draws it.
type PointFigure = fn(&SweepPointView) -> f64;

/// A sweep across one setting: the fraction of seeds that tip and the
/// goodput while the trigger lasted (as a fraction of G0) per value, on the
/// sweep's own scale; ranges of no effect shaded grey, each boundary
/// between two values a dashed line midway; refined values hollow.
pub fn sweep_svg(s: &SweepView) -> Result<String, ReportError> {
    // A log sweep is drawn on log10 of the value, labelled with the value.
    let at = |x: f64| if s.log { x.log10() } else { x };
    let xs: Vec<f64> = s.points.iter().map(|p| at(p.x)).collect();
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    // Room either side, never a zero-width axis (one value, or two far
    // from zero that differ below f64's resolution).
    let pad = ((hi - lo) * 0.04)
        .max(hi.abs().max(lo.abs()) * 1e-3)
        .max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let top = s
        .points
        .iter()
        .map(|p| p.goodput_under_trigger)
        .fold(1.05f64, f64::max)
        .min(2.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{} · {} at {} values on {} seeds: {}",
                    s.scenario,
                    s.param,
                    s.points.len(),
                    s.seeds.len(),
                    s.trigger()
                ),
                ("sans-serif", 14),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(draw_error)?;
        let label = |t: &f64| short_number(if s.log { 10f64.powf(*t) } else { *t });
        chart
            .configure_mesh()
            .x_desc(format!(
                "{} ({} scale)",
                s.param,
                if s.log { "log" } else { "linear" }
            ))
            .y_desc("fraction")
            .x_label_formatter(&label)
            .light_line_style(WHITE)
            .draw()
            .map_err(draw_error)?;
        for r in &s.no_effect {
            if let (Some(a), Some(b)) = (s.x_of(&r.from), s.x_of(&r.to)) {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(at(a), 0.0), (at(b), top)],
                        BLACK.mix(0.1).filled(),
                    )))
                    .map_err(draw_error)?;
            }
        }
        for (a, b) in &s.boundaries {
            if let (Some(a), Some(b)) = (s.x_of(a), s.x_of(b)) {
                let mid = (at(a) + at(b)) / 2.0;
                chart
                    .draw_series(DashedLineSeries::new(
                        [(mid, 0.0), (mid, top)],
                        4,
                        3,
                        BLACK.mix(0.6).stroke_width(1),
                    ))
                    .map_err(draw_error)?;
            }
        }
        let series: [(&str, RGBColor, PointFigure); 2] = [
            ("fraction of seeds that tip", RED, |p| p.fraction),
            ("goodput under the trigger ÷ G0", BLUE, |p| {
                p.goodput_under_trigger
            }),
        ];
        for (name, color, of) in series {
            let line: Vec<(f64, f64)> =
                s.points.iter().map(|p| (at(p.x), of(p).min(top))).collect();
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(draw_error)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                });
            chart
                .draw_series(s.points.iter().map(|p| {
                    let style = if p.refined {
                        color.stroke_width(1)
                    } else {
                        color.filled()
                    };
                    Circle::new((at(p.x), of(p).min(top)), 3, style)
                }))
                .map_err(draw_error)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// A self-contained HTML report of one sweep: the plot, the ranges of no
/// effect and the boundaries, and every value's figures.
pub fn sweep_html(s: &SweepView) -> Result<String, ReportError> {
    let mut body = format!(
        "<h1>Sweep of {} on {}</h1>\n<p>Trigger: <code>{}</code>; {} seeds per value{}.</p>\n",
        escape(&s.param),
        escape(&s.scenario),
        escape(&s.trigger()),
        s.seeds.len(),
        if s.template.is_some() {
            " and cell: the fraction is the failing region's share of the grid"
        } else {
            ""
        }
    );
    body += &sweep_svg(s)?;
    body += "<h2>Ranges of no effect</h2>\n";
    if s.no_effect.is_empty() {
        body += "<p>None: neighbouring values always behaved differently on some seed.</p>\n";
    } else {
        body += "<ul>\n";
        for r in &s.no_effect {
            let _ = writeln!(
                body,
                "<li><code>{}</code> {}..{}: identical behaviour on {} seeds over {} values</li>",
                escape(&s.param),
                escape(&r.from),
                escape(&r.to),
                r.seeds,
                r.values
            );
        }
        body += "</ul>\n";
    }
    body += "<h2>Boundaries</h2>\n";
    if s.boundaries.is_empty() {
        body += "<p>None: the tipping fraction is the same at every value.</p>\n";
    } else {
        body += "<ul>\n";
        for (a, b) in &s.boundaries {
            let _ = writeln!(body, "<li>between {} and {}</li>", escape(a), escape(b));
        }
        body += "</ul>\n";
    }
    body += "<h2>Values</h2>\n<table>\n<tr><th>value</th><th>runs</th><th>tip</th><th>amplification</th><th>goodput under the trigger</th></tr>\n";
    for p in &s.points {
        let _ = writeln!(
            body,
            "<tr><td>{}{}</td><td>{}</td><td>{:.2}</td><td>{:.2}×</td><td>{:.1} %</td></tr>",
            escape(&p.value),
            if p.refined { " (refined)" } else { "" },
            p.runs,
            p.fraction,
            p.amplification,
            p.goodput_under_trigger * 100.0
        );
    }
    body += "</table>\n";
    Ok(page(
        &format!("sweep of {} on {}", s.param, s.scenario),
        &body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(log: bool, xs: &[f64], fractions: &[f64]) -> SweepView {
        let points: Vec<SweepPointView> = xs
            .iter()
            .zip(fractions)
            .map(|(&x, &fraction)| SweepPointView {
                value: format!("{x}"),
                x,
                runs: 2,
                fraction,
                amplification: 1.0,
                goodput_under_trigger: 0.5,
                refined: false,
            })
            .collect();
        SweepView {
            scenario: "s".into(),
            param: "p".into(),
            schedule: vec![],
            template: None,
            triggers: None,
            seeds: vec![1, 2],
            log,
            boundaries: vec![(points[0].value.clone(), points[1].value.clone())],
            no_effect: vec![],
            points,
        }
    }

    #[test]
    fn a_sweep_draws_at_any_scale_and_spacing() {
        for (log, xs) in [
            (false, [0.0, 1.0]),
            (true, [0.001, 1000.0]),
            (false, [1e15, 1e15]),
            (true, [1e15, 1e15]),
            (false, [-1e15, 1e15]),
        ] {
            let s = sweep(log, &xs, &[0.0, 1.0]);
            s.validate().unwrap();
            let svg = sweep_svg(&s).unwrap();
            assert!(svg.contains("fraction of seeds that tip"), "{xs:?}");
            assert!(!svg.contains("NaN"), "{xs:?}: {svg}");
        }
    }

    #[test]
    fn a_sweep_that_could_not_be_drawn_is_refused() {
        assert!(sweep(true, &[0.0, 1.0], &[0.0, 1.0]).validate().is_err());
        assert!(sweep(false, &[0.0, 1.0], &[0.0, 1.5]).validate().is_err());
        let mut unnamed = sweep(false, &[0.0, 1.0], &[0.0, 1.0]);
        unnamed.boundaries = vec![("7".into(), "8".into())];
        let err = unnamed.validate().unwrap_err();
        assert!(err.contains("no point has"), "{err}");
    }

    fn tuning(evaluation: serde_json::Value, pareto: serde_json::Value) -> TuneView {
        let mut round = serde_json::json!({
            "round": 1, "attacks": 1, "best": 0, "exploration": null,
            "evaluations": [evaluation],
        });
        if !pareto.is_null() {
            round["pareto"] = pareto;
        }
        serde_json::from_value(serde_json::json!({
            "scenario": "retry-storm",
            "mitigation": "retry-budget",
            "max_cost": 0.05,
            "rounds": [round],
            "start": evaluation,
            "best": evaluation,
        }))
        .unwrap()
    }

    #[test]
    fn a_tuning_draws_its_front_and_older_files_without_one() {
        let old = serde_json::json!({
            "how": "start", "policy": {"retry_budget.ratio": "1"}, "objective": 0.5,
            "worst": 0.5, "mean": 0.5, "recovered": 0, "attacks": 1, "cost": 0.0,
            "feasible": true,
        });
        let mut new = old.clone();
        new["benign_served"] = serde_json::json!(0.93);
        new["resources"] =
            serde_json::json!({"attempts_per_request": 1.25, "worker_seconds": null});
        let drawn = tuning(new, serde_json::json!([0]));
        drawn.validate().unwrap();
        let page = tune_html(&drawn).unwrap();
        assert!(page.contains("Pareto front of round 1"), "{page}");
        assert!(
            page.contains("<td>93.0 %</td><td>1.25</td><td>-</td>"),
            "{page}"
        );
        // A tuning written before benign faults and fronts: dashes, no front.
        let older = tuning(old.clone(), serde_json::Value::Null);
        assert!(older.rounds[0].pareto.is_empty());
        let page = tune_html(&older).unwrap();
        assert!(!page.contains("Pareto front"), "{page}");
        assert!(page.contains("<td>-</td><td>-</td><td>-</td>"), "{page}");
        // Hand edits that name what is not there are refused.
        let err = tuning(old.clone(), serde_json::json!([3]))
            .validate()
            .unwrap_err();
        assert!(
            err.contains("Pareto front names evaluation 3 of 1"),
            "{err}"
        );
        let mut served = old;
        served["benign_served"] = serde_json::json!(1.5);
        let err = tuning(served, serde_json::json!([]))
            .validate()
            .unwrap_err();
        assert!(err.contains("benign_served is 1.5"), "{err}");
    }
}
