//! The trace digest: blake3 over a canonical byte stream of the run's inputs,
//! the fault actions as applied and every window. Floats are hashed by their
//! bits, so a digest changes if and only if some recorded figure changes.

use crate::engine::{Applied, HostFailure};
use crate::timeline::{Timeline, Window};

const FORMAT: &[u8] = b"hormesis trace digest v1\n";

pub struct Digest(blake3::Hasher);

impl Digest {
    pub fn new(header: &[String]) -> Digest {
        let mut h = blake3::Hasher::new();
        h.update(FORMAT);
        for line in header {
            field(&mut h, line.as_bytes());
        }
        Digest(h)
    }

    pub fn applied(&mut self, applied: &[Applied]) -> &mut Self {
        for a in applied {
            self.0.update(b"A");
            self.0.update(&a.t_s.to_bits().to_le_bytes());
            self.0.update(&(a.event as u64).to_le_bytes());
            field(&mut self.0, a.action.as_bytes());
        }
        self
    }

    pub fn failures(&mut self, failures: &[HostFailure]) -> &mut Self {
        for f in failures {
            self.0.update(b"F");
            field(&mut self.0, f.host.as_bytes());
            self.0.update(&f.t_s.to_bits().to_le_bytes());
        }
        self
    }

    pub fn timeline(&mut self, t: &Timeline) -> &mut Self {
        self.0.update(&t.window_s.to_bits().to_le_bytes());
        for w in &t.windows {
            window(&mut self.0, w);
        }
        self
    }

    pub fn hex(&self) -> String {
        self.0.finalize().to_hex().to_string()
    }
}

fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn window(h: &mut blake3::Hasher, w: &Window) {
    h.update(b"W");
    h.update(&w.t_s.to_bits().to_le_bytes());
    for n in [w.offered, w.attempts, w.goodput, w.errors, w.timeouts] {
        h.update(&n.to_le_bytes());
    }
    for q in [w.p50_ms, w.p99_ms] {
        h.update(&q.map_or(u64::MAX, f64::to_bits).to_le_bytes());
    }
    for (name, value) in &w.gauges {
        field(h, name.as_bytes());
        h.update(&value.to_bits().to_le_bytes());
    }
}

/// The first window where two timelines differ, if any (and if one is
/// shorter, the first window it lacks).
pub fn first_difference(a: &Timeline, b: &Timeline) -> Option<usize> {
    let n = a.windows.len().max(b.windows.len());
    (0..n).find(|&i| a.windows.get(i) != b.windows.get(i))
}
