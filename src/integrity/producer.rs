//! Producer ids: unique across processes and machines without coordination, and exact in a JSON double.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// Every marker value stays below this, so JavaScript and JSON tools that read numbers as doubles keep them exact.
pub const MARKER_LIMIT: u64 = 1 << 53;
/// The low bits count producers within one draw of the random high bits.
const COUNTER_BITS: u32 = 20;

struct Draw {
    /// The process that drew `high`: a child forked after the draw (Locust's `--processes`) must draw again, or
    /// it would hand out its parent's ids.
    pid: u32,
    high: u64,
    next: u64,
}

static DRAW: Mutex<Option<Draw>> = Mutex::new(None);

fn random_high() -> u64 {
    // RandomState is seeded from the OS's randomness; the pid and the time separate forks that share its seed.
    let mixed = RandomState::new().hash_one((std::process::id(), SystemTime::now()));
    mixed & ((MARKER_LIMIT - 1) >> COUNTER_BITS)
}

/// A new producer id: 33 random bits drawn once per process (and again every 2^20 ids), then a counter.
/// Two processes collide with probability about 2^-33 per pair.
#[must_use]
pub fn new_producer() -> u64 {
    let mut draw = DRAW.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    let current = match draw.as_mut() {
        Some(current) if current.pid == pid && current.next < 1 << COUNTER_BITS => current,
        _ => draw.insert(Draw {
            pid,
            high: random_high(),
            next: 0,
        }),
    };
    let id = current.high << COUNTER_BITS | current.next;
    current.next += 1;
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn unique_and_below_the_limit() {
        // past one draw's worth, so the redraw is covered too
        let count = (1 << COUNTER_BITS) + 1000;
        let ids: HashSet<u64> = (0..count).map(|_| new_producer()).collect();
        assert_eq!(ids.len(), count);
        assert!(ids.iter().all(|&id| id < MARKER_LIMIT));
    }
}
