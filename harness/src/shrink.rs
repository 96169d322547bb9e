//! Shrinking an incident to the smallest trigger that still tips the
//! system: drop events (delta debugging), then bisect each event's duration
//! and magnitude, then move onsets as late as the trigger's end allows.
//!
//! Every candidate is a full run with its control on the incident's seed, so
//! the result is deterministic: the same incident shrinks to the same
//! schedule. Bisection assumes that a longer or stronger fault tips the
//! system at least as surely as a shorter or weaker one, which is what the
//! measured tipping boundaries show; where that does not hold, the result
//! is still a schedule that was seen to tip the system, only not the least.

use crate::incident::{incident_id, Incident, IncidentError};
use crate::registry::Registry;
use crate::run::{self, RunPlan, RunReport};
use crate::verdict::Class;
use hormesis_faults::{format_duration, Event, Fault, KnobKind, Schedule};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    #[error(transparent)]
    Incident(#[from] IncidentError),
    #[error("{0}")]
    Run(String),
    #[error("{origin}: the incident is {got} on this build: there is no failure to shrink (seed {seed})")]
    NotMetastable {
        origin: String,
        got: String,
        seed: u64,
    },
}

/// The result: the smallest schedule found and its run.
pub struct Shrunk {
    pub incident: Incident,
    pub runs: usize,
}

/// How [`shrink_with`] judges a candidate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShrinkOptions {
    /// A candidate on turmoil counts as tipping only if it also tips at a
    /// fifth of the step, so the shrink stops where the finding would
    /// become an artifact of the coarse step (`--check-fidelity`). Each
    /// tipping candidate then costs a second, finer run.
    pub check_fidelity: bool,
}

struct Shrinker<'a> {
    incident: &'a Incident,
    base: RunPlan<'static>,
    options: ShrinkOptions,
    knob_defaults: BTreeMap<String, f64>,
    cache: BTreeMap<Vec<String>, Option<RunReport>>,
    runs: usize,
    /// Once true, no candidate is simulated: each counts as not tipping,
    /// so the shrink ends on the smallest schedule it has seen tip.
    stop: &'a (dyn Fn() -> bool + Sync),
    say: &'a mut dyn FnMut(&str),
}

fn specs(s: &Schedule) -> Vec<String> {
    s.events.iter().map(Event::to_spec).collect()
}

/// Rounds `x` to the grid of `step`.
fn on_grid(x: f64, step: f64) -> f64 {
    (x / step).round() * step
}

impl Shrinker<'_> {
    /// The report when `schedule` is valid and tips the system.
    fn tips(&mut self, schedule: &Schedule) -> Option<RunReport> {
        let key = specs(schedule);
        if let Some(cached) = self.cache.get(&key) {
            return cached.clone();
        }
        // The incident's own schedule is always run: it is what the
        // shrink starts from, not a candidate.
        if !self.cache.is_empty() && (self.stop)() {
            return None;
        }
        let target = run::target(self.base.scenario, &self.base.params, &self.layout());
        let result = if schedule.is_empty() || schedule.check(&target, "shrink", None).is_err() {
            None
        } else {
            let plan = RunPlan {
                scenario: self.base.scenario,
                params: self.base.params.clone(),
                schedule: schedule.clone(),
                seed: self.base.seed,
                engine: self.base.engine,
                tick: self.base.tick,
            };
            match run::run(&plan) {
                Ok(r) => {
                    self.runs += 1;
                    let tipped = r.verdict.class == Class::Metastable && r.failures.is_empty();
                    (tipped && self.holds_at_a_finer_step(&plan)).then_some(r)
                }
                // The first fault too early for a baseline, and the like.
                Err(_) => None,
            }
        };
        self.cache.insert(key, result.clone());
        result
    }

    /// With `check_fidelity` on turmoil: whether `plan` also tips at a
    /// fifth of its step; otherwise true.
    fn holds_at_a_finer_step(&mut self, plan: &RunPlan<'_>) -> bool {
        if !self.options.check_fidelity || plan.engine != crate::engine::EngineKind::Turmoil {
            return true;
        }
        let Ok(finer) = plan.finer(5) else {
            return false;
        };
        self.runs += 1;
        run::run(&finer)
            .is_ok_and(|r| r.verdict.class == Class::Metastable && r.failures.is_empty())
    }

    fn layout(&self) -> crate::scenario::Layout {
        self.base
            .scenario
            .build(&self.base.params)
            .map(|s| s.layout().clone())
            .expect("the incident's plan built once already")
    }

    /// Whether `candidate` still tips the system; prints the step either way.
    fn try_step(&mut self, what: &str, candidate: &Schedule) -> bool {
        let kept = self.tips(candidate).is_some();
        self.report(what, candidate, kept);
        kept
    }

    fn report(&mut self, what: &str, schedule: &Schedule, kept: bool) {
        let verdict = if kept { "still metastable" } else { "recovers" };
        (self.say)(&format!(
            "  {what}: {verdict}{}",
            if kept {
                format!(" -> {}", specs(schedule).join(" "))
            } else {
                String::new()
            }
        ));
    }

    /// Delta debugging over events: remove chunks, halving their size.
    fn drop_events(&mut self, mut s: Schedule) -> Schedule {
        let mut chunk = s.events.len() / 2;
        while chunk >= 1 && s.events.len() > 1 {
            let mut start = 0;
            let mut removed_any = false;
            while start < s.events.len() && s.events.len() > 1 {
                let end = (start + chunk).min(s.events.len());
                let mut candidate = s.clone();
                let gone: Vec<String> = candidate
                    .events
                    .drain(start..end)
                    .map(|e| e.to_spec())
                    .collect();
                if self.try_step(&format!("drop {}", gone.join(" ")), &candidate) {
                    s = candidate;
                    removed_any = true;
                } else {
                    start = end;
                }
            }
            if !removed_any {
                chunk /= 2;
            }
        }
        s
    }

    /// The value on the dial's grid closest to `fails` that still tips
    /// the system (the smallest when `fails < tips`, the largest otherwise).
    fn bisect(&mut self, s: &Schedule, index: usize, dial: Dial<'_>) -> Schedule {
        let Dial {
            what,
            mut fails,
            mut tips,
            step,
            with,
            show,
        } = dial;
        let mut best = s.clone();
        while (tips - fails).abs() > step * 1.5 {
            let mid = on_grid((fails + tips) / 2.0, step);
            if mid == fails || mid == tips || (mid - fails).signum() != (tips - fails).signum() {
                break;
            }
            let mut candidate = best.clone();
            candidate.events[index] = with(&best.events[index], mid);
            if self.try_step(
                &format!("event {} {what} {}", index + 1, show(mid)),
                &candidate,
            ) {
                tips = mid;
                best = candidate;
            } else {
                fails = mid;
            }
        }
        best
    }

    fn shorten(&mut self, s: Schedule, index: usize) -> Schedule {
        let Some(d) = s.events[index].duration else {
            return s;
        };
        let dial = |fails: f64, tips: f64, step: f64| Dial {
            what: "for",
            fails,
            tips,
            step,
            with: &|e: &Event, v: f64| {
                Event::new(e.at, Some(Duration::from_secs_f64(v)), e.fault.clone())
            },
            show: &|v| format_duration(Duration::from_secs_f64(v)),
        };
        let secs = d.as_secs_f64();
        // 1 s steps down to 2 s, then 100 ms steps, whatever the start: a
        // 20 s trigger that tips at 1.5 s is shrunk to 1.5 s, not 2 s.
        let coarse = if secs >= 2.0 {
            self.bisect(&s, index, dial(0.0, secs, 1.0))
        } else {
            s
        };
        let d = coarse.events[index]
            .duration
            .map_or(0.0, |d| d.as_secs_f64());
        if d > 2.0 {
            return coarse;
        }
        let fails = if secs >= 2.0 { (d - 1.0).max(0.0) } else { 0.0 };
        self.bisect(&coarse, index, dial(fails, d, 0.1))
    }

    fn weaken(&mut self, s: Schedule, index: usize) -> Schedule {
        let event = s.events[index].clone();
        match &event.fault {
            Fault::LoadSpike { factor } if *factor > 1.0 => self.bisect(
                &s,
                index,
                Dial {
                    what: "factor",
                    fails: 1.0,
                    tips: *factor,
                    step: 0.1,
                    with: &|e, v| {
                        Event::new(e.at, e.duration, Fault::LoadSpike { factor: round(v) })
                    },
                    show: &|v| format!("{}", round(v)),
                },
            ),
            Fault::LoadStep { factor, steps } if *factor > 1.0 => {
                let steps = *steps;
                self.bisect(
                    &s,
                    index,
                    Dial {
                        what: "factor",
                        fails: 1.0,
                        tips: *factor,
                        step: 0.1,
                        with: &move |e, v| {
                            Event::new(
                                e.at,
                                e.duration,
                                Fault::LoadStep {
                                    factor: round(v),
                                    steps,
                                },
                            )
                        },
                        show: &|v| format!("{}", round(v)),
                    },
                )
            }
            Fault::Latency { target, delay } => {
                let ms = delay.as_secs_f64() * 1000.0;
                let target = target.clone();
                let with = move |e: &Event, v: f64| {
                    Event::new(
                        e.at,
                        e.duration,
                        Fault::Latency {
                            target: target.clone(),
                            delay: Duration::from_millis(v as u64),
                        },
                    )
                };
                let dial = |fails: f64, tips: f64, step: f64| Dial {
                    what: "delay",
                    fails,
                    tips,
                    step,
                    with: &with,
                    show: &|v| format!("{}ms", v as u64),
                };
                // 10 ms steps down to 20 ms, then 1 ms steps.
                let coarse = if ms >= 20.0 {
                    self.bisect(&s, index, dial(0.0, ms, 10.0))
                } else {
                    s
                };
                let got = match &coarse.events[index].fault {
                    Fault::Latency { delay, .. } => delay.as_secs_f64() * 1000.0,
                    _ => ms,
                };
                if got > 20.0 {
                    return coarse;
                }
                let fails = if ms >= 20.0 {
                    (got - 10.0).max(0.0)
                } else {
                    0.0
                };
                self.bisect(&coarse, index, dial(fails, got, 1.0))
            }
            Fault::Loss { target, rate } => {
                let target = target.clone();
                self.bisect(
                    &s,
                    index,
                    Dial {
                        what: "rate",
                        fails: 0.0,
                        tips: *rate,
                        step: 0.01,
                        with: &move |e, v| {
                            Event::new(
                                e.at,
                                e.duration,
                                Fault::Loss {
                                    target: target.clone(),
                                    rate: round(v),
                                },
                            )
                        },
                        show: &|v| format!("{}", round(v)),
                    },
                )
            }
            Fault::Knob {
                knob,
                value: Some(value),
            } => {
                let Some(default) = self.knob_defaults.get(knob).copied() else {
                    return s;
                };
                let knob = knob.clone();
                let span = (value - default).abs();
                if span == 0.0 {
                    return s;
                }
                // Bisect the distance from the default.
                let sign = (value - default).signum();
                self.bisect(
                    &s,
                    index,
                    Dial {
                        what: "value",
                        fails: 0.0,
                        tips: span,
                        step: (span / 100.0).max(1e-9),
                        with: &move |e, v| {
                            Event::new(
                                e.at,
                                e.duration,
                                Fault::Knob {
                                    knob: knob.clone(),
                                    value: Some(round(default + sign * v)),
                                },
                            )
                        },
                        show: &move |v| format!("{}", round(default + sign * v)),
                    },
                )
            }
            _ => s,
        }
    }

    /// Moves event `index` as late as it can go without ending after the
    /// trigger's current end.
    fn delay_onset(&mut self, s: Schedule, index: usize) -> Schedule {
        let Some(end) = s.trigger_end() else {
            return s;
        };
        let e = &s.events[index];
        let latest = end.saturating_sub(e.duration.unwrap_or_default());
        if latest <= e.at {
            return s;
        }
        // Try the latest onset first: often the order of events does not matter.
        let mut candidate = s.clone();
        candidate.events[index] = Event::new(latest, e.duration, e.fault.clone());
        if self.try_step(
            &format!("event {} at {}", index + 1, format_duration(latest)),
            &candidate,
        ) {
            return candidate;
        }
        let (tips, fails) = (e.at.as_secs_f64(), latest.as_secs_f64());
        self.bisect(
            &s,
            index,
            Dial {
                what: "at",
                fails,
                tips,
                step: 1.0,
                with: &|e, v| Event::new(Duration::from_secs_f64(v), e.duration, e.fault.clone()),
                show: &|v| format_duration(Duration::from_secs_f64(v)),
            },
        )
    }
}

/// One quantity of an event to bisect: its bounds, grid and how to set it.
struct Dial<'a> {
    what: &'a str,
    /// A value known (or assumed) not to tip the system: where to go.
    fails: f64,
    /// A value known to tip it: where to start.
    tips: f64,
    step: f64,
    with: &'a dyn Fn(&Event, f64) -> Event,
    show: &'a dyn Fn(f64) -> String,
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Shrinks `incident`, its scenario looked up in `registry`; `say`
/// receives one line per step tried.
pub fn shrink(
    registry: &Registry,
    incident: &Incident,
    command: String,
    date: String,
    say: &mut dyn FnMut(&str),
) -> Result<Shrunk, ShrinkError> {
    shrink_with(
        registry,
        incident,
        ShrinkOptions::default(),
        command,
        date,
        say,
    )
}

/// [`shrink`] with `options`.
pub fn shrink_with(
    registry: &Registry,
    incident: &Incident,
    options: ShrinkOptions,
    command: String,
    date: String,
    say: &mut dyn FnMut(&str),
) -> Result<Shrunk, ShrinkError> {
    shrink_until(registry, incident, options, &|| false, command, date, say)
}

/// [`shrink_with`] until `stop` says so: from then on no candidate is run,
/// and the result is the smallest schedule seen to tip so far (the
/// incident's own when `stop` holds from the start).
pub fn shrink_until(
    registry: &Registry,
    incident: &Incident,
    options: ShrinkOptions,
    stop: &(dyn Fn() -> bool + Sync),
    command: String,
    date: String,
    say: &mut dyn FnMut(&str),
) -> Result<Shrunk, ShrinkError> {
    let base = incident.plan(registry, &[] as &[&str])?;
    let knob_defaults = crate::run::knobs(base.scenario, &base.params)
        .into_iter()
        .filter_map(|k| match k.kind {
            KnobKind::Value { default, .. } => Some((k.name, default)),
            KnobKind::Action => None,
        })
        .collect();
    let mut shrinker = Shrinker {
        incident,
        base,
        options,
        knob_defaults,
        cache: BTreeMap::new(),
        runs: 0,
        stop,
        say,
    };
    let original = shrinker.incident.schedule.clone();
    let Some(first) = shrinker.tips(&original) else {
        // A run that tips only with a host failing on its own is a
        // different finding (a crash), not a trigger to shrink.
        let got = match run::run(&shrinker.base) {
            Ok(r) => match r.failures.first() {
                Some(f) => format!(
                    "{} only with host `{}` failing on its own at {:.1}s ({}), not a trigger",
                    r.verdict.class.name(),
                    f.host,
                    f.t_s,
                    f.message
                ),
                // Metastable at the scenario's step, yet no tip: the finer
                // step of --check-fidelity disagreed.
                None if r.verdict.class == Class::Metastable => {
                    let fine = shrinker
                        .base
                        .finer(5)
                        .ok()
                        .and_then(|p| Some((p.tick?, run::run(&p).ok()?.verdict.class)));
                    match fine {
                        Some((tick, class)) => format!(
                            "metastable only at the scenario's step ({} at a {} step, a fifth of it: a likely simulation artifact)",
                            class.name(),
                            hormesis_faults::format_duration(tick)
                        ),
                        None => "metastable only at the scenario's step".to_string(),
                    }
                }
                None => format!("{}, not metastable", r.verdict.class.name()),
            },
            Err(e) => format!("failing to run ({e})"),
        };
        return Err(ShrinkError::NotMetastable {
            origin: incident.origin().unwrap_or(&incident.id).to_string(),
            got,
            seed: incident.seed,
        });
    };
    (shrinker.say)(&format!(
        "shrinking {} ({} events, score {:.2})",
        incident.id,
        original.events.len(),
        first.verdict.score
    ));
    let mut s = shrinker.drop_events(original);
    for i in 0..s.events.len() {
        s = shrinker.shorten(s, i);
    }
    for i in 0..s.events.len() {
        s = shrinker.weaken(s, i);
    }
    for i in 0..s.events.len() {
        s = shrinker.delay_onset(s, i);
    }
    let report = shrinker
        .tips(&s)
        .ok_or_else(|| ShrinkError::Run("the shrunk schedule stopped tipping the system".into()))?;
    let mut shrunk = Incident::from_report(&report, command, date, incident.expect.clone());
    shrunk.expect = crate::incident::Expect {
        class: Some(Class::Metastable),
        ..Default::default()
    };
    shrunk.found.shrunk_from = Some(incident.id.clone());
    shrunk.id = incident_id(
        &shrunk.scenario,
        shrunk.engine,
        shrunk.seed,
        &shrunk.params,
        &shrunk.schedule,
    );
    Ok(Shrunk {
        incident: shrunk,
        runs: shrinker.runs,
    })
}
