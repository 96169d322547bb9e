//! A call chain: clients → front → back, with a timeout and retries at each
//! layer, so a slow back end sees the product of the layers' attempts
//! (up to (1 + client retries) × (1 + front retries) per request).
//!
//! The front is an ordinary proxy: it answers once the back end has, and
//! fails when its own retries are spent. The back end is a FIFO
//! [`WorkerPool`](crate::rpc::WorkerPool). Slow the back end past the
//! front's timeout and every request is tried many times over; the back
//! end's queue, fed by the multiplied attempts, outlives the slowdown.

use crate::rpc::{self, ClientPolicy, ClientStats, Handler, Reply, Request, RetryClient, Status};
use std::sync::Arc;

/// The front service: forwards each request to `backend` under `policy`.
struct Front {
    backend: RetryClient,
}

impl Handler for Front {
    fn handle(self: Arc<Self>, request: Request) -> Reply {
        Box::pin(async move {
            match self.backend.call(request.key).await {
                Ok(()) => Status::Ok,
                Err(_) => Status::Failed,
            }
        })
    }
}

/// Runs the front service on `port` until the host stops.
pub async fn serve_front(
    port: u16,
    backend: String,
    policy: ClientPolicy,
    stats: Arc<ClientStats>,
) -> std::io::Result<()> {
    let front = Front {
        backend: RetryClient::new(backend, policy, stats),
    };
    rpc::serve(port, Arc::new(front)).await
}
