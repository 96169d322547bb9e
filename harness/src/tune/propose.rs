//! Where to look next: a space-filling design, then the policy with the
//! largest expected improvement under the surrogate.

use super::evaluate::Evaluation;
use super::gp;
use super::ranked;
use super::space::Space;
use rand::RngExt;
use rand_chacha::ChaCha12Rng;

/// Random candidates scored by expected improvement per proposal, and
/// candidates near each of the best few policies so far.
const CANDIDATES: usize = 2000;

const LOCAL_CANDIDATES: usize = 300;

/// `n` points of a Latin hypercube in `d` dimensions: every axis cut into
/// `n` strata, one point in each.
pub(super) fn latin_hypercube(
    rng: &mut ChaCha12Rng,
    n: usize,
    d: usize,
) -> impl Iterator<Item = Vec<f64>> {
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(d);
    for _ in 0..d {
        let mut strata: Vec<usize> = (0..n).collect();
        // Fisher–Yates with the named generator: the same on every platform.
        for i in (1..n).rev() {
            strata.swap(i, rng.random_range(0..=i));
        }
        columns.push(
            strata
                .into_iter()
                .map(|s| (s as f64 + rng.random::<f64>()) / n as f64)
                .collect(),
        );
    }
    (0..n).map(move |i| columns.iter().map(|col| col[i]).collect())
}

/// The surrogate's data: this round's evaluations, and every point of the
/// earlier rounds not rescored in this one, its objective moved by how much
/// the rescored points moved on average (the attack set grew, so the same
/// policy scores worse; the landscape's shape is what carries over).
pub(super) fn with_earlier(
    points: &[Vec<f64>],
    evaluations: &[Evaluation],
    earlier: &[(Vec<f64>, f64)],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let moved: Vec<f64> = points
        .iter()
        .zip(evaluations)
        .filter_map(|(p, e)| {
            let (_, before) = earlier.iter().find(|(q, _)| q == p)?;
            Some(e.objective - before)
        })
        .collect();
    let shift = if moved.is_empty() {
        0.0
    } else {
        moved.iter().sum::<f64>() / moved.len() as f64
    };
    let mut xs = points.to_vec();
    let mut ys: Vec<f64> = evaluations.iter().map(|e| e.objective).collect();
    for (p, y) in earlier.iter().filter(|(p, _)| !points.contains(p)) {
        xs.push(p.clone());
        ys.push(y + shift);
    }
    (xs, ys)
}

/// The next policy: the candidate with the largest expected improvement
/// under a GP fitted to `data` (this round's evaluations and the earlier
/// rounds', shifted), among random points and points near this round's best
/// few; never a policy already evaluated when another candidate is new.
pub(super) fn propose(
    rng: &mut ChaCha12Rng,
    space: &Space,
    (xs, ys): &(Vec<Vec<f64>>, Vec<f64>),
    points: &[Vec<f64>],
    evaluations: &[Evaluation],
    seen: &[Vec<String>],
) -> Vec<f64> {
    let d = space.len();
    let mut candidates: Vec<Vec<f64>> = (0..CANDIDATES)
        .map(|_| (0..d).map(|_| rng.random::<f64>()).collect())
        .collect();
    for &i in ranked(evaluations).iter().take(3) {
        for _ in 0..LOCAL_CANDIDATES / 3 {
            candidates.push(
                points[i]
                    .iter()
                    .map(|x| (x + rng.random_range(-0.1..0.1)).clamp(0.0, 1.0))
                    .collect(),
            );
        }
    }
    let Some(gp) = gp::Gp::fit(xs, ys) else {
        return candidates.swap_remove(0);
    };
    // Improvement is over what this round has measured, not a shifted guess.
    let best = evaluations
        .iter()
        .map(|e| e.objective)
        .fold(f64::INFINITY, f64::min);
    let mut scored: Vec<(f64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let (mean, sd) = gp.predict(x);
            (gp::expected_improvement(mean, sd, best), i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let fresh = scored
        .iter()
        .find(|(_, i)| !seen.contains(&space.decode(&candidates[*i])));
    let (_, pick) = fresh.or(scored.first()).copied().unwrap_or((0.0, 0));
    candidates.swap_remove(pick)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    fn evaluation(objective: f64) -> Evaluation {
        Evaluation {
            round: 2,
            how: "carried",
            policy: BTreeMap::new(),
            objective,
            attack_objective: objective,
            worst: 0.0,
            mean: 0.0,
            recovered: 0,
            attacks: 0,
            mean_amplification: 0.0,
            cost: 0.0,
            benign_served: None,
            resources: crate::tune::Resources {
                attempts_per_request: 1.0,
                worker_seconds: None,
            },
            feasible: true,
            results: Vec::new(),
        }
    }

    #[test]
    fn earlier_rounds_inform_the_surrogate_moved_as_the_rescored_points_moved() {
        let earlier = vec![(vec![0.1], 0.2), (vec![0.5], 0.4), (vec![0.9], 0.8)];
        // Rescored against more attacks, the first point scores 0.3 higher.
        let (xs, ys) = with_earlier(&[vec![0.1]], &[evaluation(0.5)], &earlier);
        assert_eq!(xs, [vec![0.1], vec![0.5], vec![0.9]]);
        let expected = [0.5, 0.7, 1.1];
        for (y, e) in ys.iter().zip(expected) {
            assert!((y - e).abs() < 1e-12, "{ys:?}");
        }
        // Nothing rescored: earlier values as they were.
        let (_, ys) = with_earlier(&[vec![0.3]], &[evaluation(0.1)], &earlier);
        assert_eq!(ys, [0.1, 0.2, 0.4, 0.8]);
    }

    #[test]
    fn a_latin_hypercube_has_one_point_in_every_stratum_of_every_axis() {
        let mut rng = ChaCha12Rng::seed_from_u64(7);
        let points: Vec<Vec<f64>> = latin_hypercube(&mut rng, 5, 3).collect();
        assert_eq!(points.len(), 5);
        for axis in 0..3 {
            let mut strata: Vec<usize> = points.iter().map(|p| (p[axis] * 5.0) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, [0, 1, 2, 3, 4], "axis {axis}");
        }
    }
}
