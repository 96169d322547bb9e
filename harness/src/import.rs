//! Importing a production incident's timeline (CSV) as a schedule: the
//! offered load follows the recorded curve (a `load-profile` fault) and
//! annotated events become fault events. The format is documented in
//! `replays/imported/README.md`.

use crate::scenario::Scenario;
use hormesis_faults::{
    format_duration, parse_duration, Event, Fault, KnobKind, Schedule, ScheduleError,
};
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        origin: String,
        line: Option<u64>,
        message: String,
    },
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

/// How the timeline is placed in the run.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Simulated time of the timeline's first row (after the warm-up).
    pub at: Duration,
    /// The offered rate that maps to the scenario's own rate; `None` takes
    /// the first row's.
    pub baseline: Option<f64>,
}

/// One parsed row.
struct Row {
    line: u64,
    t: f64,
    offered: f64,
    events: Vec<String>,
}

/// Reads the time column: seconds (`12.5`), a duration (`1m30s`) or an
/// RFC 3339 timestamp (`2026-03-01T12:00:05Z`). Returns seconds, absolute
/// for timestamps (the caller subtracts the first row).
fn parse_time(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if let Ok(v) = text.parse::<f64>() {
        if v.is_finite() {
            return Ok(v);
        }
    }
    if let Ok(d) = parse_duration(text) {
        return Ok(d.as_secs_f64());
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return Ok(t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| format!("timestamp `{text}` is before 1970"))?
            .as_secs_f64());
    }
    Err(format!(
        "`{text}` is not a time: write seconds (`12.5`), a duration (`1m30s`) or an RFC 3339 timestamp (`2026-03-01T12:00:05Z`)"
    ))
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn secs(v: f64) -> Duration {
    // Schedules resolve to milliseconds; so do imported times.
    Duration::from_millis((v * 1000.0).round() as u64)
}

/// Turns a CSV timeline into a schedule for `scenario`.
pub fn import_timeline(
    text: &str,
    origin: &str,
    scenario: &dyn Scenario,
    hosts: &[String],
    placement: &Placement,
) -> Result<Schedule, ImportError> {
    import_timeline_located(text, origin, scenario, hosts, placement).map(|(s, _)| s)
}

/// Like [`import_timeline`], with the CSV line each event came from (the
/// row at its onset), so a later check of the schedule can name the line.
pub fn import_timeline_located(
    text: &str,
    origin: &str,
    scenario: &dyn Scenario,
    hosts: &[String],
    placement: &Placement,
) -> Result<(Schedule, Vec<u64>), ImportError> {
    let invalid = |line: Option<u64>, message: String| ImportError::Invalid {
        origin: origin.to_string(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| invalid(Some(1), format!("cannot read the header row: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(time_col), Some(offered_col)) = (column("time"), column("offered")) else {
        return Err(invalid(
            Some(1),
            format!(
                "the header must name the columns `time` and `offered` (and optionally `event`); found: {}",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let event_col = column("event");
    // A column this reader does not know would be dropped without a word:
    // a typo (`offerred`) or data the user expects to count.
    if let Some(extra) = headers.iter().find(|h| {
        !["time", "offered", "event"]
            .iter()
            .any(|k| h.eq_ignore_ascii_case(k))
    }) {
        return Err(invalid(
            Some(1),
            format!("unknown column `{extra}`; allowed: time, offered, event"),
        ));
    }
    let mut rows: Vec<Row> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            invalid(
                e.position().map(|p| p.line()),
                format!("not valid CSV: {e}"),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() > headers.len() {
            return Err(invalid(
                Some(line),
                format!(
                    "{} fields where the header names {} ({}); quote a field that holds a comma",
                    record.len(),
                    headers.len(),
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        let t = parse_time(field(time_col)).map_err(|m| invalid(Some(line), m))?;
        let offered = field(offered_col)
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                invalid(
                    Some(line),
                    format!(
                        "`offered` must be a rate ≥ 0 (requests/s), got `{}`",
                        field(offered_col)
                    ),
                )
            })?;
        if let Some(prev) = rows.last() {
            if t <= prev.t {
                return Err(invalid(
                    Some(line),
                    format!(
                        "time must increase from row to row; `{}` does not",
                        field(time_col)
                    ),
                ));
            }
        }
        let events = event_col
            .map(|c| {
                field(c)
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        rows.push(Row {
            line,
            t,
            offered,
            events,
        });
    }
    let Some(first) = rows.first() else {
        return Err(invalid(None, "the timeline has no rows".into()));
    };
    let t0 = first.t;
    if let Some(b) = placement.baseline.filter(|b| !(b.is_finite() && *b > 0.0)) {
        return Err(invalid(
            None,
            format!("--baseline {b}: the baseline is a rate in requests/s above 0"),
        ));
    }
    let baseline = placement.baseline.unwrap_or(first.offered);
    if baseline <= 0.0 {
        return Err(invalid(
            Some(first.line),
            "the first row's offered rate is 0: pass --baseline RATE (the rate that maps to the scenario's own)".into(),
        ));
    }
    let step = match rows.as_slice() {
        [.., a, b] => b.t - a.t,
        _ => 1.0,
    };
    let span = rows.last().map_or(0.0, |r| r.t - t0) + step;
    let room = hormesis_faults::MAX_DURATION
        .saturating_sub(placement.at)
        .as_secs_f64();
    if !(span.is_finite() && span <= room) {
        return Err(invalid(
            rows.last().map(|r| r.line),
            format!(
                "the timeline spans {span:.0}s from its first row; at most {}",
                format_duration(hormesis_faults::MAX_DURATION)
            ),
        ));
    }
    let at = |t: f64| placement.at + secs(t - t0);

    let mut points: Vec<(Duration, f64)> = Vec::new();
    for r in &rows {
        let factor = round3(r.offered / baseline);
        if factor > 1000.0 {
            return Err(invalid(
                Some(r.line),
                format!(
                    "offered {} is more than 1000× the baseline {baseline}",
                    r.offered
                ),
            ));
        }
        if points.last().map(|p| p.1) != Some(factor) {
            points.push((secs(r.t - t0), factor));
        }
    }
    let mut events = vec![Event::new(
        placement.at,
        Some(secs(span)),
        Fault::LoadProfile { points },
    )];

    let knobs = scenario.knobs();
    let default_host = hosts.first().cloned().unwrap_or_default();
    // Faults opened by one row and closed by a later one (or the end).
    let mut open_crashes: Vec<(String, f64)> = Vec::new();
    let mut open_knobs: Vec<(String, f64, f64)> = Vec::new();
    let end = t0 + span;
    let allowed = || {
        let mut names = vec![
            "node-down[:HOST]".to_string(),
            "node-up[:HOST]".into(),
            "deploy[:HOST]".into(),
        ];
        for k in &knobs {
            names.push(match k.kind {
                KnobKind::Action => k.name.clone(),
                KnobKind::Value { .. } => format!("{}=VALUE", k.name),
            });
        }
        names.push(
            "an inline fault without `at` (e.g. `latency:for=10s,host=server,delay=200ms`)".into(),
        );
        names.join(", ")
    };
    for r in &rows {
        for annotation in &r.events {
            let (name, host) = match annotation.split_once(':') {
                Some((n, h)) if !h.contains('=') => (n, Some(h.to_string())),
                _ => (annotation.as_str(), None),
            };
            let host = host.unwrap_or_else(|| default_host.clone());
            let close_crash = |open: &mut Vec<(String, f64)>, events: &mut Vec<Event>, t: f64| {
                if let Some(i) = open.iter().position(|(h, _)| *h == host) {
                    let (h, start) = open.remove(i);
                    events.push(Event::new(
                        at(start),
                        Some(secs(t - start)),
                        Fault::Crash { host: h },
                    ));
                    true
                } else {
                    false
                }
            };
            match name {
                "node-down" => {
                    if open_crashes.iter().any(|(h, _)| *h == host) {
                        return Err(invalid(
                            Some(r.line),
                            format!("`{annotation}`: `{host}` is already down (a `node-down` without `node-up` before it)"),
                        ));
                    }
                    open_crashes.push((host.clone(), r.t));
                }
                "node-up" => {
                    if !close_crash(&mut open_crashes, &mut events, r.t) {
                        return Err(invalid(
                            Some(r.line),
                            format!("`{annotation}` without an earlier `node-down` of `{host}`"),
                        ));
                    }
                }
                "deploy" => events.push(Event::new(at(r.t), None, Fault::Crash { host })),
                _ => {
                    if let Some(k) = knobs.iter().find(|k| k.name == annotation.as_str()) {
                        if k.kind != KnobKind::Action {
                            return Err(invalid(
                                Some(r.line),
                                format!(
                                    "knob `{}` takes a value: write `{}=VALUE`",
                                    k.name, k.name
                                ),
                            ));
                        }
                        events.push(Event::new(
                            at(r.t),
                            None,
                            Fault::Knob {
                                knob: k.name.clone(),
                                value: None,
                            },
                        ));
                    } else if let Some((knob, value)) =
                        annotation.split_once('=').filter(|(k, _)| !k.contains(':'))
                    {
                        let Some(KnobKind::Value { default, .. }) = knobs
                            .iter()
                            .find(|k| k.name == knob.trim())
                            .map(|k| &k.kind)
                        else {
                            return Err(invalid(
                                Some(r.line),
                                format!("unknown event `{annotation}`; allowed: {}", allowed()),
                            ));
                        };
                        let value: f64 = value.trim().parse().map_err(|_| {
                            invalid(
                                Some(r.line),
                                format!("`{annotation}`: the value is not a number"),
                            )
                        })?;
                        let knob = knob.trim().to_string();
                        if let Some(i) = open_knobs.iter().position(|(k, _, _)| *k == knob) {
                            let (k, start, v) = open_knobs.remove(i);
                            events.push(Event::new(
                                at(start),
                                Some(secs(r.t - start)),
                                Fault::Knob {
                                    knob: k,
                                    value: Some(v),
                                },
                            ));
                        }
                        if value != *default {
                            open_knobs.push((knob, r.t, value));
                        }
                    } else if annotation.contains(':') {
                        let spec = format!(
                            "{}{}at={}",
                            annotation,
                            if annotation.ends_with(':') { "" } else { "," },
                            format_duration(at(r.t))
                        );
                        let event = Event::from_spec(&spec).map_err(|e| {
                            invalid(Some(r.line), format!("event `{annotation}`: {e}"))
                        })?;
                        events.push(event);
                    } else {
                        return Err(invalid(
                            Some(r.line),
                            format!("unknown event `{annotation}`; allowed: {}", allowed()),
                        ));
                    }
                }
            }
        }
    }
    for (host, start) in open_crashes {
        events.push(Event::new(
            at(start),
            Some(secs(end - start)),
            Fault::Crash { host },
        ));
    }
    for (knob, start, value) in open_knobs {
        events.push(Event::new(
            at(start),
            Some(secs(end - start)),
            Fault::Knob {
                knob,
                value: Some(value),
            },
        ));
    }
    let event_lines = events
        .iter()
        .map(|e| {
            rows.iter()
                .find(|r| at(r.t) == e.at)
                .map_or(first.line, |r| r.line)
        })
        .collect();
    Ok((Schedule::new(events), event_lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::RetryStorm;

    fn import(csv: &str) -> Result<Schedule, ImportError> {
        import_timeline(
            csv,
            "t.csv",
            &RetryStorm,
            &["server".to_string()],
            &Placement {
                at: Duration::from_secs(30),
                baseline: None,
            },
        )
    }

    fn specs(s: &Schedule) -> Vec<String> {
        s.events.iter().map(Event::to_spec).collect()
    }

    #[test]
    fn the_curve_becomes_a_load_profile_relative_to_the_first_row() {
        let s = import(
            "time,offered,event\n0,100,\n10,100,\n20,250,node-down\n30,250,service-time=80\n40,100,node-up;queue-flush\n50,100,\n",
        )
        .unwrap();
        assert_eq!(
            specs(&s),
            [
                "load-profile:at=30s,for=60s,points=0s+1|20s+2.5|40s+1",
                "crash:at=50s,for=20s,host=server",
                "knob:at=70s,knob=queue-flush",
                "knob:at=60s,for=30s,knob=service-time,value=80",
            ]
        );
    }

    #[test]
    fn timestamps_and_inline_faults_are_accepted() {
        let s = import(
            "time,offered,event\n2026-03-01T12:00:00Z,50,\n2026-03-01T12:00:05Z,60,\"latency:for=3s,host=server,delay=200ms\"\n",
        )
        .unwrap();
        assert_eq!(
            specs(&s),
            [
                "load-profile:at=30s,for=10s,points=0s+1|5s+1.2",
                "latency:at=35s,for=3s,host=server,delay=200ms",
            ]
        );
    }

    #[test]
    fn bad_rows_name_their_line_and_what_is_allowed() {
        for (csv, needle) in [
            (
                "when,rate\n0,1\n",
                "must name the columns `time` and `offered`",
            ),
            (
                "time,offered\n0,10\n5,x\n",
                "t.csv:3: `offered` must be a rate",
            ),
            ("time,offered\n0,10\n0,10\n", "t.csv:3: time must increase"),
            ("time,offered\nsoon,10\n", "t.csv:2: `soon` is not a time"),
            (
                "time,offered,event\n0,10,meteor\n",
                "t.csv:2: unknown event `meteor`; allowed: node-down",
            ),
            (
                "time,offered,event\n0,10,node-up\n",
                "without an earlier `node-down`",
            ),
            ("time,offered,event\n0,10,service-time\n", "takes a value"),
            ("time,offered\n", "no rows"),
            ("time,offered\n0,0\n", "--baseline"),
        ] {
            let e = import(csv).unwrap_err().to_string();
            assert!(e.contains(needle), "expected `{needle}` in: {e}");
        }
    }
}
