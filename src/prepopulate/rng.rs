use std::hash::{BuildHasher as _, Hasher as _};

const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// splitmix64: item ids, queue-id suffixes, producer ids and backoff jitter need spread, not secrecy, and a worker
/// makes one id per push.
pub struct Rng(u64);

impl Rng {
    /// Seeded from the OS's randomness (through std's per-process hash keys) and the clock.
    pub fn from_entropy() -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos()),
        );
        Self(hasher.finish())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fills `out` with `[a-z0-9]`.
    pub fn fill_alphanumeric(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(10) {
            // 36^10 < 2^52: ten characters from one draw, with negligible bias
            let mut bits = self.next_u64() >> 12;
            for byte in chunk {
                *byte = ALPHABET[usize::try_from(bits % 36).expect("below 36")];
                bits /= 36;
            }
        }
    }

    /// A fraction in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        // 53 random bits as the mantissa: exact in an f64
        #[allow(clippy::cast_precision_loss)]
        let fraction = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        fraction
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn alphanumeric_and_spread() {
        let mut rng = Rng::from_entropy();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let mut id = [0_u8; 12];
            rng.fill_alphanumeric(&mut id);
            assert!(id.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
            seen.insert(id);
        }
        assert_eq!(seen.len(), 1000);
        let fraction = rng.next_f64();
        assert!((0.0..1.0).contains(&fraction));
    }
}
