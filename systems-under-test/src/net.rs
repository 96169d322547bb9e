//! The network seam. Services import sockets from here, never from an engine
//! directly, so one service body runs under every engine hormesis supports.
//! Under turmoil these are turmoil's simulated TCP sockets.

pub use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
pub use turmoil::net::{TcpListener, TcpStream};
