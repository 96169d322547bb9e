//! A FIFO queue served by a pool of workers, each spending a service time on
//! one job. Work is never cancelled: a job whose caller has given up is
//! still served, which is what lets a backlog outlive the spike that built it.
//!
//! Two effects make the pool a model of real servers rather than a queue:
//! *memory pressure* (`pressure` > 0: each queued job slows every job by that
//! fraction, as garbage collection and swapping do) and a worker count that
//! can change at run time (an autoscaler adding replicas).

use super::protocol::Status;
use crate::primitives::Autoscaler;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Workers at start.
    pub workers: usize,
    /// Time one worker spends on one job of cost 1 with an empty queue.
    pub service_time: Duration,
    /// Slowdown per queued job: service time × (1 + pressure × queue length).
    pub pressure: f64,
}

/// Knobs an operator can turn while the pool runs. They outlive restarts,
/// like configuration does.
#[derive(Debug)]
pub struct PoolControls {
    service_time_us: AtomicU64,
    flush_requested: AtomicBool,
    workers: AtomicUsize,
    pressure_paused: AtomicBool,
}

impl PoolControls {
    pub fn new(config: &PoolConfig) -> Self {
        PoolControls {
            service_time_us: AtomicU64::new(config.service_time.as_micros() as u64),
            flush_requested: AtomicBool::new(false),
            workers: AtomicUsize::new(config.workers.max(1)),
            pressure_paused: AtomicBool::new(false),
        }
    }

    pub fn set_service_time(&self, d: Duration) {
        self.service_time_us
            .store(d.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn service_time(&self) -> Duration {
        Duration::from_micros(self.service_time_us.load(Ordering::Relaxed))
    }

    /// Asks the pool to drop every queued job (an operator's remedy).
    pub fn flush_queue(&self) {
        self.flush_requested.store(true, Ordering::Relaxed);
    }

    /// While paused, a long queue slows no job (memory pressure relieved:
    /// more heap, a GC tuned away; the remedy that tests a
    /// memory-pressure diagnosis).
    pub fn pause_pressure(&self, paused: bool) {
        self.pressure_paused.store(paused, Ordering::Relaxed);
    }

    /// The number of workers the pool should run (at least one).
    pub fn set_workers(&self, n: usize) {
        self.workers.store(n.max(1), Ordering::Relaxed);
    }

    pub fn workers(&self) -> usize {
        self.workers.load(Ordering::Relaxed)
    }
}

/// What the pool exports to a metrics scraper.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Jobs waiting for a worker (gauge).
    pub queue_depth: AtomicU64,
    /// Jobs served since the start (counter).
    pub served: AtomicU64,
    /// Workers running (gauge).
    pub workers: AtomicU64,
    /// Jobs being served right now (gauge).
    pub in_service: AtomicU64,
    /// Jobs dropped unserved because their caller had gone, e.g. a
    /// cancelled request (counter).
    pub abandoned: AtomicU64,
}

struct Job {
    cost: f64,
    done: oneshot::Sender<Status>,
}

struct Shared {
    config: PoolConfig,
    controls: Arc<PoolControls>,
    stats: Arc<PoolStats>,
    jobs: Mutex<VecDeque<Job>>,
    ready: Notify,
    /// Worker slots started so far; slot i runs while i < the target count.
    started: AtomicUsize,
}

/// A worker pool. Create it inside the host's software: its workers are
/// tasks of the host and die with it, queue included.
#[derive(Clone)]
pub struct WorkerPool(Arc<Shared>);

impl WorkerPool {
    pub fn start(config: PoolConfig, controls: Arc<PoolControls>, stats: Arc<PoolStats>) -> Self {
        stats.queue_depth.store(0, Ordering::Relaxed);
        stats.workers.store(0, Ordering::Relaxed);
        stats.in_service.store(0, Ordering::Relaxed);
        let pool = WorkerPool(Arc::new(Shared {
            config,
            controls,
            stats,
            jobs: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            started: AtomicUsize::new(0),
        }));
        pool.rescale();
        pool
    }

    /// Starts workers up to the controls' target; surplus workers stop after
    /// their current job.
    pub fn rescale(&self) {
        let target = self.0.controls.workers();
        while self.0.started.load(Ordering::Relaxed) < target {
            let slot = self.0.started.fetch_add(1, Ordering::Relaxed);
            self.0.stats.workers.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(worker(self.0.clone(), slot));
        }
        // Wake idle workers so surplus ones notice they should stop.
        self.0.ready.notify_waiters();
    }

    /// Queues a job costing `cost` service times; resolves when it is done.
    pub async fn submit(&self, cost: f64) -> Status {
        // The controls may have been raised from outside the pool (an
        // operator's knob restoring capacity): start the missing workers.
        if self.0.started.load(Ordering::Relaxed) < self.0.controls.workers() {
            self.rescale();
        }
        let (done, answer) = oneshot::channel();
        let depth = {
            let mut jobs = self.0.jobs.lock().unwrap_or_else(|e| e.into_inner());
            jobs.push_back(Job { cost, done });
            jobs.len()
        };
        self.0
            .stats
            .queue_depth
            .store(depth as u64, Ordering::Relaxed);
        self.0.ready.notify_one();
        answer.await.unwrap_or(Status::Failed)
    }

    pub fn queue_depth(&self) -> usize {
        self.0.jobs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Jobs in the system: queued plus in service.
    pub fn load(&self) -> usize {
        self.queue_depth() + self.0.stats.in_service.load(Ordering::Relaxed) as usize
    }

    /// Runs `scaler` against this pool until the host stops: each period it
    /// asks for a worker count from the load; added workers serve after the
    /// policy's boot delay, removals take effect at once.
    pub async fn autoscale(self, mut scaler: Autoscaler) {
        let policy = *scaler.policy();
        let requested = Arc::new(AtomicUsize::new(self.0.controls.workers()));
        loop {
            tokio::time::sleep(policy.period).await;
            let asked = requested.load(Ordering::Relaxed);
            let next = scaler.step(asked, self.load() as f64);
            requested.store(next, Ordering::Relaxed);
            let controls = &self.0.controls;
            if next > asked {
                let (pool, requested, delta) = (self.clone(), requested.clone(), next - asked);
                tokio::spawn(async move {
                    tokio::time::sleep(policy.boot_delay).await;
                    // Booted into a smaller plan than the one that asked for it:
                    // serve only what is still wanted.
                    let controls = &pool.0.controls;
                    let wanted = requested.load(Ordering::Relaxed);
                    let serving = controls.workers();
                    controls.set_workers((serving + delta).min(wanted).max(serving));
                    pool.rescale();
                });
            } else if next < asked {
                controls.set_workers(controls.workers().min(next));
                self.rescale();
            }
        }
    }
}

async fn worker(pool: Arc<Shared>, slot: usize) {
    loop {
        if slot >= pool.controls.workers() {
            // Retire the highest slots first so `started` stays a prefix.
            if pool
                .started
                .compare_exchange(slot + 1, slot, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                pool.stats.workers.fetch_sub(1, Ordering::Relaxed);
                // The next slot down may be waiting for this one to go.
                pool.ready.notify_waiters();
                return;
            }
        }
        let (job, queued) = {
            let mut jobs = pool.jobs.lock().unwrap_or_else(|e| e.into_inner());
            if pool.controls.flush_requested.swap(false, Ordering::Relaxed) {
                tracing::info!(dropped = jobs.len(), "queue flushed");
                jobs.clear();
            }
            let job = jobs.pop_front();
            pool.stats
                .queue_depth
                .store(jobs.len() as u64, Ordering::Relaxed);
            (job, jobs.len())
        };
        let Some(job) = job else {
            pool.ready.notified().await;
            continue;
        };
        if job.done.is_closed() {
            pool.stats.abandoned.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let pressure = if pool.controls.pressure_paused.load(Ordering::Relaxed) {
            0.0
        } else {
            pool.config.pressure
        };
        let slowdown = 1.0 + pressure * queued as f64;
        let time = pool
            .controls
            .service_time()
            .mul_f64(job.cost.max(0.0) * slowdown);
        pool.stats.in_service.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(time).await;
        pool.stats.in_service.fetch_sub(1, Ordering::Relaxed);
        pool.stats.served.fetch_add(1, Ordering::Relaxed);
        let _ = job.done.send(Status::Ok);
    }
}

/// A pool serves each request as one job of cost 1.
impl super::Handler for WorkerPool {
    fn handle(self: Arc<Self>, _request: super::Request) -> super::Reply {
        Box::pin(async move { self.submit(1.0).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_job_whose_caller_has_gone_is_skipped_unserved() {
        let config = PoolConfig {
            workers: 1,
            service_time: Duration::from_millis(10),
            pressure: 0.0,
        };
        let stats = Arc::new(PoolStats::default());
        let pool = WorkerPool::start(
            config.clone(),
            Arc::new(PoolControls::new(&config)),
            stats.clone(),
        );
        let (first, gone, last) = (pool.clone(), pool.clone(), pool.clone());
        let first = tokio::spawn(async move { first.submit(1.0).await });
        tokio::task::yield_now().await;
        // Queued behind the first job, then its caller gives up.
        let gone = tokio::spawn(async move { gone.submit(1.0).await });
        tokio::task::yield_now().await;
        gone.abort();
        let last = tokio::spawn(async move { last.submit(1.0).await });
        assert_eq!(first.await.unwrap(), Status::Ok);
        assert_eq!(last.await.unwrap(), Status::Ok);
        assert_eq!(stats.served.load(Ordering::Relaxed), 2);
        assert_eq!(stats.abandoned.load(Ordering::Relaxed), 1);
    }
}
