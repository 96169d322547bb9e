//! Site probes: the other templates of a site that gave way, nearly gave
//! way, or stood out, each at full strength.
//!
//! A host that tipped (or came closest without tipping) under one fault is
//! the likeliest to give way under another, and each is a failure mode of
//! its own; so is a host where a full-strength fault stressed the system
//! clearly more than the same kind did elsewhere ([`FullStrengthRuns`]).
//! The most promising template first, by the evidence shared over its kind
//! and host.

use super::{at_full_duration, shuffle, unit, Board, Outcome, Proposal, Proposer, Role};
use crate::explore::sites::FullStrengthRuns;
use hormesis_faults::space::Space;
use rand_chacha::ChaCha12Rng;

#[derive(Default)]
pub struct SiteProbes {
    tipped_sites: Vec<String>,
    full_strength: FullStrengthRuns,
    best_near_miss: Option<(f64, Vec<String>)>,
    /// This batch's candidates, best last.
    queue: Vec<usize>,
}

impl SiteProbes {
    /// The sites worth probing now.
    pub fn sites(&self) -> Vec<String> {
        let mut sites = self.tipped_sites.clone();
        sites.extend(self.full_strength.standing_out());
        sites.extend(self.best_near_miss.iter().flat_map(|(_, s)| s.clone()));
        sites
    }
}

impl Proposer for SiteProbes {
    fn name(&self) -> &'static str {
        "site-probes"
    }

    fn begin_batch(&mut self, board: &Board, rng: &mut ChaCha12Rng) {
        let space = board.space;
        let sites = self.sites();
        let mut queue: Vec<usize> = (0..space.templates.len())
            .filter(|t| !board.probed.contains(t))
            .filter(|&t| {
                space.templates[t]
                    .site()
                    .is_some_and(|site| sites.iter().any(|s| s == site))
            })
            .collect();
        // Ties in promise go in an order drawn.
        shuffle(&mut queue, rng);
        let priors = board.evidence.prior(space);
        let promise = |t: usize| priors.get(t).copied().unwrap_or(0.0);
        queue.sort_by(|&a, &b| promise(a).total_cmp(&promise(b)));
        self.queue = queue;
    }

    fn propose(&mut self, board: &Board, rng: &mut ChaCha12Rng) -> Option<Proposal> {
        while let Some(template) = self.queue.pop() {
            if board.probed.contains(&template) {
                continue;
            }
            let t = &board.space.templates[template];
            let point = at_full_duration(t, unit(rng), t.magnitude.map(|m| m.hi));
            return Some(Proposal {
                events: vec![(template, point)],
                role: Role::FullStrength,
            });
        }
        None
    }

    fn observe(&mut self, space: &Space, outcome: &Outcome) {
        let sites: Vec<String> = outcome
            .events
            .iter()
            .filter_map(|(t, _)| space.templates[*t].site().map(str::to_string))
            .collect();
        if outcome.tipped() {
            for site in &sites {
                if !self.tipped_sites.contains(site) {
                    self.tipped_sites.push(site.clone());
                }
            }
        }
        if outcome.held()
            && !sites.is_empty()
            && self
                .best_near_miss
                .as_ref()
                .is_none_or(|(best, _)| outcome.stress > *best)
        {
            self.best_near_miss = Some((outcome.stress, sites));
        }
        if let (Role::FullStrength, Some(_), [(template, _)]) =
            (outcome.role, outcome.class, outcome.events)
        {
            let t = &space.templates[*template];
            if let Some(site) = t.site() {
                self.full_strength.record(t.kind(), site, outcome.stress);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::explore::guide::Evidence;
    use crate::verdict::Class;

    #[test]
    fn a_site_that_tipped_has_its_other_templates_probed_once_each() {
        let s = space();
        let evidence = Evidence::default();
        let mut probes = SiteProbes::default();
        let mut r = rng(2);
        let mut probed = vec![template(&s, "crash host=b")];
        probes.begin_batch(&board(&s, &evidence, &probed), &mut r);
        assert!(probes
            .propose(&board(&s, &evidence, &probed), &mut r)
            .is_none());
        let events = vec![(probed[0], vec![40.0, 30.0])];
        probes.observe(
            &s,
            &outcome(&events, Role::FullStrength, 0.9, Class::Metastable, None),
        );
        probes.begin_batch(&board(&s, &evidence, &probed), &mut r);
        let mut got = Vec::new();
        while let Some(p) = probes.propose(&board(&s, &evidence, &probed), &mut r) {
            let t = p.events[0].0;
            assert_eq!(s.templates[t].site(), Some("b"));
            assert_eq!(p.role, Role::FullStrength);
            probed.push(t);
            got.push(t);
        }
        // latency, loss, partition and hold on b; crash was probed already.
        assert_eq!(got.len(), 4, "{got:?}");
    }

    #[test]
    fn the_closest_miss_and_a_site_that_stands_out_are_probed_too() {
        let s = space();
        let mut probes = SiteProbes::default();
        for (host, stress) in [("a", 0.1), ("b", 0.1), ("c", 0.3)] {
            let events = vec![(
                template(&s, &format!("crash host={host}")),
                vec![40.0, 30.0],
            )];
            probes.observe(
                &s,
                &outcome(&events, Role::FullStrength, stress, Class::Stable, None),
            );
        }
        assert_eq!(probes.sites(), vec!["c".to_string(), "c".to_string()]);
    }
}
