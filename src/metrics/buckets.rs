//! The latency buckets: log-linear in microseconds, 64 per doubling (each at most 1/64 = 1.6% of its value wide),
//! every microsecond below 64 µs. Prometheus interpolates a quantile inside a bucket, so its p99 is within one such
//! width of the exact one; a pure power-of-ten ladder would be 20–100% wide there.
//!
//! Every bound is a multiple of the width of the HDR histogram's buckets at that value (3 significant digits: 1 µs
//! up to 2048 µs, then 2^(k-10) µs in [2^k, 2^(k+1))), so an HDR bucket never straddles a bound.

/// Bounds per doubling of the value.
const PER_DOUBLING_LOG2: u32 = 6;

/// The width of the bucket that starts at `bound` (and of the one holding a value there).
#[must_use]
pub fn bucket_width(value: u64) -> u64 {
    let magnitude = value.max(1).ilog2();
    if magnitude < PER_DOUBLING_LOG2 {
        1
    } else {
        1 << (magnitude - PER_DOUBLING_LOG2)
    }
}

/// The largest bound at or below `value`.
fn floor(value: u64) -> u64 {
    value - value % bucket_width(value)
}

/// The bounds (µs) from the last one at or below `min` to the first one at or above `max`: the range a histogram
/// covers. A run's min only falls and its max only rises, so each scrape's set holds the previous one's and
/// Prometheus's series stay continuous.
#[must_use]
pub fn bucket_bounds(min: u64, max: u64) -> Vec<u64> {
    let mut bounds = vec![floor(min)];
    while let Some(&last) = bounds.last() {
        if last >= max {
            break;
        }
        bounds.push(last + bucket_width(last));
    }
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_sixty_fourth_wide_and_aligned_with_hdr() {
        let bounds = bucket_bounds(0, 120_000_000);
        assert_eq!(&bounds[..3], &[0, 1, 2]);
        assert!(bounds.last().copied().unwrap() >= 120_000_000);
        for pair in bounds.windows(2) {
            let (low, high) = (pair[0], pair[1]);
            assert!(high > low);
            if low >= 64 {
                assert!((high - low) * 64 <= low, "{low}..{high}");
            }
            // HDR's bucket width at `low` (3 digits: unit resolution up to 2047) divides the bound
            let hdr = if low < 2048 { 1 } else { 1 << (low.ilog2() - 10) };
            assert_eq!(low % hdr, 0, "{low}");
        }
        // 64 bounds per doubling: 1 ms to 1 s is about 10 doublings
        let range = bucket_bounds(1000, 1_000_000);
        assert!((630..=650).contains(&range.len()), "{}", range.len());
    }

    #[test]
    fn ranges_nest() {
        let narrow = bucket_bounds(5000, 9000);
        let wide = bucket_bounds(300, 200_000);
        assert!(narrow.iter().all(|bound| wide.contains(bound)));
        assert_eq!(bucket_bounds(777, 777).len(), 2);
        assert_eq!(bucket_bounds(768, 768), vec![768]);
    }
}
