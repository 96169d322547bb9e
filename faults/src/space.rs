//! The explorer's arms: fault templates (a kind aimed at a target) and the
//! boxes ("cells") of their parameter space (onset, duration, magnitude).
//!
//! Tipping boundaries are sharp (a 9 s spike recovers, a 10 s one does
//! not), so cells start coarse and are split where evidence disagrees: a
//! cell whose runs both tip and do not tip the system straddles the
//! boundary, and its halves are sampled separately.
//!
//! Sampling takes a source of uniform numbers rather than an rng, so this
//! crate stays free of randomness; every value lands on its dimension's grid.

use crate::{Event, Fault, HostGroups, KnobKind, LinkTarget, Target};
use std::time::Duration;

/// One dimension of a template's space, on a grid of `step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// The smallest value.
    pub lo: f64,
    /// The largest value.
    pub hi: f64,
    /// The grid every value lands on.
    pub step: f64,
}

impl Span {
    const fn new(lo: f64, hi: f64, step: f64) -> Span {
        Span { lo, hi, step }
    }

    /// `v` on the span's grid, within the span.
    pub fn snap(&self, v: f64) -> f64 {
        let snapped = self.lo + ((v - self.lo) / self.step).round() * self.step;
        round6(snapped).clamp(self.lo, self.hi)
    }
}

/// What a template injects.
#[derive(Debug, Clone, PartialEq)]
pub enum Aim {
    /// A spike of the offered load.
    LoadSpike,
    /// A stepped rise of the offered load.
    LoadStep,
    /// One service host crashed.
    Crash(String),
    /// Every link of one host slowed.
    Latency(String),
    /// Every link of one host losing messages.
    Loss(String),
    /// A host cut off from every other node.
    Partition(HostGroups),
    /// Messages between two groups held back.
    Hold(HostGroups),
    /// A value knob raised above its default.
    Knob(String),
    /// A value knob whose harm grows as it falls (a capacity): the magnitude
    /// is how far below `from`, its default, the value is held, so a larger
    /// magnitude is a stronger fault as for every other aim.
    KnobCut {
        /// The knob's name.
        knob: String,
        /// Its default: the magnitude is measured down from here.
        from: f64,
    },
    /// An action knob: fires once, no duration or magnitude.
    Action(String),
}

/// A fault template: a kind aimed at a target, and the ranges of its
/// onset (seconds), duration (seconds) and magnitude.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// A stable, readable name, e.g. `latency host=server`.
    pub name: String,
    /// What it injects, where.
    pub aim: Aim,
    /// When the fault may start, seconds.
    pub onset: Span,
    /// How long it may last, seconds; `None` for an action.
    pub duration: Option<Span>,
    /// How strong it may be, in its aim's unit; `None` when it has no strength.
    pub magnitude: Option<Span>,
}

impl Template {
    /// The dimensions of a point: onset, then duration and magnitude where
    /// the template has them.
    pub fn dims(&self) -> Vec<Span> {
        let mut d = vec![self.onset];
        d.extend(self.duration);
        d.extend(self.magnitude);
        d
    }

    /// What the template does, whatever it aims at: `latency` for every
    /// `latency host=…` template. Evidence about one target is evidence
    /// about the same kind on the others.
    pub fn kind(&self) -> &str {
        match &self.aim {
            // A knob is a kind of its own: two knobs share nothing.
            Aim::Knob(_) | Aim::KnobCut { .. } | Aim::Action(_) => &self.name,
            _ => self.name.split(' ').next().unwrap_or(&self.name),
        }
    }

    /// The host or link the template aims at (`server` for `latency
    /// host=server` and `partition server|rest`), if it aims at one.
    /// Evidence about one fault on a host is evidence about the others there.
    pub fn site(&self) -> Option<&str> {
        match &self.aim {
            Aim::Crash(h) | Aim::Latency(h) | Aim::Loss(h) => Some(h),
            Aim::Partition(g) | Aim::Hold(g) => g.a.first().map(String::as_str),
            _ => None,
        }
    }

    /// `point` moved onto the grid and into the template's ranges, one
    /// value per dimension (a missing value is the dimension's lowest).
    pub fn snap(&self, point: &[f64]) -> Vec<f64> {
        self.dims()
            .iter()
            .enumerate()
            .map(|(i, d)| d.snap(point.get(i).copied().unwrap_or(d.lo)))
            .collect()
    }

    /// What a fault of this template holds at `magnitude`, in the fault's
    /// own terms: the magnitude itself, but for a capacity knob the value
    /// that far below its default.
    pub fn value_of(&self, magnitude: f64) -> f64 {
        match &self.aim {
            Aim::KnobCut { from, .. } => round6(from - magnitude),
            _ => magnitude,
        }
    }

    /// The event at a point of the space (values already on the grid).
    pub fn event(&self, point: &[f64]) -> Event {
        let at = secs(point[0]);
        let mut rest = point[1..].iter().copied();
        let duration = self.duration.map(|_| secs(rest.next().unwrap_or(1.0)));
        let magnitude = self.magnitude.map(|_| rest.next().unwrap_or(1.0));
        let m = magnitude.unwrap_or(1.0);
        let fault = match &self.aim {
            Aim::LoadSpike => Fault::LoadSpike { factor: m },
            Aim::LoadStep => Fault::LoadStep {
                factor: m,
                steps: 4,
            },
            Aim::Crash(h) => Fault::Crash { host: h.clone() },
            Aim::Latency(h) => Fault::Latency {
                target: LinkTarget::Host(h.clone()),
                delay: Duration::from_millis(m.round() as u64),
            },
            Aim::Loss(h) => Fault::Loss {
                target: LinkTarget::Host(h.clone()),
                rate: m,
            },
            Aim::Partition(g) => Fault::Partition {
                between: g.clone(),
                oneway: false,
            },
            Aim::Hold(g) => Fault::Hold { between: g.clone() },
            Aim::Knob(k) => Fault::Knob {
                knob: k.clone(),
                value: Some(m),
            },
            Aim::KnobCut { knob, .. } => Fault::Knob {
                knob: knob.clone(),
                value: Some(self.value_of(m)),
            },
            Aim::Action(k) => Fault::Knob {
                knob: k.clone(),
                value: None,
            },
        };
        Event::new(at, duration, fault)
    }
}

/// `v` without float noise, so a value prints as written (0.3, not
/// 0.30000000000000004).
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn secs(v: f64) -> Duration {
    Duration::from_millis((v * 1000.0).round() as u64)
}

/// A box in one template's space: the unit a bandit chooses.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Index of its template in [`Space::templates`].
    pub template: usize,
    /// The initial cell this one was split from (itself for initial cells):
    /// a stable identity for counting distinct findings.
    pub root: usize,
    /// The box's low corner, one value per dimension of its template.
    pub lo: Vec<f64>,
    /// The box's high corner.
    pub hi: Vec<f64>,
    /// How many splits from its initial cell.
    pub depth: u32,
}

/// Every template of a target, with its initial cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    /// Every template, in a stable order.
    pub templates: Vec<Template>,
    /// The initial cells of every template.
    pub cells: Vec<Cell>,
}

/// How fine cells may get: a split needs at least this many grid steps.
const MIN_STEPS_TO_SPLIT: f64 = 2.0;

impl Space {
    /// The templates for a target, with onsets in `[earliest, earliest + 30s]`.
    pub fn new(target: &Target, earliest: Duration) -> Space {
        let e = earliest.as_secs_f64();
        // Onsets over 30 s and durations up to 30 s, clipped so that every
        // event the space can draw ends by `target.latest_end` (what the
        // schedule's validation accepts): a long horizon or warm-up shrinks
        // the space rather than producing schedules that are refused.
        let room = target.latest_end.as_secs_f64() - e;
        if room < 1.0 {
            return Space {
                templates: Vec::new(),
                cells: Vec::new(),
            };
        }
        let onset_width = 30.0f64.min(((room - 1.0) / 2.0).floor().max(0.0));
        let onset = Span::new(e, e + onset_width, 1.0);
        let duration = Some(Span::new(
            1.0,
            30.0f64.min((room - onset_width).floor()),
            1.0,
        ));
        let mut t = vec![
            Template {
                name: "load-spike".into(),
                aim: Aim::LoadSpike,
                onset,
                duration,
                magnitude: Some(Span::new(1.2, 5.0, 0.1)),
            },
            Template {
                name: "load-step".into(),
                aim: Aim::LoadStep,
                onset,
                duration,
                magnitude: Some(Span::new(1.2, 5.0, 0.1)),
            },
        ];
        let nodes: Vec<&String> = target.hosts.iter().chain(&target.clients).collect();
        for h in &target.hosts {
            let others: Vec<String> = nodes
                .iter()
                .filter(|n| *n != &h)
                .map(|n| n.to_string())
                .collect();
            let cut = HostGroups::new(vec![h.clone()], others);
            t.push(Template {
                name: format!("crash host={h}"),
                aim: Aim::Crash(h.clone()),
                onset,
                duration,
                magnitude: None,
            });
            t.push(Template {
                name: format!("latency host={h}"),
                aim: Aim::Latency(h.clone()),
                onset,
                duration,
                magnitude: Some(Span::new(20.0, 2000.0, 10.0)),
            });
            t.push(Template {
                name: format!("loss host={h}"),
                aim: Aim::Loss(h.clone()),
                onset,
                duration,
                magnitude: Some(Span::new(0.01, 0.5, 0.01)),
            });
            t.push(Template {
                name: format!("partition {h}|rest"),
                aim: Aim::Partition(cut.clone()),
                onset,
                duration,
                magnitude: None,
            });
            t.push(Template {
                name: format!("hold {h}|rest"),
                aim: Aim::Hold(cut),
                onset,
                duration,
                magnitude: None,
            });
        }
        for k in &target.knobs {
            match k.kind {
                KnobKind::Action => t.push(Template {
                    name: format!("knob {}", k.name),
                    aim: Aim::Action(k.name.clone()),
                    onset,
                    duration: None,
                    magnitude: None,
                }),
                KnobKind::Value { min, max, default } => {
                    // Up to ten times the default (or the whole range above
                    // it); a knob declared with no room above its default is
                    // a capacity, lowered down to a tenth of the default (or
                    // its min).
                    let hi = if default > 0.0 {
                        (default * 10.0).min(max)
                    } else {
                        max
                    };
                    let step = ((hi - default) / 50.0).max(1e-6);
                    let lo = if default > 0.0 {
                        (default / 10.0).max(min)
                    } else {
                        min
                    };
                    let cut_step = ((default - lo) / 50.0).max(1e-6);
                    if hi > default + step {
                        t.push(Template {
                            name: format!("knob {}", k.name),
                            aim: Aim::Knob(k.name.clone()),
                            onset,
                            duration,
                            magnitude: Some(Span::new((default + step).max(min), hi, step)),
                        });
                    } else if lo < default - cut_step {
                        t.push(Template {
                            name: format!("knob {}", k.name),
                            aim: Aim::KnobCut {
                                knob: k.name.clone(),
                                from: default,
                            },
                            onset,
                            duration,
                            magnitude: Some(Span::new(cut_step, default - lo, cut_step)),
                        });
                    }
                }
            }
        }
        let mut cells = Vec::new();
        for (i, template) in t.iter().enumerate() {
            // Initial cells: halves of duration × halves of magnitude.
            let dims = template.dims();
            let mut boxes = vec![(
                dims.iter().map(|d| d.lo).collect::<Vec<_>>(),
                dims.iter().map(|d| d.hi).collect::<Vec<_>>(),
            )];
            for dim in 1..dims.len() {
                boxes = boxes
                    .into_iter()
                    .flat_map(|(lo, hi)| {
                        let mid = dims[dim].snap((lo[dim] + hi[dim]) / 2.0);
                        let (mut lo2, mut hi1) = (lo.clone(), hi.clone());
                        hi1[dim] = mid;
                        lo2[dim] = mid;
                        [(lo, hi1), (lo2, hi)]
                    })
                    .collect();
            }
            for (lo, hi) in boxes {
                let root = cells.len();
                cells.push(Cell {
                    template: i,
                    root,
                    lo,
                    hi,
                    depth: 0,
                });
            }
        }
        Space {
            templates: t,
            cells,
        }
    }

    /// A readable label of a cell, e.g. `load-spike for=1s..15s factor=1.2..3.1`.
    pub fn label(&self, cell: &Cell) -> String {
        let t = &self.templates[cell.template];
        let mut out = t.name.clone();
        let mut dim = 1;
        if t.duration.is_some() {
            out += &format!(" for={}s..{}s", cell.lo[dim], cell.hi[dim]);
            dim += 1;
        }
        if t.magnitude.is_some() {
            let (lo, hi) = (cell.lo[dim], cell.hi[dim]);
            match t.aim {
                // The values held, lowest first: a larger cut is a lower value.
                Aim::KnobCut { .. } => {
                    out += &format!(" value={}..{}", t.value_of(hi), t.value_of(lo));
                }
                _ => {
                    let what = match t.aim {
                        Aim::LoadSpike | Aim::LoadStep => "factor",
                        Aim::Latency(_) => "delay_ms",
                        Aim::Loss(_) => "rate",
                        _ => "value",
                    };
                    out += &format!(" {what}={lo}..{hi}");
                }
            }
        }
        out
    }

    /// A point of `cell`, drawn with `uniform` (values in [0, 1)) and
    /// snapped to the grid: the event to run.
    pub fn sample(&self, cell: &Cell, uniform: &mut dyn FnMut() -> f64) -> Event {
        self.templates[cell.template].event(&self.sample_point(cell, uniform))
    }

    /// The point [`Space::sample`] draws: one value per dimension of the
    /// cell's template, on the grid.
    pub fn sample_point(&self, cell: &Cell, uniform: &mut dyn FnMut() -> f64) -> Vec<f64> {
        let dims = self.templates[cell.template].dims();
        dims.iter()
            .enumerate()
            .map(|(i, d)| {
                let v = cell.lo[i] + uniform() * (cell.hi[i] - cell.lo[i]);
                d.snap(v).clamp(d.snap(cell.lo[i]), d.snap(cell.hi[i]))
            })
            .collect()
    }

    /// Whether `point` of `template` lies in `cell` (upper bounds are
    /// inclusive only at the template's own upper end, so a point on a
    /// split lies in exactly one half).
    pub fn contains(&self, cell: &Cell, template: usize, point: &[f64]) -> bool {
        if cell.template != template {
            return false;
        }
        let Some(t) = self.templates.get(template) else {
            return false;
        };
        let dims = t.dims();
        point.len() == dims.len()
            && cell.lo.len() == dims.len()
            && cell.hi.len() == dims.len()
            && (0..dims.len()).all(|i| {
                let (v, lo, hi) = (point[i], cell.lo[i], cell.hi[i]);
                v >= lo && (v < hi || (v <= hi && hi >= dims[i].hi))
            })
    }

    /// Splits `cell` in two along the dimension with the most grid steps
    /// (onset last: it rarely decides a verdict), or `None` when every
    /// dimension is already fine.
    pub fn split(&self, cell: &Cell) -> Option<(Cell, Cell)> {
        let dims = self.templates[cell.template].dims();
        let steps = |i: usize| (cell.hi[i] - cell.lo[i]) / dims[i].step;
        let dim = (1..dims.len())
            .chain(std::iter::once(0))
            .filter(|&i| steps(i) >= MIN_STEPS_TO_SPLIT)
            .max_by(|&a, &b| {
                let weight = |i: usize| if i == 0 { steps(i) / 4.0 } else { steps(i) };
                weight(a).total_cmp(&weight(b)).then(b.cmp(&a))
            })?;
        let mid = dims[dim].snap((cell.lo[dim] + cell.hi[dim]) / 2.0);
        if mid <= cell.lo[dim] || mid >= cell.hi[dim] {
            return None;
        }
        let (mut a, mut b) = (cell.clone(), cell.clone());
        a.hi[dim] = mid;
        b.lo[dim] = mid;
        a.depth += 1;
        b.depth += 1;
        Some((a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KnobSpec;

    fn target() -> Target {
        Target {
            hosts: vec!["server".into()],
            clients: vec!["client-1".into(), "client-2".into()],
            knobs: vec![
                KnobSpec {
                    name: "service-time".into(),
                    kind: KnobKind::Value {
                        min: 1.0,
                        max: 10_000.0,
                        default: 40.0,
                    },
                    help: String::new(),
                },
                KnobSpec {
                    name: "queue-flush".into(),
                    kind: KnobKind::Action,
                    help: String::new(),
                },
            ],
            latest_end: Duration::from_secs(3000),
        }
    }

    fn counter() -> impl FnMut() -> f64 {
        let mut i = 0u32;
        move || {
            i += 1;
            (i as f64 * 0.618_033_988_7).fract()
        }
    }

    #[test]
    fn every_template_samples_valid_events_on_its_grid() {
        let space = Space::new(&target(), Duration::from_secs(30));
        let names: Vec<&str> = space.templates.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "load-spike",
                "load-step",
                "crash host=server",
                "latency host=server",
                "loss host=server",
                "partition server|rest",
                "hold server|rest",
                "knob service-time",
                "knob queue-flush"
            ]
        );
        let mut u = counter();
        for cell in &space.cells {
            for _ in 0..20 {
                let e = space.sample(cell, &mut u);
                let schedule = crate::Schedule::new(vec![e.clone()]);
                assert!(schedule.validate(&target()).is_ok(), "{e}");
                assert!(e.at >= Duration::from_secs(30) && e.at <= Duration::from_secs(60));
                assert_eq!(e.at.subsec_millis(), 0, "{e}");
                // Round-trips: the grid prints exactly.
                assert_eq!(crate::Event::from_spec(&e.to_spec()).unwrap(), e);
            }
        }
    }

    #[test]
    fn a_short_room_clips_the_space_to_what_validation_accepts() {
        // `--set warmup=600s --set horizon=2980s`: 20 s between the warm-up
        // and the latest end. And a horizon that leaves no room at all.
        for (earliest, latest) in [(600, 620), (30, 33), (30, 31)] {
            let mut t = target();
            t.latest_end = Duration::from_secs(latest);
            let space = Space::new(&t, Duration::from_secs(earliest));
            assert!(!space.cells.is_empty());
            let mut u = counter();
            for cell in &space.cells {
                for _ in 0..20 {
                    let e = space.sample(cell, &mut u);
                    let schedule = crate::Schedule::new(vec![e.clone()]);
                    assert!(schedule.validate(&t).is_ok(), "{e} (latest {latest}s)");
                }
            }
        }
        let mut t = target();
        t.latest_end = Duration::ZERO;
        assert!(Space::new(&t, Duration::from_secs(30)).cells.is_empty());
    }

    #[test]
    fn every_sampled_point_lies_in_one_cell_and_odd_points_in_none() {
        let space = Space::new(&target(), Duration::from_secs(30));
        let mut u = counter();
        for cell in &space.cells {
            let point = space.sample_point(cell, &mut u);
            let holders = space
                .cells
                .iter()
                .filter(|c| space.contains(c, cell.template, &point))
                .count();
            assert_eq!(holders, 1, "{point:?} of {}", space.label(cell));
            let mut longer = point.clone();
            longer.push(1.0);
            assert!(!space.contains(cell, cell.template, &longer));
            assert!(!space.contains(cell, usize::MAX, &point));
        }
    }

    #[test]
    fn splitting_halves_the_widest_dimension_until_the_grid_is_reached() {
        let space = Space::new(&target(), Duration::from_secs(30));
        let spike = space
            .cells
            .iter()
            .find(|c| c.template == 0)
            .unwrap()
            .clone();
        assert_eq!(
            space.label(&spike),
            "load-spike for=1s..16s factor=1.2..3.1"
        );
        let (a, b) = space.split(&spike).unwrap();
        // 19 factor steps vs 15 duration steps: the factor is split.
        assert_eq!(space.label(&a), "load-spike for=1s..16s factor=1.2..2.1");
        assert_eq!(space.label(&b), "load-spike for=1s..16s factor=2.1..3.1");
        assert_eq!((a.depth, a.root), (1, spike.root));
        let mut cell = spike;
        let mut splits = 0;
        while let Some((a, _)) = space.split(&cell) {
            cell = a;
            splits += 1;
            assert!(splits < 40);
        }
        // Every dimension is now under two grid steps wide.
        for (i, d) in space.templates[0].dims().iter().enumerate() {
            assert!(
                (cell.hi[i] - cell.lo[i]) / d.step < MIN_STEPS_TO_SPLIT,
                "{cell:?}"
            );
        }
        let action = space
            .cells
            .iter()
            .find(|c| space.templates[c.template].duration.is_none())
            .unwrap();
        assert_eq!(space.label(action), "knob queue-flush");
    }

    /// A knob declared with no room above its default is a capacity: its
    /// template lowers it, and a larger magnitude is a lower value, so the
    /// strongest point of the template is the knob's lowest value.
    #[test]
    fn a_knob_with_no_room_above_its_default_is_lowered() {
        let mut t = target();
        t.knobs.push(KnobSpec {
            name: "capacity".into(),
            kind: KnobKind::Value {
                min: 0.05,
                max: 1.0,
                default: 1.0,
            },
            help: String::new(),
        });
        // Nowhere to go either way: no template.
        t.knobs.push(KnobSpec {
            name: "pinned".into(),
            kind: KnobKind::Value {
                min: 3.0,
                max: 3.0,
                default: 3.0,
            },
            help: String::new(),
        });
        let space = Space::new(&t, Duration::from_secs(30));
        assert!(!space.templates.iter().any(|t| t.name == "knob pinned"));
        let i = space
            .templates
            .iter()
            .position(|t| t.name == "knob capacity")
            .unwrap();
        let template = &space.templates[i];
        assert_eq!(template.kind(), "knob capacity");
        let value = |point: &[f64]| match template.event(point).fault {
            crate::Fault::Knob { value, .. } => value.unwrap(),
            other => panic!("{other:?}"),
        };
        let span = template.magnitude.unwrap();
        // Down to a tenth of the default (min is lower), never the default.
        assert_eq!(value(&[30.0, 30.0, span.hi]), 0.1);
        assert!(value(&[30.0, 30.0, span.lo]) < 1.0);
        assert!(value(&[30.0, 30.0, span.hi]) < value(&[30.0, 30.0, span.lo]));
        let labels: Vec<String> = space
            .cells
            .iter()
            .filter(|c| c.template == i)
            .map(|c| space.label(c))
            .collect();
        assert_eq!(
            labels,
            [
                "knob capacity for=1s..16s value=0.55..0.982",
                "knob capacity for=1s..16s value=0.1..0.55",
                "knob capacity for=16s..30s value=0.55..0.982",
                "knob capacity for=16s..30s value=0.1..0.55",
            ]
        );
        let mut u = counter();
        for cell in space.cells.iter().filter(|c| c.template == i) {
            for _ in 0..20 {
                let e = space.sample(cell, &mut u);
                assert!(
                    crate::Schedule::new(vec![e.clone()]).validate(&t).is_ok(),
                    "{e}"
                );
                assert_eq!(crate::Event::from_spec(&e.to_spec()).unwrap(), e);
            }
        }
    }
}
