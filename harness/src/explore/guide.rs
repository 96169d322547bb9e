//! What the default strategy learns between batches, beyond each arm's own
//! rewards: evidence shared between cells of one template and between
//! targets of one fault kind, and proposals around the best near misses.
//!
//! A bandit over ~50 independent cells with a budget of ~50 runs can only
//! sweep. Two things make a small budget count:
//!
//! * **Shared priors.** An untried (or little-tried) cell starts from the
//!   mean stress of its template, which itself starts from the mean stress
//!   of its fault kind on every target and of every fault on its target
//!   (host), which start from the mean of all runs: a hierarchy of
//!   shrinkage estimates ([`Evidence::prior`]). A template that has shown
//!   nothing pulls its untried cells down; one that came close pulls them
//!   up, and so does a host where another kind of fault came close.
//! * **Near-miss proposals.** Most of a batch after the first (less as
//!   more runs tip) is drawn around the most stressed runs so far ([`Evidence::propose`]): a point
//!   moved a little (or grown longer and larger), the same fault on
//!   another target of its kind, or a near miss joined with a second fault
//!   into one compound schedule, the second starting during or just after
//!   the first (partners are swept over the templates least tried as
//!   partners, or drawn from the near misses of other kinds). An elite
//!   whose arm has already tipped counts for less each time it tips again,
//!   so the budget moves on to other failure modes.
//!
//! The explorer adds *group probes* (several cells on different hosts in one
//! run, from the second batch while nothing has tipped) from the bandit's
//! own draws.
//!
//! Everything here is a pure function of the evidence and the random
//! numbers it is given, so choices are the same for any `--jobs`.

use super::settings::SETTINGS;
use hormesis_faults::space::Space;
use std::collections::BTreeMap;

/// One fault of a proposal: a template and a point of its space (on the grid).
pub type Placed = (usize, Vec<f64>);

/// One finished run, as the guide remembers it.
#[derive(Debug, Clone)]
pub struct Tried {
    pub events: Vec<Placed>,
    pub stress: f64,
    /// The run's arm label: its identity as a failure mode.
    pub arm: String,
    pub tipped: bool,
}

/// The evidence so far.
#[derive(Debug, Default)]
pub struct Evidence {
    tried: Vec<Tried>,
    /// Tips per arm (a compound's parts each count): kept as runs are
    /// recorded, so long explorations do not rescan every run per choice.
    tips: BTreeMap<String, u32>,
    tipped: usize,
}

/// Running sums of stress.
#[derive(Debug, Default, Clone, Copy)]
struct Sum {
    n: f64,
    total: f64,
}

impl Sum {
    fn add(&mut self, v: f64) {
        self.n += 1.0;
        self.total += v;
    }

    /// The mean shrunk toward `parent` by
    /// [`Settings::shrink_runs`](super::settings::Settings::shrink_runs)
    /// pseudo-runs.
    fn shrunk(&self, parent: f64) -> f64 {
        let k = SETTINGS.shrink_runs;
        (self.total + k * parent) / (self.n + k)
    }
}

impl Evidence {
    pub fn record(&mut self, tried: Tried) {
        if tried.tipped {
            self.tipped += 1;
            for part in tried.arm.split(" + ") {
                *self.tips.entry(part.to_string()).or_default() += 1;
            }
        }
        self.tried.push(tried);
    }

    /// The shared prior mean stress of every template of `space`, from the
    /// single-event runs of its own, of its kind, and of all.
    pub fn prior<'a>(&'a self, space: &'a Space) -> Vec<f64> {
        let mut all = Sum::default();
        let mut by_template = vec![Sum::default(); space.templates.len()];
        let mut by_kind: Vec<(&str, Sum)> = Vec::new();
        let mut by_site: Vec<(&str, Sum)> = Vec::new();
        let add = |groups: &mut Vec<(&'a str, Sum)>, name: &'a str, v: f64| match groups
            .iter_mut()
            .find(|(k, _)| *k == name)
        {
            Some((_, s)) => s.add(v),
            None => {
                let mut s = Sum::default();
                s.add(v);
                groups.push((name, s));
            }
        };
        for t in &self.tried {
            let [(template, _)] = t.events.as_slice() else {
                continue;
            };
            all.add(t.stress);
            by_template[*template].add(t.stress);
            let template = &space.templates[*template];
            add(&mut by_kind, template.kind(), t.stress);
            if let Some(site) = template.site() {
                add(&mut by_site, site, t.stress);
            }
        }
        // With no evidence at all the prior is Beta(1, 1)'s mean.
        let global = all.shrunk(0.5);
        let level = |groups: &[(&str, Sum)], name: Option<&str>| {
            name.map(|n| {
                groups
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map_or(global, |(_, s)| s.shrunk(global))
            })
        };
        space
            .templates
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let kind = level(&by_kind, Some(t.kind())).unwrap_or(global);
                // A template with a site hears from its kind and its site
                // alike: the larger speaks louder (a near miss stands out).
                let parent = match level(&by_site, t.site()) {
                    Some(site) => kind.max(site) * 0.75 + kind.min(site) * 0.25,
                    None => kind,
                };
                by_template[i].shrunk(parent)
            })
            .collect()
    }

    /// How many runs have tipped so far.
    pub fn tipped(&self) -> usize {
        self.tipped
    }

    /// How many runs of `arm` (or with it among a compound's parts) have
    /// tipped so far.
    pub fn tips_of(&self, arm: &str) -> u32 {
        self.tips.get(arm).copied().unwrap_or(0)
    }

    /// The near misses worth building on, best first, with their weight:
    /// stress discounted by how often their arm, or an arm among their
    /// faults' (a compound's parts), has tipped already.
    fn elites(&self) -> Vec<(usize, f64)> {
        let mut ranked: Vec<(usize, f64)> = self
            .tried
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let repeats: u32 = t.arm.split(" + ").map(|part| self.tips_of(part)).sum();
                (i, t.stress * 0.7f64.powi(repeats.min(20) as i32))
            })
            .collect();
        let order = |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let keep = (self.tried.len() / 5).clamp(3, 12);
        if ranked.len() > keep {
            // Only the best few are kept: select them, then order them.
            ranked.select_nth_unstable_by(keep - 1, order);
            ranked.truncate(keep);
        }
        ranked.sort_by(order);
        ranked
    }

    /// A proposal around the near misses: one or more placed faults. The
    /// caller checks a compound against the schedule rules and falls back
    /// to a single fault when it is refused.
    pub fn propose(&self, space: &Space, uniform: &mut dyn FnMut() -> f64) -> Vec<Placed> {
        let elites = self.elites();
        let parent = &self.tried[pick_ranked(&elites, uniform())];
        // A compound adds to a stressor that did not tip: adding a fault
        // to a known trigger finds nothing new.
        if uniform() < SETTINGS.compound_share {
            let misses: Vec<(usize, f64)> = elites
                .iter()
                .copied()
                .filter(|(i, _)| !self.tried[*i].tipped)
                .collect();
            if !misses.is_empty() {
                let parent = &self.tried[pick_ranked(&misses, uniform())];
                if let Some(compound) = self.compound(space, parent, &elites, uniform) {
                    return compound;
                }
            }
        }
        if parent.events.len() > 1 && uniform() < 0.3 {
            // A compound that came close: does one of its faults suffice?
            let keep =
                ((uniform() * parent.events.len() as f64) as usize).min(parent.events.len() - 1);
            return vec![parent.events[keep].clone()];
        }
        parent
            .events
            .iter()
            .map(|(template, point)| {
                let mut template = *template;
                if parent.events.len() == 1 && uniform() < 0.15 {
                    template = same_kind_elsewhere(space, template, uniform());
                }
                (template, mutate(space, template, point, uniform))
            })
            .collect()
    }

    /// `parent` joined with a near miss of another template (or, when no
    /// other template has been tried, a fresh point of one), onsets close.
    fn compound(
        &self,
        space: &Space,
        parent: &Tried,
        elites: &[(usize, f64)],
        uniform: &mut dyn FnMut() -> f64,
    ) -> Option<Vec<Placed>> {
        if parent.events.len() >= 3 || space.templates.len() < 2 {
            return None;
        }
        let used: Vec<usize> = parent.events.iter().map(|(t, _)| *t).collect();
        let partners: Vec<(usize, f64)> = elites
            .iter()
            .copied()
            .filter(|(i, _)| {
                let t = &self.tried[*i];
                t.events.len() == 1 && !used.contains(&t.events[0].0)
            })
            .collect();
        let (template, point) = if !partners.is_empty() && uniform() < 0.7 {
            self.tried[pick_ranked(&partners, uniform())].events[0].clone()
        } else {
            let others: Vec<usize> = (0..space.templates.len())
                .filter(|t| !used.contains(t))
                .collect();
            let template =
                others[((uniform() * others.len() as f64) as usize).min(others.len() - 1)];
            let cells: Vec<_> = space
                .cells
                .iter()
                .filter(|c| c.template == template)
                .collect();
            let cell = cells[((uniform() * cells.len() as f64) as usize).min(cells.len() - 1)];
            (template, space.sample_point(cell, uniform))
        };
        // Start the partner while the parent's first fault lasts or just
        // after it ends: from a fifth of its length before it to its end.
        let (first_template, first) = &parent.events[0];
        let length = if space.templates[*first_template].duration.is_some() {
            first[1]
        } else {
            5.0
        };
        let mut point = point;
        point[0] = first[0] + (uniform() * 1.2 - 0.2) * length;
        let point = space.templates[template].snap(&point);
        let mut events = parent.events.clone();
        events.push((template, point));
        Some(events)
    }
}

/// An index of `ranked` with probability falling linearly with rank.
fn pick_ranked(ranked: &[(usize, f64)], u: f64) -> usize {
    let k = ranked.len();
    let total = (k * (k + 1) / 2) as f64;
    let mut x = u * total;
    for (rank, (i, _)) in ranked.iter().enumerate() {
        let w = (k - rank) as f64;
        if x < w {
            return *i;
        }
        x -= w;
    }
    ranked[k - 1].0
}

/// Another template of the same kind (the same fault on another host),
/// chosen with `u`; the template itself when it has no sibling.
fn same_kind_elsewhere(space: &Space, template: usize, u: f64) -> usize {
    let kind = space.templates[template].kind();
    let dims = space.templates[template].dims().len();
    let siblings: Vec<usize> = (0..space.templates.len())
        .filter(|&t| {
            t != template
                && space.templates[t].kind() == kind
                && space.templates[t].dims().len() == dims
        })
        .collect();
    if siblings.is_empty() {
        return template;
    }
    siblings[((u * siblings.len() as f64) as usize).min(siblings.len() - 1)]
}

/// `point` moved by a Gaussian step of a tenth of each range (a third, one
/// time in four), or one time in four grown: longer and larger only.
fn mutate(
    space: &Space,
    template: usize,
    point: &[f64],
    uniform: &mut dyn FnMut() -> f64,
) -> Vec<f64> {
    let dims = space.templates[template].dims();
    // A point of another template of the kind may have other dimensions.
    let point = &space.templates[template].snap(point);
    let wide = uniform() < 0.25;
    let grow = uniform() < 0.25;
    let sigma = if wide { 0.3 } else { 0.1 };
    let moved: Vec<f64> = dims
        .iter()
        .zip(point)
        .enumerate()
        .map(|(i, (d, &v))| {
            let step = normal(uniform) * sigma * (d.hi - d.lo);
            let step = if grow && i > 0 { step.abs() } else { step };
            // Onsets rarely decide a verdict: move them less.
            let step = if i == 0 { step / 2.0 } else { step };
            v + step
        })
        .collect();
    let snapped = space.templates[template].snap(&moved);
    if &snapped == point && dims.len() > 1 {
        // Too small a step to leave the grid point: take one grid step.
        let mut p = snapped;
        let i = 1 + ((uniform() * (dims.len() - 1) as f64) as usize).min(dims.len() - 2);
        let dir = if uniform() < 0.5 { -1.0 } else { 1.0 };
        p[i] = dims[i].snap(p[i] + dir * dims[i].step);
        return p;
    }
    snapped
}

/// Standard normal by Box–Muller from two uniforms.
fn normal(uniform: &mut dyn FnMut() -> f64) -> f64 {
    let u1 = 1.0 - uniform();
    let u2 = uniform();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::proposers::testing::{space, template};
    use hormesis_faults::{KnobKind, KnobSpec, Target};
    use std::time::Duration;

    fn uniforms(seed: u64) -> impl FnMut() -> f64 {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(seed);
        move || rng.random::<f64>()
    }

    fn tried(space: &Space, name: &str, point: Vec<f64>, stress: f64) -> Tried {
        Tried {
            events: vec![(template(space, name), point)],
            stress,
            arm: name.into(),
            tipped: stress >= 0.75,
        }
    }

    #[test]
    fn evidence_about_a_kind_on_one_target_moves_the_prior_of_the_others() {
        let s = space();
        let mut e = Evidence::default();
        let none = e.prior(&s);
        assert!(none.iter().all(|&p| p == 0.5), "no evidence: Beta(1, 1)");
        for _ in 0..4 {
            e.record(tried(&s, "latency host=a", vec![40.0, 10.0, 500.0], 0.45));
            e.record(tried(&s, "loss host=a", vec![40.0, 10.0, 0.2], 0.02));
        }
        let p = e.prior(&s);
        let latency_b = p[template(&s, "latency host=b")];
        let loss_b = p[template(&s, "loss host=b")];
        let crash_b = p[template(&s, "crash host=b")];
        // Untried on b: latency inherits a's near misses, loss its calm.
        assert!(
            latency_b > crash_b && crash_b > loss_b,
            "{latency_b} {crash_b} {loss_b}"
        );
        // The tried template believes its own runs more than its kind's.
        assert!(p[template(&s, "latency host=a")] > latency_b);
    }

    #[test]
    fn proposals_stay_valid_and_near_the_best_near_miss() {
        let s = space();
        let mut e = Evidence::default();
        let latency = template(&s, "latency host=b");
        e.record(tried(&s, "latency host=b", vec![45.0, 12.0, 300.0], 0.4));
        for (i, name) in ["loss host=a", "crash host=c", "hold a|rest", "load-spike"]
            .iter()
            .enumerate()
        {
            let t = &s.templates[template(&s, name)];
            let point: Vec<f64> = t.dims().iter().map(|d| d.lo).collect();
            e.record(tried(&s, name, point, 0.01 * i as f64));
        }
        let mut u = uniforms(7);
        let (mut near, mut compounds, mut n) = (0, 0, 0);
        for _ in 0..400 {
            let p = e.propose(&s, &mut u);
            assert!(!p.is_empty() && p.len() <= 3);
            for (t, point) in &p {
                assert_eq!(&s.templates[*t].snap(point), point, "on the grid");
                let events: Vec<_> = p.iter().map(|(t, x)| s.templates[*t].event(x)).collect();
                assert!(!events.is_empty());
            }
            n += 1;
            compounds += usize::from(p.len() > 1);
            if p[0].0 == latency && (p[0].1[2] - 300.0).abs() <= 600.0 {
                near += 1;
            }
        }
        // Rank-weighted: the best of five parents is drawn most, and its
        // children stay close; some proposals are compounds.
        assert!(near * 4 > n, "{near}/{n} near the best near miss");
        assert!(
            compounds * 10 > n && compounds * 2 < n,
            "{compounds}/{n} compounds"
        );
    }

    #[test]
    fn an_arm_that_keeps_tipping_yields_to_other_near_misses() {
        let s = space();
        let mut e = Evidence::default();
        for _ in 0..6 {
            e.record(tried(&s, "crash host=a", vec![40.0, 10.0], 0.9));
        }
        e.record(tried(&s, "latency host=c", vec![40.0, 10.0, 300.0], 0.4));
        let elites = e.elites();
        assert_eq!(
            elites[0].0, 6,
            "the near miss outranks an arm found six times"
        );
    }

    /// Every proposal from every kind of parent (value and action knobs,
    /// faults with and without a magnitude, compounds of them) is a point
    /// of its own template: no parent's shape leaks into another's.
    #[test]
    fn proposals_fit_their_templates_whatever_the_parents() {
        let target = Target {
            hosts: vec!["a".into(), "b".into()],
            clients: vec!["client-1".into()],
            knobs: vec![
                KnobSpec {
                    name: "flush".into(),
                    kind: KnobKind::Action,
                    help: String::new(),
                },
                KnobSpec {
                    name: "slow".into(),
                    kind: KnobKind::Value {
                        min: 1.0,
                        max: 100.0,
                        default: 10.0,
                    },
                    help: String::new(),
                },
            ],
            latest_end: Duration::from_secs(3000),
        };
        let s = Space::new(&target, Duration::from_secs(30));
        assert_ne!(
            s.templates[template(&s, "knob flush")].kind(),
            s.templates[template(&s, "knob slow")].kind()
        );
        let mut e = Evidence::default();
        let mut u = uniforms(3);
        for (i, t) in s.templates.iter().enumerate() {
            let point: Vec<f64> = t.dims().iter().map(|d| d.hi).collect();
            e.record(tried(&s, &t.name, point, 0.1 + 0.01 * i as f64));
        }
        for _ in 0..2000 {
            let p = e.propose(&s, &mut u);
            for (t, point) in &p {
                assert_eq!(point.len(), s.templates[*t].dims().len(), "{p:?}");
                assert_eq!(&s.templates[*t].snap(point), point);
            }
            e.record(Tried {
                arm: "x".into(),
                events: p,
                stress: 0.3,
                tipped: false,
            });
        }
    }

    #[test]
    fn the_pick_is_linear_in_rank() {
        let ranked = [(10, 0.9), (11, 0.5), (12, 0.1)];
        let picks: Vec<usize> = (0..6)
            .map(|k| pick_ranked(&ranked, k as f64 / 6.0))
            .collect();
        assert_eq!(picks, [10, 10, 10, 11, 11, 12]);
    }
}
