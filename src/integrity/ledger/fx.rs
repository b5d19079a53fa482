//! The hash of the ledger's maps: cheaper than the standard library's on keys that come from our own markers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// `FxHash`: a multiply-rotate hash, several times cheaper than `SipHash` on the u64 and short-string keys looked up on
/// every call. Keys come from our own markers, so flooding resistance buys nothing here.
#[derive(Default, Clone, Copy)]
pub(super) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(super) type Fx = BuildHasherDefault<FxHasher>;
pub(super) type FxMap<K, V> = HashMap<K, V, Fx>;
