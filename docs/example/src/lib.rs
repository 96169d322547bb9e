//! Testing your own service with hormesis, start to finish: [`service`] is
//! an ordinary tokio service that knows nothing of hormesis (a quote server
//! with a fixed pool of workers, and a client that retries on timeout);
//! [`scenario`] tells hormesis how to run it; `tests/resilience.rs` checks
//! it from `cargo test`. `docs/guide.md` walks through these files.

pub mod scenario;
pub mod service;
