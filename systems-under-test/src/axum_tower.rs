//! The ordinary Rust web stack, unmodified: an [axum] service with tower's
//! `timeout` layer and an in-process look-aside cache over a database, and
//! a [hyper_util] client behind tower's `timeout` and `retry` layers.
//! Only the sockets come from [`crate::net`]; every HTTP byte is hyper's.
//!
//! The service answers `GET /item/{key}` from its cache, or else asks the
//! database and fills the cache with the answer. Its tower timeout drops a
//! request that takes too long, and with it the database call in progress:
//! the database still does the work (it never cancels), but nobody fills
//! the cache with it. While the database keeps up that never happens. Once
//! it is swamped (after a cache flush, say), its queue outlasts the
//! timeout, no miss fills, entries keep expiring, and the cache never warms
//! back up; the clients' retries add to the queue (the look-aside cache of
//! Bronson et al., HotOS 2021, §2.2, on the real stack).

use crate::lookaside_cache::CacheMemory;
use crate::net::{TcpListener, TcpStream};
use crate::primitives::{ConcurrencyLimit, RetryBudget};
use crate::rpc::{ClientPolicy, ClientStats, RetryClient};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode, Uri};
use axum::routing::get;
use axum::{BoxError, Router};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::retry::{Policy, Retry};
use tower::timeout::Timeout;
use tower::{Service, ServiceBuilder, ServiceExt};
// tokio's Instant: simulated time under every engine, never the wall clock.
use tokio::time::Instant;

/// The web service's configuration.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub port: u16,
    pub ttl: Duration,
    /// `host:port` of the database.
    pub database: String,
    /// How long the service waits for the database.
    pub database_timeout: Duration,
    /// The service's own tower timeout per request.
    pub request_timeout: Duration,
}

/// What the service exports to a metrics scraper.
#[derive(Debug, Default)]
pub struct ApiStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub fills: AtomicU64,
    /// Misses the concurrency limit turned away (counter).
    pub limited: AtomicU64,
    /// Live cache entries, recounted once a second (gauge).
    pub entries: AtomicU64,
    pub database: Arc<ClientStats>,
}

struct Api {
    config: ApiConfig,
    memory: Arc<CacheMemory>,
    stats: Arc<ApiStats>,
    database: RetryClient,
    limit: Option<Arc<ConcurrencyLimit>>,
}

/// Runs the web service until the host stops. `limit`, when given, guards
/// the database calls (the adaptive-concurrency mitigation).
pub async fn serve_api(
    config: ApiConfig,
    memory: Arc<CacheMemory>,
    stats: Arc<ApiStats>,
    limit: Option<Arc<ConcurrencyLimit>>,
) -> std::io::Result<()> {
    memory.boot(config.ttl);
    let policy = ClientPolicy {
        timeout: config.database_timeout,
        retries: 0,
        backoff: Duration::ZERO,
        budget: None,
        keepalive: None,
        connect: None,
    };
    let database = RetryClient::new(config.database.clone(), policy, stats.database.clone());
    let (port, request_timeout) = (config.port, config.request_timeout);
    let api = Arc::new(Api {
        config,
        memory,
        stats,
        database,
        limit,
    });
    let app = Router::new()
        .route("/item/{key}", get(item))
        .with_state(api)
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: BoxError| async {
                    StatusCode::SERVICE_UNAVAILABLE
                }))
                .timeout(request_timeout),
        );
    let listener = SimListener(TcpListener::bind(("0.0.0.0", port)).await?);
    axum::serve(listener, app).await
}

async fn item(State(api): State<Arc<Api>>, Path(key): Path<u64>) -> StatusCode {
    if api.memory.lookup(key, &api.stats.entries) {
        api.stats.hits.fetch_add(1, Ordering::Relaxed);
        return StatusCode::OK;
    }
    api.stats.misses.fetch_add(1, Ordering::Relaxed);
    let permit = match &api.limit {
        Some(limit) => match limit.try_acquire() {
            Some(p) => Some(p),
            None => {
                api.stats.limited.fetch_add(1, Ordering::Relaxed);
                return StatusCode::SERVICE_UNAVAILABLE;
            }
        },
        None => None,
    };
    let sent = Instant::now();
    match api.database.call(key).await {
        Ok(()) => {
            if let Some(p) = permit {
                p.success(sent.elapsed());
            }
            api.memory.fill(key, api.config.ttl);
            api.stats.fills.fetch_add(1, Ordering::Relaxed);
            StatusCode::OK
        }
        Err(_) => {
            if let Some(p) = permit {
                p.dropped();
            }
            StatusCode::BAD_GATEWAY
        }
    }
}

/// axum's [`Listener`](axum::serve::Listener) over the simulated network.
struct SimListener(TcpListener);

impl axum::serve::Listener for SimListener {
    type Io = TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok(accepted) => return accepted,
                // As axum does for a real listener: log, pause, go on.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// How the client retries: tower's `retry` layer with this policy, each
/// attempt under tower's `timeout`.
#[derive(Debug, Clone)]
pub struct HttpClientPolicy {
    pub timeout: Duration,
    pub retries: u32,
    /// When set, a retry goes out only if the budget pays for it.
    pub budget: Option<Arc<RetryBudget>>,
}

/// The tower retry policy: retry errors and 5xx answers, `retries` times,
/// within the budget if there is one.
#[derive(Clone)]
struct RetryPolicy {
    left: u32,
    budget: Option<Arc<RetryBudget>>,
    stats: Arc<ClientStats>,
}

type Response = axum::http::Response<hyper::body::Incoming>;

impl Policy<Request<Empty<Bytes>>, Response, BoxError> for RetryPolicy {
    type Future = std::future::Ready<()>;

    fn retry(
        &mut self,
        _request: &mut Request<Empty<Bytes>>,
        result: &mut Result<Response, BoxError>,
    ) -> Option<Self::Future> {
        let failed = match result {
            Ok(response) => response.status().is_server_error(),
            Err(_) => true,
        };
        if !failed || self.left == 0 {
            return None;
        }
        if self.budget.as_ref().is_some_and(|b| !b.try_retry()) {
            self.stats.retries_refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.left -= 1;
        self.stats.attempts.fetch_add(1, Ordering::Relaxed);
        Some(std::future::ready(()))
    }

    fn clone_request(&mut self, request: &Request<Empty<Bytes>>) -> Option<Request<Empty<Bytes>>> {
        Request::get(request.uri().clone()).body(Empty::new()).ok()
    }
}

type HyperClient = Client<SimConnector, Empty<Bytes>>;

/// A hyper client (pooled HTTP/1.1) behind tower's `retry` and `timeout`.
pub struct HttpClient {
    service: Retry<RetryPolicy, Timeout<HyperClient>>,
    base: String,
    budget: Option<Arc<RetryBudget>>,
    stats: Arc<ClientStats>,
}

/// Why a call failed.
#[derive(Debug)]
pub enum HttpCallError {
    /// The last attempt hit the timeout.
    TimedOut,
    /// The last attempt got an error status or a transport error.
    Failed(String),
}

impl HttpClient {
    /// A client of `http://{server}`.
    pub fn new(server: &str, policy: HttpClientPolicy, stats: Arc<ClientStats>) -> Self {
        // hyper's timers on tokio's clock: simulated time, as everywhere here.
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .build(SimConnector {
                stats: stats.clone(),
            });
        let service = ServiceBuilder::new()
            .retry(RetryPolicy {
                left: policy.retries,
                budget: policy.budget.clone(),
                stats: stats.clone(),
            })
            .timeout(policy.timeout)
            .service(client);
        HttpClient {
            service,
            base: format!("http://{server}"),
            budget: policy.budget,
            stats,
        }
    }

    /// `GET /item/{key}`, retried per the policy.
    pub async fn get_item(&self, key: u64) -> Result<(), HttpCallError> {
        let uri: Uri = format!("{}/item/{key}", self.base)
            .parse()
            .map_err(|e: axum::http::uri::InvalidUri| HttpCallError::Failed(e.to_string()))?;
        let request = Request::get(uri)
            .body(Empty::new())
            .map_err(|e| HttpCallError::Failed(e.to_string()))?;
        if let Some(budget) = &self.budget {
            budget.on_first_attempt();
        }
        self.stats.attempts.fetch_add(1, Ordering::Relaxed);
        match self.service.clone().oneshot(request).await {
            Ok(response) if response.status().is_success() => {
                // Read the (empty) body to the end so the connection goes
                // back to the pool.
                let _ = response.into_body().collect().await;
                Ok(())
            }
            Ok(response) => Err(HttpCallError::Failed(response.status().to_string())),
            Err(e) if e.is::<tower::timeout::error::Elapsed>() => Err(HttpCallError::TimedOut),
            Err(e) => Err(HttpCallError::Failed(e.to_string())),
        }
    }
}

/// hyper's connector over the simulated network.
#[derive(Clone)]
struct SimConnector {
    stats: Arc<ClientStats>,
}

/// A simulated TCP stream as hyper's client sees it.
struct SimStream(TcpStream);

impl Connection for SimStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl tokio::io::AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for SimStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl Service<Uri> for SimConnector {
    type Response = TokioIo<SimStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let stats = self.stats.clone();
        Box::pin(async move {
            let host = uri.host().unwrap_or_default().to_string();
            let port = uri.port_u16().unwrap_or(80);
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            stats.connects.fetch_add(1, Ordering::Relaxed);
            Ok(TokioIo::new(SimStream(stream)))
        })
    }
}
