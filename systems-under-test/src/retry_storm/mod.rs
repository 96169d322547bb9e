//! A request/response service whose clients retry on timeout.
//!
//! The server keeps one FIFO queue served by a fixed number of workers, each
//! taking `service_time` per request. Work is never cancelled: a request
//! whose client has given up is still served, which is what lets a backlog
//! outlive the spike that built it.
//!
//! The wire protocol is deliberately tiny: a request is an 8-byte id, a
//! response the same id followed by a status byte.

mod client;
mod protocol;
mod server;

pub use client::{CallError, ClientPolicy, ClientStats, RetryClient};
pub use server::{serve, ServerConfig, ServerControls, ServerStats};
