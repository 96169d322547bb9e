//! Uniform draws over the whole fault space: a template, then a point of
//! its whole box. This is the `random` strategy, the baseline, and the
//! ground truth's sampler ([`crate::truth`]); inside the default strategy
//! it is the proposer that assumes nothing, so the allocator can fall
//! back to it where nothing else pays.

use super::{index, unit, Board, Outcome, Proposal, Proposer, Role};
use hormesis_faults::space::Space;
use rand_chacha::ChaCha12Rng;

pub struct Uniform;

/// One uniform draw of `space`, or `None` when it has no template.
pub fn draw(space: &Space, rng: &mut ChaCha12Rng) -> Option<Vec<super::Placed>> {
    if space.templates.is_empty() {
        return None;
    }
    let template = index(rng, space.templates.len());
    let point: Vec<f64> = space.templates[template]
        .dims()
        .iter()
        .map(|d| d.snap(d.lo + unit(rng) * (d.hi - d.lo)))
        .collect();
    Some(vec![(template, point)])
}

impl Proposer for Uniform {
    fn name(&self) -> &'static str {
        "uniform"
    }

    fn propose(&mut self, board: &Board, rng: &mut ChaCha12Rng) -> Option<Proposal> {
        draw(board.space, rng).map(|events| Proposal {
            events,
            role: Role::Other,
        })
    }

    fn observe(&mut self, _: &Space, _: &Outcome) {}
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn templates_are_drawn_evenly_whatever_their_cells() {
        let s = space();
        let mut r = rng(5);
        let mut counts = vec![0usize; s.templates.len()];
        let n = 200 * s.templates.len();
        for _ in 0..n {
            let events = draw(&s, &mut r).unwrap();
            let (t, point) = &events[0];
            assert_eq!(&s.templates[*t].snap(point), point, "on the grid");
            counts[*t] += 1;
        }
        // The action knob has one cell, latency four: both about 200.
        assert!(
            counts.iter().all(|&c| (140..260).contains(&c)),
            "{counts:?}"
        );
    }
}
