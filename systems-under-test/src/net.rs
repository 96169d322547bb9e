//! The network seam. Services import sockets from here, never from an engine
//! directly, so one service body runs under every engine hormesis supports:
//! turmoil's simulated TCP in the default build, madsim's under
//! `--cfg madsim` (the madsim flavour, `cargo madsim-build`).
//!
//! The two differ in one place a service touches: madsim's stream cannot be
//! split into owned halves, so [`into_split`] is the one way to split a
//! stream here, and the halves' types are named by this module.

#[cfg(not(madsim))]
mod engine {
    pub use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    pub use turmoil::net::{TcpListener, TcpStream};

    /// Splits a stream into halves that can move to different tasks.
    pub fn into_split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
        stream.into_split()
    }
}

#[cfg(madsim)]
mod engine {
    pub use tokio::net::{TcpListener, TcpStream};

    pub type OwnedReadHalf = tokio::io::ReadHalf<TcpStream>;
    pub type OwnedWriteHalf = tokio::io::WriteHalf<TcpStream>;

    /// Splits a stream into halves that can move to different tasks.
    pub fn into_split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
        tokio::io::split(stream)
    }
}

pub use engine::*;
