use crate::net::{OwnedReadHalf, OwnedWriteHalf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const REQUEST_LEN: usize = 8;
pub const RESPONSE_LEN: usize = 9;
pub const STATUS_OK: u8 = 0;

pub async fn read_request(r: &mut OwnedReadHalf) -> std::io::Result<u64> {
    let mut buf = [0u8; REQUEST_LEN];
    r.read_exact(&mut buf).await?;
    Ok(u64::from_be_bytes(buf))
}

pub async fn write_request(w: &mut OwnedWriteHalf, id: u64) -> std::io::Result<()> {
    w.write_all(&id.to_be_bytes()).await
}

pub async fn read_response(r: &mut OwnedReadHalf) -> std::io::Result<(u64, u8)> {
    let mut buf = [0u8; RESPONSE_LEN];
    r.read_exact(&mut buf).await?;
    let mut id = [0u8; 8];
    id.copy_from_slice(&buf[..8]);
    Ok((u64::from_be_bytes(id), buf[8]))
}

pub async fn write_response(w: &mut OwnedWriteHalf, id: u64, status: u8) -> std::io::Result<()> {
    let mut buf = [0u8; RESPONSE_LEN];
    buf[..8].copy_from_slice(&id.to_be_bytes());
    buf[8] = status;
    w.write_all(&buf).await
}
