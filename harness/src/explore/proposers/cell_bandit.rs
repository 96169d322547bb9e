//! The bandit over cells: Thompson sampling over the space's initial
//! cells, each cell's Beta posterior starting from the shared prior of
//! its template, kind and host ([`crate::explore::guide::Evidence::prior`]),
//! and fed by every run that lands in it, whoever proposed it.
//!
//! Initial cells, not refined ones: that is where distinct failure modes
//! are told apart; splits only refine how runs are labelled.

use super::{root_of, Board, Outcome, Placed, Proposal, Proposer, Role};
use crate::explore::settings::SETTINGS;
use crate::explore::strategy::{ArmStats, Strategy, Thompson};
use hormesis_faults::space::Space;
use rand::RngExt;
use rand_chacha::ChaCha12Rng;

pub struct CellBandit {
    stats: Vec<ArmStats>,
    /// This batch's posteriors, pending draws counted.
    pending: Vec<ArmStats>,
}

impl CellBandit {
    pub fn new(space: &Space) -> CellBandit {
        CellBandit {
            stats: vec![ArmStats::default(); space.cells.len()],
            pending: Vec::new(),
        }
    }

    /// The posteriors with this batch's shared priors.
    pub fn refresh(&mut self, board: &Board) {
        let priors = board.evidence.prior(board.space);
        self.pending = self
            .stats
            .iter()
            .zip(&board.space.cells)
            .map(|(stats, cell)| match priors.get(cell.template) {
                Some(&mean) => stats.with_prior(mean, SETTINGS.prior_runs),
                None => stats.clone(),
            })
            .collect();
    }

    /// One cell drawn by Thompson sampling (counted pending) and a point of it.
    pub fn draw(&mut self, space: &Space, rng: &mut ChaCha12Rng) -> Option<(usize, Placed)> {
        if self.pending.len() != space.cells.len() || space.cells.is_empty() {
            return None;
        }
        let (root, _) = Thompson.choose(&self.pending, rng);
        self.pending[root].pending += 1;
        let cell = &space.cells[root];
        let point = space.sample_point(cell, &mut || rng.random::<f64>());
        Some((root, (cell.template, point)))
    }

    /// The posteriors a draw is made from, pending draws counted.
    pub fn posteriors(&self) -> &[ArmStats] {
        &self.pending
    }

    pub fn credit(&mut self, space: &Space, outcome: &Outcome) {
        if outcome.class.is_none() {
            return;
        }
        for (template, point) in outcome.events {
            if let Some(root) = root_of(space, *template, point) {
                Thompson.update(
                    &mut self.stats[root],
                    outcome.reward,
                    1.0,
                    space.cells.len(),
                );
            }
        }
    }
}

impl Proposer for CellBandit {
    fn name(&self) -> &'static str {
        "cell-bandit"
    }

    fn begin_batch(&mut self, board: &Board, _: &mut ChaCha12Rng) {
        self.refresh(board);
    }

    fn propose(&mut self, board: &Board, rng: &mut ChaCha12Rng) -> Option<Proposal> {
        let (_, placed) = self.draw(board.space, rng)?;
        Some(Proposal {
            events: vec![placed],
            role: Role::Other,
        })
    }

    fn observe(&mut self, space: &Space, outcome: &Outcome) {
        self.credit(space, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::explore::guide::Evidence;
    use crate::verdict::Class;

    #[test]
    fn cells_that_paid_are_drawn_more_and_every_run_counts() {
        let s = space();
        let evidence = Evidence::default();
        let mut bandit = CellBandit::new(&s);
        let crash = template(&s, "crash host=c");
        // Runs of the crash on c from any proposer pay; others do not.
        for _ in 0..10 {
            let events = vec![(crash, vec![40.0, 20.0])];
            bandit.observe(
                &s,
                &outcome(&events, Role::Other, 0.9, Class::Metastable, None),
            );
            let events = vec![(template(&s, "crash host=a"), vec![40.0, 20.0])];
            bandit.observe(&s, &outcome(&events, Role::Other, 0.0, Class::Stable, None));
        }
        let mut r = rng(6);
        bandit.begin_batch(&board(&s, &evidence, &[]), &mut r);
        let drawn: Vec<usize> = (0..40)
            .filter_map(|_| bandit.propose(&board(&s, &evidence, &[]), &mut r))
            .map(|p| p.events[0].0)
            .collect();
        let picks = drawn.iter().filter(|&&t| t == crash).count();
        let a = bandit.posteriors()
            [root_of(&s, template(&s, "crash host=a"), &[40.0, 20.0]).unwrap()]
        .clone();
        assert!(a.beta > a.alpha, "a's cell learned it pays nothing");
        // About 60 cells: 40 draws give an untried one 0.7 on average.
        assert!(picks >= 3, "{picks}/40 on the one cell that paid");
        // Pending draws spread one batch: never all on one cell.
        assert!(picks < 10, "{picks}/40");
    }
}
