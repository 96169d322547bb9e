//! The untyped shape shared by the YAML and inline forms: a fault kind and an
//! ordered list of `key: value` fields. Typed parsing happens once, here, so
//! both forms give the same errors.

use crate::error::FieldError;
use crate::parse_duration;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawValue {
    Scalar(String),
    /// Host groups, as in `between: [[server], [client-1, client-2]]`.
    Groups(Vec<Vec<String>>),
}

impl RawValue {
    fn describe(&self) -> String {
        match self {
            RawValue::Scalar(s) => format!("`{s}`"),
            RawValue::Groups(g) => format!("{g:?}"),
        }
    }
}

/// Two host groups, as `between` names them.
pub(crate) type GroupPair = (Vec<String>, Vec<String>);

/// Fields of one event, consumed key by key; whatever is left over is an
/// unknown key and is reported together with the keys the kind allows.
pub(crate) struct Fields {
    kind: String,
    entries: Vec<(String, RawValue)>,
}

impl Fields {
    pub fn new(
        kind: impl Into<String>,
        entries: Vec<(String, RawValue)>,
    ) -> Result<Self, FieldError> {
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in &entries {
            if seen.contains(&key.as_str()) {
                return Err(FieldError::new(key, format!("`{key}` is given twice")));
            }
            seen.push(key);
        }
        Ok(Fields {
            kind: kind.into(),
            entries,
        })
    }

    fn take(&mut self, key: &str) -> Option<RawValue> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    fn take_scalar(&mut self, key: &str) -> Result<Option<String>, FieldError> {
        match self.take(key) {
            None => Ok(None),
            Some(RawValue::Scalar(s)) => Ok(Some(s)),
            Some(other) => Err(FieldError::new(
                key,
                format!("`{key}` must be a single value, not {}", other.describe()),
            )),
        }
    }

    fn required<T>(&self, key: &str, value: Option<T>, example: &str) -> Result<T, FieldError> {
        value.ok_or_else(|| {
            FieldError::new(
                key,
                format!(
                    "{} needs `{key}` (for example `{key}: {example}`)",
                    self.kind
                ),
            )
        })
    }

    pub fn duration(&mut self, key: &str) -> Result<Option<Duration>, FieldError> {
        match self.take_scalar(key)? {
            None => Ok(None),
            Some(s) => parse_duration(&s)
                .map(Some)
                .map_err(|m| FieldError::new(key, format!("`{key}`: {m}"))),
        }
    }

    pub fn required_duration(&mut self, key: &str, example: &str) -> Result<Duration, FieldError> {
        let v = self.duration(key)?;
        self.required(key, v, example)
    }

    pub fn number(&mut self, key: &str) -> Result<Option<f64>, FieldError> {
        match self.take_scalar(key)? {
            None => Ok(None),
            Some(s) => match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(FieldError::new(
                    key,
                    format!("`{key}` must be a number, got `{s}`"),
                )),
            },
        }
    }

    pub fn required_number(&mut self, key: &str, example: &str) -> Result<f64, FieldError> {
        let v = self.number(key)?;
        self.required(key, v, example)
    }

    pub fn integer(&mut self, key: &str) -> Result<Option<u32>, FieldError> {
        match self.take_scalar(key)? {
            None => Ok(None),
            Some(s) => s.trim().parse::<u32>().map(Some).map_err(|_| {
                FieldError::new(key, format!("`{key}` must be a whole number, got `{s}`"))
            }),
        }
    }

    pub fn boolean(&mut self, key: &str) -> Result<Option<bool>, FieldError> {
        match self.take_scalar(key)? {
            None => Ok(None),
            Some(s) => match s.trim() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(FieldError::new(
                    key,
                    format!("`{key}` must be true or false, got `{s}`"),
                )),
            },
        }
    }

    pub fn name(&mut self, key: &str) -> Result<Option<String>, FieldError> {
        match self.take_scalar(key)? {
            Some(s) if s.trim().is_empty() => {
                Err(FieldError::new(key, format!("`{key}` must not be empty")))
            }
            other => Ok(other.map(|s| s.trim().to_string())),
        }
    }

    pub fn required_name(&mut self, key: &str, example: &str) -> Result<String, FieldError> {
        let v = self.name(key)?;
        self.required(key, v, example)
    }

    pub fn groups(&mut self, key: &str) -> Result<Option<GroupPair>, FieldError> {
        let value = match self.take(key) {
            None => return Ok(None),
            Some(v) => v,
        };
        let groups = match value {
            RawValue::Groups(g) => g,
            RawValue::Scalar(s) => {
                return Err(FieldError::new(
                    key,
                    format!("`{key}` must be two host groups like [[server], [client-1, client-2]], got `{s}`"),
                ))
            }
        };
        if groups.len() != 2 || groups.iter().any(|g| g.is_empty()) {
            return Err(FieldError::new(
                key,
                format!("`{key}` must be exactly two non-empty host groups, like [[server], [client-1, client-2]]"),
            ));
        }
        let mut it = groups.into_iter();
        let a = it.next().unwrap_or_default();
        let b = it.next().unwrap_or_default();
        if let Some(h) = a.iter().find(|h| b.contains(h)) {
            return Err(FieldError::new(
                key,
                format!("host `{h}` is in both groups of `{key}`"),
            ));
        }
        Ok(Some((a, b)))
    }

    /// `(offset, factor)` pairs, as in `points: [[0s, 1], [10s, 2.5]]` or
    /// inline `points=0s+1|10s+2.5`.
    pub fn points(&mut self, key: &str) -> Result<Option<Vec<(Duration, f64)>>, FieldError> {
        let shape = || {
            FieldError::new(
                key,
                format!(
                    "`{key}` must be a list of [offset, factor] pairs, like [[0s, 1], [10s, 2.5]]"
                ),
            )
        };
        let groups = match self.take(key) {
            None => return Ok(None),
            Some(RawValue::Groups(g)) => g,
            Some(RawValue::Scalar(s)) if s.contains('+') => {
                vec![s.split('+').map(|p| p.trim().to_string()).collect()]
            }
            Some(RawValue::Scalar(_)) => return Err(shape()),
        };
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let [offset, factor] = g.as_slice() else {
                return Err(shape());
            };
            let offset = parse_duration(offset)
                .map_err(|m| FieldError::new(key, format!("`{key}`: {m}")))?;
            let factor = factor
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| {
                    FieldError::new(key, format!("`{key}`: `{factor}` is not a number"))
                })?;
            out.push((offset, factor));
        }
        if out.is_empty() {
            return Err(shape());
        }
        Ok(Some(out))
    }

    /// Fails on any key not in `allowed` for this kind; checked before
    /// required keys, so a misspelt key is named as such.
    pub fn reject_unknown(&self, allowed: &[&str]) -> Result<(), FieldError> {
        if let Some((key, _)) = self
            .entries
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            return Err(FieldError::new(
                key.clone(),
                format!(
                    "unknown key `{key}` for {}; allowed keys: {}",
                    self.kind,
                    allowed.join(", ")
                ),
            ));
        }
        Ok(())
    }
}
