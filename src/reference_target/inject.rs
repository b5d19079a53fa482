//! Fault injection (`--inject`): pops that lose or duplicate items on purpose, counted exactly, so that tests prove
//! the integrity checker catches real violations and a user can validate their own pipeline against known faults.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use super::config::InjectSpec;

/// What happens to one popped item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Deliver,
    /// Removed and not returned: lost.
    Drop,
    /// Returned, and put back at the front of its priority so that a later pop returns it again.
    Duplicate,
}

/// Faults injected so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InjectCounts {
    pub dropped: u64,
    pub duplicated: u64,
}

/// Draws a fate per popped item. The sequence of fates is fixed by the seed (the order in which concurrent pops
/// draw from it is not); the counts are exact.
pub struct Injector {
    drop: f64,
    dup: f64,
    seed: u64,
    draws: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
}

/// The finaliser of `SplitMix64`: consecutive inputs give independent-looking outputs.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Injector {
    #[must_use]
    pub fn new(spec: &InjectSpec) -> Self {
        Self {
            drop: spec.drop,
            dup: spec.dup,
            seed: spec
                .seed
                .unwrap_or_else(|| RandomState::new().hash_one(std::process::id()) >> 1),
            draws: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
        }
    }

    /// The seed in use (drawn when none was given), for the start-up warning: a run can be repeated with it.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The fate of the next popped item; a drop is counted here, a duplicate once it is put back
    /// (`put_back`).
    pub fn fate(&self) -> Fate {
        let draw = self.draws.fetch_add(1, Ordering::Relaxed);
        let bits = mix(self.seed.wrapping_add(draw.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        #[allow(clippy::cast_precision_loss)] // 53 bits: exact in an f64
        let uniform = (bits >> 11) as f64 / (1u64 << 53) as f64;
        if uniform < self.drop {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            Fate::Drop
        } else if uniform < self.drop + self.dup {
            Fate::Duplicate
        } else {
            Fate::Deliver
        }
    }

    /// `count` duplicates were put back and will be popped again.
    pub fn put_back(&self, count: u64) {
        self.duplicated.fetch_add(count, Ordering::Relaxed);
    }

    #[must_use]
    pub fn counts(&self) -> InjectCounts {
        InjectCounts {
            dropped: self.dropped.load(Ordering::Relaxed),
            duplicated: self.duplicated.load(Ordering::Relaxed),
        }
    }

    /// `drop=…,dup=…,seed=…`, as given on the command line.
    #[must_use]
    pub fn describe(&self) -> String {
        format!("drop={},dup={},seed={}", self.drop, self.dup, self.seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injector(drop: f64, dup: f64, seed: u64) -> Injector {
        Injector::new(&InjectSpec {
            drop,
            dup,
            seed: Some(seed),
        })
    }

    #[test]
    fn rates_follow_the_spec_and_the_seed_fixes_the_sequence() {
        let a = injector(0.1, 0.05, 7);
        let fates: Vec<Fate> = (0..100_000).map(|_| a.fate()).collect();
        let count = |fate| fates.iter().filter(|f| **f == fate).count();
        assert!((9_000..11_000).contains(&count(Fate::Drop)), "{}", count(Fate::Drop));
        assert!((4_000..6_000).contains(&count(Fate::Duplicate)));
        assert_eq!(a.counts().dropped, count(Fate::Drop) as u64);
        assert_eq!(a.counts().duplicated, 0, "counted when put back");
        let b = injector(0.1, 0.05, 7);
        assert!(fates.iter().all(|fate| *fate == b.fate()));
        let never = injector(0.0, 0.0, 1);
        assert!((0..10_000).all(|_| never.fate() == Fate::Deliver));
        let always = injector(0.0, 1.0, 1);
        assert!((0..10_000).all(|_| always.fate() == Fate::Duplicate));
    }
}
