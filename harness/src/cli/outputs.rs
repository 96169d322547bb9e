//! What commands write: every output checked before any work starts,
//! incidents never overwritten, files replaced atomically, JSON to a file
//! or to stdout.

use super::{bad_input, Failure, OrBadInput};
use crate::files;
use crate::incident::Incident;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// An output of a command, as `preflight` checks it.
pub(super) struct Output<'a> {
    flag: &'a str,
    path: Option<&'a Path>,
    /// Incident files are written with their missing folders (`--record
    /// replays/new/x.yaml`); other outputs need an existing folder.
    makes_folders: bool,
}

pub(super) fn output<'a>(flag: &'a str, path: Option<&'a Path>) -> Output<'a> {
    Output {
        flag,
        path,
        makes_folders: false,
    }
}

pub(super) fn incident_output<'a>(flag: &'a str, path: Option<&'a Path>) -> Output<'a> {
    Output {
        flag,
        path,
        makes_folders: true,
    }
}

/// Checks every output of a command before any work starts: each can be
/// written (its folder exists, or for incidents can be made, and takes
/// files), none is an input, and no two are the same file.
pub(super) fn preflight(outputs: &[Output<'_>], inputs: &[&Path]) -> Result<(), Failure> {
    let outputs: Vec<(&str, &Path, bool)> = outputs
        .iter()
        .filter_map(|o| Some((o.flag, o.path?, o.makes_folders)))
        .collect();
    let to_stdout: Vec<&str> = outputs
        .iter()
        .filter(|(_, path, _)| files::is_stdout(path))
        .map(|(flag, _, _)| *flag)
        .collect();
    if to_stdout.len() > 1 {
        return Err(bad_input(format!(
            "{} are all `-`: stdout can carry one output; give the others a file",
            to_stdout.join(" and ")
        )));
    }
    super::STDOUT_IS_DATA.store(to_stdout.len() == 1, std::sync::atomic::Ordering::SeqCst);
    for (i, &(flag, path, makes_folders)) in outputs.iter().enumerate() {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        let checked = match folder {
            Some(folder) if makes_folders && !folder.exists() => files::check_output_dir(folder),
            _ => files::check_output(path, inputs),
        };
        checked.map_err(|m| bad_input(format!("{flag} {m}")))?;
        if let Some((other, _, _)) = outputs[..i]
            .iter()
            .find(|(_, o, _)| !files::is_stdout(path) && (*o == path || files::same_file(o, path)))
        {
            return Err(bad_input(format!(
                "{flag} {} is also given to {other}: each output needs its own file",
                path.display()
            )));
        }
    }
    Ok(())
}

pub(super) fn write_incident(path: &Path, incident: &Incident) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).or_bad(|| format!("cannot create {}", dir.display()))?;
    }
    files::write_new(path, incident.to_yaml().as_bytes()).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            ": remove it or choose another name"
        } else {
            ""
        };
        bad_input(format!("cannot write {}: {e}{hint}", path.display()))
    })
}

/// Writes `bytes` to `path` atomically, or says which file could not be written.
pub(super) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    files::write_atomically(path, bytes).or_bad(|| format!("cannot write {}", path.display()))
}

/// Prints the human-readable `out` and writes `value` as JSON to `json`:
/// with `--json -` the JSON goes to stdout and the text to stderr, so
/// scripts can pipe one and people still see the other.
pub(super) fn emit(out: &str, json: Option<&Path>, value: &impl Serialize) -> Result<(), Failure> {
    let to_stdout = json.is_some_and(files::is_stdout);
    if to_stdout {
        err!("{out}");
    } else {
        out!("{out}");
    }
    if let Some(path) = json {
        let mut text = serde_json::to_string_pretty(value).map_err(bad_input)?;
        text.push('\n');
        // `-` is stdout itself, whatever the text above went to.
        write_file(path, text.as_bytes())?;
    }
    Ok(())
}
