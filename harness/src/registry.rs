//! The scenarios a program knows by name: the built-ins, a user's own, or
//! both. Incidents name their scenario, so everything that turns an
//! incident back into a run (replay, shrink, smallest triggers, the command
//! line) resolves the name through one of these.
//!
//! ```
//! use hormesis::registry::Registry;
//! use hormesis::scenarios::RetryStorm;
//!
//! let registry = Registry::new(&[&RetryStorm]).unwrap();
//! assert_eq!(registry.find("retry-storm").unwrap().name(), "retry-storm");
//! assert!(registry.find("quote").is_err());
//! ```

use crate::scenario::Scenario;

/// A set of scenarios with distinct names, in the order given.
#[derive(Clone)]
pub struct Registry {
    scenarios: Vec<&'static dyn Scenario>,
}

/// Two scenarios given under one name: a name must say which system an
/// incident replays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "two scenarios are called `{name}` ({first} and {second}): scenario names must be unique, \
     since incidents name their scenario"
)]
pub struct DuplicateScenario {
    pub name: String,
    /// The descriptions of the two, to tell them apart.
    pub first: String,
    pub second: String,
}

/// A name that is not in the registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario `{name}`; known scenarios: {known}")]
pub struct UnknownScenario {
    pub name: String,
    pub known: String,
}

impl Registry {
    /// The scenarios given, or an error naming the first clash.
    pub fn new(scenarios: &[&'static dyn Scenario]) -> Result<Registry, DuplicateScenario> {
        for (i, s) in scenarios.iter().enumerate() {
            if let Some(earlier) = scenarios[..i].iter().find(|e| e.name() == s.name()) {
                return Err(DuplicateScenario {
                    name: s.name().to_string(),
                    first: format!("“{}”", earlier.description()),
                    second: format!("“{}”", s.description()),
                });
            }
        }
        Ok(Registry {
            scenarios: scenarios.to_vec(),
        })
    }

    /// The built-in scenarios and the generated families (`hormesis
    /// scenarios` lists them).
    pub fn builtin() -> Registry {
        Registry {
            scenarios: crate::scenarios::all(),
        }
    }

    /// Every scenario, in the order given.
    pub fn scenarios(&self) -> &[&'static dyn Scenario] {
        &self.scenarios
    }

    /// The scenario called `name`.
    pub fn find(&self, name: &str) -> Result<&'static dyn Scenario, UnknownScenario> {
        self.scenarios
            .iter()
            .copied()
            .find(|s| s.name() == name)
            .ok_or_else(|| UnknownScenario {
                name: name.to_string(),
                known: self
                    .scenarios
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.scenarios.iter().map(|s| s.name()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{LookasideCache, RetryStorm, WarmCache};

    #[test]
    fn finds_by_name_and_lists_the_known_ones_otherwise() {
        let r = Registry::new(&[&RetryStorm, &WarmCache]).unwrap();
        assert_eq!(r.find("warm-cache").unwrap().name(), "warm-cache");
        let Err(e) = r.find("lookaside-cache") else {
            panic!("found a scenario the registry was not given");
        };
        assert_eq!(e.known, "retry-storm, warm-cache");
        assert!(e.to_string().contains("unknown scenario `lookaside-cache`"));
    }

    #[test]
    fn a_name_given_twice_is_refused_naming_both() {
        struct Impostor;
        impl Scenario for Impostor {
            fn name(&self) -> &'static str {
                "retry-storm"
            }
            fn description(&self) -> &'static str {
                "my own retry storm"
            }
            fn params(&self) -> Vec<crate::scenario::ParamSpec> {
                LookasideCache.params()
            }
            fn knobs(&self) -> Vec<hormesis_faults::KnobSpec> {
                LookasideCache.knobs()
            }
            fn trigger(&self) -> Vec<String> {
                LookasideCache.trigger()
            }
            fn build(
                &self,
                params: &crate::scenario::Params,
            ) -> Result<Box<dyn crate::scenario::System>, crate::scenario::ParamError> {
                LookasideCache.build(params)
            }
        }
        let e = Registry::new(&[&RetryStorm, &LookasideCache, &Impostor]).unwrap_err();
        assert_eq!(e.name, "retry-storm");
        assert!(e.second.contains("my own retry storm"), "{e}");
        assert!(e.first.contains(RetryStorm.description()), "{e}");
    }

    #[test]
    fn the_builtin_registry_has_every_builtin_once() {
        let r = Registry::builtin();
        assert_eq!(r.scenarios().len(), crate::scenarios::all().len());
        assert!(Registry::new(r.scenarios()).is_ok());
    }
}
