//! A Gaussian-process surrogate over the unit cube and expected
//! improvement: the small piece of Bayesian optimisation `tune` needs.
//!
//! The kernel is Matérn 5/2 with one length scale for every dimension
//! (policies have at most a handful of parameters, and a few dozen
//! evaluations cannot pin a length per dimension); the length and the noise
//! are picked from a fixed grid by the marginal likelihood, so a fit is a
//! pure function of its data. Targets are standardised before the fit.

/// Length scales tried, in unit-cube units.
const LENGTHS: [f64; 7] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2];
/// Noise variances tried, relative to the standardised targets' unit
/// variance: simulations are deterministic per seed, but an objective over
/// a few seeds is a noisy view of the policy.
const NOISES: [f64; 4] = [1e-6, 1e-3, 1e-2, 1e-1];

/// A fitted Gaussian process.
#[derive(Debug, Clone)]
pub struct Gp {
    xs: Vec<Vec<f64>>,
    /// Lower Cholesky factor of K + noise·I.
    chol: Vec<Vec<f64>>,
    /// (K + noise·I)⁻¹ (y − mean) / scale.
    alpha: Vec<f64>,
    mean: f64,
    scale: f64,
    length: f64,
    noise: f64,
}

/// Matérn 5/2 correlation at distance `r` for length `l`.
fn matern52(r: f64, l: f64) -> f64 {
    let s = 5f64.sqrt() * r / l;
    (1.0 + s + s * s / 3.0) * (-s).exp()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// The lower Cholesky factor of a symmetric matrix; `None` when it is not
/// positive definite.
fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Solves L z = b (forward substitution).
fn forward(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; b.len()];
    for i in 0..b.len() {
        let s: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
        z[i] = (b[i] - s) / l[i][i];
    }
    z
}

/// Solves Lᵀ x = z (back substitution).
fn backward(l: &[Vec<f64>], z: &[f64]) -> Vec<f64> {
    let n = z.len();
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k][i] * x[k]).sum();
        x[i] = (z[i] - s) / l[i][i];
    }
    x
}

impl Gp {
    /// Fits `ys` at `xs` (points of the unit cube, all the same dimension).
    /// `None` without data.
    pub fn fit(xs: &[Vec<f64>], ys: &[f64]) -> Option<Gp> {
        if xs.is_empty() || xs.len() != ys.len() {
            return None;
        }
        let n = ys.len() as f64;
        let mean = ys.iter().sum::<f64>() / n;
        let var = ys.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / n;
        // Flat data: any scale will do, and the process predicts the mean.
        let scale = if var > 1e-12 { var.sqrt() } else { 1.0 };
        let y: Vec<f64> = ys.iter().map(|v| (v - mean) / scale).collect();
        let mut best: Option<(f64, Gp)> = None;
        for &length in &LENGTHS {
            for &noise in &NOISES {
                let k: Vec<Vec<f64>> = xs
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        xs.iter()
                            .enumerate()
                            .map(|(j, b)| {
                                matern52(distance(a, b), length) + if i == j { noise } else { 0.0 }
                            })
                            .collect()
                    })
                    .collect();
                let Some(chol) = cholesky(&k) else { continue };
                let alpha = backward(&chol, &forward(&chol, &y));
                // log p(y) = -½ yᵀα − Σ log Lᵢᵢ − n/2 log 2π; the constant is dropped.
                let fit = -0.5 * y.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>()
                    - (0..chol.len()).map(|i| chol[i][i].ln()).sum::<f64>();
                if best.as_ref().is_none_or(|(f, _)| fit > *f) {
                    best = Some((
                        fit,
                        Gp {
                            xs: xs.to_vec(),
                            chol,
                            alpha,
                            mean,
                            scale,
                            length,
                            noise,
                        },
                    ));
                }
            }
        }
        best.map(|(_, gp)| gp)
    }

    /// The posterior mean and standard deviation at `x`.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let k: Vec<f64> = self
            .xs
            .iter()
            .map(|a| matern52(distance(a, x), self.length))
            .collect();
        let mu = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum::<f64>();
        let v = forward(&self.chol, &k);
        let var = (1.0 + self.noise - v.iter().map(|z| z * z).sum::<f64>()).max(1e-12);
        (self.mean + self.scale * mu, self.scale * var.sqrt())
    }

    /// The length scale the marginal likelihood chose.
    pub fn length(&self) -> f64 {
        self.length
    }
}

/// Expected improvement below `best` (we minimise) of a prediction.
pub fn expected_improvement(mean: f64, sd: f64, best: f64) -> f64 {
    if sd <= 1e-12 {
        return (best - mean).max(0.0);
    }
    let z = (best - mean) / sd;
    (best - mean) * normal_cdf(z) + sd * normal_pdf(z)
}

fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// The complementary error function, to about 1.2e-7 everywhere
/// (Numerical Recipes' Chebyshev fit).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_distribution_is_right_to_six_places() {
        for (z, cdf) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746),
            (-1.0, 0.158_655_254),
            (1.959_963_985, 0.975),
            (-3.0, 0.001_349_898),
        ] {
            assert!((normal_cdf(z) - cdf).abs() < 1e-6, "Φ({z})");
        }
        assert!((normal_pdf(0.0) - 0.398_942_280).abs() < 1e-9);
    }

    #[test]
    fn cholesky_solves_and_refuses_what_is_not_positive_definite() {
        let a = vec![vec![4.0, 2.0], vec![2.0, 3.0]];
        let l = cholesky(&a).unwrap();
        let x = backward(&l, &forward(&l, &[2.0, 1.0]));
        // A x = b
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
        assert!(cholesky(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_none());
    }

    #[test]
    fn the_process_interpolates_its_data_and_is_unsure_away_from_it() {
        let xs: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64 / 5.0]).collect();
        let ys: Vec<f64> = xs.iter().map(|x| (6.0 * x[0]).sin()).collect();
        let gp = Gp::fit(&xs, &ys).unwrap();
        for (x, y) in xs.iter().zip(&ys) {
            let (m, sd) = gp.predict(x);
            assert!((m - y).abs() < 0.05, "at {x:?}: {m} vs {y}");
            assert!(sd < 0.2, "at {x:?}: sd {sd}");
        }
        let (_, near) = gp.predict(&[0.1]);
        let (_, far) = gp.predict(&[3.0]);
        assert!(far > near, "{far} > {near}");
        // Between the samples the curve is followed, not just the nearest point.
        let (m, _) = gp.predict(&[0.5]);
        assert!((m - 3f64.sin()).abs() < 0.15, "{m}");
    }

    #[test]
    fn flat_data_predicts_its_value() {
        let xs = vec![vec![0.1, 0.2], vec![0.8, 0.9], vec![0.5, 0.5]];
        let gp = Gp::fit(&xs, &[0.4, 0.4, 0.4]).unwrap();
        let (m, _) = gp.predict(&[0.3, 0.7]);
        assert!((m - 0.4).abs() < 1e-9, "{m}");
        assert!(Gp::fit(&[], &[]).is_none());
    }

    #[test]
    fn expected_improvement_prefers_a_low_mean_then_uncertainty() {
        let best = 1.0;
        assert!(expected_improvement(0.5, 0.1, best) > expected_improvement(0.9, 0.1, best));
        assert!(expected_improvement(1.0, 0.5, best) > expected_improvement(1.0, 0.1, best));
        assert_eq!(expected_improvement(2.0, 0.0, best), 0.0);
        assert!(expected_improvement(3.0, 0.01, best) < 1e-12);
        // At the incumbent with sd s, EI is s·φ(0).
        let ei = expected_improvement(best, 0.3, best);
        assert!((ei - 0.3 * normal_pdf(0.0)).abs() < 1e-9);
    }

    #[test]
    fn minimising_by_expected_improvement_finds_a_valley() {
        // A 2-D bowl with its floor at (0.7, 0.2): a handful of EI steps
        // from four corners should land near it.
        let f = |x: &[f64]| (x[0] - 0.7).powi(2) + (x[1] - 0.2).powi(2);
        let mut xs = vec![
            vec![0.0, 0.0],
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![1.0, 1.0],
        ];
        let mut ys: Vec<f64> = xs.iter().map(|x| f(x)).collect();
        let grid: Vec<Vec<f64>> = (0..=40)
            .flat_map(|i| (0..=40).map(move |j| vec![i as f64 / 40.0, j as f64 / 40.0]))
            .collect();
        for _ in 0..12 {
            let gp = Gp::fit(&xs, &ys).unwrap();
            let best = ys.iter().cloned().fold(f64::INFINITY, f64::min);
            let next = grid
                .iter()
                .max_by(|a, b| {
                    let (ma, sa) = gp.predict(a);
                    let (mb, sb) = gp.predict(b);
                    expected_improvement(ma, sa, best)
                        .total_cmp(&expected_improvement(mb, sb, best))
                })
                .unwrap()
                .clone();
            ys.push(f(&next));
            xs.push(next);
        }
        let best = ys.iter().cloned().fold(f64::INFINITY, f64::min);
        assert!(best < 0.01, "best {best}");
    }
}
