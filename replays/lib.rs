//! Where the recorded incidents live. The test target `replays` (see
//! `replay_all.rs`) turns every `*.yaml` below this folder into a test named
//! after its file, so `cargo test` names the incident that regressed.

use std::path::{Path, PathBuf};

/// This folder: every `*.yaml` below it is an incident.
pub fn incident_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}
