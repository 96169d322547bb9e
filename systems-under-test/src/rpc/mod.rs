//! The request/response plumbing every service here shares: a tiny wire
//! protocol, an accept loop that hands requests to a [`Handler`], a FIFO
//! [`WorkerPool`], and a [`RetryClient`] that retries on timeout as most RPC
//! clients do by default.

mod client;
mod pool;
mod protocol;
mod server;

pub use client::{CallError, ClientPolicy, ClientStats, ConnectPolicy, Keepalive, RetryClient};
pub use pool::{PoolConfig, PoolControls, PoolStats, WorkerPool};
pub(crate) use protocol::{read_response, write_request};
pub use protocol::{Request, Status};
pub use server::{serve, serve_with, Handler, OnDisconnect, Reply};
