//! Systems under test: ordinary tokio services that exhibit metastable
//! failures, written the way a service team would write them.
//!
//! Nothing here knows about hormesis. A service takes its configuration,
//! exposes *controls* (the knobs an operator or a fault can turn) and
//! *stats* (counters and gauges a metrics scraper would read), and talks over
//! [`net`], which is the simulated network of whichever engine runs it.
//!
//! * [`retry_storm`]: a FIFO server at a fixed service rate and clients that
//!   retry on timeout. A load spike leaves a queue longer than the timeout;
//!   every request then times out and is retried, the retries keep the queue
//!   long, and goodput never comes back (Bronson et al., HotOS 2021, §2.1).
//! * [`primitives`]: the adaptive components that should prevent such
//!   failures (a retry budget), each with a serde policy.

pub mod call_chain;
pub mod gc_pressure;
pub mod lookaside_cache;
pub mod net;
pub mod primitives;
pub mod retry_storm;
pub mod rpc;
