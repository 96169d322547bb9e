//! The human-readable summary of a run: a verdict line, the key figures beside
//! the control's, and a goodput sparkline with the fault interval marked.

use crate::run::RunReport;
use crate::timeline::Window;
use std::fmt::Write;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const WIDTH: usize = 72;

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "never".to_string(), |s| format!("{s:.0}s"))
}

/// Goodput per window, squeezed to at most `WIDTH` columns, and a marker line
/// under it: `^` where a fault was active, `|` at the trigger's end.
pub fn sparkline(windows: &[Window], fault: Option<(f64, f64)>, window_s: f64) -> (String, String) {
    if windows.is_empty() {
        return (String::new(), String::new());
    }
    let per = windows.len().div_ceil(WIDTH);
    let columns: Vec<(f64, f64, f64)> = windows
        .chunks(per)
        .map(|c| {
            let g = c.iter().map(|w| w.goodput as f64).sum::<f64>() / c.len() as f64;
            (g, c[0].t_s, c[c.len() - 1].t_s + window_s)
        })
        .collect();
    let max = columns.iter().map(|c| c.0).fold(0.0, f64::max);
    let mut line = String::new();
    let mut marks = String::new();
    for &(g, from, to) in &columns {
        let level = if max > 0.0 {
            ((g / max) * 7.0).round() as usize
        } else {
            0
        };
        line.push(BARS[level.min(7)]);
        marks.push(match fault {
            Some((start, end)) if from < end && to > start => '^',
            Some((_, end)) if from <= end && end < to => '|',
            _ => ' ',
        });
    }
    (line, marks.trim_end().to_string())
}

pub fn render(r: &RunReport) -> String {
    let v = &r.verdict;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  seed {}  engine {}  score {:.3}",
        v.class.name().to_uppercase(),
        r.scenario,
        r.seed,
        r.engine.name(),
        v.score
    );
    if r.schedule.is_empty() {
        let _ = writeln!(out, "  schedule   (none: the run is judged on its own)");
    }
    for spec in &r.schedule {
        let _ = writeln!(out, "  fault      {spec}");
    }
    let _ = writeln!(
        out,
        "  trigger    first fault {:.0}s, ends t_e={:.0}s, watched for H={:.0}s",
        v.first_fault_s, v.trigger_end_s, v.horizon_s
    );
    let _ = writeln!(out, "               {:>10} {:>10}", "run", "control");
    let c = r.control.as_ref();
    let row = |name: &str, run: String, ctrl: Option<String>| {
        format!(
            "  {name:<12} {run:>10} {:>10}\n",
            ctrl.unwrap_or_else(|| "-".into())
        )
    };
    out += &row(
        "G0 (req/s)",
        format!("{:.1}", v.g0),
        c.map(|c| format!("{:.1}", c.figures.g0)),
    );
    out += &row("TTR", secs(v.ttr_s), c.map(|c| secs(c.figures.ttr_s)));
    out += &row(
        "damage D",
        format!("{:.3}", v.damage),
        c.map(|c| format!("{:.3}", c.figures.damage)),
    );
    if !r.schedule.is_empty() {
        out += &row("stress", format!("{:.2}", r.stress), None);
    }
    out += &row(
        "amplif.",
        format!("{:.2}x", v.amplification),
        c.map(|c| format!("{:.2}x", c.figures.amplification)),
    );
    let fault = (!r.schedule.is_empty()).then_some((v.first_fault_s, v.trigger_end_s));
    let (line, marks) = sparkline(&r.windows, fault, r.window_s);
    let _ = writeln!(out, "  goodput    {line}");
    if !marks.is_empty() {
        let _ = writeln!(out, "             {marks}");
    }
    // Why it stayed down: only a run that did not recover in time has a
    // loop worth naming.
    if let (Some(d), true) = (&r.diagnosis, v.class == crate::verdict::Class::Metastable) {
        match d.loops.first() {
            Some(l) => {
                let _ = writeln!(out, "  mechanism  {}: {}", d.key(), l.evidence);
                for other in &d.loops[1..] {
                    let _ = writeln!(
                        out,
                        "    also     {}: {}",
                        crate::diagnosis::key(other.mechanism, &other.place),
                        other.evidence
                    );
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "  mechanism  unexplained: no exported figure shows a loop after the trigger"
                );
            }
        }
    }
    if let Some(why) = &v.unhealthy {
        let _ = writeln!(
            out,
            "  UNHEALTHY BASELINE: {why}; recovery cannot be judged, so this is never a pass"
        );
    } else if v.control_collapsed {
        let _ = writeln!(
            out,
            "  warning: the control run (no faults) does not recover either; the system is unstable on its own"
        );
    }
    if v.block_s > r.window_s {
        let _ = writeln!(
            out,
            "  note: at {:.1} req/s recovery is judged on {:.0} s blocks (each expects {:.0} successes)",
            v.g0,
            v.block_s,
            crate::verdict::EXPECTED_PER_BLOCK
        );
    }
    for f in &r.failures {
        let _ = writeln!(
            out,
            "  FINDING: host `{}` failed at {:.3}s: {}",
            f.host, f.t_s, f.message
        );
    }
    let _ = writeln!(out, "  digest     {}", r.digest);
    let _ = writeln!(out, "  behaviour  {}", r.behaviour);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(t: f64, goodput: u64) -> Window {
        Window {
            t_s: t,
            offered: 0,
            attempts: 0,
            goodput,
            errors: 0,
            timeouts: 0,
            p50_ms: None,
            p99_ms: None,
            gauges: Default::default(),
        }
    }

    #[test]
    fn the_sparkline_marks_the_fault_interval() {
        let windows: Vec<Window> = (0..10)
            .map(|i| w(i as f64, if i < 5 { 10 } else { 0 }))
            .collect();
        let (line, marks) = sparkline(&windows, Some((3.0, 5.0)), 1.0);
        assert_eq!(line, "█████▁▁▁▁▁");
        assert_eq!(marks, "   ^^|");
    }
}
