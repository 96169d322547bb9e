//! The accept loop shared by every service: read requests off each
//! connection, hand each to the service's [`Handler`] on its own task, and
//! write the answers back in the order they finish.
//!
//! What happens to a request whose connection closes before it is answered
//! is the server's choice ([`OnDisconnect`]): most RPC servers finish it and
//! drop the answer; hyper drops the handler's future, which cancels the work
//! not yet started.

use super::protocol::{read_request, write_response, Request, Status, PING};
use crate::net::TcpListener;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// The future a handler returns: sendable, so it can run on its own task.
pub type Reply = Pin<Box<dyn Future<Output = Status> + Send>>;

/// What a service does with one request.
pub trait Handler: Send + Sync + 'static {
    fn handle(self: Arc<Self>, request: Request) -> Reply;
}

/// What becomes of a connection's unanswered requests when the client
/// closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDisconnect {
    /// Finish them and drop the answers: the work is done all the same.
    #[default]
    Finish,
    /// Drop their handlers, as hyper does: a request still queued is never
    /// served (a [`WorkerPool`](super::WorkerPool) skips it), one in
    /// service finishes.
    Cancel,
}

/// Serves `handler` on `port` until the host stops, finishing the requests
/// of connections that close.
pub async fn serve(port: u16, handler: Arc<dyn Handler>) -> std::io::Result<()> {
    serve_with(port, handler, OnDisconnect::Finish).await
}

/// Serves `handler` on `port` until the host stops.
pub async fn serve_with(
    port: u16,
    handler: Arc<dyn Handler>,
    on_disconnect: OnDisconnect,
) -> std::io::Result<()> {
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
            // Dropped when the client's side closes: every handler still
            // waiting then sees its `changed()` fail.
            let (open, closed) = watch::channel(());
            while let Ok(request) = read_request(&mut reader).await {
                if request.id == PING {
                    let _ = reply_tx.send((PING, Status::Ok));
                    continue;
                }
                let answer = handler.clone().handle(request);
                let reply_tx = reply_tx.clone();
                let mut closed = (on_disconnect == OnDisconnect::Cancel).then(|| closed.clone());
                tokio::spawn(async move {
                    let status = match closed.as_mut() {
                        None => answer.await,
                        Some(closed) => tokio::select! {
                            biased;
                            status = answer => status,
                            _ = closed.changed() => return,
                        },
                    };
                    // The connection may be gone; the work was done all the same.
                    let _ = reply_tx.send((request.id, status));
                });
            }
            drop(open);
        });
    }
}
