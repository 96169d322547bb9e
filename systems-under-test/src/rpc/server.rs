//! The accept loop shared by every service: read requests off each
//! connection, hand each to the service's [`Handler`] on its own task, and
//! write the answers back in the order they finish.

use super::protocol::{read_request, write_response, Request, Status};
use crate::net::TcpListener;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The future a handler returns: sendable, so it can run on its own task.
pub type Reply = Pin<Box<dyn Future<Output = Status> + Send>>;

/// What a service does with one request.
pub trait Handler: Send + Sync + 'static {
    fn handle(self: Arc<Self>, request: Request) -> Reply;
}

/// Serves `handler` on `port` until the host stops.
pub async fn serve(port: u16, handler: Arc<dyn Handler>) -> std::io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    loop {
        let (stream, peer) = listener.accept().await?;
        tracing::debug!(%peer, "accepted");
        let (mut reader, mut writer) = crate::net::into_split(stream);
        let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<(u64, Status)>();
        tokio::spawn(async move {
            while let Some((id, status)) = reply_rx.recv().await {
                if write_response(&mut writer, id, status).await.is_err() {
                    break;
                }
            }
        });
        let handler = handler.clone();
        tokio::spawn(async move {
            while let Ok(request) = read_request(&mut reader).await {
                let answer = handler.clone().handle(request);
                let reply_tx = reply_tx.clone();
                tokio::spawn(async move {
                    let status = answer.await;
                    // The connection may be gone; the work was done all the same.
                    let _ = reply_tx.send((request.id, status));
                });
            }
        });
    }
}
