//! Policy files: a mitigation's parameters kept in a file (what a tuning
//! run writes), applied by `run`, `replay` and `explore --policy FILE` as
//! if each value were a `--set` given before the command's own.
//!
//! ```yaml
//! # retry-storm's retry budget, as tuned
//! mitigation: retry-budget
//! retry_budget.ratio: 0.5
//! retry_budget.max_tokens: 40
//! ```
//!
//! A flat mapping of parameter names to values, checked against the
//! scenario a run uses, with the line of anything it does not allow.
//! Incidents record the values in their `params`, so a replay needs no
//! policy file.

use crate::scenario::Scenario;
use serde_yaml::Value;
use std::path::Path;

/// A policy: parameter values, each with its line, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    origin: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    key: String,
    value: String,
    line: Option<usize>,
}

/// What is wrong with a policy file, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}{}: {message}", line.map_or(String::new(), |l| format!(":{l}")))]
pub struct PolicyError {
    pub origin: String,
    pub line: Option<usize>,
    pub message: String,
}

impl Policy {
    /// Reads and parses `path` (a regular file of at most 16 MiB).
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let origin = path.display().to_string();
        let text = crate::files::read_text(path).map_err(|e| PolicyError {
            origin: origin.clone(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        Policy::parse(&text, &origin)
    }

    /// Parses the text of a policy file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let error = |line: Option<usize>, message: String| PolicyError {
            origin: origin.to_string(),
            line,
            message,
        };
        if let Some((line, message)) = hormesis_faults::too_deep(text) {
            return Err(error(Some(line), message));
        }
        let doc: Value = serde_yaml::from_str(text).map_err(|e| {
            error(
                hormesis_faults::yaml_error_line(text, &e),
                format!("not valid YAML: {e}"),
            )
        })?;
        let Some(map) = doc.as_mapping() else {
            return Err(error(
                Some(1),
                "a policy is a mapping of parameter names to values, e.g. `retry_budget.ratio: 0.5`"
                    .into(),
            ));
        };
        let mut entries = Vec::with_capacity(map.len());
        for (key, value) in map {
            let Some(key) = key.as_str() else {
                let shown = match key {
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => "~".to_string(),
                    _ => "a collection".to_string(),
                };
                return Err(error(
                    line_of(text, &shown),
                    format!("a parameter name must be text, not `{shown}`"),
                ));
            };
            let line = line_of(text, key);
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(error(
                        line,
                        format!(
                        "`{key}` takes one value (a number, a duration such as `5s`, or a name)"
                    ),
                    ))
                }
            };
            entries.push(Entry {
                key: key.to_string(),
                value,
                line,
            });
        }
        if entries.is_empty() {
            return Err(error(None, "the policy sets no parameter".into()));
        }
        Ok(Policy {
            origin: origin.to_string(),
            entries,
        })
    }

    /// Checks every value against the parameters of `scenarios` (the one a
    /// run uses, or those of the incidents a replay runs): a name none of
    /// them has, or a value out of range for one that has it, is an error
    /// with its line.
    pub fn check(&self, scenarios: &[&dyn Scenario]) -> Result<(), PolicyError> {
        for e in &self.entries {
            let error = |message: String| PolicyError {
                origin: self.origin.clone(),
                line: e.line,
                message,
            };
            let mut known = false;
            for scenario in scenarios {
                let specs = scenario.params();
                if let Some(spec) = specs.iter().find(|s| s.name == e.key) {
                    known = true;
                    spec.parse(&e.value).map_err(|p| {
                        error(format!("`{}` ({}): {}", e.key, scenario.name(), p.message))
                    })?;
                }
            }
            if !known {
                let names: Vec<&str> = scenarios.iter().map(|s| s.name()).collect();
                let mut allowed: Vec<&str> = scenarios
                    .iter()
                    .flat_map(|s| s.params().into_iter().map(|p| p.name))
                    .collect();
                allowed.sort_unstable();
                allowed.dedup();
                return Err(error(format!(
                    "`{}` has no parameter `{}`; allowed: {}",
                    names.join("`, `"),
                    e.key,
                    allowed.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The values as `key=value` overrides, in file order.
    pub fn overrides(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| format!("{}={}", e.key, e.value))
            .collect()
    }

    /// The overrides before `sets`, so a `--set` given with the policy wins.
    pub fn then<S: AsRef<str>>(&self, sets: &[S]) -> Vec<String> {
        let mut all = self.overrides();
        all.extend(sets.iter().map(|s| s.as_ref().to_string()));
        all
    }
}

/// 1-based line of a top-level `key:` (quoted or not).
/// The line of `key`: where a line starts with it (block style), else the
/// first line that holds it as a key (flow style, `{a: 1, b: 2}`).
fn line_of(text: &str, key: &str) -> Option<usize> {
    let spellings = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    let at = |hit: &dyn Fn(&str) -> bool| text.lines().position(hit).map(|i| i + 1);
    at(&|l: &str| {
        spellings
            .iter()
            .any(|p| l.trim_end().starts_with(p.as_str()))
    })
    .or_else(|| {
        at(&|l: &str| {
            spellings.iter().any(|p| {
                l.match_indices(p.as_str()).any(|(i, _)| {
                    l[..i]
                        .chars()
                        .next_back()
                        .is_none_or(|c| matches!(c, '{' | ',' | ' '))
                })
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::RetryStorm;

    const TUNED: &str = "# as tuned\nmitigation: retry-budget\nretry_budget.ratio: 0.5\nretry_budget.max_tokens: 40\n";

    #[test]
    fn a_policy_is_overrides_in_file_order_and_checks_against_its_scenario() {
        let p = Policy::parse(TUNED, "tuned.yaml").unwrap();
        assert_eq!(
            p.overrides(),
            [
                "mitigation=retry-budget",
                "retry_budget.ratio=0.5",
                "retry_budget.max_tokens=40"
            ]
        );
        assert_eq!(p.check(&[&RetryStorm]), Ok(()));
        assert_eq!(
            p.then(&["retry_budget.ratio=0.7"])
                .last()
                .map(String::as_str),
            Some("retry_budget.ratio=0.7")
        );
    }

    #[test]
    fn what_the_scenario_does_not_allow_is_named_with_its_line() {
        let unknown =
            Policy::parse("mitigation: retry-budget\nbudget.ratio: 2\n", "p.yaml").unwrap();
        let e = unknown.check(&[&RetryStorm]).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.to_string()
                .starts_with("p.yaml:2: `retry-storm` has no parameter `budget.ratio`; allowed: "),
            "{e}"
        );
        let out_of_range = Policy::parse("retry_budget.ratio: 1000\n", "p.yaml").unwrap();
        let e = out_of_range.check(&[&RetryStorm]).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("retry_budget.ratio"), "{e}");
    }

    #[test]
    fn malformed_files_are_refused_with_where() {
        for (text, needle) in [
            ("- a\n- b\n", "a mapping of parameter names"),
            ("", "a mapping of parameter names"),
            ("{}\n", "sets no parameter"),
            ("retry_budget.ratio: [1, 2]\n", "takes one value"),
            ("retry_budget.ratio: 0.5\n  bad: indent\n", "not valid YAML"),
        ] {
            let e = Policy::parse(text, "p.yaml").unwrap_err();
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
    }
}
