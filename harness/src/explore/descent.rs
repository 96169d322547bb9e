//! Dose descent: below a fault that does not tip at full strength, look
//! for the dose where the system's response changes kind.
//!
//! The full-strength probes assume vulnerabilities grow with the dose. Many
//! do not: a slow link that makes calls time out builds a retry backlog,
//! while a slower one trips a keepalive or a circuit breaker and the calls
//! fail fast (the fail-slow fault tips the system, the fail-stop one is
//! handled). Such a window has no slope for stress to follow from either
//! side, but the *kind* of harm differs on its two sides
//! ([`Consequences`]). So for each template with a magnitude whose
//! full-strength probe hurt the service without tipping it:
//!
//! * while every dose tried did the same kind of harm, go down toward the
//!   template's lowest magnitude, three rungs at a time (½, ¼ and ⅛ of the
//!   way down: a decade of dose in one batch, since where a regime changes
//!   is unknown), at full duration;
//! * where two neighbouring doses did different kinds of harm, a regime
//!   changes between them: try the midpoint (at most `max_bisections`
//!   times);
//! * stop at a tip, when a dose no longer hurts with the same kind of
//!   harm and nothing is left to bisect, or after `max_rungs` doses
//!   ([`super::settings::SETTINGS`]).
//!
//! This is bisection on consequences, not on verdicts or stress (CSnake,
//! 2025, allocates its budget to faults whose consequences differ in the
//! same spirit). Pure bookkeeping: the same runs recorded give the same
//! proposals, whatever `--jobs`.

use super::settings::SETTINGS;
use crate::consequence::Consequences;
use hormesis_faults::space::Space;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
struct Rung {
    dose: f64,
    signature: Vec<String>,
    hurt: bool,
}

#[derive(Debug, Clone, Default)]
struct Ladder {
    rungs: Vec<Rung>,
    bisections: u32,
    done: bool,
}

/// The open descents, by template.
#[derive(Debug, Default)]
pub struct Descent {
    ladders: BTreeMap<usize, Ladder>,
}

/// The magnitude of `point` (its last coordinate) when `template` has one.
pub fn dose_of(space: &Space, template: usize, point: &[f64]) -> Option<f64> {
    space.templates[template]
        .magnitude
        .and_then(|_| point.last().copied())
}

impl Descent {
    /// A full-strength probe of `template` finished: a descent opens below
    /// it when the template has a magnitude and the probe hurt the service
    /// without tipping it.
    pub fn start(
        &mut self,
        space: &Space,
        template: usize,
        dose: f64,
        consequences: &Consequences,
        tipped: bool,
    ) {
        if tipped || !consequences.hurt || space.templates[template].magnitude.is_none() {
            return;
        }
        self.ladders.entry(template).or_insert_with(|| Ladder {
            rungs: vec![Rung {
                dose,
                signature: consequences.signature.clone(),
                hurt: true,
            }],
            ..Ladder::default()
        });
    }

    /// A dose a descent proposed finished.
    pub fn record(
        &mut self,
        template: usize,
        dose: f64,
        consequences: &Consequences,
        tipped: bool,
    ) {
        let Some(ladder) = self.ladders.get_mut(&template) else {
            return;
        };
        if tipped {
            ladder.done = true;
        }
        let lowest = ladder
            .rungs
            .iter()
            .map(|r| r.dose)
            .fold(f64::INFINITY, f64::min);
        if dose > lowest {
            ladder.bisections += 1;
        }
        ladder.rungs.push(Rung {
            dose,
            signature: consequences.signature.clone(),
            hurt: consequences.hurt,
        });
    }

    /// The doses to try next, as (template, magnitude), templates in order.
    pub fn next(&self, space: &Space) -> Vec<(usize, f64)> {
        let mut doses = Vec::new();
        for (&template, ladder) in &self.ladders {
            if ladder.done || ladder.rungs.len() >= SETTINGS.max_rungs {
                continue;
            }
            let Some(span) = space.templates[template].magnitude else {
                continue;
            };
            let mut rungs: Vec<&Rung> = ladder.rungs.iter().collect();
            rungs.sort_by(|a, b| b.dose.total_cmp(&a.dose));
            let fresh = |d: f64| rungs.iter().all(|r| r.dose != d);
            let change = rungs
                .windows(2)
                .find(|pair| pair[0].signature != pair[1].signature);
            match change {
                Some(pair) => {
                    let mid = span.snap((pair[0].dose + pair[1].dose) / 2.0);
                    if ladder.bisections < SETTINGS.max_bisections && fresh(mid) {
                        doses.push((template, mid));
                    }
                }
                None => {
                    let lowest = rungs[rungs.len() - 1];
                    if !lowest.hurt {
                        continue;
                    }
                    let room = SETTINGS.max_rungs - ladder.rungs.len();
                    let mut below = Vec::new();
                    for fraction in [0.5, 0.25, 0.125] {
                        let d = span.snap(span.lo + (lowest.dose - span.lo) * fraction);
                        if below.len() < room && fresh(d) && !below.contains(&d) {
                            below.push(d);
                        }
                    }
                    doses.extend(below.into_iter().map(|d| (template, d)));
                }
            }
        }
        doses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hormesis_faults::Target;
    use std::time::Duration;

    fn space() -> Space {
        let target = Target {
            hosts: vec!["server".into()],
            clients: vec!["client-1".into()],
            knobs: Vec::new(),
            latest_end: Duration::from_secs(3000),
        };
        Space::new(&target, Duration::from_secs(30))
    }

    fn template(space: &Space, name: &str) -> usize {
        space
            .templates
            .iter()
            .position(|t| t.name.starts_with(name))
            .unwrap()
    }

    fn harm(hurt: bool, signature: &[&str]) -> Consequences {
        Consequences {
            hurt,
            signature: signature.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_descent_halves_while_the_harm_keeps_its_kind_then_bisects_where_it_changes() {
        let space = space();
        let latency = template(&space, "latency host=server");
        let span = space.templates[latency].magnitude.unwrap();
        let outage = harm(true, &["errors", "goodput"]);
        let mut descent = Descent::default();
        descent.start(&space, latency, span.hi, &outage, false);
        let first = descent.next(&space);
        let down = |f: f64| span.snap(span.lo + (span.hi - span.lo) * f);
        let (half, quarter) = (down(0.5), down(0.25));
        assert_eq!(
            first,
            vec![(latency, half), (latency, quarter), (latency, down(0.125))]
        );
        // Half is still an outage of the same kind; a quarter only slows
        // the service down: a regime changes between them.
        descent.record(latency, half, &outage, false);
        descent.record(latency, quarter, &harm(false, &["queue_depth"]), false);
        descent.record(latency, down(0.125), &harm(false, &[]), false);
        let mid = span.snap((half + quarter) / 2.0);
        assert_eq!(descent.next(&space), vec![(latency, mid)]);
        descent.record(latency, mid, &harm(true, &["goodput", "timeouts"]), true);
        assert!(descent.next(&space).is_empty(), "a tip ends the descent");
    }

    #[test]
    fn no_descent_below_a_probe_that_tipped_did_no_harm_or_has_no_magnitude() {
        let space = space();
        let latency = template(&space, "latency host=server");
        let crash = template(&space, "crash host=server");
        let hi = space.templates[latency].magnitude.unwrap().hi;
        let outage = harm(true, &["goodput"]);
        let mut descent = Descent::default();
        descent.start(&space, latency, hi, &outage, true);
        descent.start(&space, crash, 0.0, &outage, false);
        assert!(descent.next(&space).is_empty());
        descent.start(&space, latency, hi, &harm(false, &[]), false);
        assert!(descent.next(&space).is_empty());
    }

    #[test]
    fn a_descent_stops_once_harmless_or_at_its_rung_limit() {
        let space = space();
        let loss = template(&space, "loss host=server");
        let span = space.templates[loss].magnitude.unwrap();
        let outage = harm(true, &["goodput", "timeouts"]);
        let mut descent = Descent::default();
        descent.start(&space, loss, span.hi, &outage, false);
        let mut tried = 1;
        while let Some(&(_, dose)) = descent.next(&space).first() {
            for (_, d) in descent.next(&space) {
                descent.record(loss, d, &outage, false);
                tried += 1;
            }
            assert!(dose < span.hi);
            assert!(tried <= SETTINGS.max_rungs, "{tried} doses");
        }
        assert!(tried >= 3, "it went down at least one pair: {tried}");
        // Harmless doses below an outage: no lower rungs, but the kinds
        // differ between full strength and half, so a midpoint between them.
        let mut descent = Descent::default();
        let calm = harm(false, &[]);
        descent.start(&space, loss, span.hi, &outage, false);
        for (_, d) in descent.next(&space) {
            descent.record(loss, d, &calm, false);
        }
        let next = descent.next(&space);
        assert_eq!(next.len(), 1);
        assert!(next[0].1 > span.snap(span.lo + (span.hi - span.lo) * 0.5));
    }
}
