//! `report`: one self-contained HTML file for a run, an incident, a map or
//! explorations.

use super::Exit;
use super::{bad_input, output, preflight, write_file, Env, Failure, OrBadInput};
use crate::files;
use crate::incident::Incident;
use crate::run;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(super) struct ReportArgs {
    /// A run's JSON, an incident (YAML), explorations' JSON, a map's JSON,
    /// a tuning's JSON or a sweep's JSON.
    #[arg(
        required = true,
        value_name = "RUN.json|INCIDENT.yaml|EXPLORE.json|MAP.json|TUNE.json|SWEEP.json"
    )]
    inputs: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE.html")]
    output: PathBuf,
    /// Also write the plot alone as SVG (a run's or incident's timeline, a
    /// map, a tuning's convergence, a sweep), e.g. for a PR.
    #[arg(long, value_name = "FILE.svg")]
    svg: Option<PathBuf>,
}

pub(super) fn command(env: &Env, args: ReportArgs) -> Result<Exit, Failure> {
    use crate::report::{self, ExploreView, RunView};
    let inputs: Vec<&Path> = args.inputs.iter().map(|p| p.as_path()).collect();
    preflight(
        &[
            output("-o", Some(&args.output)),
            output("--svg", args.svg.as_deref()),
        ],
        &inputs,
    )?;
    let mut runs: Vec<RunView> = Vec::new();
    let mut explorations: Vec<ExploreView> = Vec::new();
    let mut maps: Vec<report::MapView> = Vec::new();
    let mut tunings: Vec<report::TuneView> = Vec::new();
    let mut sweeps: Vec<report::SweepView> = Vec::new();
    for path in &args.inputs {
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        let value: serde_json::Value = if is_yaml {
            let incident = Incident::load(path).map_err(bad_input)?;
            let plan = incident
                .plan(&env.registry, &[] as &[&str])
                .map_err(bad_input)?;
            errln!("replaying {} to draw it", path.display());
            serde_json::to_value(run::run(&plan)?).map_err(bad_input)?
        } else {
            let text =
                files::read_text(path).or_bad(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text).or_bad(|| format!("{}: not JSON", path.display()))?
        };
        let what = |e: serde_json::Error| {
            bad_input(format!(
                "{}: not a `run`, `explore`, `map`, `tune` or `sweep` JSON output: {e}",
                path.display()
            ))
        };
        let invalid = |why: String| bad_input(format!("{}: {why}", path.display()));
        if value.get("windows").is_some() {
            let view: RunView = serde_json::from_value(value).map_err(what)?;
            view.validate().map_err(invalid)?;
            runs.push(view);
        } else if value.get("mitigation").is_some() && value.get("rounds").is_some() {
            let view: report::TuneView = serde_json::from_value(value).map_err(what)?;
            view.validate().map_err(invalid)?;
            tunings.push(view);
        } else if value.get("param").is_some() && value.get("no_effect").is_some() {
            let view: report::SweepView = serde_json::from_value(value).map_err(what)?;
            view.validate().map_err(invalid)?;
            sweeps.push(view);
        } else if value.get("template").is_some() && value.get("cells").is_some() {
            let view: report::MapView = serde_json::from_value(value).map_err(what)?;
            view.validate().map_err(invalid)?;
            maps.push(view);
        } else if value.get("runs").is_some() && value.get("summary").is_some() {
            let view: ExploreView = serde_json::from_value(value).map_err(what)?;
            view.validate().map_err(invalid)?;
            explorations.push(view);
        } else {
            return Err(bad_input(format!(
                "{}: not a run (`run --json`), an incident (.yaml), an exploration (`explore --json`), a map (`map --json`), a tuning (`tune --json`) or a sweep (`sweep --json`)",
                path.display()
            )));
        }
    }
    let others = runs.len() + explorations.len() + maps.len();
    if let [sweep] = sweeps.as_slice() {
        if others + tunings.len() > 0 {
            return Err(bad_input(
                "a sweep's report stands alone: give its JSON only",
            ));
        }
        return standalone(
            &args,
            || report::sweep_svg(sweep),
            || report::sweep_html(sweep),
        );
    }
    if sweeps.len() > 1 {
        return Err(bad_input("give one sweep's JSON per report"));
    }
    if let [tuning] = tunings.as_slice() {
        if others > 0 {
            return Err(bad_input(
                "a tuning's report stands alone: give its JSON only",
            ));
        }
        return standalone(
            &args,
            || report::tune_svg(tuning),
            || report::tune_html(tuning),
        );
    }
    if tunings.len() > 1 {
        return Err(bad_input("give one tuning's JSON per report"));
    }
    let html =
        match (runs.as_slice(), explorations.as_slice(), maps.as_slice()) {
            ([], [], [map]) => {
                if let Some(svg) = &args.svg {
                    let plot = report::map_svg(map).map_err(bad_input)?;
                    write_file(svg, plot.as_bytes())?;
                }
                report::map_html(map).map_err(bad_input)?
            }
            ([run], [], []) => {
                if let Some(svg) = &args.svg {
                    let plot = report::timeline_svg(run).map_err(bad_input)?;
                    write_file(svg, plot.as_bytes())?;
                }
                report::run_html(run).map_err(bad_input)?
            }
            ([], [first, ..], []) => {
                if args.svg.is_some() {
                    return Err(bad_input(
                        "--svg writes a run's timeline; explorations have none",
                    ));
                }
                if let Some(other) = explorations.iter().find(|e| e.scenario != first.scenario) {
                    return Err(bad_input(format!(
                        "explorations of different scenarios ({} and {}) cannot share a report",
                        first.scenario, other.scenario
                    )));
                }
                report::explore_html(&explorations).map_err(bad_input)?
            }
            _ => return Err(bad_input(
                "give one run or incident, one map, one tuning, or one or more explorations of one scenario",
            )),
        };
    write_file(&args.output, html.as_bytes())?;
    errln!("wrote {}", args.output.display());
    Ok(Exit::Clean)
}

/// Writes a report that stands alone (a tuning's, a sweep's): its plot as
/// SVG when asked, then the page.
fn standalone(
    args: &ReportArgs,
    svg: impl FnOnce() -> Result<String, crate::report::ReportError>,
    html: impl FnOnce() -> Result<String, crate::report::ReportError>,
) -> Result<Exit, Failure> {
    if let Some(path) = &args.svg {
        write_file(path, svg().map_err(bad_input)?.as_bytes())?;
    }
    write_file(&args.output, html().map_err(bad_input)?.as_bytes())?;
    errln!("wrote {}", args.output.display());
    Ok(Exit::Clean)
}
