//! The box `tune` searches: a mitigation's numeric parameters, each mapped
//! onto [0, 1] on a scale that suits its declared range (logarithmic where
//! it spans decades), and back to a value its spec accepts.

use crate::scenario::{ParamKind, ParamSpec, ParamValue, Scenario};
use hormesis_faults::format_duration;
use serde::Serialize;
use std::time::Duration;

/// How a parameter's range is laid over [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    Linear,
    /// Equal steps per factor: for ranges from a positive minimum over two
    /// decades or more (a period of 100 ms to 10 min).
    Log,
    /// Logarithmic above `unit`, reaching 0: for ranges from zero over two
    /// decades or more (a retry ratio of 0 to 100).
    #[serde(rename = "log1p")]
    Log1p {
        unit: f64,
    },
}

/// One searched parameter.
#[derive(Debug, Clone, Serialize)]
pub struct Dimension {
    pub name: &'static str,
    /// The declared range, in the parameter's unit (seconds for durations).
    pub min: f64,
    pub max: f64,
    pub scale: Scale,
    #[serde(skip)]
    spec: ParamSpec,
}

/// The searched parameters of one mitigation.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Space {
    pub dimensions: Vec<Dimension>,
}

impl Space {
    /// The parameters of `mitigation` in `scenario` less those in `fixed`
    /// (names given with `--set`). An error says what is wrong: a
    /// mitigation the scenario does not have, or nothing left to search.
    pub fn of(
        scenario: &dyn Scenario,
        mitigation: &str,
        fixed: &[String],
    ) -> Result<Space, String> {
        let specs = scenario.params();
        let options = specs
            .iter()
            .find(|s| s.name == "mitigation")
            .and_then(|s| match &s.kind {
                ParamKind::Choice { options } => Some(*options),
                _ => None,
            })
            .unwrap_or(&[]);
        if mitigation == "none" || !options.contains(&mitigation) {
            let allowed: Vec<&str> = options.iter().copied().filter(|o| *o != "none").collect();
            return Err(if allowed.is_empty() {
                format!("scenario `{}` has no mitigation to tune", scenario.name())
            } else {
                format!(
                    "scenario `{}` has no mitigation `{mitigation}`; allowed: {}",
                    scenario.name(),
                    allowed.join(", ")
                )
            });
        }
        let names = scenario.policy_params(mitigation);
        let dimensions: Vec<Dimension> = names
            .iter()
            .filter(|n| !fixed.iter().any(|f| f == *n))
            .filter_map(|n| specs.iter().find(|s| s.name == *n))
            .filter_map(Dimension::new)
            .collect();
        if dimensions.is_empty() {
            return Err(format!(
                "mitigation `{mitigation}` of `{}` has no parameter left to tune ({})",
                scenario.name(),
                if names.is_empty() {
                    "it declares none".to_string()
                } else {
                    format!("all fixed with --set: {}", names.join(", "))
                }
            ));
        }
        Ok(Space { dimensions })
    }

    /// The point of the cube for values given as `name=value` (the last
    /// value of a name wins; a missing one takes its default).
    pub fn encode(&self, overrides: &[String]) -> Vec<f64> {
        self.dimensions
            .iter()
            .map(|d| {
                let given = overrides.iter().rev().find_map(|o| {
                    let (k, v) = o.split_once('=')?;
                    (k.trim() == d.name).then(|| d.spec.parse(v).ok()).flatten()
                });
                d.to_unit(natural(&given.unwrap_or_else(|| d.spec.default.clone())))
            })
            .collect()
    }

    /// The policy at `point`, as `name=value` overrides whose values the
    /// specs accept (whole numbers, durations in milliseconds, other
    /// numbers to four significant digits).
    pub fn decode(&self, point: &[f64]) -> Vec<String> {
        self.dimensions
            .iter()
            .zip(point)
            .map(|(d, u)| format!("{}={}", d.name, d.value_at(*u)))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.dimensions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dimensions.is_empty()
    }
}

fn natural(value: &ParamValue) -> f64 {
    match value {
        ParamValue::Int(v) => *v as f64,
        ParamValue::Float(v) => *v,
        ParamValue::Duration(d) => d.as_secs_f64(),
        ParamValue::Choice(_) => 0.0,
    }
}

/// Four significant digits: enough for a policy, short enough to read.
fn significant(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let digits = 3 - v.abs().log10().floor() as i32;
    let factor = 10f64.powi(digits);
    (v * factor).round() / factor
}

impl Dimension {
    fn new(spec: &ParamSpec) -> Option<Dimension> {
        let (min, max) = match spec.kind {
            ParamKind::Int { min, max } => (min as f64, max as f64),
            ParamKind::Float { min, max } => (min, max),
            ParamKind::Duration { min, max } => (min.as_secs_f64(), max.as_secs_f64()),
            ParamKind::Choice { .. } => return None,
        };
        if max <= min || !min.is_finite() || !max.is_finite() {
            return None;
        }
        let scale = if min > 0.0 && max / min >= 100.0 {
            Scale::Log
        } else if min == 0.0 && max >= 100.0 * smallest_step(spec) {
            Scale::Log1p {
                unit: (max * 1e-4).max(smallest_step(spec)),
            }
        } else {
            Scale::Linear
        };
        Some(Dimension {
            name: spec.name,
            min,
            max,
            scale,
            spec: spec.clone(),
        })
    }

    fn to_unit(&self, v: f64) -> f64 {
        let v = v.clamp(self.min, self.max);
        let u = match self.scale {
            Scale::Linear => (v - self.min) / (self.max - self.min),
            Scale::Log => (v / self.min).ln() / (self.max / self.min).ln(),
            Scale::Log1p { unit } => (1.0 + v / unit).ln() / (1.0 + self.max / unit).ln(),
        };
        u.clamp(0.0, 1.0)
    }

    fn at_unit(&self, u: f64) -> f64 {
        let u = if u.is_finite() {
            u.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let v = match self.scale {
            Scale::Linear => self.min + u * (self.max - self.min),
            Scale::Log => self.min * (self.max / self.min).powf(u),
            Scale::Log1p { unit } => unit * ((1.0 + self.max / unit).powf(u) - 1.0),
        };
        v.clamp(self.min, self.max)
    }

    /// The value at `u` as text the spec parses.
    fn value_at(&self, u: f64) -> String {
        let v = self.at_unit(u);
        match self.spec.kind {
            ParamKind::Int { min, max } => (v.round() as u64).clamp(min, max).to_string(),
            ParamKind::Duration { min, max } => {
                let d = Duration::from_millis((v * 1000.0).round() as u64).clamp(min, max);
                format_duration(d)
            }
            _ => significant(v).clamp(self.min, self.max).to_string(),
        }
    }
}

/// The finest step a value of `spec` can take.
fn smallest_step(spec: &ParamSpec) -> f64 {
    match spec.kind {
        ParamKind::Int { .. } => 1.0,
        ParamKind::Duration { .. } => 0.001,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{LookasideCache, RetryStorm};

    #[test]
    fn a_mitigation_searches_its_own_parameters_less_the_fixed_ones() {
        let names = |s: &Space| s.dimensions.iter().map(|d| d.name).collect::<Vec<_>>();
        let budget = Space::of(&RetryStorm, "retry-budget", &[]).unwrap();
        assert_eq!(
            names(&budget),
            [
                "retry_budget.ratio",
                "retry_budget.min_per_s",
                "retry_budget.max_tokens"
            ]
        );
        // The boot delay is the machine's, not the controller's.
        let scaler = Space::of(&RetryStorm, "autoscaler", &["autoscaler.max".into()]).unwrap();
        assert_eq!(
            names(&scaler),
            ["autoscaler.gain", "autoscaler.target", "autoscaler.period"]
        );
        let limit = Space::of(&LookasideCache, "adaptive-concurrency", &[]).unwrap();
        assert_eq!(limit.len(), 4, "{:?}", names(&limit));
        for (mitigation, needle) in [
            ("none", "allowed: retry-budget, autoscaler"),
            ("degrader", "no mitigation `degrader`"),
        ] {
            let e = Space::of(&RetryStorm, mitigation, &[]).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
        let all: Vec<String> = ["ratio", "min_per_s", "max_tokens"]
            .iter()
            .map(|n| format!("retry_budget.{n}"))
            .collect();
        let e = Space::of(&RetryStorm, "retry-budget", &all).unwrap_err();
        assert!(e.contains("all fixed with --set"), "{e}");
    }

    #[test]
    fn scales_follow_the_declared_ranges_and_values_round_trip() {
        let space = Space::of(&RetryStorm, "autoscaler", &[]).unwrap();
        let scale = |n: &str| space.dimensions.iter().find(|d| d.name == n).unwrap().scale;
        assert_eq!(scale("autoscaler.gain"), Scale::Log); // 0.01..=10
        assert_eq!(scale("autoscaler.period"), Scale::Log); // 100ms..=600s
        let budget = Space::of(&RetryStorm, "retry-budget", &[]).unwrap();
        assert!(matches!(budget.dimensions[0].scale, Scale::Log1p { .. })); // 0..=100
                                                                            // The defaults come back as themselves.
        let start = space.encode(&[]);
        assert_eq!(
            space.decode(&start),
            [
                "autoscaler.gain=0.5",
                "autoscaler.target=0.7",
                "autoscaler.max=64",
                "autoscaler.period=5s"
            ]
        );
        let given = space.encode(&["autoscaler.gain=3".into(), "autoscaler.max=8".into()]);
        assert_eq!(space.decode(&given)[0], "autoscaler.gain=3");
        assert_eq!(space.decode(&given)[2], "autoscaler.max=8");
        // Every corner and the middle decode to values the specs accept.
        for u in [0.0, 0.5, 1.0, -3.0, 7.0, f64::NAN] {
            for s in [&space, &budget] {
                let point = vec![u; s.len()];
                let overrides = s.decode(&point);
                crate::scenario::Params::resolve(&RetryStorm.params(), &overrides)
                    .unwrap_or_else(|e| panic!("{overrides:?}: {e}"));
            }
        }
        assert_eq!(budget.decode(&[0.0, 0.0, 0.0])[0], "retry_budget.ratio=0");
        assert_eq!(significant(0.123_456), 0.1235);
        assert_eq!(significant(12_345.0), 12_350.0);
    }
}
