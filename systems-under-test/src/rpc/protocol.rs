//! The wire protocol, deliberately tiny: a request is an 8-byte id and an
//! 8-byte key, a response the same id followed by a status byte. Id
//! [`PING`] is a keepalive ping, which the accept loop answers itself, as
//! an HTTP/2 transport answers a PING frame; requests count from 1.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const REQUEST_LEN: usize = 16;
pub const RESPONSE_LEN: usize = 9;
/// The id of a keepalive ping.
pub const PING: u64 = 0;

/// One request as the server sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Unique per connection; matches the response to its attempt.
    pub id: u64,
    /// What is asked for (a cache key, a user id); services may ignore it.
    pub key: u64,
}

/// How the server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Refused without doing the work (shed, over a limit): cheap, and safe to retry elsewhere.
    Rejected,
    /// The work was tried and failed (a dependency failed or timed out).
    Failed,
}

impl Status {
    fn to_byte(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Rejected => 1,
            Status::Failed => 2,
        }
    }

    fn from_byte(b: u8) -> Status {
        match b {
            0 => Status::Ok,
            1 => Status::Rejected,
            _ => Status::Failed,
        }
    }
}

pub async fn read_request(r: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Request> {
    let mut buf = [0u8; REQUEST_LEN];
    r.read_exact(&mut buf).await?;
    let word = |i: usize| u64::from_be_bytes(buf[i..i + 8].try_into().unwrap_or([0; 8]));
    Ok(Request {
        id: word(0),
        key: word(8),
    })
}

pub async fn write_request(
    w: &mut (impl AsyncWrite + Unpin),
    request: Request,
) -> std::io::Result<()> {
    let mut buf = [0u8; REQUEST_LEN];
    buf[..8].copy_from_slice(&request.id.to_be_bytes());
    buf[8..].copy_from_slice(&request.key.to_be_bytes());
    w.write_all(&buf).await?;
    // madsim's streams send on flush, as a buffered writer would.
    w.flush().await
}

pub async fn read_response(r: &mut (impl AsyncRead + Unpin)) -> std::io::Result<(u64, Status)> {
    let mut buf = [0u8; RESPONSE_LEN];
    r.read_exact(&mut buf).await?;
    let mut id = [0u8; 8];
    id.copy_from_slice(&buf[..8]);
    Ok((u64::from_be_bytes(id), Status::from_byte(buf[8])))
}

pub async fn write_response(
    w: &mut (impl AsyncWrite + Unpin),
    id: u64,
    status: Status,
) -> std::io::Result<()> {
    let mut buf = [0u8; RESPONSE_LEN];
    buf[..8].copy_from_slice(&id.to_be_bytes());
    buf[8] = status.to_byte();
    w.write_all(&buf).await?;
    w.flush().await
}
