//! Coverage: every template once at full strength (its longest, largest
//! fault, onset drawn), sites swept evenly.
//!
//! Most vulnerabilities grow with the dose, so a template that does not
//! tip at its strongest rarely tips elsewhere, and its stress says how
//! close it came. Templates are taken from the sites probed least so far,
//! so that one weak host among many is reached within a fraction of the
//! templates.

use super::{at_full_duration, index, unit, Board, Outcome, Proposal, Proposer, Role};
use hormesis_faults::space::Space;
use rand_chacha::ChaCha12Rng;

pub struct Coverage;

impl Proposer for Coverage {
    fn name(&self) -> &'static str {
        "coverage"
    }

    fn propose(&mut self, board: &Board, rng: &mut ChaCha12Rng) -> Option<Proposal> {
        let space = board.space;
        let fresh: Vec<usize> = (0..space.templates.len())
            .filter(|t| !board.probed.contains(t))
            .collect();
        let pool = least_probed_sites(space, board.probed, fresh);
        if pool.is_empty() {
            return None;
        }
        let template = pool[index(rng, pool.len())];
        let t = &space.templates[template];
        let point = at_full_duration(t, unit(rng), t.magnitude.map(|m| m.hi));
        Some(Proposal {
            events: vec![(template, point)],
            role: Role::FullStrength,
        })
    }

    fn observe(&mut self, _: &Space, _: &Outcome) {}
}

/// Of `fresh` templates, those aimed at the sites probed least so far (a
/// template aimed at no site counts as a site of its own).
pub fn least_probed_sites(space: &Space, probed: &[usize], fresh: Vec<usize>) -> Vec<usize> {
    let probes_at = |t: usize| match space.templates[t].site() {
        Some(site) => probed
            .iter()
            .filter(|&&p| space.templates[p].site() == Some(site))
            .count(),
        None => 0,
    };
    let fewest = fresh.iter().map(|&t| probes_at(t)).min().unwrap_or(0);
    fresh
        .into_iter()
        .filter(|&t| probes_at(t) == fewest)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::explore::guide::Evidence;

    #[test]
    fn it_probes_each_template_once_at_full_strength_sweeping_sites_evenly() {
        let s = space();
        let evidence = Evidence::default();
        let mut probed: Vec<usize> = Vec::new();
        let mut r = rng(1);
        let hosts = ["a", "b", "c"];
        for n in 0..s.templates.len() {
            let p = Coverage
                .propose(&board(&s, &evidence, &probed), &mut r)
                .expect("fresh templates left");
            let (t, point) = &p.events[0];
            assert_eq!(p.role, Role::FullStrength);
            assert!(!probed.contains(t), "each template once");
            let template = &s.templates[*t];
            if let Some(d) = template.duration {
                assert_eq!(point[1], d.hi);
            }
            if let Some(m) = template.magnitude {
                assert_eq!(*point.last().unwrap(), m.hi);
            }
            probed.push(*t);
            // After 3k probes of hosts' templates, every host has had k.
            let per_host: Vec<usize> = hosts
                .iter()
                .map(|h| {
                    probed
                        .iter()
                        .filter(|&&p| s.templates[p].site() == Some(h))
                        .count()
                })
                .collect();
            let (lo, hi) = (per_host.iter().min(), per_host.iter().max());
            assert!(
                hi.unwrap() - lo.unwrap() <= 1 || n >= s.templates.len() - 4,
                "{per_host:?} after {n}"
            );
        }
        assert!(Coverage
            .propose(&board(&s, &evidence, &probed), &mut r)
            .is_none());
    }

    /// A knob whose default is its max is a capacity: at full strength it
    /// is held at a tenth of its default for the longest duration.
    #[test]
    fn a_capacity_knob_at_full_strength_is_held_at_its_lowest_value() {
        use hormesis_faults::{Fault, KnobKind, KnobSpec, Target};
        let target = Target {
            hosts: Vec::new(),
            clients: vec!["client-1".into()],
            knobs: vec![KnobSpec {
                name: "capacity".into(),
                kind: KnobKind::Value {
                    min: 0.0,
                    max: 1.0,
                    default: 1.0,
                },
                help: String::new(),
            }],
            latest_end: std::time::Duration::from_secs(3000),
        };
        let s = Space::new(&target, std::time::Duration::from_secs(30));
        let knob = template(&s, "knob capacity");
        let evidence = Evidence::default();
        let mut r = rng(8);
        let mut probed: Vec<usize> = (0..s.templates.len()).filter(|&t| t != knob).collect();
        let p = Coverage
            .propose(&board(&s, &evidence, &probed), &mut r)
            .unwrap();
        probed.push(knob);
        let (t, point) = &p.events[0];
        assert_eq!(*t, knob);
        let event = s.templates[knob].event(point);
        assert_eq!(event.duration, Some(std::time::Duration::from_secs(30)));
        match event.fault {
            Fault::Knob { value, .. } => assert_eq!(value, Some(0.1)),
            other => panic!("{other:?}"),
        }
    }
}
