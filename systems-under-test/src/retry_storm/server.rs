use super::protocol::{read_request, write_response, STATUS_OK};
use crate::net::TcpListener;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub port: u16,
    /// Requests served in parallel.
    pub workers: usize,
    /// Time one worker spends on one request.
    pub service_time: Duration,
}

/// Knobs an operator can turn while the server runs. They outlive restarts,
/// like configuration does.
#[derive(Debug)]
pub struct ServerControls {
    service_time_us: AtomicU64,
    flush_requested: AtomicBool,
}

impl ServerControls {
    pub fn new(config: &ServerConfig) -> Self {
        ServerControls {
            service_time_us: AtomicU64::new(config.service_time.as_micros() as u64),
            flush_requested: AtomicBool::new(false),
        }
    }

    pub fn set_service_time(&self, d: Duration) {
        self.service_time_us
            .store(d.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn service_time(&self) -> Duration {
        Duration::from_micros(self.service_time_us.load(Ordering::Relaxed))
    }

    /// Asks the server to drop every queued request (an operator's remedy).
    pub fn flush_queue(&self) {
        self.flush_requested.store(true, Ordering::Relaxed);
    }
}

/// What the server exports to a metrics scraper.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Requests waiting for a worker (gauge).
    pub queue_depth: AtomicU64,
    /// Requests served since the start (counter).
    pub served: AtomicU64,
}

struct Job {
    id: u64,
    reply: mpsc::UnboundedSender<u64>,
}

struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    ready: Notify,
}

/// Runs the server until the host stops. Every (re)start begins with an
/// empty queue: queued work lives in memory and dies with the process.
pub async fn serve(
    config: ServerConfig,
    controls: Arc<ServerControls>,
    stats: Arc<ServerStats>,
) -> std::io::Result<()> {
    stats.queue_depth.store(0, Ordering::Relaxed);
    let listener = TcpListener::bind(("0.0.0.0", config.port)).await?;
    let queue = Arc::new(Queue {
        jobs: Mutex::new(VecDeque::new()),
        ready: Notify::new(),
    });
    for _ in 0..config.workers.max(1) {
        tokio::spawn(worker(queue.clone(), controls.clone(), stats.clone()));
    }
    loop {
        let (stream, peer) = listener.accept().await?;
        tracing::debug!(%peer, "accepted");
        let (mut reader, mut writer) = stream.into_split();
        let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<u64>();
        tokio::spawn(async move {
            while let Some(id) = reply_rx.recv().await {
                if write_response(&mut writer, id, STATUS_OK).await.is_err() {
                    break;
                }
            }
        });
        let queue = queue.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            while let Ok(id) = read_request(&mut reader).await {
                let depth = {
                    let mut jobs = queue.jobs.lock().unwrap_or_else(|e| e.into_inner());
                    jobs.push_back(Job {
                        id,
                        reply: reply_tx.clone(),
                    });
                    jobs.len()
                };
                stats.queue_depth.store(depth as u64, Ordering::Relaxed);
                queue.ready.notify_one();
            }
        });
    }
}

async fn worker(queue: Arc<Queue>, controls: Arc<ServerControls>, stats: Arc<ServerStats>) {
    loop {
        let job = {
            let mut jobs = queue.jobs.lock().unwrap_or_else(|e| e.into_inner());
            if controls.flush_requested.swap(false, Ordering::Relaxed) {
                tracing::info!(dropped = jobs.len(), "queue flushed");
                jobs.clear();
            }
            let job = jobs.pop_front();
            stats
                .queue_depth
                .store(jobs.len() as u64, Ordering::Relaxed);
            job
        };
        let Some(job) = job else {
            queue.ready.notified().await;
            continue;
        };
        tokio::time::sleep(controls.service_time()).await;
        stats.served.fetch_add(1, Ordering::Relaxed);
        // The connection may be gone; the work was done all the same.
        let _ = job.reply.send(job.id);
    }
}
