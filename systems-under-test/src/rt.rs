//! The runtime seam: spawning and time. Services take both from here (or
//! from `tokio`, which in this workspace is `madsim-tokio`: tokio itself in
//! the default build, madsim's simulated tokio under `--cfg madsim`), so the
//! same service body runs on either engine.
//!
//! What this module adds is what madsim's tokio lacks: `timeout_at`.
//! Randomness needs no seam: services draw from generators seeded by their
//! configuration, never from an engine's or the OS's.

pub use tokio::task::spawn_local;
pub use tokio::{spawn, time};

/// Waits for `future` until `deadline` (simulated time on both engines).
#[cfg(not(madsim))]
pub use tokio::time::timeout_at;

/// Waits for `future` until `deadline` (simulated time on both engines).
#[cfg(madsim)]
pub async fn timeout_at<F: std::future::Future>(
    deadline: time::Instant,
    future: F,
) -> Result<F::Output, time::error::Elapsed> {
    // madsim's clock (std's Instant, answered with simulated time inside a
    // simulation): this code exists only in the madsim flavour.
    let now = time::Instant::now();
    time::timeout(deadline.saturating_duration_since(now), future).await
}
