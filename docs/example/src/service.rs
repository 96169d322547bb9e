//! A quote service: each request takes one of `workers` for `service_time`,
//! in arrival order. Its client opens a connection per attempt, waits
//! `timeout`, and tries again up to `retries` times. Nothing here knows about
//! hormesis except the sockets, which come from `hormesis::net`: real tokio
//! sockets' simulated twins.

use hormesis::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

/// What an operator can turn at run time.
#[derive(Debug)]
pub struct Controls {
    pub service_time: Mutex<Duration>,
}

/// Serves quotes on `port` until the host stops.
pub async fn serve(port: u16, workers: usize, controls: Arc<Controls>) -> std::io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    // tokio's semaphore is fair: requests get workers in arrival order.
    let workers = Arc::new(Semaphore::new(workers));
    loop {
        let (mut stream, _) = listener.accept().await?;
        let (workers, controls) = (workers.clone(), controls.clone());
        tokio::spawn(async move {
            let mut id = [0u8; 8];
            if stream.read_exact(&mut id).await.is_err() {
                return;
            }
            // The work is done even if the caller has given up: nothing
            // tells the server, as with most real servers.
            let Ok(_worker) = workers.acquire().await else {
                return;
            };
            let service_time = *controls
                .service_time
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            tokio::time::sleep(service_time).await;
            let _ = stream.write_all(&id).await;
        });
    }
}

/// A client that retries on timeout, as most clients do by default.
pub struct QuoteClient {
    pub server: String,
    pub timeout: Duration,
    pub retries: u32,
    /// Attempts sent, first tries and retries alike (a metric).
    pub attempts: Arc<AtomicU64>,
}

impl QuoteClient {
    /// Asks for quote `id`; `Ok(attempts)` once answered.
    pub async fn quote(&self, id: u64) -> Result<u32, Failure> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.attempts.fetch_add(1, Ordering::Relaxed);
            match tokio::time::timeout(self.timeout, self.attempt(id)).await {
                Ok(Ok(())) => return Ok(attempts),
                Ok(Err(_)) if attempts > self.retries => return Err(Failure::Error),
                Err(_) if attempts > self.retries => return Err(Failure::Timeout),
                _ => {}
            }
        }
    }

    async fn attempt(&self, id: u64) -> std::io::Result<()> {
        let mut stream = TcpStream::connect(self.server.as_str()).await?;
        stream.write_all(&id.to_be_bytes()).await?;
        let mut answer = [0u8; 8];
        stream.read_exact(&mut answer).await?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Error,
}
