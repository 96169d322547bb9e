//! A client-side connection pool over replicas, HTTP/1.1 style: one request
//! in flight per connection, idle connections kept for reuse, and a new
//! connection opened only when none is idle.
//!
//! With [`PoolPolicy::Mru`] the next request takes the connection returned
//! most recently, as many pools do because a warm connection is cheapest
//! (Bronson et al., HotOS 2021, §2.4, "link imbalance"). A timed-out call
//! does not free its connection early: the pool keeps it until the late
//! answer arrives (it cannot reuse a connection with an answer still owed).
//!
//! MRU neither favours nor spares a slow replica: a connection is taken
//! only after it came back, so each replica is offered what it served. What
//! it does is leave the bottom of the stack alone. That is harmless while
//! the pool is small, because a stack of a few connections runs dry and
//! the pool then opens one to the replica with the fewest. A burst grows
//! the pool (callers find no idle connection and open new ones); once the
//! stack is much deeper than the connections a normal load keeps busy, it
//! never runs dry again, the connections that sank to its bottom are never
//! taken, and a replica whose connections all sank gets no calls at all,
//! for good, while the others carry its share.
//!
//! [`PoolPolicy::Bandit`] instead picks the replica with a
//! [`BanditLb`](crate::primitives::BanditLb) rewarded by latency, then that
//! replica's most recent idle connection.

use crate::net::TcpStream;
use crate::primitives::BanditLb;
use crate::rpc::{read_response, write_request, Request, Status};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Notify};
// tokio's Instant: simulated time under every engine, never the wall clock.
use tokio::time::Instant;

/// How the pool picks a connection.
#[derive(Debug, Clone)]
pub enum PoolPolicy {
    /// The most recently returned idle connection, whatever its replica.
    Mru,
    /// The replica a bandit chooses, then its most recent idle connection.
    Bandit(Arc<BanditLb>),
}

#[derive(Debug, Clone)]
pub struct ConnectionPoolConfig {
    /// `host:port` of each replica.
    pub replicas: Vec<String>,
    /// The most connections the pool keeps open to one replica.
    pub max_per_replica: usize,
    /// How long a caller waits for its answer (pool wait included).
    pub timeout: Duration,
    /// How long the pool waits for an answer owed on a connection before
    /// closing it (a dead peer); much longer than `timeout`.
    pub abandon_after: Duration,
    pub policy: PoolPolicy,
}

/// What the pool exports to a metrics scraper.
#[derive(Debug, Default)]
pub struct ConnectionPoolStats {
    /// Requests sent (counter).
    pub attempts: AtomicU64,
    /// Connections opened (counter).
    pub connects: AtomicU64,
    /// Connections closed with an answer still owed (counter).
    pub abandoned: AtomicU64,
    /// Answers that came after their caller had given up (counter).
    pub late_answers: AtomicU64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// No answer within the timeout.
    TimedOut,
    /// The replica answered with a failure, or the connection broke.
    Failed(String),
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoolError::TimedOut => write!(f, "timed out"),
            PoolError::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

struct Connection {
    replica: usize,
    stream: TcpStream,
}

#[derive(Default)]
struct State {
    /// Idle connections, most recently returned last.
    idle: Vec<Connection>,
    /// Connections open (idle, in use or being opened) per replica.
    open: Vec<usize>,
}

/// A pool of connections to a set of replicas.
pub struct ConnectionPool {
    config: ConnectionPoolConfig,
    stats: Arc<ConnectionPoolStats>,
    state: Mutex<State>,
    returned: Notify,
    next_id: AtomicU64,
}

enum Checkout {
    Idle(Connection),
    Open(usize),
    Wait,
}

impl ConnectionPool {
    pub fn new(config: ConnectionPoolConfig, stats: Arc<ConnectionPoolStats>) -> Arc<Self> {
        let replicas = config.replicas.len();
        Arc::new(ConnectionPool {
            config,
            stats,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: vec![0; replicas],
            }),
            returned: Notify::new(),
            next_id: AtomicU64::new(1),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connections open to each replica now.
    pub fn open_connections(&self) -> Vec<usize> {
        self.state().open.clone()
    }

    /// One request for `key`. The exchange runs on its own task, so a
    /// caller that gives up never leaves a connection half-used: the task
    /// finishes the exchange and returns the connection when the answer
    /// comes.
    pub async fn call(self: &Arc<Self>, key: u64) -> Result<(), PoolError> {
        let (tx, rx) = oneshot::channel();
        let deadline = Instant::now() + self.config.timeout;
        tokio::spawn(self.clone().exchange(key, deadline, tx));
        match crate::rt::timeout_at(deadline, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(reason))) => Err(PoolError::Failed(reason)),
            Ok(Err(_)) => Err(PoolError::Failed("exchange dropped".into())),
            Err(_) => Err(PoolError::TimedOut),
        }
    }

    async fn exchange(
        self: Arc<Self>,
        key: u64,
        caller_deadline: Instant,
        mut answer: oneshot::Sender<Result<(), String>>,
    ) {
        let mut connection = loop {
            if answer.is_closed() {
                return; // the caller gave up while waiting for a connection
            }
            let returned = self.returned.notified();
            match self.checkout() {
                Checkout::Idle(c) => {
                    self.starting(c.replica);
                    break c;
                }
                Checkout::Open(replica) => {
                    self.starting(replica);
                    match self.open(replica).await {
                        Ok(c) => break c,
                        Err(e) => {
                            self.learn(replica, None);
                            let _ = answer.send(Err(e));
                            return;
                        }
                    }
                }
                Checkout::Wait => {
                    tokio::select! {
                        _ = returned => {}
                        _ = answer.closed() => return,
                    }
                }
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.stats.attempts.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let replica = connection.replica;
        let (outcome, timed_out) = {
            let exchange = Self::request(&mut connection.stream, Request { id, key });
            tokio::pin!(exchange);
            // The bandit learns of a timeout when it happens, not when (or
            // if) the late answer comes.
            match crate::rt::timeout_at(caller_deadline, &mut exchange).await {
                Ok(answered) => (Ok(answered), false),
                Err(_) => {
                    self.learn(replica, None);
                    let late =
                        crate::rt::timeout_at(sent + self.config.abandon_after, &mut exchange)
                            .await;
                    (late, true)
                }
            }
        };
        let result = match &outcome {
            Ok(Ok(Status::Ok)) => Ok(()),
            Ok(Ok(status)) => Err(format!("{status:?}")),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer".to_string()),
        };
        if !timed_out {
            self.learn(replica, result.is_ok().then(|| sent.elapsed()));
        }
        match &outcome {
            Ok(Ok(_)) => self.checkin(connection),
            Ok(Err(_)) => self.close(replica),
            Err(_) => {
                self.stats.abandoned.fetch_add(1, Ordering::Relaxed);
                self.close(replica);
            }
        }
        if answer.send(result).is_err() {
            self.stats.late_answers.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn starting(&self, replica: usize) {
        if let PoolPolicy::Bandit(lb) = &self.config.policy {
            lb.started(replica);
        }
    }

    /// Ends the call [`starting`](Self::starting) announced.
    fn learn(&self, replica: usize, latency: Option<Duration>) {
        if let PoolPolicy::Bandit(lb) = &self.config.policy {
            lb.record(replica, latency);
        }
    }

    async fn request(stream: &mut TcpStream, request: Request) -> std::io::Result<Status> {
        write_request(stream, request).await?;
        loop {
            let (id, status) = read_response(stream).await?;
            if id == request.id {
                return Ok(status);
            }
        }
    }

    fn checkout(&self) -> Checkout {
        let mut state = self.state();
        let preferred = match &self.config.policy {
            PoolPolicy::Mru => None,
            PoolPolicy::Bandit(lb) => Some(lb.choose()),
        };
        if let Some(r) = preferred {
            if let Some(i) = state.idle.iter().rposition(|c| c.replica == r) {
                return Checkout::Idle(state.idle.remove(i));
            }
            if state.open[r] < self.config.max_per_replica {
                state.open[r] += 1;
                return Checkout::Open(r);
            }
        }
        if let Some(c) = state.idle.pop() {
            return Checkout::Idle(c);
        }
        // Spread new connections: the replica with the fewest, lowest first.
        let fewest = (0..state.open.len()).min_by_key(|&r| (state.open[r], r));
        match fewest {
            Some(r) if state.open[r] < self.config.max_per_replica => {
                state.open[r] += 1;
                Checkout::Open(r)
            }
            _ => Checkout::Wait,
        }
    }

    async fn open(&self, replica: usize) -> Result<Connection, String> {
        match TcpStream::connect(self.config.replicas[replica].as_str()).await {
            Ok(stream) => {
                self.stats.connects.fetch_add(1, Ordering::Relaxed);
                Ok(Connection { replica, stream })
            }
            Err(e) => {
                self.close(replica);
                Err(format!("connect: {e}"))
            }
        }
    }

    fn checkin(&self, connection: Connection) {
        self.state().idle.push(connection);
        self.returned.notify_waiters();
    }

    fn close(&self, replica: usize) {
        let mut state = self.state();
        state.open[replica] = state.open[replica].saturating_sub(1);
        drop(state);
        self.returned.notify_waiters();
    }
}
