use super::protocol::{read_response, write_request, Request, Status, PING};
use crate::net::TcpStream;
use crate::primitives::RetryBudget;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
// tokio's Instant: simulated time under every engine, never the wall clock.
use tokio::time::Instant;

/// How a client treats a slow server: wait `timeout` per attempt, then try
/// again after `backoff`, up to `retries` more times.
#[derive(Debug, Clone)]
pub struct ClientPolicy {
    pub timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    /// When set, a retry goes out only if the budget pays for it.
    pub budget: Option<Arc<RetryBudget>>,
    /// How a connection is judged alive. `None`: by its traffic, dead once
    /// it has carried no response for a whole attempt timeout while
    /// requests wait on it.
    pub keepalive: Option<Keepalive>,
    /// Bounded connects that fail fast while reconnecting; `None`: only the
    /// attempt timeout bounds a connect.
    pub connect: Option<ConnectPolicy>,
}

/// How a client connects: a connect taking longer than `timeout` fails,
/// and for `backoff` after a failed connect every attempt fails at once
/// instead of waiting (gRPC's fail-fast calls while a channel is in
/// transient failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectPolicy {
    pub timeout: Duration,
    pub backoff: Duration,
}

/// gRPC-style keepalive: a ping every `interval`; a connection whose ping
/// is not answered within `timeout` is dead. It replaces the traffic rule,
/// so a slow but live server keeps its connection however long it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    pub interval: Duration,
    pub timeout: Duration,
}

/// What the client exports to a metrics scraper.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Attempts sent, first tries and retries alike (counter).
    pub attempts: AtomicU64,
    /// Responses that arrived after their attempt had timed out (counter).
    pub late_responses: AtomicU64,
    /// Connections opened (counter).
    pub connects: AtomicU64,
    /// Retries the retry budget refused (counter).
    pub retries_refused: AtomicU64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Every attempt timed out.
    TimedOut { attempts: u32 },
    /// The last attempt failed without a response (refused, reset).
    Failed { attempts: u32, reason: String },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::TimedOut { attempts } => write!(f, "timed out after {attempts} attempts"),
            CallError::Failed { attempts, reason } => {
                write!(f, "failed after {attempts} attempts: {reason}")
            }
        }
    }
}

/// One multiplexed connection: requests go out through a writer task,
/// responses are matched to waiting attempts by id.
struct Connection {
    outbox: mpsc::UnboundedSender<Request>,
    waiting: Arc<Mutex<BTreeMap<u64, oneshot::Sender<Status>>>>,
    /// When the oldest request still without any response on this
    /// connection was sent; any response clears it (the peer is alive).
    unanswered_since: Arc<Mutex<Option<Instant>>>,
    broken: Arc<AtomicBool>,
    /// The task reading responses; aborted when the connection is given up,
    /// which closes it (the writer closes its half once no attempt holds it).
    reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Pings `conn` per `keepalive` until it is gone or found dead. Holds it
/// only while a ping is out, so an abandoned connection still closes.
async fn ping(conn: Weak<Connection>, keepalive: Keepalive) {
    loop {
        tokio::time::sleep(keepalive.interval).await;
        let Some(conn) = conn.upgrade() else { return };
        if conn.broken.load(Ordering::Relaxed) {
            return;
        }
        let (tx, rx) = oneshot::channel();
        conn.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(PING, tx);
        let sent = conn.outbox.send(Request { id: PING, key: 0 }).is_ok();
        let answered =
            sent && matches!(tokio::time::timeout(keepalive.timeout, rx).await, Ok(Ok(_)));
        if !answered {
            tracing::debug!("keepalive ping unanswered: connection presumed dead");
            conn.broken.store(true, Ordering::Relaxed);
            return;
        }
    }
}

impl Connection {
    /// Stops reading: a connection presumed dead is closed, as an HTTP/2
    /// client closes its transport after a keepalive timeout, so the server
    /// sees the disconnect.
    fn close(&self) {
        self.broken.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.lock().unwrap_or_else(|e| e.into_inner()).take() {
            reader.abort();
        }
    }
}

/// A client that retries on timeout, as most RPC clients do by default.
///
/// A connection that has carried no response for a whole attempt timeout
/// (or, with a [`Keepalive`], whose ping went unanswered) is presumed dead,
/// closed and replaced, so the client heals after a partition instead of
/// waiting on a stalled stream forever.
pub struct RetryClient {
    server: String,
    policy: ClientPolicy,
    stats: Arc<ClientStats>,
    next_id: AtomicU64,
    connection: tokio::sync::Mutex<Option<Arc<Connection>>>,
    /// When the last connect failed, if it did (see [`ConnectPolicy`]).
    failed_connect: Mutex<Option<Instant>>,
    /// While set, no attempt is retried (an operator pausing retries).
    retries_paused: Option<Arc<AtomicBool>>,
}

impl RetryClient {
    /// `server` is `host:port`.
    pub fn new(server: impl Into<String>, policy: ClientPolicy, stats: Arc<ClientStats>) -> Self {
        RetryClient {
            server: server.into(),
            policy,
            stats,
            next_id: AtomicU64::new(1),
            connection: tokio::sync::Mutex::new(None),
            failed_connect: Mutex::new(None),
            retries_paused: None,
        }
    }

    /// Retries only while `paused` is clear: the switch an operator flips
    /// to stop a retry storm (and a diagnosis flips to test one).
    pub fn with_retry_pause(mut self, paused: Arc<AtomicBool>) -> Self {
        self.retries_paused = Some(paused);
        self
    }

    /// One logical request for `key`, retried per the policy.
    pub async fn call(&self, key: u64) -> Result<(), CallError> {
        let mut attempts = 0;
        if let Some(budget) = &self.policy.budget {
            budget.on_first_attempt();
        }
        loop {
            attempts += 1;
            self.stats.attempts.fetch_add(1, Ordering::Relaxed);
            let outcome = tokio::time::timeout(self.policy.timeout, self.attempt(key)).await;
            let last_error = match outcome {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(reason)) => Some(reason),
                Err(_elapsed) => None,
            };
            let refused = attempts <= self.policy.retries
                && self.policy.budget.as_ref().is_some_and(|b| !b.try_retry());
            if refused {
                self.stats.retries_refused.fetch_add(1, Ordering::Relaxed);
            }
            let paused = self
                .retries_paused
                .as_ref()
                .is_some_and(|p| p.load(Ordering::Relaxed));
            if attempts > self.policy.retries || refused || paused {
                return Err(match last_error {
                    None => CallError::TimedOut { attempts },
                    Some(reason) => CallError::Failed { attempts, reason },
                });
            }
            if !self.policy.backoff.is_zero() {
                tokio::time::sleep(self.policy.backoff).await;
            }
        }
    }

    async fn attempt(&self, key: u64) -> Result<(), String> {
        let conn = self.connection().await?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        conn.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        // Forget the attempt however it ends, so late responses are seen as late.
        let _forget = Forget { conn: &conn, id };
        conn.outbox
            .send(Request { id, key })
            .map_err(|_| "connection closed".to_string())?;
        conn.unanswered_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Instant::now);
        match rx.await {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::Rejected) => Err("rejected".to_string()),
            Ok(Status::Failed) => Err("failed".to_string()),
            Err(_) => Err("connection reset".to_string()),
        }
    }

    async fn connection(&self) -> Result<Arc<Connection>, String> {
        let mut slot = self.connection.lock().await;
        if let Some(conn) = slot.as_ref() {
            let unanswered = *conn
                .unanswered_since
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let silent = self.policy.keepalive.is_none()
                && unanswered.is_some_and(|since| Instant::now() - since > self.policy.timeout);
            let dead = conn.broken.load(Ordering::Relaxed) || silent;
            if !dead {
                return Ok(conn.clone());
            }
            tracing::debug!(server = %self.server, "replacing a dead connection");
            conn.close();
            *slot = None;
        }
        let connect = TcpStream::connect(self.server.as_str());
        let stream = match self.policy.connect {
            None => connect.await,
            Some(policy) => {
                let last_failed = *self
                    .failed_connect
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if last_failed.is_some_and(|at| Instant::now() - at < policy.backoff) {
                    return Err("unavailable: reconnecting".into());
                }
                let outcome = tokio::time::timeout(policy.timeout, connect)
                    .await
                    .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()));
                *self
                    .failed_connect
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = outcome.is_err().then(Instant::now);
                outcome
            }
        }
        .map_err(|e| format!("connect: {e}"))?;
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        let (mut reader, mut writer) = crate::net::into_split(stream);
        let (outbox, mut pending) = mpsc::unbounded_channel::<Request>();
        let conn = Arc::new(Connection {
            outbox,
            waiting: Arc::new(Mutex::new(BTreeMap::new())),
            unanswered_since: Arc::new(Mutex::new(None)),
            broken: Arc::new(AtomicBool::new(false)),
            reader: Mutex::new(None),
        });
        let broken = conn.broken.clone();
        tokio::spawn(async move {
            while let Some(request) = pending.recv().await {
                if write_request(&mut writer, request).await.is_err() {
                    break;
                }
            }
            broken.store(true, Ordering::Relaxed);
        });
        let (waiting, last, broken, stats) = (
            conn.waiting.clone(),
            conn.unanswered_since.clone(),
            conn.broken.clone(),
            self.stats.clone(),
        );
        let reading = tokio::spawn(async move {
            while let Ok((id, status)) = read_response(&mut reader).await {
                *last.lock().unwrap_or_else(|e| e.into_inner()) = None;
                let waiter = waiting
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                match waiter {
                    Some(tx) => {
                        let _ = tx.send(status);
                    }
                    None => {
                        stats.late_responses.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            broken.store(true, Ordering::Relaxed);
            // Wake every waiting attempt: their responses will never come.
            waiting.lock().unwrap_or_else(|e| e.into_inner()).clear();
        });
        *conn.reader.lock().unwrap_or_else(|e| e.into_inner()) = Some(reading);
        if let Some(keepalive) = self.policy.keepalive {
            tokio::spawn(ping(Arc::downgrade(&conn), keepalive));
        }
        *slot = Some(conn.clone());
        Ok(conn)
    }
}

struct Forget<'a> {
    conn: &'a Connection,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.conn
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}
