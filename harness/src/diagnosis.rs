//! Why a run stays down: the feedback loop that kept goodput low after the
//! trigger was gone, named with the evidence that shows it.
//!
//! The diagnosis reads the last half of the watch (from `t_e + H/2` to
//! `t_e + H`), where a transient has drained and only what sustains itself
//! is left, against the control over the same windows. It reads what the
//! system exports: each gauge's meaning comes from its name
//! ([`GaugeMeaning::of`]: `PLACE_queue_depth`, `PLACE_cache_hits`, …), and
//! the client-side figures every run has (attempts per request, timeouts,
//! errors) give a generic fallback for a system that exports nothing.
//!
//! Loops are tried from the most specific to the most generic; each one
//! whose evidence holds is listed, and the first is the run's
//! *mechanism*: a cold cache explains the retries its misses cause, not
//! the other way round. The mechanism and its place (where the loop lives:
//! the service whose gauges carry it) identify a failure mode for
//! [`triage`](crate::triage), whatever fault spelling tipped it.

use crate::run::RunReport;
use crate::stress::counters_as_rates;
use crate::timeline::Window;
use serde::Serialize;
use std::collections::BTreeMap;

/// The thresholds that decide when a figure counts as evidence, in one
/// place. They are ratios to the control, so they do not depend on a
/// system's scale.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A gauge is *raised* when its mean exceeds the control's by this
    /// factor (plus one, so a gauge idle in the control needs more than
    /// a blip).
    pub raised: f64,
    /// A rate or ratio has *fallen* when it is below this share of the
    /// control's.
    pub fallen: f64,
    /// A backlogged pool whose served rate is below this share of the
    /// control's has slowed under its own load.
    pub slowed: f64,
    /// Attempts per request at least this many times the control's is
    /// retry amplification.
    pub amplification: f64,
    /// A backlog that still grows by this factor from the first to the
    /// second half of the window read, while arrivals are the control's,
    /// is a system that serves less than it did.
    pub growth: f64,
    /// Timeouts or errors count once they are this share of the offered
    /// requests.
    pub failure_share: f64,
}

/// The thresholds the harness uses.
pub const THRESHOLDS: Thresholds = Thresholds {
    raised: 3.0,
    fallen: 0.5,
    slowed: 0.75,
    amplification: 1.5,
    growth: 1.2,
    failure_share: 0.1,
};

/// What an exported gauge measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Meaning {
    /// Work waiting for a worker.
    QueueDepth,
    /// Requests served (a counter).
    Served,
    /// Cache hits and misses (counters).
    CacheHits,
    CacheMisses,
    /// Requests waiting for a thread of their own.
    WaitingForThread,
    /// Credential refreshes and failed refreshes (counters).
    Refreshes,
    RefreshFailures,
    /// Connections opened (a counter).
    Connects,
    /// A caller's attempts at its dependencies (a counter).
    CallerAttempts,
}

/// One gauge's meaning and the place (service) it belongs to; `""` for a
/// gauge named without a place, which belongs to the system's only service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaugeMeaning {
    pub meaning: Meaning,
    pub place: String,
}

/// Gauge-name endings and what they mean, longest first so that
/// `refresh_failures` is not read as `…failures`.
const SUFFIXES: [(&str, Meaning); 10] = [
    ("waiting_for_thread", Meaning::WaitingForThread),
    ("refresh_failures", Meaning::RefreshFailures),
    ("queue_depth", Meaning::QueueDepth),
    ("cache_misses", Meaning::CacheMisses),
    ("cache_hits", Meaning::CacheHits),
    ("refreshes", Meaning::Refreshes),
    ("attempts", Meaning::CallerAttempts),
    ("connects", Meaning::Connects),
    ("served", Meaning::Served),
    ("queue", Meaning::QueueDepth),
];

impl GaugeMeaning {
    /// The meaning a gauge's name declares: `PLACE_METRIC` or `METRIC`,
    /// where METRIC is one of `queue_depth`, `queue`, `served`,
    /// `cache_hits`, `cache_misses`, `waiting_for_thread`, `refreshes`,
    /// `refresh_failures`, `connects`, `attempts`. Aggregates over places
    /// (`max_…`, `total_…`) and other names mean nothing here.
    pub fn of(name: &str) -> Option<GaugeMeaning> {
        let (suffix, meaning) = SUFFIXES.iter().find(|(s, _)| name.ends_with(s))?;
        let prefix = &name[..name.len() - suffix.len()];
        // `foo_requeue` is not a queue: the ending must be a whole word.
        let place = match prefix.strip_suffix('_') {
            Some(place) => place,
            None if prefix.is_empty() => "",
            None => return None,
        };
        if matches!(place, "max" | "total" | "min") {
            return None;
        }
        Some(GaugeMeaning {
            meaning: *meaning,
            place: place.replace('_', "-"),
        })
    }
}

/// One loop the run showed, with what shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loop {
    /// `token-herd`, `cache-refill`, `thread-exhaustion`,
    /// `memory-pressure`, `retry-amplification`, `connection-churn`,
    /// `backlog`, `sustained-timeouts`, `sustained-errors`.
    pub mechanism: &'static str,
    /// Where it lives: the service whose gauges carry it; `""` when no
    /// gauge places it.
    pub place: String,
    /// The figures that show it, against the control's.
    pub evidence: String,
    /// The gauges that carry it (for the report's timeline).
    pub gauges: Vec<String>,
}

/// Every loop a run showed after its trigger; the first is its mechanism.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// The first loop's mechanism, `unexplained` when none showed.
    pub mechanism: String,
    /// The first loop's place.
    pub place: String,
    pub loops: Vec<Loop>,
}

impl Loop {
    /// `mechanism@place`, as [`Diagnosis::key`].
    pub fn key(&self) -> String {
        key(self.mechanism, &self.place)
    }
}

impl Diagnosis {
    /// `mechanism@place`, or the mechanism alone when it has no place: the
    /// key triage groups failure modes by.
    pub fn key(&self) -> String {
        key(&self.mechanism, &self.place)
    }
}

/// `mechanism@place`, or `mechanism` when the place is empty.
pub fn key(mechanism: &str, place: &str) -> String {
    if place.is_empty() {
        mechanism.to_string()
    } else {
        format!("{mechanism}@{place}")
    }
}

/// The diagnosis of `report`; `None` for a run without a control (no
/// faults) or without windows after its trigger.
pub fn diagnose(report: &RunReport) -> Option<Diagnosis> {
    let control = report.control.as_ref()?;
    let v = &report.verdict;
    let (run, calm) = counters_as_rates(&report.windows, &control.windows);
    let from = v.trigger_end_s + v.horizon_s / 2.0;
    let to = v.trigger_end_s + v.horizon_s;
    let late = |ws: &[Window]| -> Vec<Window> {
        ws.iter()
            .filter(|w| w.t_s >= from && w.t_s < to)
            .cloned()
            .collect()
    };
    let (run, calm) = (late(&run), late(&calm));
    if run.is_empty() || calm.is_empty() {
        return None;
    }
    Some(diagnose_windows(&run, &calm, &THRESHOLDS))
}

fn mean(ws: &[Window], f: impl Fn(&Window) -> f64) -> f64 {
    if ws.is_empty() {
        return 0.0;
    }
    ws.iter().map(f).sum::<f64>() / ws.len() as f64
}

fn gauge(name: &str) -> impl Fn(&Window) -> f64 + '_ {
    move |w| w.gauges.get(name).copied().unwrap_or(0.0)
}

/// How many of a window's requests failed one way.
type Count = fn(&Window) -> f64;

/// Per place, the gauges of each meaning it exports.
type Places = BTreeMap<String, BTreeMap<Meaning, String>>;

/// A raised queue: its place, gauge, depth and the control's depth.
struct Backlog<'a> {
    place: &'a String,
    name: &'a String,
    depth: f64,
    normal: f64,
}

/// The diagnosis of `run` against `calm`, the same windows of the control,
/// counters already read as rates. Pure: what [`diagnose`] does once it
/// has picked the windows.
///
/// The order is causal, most specific first: a loop that can produce
/// another's evidence comes before it. A pool serving less than its
/// control under a backlog comes before a cold cache, because a slowed
/// dependency fails the fills that would warm the cache (a cold cache
/// makes its dependency serve *more*, not less); a cold cache comes before
/// the retries its misses cause; every named loop comes before the bare
/// backlog and the generic failure shares.
pub fn diagnose_windows(run: &[Window], calm: &[Window], t: &Thresholds) -> Diagnosis {
    let r = Reading::new(run, calm, t);
    let backlogs = r.backlogs();
    let (slowed, growing) = r.slowdowns(&backlogs);
    let mut loops = r.token_herds();
    loops.extend(r.thread_exhaustion());
    loops.extend(slowed);
    loops.extend(r.cold_caches());
    loops.extend(growing);
    loops.extend(r.retry_amplification(&backlogs));
    loops.extend(r.connection_churn());
    loops.extend(backlogs.iter().map(|b| Loop {
        mechanism: "backlog",
        place: b.place.clone(),
        evidence: b.shown(),
        gauges: vec![b.name.clone()],
    }));
    loops.extend(r.sustained_failures());
    let (mechanism, place) = loops
        .first()
        .map_or(("unexplained".to_string(), String::new()), |l| {
            (l.mechanism.to_string(), l.place.clone())
        });
    Diagnosis {
        mechanism,
        place,
        loops,
    }
}

impl Backlog<'_> {
    fn shown(&self) -> String {
        format!(
            "queue at {}: depth {:.0} (control {:.0})",
            shown(self.place),
            self.depth,
            self.normal
        )
    }
}

fn per_s(x: f64) -> String {
    format!("{x:.1}/s")
}

fn found(mechanism: &'static str, place: &str, evidence: String, gauges: &[&String]) -> Loop {
    Loop {
        mechanism,
        place: place.to_string(),
        evidence,
        gauges: gauges.iter().map(|g| (*g).clone()).collect(),
    }
}

/// The windows read, the thresholds, and what the system's gauges mean.
struct Reading<'a> {
    run: &'a [Window],
    calm: &'a [Window],
    t: &'a Thresholds,
    places: Places,
}

impl<'a> Reading<'a> {
    fn new(run: &'a [Window], calm: &'a [Window], t: &'a Thresholds) -> Self {
        let mut places: Places = BTreeMap::new();
        if let Some(first) = run.first() {
            for name in first.gauges.keys() {
                if let Some(g) = GaugeMeaning::of(name) {
                    places
                        .entry(g.place)
                        .or_default()
                        .insert(g.meaning, name.clone());
                }
            }
        }
        Reading {
            run,
            calm,
            t,
            places,
        }
    }

    fn raised(&self, x: f64, normal: f64) -> bool {
        x > self.t.raised * normal + 1.0
    }

    /// A gauge's mean in the run and in the control.
    fn both(&self, name: &str) -> (f64, f64) {
        (mean(self.run, gauge(name)), mean(self.calm, gauge(name)))
    }

    /// Each place's gauge of one meaning.
    fn each(&self, meaning: Meaning) -> impl Iterator<Item = (&String, &String)> {
        self.places
            .iter()
            .filter_map(move |(place, gauges)| Some((place, gauges.get(&meaning)?)))
    }

    fn offered(&self) -> f64 {
        mean(self.run, |w| w.offered as f64).max(1e-9)
    }

    fn goodput_share(&self) -> f64 {
        mean(self.run, |w| w.goodput as f64) / mean(self.calm, |w| w.goodput as f64).max(1e-9)
    }

    /// Client attempts per offered request in the run and the control.
    fn attempts_per_request(&self) -> (f64, f64) {
        let per = |ws: &[Window]| {
            let o = mean(ws, |w| w.offered as f64);
            if o > 0.0 {
                mean(ws, |w| w.attempts as f64) / o
            } else {
                0.0
            }
        };
        (per(self.run), per(self.calm))
    }

    fn amplified(&self) -> bool {
        let (amp, calm_amp) = self.attempts_per_request();
        amp >= self.t.amplification * calm_amp.max(1.0)
    }

    fn token_herds(&self) -> Vec<Loop> {
        let mut loops = Vec::new();
        for (place, gauges) in &self.places {
            let refresh = [Meaning::RefreshFailures, Meaning::Refreshes]
                .iter()
                .filter_map(|m| gauges.get(m))
                .find(|name| {
                    let (x, normal) = self.both(name);
                    self.raised(x, normal)
                });
            if let Some(name) = refresh {
                let (x, normal) = self.both(name);
                loops.push(found(
                    "token-herd",
                    place,
                    format!("{name}: {} (control {})", per_s(x), per_s(normal)),
                    &[name],
                ));
            }
        }
        loops
    }

    fn cold_caches(&self) -> Vec<Loop> {
        let mut loops = Vec::new();
        for (place, gauges) in &self.places {
            let (Some(h), Some(m)) = (
                gauges.get(&Meaning::CacheHits),
                gauges.get(&Meaning::CacheMisses),
            ) else {
                continue;
            };
            let ratio = |ws: &[Window]| {
                let (hits, misses) = (mean(ws, gauge(h)), mean(ws, gauge(m)));
                if hits + misses > 0.0 {
                    hits / (hits + misses)
                } else {
                    0.0
                }
            };
            // The miss load is what the dependency sees: a cache is cold
            // when its hit rate is below the control's and its misses put
            // as much more load on the dependency as retries would have to
            // (the amplification threshold). Not `raised`: misses cannot
            // exceed requests, so a cache that misses a third of its
            // requests when warm could never triple them.
            let (x, normal) = (ratio(self.run), ratio(self.calm));
            let (misses, calm_misses) = self.both(m);
            if x < normal
                && misses >= self.t.amplification * calm_misses
                && misses > calm_misses + 1.0
            {
                loops.push(found(
                    "cache-refill",
                    place,
                    format!(
                        "cache: hit rate {:.0} % (control {:.0} %), misses {} (control {})",
                        100.0 * x,
                        100.0 * normal,
                        per_s(misses),
                        per_s(calm_misses)
                    ),
                    &[h, m],
                ));
            }
        }
        loops
    }

    /// A loop shown by one raised gauge: each place whose gauge of
    /// `meaning` is raised, with `evidence(run, control)`.
    fn raised_gauges(
        &self,
        meaning: Meaning,
        mechanism: &'static str,
        evidence: impl Fn(f64, f64) -> String,
    ) -> Vec<Loop> {
        self.each(meaning)
            .filter_map(|(place, name)| {
                let (x, normal) = self.both(name);
                self.raised(x, normal)
                    .then(|| found(mechanism, place, evidence(x, normal), &[name]))
            })
            .collect()
    }

    fn thread_exhaustion(&self) -> Vec<Loop> {
        self.raised_gauges(
            Meaning::WaitingForThread,
            "thread-exhaustion",
            |x, normal| format!("{x:.0} requests waiting for a thread (control {normal:.0})"),
        )
    }

    /// Raised queues, the largest against its control first.
    fn backlogs(&self) -> Vec<Backlog<'_>> {
        let mut backlogs: Vec<Backlog> = self
            .each(Meaning::QueueDepth)
            .filter_map(|(place, name)| {
                let (depth, normal) = self.both(name);
                self.raised(depth, normal).then_some(Backlog {
                    place,
                    name,
                    depth,
                    normal,
                })
            })
            .collect();
        backlogs
            .sort_by(|a, b| (b.depth / (b.normal + 1.0)).total_cmp(&(a.depth / (a.normal + 1.0))));
        backlogs
    }

    /// Backlogged pools that serve less than they did: those whose served
    /// rate shows it, and (without a served gauge, and without retries to
    /// explain it) those whose backlog still grows on the control's
    /// arrivals.
    fn slowdowns(&self, backlogs: &[Backlog]) -> (Vec<Loop>, Vec<Loop>) {
        let (mut slowed, mut growing) = (Vec::new(), Vec::new());
        for b in backlogs {
            match self.places[b.place].get(&Meaning::Served) {
                Some(s) => {
                    let (rate, normal_rate) = self.both(s);
                    if rate < self.t.slowed * normal_rate {
                        slowed.push(found(
                            "memory-pressure",
                            b.place,
                            format!(
                                "{}, served {} (control {})",
                                b.shown(),
                                per_s(rate),
                                per_s(normal_rate)
                            ),
                            &[b.name, s],
                        ));
                    }
                }
                None if !self.amplified() => {
                    let half = self.run.len() / 2;
                    let (early, later) = (
                        mean(&self.run[..half], gauge(b.name)),
                        mean(&self.run[half..], gauge(b.name)),
                    );
                    if half > 0 && later > self.t.growth * early + 1.0 {
                        growing.push(found(
                            "memory-pressure",
                            b.place,
                            format!(
                                "{}, still growing ({early:.0} → {later:.0}) on the control's arrivals",
                                b.shown()
                            ),
                            &[b.name],
                        ));
                    }
                }
                None => {}
            }
        }
        (slowed, growing)
    }

    fn retry_amplification(&self, backlogs: &[Backlog]) -> Option<Loop> {
        let amplified = self.amplified();
        let caller_retries = self
            .each(Meaning::CallerAttempts)
            .find_map(|(place, name)| self.caller_retries(place, name));
        if !amplified && caller_retries.is_none() {
            return None;
        }
        let (amp, calm_amp) = self.attempts_per_request();
        let mut evidence = Vec::new();
        if amplified {
            evidence.push(format!(
                "retries: {amp:.1} attempts per request (control {calm_amp:.1}) while goodput stays at {:.0} %",
                100.0 * self.goodput_share()
            ));
        }
        let mut carried = Vec::new();
        if let Some((_, name, shown_retries)) = &caller_retries {
            evidence.push(shown_retries.clone());
            carried.push(*name);
        }
        let place = match backlogs.first() {
            Some(b) => {
                evidence.push(b.shown());
                carried.push(b.name);
                b.place.clone()
            }
            None => caller_retries.map(|c| c.0.clone()).unwrap_or_default(),
        };
        Some(found(
            "retry-amplification",
            &place,
            evidence.join("; "),
            &carried,
        ))
    }

    /// Whether `place`'s calls to its dependencies are amplified, and how
    /// that reads. Per request it worked on when it exports what it served
    /// (a service that works on more requests calls more, retrying or
    /// not), else as a rate. Not `raised`: a caller with two retries can
    /// at most triple its attempts.
    fn caller_retries<'p>(
        &self,
        place: &'p String,
        name: &'p String,
    ) -> Option<(&'p String, &'p String, String)> {
        let t = self.t;
        let (x, normal) = self.both(name);
        if x <= normal + 1.0 {
            return None;
        }
        match self.places[place].get(&Meaning::Served) {
            Some(served) => {
                let (worked, calm_worked) = self.both(served);
                let (per, calm_per) = (x / worked.max(1e-9), normal / calm_worked.max(1e-9));
                (worked > 0.0 && per >= t.amplification * calm_per).then(|| {
                    (
                        place,
                        name,
                        format!(
                            "{} makes {per:.1} calls per request it works on (control {calm_per:.1})",
                            shown(place)
                        ),
                    )
                })
            }
            None => (x >= t.amplification * normal.max(1e-9)).then(|| {
                (
                    place,
                    name,
                    format!(
                        "{} calls its dependencies {} (control {})",
                        shown(place),
                        per_s(x),
                        per_s(normal)
                    ),
                )
            }),
        }
    }

    fn connection_churn(&self) -> Vec<Loop> {
        self.raised_gauges(Meaning::Connects, "connection-churn", |x, normal| {
            format!(
                "connections opened {} (control {})",
                per_s(x),
                per_s(normal)
            )
        })
    }

    fn sustained_failures(&self) -> Vec<Loop> {
        let offered = self.offered();
        let calm_offered = mean(self.calm, |w| w.offered as f64).max(1e-9);
        let counts: [(&'static str, Count); 2] = [
            ("sustained-timeouts", |w| w.timeouts as f64),
            ("sustained-errors", |w| w.errors as f64),
        ];
        counts
            .into_iter()
            .filter_map(|(mechanism, count)| {
                let (x, normal) = (mean(self.run, count), mean(self.calm, count));
                (x >= self.t.failure_share * offered && self.raised(x, normal)).then(|| {
                    found(
                        mechanism,
                        "",
                        format!(
                            "{:.0} % of requests (control {:.0} %) while goodput stays at {:.0} %",
                            100.0 * x / offered,
                            100.0 * normal / calm_offered,
                            100.0 * self.goodput_share()
                        ),
                        &[],
                    )
                })
            })
            .collect()
    }
}

fn shown(place: &str) -> &str {
    if place.is_empty() {
        "the service"
    } else {
        place
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(offered: u64, attempts: u64, goodput: u64, gauges: &[(&str, f64)]) -> Window {
        Window {
            t_s: 0.0,
            offered,
            attempts,
            goodput,
            errors: 0,
            timeouts: offered - goodput,
            p50_ms: None,
            p99_ms: None,
            gauges: gauges.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn calm(gauges: &[(&str, f64)]) -> Vec<Window> {
        vec![window(100, 100, 100, gauges); 10]
    }

    fn diagnose(run: Vec<Window>, calm: Vec<Window>) -> Diagnosis {
        diagnose_windows(&run, &calm, &THRESHOLDS)
    }

    #[test]
    fn names_declare_meanings_and_places() {
        let g = GaugeMeaning::of("back_queue_depth").unwrap();
        assert_eq!((g.meaning, g.place.as_str()), (Meaning::QueueDepth, "back"));
        let g = GaugeMeaning::of("replica_1_queue").unwrap();
        assert_eq!(
            (g.meaning, g.place.as_str()),
            (Meaning::QueueDepth, "replica-1")
        );
        let g = GaugeMeaning::of("queue_depth").unwrap();
        assert_eq!((g.meaning, g.place.as_str()), (Meaning::QueueDepth, ""));
        let g = GaugeMeaning::of("auth_refresh_failures").unwrap();
        assert_eq!(g.meaning, Meaning::RefreshFailures);
        assert_eq!(GaugeMeaning::of("max_queue_depth"), None);
        assert_eq!(GaugeMeaning::of("requeue"), None);
        assert_eq!(GaugeMeaning::of("degrade_level"), None);
    }

    #[test]
    fn retries_on_a_backlog_are_retry_amplification_at_the_queue() {
        let run = vec![window(100, 400, 3, &[("queue_depth", 3100.0)]); 10];
        let d = diagnose(run, calm(&[("queue_depth", 12.0)]));
        assert_eq!(d.key(), "retry-amplification");
        assert!(
            d.loops[0].evidence.contains("4.0 attempts per request"),
            "{d:?}"
        );
        assert!(d.loops.iter().any(|l| l.mechanism == "backlog"));
    }

    #[test]
    fn a_cold_cache_comes_before_the_retries_its_misses_cause() {
        let g = |hits, misses| {
            [
                ("cache_hits", hits),
                ("cache_misses", misses),
                ("db_queue_depth", 300.0),
            ]
        };
        let run = vec![window(100, 200, 5, &g(2.0, 98.0)); 10];
        let d = diagnose(
            run,
            calm(&[
                ("cache_hits", 90.0),
                ("cache_misses", 10.0),
                ("db_queue_depth", 1.0),
            ]),
        );
        assert_eq!(d.mechanism, "cache-refill");
        assert!(d
            .loops
            .iter()
            .any(|l| l.mechanism == "retry-amplification" && l.place == "db"));
    }

    #[test]
    fn a_cache_that_misses_much_when_warm_is_cold_at_less_than_triple_its_misses() {
        // 40 % misses when warm can never triple; 1.7× its misses with the
        // hit rate down is a cold cache.
        let g = |hits, misses| [("cache_hits", hits), ("cache_misses", misses)];
        let run = vec![window(100, 100, 50, &g(32.0, 68.0)); 10];
        let d = diagnose(run, calm(&g(60.0, 40.0)));
        assert_eq!(d.mechanism, "cache-refill", "{d:?}");
        // The same misses with the hit rate where it was: more traffic, not
        // a colder cache.
        let run = vec![window(100, 100, 50, &g(102.0, 68.0)); 10];
        let d = diagnose(run, calm(&g(60.0, 40.0)));
        assert_ne!(d.mechanism, "cache-refill", "{d:?}");
    }

    #[test]
    fn a_slowed_dependency_comes_before_the_cold_cache_it_causes() {
        // The dependency serves less than its control under a backlog: its
        // slowdown fails the fills, so the cache is cold because of it.
        let g = |hits, misses, queue, served| {
            [
                ("edge_cache_hits", hits),
                ("edge_cache_misses", misses),
                ("cart_queue", queue),
                ("cart_served", served),
            ]
        };
        let run = vec![window(100, 150, 40, &g(20.0, 50.0, 1200.0, 12.0)); 10];
        let d = diagnose(run, calm(&g(30.0, 20.0, 0.0, 20.0)));
        assert_eq!(d.key(), "memory-pressure@cart", "{d:?}");
        assert!(d.loops.iter().any(|l| l.key() == "cache-refill@edge"));
    }

    #[test]
    fn a_caller_that_calls_more_because_it_works_more_is_not_retrying() {
        let g = |attempts, served, queue| {
            [
                ("gateway_attempts", attempts),
                ("gateway_served", served),
                ("cart_queue", queue),
            ]
        };
        // Twice the calls for twice the work: one call per request, as in
        // the control.
        let run = vec![window(100, 100, 10, &g(200.0, 200.0, 900.0)); 10];
        let d = diagnose(run.clone(), calm(&g(100.0, 100.0, 0.0)));
        assert_eq!(d.key(), "backlog@cart", "{d:?}");
        // Twice the calls for the same work: each call tried twice.
        let run = vec![window(100, 100, 10, &g(200.0, 100.0, 900.0)); 10];
        let d = diagnose(run, calm(&g(100.0, 100.0, 0.0)));
        assert_eq!(d.key(), "retry-amplification@cart", "{d:?}");
        assert!(
            d.loops[0].evidence.contains("2.0 calls per request"),
            "{d:?}"
        );
    }

    #[test]
    fn a_backlog_that_grows_without_retries_is_a_slowdown() {
        let run: Vec<Window> = (0..10)
            .map(|i| window(100, 100, 0, &[("queue_depth", 500.0 + 200.0 * i as f64)]))
            .collect();
        let d = diagnose(run, calm(&[("queue_depth", 3.0)]));
        assert_eq!(d.mechanism, "memory-pressure", "{d:?}");
        // A steady backlog with the same arrivals is only a backlog.
        let run = vec![window(100, 100, 0, &[("queue_depth", 500.0)]); 10];
        assert_eq!(
            diagnose(run, calm(&[("queue_depth", 3.0)])).mechanism,
            "backlog"
        );
    }

    #[test]
    fn a_pool_serving_less_than_its_control_is_a_slowdown() {
        let run = vec![window(100, 150, 0, &[("api_queue", 900.0), ("api_served", 40.0)]); 10];
        let d = diagnose(run, calm(&[("api_queue", 2.0), ("api_served", 100.0)]));
        assert_eq!(d.key(), "memory-pressure@api");
    }

    #[test]
    fn token_herd_and_thread_exhaustion_are_named_where_they_live() {
        let run = vec![
            window(
                100,
                100,
                10,
                &[("auth_refreshes", 80.0), ("auth_queue", 50.0)]
            );
            10
        ];
        let d = diagnose(run, calm(&[("auth_refreshes", 1.0), ("auth_queue", 0.0)]));
        assert_eq!(d.key(), "token-herd@auth");
        let run = vec![window(100, 100, 10, &[("front_waiting_for_thread", 400.0)]); 10];
        let d = diagnose(run, calm(&[("front_waiting_for_thread", 0.0)]));
        assert_eq!(d.key(), "thread-exhaustion@front");
    }

    #[test]
    fn a_system_that_exports_nothing_gets_the_generic_reading() {
        let run = vec![window(100, 100, 5, &[]); 10];
        let d = diagnose(run, calm(&[]));
        assert_eq!(d.mechanism, "sustained-timeouts");
        assert!(d.loops[0].evidence.starts_with("95 %"), "{d:?}");
        // A run that looks like its control shows no loop.
        assert_eq!(diagnose(calm(&[]), calm(&[])).mechanism, "unexplained");
    }
}
