//! Dose descent: below a full-strength probe that hurt without tipping,
//! lower doses down to where the kind of harm changes (see
//! [`crate::explore::descent`], which keeps the ladders).

use super::{at_full_duration, shuffle, unit, Board, Outcome, Proposal, Proposer, Role};
use crate::explore::descent::{dose_of, Descent};
use hormesis_faults::space::Space;
use rand_chacha::ChaCha12Rng;

#[derive(Default)]
pub struct DoseDescent {
    descent: Descent,
    /// This batch's doses, as (template, magnitude).
    queue: Vec<(usize, f64)>,
}

impl Proposer for DoseDescent {
    fn name(&self) -> &'static str {
        "dose-descent"
    }

    fn begin_batch(&mut self, board: &Board, rng: &mut ChaCha12Rng) {
        let mut doses = self.descent.next(board.space);
        shuffle(&mut doses, rng);
        self.queue = doses;
    }

    fn propose(&mut self, board: &Board, rng: &mut ChaCha12Rng) -> Option<Proposal> {
        let (template, magnitude) = self.queue.pop()?;
        let point = at_full_duration(&board.space.templates[template], unit(rng), Some(magnitude));
        Some(Proposal {
            events: vec![(template, point)],
            role: Role::Dose,
        })
    }

    fn observe(&mut self, space: &Space, outcome: &Outcome) {
        let (Some(harm), [(template, point)]) = (outcome.consequences, outcome.events) else {
            return;
        };
        let Some(magnitude) = dose_of(space, *template, point) else {
            return;
        };
        match outcome.role {
            Role::FullStrength => {
                self.descent
                    .start(space, *template, magnitude, harm, outcome.tipped())
            }
            Role::Dose => self
                .descent
                .record(*template, magnitude, harm, outcome.tipped()),
            Role::Other => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::consequence::Consequences;
    use crate::explore::guide::Evidence;
    use crate::verdict::Class;

    #[test]
    fn a_probe_that_hurt_opens_doses_below_it_and_a_tip_closes_them() {
        let s = space();
        let evidence = Evidence::default();
        let latency = template(&s, "latency host=a");
        let span = s.templates[latency].magnitude.unwrap();
        let mut d = DoseDescent::default();
        let mut r = rng(3);
        let b = board(&s, &evidence, &[]);
        d.begin_batch(&b, &mut r);
        assert!(d.propose(&b, &mut r).is_none(), "nothing to descend from");
        let hurt = Consequences {
            hurt: true,
            signature: vec!["goodput".into()],
        };
        let full = vec![(latency, vec![40.0, 30.0, span.hi])];
        d.observe(
            &s,
            &outcome(&full, Role::FullStrength, 0.3, Class::Stable, Some(&hurt)),
        );
        d.begin_batch(&b, &mut r);
        let mut doses = Vec::new();
        while let Some(p) = d.propose(&b, &mut r) {
            assert_eq!(p.role, Role::Dose);
            doses.push(p.events);
        }
        assert_eq!(doses.len(), 3, "three rungs at a time");
        for events in &doses {
            assert!(events[0].1[2] < span.hi);
        }
        d.observe(
            &s,
            &outcome(&doses[0], Role::Dose, 0.9, Class::Metastable, Some(&hurt)),
        );
        d.begin_batch(&b, &mut r);
        assert!(d.propose(&b, &mut r).is_none(), "a tip ends the descent");
    }
}
