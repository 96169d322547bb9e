//! Incident files (YAML, version 1): a run worth keeping, with what a replay
//! must show. `docs/incident-format.md` is the reference for the format.
//!
//! An incident is plain data: it names a built-in scenario, the full
//! parameter set (so a changed default does not silently change a replay),
//! the seed and the schedule, what was found, and the expectation a replay
//! checks. Its `id` is derived from those inputs, so the same finding gets
//! the same id wherever it is found.

use crate::engine::EngineKind;
use crate::registry::Registry;
use crate::run::{RunError, RunPlan, RunReport};
use crate::scenario::Scenario;
use crate::verdict::{Class, Verdict};
use hormesis_faults::{format_duration, parse_duration, yaml_scalar, Schedule, ScheduleError};
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// The incident format version this build reads and writes.
pub const INCIDENT_VERSION: u64 = 1;

/// Why an incident cannot be read or run.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error("{origin}: cannot read: {error}")]
    Io {
        origin: String,
        error: std::io::Error,
    },
    /// Not YAML, not shaped like an incident, or a value out of range.
    #[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        origin: String,
        line: Option<usize>,
        message: String,
    },
    #[error("{origin}{}: incident version {found} is newer than this build, which reads version {INCIDENT_VERSION}; upgrade hormesis to replay it", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Version {
        origin: String,
        line: Option<usize>,
        found: u64,
    },
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

/// What the run that found the incident showed. Informational, except
/// `digest`, which a replay compares to tell whether behaviour changed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Found {
    pub class: Class,
    pub score: f64,
    /// Time to recovery after the trigger; `None` when it never recovered.
    #[serde(deserialize_with = "optional_duration")]
    pub ttr: Option<Duration>,
    pub damage: f64,
    pub amplification: f64,
    pub digest: String,
    /// The behaviour digest: what the run did (its timeline, the faults as
    /// applied, failures, and its control's), without the parameters, so
    /// two incidents whose settings differ but whose runs do not say so.
    /// Informational; absent in files written before it was recorded.
    #[serde(default)]
    pub behaviour: Option<String>,
    /// turmoil's step it was found at; absent on madsim (no step) and in
    /// files written before it was recorded. A verdict that holds only at
    /// a coarse step is a likely simulation artifact (`--check-fidelity`).
    #[serde(default, deserialize_with = "optional_duration")]
    pub tick: Option<Duration>,
    pub hormesis_version: String,
    /// When it was found (RFC 3339, UTC).
    pub date: String,
    /// The command that found it.
    pub command: String,
    /// The id of the incident this one was shrunk from.
    #[serde(default)]
    pub shrunk_from: Option<String>,
    /// The loop that kept it down, `mechanism@place` (see
    /// [`crate::diagnosis`]): what triage groups failure modes by. Not
    /// part of the id or the digest; absent in files written before it was
    /// recorded and for a finding that is not metastable.
    #[serde(default)]
    pub mechanism: Option<String>,
}

/// The step a report's run was simulated at, to the microsecond.
fn report_tick(report: &RunReport) -> Option<Duration> {
    report
        .tick_ms
        .map(|ms| Duration::from_micros((ms * 1000.0).round() as u64))
}

/// What a replay must show. Every condition given must hold; at least one
/// must be given.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    #[serde(default)]
    pub class: Option<Class>,
    /// Goodput must come back (not metastable) within this time after the trigger.
    #[serde(default, deserialize_with = "optional_duration")]
    pub recovers_within: Option<Duration>,
    #[serde(default)]
    pub max_score: Option<f64>,
}

impl Expect {
    /// The expectation that pins down what was seen: the class for a
    /// metastable run, otherwise recovery within the horizon.
    pub fn observed(verdict: &Verdict) -> Expect {
        match verdict.class {
            c @ (Class::Metastable | Class::UnhealthyBaseline) => Expect {
                class: Some(c),
                ..Expect::default()
            },
            _ => Expect {
                recovers_within: Some(Duration::from_secs_f64(verdict.horizon_s)),
                ..Expect::default()
            },
        }
    }

    /// Parses `class=NAME`, `recovers-within=DURATION` or `max-score=X` into `self`.
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("--expect `{spec}`: expected key=value"))?;
        let value = value.trim();
        match key.trim() {
            "class" => {
                self.class = Some(
                    Class::ALL
                        .into_iter()
                        .find(|c| c.name() == value)
                        .ok_or_else(|| {
                            format!(
                                "--expect class=`{value}`: allowed: {}",
                                Class::ALL.map(|c| c.name()).join(", ")
                            )
                        })?,
                )
            }
            "recovers-within" => {
                self.recovers_within = Some(
                    parse_duration(value).map_err(|e| format!("--expect `{spec}`: {e}"))?,
                )
            }
            "max-score" => {
                let v: f64 = value
                    .parse()
                    .ok()
                    .filter(|v| (0.0..=1.0).contains(v))
                    .ok_or_else(|| {
                        format!("--expect `{spec}`: a score is a number in [0, 1]")
                    })?;
                self.max_score = Some(v)
            }
            "" => {
                return Err(format!(
                    "--expect `{spec}`: no key before `=`; allowed: class, recovers-within, max-score"
                ))
            }
            other => {
                return Err(format!(
                "--expect `{spec}`: unknown key `{other}`; allowed: class, recovers-within, max-score"
            ))
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.class.is_none() && self.recovers_within.is_none() && self.max_score.is_none()
    }

    /// A short description, e.g. `metastable` or `recovers ≤ 60s, score ≤ 0.3`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.class {
            parts.push(c.name().to_string());
        }
        if let Some(d) = self.recovers_within {
            parts.push(format!("recovers ≤ {}", format_duration(d)));
        }
        if let Some(s) = self.max_score {
            parts.push(format!("score ≤ {s}"));
        }
        parts.join(", ")
    }

    /// `Ok` when the verdict meets every condition, otherwise what failed.
    pub fn check(&self, verdict: &Verdict) -> Result<(), String> {
        let mut failed = Vec::new();
        // A run with nothing to recover to passes no guard but one that
        // asks for exactly that.
        if verdict.class == Class::UnhealthyBaseline && self.class != Some(Class::UnhealthyBaseline)
        {
            failed.push(format!(
                "unhealthy baseline: {}",
                verdict
                    .unhealthy
                    .as_deref()
                    .unwrap_or("no healthy baseline")
            ));
        }
        if let Some(c) = self.class {
            if verdict.class != c {
                failed.push(format!(
                    "expected {}, got {}",
                    c.name(),
                    verdict.class.name()
                ));
            }
        }
        if let Some(d) = self.recovers_within {
            match verdict.ttr_s {
                Some(t) if verdict.class != Class::Metastable && t <= d.as_secs_f64() => {}
                Some(t) => failed.push(format!(
                    "expected recovery within {}, took {t}s",
                    format_duration(d)
                )),
                None => failed.push(format!(
                    "expected recovery within {}, never recovered",
                    format_duration(d)
                )),
            }
        }
        if let Some(s) = self.max_score {
            if verdict.score > s {
                failed.push(format!("expected score ≤ {s}, got {:.3}", verdict.score));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }
}

/// Where an incident was read from, to place errors found after parsing.
#[derive(Debug, Clone, PartialEq)]
struct Located {
    origin: String,
    text: String,
    /// The `schedule:` block, dedented, and the line just before it.
    schedule_source: Option<(String, usize)>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: String,
    pub scenario: String,
    pub engine: EngineKind,
    pub seed: u64,
    /// Every parameter, by name, as text (`250ms`, `0.2`, `retry-budget`).
    pub params: BTreeMap<String, String>,
    pub schedule: Schedule,
    pub found: Found,
    pub expect: Expect,
    located: Option<Located>,
}

/// serde's message for a field of an incident, with its enum errors put in
/// the file's own terms (`class: [metastable]` is not "a YAML tag").
fn plain_serde_error(e: &serde_yaml::Error) -> String {
    let message = e.to_string();
    let field = message.split(':').next().unwrap_or_default();
    let allowed = match field.rsplit('.').next() {
        Some("class") => Some(Class::ALL.map(|c| c.name()).join(", ")),
        Some("engine") => Some("turmoil, madsim".to_string()),
        _ => None,
    };
    match allowed {
        Some(allowed) if message.contains("YAML tag") || message.contains("unknown variant") => {
            format!("`{field}` must be one of: {allowed}")
        }
        _ => message,
    }
}

/// A value quoted in an error, cut to a readable length.
fn clip_value(v: &str) -> String {
    match v.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &v[..cut]),
        None => v.to_string(),
    }
}

/// The id of a finding: the scenario and a hash of everything that fixes the run.
pub fn incident_id(
    scenario: &str,
    engine: EngineKind,
    seed: u64,
    params: &BTreeMap<String, String>,
    schedule: &Schedule,
) -> String {
    let mut h = blake3::Hasher::new_derive_key("hormesis incident id v1");
    let mut line = |s: &str| {
        h.update(s.as_bytes());
        h.update(b"\n");
    };
    line(scenario);
    line(engine.name());
    line(&seed.to_string());
    for (k, v) in params {
        line(&format!("{k}={v}"));
    }
    for e in &schedule.events {
        line(&e.to_spec());
    }
    format!("{scenario}-{}", &h.finalize().to_hex()[..10])
}

/// The raw shape of the file, read by serde so its errors carry lines.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentFile {
    #[allow(dead_code)]
    version: u64,
    id: String,
    scenario: String,
    engine: EngineKind,
    seed: u64,
    params: BTreeMap<String, Value>,
    schedule: Value,
    found: Found,
    expect: Expect,
}

fn optional_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| parse_duration(&t).map_err(serde::de::Error::custom))
        .transpose()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// 1-based line of a top-level key.
fn top_key(text: &str, key: &str) -> Option<usize> {
    let prefix = format!("{key}:");
    text.lines()
        .position(|l| indent(l) == 0 && l.starts_with(&prefix))
        .map(|i| i + 1)
}

/// 1-based line of `key` directly inside the top-level block `block`.
fn key_in_block(text: &str, block: &str, key: &str) -> Option<usize> {
    let start = top_key(text, block)?;
    let prefix = format!("{key}:");
    text.lines()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| l.trim().is_empty() || indent(l) > 0)
        .find(|(_, l)| l.trim_start().starts_with(&prefix))
        .map(|(i, _)| i + 1)
}

/// The block under a top-level key, dedented, and the key's line; `None`
/// when the value is written on the key's own line (flow style).
fn block_under(text: &str, key: &str) -> Option<(String, usize)> {
    let start = top_key(text, key)?;
    let lines: Vec<&str> = text
        .lines()
        .skip(start)
        .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || indent(l) > 0)
        .collect();
    let cut = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()?;
    let block = lines
        .iter()
        .map(|l| l.get(cut..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    Some((block, start))
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Incident {
    /// An incident from a finished run. `command` is how it was found.
    pub fn from_report(
        report: &RunReport,
        command: String,
        date: String,
        expect: Expect,
    ) -> Incident {
        let params: BTreeMap<String, String> = report
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let schedule = Schedule::from_specs(&report.schedule)
            .expect("a report's schedule is made of specs that parse");
        let v = &report.verdict;
        Incident {
            id: incident_id(
                &report.scenario,
                report.engine,
                report.seed,
                &params,
                &schedule,
            ),
            scenario: report.scenario.clone(),
            engine: report.engine,
            seed: report.seed,
            params,
            schedule,
            found: Found {
                class: v.class,
                score: v.score,
                ttr: v.ttr_s.map(Duration::from_secs_f64),
                damage: v.damage,
                amplification: v.amplification,
                digest: report.digest.clone(),
                behaviour: Some(report.behaviour.clone()),
                tick: report_tick(report),
                hormesis_version: report.hormesis_version.to_string(),
                date,
                command,
                shrunk_from: None,
                mechanism: report
                    .diagnosis
                    .as_ref()
                    .filter(|_| v.class == crate::verdict::Class::Metastable)
                    .map(|d| d.key()),
            },
            expect,
            located: None,
        }
    }

    /// The same incident with the figures of a fresh `report` of it (after
    /// an intended change of behaviour): id, seed, params, schedule, the
    /// expectation, the finding command and `shrunk-from` stay.
    pub fn rerecorded(&self, report: &RunReport, date: String) -> Incident {
        let fresh =
            Incident::from_report(report, self.found.command.clone(), date, Expect::default());
        Incident {
            found: Found {
                shrunk_from: self.found.shrunk_from.clone(),
                ..fresh.found
            },
            ..self.clone()
        }
    }

    /// Where it was read from, if it was read from a file.
    pub fn origin(&self) -> Option<&str> {
        self.located.as_ref().map(|l| l.origin.as_str())
    }

    /// Reads and parses an incident file.
    pub fn load(path: &Path) -> Result<Incident, IncidentError> {
        let origin = path.display().to_string();
        let text = crate::files::read_text(path).map_err(|error| IncidentError::Io {
            origin: origin.clone(),
            error,
        })?;
        Incident::parse(&text, &origin)
    }

    /// Parses an incident; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Incident, IncidentError> {
        let invalid = |line: Option<usize>, message: String| IncidentError::Invalid {
            origin: origin.to_string(),
            line,
            message,
        };
        if let Some((line, message)) = hormesis_faults::too_deep(text) {
            return Err(invalid(Some(line), message));
        }
        let doc: Value = serde_yaml::from_str(text).map_err(|e| {
            invalid(
                hormesis_faults::yaml_error_line(text, &e),
                format!("not valid YAML: {e}"),
            )
        })?;
        let Some(map) = doc.as_mapping() else {
            return Err(invalid(
                Some(1),
                "an incident is a YAML mapping starting with `version: 1`; see docs/incident-format.md".into(),
            ));
        };
        match map.get("version").map(|v| v.as_u64()) {
            None => {
                return Err(invalid(
                    None,
                    format!("missing `version: {INCIDENT_VERSION}`"),
                ))
            }
            Some(Some(INCIDENT_VERSION)) => {}
            Some(Some(found)) if found > INCIDENT_VERSION => {
                return Err(IncidentError::Version {
                    origin: origin.to_string(),
                    line: top_key(text, "version"),
                    found,
                })
            }
            Some(_) => {
                return Err(invalid(
                    top_key(text, "version"),
                    format!("`version` must be {INCIDENT_VERSION}"),
                ))
            }
        }
        let file: IncidentFile = serde_yaml::from_str(text).map_err(|e| {
            invalid(
                hormesis_faults::yaml_error_line(text, &e),
                plain_serde_error(&e),
            )
        })?;
        let id_ok = !file.id.is_empty()
            && file.id.len() <= 128
            && file
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !id_ok {
            return Err(invalid(
                top_key(text, "id"),
                "`id` names the incident in file and test names: 1 to 128 letters, digits, `-`, `_` or `.`".into(),
            ));
        }
        for (key, value) in [
            ("digest", Some(&file.found.digest)),
            ("behaviour", file.found.behaviour.as_ref()),
        ] {
            let Some(value) = value else { continue };
            if value.len() != 64 || !value.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(invalid(
                    key_in_block(text, "found", key),
                    format!(
                        "`{key}: {}`: a digest is 64 hexadecimal digits, as `run` prints it",
                        clip_value(value)
                    ),
                ));
            }
        }
        let mut params = BTreeMap::new();
        for (key, value) in &file.params {
            let text_value = scalar_text(value).ok_or_else(|| {
                invalid(
                    key_in_block(text, "params", key),
                    format!("param `{key}` must be a plain value (a number, a duration like `250ms`, or a name)"),
                )
            })?;
            params.insert(key.clone(), text_value);
        }
        if file.expect.is_empty() {
            return Err(invalid(
                top_key(text, "expect"),
                "`expect` needs at least one of `class`, `recovers-within`, `max-score`".into(),
            ));
        }
        if let Some(v) = file.expect.max_score.filter(|v| !(0.0..=1.0).contains(v)) {
            return Err(invalid(
                key_in_block(text, "expect", "max-score"),
                format!("`max-score: {v}`: a score is a number in [0, 1]"),
            ));
        }
        let score = file.found.score;
        if !(0.0..=1.0).contains(&score) {
            return Err(invalid(
                key_in_block(text, "found", "score"),
                format!("`score: {score}`: a score is a number in [0, 1]"),
            ));
        }
        let schedule_source = block_under(text, "schedule");
        let schedule = match &schedule_source {
            Some((block, offset)) => {
                Schedule::from_yaml(block, origin).map_err(|e| e.embedded_in(origin, *offset))?
            }
            None => Schedule::from_yaml_value(&file.schedule, "", origin)?,
        };
        Ok(Incident {
            id: file.id,
            scenario: file.scenario,
            engine: file.engine,
            seed: file.seed,
            params,
            schedule,
            found: file.found,
            expect: file.expect,
            located: Some(Located {
                origin: origin.to_string(),
                text: text.to_string(),
                schedule_source,
            }),
        })
    }

    fn line_of(&self, block: Option<&str>, key: &str) -> Option<usize> {
        let text = &self.located.as_ref()?.text;
        match block {
            None => top_key(text, key),
            Some(b) => key_in_block(text, b, key),
        }
    }

    fn invalid(&self, line: Option<usize>, message: String) -> IncidentError {
        IncidentError::Invalid {
            origin: self.origin().unwrap_or("incident").to_string(),
            line,
            message,
        }
    }

    /// Its scenario, looked up in `registry`.
    pub fn scenario(&self, registry: &Registry) -> Result<&'static dyn Scenario, IncidentError> {
        registry
            .find(&self.scenario)
            .map_err(|e| self.invalid(self.line_of(None, "scenario"), e.to_string()))
    }

    /// The run this incident describes, its scenario looked up in
    /// `registry`, with `overrides` (`key=value`) applied over its params.
    pub fn plan<S: AsRef<str>>(
        &self,
        registry: &Registry,
        overrides: &[S],
    ) -> Result<RunPlan<'static>, IncidentError> {
        let scenario = self.scenario(registry)?;
        let specs = scenario.params();
        for (key, value) in &self.params {
            let spec = specs.iter().find(|s| s.name == key).ok_or_else(|| {
                self.invalid(
                    self.line_of(Some("params"), key),
                    format!(
                        "`{}` has no parameter `{key}`; allowed: {}",
                        self.scenario,
                        specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            spec.parse(value)
                .map_err(|e| self.invalid(self.line_of(Some("params"), key), e.message))?;
        }
        let mut all: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        all.extend(overrides.iter().map(|o| o.as_ref().to_string()));
        let (origin, source, offset) = match &self.located {
            Some(Located {
                origin,
                schedule_source: Some((block, offset)),
                ..
            }) => (origin.as_str(), Some(block.as_str()), *offset),
            Some(l) => (l.origin.as_str(), None, 0),
            None => ("incident", None, 0),
        };
        RunPlan::of(scenario)
            .sets(&all)
            .schedule(self.schedule.clone())
            .located(origin, source)
            .seed(self.seed)
            .engine(self.engine)
            .build()
            .map_err(|e| match e {
                RunError::Schedule(s) => IncidentError::Schedule(s.embedded_in(origin, offset)),
                other => self.invalid(None, other.to_string()),
            })
    }

    /// The YAML form, in canonical key order.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# A hormesis incident (docs/incident-format.md).");
        let _ = writeln!(out, "# Replay it with: hormesis replay FILE");
        let _ = writeln!(out, "version: {INCIDENT_VERSION}");
        let _ = writeln!(out, "id: {}", yaml_scalar(&self.id));
        let _ = writeln!(out, "scenario: {}", yaml_scalar(&self.scenario));
        let _ = writeln!(out, "engine: {}", self.engine.name());
        let _ = writeln!(out, "seed: {}", self.seed);
        out.push_str("params:\n");
        for (k, v) in &self.params {
            let _ = writeln!(out, "  {}: {}", yaml_scalar(k), yaml_scalar(v));
        }
        out.push_str("schedule:\n");
        let _ = writeln!(out, "  version: {}", hormesis_faults::SCHEDULE_VERSION);
        out.push_str(&self.schedule.events_yaml("  "));
        let f = &self.found;
        out.push_str("found:\n");
        let _ = writeln!(out, "  class: {}", f.class.name());
        let _ = writeln!(out, "  score: {:.4}", f.score);
        let _ = writeln!(
            out,
            "  ttr: {}",
            f.ttr.map_or("null".to_string(), format_duration)
        );
        let _ = writeln!(out, "  damage: {:.4}", f.damage);
        let _ = writeln!(out, "  amplification: {:.3}", f.amplification);
        let _ = writeln!(out, "  digest: {}", f.digest);
        if let Some(b) = &f.behaviour {
            let _ = writeln!(out, "  behaviour: {b}");
        }
        if let Some(tick) = f.tick {
            let _ = writeln!(out, "  tick: {}", format_duration(tick));
        }
        let _ = writeln!(
            out,
            "  hormesis-version: {}",
            yaml_scalar(&f.hormesis_version)
        );
        let _ = writeln!(out, "  date: {}", yaml_scalar(&f.date));
        let _ = writeln!(out, "  command: {}", yaml_scalar(&f.command));
        if let Some(from) = &f.shrunk_from {
            let _ = writeln!(out, "  shrunk-from: {}", yaml_scalar(from));
        }
        if let Some(m) = &f.mechanism {
            let _ = writeln!(out, "  mechanism: {}", yaml_scalar(m));
        }
        out.push_str("expect:\n");
        let e = &self.expect;
        if let Some(c) = e.class {
            let _ = writeln!(out, "  class: {}", c.name());
        }
        if let Some(d) = e.recovers_within {
            let _ = writeln!(out, "  recovers-within: {}", format_duration(d));
        }
        if let Some(s) = e.max_score {
            let _ = writeln!(out, "  max-score: {s}");
        }
        out
    }
}

/// The date stamped into new incidents: `SOURCE_DATE_EPOCH` when set (for
/// reproducible files), else now. Outside any simulation: it labels a file.
pub fn today() -> String {
    let from_env = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|secs| std::time::UNIX_EPOCH + Duration::from_secs(secs));
    #[allow(clippy::disallowed_methods)] // labels a file; never read by a simulation
    let now = from_env.unwrap_or_else(std::time::SystemTime::now);
    humantime::format_rfc3339_seconds(now).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_under_dedents_and_reports_the_key_line() {
        let text = "a: 1\nschedule:\n  version: 1\n  events: []\nfound: x\n";
        let (block, offset) = block_under(text, "schedule").unwrap();
        assert_eq!(block, "version: 1\nevents: []");
        assert_eq!(offset, 2);
        assert_eq!(block_under("schedule: {version: 1}\n", "schedule"), None);
        assert_eq!(key_in_block(text, "schedule", "events"), Some(4));
    }

    #[test]
    fn expect_checks_every_condition() {
        let verdict = Verdict {
            class: Class::SlowRecovery,
            score: 0.25,
            ttr_s: Some(37.0),
            damage: 0.5,
            amplification: 1.1,
            g0: 120.0,
            first_fault_s: 60.0,
            trigger_end_s: 70.0,
            horizon_s: 60.0,
            control_collapsed: false,
            unhealthy: None,
            block_s: 1.0,
        };
        let mut e = Expect::default();
        e.set("recovers-within=60s").unwrap();
        assert!(e.check(&verdict).is_ok());
        e.set("max-score=0.2").unwrap();
        assert!(e.check(&verdict).unwrap_err().contains("score"));
        let mut e = Expect::default();
        e.set("class=metastable").unwrap();
        assert!(e
            .check(&verdict)
            .unwrap_err()
            .contains("expected metastable"));
        assert!(e.set("class=broken").unwrap_err().contains("allowed"));
        assert!(e.set("colour=red").unwrap_err().contains("allowed"));
    }

    #[test]
    fn an_unhealthy_baseline_fails_every_guard_but_one_that_expects_it() {
        let verdict = Verdict {
            class: Class::UnhealthyBaseline,
            score: 0.0,
            ttr_s: None,
            damage: 0.0,
            amplification: 1.0,
            g0: 0.0,
            first_fault_s: 60.0,
            trigger_end_s: 70.0,
            horizon_s: 60.0,
            control_collapsed: true,
            unhealthy: Some("no goodput before the first fault (G0 = 0)".into()),
            block_s: 1.0,
        };
        let mut e = Expect::default();
        e.set("max-score=0.5").unwrap();
        assert!(e.check(&verdict).unwrap_err().contains("G0 = 0"));
        let mut e = Expect::default();
        e.set("class=stable").unwrap();
        assert!(e.check(&verdict).is_err());
        let mut e = Expect::default();
        e.set("class=unhealthy-baseline").unwrap();
        assert!(e.check(&verdict).is_ok());
        assert_eq!(Expect::observed(&verdict), e);
    }
}
