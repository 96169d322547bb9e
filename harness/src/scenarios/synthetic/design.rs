//! A synthetic instance's design: the topology, every component's sizes and
//! policies, and the queueing model the sizes come from, all drawn from the
//! instance number.
//!
//! Each instance is built around one sustaining mechanism (its
//! [`Mechanism`]): the generator gives one component (the *weak spot*) a
//! utilisation of 40-70 % and the parts the mechanism needs (a cache, a
//! thread limit, per-tenant tokens, memory pressure), and draws everything
//! else — retries, timeouts, backoffs, keepalives, fan-out, shards, skew —
//! independently of it. Whether and where an instance tips follows from
//! those draws; nothing here says so, and many instances recover from every
//! fault.
//!
//! The model is a warm steady state with no faults: arrivals per service
//! from the offered load through cache miss ratios and token refreshes,
//! utilisation per shard, and a response time per service (its service time
//! stretched by its utilisation, plus its slowest call) that callers'
//! timeouts are drawn against.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;
use std::fmt::Write as _;
use std::time::Duration;

/// The feedback loop an instance is built around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mechanism {
    /// A backlog at a worker pool that callers' retries keep longer than
    /// their timeouts.
    RetryAmplification,
    /// A look-aside cache whose dependency cannot carry the cold miss load,
    /// so it never refills.
    CacheRefill,
    /// A pool that slows as its queue grows, so a backlog past a critical
    /// length sustains itself.
    MemoryPressure,
    /// Per-tenant tokens that expire together after an auth outage; the
    /// herd of refreshes overloads the auth service, which keeps them
    /// expiring.
    TokenHerd,
    /// A thread per request: a slow dependency holds every thread, requests
    /// queue for threads past their callers' timeouts, and retries keep the
    /// queue.
    ThreadExhaustion,
}

impl Mechanism {
    pub const ALL: [Mechanism; 5] = [
        Mechanism::RetryAmplification,
        Mechanism::CacheRefill,
        Mechanism::MemoryPressure,
        Mechanism::TokenHerd,
        Mechanism::ThreadExhaustion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::RetryAmplification => "retry-amplification",
            Mechanism::CacheRefill => "cache-refill",
            Mechanism::MemoryPressure => "memory-pressure",
            Mechanism::TokenHerd => "token-herd",
            Mechanism::ThreadExhaustion => "thread-exhaustion",
        }
    }

    fn explain(self) -> &'static str {
        match self {
            Mechanism::RetryAmplification => {
                "a backlog at the weak spot's pool that its callers' retries could keep past their timeouts"
            }
            Mechanism::CacheRefill => {
                "a look-aside cache whose dependency carries the warm miss load but perhaps not the cold one"
            }
            Mechanism::MemoryPressure => {
                "a pool that slows with its queue, so a backlog past its critical length may feed itself"
            }
            Mechanism::TokenHerd => {
                "per-tenant tokens whose refreshes, once they expire together, may overload the auth service"
            }
            Mechanism::ThreadExhaustion => {
                "a thread per request, held through calls: a slow dependency may fill the threads and leave a queue older than the callers' timeouts"
            }
        }
    }
}

/// How one caller treats one callee: the `RetryClient` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    /// gRPC-style keepalive `(interval, timeout)`; `None`: a connection is
    /// judged by its traffic.
    pub keepalive: Option<(Duration, Duration)>,
    /// A Finagle-style retry budget `(ratio, min_per_s)`: retries beyond
    /// that share of first attempts are refused.
    pub budget: Option<(f64, f64)>,
}

/// A call a service makes on every request its cache does not answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The callee, an index into [`Design::services`].
    pub to: usize,
    pub caller: Caller,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cache {
    pub keyspace: u64,
    pub ttl: Duration,
    /// Warm miss ratio (model).
    pub miss_ratio: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub tenants: u64,
    pub ttl: Duration,
    pub coalesce: bool,
    /// The auth service, an index into [`Design::services`].
    pub auth: usize,
    pub caller: Caller,
    /// Warm refreshes per second (model).
    pub refresh_rate: f64,
    /// The share of tenants holding a token in the warm state (model).
    pub live: f64,
}

/// One service: one or more shards (hosts) with the same configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    /// Depth on the call path: 0 is the entry the clients call.
    pub tier: usize,
    pub shards: usize,
    /// The shard that skewed keys favour, and its share of the keys
    /// (1/shards when even).
    pub hot: usize,
    pub hot_share: f64,
    pub workers: usize,
    pub service_time: Duration,
    /// Slowdown per queued job (0: none).
    pub pressure: f64,
    pub threads: Option<usize>,
    pub cache: Option<Cache>,
    pub lease: Option<Lease>,
    pub calls: Vec<Call>,
    /// Drop queued work of a closed connection (hyper's behaviour) instead
    /// of finishing it.
    pub cancel_on_disconnect: bool,
    /// Requests per second over all shards (model).
    pub arrivals: f64,
    /// The busiest shard's utilisation (model): of its workers, or of its
    /// threads when it has a thread limit.
    pub utilisation: f64,
    /// Mean response time on the miss path (model).
    pub response: Duration,
}

impl Service {
    /// The host names of its shards.
    pub fn hosts(&self) -> Vec<String> {
        if self.shards == 1 {
            vec![self.name.clone()]
        } else {
            (1..=self.shards)
                .map(|i| format!("{}-{i}", self.name))
                .collect()
        }
    }

    /// Requests per second at the busiest shard (model).
    pub fn busiest_arrivals(&self) -> f64 {
        self.arrivals * self.hot_share
    }
}

/// One synthetic system, fixed by its instance number.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub instance: u64,
    pub mechanism: Mechanism,
    /// The service the mechanism is built around, an index into `services`.
    pub weak: usize,
    /// Index 0 is the entry.
    pub services: Vec<Service>,
    pub clients: usize,
    pub client: Caller,
    pub deadline: Duration,
    /// Offered load, logical requests per second.
    pub rate: f64,
}

/// Mean round trip of one call on a link without faults: latency is drawn
/// uniformly from the layout's 1-10 ms each way.
pub const MEAN_ROUND_TRIP: Duration = Duration::from_millis(11);
/// The most server hosts an instance has.
pub const MAX_HOSTS: usize = 8;
/// The longest client deadline: the horizon (60 s) must be 10× it.
pub const MAX_DEADLINE: Duration = Duration::from_secs(6);

const NAMES: [&[&str]; 4] = [
    &["gateway", "frontend", "api", "edge"],
    &["orders", "catalog", "profile", "cart", "billing", "search"],
    &["ledger", "inventory", "store", "index", "pricing", "media"],
    &["auth"],
];

struct Draw(ChaCha12Rng);

impl Draw {
    fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Log-uniform on [lo, hi].
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp()
    }
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        self.0.random_range(lo..=hi)
    }
    fn secs(&mut self, lo: f64, hi: f64) -> Duration {
        Duration::from_secs_f64(self.log_uniform(lo, hi))
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.0.random_range(0..items.len())]
    }
}

/// Rounds a duration to the microsecond, as the pool's controls hold it.
fn micros(d: Duration) -> Duration {
    Duration::from_micros(d.as_micros().min(u64::MAX as u128) as u64)
}

impl Design {
    /// The instance numbered `instance`: any `u64` gives a valid system.
    pub fn generate(instance: u64) -> Design {
        let mut draw = Draw(ChaCha12Rng::seed_from_u64(instance));
        let mechanism = *draw.pick(&Mechanism::ALL);
        let needs_callee = matches!(
            mechanism,
            Mechanism::CacheRefill | Mechanism::ThreadExhaustion
        );
        let depth = draw.int(if needs_callee { 2 } else { 1 }, 3);
        let mut services = topology(&mut draw, depth, mechanism == Mechanism::TokenHerd);
        let weak = place_mechanism(&mut draw, &mut services, mechanism);
        let rate = draw.log_uniform(20.0, 100.0);
        flow(&mut services, rate);
        size(&mut draw, &mut services, weak);
        let mut client = caller(&mut draw, services[0].response);
        if mechanism == Mechanism::RetryAmplification {
            retry_into_the_weak_spot(&mut client, &mut services, weak);
        }
        // Users give up somewhere between the first attempt's timeout and
        // the last retry's: a deadline short of the retries cuts them.
        let attempts = draw.uniform(1.0, client.retries as f64 + 1.0);
        let deadline = micros(
            ((client.timeout + client.backoff).mul_f64(attempts) + Duration::from_millis(100))
                .min(MAX_DEADLINE),
        );
        Design {
            instance,
            mechanism,
            weak,
            clients: draw.int(1, 3),
            client,
            deadline,
            rate,
            services,
        }
    }

    /// The offered load at which the busiest component saturates (model).
    pub fn capacity(&self) -> f64 {
        self.rate / self.bottleneck().utilisation.max(1e-9)
    }

    /// The most utilised service (model).
    pub fn bottleneck(&self) -> &Service {
        self.services
            .iter()
            .max_by(|a, b| a.utilisation.total_cmp(&b.utilisation))
            .unwrap_or(&self.services[0])
    }

    pub fn hosts(&self) -> Vec<String> {
        self.services.iter().flat_map(Service::hosts).collect()
    }

    pub fn client_hosts(&self) -> Vec<String> {
        (1..=self.clients).map(|i| format!("client-{i}")).collect()
    }

    /// What a reader needs to understand a failure found on it.
    pub fn describe(&self, load: f64) -> String {
        let mut out = String::new();
        let rate = self.rate * load;
        let _ = writeln!(
            out,
            "synthetic instance {}: built around {} ({})",
            self.instance,
            self.mechanism.name(),
            self.mechanism.explain()
        );
        let bottleneck = self.bottleneck();
        let _ = writeln!(
            out,
            "  load {:.1} req/s from {} ({}); capacity {:.1} req/s (model), bottleneck {} at {:.0} %{}",
            rate,
            plural(self.clients, "client host"),
            self.client_hosts().join(", "),
            self.capacity(),
            bottleneck.name,
            bottleneck.utilisation * load * 100.0,
            if load == 1.0 {
                String::new()
            } else {
                format!(" (load ×{})", crate::scenario::number(load))
            }
        );
        let _ = writeln!(
            out,
            "  weak spot: {}; clients call {}: {}, deadline {}",
            self.services[self.weak].name,
            self.services[0].name,
            caller_text(&self.client),
            ms(self.deadline)
        );
        for s in &self.services {
            let hosts = s.hosts();
            let _ = writeln!(
                out,
                "  {} (tier {}, {}: {})",
                s.name,
                s.tier,
                plural(s.shards, "host"),
                hosts.join(", ")
            );
            if s.shards > 1 {
                let skew = if (s.hot_share - 1.0 / s.shards as f64).abs() < 1e-9 {
                    "keys spread evenly".to_string()
                } else {
                    format!(
                        "{} takes {:.0} % of the keys",
                        hosts[s.hot],
                        s.hot_share * 100.0
                    )
                };
                let _ = writeln!(out, "    sharded by key: {skew}");
            }
            let pressure = if s.pressure > 0.0 {
                format!(", memory pressure {:.4} per queued job", s.pressure)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "    pool {} × {}{}; {:.1} req/s, busiest host at {:.0} %, response {}",
                plural(s.workers, "worker"),
                ms(s.service_time),
                pressure,
                s.arrivals * load,
                s.utilisation * load * 100.0,
                ms(s.response)
            );
            if let Some(t) = s.threads {
                let _ = writeln!(out, "    {t} threads, each held through the calls");
            }
            if let Some(l) = &s.lease {
                let _ = writeln!(
                    out,
                    "    tokens: {} tenants, ttl {}, {}; {:.1} refreshes/s to {}: {}",
                    l.tenants,
                    ms(l.ttl),
                    if l.coalesce {
                        "one refresh per tenant at a time"
                    } else {
                        "every request that finds one expired refreshes it"
                    },
                    l.refresh_rate * load,
                    self.services[l.auth].name,
                    caller_text(&l.caller)
                );
            }
            if let Some(c) = &s.cache {
                let _ = writeln!(
                    out,
                    "    look-aside cache: {} keys, ttl {}, warm miss ratio {:.0} %",
                    c.keyspace,
                    ms(c.ttl),
                    c.miss_ratio * 100.0
                );
            }
            for call in &s.calls {
                let _ = writeln!(
                    out,
                    "    calls {}: {}",
                    self.services[call.to].name,
                    caller_text(&call.caller)
                );
            }
            if s.cancel_on_disconnect {
                let _ = writeln!(out, "    drops the queued work of a closed connection");
            }
        }
        out
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v >= 10_000.0 {
        format!("{:.1}s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}ms")
    } else {
        format!("{v:.1}ms")
    }
}

fn caller_text(c: &Caller) -> String {
    let mut out = format!(
        "timeout {}, {}",
        ms(c.timeout),
        match c.retries {
            1 => "1 retry".to_string(),
            n => format!("{n} retries"),
        }
    );
    if !c.backoff.is_zero() {
        let _ = write!(out, ", backoff {}", ms(c.backoff));
    }
    if let Some((ratio, min_per_s)) = c.budget {
        let _ = write!(
            out,
            ", retry budget {:.0} % (+{:.1}/s)",
            ratio * 100.0,
            min_per_s
        );
    }
    if let Some((interval, timeout)) = c.keepalive {
        let _ = write!(
            out,
            ", keepalive every {} (dead after {})",
            ms(interval),
            ms(timeout)
        );
    }
    out
}

/// Tiers of services, each calling some of the next tier's; an auth
/// service off the path when `auth`. At most [`MAX_HOSTS`] hosts.
fn topology(draw: &mut Draw, depth: usize, auth: bool) -> Vec<Service> {
    let mut tiers: Vec<Vec<usize>> = Vec::new();
    let mut services: Vec<Service> = Vec::new();
    for (tier, vocabulary) in NAMES.iter().enumerate().take(depth) {
        let count = if tier > 0 && draw.chance(0.35) { 2 } else { 1 };
        let mut names: Vec<&str> = vocabulary.to_vec();
        let mut ids = Vec::new();
        for _ in 0..count {
            let i = draw.int(0, names.len() - 1);
            let name = names.remove(i);
            let shards = if tier == 0 {
                if draw.chance(0.3) {
                    2
                } else {
                    1
                }
            } else {
                *draw.pick(&[1, 1, 2, 2, 3])
            };
            ids.push(services.len());
            services.push(service(name, tier, shards));
        }
        tiers.push(ids);
    }
    if auth {
        services.push(service(NAMES[3][0], depth, 1));
    }
    // Within the host budget: drop shards from the largest service, then
    // a second service of the deepest tier that has two.
    loop {
        let hosts: usize = services.iter().map(|s| s.shards).sum();
        if hosts <= MAX_HOSTS {
            break;
        }
        let widest = (0..services.len())
            .max_by_key(|&i| (services[i].shards, i))
            .unwrap_or(0);
        services[widest].shards -= 1;
    }
    if services.iter().map(|s| s.shards).sum::<usize>() < 2 {
        services[0].shards = 2;
    }
    for s in &mut services {
        s.hot = draw.int(0, s.shards - 1);
        s.hot_share = if s.shards > 1 && draw.chance(0.5) {
            draw.uniform(1.0 / s.shards as f64, 0.7)
        } else {
            1.0 / s.shards as f64
        };
    }
    // Calls: each service of a tier calls each of the next tier's with
    // probability 0.7, every service calling and called at least once.
    for t in 1..tiers.len() {
        let (callers, callees) = (tiers[t - 1].clone(), tiers[t].clone());
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for &a in &callers {
            for &b in &callees {
                if draw.chance(0.7) {
                    edges.push((a, b));
                }
            }
        }
        for &a in &callers {
            if !edges.iter().any(|e| e.0 == a) {
                edges.push((a, *draw.pick(&callees)));
            }
        }
        for &b in &callees {
            if !edges.iter().any(|e| e.1 == b) {
                edges.push((*draw.pick(&callers), b));
            }
        }
        edges.sort_unstable();
        for (a, b) in edges {
            services[a].calls.push(Call {
                to: b,
                caller: placeholder_caller(),
            });
        }
    }
    services
}

fn service(name: &str, tier: usize, shards: usize) -> Service {
    Service {
        name: name.to_string(),
        tier,
        shards,
        hot: 0,
        hot_share: 1.0,
        workers: 1,
        service_time: Duration::from_millis(10),
        pressure: 0.0,
        threads: None,
        cache: None,
        lease: None,
        calls: Vec::new(),
        cancel_on_disconnect: false,
        arrivals: 0.0,
        utilisation: 0.0,
        response: Duration::ZERO,
    }
}

fn placeholder_caller() -> Caller {
    Caller {
        timeout: Duration::from_secs(1),
        retries: 0,
        backoff: Duration::ZERO,
        keepalive: None,
        budget: None,
    }
}

/// Gives the weak spot what its mechanism needs, and some other services
/// incidental parts (a well-provisioned cache, mild pressure, a drop of a
/// closed connection's work). Returns the weak spot.
fn place_mechanism(draw: &mut Draw, services: &mut [Service], mechanism: Mechanism) -> usize {
    let path: Vec<usize> = (0..services.len())
        .filter(|&i| services[i].name != NAMES[3][0])
        .collect();
    let callers: Vec<usize> = path
        .iter()
        .copied()
        .filter(|&i| !services[i].calls.is_empty())
        .collect();
    let weak = match mechanism {
        Mechanism::RetryAmplification | Mechanism::MemoryPressure => *draw.pick(&path),
        Mechanism::CacheRefill => {
            let cached = *draw.pick(&callers);
            services[cached].shards = 1;
            services[cached].hot_share = 1.0;
            services[cached].hot = 0;
            services[cached].cache = Some(Cache {
                keyspace: 0,
                ttl: draw.secs(30.0, 300.0),
                // The warm miss ratio the keyspace is sized for.
                miss_ratio: draw.uniform(0.2, 0.5),
            });
            let callees: Vec<usize> = services[cached].calls.iter().map(|c| c.to).collect();
            *draw.pick(&callees)
        }
        Mechanism::TokenHerd => {
            let auth = services.len() - 1;
            let holder = if draw.chance(0.6) {
                0
            } else {
                *draw.pick(&path)
            };
            services[holder].shards = 1;
            services[holder].hot_share = 1.0;
            services[holder].hot = 0;
            services[holder].lease = Some(Lease {
                tenants: draw.log_uniform(30.0, 400.0).round() as u64,
                ttl: draw.secs(10.0, 120.0),
                coalesce: draw.chance(0.5),
                auth,
                caller: placeholder_caller(),
                refresh_rate: 0.0,
                live: 0.0,
            });
            auth
        }
        Mechanism::ThreadExhaustion => {
            let held = *draw.pick(&callers);
            services[held].threads = Some(0);
            held
        }
    };
    if mechanism == Mechanism::MemoryPressure {
        services[weak].pressure = f64::NAN; // sized in `size`
    }
    for i in path {
        if i == weak {
            continue;
        }
        let s = &mut services[i];
        if s.cache.is_none() && s.lease.is_none() && s.shards == 1 && draw.chance(0.15) {
            s.cache = Some(Cache {
                keyspace: 0,
                ttl: draw.secs(30.0, 300.0),
                miss_ratio: draw.uniform(0.3, 0.7),
            });
        }
        if draw.chance(0.15) {
            // Mild: the critical backlog is thousands of jobs.
            s.pressure = -draw.log_uniform(2000.0, 10_000.0);
        }
    }
    for s in services.iter_mut() {
        s.cancel_on_disconnect = draw.chance(0.25);
    }
    weak
}

/// Arrivals per service in the warm steady state, top-down: a service's
/// calls carry its cache misses; a lease holder's refreshes reach its auth
/// service. Sizes the caches' keyspaces to their drawn miss ratios.
fn flow(services: &mut [Service], rate: f64) {
    services[0].arrivals = rate;
    // Tiers are in index order and calls go one tier down, so one pass in
    // index order sees every caller before its callees.
    for i in 0..services.len() {
        let arrivals = services[i].arrivals;
        let mut miss = 1.0;
        if let Some(cache) = &mut services[i].cache {
            let ttl = cache.ttl.as_secs_f64();
            // A key fetched on a miss serves every request within the ttl:
            // with per-key rate r, the miss ratio is 1 / (1 + r ttl).
            let per_ttl = arrivals * ttl;
            let keyspace = (per_ttl / (1.0 / cache.miss_ratio - 1.0))
                .round()
                .clamp(20.0, 20_000.0);
            cache.keyspace = keyspace as u64;
            cache.miss_ratio = 1.0 / (1.0 + per_ttl / keyspace);
            miss = cache.miss_ratio;
        }
        let calls: Vec<usize> = services[i].calls.iter().map(|c| c.to).collect();
        for to in calls {
            services[to].arrivals += arrivals * miss;
        }
        if let Some(lease) = &mut services[i].lease {
            // Each tenant refreshes on its first request after expiry.
            let tenants = lease.tenants as f64;
            let per_tenant = arrivals / tenants;
            let ttl = lease.ttl.as_secs_f64();
            lease.refresh_rate = tenants / (ttl + 1.0 / per_tenant.max(1e-9));
            // A tenant holds a token for ttl of every ttl + 1/r seconds.
            lease.live = ttl / (ttl + 1.0 / per_tenant.max(1e-9));
            let auth = lease.auth;
            services[auth].arrivals += lease.refresh_rate;
        }
    }
}

/// Sizes every service bottom-up (a caller's timeouts and threads depend
/// on its callees' response times): the weak spot at 40-70 % utilisation,
/// the others at 5-30 %.
fn size(draw: &mut Draw, services: &mut [Service], weak: usize) {
    for i in (0..services.len()).rev() {
        let target = if i == weak {
            draw.uniform(0.4, 0.7)
        } else {
            draw.uniform(0.05, 0.3)
        };
        let busiest = services[i].busiest_arrivals().max(0.01);
        let threaded = services[i].threads.is_some();
        // A threaded service's pool is never its bottleneck.
        let pool_target = if threaded {
            draw.uniform(0.1, 0.3)
        } else {
            target
        };
        let nominal = draw.log_uniform(0.010, 0.080);
        let workers = ((busiest * nominal / pool_target).round() as usize).clamp(1, 256);
        let service_time = micros(
            Duration::from_secs_f64(pool_target * workers as f64 / busiest)
                .max(Duration::from_millis(1)),
        );
        let pool_utilisation = busiest * service_time.as_secs_f64() / workers as f64;
        let s = &mut services[i];
        s.workers = workers;
        s.service_time = service_time;
        if s.pressure.is_nan() {
            // Memory pressure: the queue at which service slows to the
            // arrival rate, workers / (st (1 + p L)) = λ, is 3-30 s of
            // arrivals (at least 40 jobs).
            let critical = (busiest * draw.log_uniform(3.0, 30.0)).max(40.0);
            s.pressure = (1.0 / pool_utilisation - 1.0) / critical;
        } else if s.pressure < 0.0 {
            let critical = -s.pressure;
            s.pressure = (1.0 / pool_utilisation - 1.0).max(0.1) / critical;
        }
        // The callees' responses are known: draw this service's callers'
        // policies towards them.
        let mut slowest_call = Duration::ZERO;
        for c in 0..services[i].calls.len() {
            let to = services[i].calls[c].to;
            let response = services[to].response;
            services[i].calls[c].caller = caller(draw, response);
            slowest_call = slowest_call.max(response + MEAN_ROUND_TRIP);
        }
        let own = service_time.mul_f64(1.0 + pool_utilisation);
        let s = &mut services[i];
        if threaded {
            let hold = (own + slowest_call).as_secs_f64();
            let threads = ((busiest * hold / target).ceil() as usize).max(2);
            s.threads = Some(threads);
            s.utilisation = busiest * hold / threads as f64;
        } else {
            s.utilisation = pool_utilisation;
        }
        s.response = micros(own + slowest_call);
        if let Some(auth) = s.lease.as_ref().map(|l| l.auth) {
            let response = services[auth].response;
            let policy = caller(draw, response);
            if let Some(lease) = &mut services[i].lease {
                lease.caller = policy;
            }
        }
    }
}

/// A retry-amplification instance whose weak spot nobody retries into has
/// no loop to sustain its backlog: every direct caller of the weak spot (the
/// clients when it is the entry) retries at least once. Raised after the
/// draws, so the rest of the instance is the one the same number always gave.
fn retry_into_the_weak_spot(client: &mut Caller, services: &mut [Service], weak: usize) {
    let at_least_once = |c: &mut Caller| c.retries = c.retries.max(1);
    if weak == 0 {
        at_least_once(client);
    }
    for call in services.iter_mut().flat_map(|s| s.calls.iter_mut()) {
        if call.to == weak {
            at_least_once(&mut call.caller);
        }
    }
}

/// A caller's policy towards a callee that answers in `response` (model):
/// a timeout of 5-60× the round trip, 0-3 retries, sometimes a backoff, a
/// keepalive or a retry budget.
fn caller(draw: &mut Draw, response: Duration) -> Caller {
    let round_trip = (response + MEAN_ROUND_TRIP).as_secs_f64();
    let timeout = (round_trip * draw.log_uniform(5.0, 60.0)).clamp(0.02, 3.0);
    let retries = *draw.pick(&[0u32, 0, 1, 1, 2, 3]);
    let backoff = if draw.chance(0.5) {
        Duration::ZERO
    } else {
        micros(draw.secs(0.010, 0.300))
    };
    let keepalive = draw
        .chance(0.2)
        .then(|| (micros(draw.secs(1.0, 10.0)), micros(draw.secs(0.2, 2.0))));
    let budget = (retries > 0 && draw.chance(0.4))
        .then(|| (draw.uniform(0.05, 0.25), draw.uniform(0.5, 5.0)));
    Caller {
        timeout: micros(Duration::from_secs_f64(timeout)),
        retries,
        backoff,
        keepalive,
        budget,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_the_same_design_every_time() {
        for instance in [0, 1, 7, 99, u64::MAX] {
            assert_eq!(Design::generate(instance), Design::generate(instance));
        }
        assert_ne!(Design::generate(1), Design::generate(2));
    }

    #[test]
    fn every_instance_keeps_the_family_bounds() {
        let mut mechanisms = std::collections::BTreeSet::new();
        for instance in 0..500 {
            let d = Design::generate(instance);
            let hosts = d.hosts();
            assert!(
                (2..=MAX_HOSTS).contains(&hosts.len()),
                "{instance}: {hosts:?}"
            );
            let unique: std::collections::BTreeSet<_> = hosts.iter().collect();
            assert_eq!(unique.len(), hosts.len(), "{instance}: {hosts:?}");
            assert!((1..=3).contains(&d.clients));
            assert!(d.services.iter().all(|s| s.tier <= 3));
            // The weak spot is the bottleneck at 40-70 %; the rest below it.
            let weak = &d.services[d.weak];
            // A pool of threads rounds up: a few threads may sit lower.
            let lowest = if weak.threads.is_some() { 0.2 } else { 0.399 };
            assert!(
                (lowest..=0.701).contains(&weak.utilisation),
                "{instance}: weak {} at {}",
                weak.name,
                weak.utilisation
            );
            for s in &d.services {
                assert!(
                    s.utilisation <= weak.utilisation.max(0.3) + 1e-9,
                    "{instance}: {s:?}"
                );
                assert!(s.workers >= 1 && s.service_time >= Duration::from_millis(1));
                for c in &s.calls {
                    assert!(
                        d.services[c.to].tier == s.tier + 1,
                        "{instance}: calls go one tier down"
                    );
                    assert!(c.caller.timeout >= Duration::from_millis(20));
                }
            }
            assert!(d.deadline <= MAX_DEADLINE);
            assert!(d.capacity() > d.rate);
            mechanisms.insert(d.mechanism);
        }
        assert_eq!(mechanisms.len(), Mechanism::ALL.len());
    }

    #[test]
    fn retry_amplification_always_has_a_retry_into_its_weak_spot() {
        let mut seen = 0;
        for instance in 0..500 {
            let d = Design::generate(instance);
            if d.mechanism != Mechanism::RetryAmplification {
                continue;
            }
            seen += 1;
            let mut callers: Vec<&Caller> = d
                .services
                .iter()
                .flat_map(|s| &s.calls)
                .filter(|c| c.to == d.weak)
                .map(|c| &c.caller)
                .collect();
            if d.weak == 0 {
                callers.push(&d.client);
            }
            assert!(
                !callers.is_empty(),
                "{instance}: nobody calls the weak spot"
            );
            assert!(
                callers.iter().all(|c| c.retries >= 1),
                "{instance}: a caller of the weak spot never retries: {callers:?}"
            );
        }
        assert!(seen > 20, "only {seen} retry-amplification instances");
    }

    #[test]
    fn a_cache_is_sized_to_its_miss_ratio() {
        let d = (0..)
            .map(Design::generate)
            .find(|d| d.mechanism == Mechanism::CacheRefill)
            .expect("a cache instance");
        let cached = d
            .services
            .iter()
            .find(|s| s.cache.is_some())
            .expect("a cache");
        let c = cached.cache.as_ref().expect("cache");
        let per_key = cached.arrivals / c.keyspace as f64;
        let expected = 1.0 / (1.0 + per_key * c.ttl.as_secs_f64());
        assert!((c.miss_ratio - expected).abs() < 1e-12);
        // The cache's callees see only the misses.
        for call in &cached.calls {
            assert!(d.services[call.to].arrivals <= cached.arrivals * c.miss_ratio * 2.0 + 1e-9);
        }
    }
}
