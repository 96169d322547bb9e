//! Group probes: two or three cells on different sites in one run, while
//! nothing has tipped yet, so one run tests several sites; a probe that
//! comes close is cut back to its parts among the near misses. Once
//! failures are found, single faults tell them apart, and it stops.

use super::cell_bandit::CellBandit;
use super::{Board, Outcome, Proposal, Proposer, Role};
use crate::explore::settings::SETTINGS;
use hormesis_faults::space::Space;
use rand_chacha::ChaCha12Rng;

pub struct GroupProbes {
    /// Its own posterior over cells, fed by every run as the bandit's is.
    cells: CellBandit,
}

impl GroupProbes {
    pub fn new(space: &Space) -> GroupProbes {
        GroupProbes {
            cells: CellBandit::new(space),
        }
    }
}

impl Proposer for GroupProbes {
    fn name(&self) -> &'static str {
        "group-probes"
    }

    fn begin_batch(&mut self, board: &Board, _: &mut ChaCha12Rng) {
        self.cells.refresh(board);
    }

    fn propose(&mut self, board: &Board, rng: &mut ChaCha12Rng) -> Option<Proposal> {
        if board.runs == 0 || board.tipped > 0 {
            return None;
        }
        let space = board.space;
        let mut events = Vec::new();
        for _ in 0..SETTINGS.group_size {
            let (_, (t, point)) = self.cells.draw(space, rng)?;
            let site = space.templates[t].site();
            let clash = events.iter().any(|(u, _): &(usize, Vec<f64>)| {
                *u == t || (site.is_some() && space.templates[*u].site() == site)
            });
            if !clash {
                events.push((t, point));
            }
        }
        (events.len() > 1).then_some(Proposal {
            events,
            role: Role::Other,
        })
    }

    fn observe(&mut self, space: &Space, outcome: &Outcome) {
        self.cells.credit(space, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::explore::guide::Evidence;

    #[test]
    fn a_group_spans_distinct_sites_and_stops_once_something_tipped() {
        let s = space();
        let evidence = Evidence::default();
        let mut groups = GroupProbes::new(&s);
        let mut r = rng(7);
        let mut b = board(&s, &evidence, &[]);
        groups.begin_batch(&b, &mut r);
        assert!(groups.propose(&b, &mut r).is_none(), "not before any run");
        b.runs = 8;
        let mut made = 0;
        for _ in 0..50 {
            if let Some(p) = groups.propose(&b, &mut r) {
                made += 1;
                assert!(p.events.len() >= 2 && p.events.len() <= SETTINGS.group_size);
                let sites: Vec<_> = p
                    .events
                    .iter()
                    .filter_map(|(t, _)| s.templates[*t].site())
                    .collect();
                let mut unique = sites.clone();
                unique.sort_unstable();
                unique.dedup();
                assert_eq!(unique.len(), sites.len(), "{sites:?}");
            }
        }
        assert!(made > 25, "{made}/50");
        b.tipped = 1;
        assert!(groups.propose(&b, &mut r).is_none());
    }
}
