//! The open-loop workload: Poisson arrivals whose rate follows the load
//! profile of the schedule, each a logical request with a deadline.
//!
//! Open loop means arrivals do not wait for answers, as real users do not:
//! this is what lets a slow system fall behind instead of slowing its load.

use crate::scenario::{CallFailure, Client};
use crate::timeline::Recorder;
use hormesis_faults::{Fault, Schedule};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// The offered-rate multiplier over simulated time, piecewise constant,
/// derived from a schedule's `load-spike` and `load-step` events (which
/// multiply where they overlap).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadProfile {
    /// `(from_seconds, multiplier)`, sorted; the multiplier holds until the next entry.
    steps: Vec<(f64, f64)>,
}

impl LoadProfile {
    pub fn from_schedule(schedule: &Schedule) -> LoadProfile {
        // Each load event contributes (start, end, factor) segments.
        let mut segments: Vec<(f64, f64, f64)> = Vec::new();
        for e in &schedule.events {
            let (start, len) = (
                e.at.as_secs_f64(),
                e.duration.unwrap_or_default().as_secs_f64(),
            );
            match e.fault {
                Fault::LoadSpike { factor } => segments.push((start, start + len, factor)),
                Fault::LoadStep { factor, steps } => {
                    let stair = len / steps as f64;
                    for k in 0..steps {
                        let m = 1.0 + (factor - 1.0) * (k + 1) as f64 / steps as f64;
                        segments.push((
                            start + stair * k as f64,
                            start + stair * (k + 1) as f64,
                            m,
                        ));
                    }
                }
                Fault::LoadProfile { ref points } => {
                    for (i, (offset, factor)) in points.iter().enumerate() {
                        let until = points
                            .get(i + 1)
                            .map_or(len, |(next, _)| next.as_secs_f64());
                        segments.push((start + offset.as_secs_f64(), start + until, *factor));
                    }
                }
                _ => {}
            }
        }
        let mut cuts: Vec<f64> = segments.iter().flat_map(|s| [s.0, s.1]).collect();
        cuts.push(0.0);
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        let steps = cuts
            .into_iter()
            .map(|t| {
                let m = segments
                    .iter()
                    .filter(|s| s.0 <= t && t < s.1)
                    .map(|s| s.2)
                    .product::<f64>();
                (t, m)
            })
            .collect();
        LoadProfile { steps }
    }

    /// The multiplier at `t` seconds.
    pub fn multiplier(&self, t: f64) -> f64 {
        self.segment(t).1
    }

    /// `(end of the constant piece containing t, its multiplier)`.
    fn segment(&self, t: f64) -> (f64, f64) {
        let i = self.steps.partition_point(|s| s.0 <= t).saturating_sub(1);
        let end = self.steps.get(i + 1).map_or(f64::INFINITY, |s| s.0);
        (end, self.steps[i].1)
    }
}

/// Poisson arrival times for one client host, by time rescaling: each gap is
/// an Exp(1) draw spent against the integrated rate, so rate changes apply
/// at their exact instants.
pub struct Arrivals {
    rng: ChaCha12Rng,
    rate: f64,
    profile: Rc<LoadProfile>,
    now: f64,
}

impl Arrivals {
    /// `rate` is this host's base rate (requests/s); the stream is fixed by
    /// `(seed, host)` alone.
    pub fn new(seed: u64, host: &str, rate: f64, profile: Rc<LoadProfile>) -> Arrivals {
        let mut key = blake3::Hasher::new_derive_key("hormesis workload arrivals v1");
        key.update(&seed.to_le_bytes());
        key.update(host.as_bytes());
        Arrivals {
            rng: ChaCha12Rng::from_seed(*key.finalize().as_bytes()),
            rate,
            profile,
            now: 0.0,
        }
    }
}

/// The key of each logical request of one client host: a stream of its own,
/// so systems that ignore keys see exactly the same arrivals as before keys
/// existed.
pub struct Keys {
    rng: ChaCha12Rng,
}

impl Keys {
    pub fn new(seed: u64, host: &str) -> Keys {
        let mut key = blake3::Hasher::new_derive_key("hormesis workload keys v1");
        key.update(&seed.to_le_bytes());
        key.update(host.as_bytes());
        Keys {
            rng: ChaCha12Rng::from_seed(*key.finalize().as_bytes()),
        }
    }

    pub fn next_key(&mut self) -> u64 {
        self.rng.random()
    }
}

impl Iterator for Arrivals {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let u: f64 = self.rng.random();
        let mut budget = -(1.0 - u).ln();
        loop {
            let (end, m) = self.profile.segment(self.now);
            let rate = self.rate * m;
            if rate > 0.0 && self.now + budget / rate < end {
                self.now += budget / rate;
                return Some(Duration::from_secs_f64(self.now));
            }
            if end.is_infinite() {
                return None; // zero rate forever
            }
            budget -= (end - self.now) * rate;
            self.now = end;
        }
    }
}

/// Runs one client host's share of the workload until `stop`, then idles.
/// Must be the body of a simulated client host started at simulated time 0.
pub async fn drive(
    client: Rc<dyn Client>,
    arrivals: Arrivals,
    mut keys: Keys,
    recorder: Rc<RefCell<Recorder>>,
    deadline: Duration,
    stop: Duration,
) {
    // tokio's clock, which the simulation drives; 0 here is simulated time 0.
    let base = tokio::time::Instant::now();
    for at in arrivals {
        if at >= stop {
            break;
        }
        tokio::time::sleep_until(base + at).await;
        // Stamp with the time the arrival actually fired: tokio's timers
        // round up to the millisecond, and a record must never land in a
        // window the engine has already closed.
        let arrived = base.elapsed();
        recorder.borrow_mut().offered(arrived);
        let (client, recorder, key) = (client.clone(), recorder.clone(), keys.next_key());
        tokio::task::spawn_local(async move {
            let outcome = tokio::time::timeout(deadline, client.call(key)).await;
            let latency = base.elapsed().saturating_sub(arrived);
            let result = match outcome {
                Ok(Ok(())) => Ok(latency),
                Ok(Err(failure)) => Err(failure),
                Err(_deadline) => Err(CallFailure::Timeout),
            };
            recorder.borrow_mut().resolved(arrived + latency, result);
        });
    }
    std::future::pending::<()>().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(specs: &[&str]) -> LoadProfile {
        LoadProfile::from_schedule(&Schedule::from_specs(specs).unwrap())
    }

    #[test]
    fn a_spike_multiplies_exactly_over_its_interval() {
        let p = profile(&["load-spike:at=60s,for=10s,factor=3"]);
        assert_eq!(p.multiplier(59.999), 1.0);
        assert_eq!(p.multiplier(60.0), 3.0);
        assert_eq!(p.multiplier(69.999), 3.0);
        assert_eq!(p.multiplier(70.0), 1.0);
    }

    #[test]
    fn steps_climb_and_overlaps_multiply() {
        let p = profile(&[
            "load-step:at=10s,for=4s,factor=3,steps=2",
            "load-spike:at=11s,for=2s,factor=2",
        ]);
        assert_eq!(p.multiplier(10.5), 2.0);
        assert_eq!(p.multiplier(11.5), 4.0);
        assert_eq!(p.multiplier(12.5), 6.0);
        assert_eq!(p.multiplier(13.5), 3.0);
        assert_eq!(p.multiplier(14.0), 1.0);
    }

    #[test]
    fn a_profile_follows_its_points_then_returns_to_the_base_rate() {
        let p = profile(&["load-profile:at=30s,for=20s,points=0s+1.5|5s+0|12s+3"]);
        assert_eq!(p.multiplier(29.9), 1.0);
        assert_eq!(p.multiplier(30.0), 1.5);
        assert_eq!(p.multiplier(36.0), 0.0);
        assert_eq!(p.multiplier(42.0), 3.0);
        assert_eq!(p.multiplier(49.99), 3.0);
        assert_eq!(p.multiplier(50.0), 1.0);
    }

    #[test]
    fn arrivals_follow_the_profile_and_replay_from_the_seed() {
        let p = Rc::new(profile(&["load-spike:at=100s,for=100s,factor=3"]));
        let times: Vec<Duration> = Arrivals::new(7, "client-1", 50.0, p.clone())
            .take_while(|t| t.as_secs() < 300)
            .collect();
        let again: Vec<Duration> = Arrivals::new(7, "client-1", 50.0, p.clone())
            .take_while(|t| t.as_secs() < 300)
            .collect();
        assert_eq!(times, again);
        let other: Vec<Duration> = Arrivals::new(8, "client-1", 50.0, p)
            .take_while(|t| t.as_secs() < 300)
            .collect();
        assert_ne!(times, other);
        let count = |lo: u64, hi: u64| {
            times
                .iter()
                .filter(|t| t.as_secs() >= lo && t.as_secs() < hi)
                .count() as f64
        };
        // 5000 expected before, 15000 during, 5000 after: within 5 sigma.
        assert!(
            (count(0, 100) - 5000.0).abs() < 5.0 * 5000f64.sqrt(),
            "{}",
            count(0, 100)
        );
        assert!(
            (count(100, 200) - 15000.0).abs() < 5.0 * 15000f64.sqrt(),
            "{}",
            count(100, 200)
        );
        assert!(
            (count(200, 300) - 5000.0).abs() < 5.0 * 5000f64.sqrt(),
            "{}",
            count(200, 300)
        );
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }
}
