//! Sites that stand out: a host or link where a fault at full strength
//! stressed the system clearly more than the same kind of fault did on the
//! other sites.
//!
//! Among many hosts of which one is weak, the weak one shows before it
//! tips: a crash, a loss or a latency fault there leaves a backlog that a
//! cold host's does not, so its stress is higher than that of the same
//! fault elsewhere. The comparison is within one kind of fault, because
//! kinds differ in how much stress they cause everywhere (packet loss
//! stresses every host more than a crash does). The explorer then probes
//! the site's other faults at full strength, as it does the sites of a
//! run that tipped.

use super::settings::SETTINGS;

/// The full-strength, single-fault runs seen so far: their fault kind,
/// site and stress.
#[derive(Debug, Default, Clone)]
pub struct FullStrengthRuns {
    runs: Vec<(String, String, f64)>,
}

impl FullStrengthRuns {
    pub fn record(&mut self, kind: &str, site: &str, stress: f64) {
        if stress.is_finite() {
            self.runs.push((kind.to_string(), site.to_string(), stress));
        }
    }

    /// The sites where some run stood out against the same kind on at
    /// least [`Settings::min_peers`](super::settings::Settings::min_peers) runs elsewhere, in the order their runs came.
    pub fn standing_out(&self) -> Vec<String> {
        let mut sites: Vec<String> = Vec::new();
        for (kind, site, stress) in &self.runs {
            if sites.contains(site) {
                continue;
            }
            let peers: Vec<f64> = self
                .runs
                .iter()
                .filter(|(k, s, _)| k == kind && s != site)
                .map(|(_, _, x)| *x)
                .collect();
            if peers.len() < SETTINGS.min_peers {
                continue;
            }
            let mean = peers.iter().sum::<f64>() / peers.len() as f64;
            if *stress >= SETTINGS.stand_out_ratio * mean
                && *stress - mean >= SETTINGS.stand_out_margin
            {
                sites.push(site.clone());
            }
        }
        sites
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(list: &[(&str, &str, f64)]) -> FullStrengthRuns {
        let mut r = FullStrengthRuns::default();
        for (k, s, x) in list {
            r.record(k, s, *x);
        }
        r
    }

    #[test]
    fn a_site_stands_out_against_the_same_kind_elsewhere() {
        // hot-shard, seed 1: the hot shard's crash against two cold ones.
        let r = runs(&[
            ("crash", "shard-3", 0.15),
            ("crash", "shard-7", 0.24),
            ("crash", "shard-9", 0.15),
        ]);
        assert_eq!(r.standing_out(), vec!["shard-7".to_string()]);
    }

    #[test]
    fn kinds_are_not_compared_with_each_other() {
        // Loss stresses every shard more than a crash does: not a site.
        let r = runs(&[
            ("crash", "shard-3", 0.15),
            ("crash", "shard-4", 0.15),
            ("loss", "shard-8", 0.21),
        ]);
        assert!(r.standing_out().is_empty());
    }

    #[test]
    fn it_takes_enough_peers_a_clear_ratio_and_a_margin() {
        // One peer only.
        assert!(runs(&[("crash", "a", 0.1), ("crash", "b", 0.3)])
            .standing_out()
            .is_empty());
        // Cold shards' own spread (1.24x).
        assert!(runs(&[
            ("loss", "a", 0.17),
            ("loss", "b", 0.17),
            ("loss", "c", 0.21)
        ])
        .standing_out()
        .is_empty());
        // A large ratio of tiny stresses.
        assert!(runs(&[
            ("latency", "a", 0.001),
            ("latency", "b", 0.001),
            ("latency", "c", 0.02)
        ])
        .standing_out()
        .is_empty());
        // Not finite: ignored.
        assert!(runs(&[
            ("crash", "a", 0.1),
            ("crash", "b", 0.1),
            ("crash", "c", f64::NAN)
        ])
        .standing_out()
        .is_empty());
    }

    #[test]
    fn sites_come_in_the_order_of_their_runs_once_each() {
        let r = runs(&[
            ("crash", "x", 0.1),
            ("crash", "y", 0.1),
            ("crash", "z", 0.1),
            ("crash", "hot-2", 0.3),
            ("crash", "hot-1", 0.3),
            ("loss", "hot-2", 0.4),
            ("loss", "a", 0.1),
            ("loss", "b", 0.1),
        ]);
        assert_eq!(r.standing_out(), vec!["hot-2", "hot-1"]);
    }
}
