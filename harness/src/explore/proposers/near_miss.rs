//! Near misses: a point moved a little around the most stressed runs, the
//! same fault elsewhere, or two near misses joined into one compound (see
//! [`crate::explore::guide::Evidence::propose`]).

use super::{unit, Board, Outcome, Proposal, Proposer, Role};
use hormesis_faults::space::Space;
use rand_chacha::ChaCha12Rng;

pub struct NearMiss;

impl Proposer for NearMiss {
    fn name(&self) -> &'static str {
        "near-miss"
    }

    fn propose(&mut self, board: &Board, rng: &mut ChaCha12Rng) -> Option<Proposal> {
        if board.runs == 0 {
            return None;
        }
        let events = board.evidence.propose(board.space, &mut || unit(rng));
        Some(Proposal {
            events,
            role: Role::Other,
        })
    }

    // The evidence it draws from is the board's.
    fn observe(&mut self, _: &Space, _: &Outcome) {}
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::explore::guide::{Evidence, Tried};

    #[test]
    fn it_waits_for_evidence_then_proposes_around_it() {
        let s = space();
        let mut evidence = Evidence::default();
        let mut r = rng(4);
        assert!(NearMiss
            .propose(&board(&s, &evidence, &[]), &mut r)
            .is_none());
        let latency = template(&s, "latency host=b");
        evidence.record(Tried {
            events: vec![(latency, vec![45.0, 12.0, 300.0])],
            stress: 0.4,
            arm: "latency host=b".into(),
            tipped: false,
        });
        let mut b = board(&s, &evidence, &[]);
        b.runs = 1;
        let near = (0..50)
            .filter_map(|_| NearMiss.propose(&b, &mut r))
            .filter(|p| p.events.iter().any(|(t, _)| *t == latency))
            .count();
        assert!(near > 25, "{near}/50 build on the only near miss");
    }
}
