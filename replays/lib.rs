//! Where the recorded incidents live. The test target `replays` (see
//! `replay_all.rs`) turns every `*.yaml` below this folder into a test named
//! after its file, so `cargo test` names the incident that regressed.

use std::path::{Path, PathBuf};

/// This folder: every `*.yaml` below it is an incident.
pub fn incident_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Every incident file below [`incident_dir`], in name order.
pub fn incident_files() -> Result<Vec<PathBuf>, String> {
    hormesis::replay::collect(&[incident_dir()])
}

/// The test name of an incident file: its path below this folder, without
/// the extension (`retry-storm/spike`).
pub fn test_name(file: &Path) -> String {
    let relative = file.strip_prefix(incident_dir()).unwrap_or(file);
    relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
