//! A sharded service with one hot shard: clients route each request to a
//! shard by its key (client-side sharding, as Redis Cluster or Cassandra
//! drivers do), and a skewed key distribution sends one shard more than
//! its share.
//!
//! Every shard is the same FIFO [`WorkerPool`](crate::rpc::WorkerPool)
//! behind a client that retries on timeout. A cold shard runs at a low
//! utilisation: even if every attempt is retried it cannot be overloaded,
//! so whatever hits it, it recovers. The hot shard runs just high enough
//! that its retried attempts exceed its capacity: a fault that leaves it a
//! backlog longer than the timeout keeps it overloaded afterwards. Among
//! many shards, one is vulnerable.

use crate::rpc::{CallError, ClientPolicy, ClientStats, RetryClient};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Routes keys to shards: a fraction `hot_share` of the key space goes to
/// shard `hot`, the rest spreads evenly over the others.
#[derive(Debug, Clone, Copy)]
pub struct Routing {
    pub shards: usize,
    pub hot: usize,
    pub hot_share: f64,
}

impl Routing {
    /// The shard of `key`.
    pub fn shard(&self, key: u64) -> usize {
        let shards = self.shards.max(1);
        if shards == 1 {
            return 0;
        }
        // A fixed mix of the key: the same key always lands on one shard.
        let mixed = splitmix(key);
        let unit = (mixed >> 11) as f64 / (1u64 << 53) as f64;
        if unit < self.hot_share {
            return self.hot.min(shards - 1);
        }
        let cold = (splitmix(mixed) % (shards as u64 - 1)) as usize;
        if cold >= self.hot {
            cold + 1
        } else {
            cold
        }
    }
}

pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A client of every shard: one retrying connection per shard.
pub struct ShardedClient {
    routing: Routing,
    shards: Vec<RetryClient>,
}

impl ShardedClient {
    /// `servers[i]` is shard i's `host:port`.
    pub fn new(
        routing: Routing,
        servers: &[String],
        policy: ClientPolicy,
        stats: Arc<ClientStats>,
    ) -> Self {
        ShardedClient {
            routing,
            shards: servers
                .iter()
                .map(|s| RetryClient::new(s.clone(), policy.clone(), stats.clone()))
                .collect(),
        }
    }

    /// Retries (on every shard) only while `paused` is clear; see
    /// [`RetryClient::with_retry_pause`].
    pub fn with_retry_pause(self, paused: Arc<AtomicBool>) -> Self {
        ShardedClient {
            routing: self.routing,
            shards: self
                .shards
                .into_iter()
                .map(|c| c.with_retry_pause(paused.clone()))
                .collect(),
        }
    }

    /// One logical request for `key`, on its shard, retried per the policy.
    pub async fn call(&self, key: u64) -> Result<(), CallError> {
        let shard = self
            .routing
            .shard(key)
            .min(self.shards.len().saturating_sub(1));
        match self.shards.get(shard) {
            Some(client) => client.call(key).await,
            None => Err(CallError::Failed {
                attempts: 0,
                reason: "no shards".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hot_shard_gets_its_share_and_the_rest_spread_evenly() {
        let routing = Routing {
            shards: 12,
            hot: 4,
            hot_share: 0.12,
        };
        let mut counts = [0u32; 12];
        for key in 0..120_000u64 {
            counts[routing.shard(key)] += 1;
        }
        assert!((13_800..15_000).contains(&counts[4]), "{counts:?}");
        for (i, c) in counts.iter().enumerate().filter(|(i, _)| *i != 4) {
            assert!((9_300..10_700).contains(c), "shard {i}: {counts:?}");
        }
        assert_eq!(routing.shard(77), routing.shard(77));
    }
}
