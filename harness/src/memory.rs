//! Memory each simulation holds, counted so that one run cannot exhaust
//! the machine (issue 29, E3): a service whose queue is unbounded, offered
//! far more than it serves, grows without end.
//!
//! [`CountingAllocator`] wraps the system allocator and keeps, per thread,
//! the bytes allocated and not yet freed. A simulation runs on one thread,
//! so the growth of that count over a run is the run's own memory, the same
//! for the same inputs (allocations are as deterministic as the run), and
//! independent of other runs on other threads. The engines stop a run whose
//! growth passes [`MAX_SIMULATION_BYTES`], as they stop one with too many
//! requests in flight. The `hormesis` binary installs the allocator; a
//! user's binary opts in with two lines:
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOCATOR: hormesis::memory::CountingAllocator = hormesis::memory::CountingAllocator;
//! ```
//!
//! Without it nothing is counted and no run is stopped for memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// The most memory one simulation may grow by: far above any built-in run
/// (tens of MiB), and 20 simulations of it fit in a 24 GiB machine.
pub const MAX_SIMULATION_BYTES: i64 = 1 << 30;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting each thread's live bytes.
pub struct CountingAllocator;

fn add(bytes: i64) {
    // `try_with`: a thread being torn down has no counter left to keep.
    let _ = LIVE.try_with(|live| live.set(live.get().wrapping_add(bytes)));
}

// SAFETY: every call forwards to `System` with the same arguments; the
// counting touches only a thread-local integer and allocates nothing.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            add(layout.size() as i64);
            if !INSTALLED.load(Ordering::Relaxed) {
                INSTALLED.store(true, Ordering::Relaxed);
            }
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            add(layout.size() as i64);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        add(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            add(new_size as i64 - layout.size() as i64);
        }
        new
    }
}

/// This thread's live bytes, when [`CountingAllocator`] is installed.
pub fn thread_live_bytes() -> Option<i64> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| LIVE.with(Cell::get))
}

/// The memory a simulation started with on its thread; [`Budget::exceeded`]
/// says when it has grown past [`MAX_SIMULATION_BYTES`].
pub struct Budget {
    start: Option<i64>,
}

impl Budget {
    pub fn start() -> Budget {
        Budget {
            start: thread_live_bytes(),
        }
    }

    /// Whether this thread holds more than the budget beyond its start.
    pub fn exceeded(&self) -> bool {
        match (self.start, thread_live_bytes()) {
            (Some(start), Some(now)) => now.saturating_sub(start) > MAX_SIMULATION_BYTES,
            _ => false,
        }
    }
}

/// How many simulations of [`MAX_SIMULATION_BYTES`] fit in the memory this
/// machine has available now (at least 1), where the system says
/// (`/proc/meminfo`); `None` elsewhere.
pub fn simulations_that_fit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let fit = kib.saturating_mul(1024) / MAX_SIMULATION_BYTES as u64;
    Some(usize::try_from(fit).unwrap_or(usize::MAX).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_without_the_allocator_never_stops_a_run() {
        // Unit tests run on the default allocator: nothing is counted.
        if thread_live_bytes().is_none() {
            let budget = Budget::start();
            let _big = vec![0u8; 1 << 20];
            assert!(!budget.exceeded());
        }
    }

    #[test]
    fn the_machine_fits_at_least_one_simulation() {
        if let Some(n) = simulations_that_fit() {
            assert!(n >= 1);
        }
    }
}
