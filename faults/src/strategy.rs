//! proptest strategies that generate schedules valid for a [`Target`].
//!
//! Events are placed in disjoint time slots, so generated schedules never
//! overlap in a way that cannot apply; times are multiples of 100 ms so every
//! engine tick divides them. Shrinking removes events and pulls values toward
//! the smallest fault of each kind.
//!
//! ```
//! use hormesis_faults::{strategy, Target};
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//! use std::time::Duration;
//!
//! let target = Target {
//!     hosts: vec!["server".into()],
//!     clients: vec!["client-1".into()],
//!     knobs: vec![],
//!     latest_end: Duration::from_secs(120),
//! };
//! let mut runner = TestRunner::deterministic();
//! let schedule = strategy::schedule(&target, 3).new_tree(&mut runner).unwrap().current();
//! assert!(schedule.validate(&target).is_ok());
//! ```

use crate::fault::{Fault, HostGroups, LinkTarget};
use crate::schedule::{Event, Schedule};
use crate::validate::{KnobKind, Target};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use std::time::Duration;

const QUANTUM_MS: u64 = 100;

/// Schedules of up to `max_events` events that validate against `target`.
pub fn schedule(target: &Target, max_events: usize) -> BoxedStrategy<Schedule> {
    let max_events = max_events.max(1);
    let slot_ms =
        (target.latest_end.as_millis() as u64 / max_events as u64) / QUANTUM_MS * QUANTUM_MS;
    if slot_ms < 2 * QUANTUM_MS {
        return Just(Schedule::default()).boxed();
    }
    let slots: Vec<_> = (0..max_events as u64)
        .map(|i| proptest::option::of(event_in(target, i * slot_ms, slot_ms)))
        .collect();
    slots
        .prop_map(|events| Schedule::new(events.into_iter().flatten().collect()))
        .boxed()
}

/// One event that starts and ends inside `[start_ms, start_ms + len_ms)`.
pub fn event_in(target: &Target, start_ms: u64, len_ms: u64) -> BoxedStrategy<Event> {
    let half = (len_ms / 2 / QUANTUM_MS).max(1);
    let timing = (0..half, 1..=half).prop_map(move |(at_q, for_q)| {
        (
            Duration::from_millis(start_ms + at_q * QUANTUM_MS),
            Duration::from_millis(for_q * QUANTUM_MS),
        )
    });
    let faults = fault(target);
    (timing, faults)
        .prop_map(|((at, dur), (fault, timed))| Event::new(at, timed.then_some(dur), fault))
        .boxed()
}

/// A fault valid for `target`, and whether it takes a duration.
pub fn fault(target: &Target) -> BoxedStrategy<(Fault, bool)> {
    let nodes: Vec<String> = target
        .hosts
        .iter()
        .chain(&target.clients)
        .cloned()
        .collect();
    let mut options: Vec<BoxedStrategy<(Fault, bool)>> = vec![
        (11u32..=50)
            .prop_map(|f| {
                (
                    Fault::LoadSpike {
                        factor: f as f64 / 10.0,
                    },
                    true,
                )
            })
            .boxed(),
        (11u32..=50, 1u32..=8)
            .prop_map(|(f, steps)| {
                (
                    Fault::LoadStep {
                        factor: f as f64 / 10.0,
                        steps,
                    },
                    true,
                )
            })
            .boxed(),
    ];
    if nodes.len() >= 2 {
        let groups = groups(nodes.clone());
        options.push(
            (groups.clone(), any::<bool>())
                .prop_map(|(between, oneway)| (Fault::Partition { between, oneway }, true))
                .boxed(),
        );
        options.push(
            groups
                .clone()
                .prop_map(|between| (Fault::Hold { between }, true))
                .boxed(),
        );
        let link = prop_oneof![
            groups.prop_map(LinkTarget::Between),
            proptest::sample::select(nodes).prop_map(LinkTarget::Host),
        ];
        options.push(
            (link.clone(), 1u64..=400)
                .prop_map(|(target, d)| {
                    (
                        Fault::Latency {
                            target,
                            delay: Duration::from_millis(d * 5),
                        },
                        true,
                    )
                })
                .boxed(),
        );
        options.push(
            (link, 1u32..=100)
                .prop_map(|(target, r)| {
                    (
                        Fault::Loss {
                            target,
                            rate: r as f64 / 100.0,
                        },
                        true,
                    )
                })
                .boxed(),
        );
    }
    if !target.hosts.is_empty() {
        options.push(
            (
                proptest::sample::select(target.hosts.clone()),
                any::<bool>(),
            )
                .prop_map(|(host, timed)| (Fault::Crash { host }, timed))
                .boxed(),
        );
    }
    for knob in &target.knobs {
        let name = knob.name.clone();
        options.push(match knob.kind {
            KnobKind::Action => Just((
                Fault::Knob {
                    knob: name,
                    value: None,
                },
                false,
            ))
            .boxed(),
            KnobKind::Value { min, max, .. } => (0u32..=100)
                .prop_map(move |q| {
                    let value = min + (max - min) * q as f64 / 100.0;
                    (
                        Fault::Knob {
                            knob: name.clone(),
                            value: Some(value),
                        },
                        true,
                    )
                })
                .boxed(),
        });
    }
    Union::new(options).boxed()
}

/// Two disjoint non-empty groups drawn from `nodes` (at least two).
fn groups(nodes: Vec<String>) -> BoxedStrategy<HostGroups> {
    let n = nodes.len();
    (0..n, proptest::collection::vec(any::<bool>(), n))
        .prop_map(move |(first, mask)| {
            let a = vec![nodes[first].clone()];
            let mut b: Vec<String> = nodes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != first && mask[*i])
                .map(|(_, h)| h.clone())
                .collect();
            if b.is_empty() {
                b = nodes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != first)
                    .map(|(_, h)| h.clone())
                    .collect();
            }
            HostGroups::new(a, b)
        })
        .boxed()
}
