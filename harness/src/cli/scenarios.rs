//! `scenarios`: what this binary can run, as a table or JSON.

use super::Exit;
use super::{bad_input, Env, Failure};
use crate::engine::EngineKind;
use crate::scenario::{ParamKind, ParamValue, Params, Scenario};
use hormesis_faults::KnobKind;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct ScenarioListing {
    name: &'static str,
    description: &'static str,
    hosts: Vec<String>,
    clients: Vec<String>,
    knobs: Vec<KnobListing>,
    /// Knobs that cut a loop (`Scenario::remedies`): a schedule may turn
    /// them, no search proposes them.
    remedies: Vec<KnobListing>,
    params: Vec<ParamListing>,
    /// The values of the `mitigation` parameter (`none` first), if it has one.
    mitigations: Vec<&'static str>,
    trigger: Vec<String>,
    /// The system these parameters build, described (`Scenario::describe`),
    /// for scenarios that say more than their description.
    details: Option<String>,
    /// turmoil's step at the default parameters, milliseconds: the finest
    /// time scale a turmoil run resolves (`run --check-fidelity` reruns at
    /// a fifth of it).
    tick_ms: f64,
    /// The engines it runs on, and why not on the others.
    engines: Vec<&'static str>,
    unsupported: Vec<EngineSupport>,
}

#[derive(Serialize)]
struct EngineSupport {
    engine: &'static str,
    why: &'static str,
}

#[derive(Serialize)]
struct KnobListing {
    name: String,
    kind: &'static str,
    default: Option<f64>,
    range: Option<[f64; 2]>,
    help: String,
}

#[derive(Serialize)]
struct ParamListing {
    name: &'static str,
    default: ParamValue,
    range: String,
    help: &'static str,
}

fn listing(s: &dyn Scenario, sets: &[String]) -> Result<ScenarioListing, Failure> {
    let params = Params::resolve(&s.params(), sets).map_err(bad_input)?;
    let system = s.build(&params).map_err(bad_input)?;
    let layout = system.layout();
    Ok(ScenarioListing {
        name: s.name(),
        description: s.description(),
        hosts: layout.hosts.clone(),
        clients: layout.clients.clone(),
        tick_ms: layout.tick.as_secs_f64() * 1000.0,
        knobs: s.knobs_for(&params).into_iter().map(knob_listing).collect(),
        remedies: s.remedies(&params).into_iter().map(knob_listing).collect(),
        params: s
            .params()
            .into_iter()
            .map(|p| ParamListing {
                name: p.name,
                range: p.range(),
                default: p.default.clone(),
                help: p.help,
            })
            .collect(),
        mitigations: s
            .params()
            .into_iter()
            .find(|p| p.name == "mitigation")
            .and_then(|p| match p.kind {
                ParamKind::Choice { options } => Some(options.to_vec()),
                _ => None,
            })
            .unwrap_or_default(),
        trigger: s.trigger(),
        details: s.describe(&params),
        engines: ENGINES
            .into_iter()
            .filter(|e| s.unsupported_on(*e).is_none())
            .map(EngineKind::name)
            .collect(),
        unsupported: ENGINES
            .into_iter()
            .filter_map(|e| {
                s.unsupported_on(e).map(|why| EngineSupport {
                    engine: e.name(),
                    why,
                })
            })
            .collect(),
    })
}

fn knob_listing(k: hormesis_faults::KnobSpec) -> KnobListing {
    let (kind, default, range) = match k.kind {
        KnobKind::Action => ("action", None, None),
        KnobKind::Value { min, max, default } => ("value", Some(default), Some([min, max])),
    };
    KnobListing {
        name: k.name,
        kind,
        default,
        range,
        help: k.help,
    }
}

const ENGINES: [EngineKind; 2] = [EngineKind::Turmoil, EngineKind::Madsim];

pub(super) fn command(
    env: &Env,
    json: bool,
    only: Option<&str>,
    sets: &[String],
) -> Result<Exit, Failure> {
    let chosen: Vec<&dyn Scenario> = match only {
        Some(name) => vec![env.registry.find(name).map_err(bad_input)?],
        None => env.registry.scenarios().to_vec(),
    };
    let all = chosen
        .into_iter()
        .map(|s| listing(s, sets))
        .collect::<Result<Vec<_>, _>>()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&all).map_err(bad_input)?);
        return Ok(Exit::Clean);
    }
    for s in all {
        outln!("{}\n  {}", s.name, s.description);
        outln!(
            "  hosts:   {}   clients: {}",
            s.hosts.join(", "),
            s.clients.join(", ")
        );
        let knobs: Vec<String> = s
            .knobs
            .iter()
            .map(|k| format!("{} ({})", k.name, k.kind))
            .collect();
        outln!("  knobs:   {}", knobs.join(", "));
        if !s.remedies.is_empty() {
            let remedies: Vec<String> = s
                .remedies
                .iter()
                .map(|k| format!("{} ({})", k.name, k.kind))
                .collect();
            outln!("  remedies: {}", remedies.join(", "));
        }
        if !s.mitigations.is_empty() {
            outln!("  mitigations: {}", s.mitigations.join(", "));
        }
        outln!(
            "  engines: {}   turmoil tick: {}ms",
            s.engines.join(", "),
            s.tick_ms
        );
        for u in &s.unsupported {
            outln!("    not on {}: {}", u.engine, u.why);
        }
        if s.trigger.is_empty() {
            outln!("  trigger: none documented");
        } else {
            outln!(
                "  trigger: {}",
                s.trigger
                    .iter()
                    .map(|t| format!("--fault '{t}'"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        if let Some(details) = &s.details {
            for line in details.lines() {
                outln!("  {line}");
            }
        }
        outln!("  params:");
        let name_width = s.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        let range_width = s.params.iter().map(|p| p.range.len()).max().unwrap_or(0);
        for p in &s.params {
            outln!(
                "    {:<name_width$} {:>8}  {:<range_width$}  {}",
                p.name,
                p.default.to_string(),
                p.range,
                p.help
            );
        }
        outln!();
    }
    Ok(Exit::Clean)
}
