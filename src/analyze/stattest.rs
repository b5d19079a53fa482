//! Whether two runs' latencies really differ, from their exact histograms (sparse `(value µs, count)` buckets):
//! a Mann–Whitney U test of the whole distribution, and distribution-free confidence intervals of percentiles.
//! Both work on buckets directly (ties get mid-ranks), so a run of millions of requests costs a pass over a few
//! thousand buckets, not a sort of every sample.

use serde::Serialize;

/// P(Z > z) for a standard normal Z.
#[must_use]
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, to a fractional error below 1.2e-7 everywhere (Numerical Recipes' `erfcc`):
/// p-values far in the tail keep their magnitude.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 {
        value
    } else {
        2.0 - value
    }
}

/// The z with P(Z > z) = `tail`, found by bisection (called a few times per report, so simplicity wins).
#[must_use]
pub fn normal_isf(tail: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0_f64, 40.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_sf(mid) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The Mann–Whitney U test of "the current run is slower than the baseline".
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannWhitney {
    pub n_current: u64,
    pub n_baseline: u64,
    /// U of the current run: pairs (current, baseline) where the current request was slower, ties counting half.
    pub u: f64,
    /// U / (`n_current` · `n_baseline`): the probability that a request of this run is slower than one of the
    /// baseline (0.5 when neither is). An effect size that, unlike the p-value, does not grow with the sample.
    pub prob_slower: f64,
    /// The normal approximation's z, with tie and continuity corrections.
    pub z: f64,
    /// One-sided p-value: how likely a U this large is if both runs came from one distribution.
    pub p_slower: f64,
    /// One-sided p-value the other way (the current run faster).
    pub p_faster: f64,
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52; the approximation needs f64 anyway
fn f(value: u64) -> f64 {
    value as f64
}

/// The test on two sparse histograms, each sorted by value; None when either is empty.
#[must_use]
#[allow(clippy::many_single_char_names)] // n, u, z, t: the test's textbook names
pub fn mann_whitney(current: &[(u64, u64)], baseline: &[(u64, u64)]) -> Option<MannWhitney> {
    let n_current: u64 = current.iter().map(|b| b.1).sum();
    let n_baseline: u64 = baseline.iter().map(|b| b.1).sum();
    if n_current == 0 || n_baseline == 0 {
        return None;
    }
    let (mut i, mut j) = (0, 0);
    let (mut seen, mut rank_sum, mut ties) = (0.0_f64, 0.0_f64, 0.0_f64);
    while i < current.len() || j < baseline.len() {
        let value = match (current.get(i), baseline.get(j)) {
            (Some(a), Some(b)) => a.0.min(b.0),
            (Some(a), None) => a.0,
            (None, Some(b)) => b.0,
            (None, None) => unreachable!("loop condition"),
        };
        let mut a = 0;
        if current.get(i).is_some_and(|bucket| bucket.0 == value) {
            a = current[i].1;
            i += 1;
        }
        let mut b = 0;
        if baseline.get(j).is_some_and(|bucket| bucket.0 == value) {
            b = baseline[j].1;
            j += 1;
        }
        let t = f(a + b);
        // the samples of this value hold ranks seen+1 ..= seen+t; each gets their mean
        rank_sum += f(a) * (seen + f64::midpoint(t, 1.0));
        ties += t * t * t - t;
        seen += t;
    }
    let (n1, n2) = (f(n_current), f(n_baseline));
    let n = n1 + n2;
    let u = rank_sum - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let (z, p_slower, p_faster) = if variance > 0.0 {
        let sd = variance.sqrt();
        let z = (u - mean) / sd;
        (z, normal_sf((u - mean - 0.5) / sd), normal_sf((mean - u - 0.5) / sd))
    } else {
        // every sample has one value: nothing tells the runs apart
        (0.0, 1.0, 1.0)
    };
    Some(MannWhitney {
        n_current,
        n_baseline,
        u,
        prob_slower: u / (n1 * n2),
        z,
        p_slower: p_slower.min(1.0),
        p_faster: p_faster.min(1.0),
    })
}

/// The value (µs) of the sample with 1-based rank `rank`.
fn value_at_rank(counts: &[(u64, u64)], rank: u64) -> u64 {
    let mut seen = 0;
    for &(value, count) in counts {
        seen += count;
        if seen >= rank {
            return value;
        }
    }
    counts.last().map_or(0, |bucket| bucket.0)
}

/// A distribution-free confidence interval of a percentile, in µs: the order statistics whose ranks bound
/// n·q ± z·√(n·q·(1−q)) (the binomial count of samples below the true percentile). `z` 2.576 gives 99%. A side is
/// None when its rank falls outside the sample: 30 requests cannot bound a p99 from above.
#[must_use]
pub fn percentile_interval(counts: &[(u64, u64)], percentile: f64, z: f64) -> Option<(Option<u64>, Option<u64>)> {
    let n: u64 = counts.iter().map(|b| b.1).sum();
    if n == 0 {
        return None;
    }
    let q = (percentile / 100.0).clamp(0.0, 1.0);
    let centre = f(n) * q;
    let spread = z * (f(n) * q * (1.0 - q)).sqrt();
    let (low, high) = ((centre - spread).floor(), (centre + spread).ceil() + 1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rank = |x: f64| (x >= 1.0 && x <= f(n)).then(|| value_at_rank(counts, x as u64));
    Some((rank(low), rank(high)))
}

/// One-sided test of "the current run fails more often": the pooled two-proportion z-test's p-value.
#[must_use]
pub fn failure_ratio_p(current: (u64, u64), baseline: (u64, u64)) -> Option<f64> {
    let ((f1, n1), (f2, n2)) = (current, baseline);
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (f(f1) / f(n1), f(f2) / f(n2));
    let pooled = f(f1 + f2) / f(n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / f(n1) + 1.0 / f(n2))).sqrt();
    if se == 0.0 {
        return Some(1.0);
    }
    Some(normal_sf((p1 - p2) / se))
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the cases are chosen to have exact answers
mod tests {
    use super::*;

    fn histogram(samples: &[u64]) -> Vec<(u64, u64)> {
        let mut map = std::collections::BTreeMap::new();
        for &s in samples {
            *map.entry(s).or_insert(0) += 1;
        }
        map.into_iter().collect()
    }

    /// A reproducible skewed latency sample (µs), rounded to 3 significant digits as the HDR buckets are.
    fn latencies(seed: u64, n: usize, scale: f64) -> Vec<u64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                #[allow(clippy::cast_precision_loss)]
                let u = ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                let value = 500.0 * scale * (1.0 + 3.0 * (-u.ln()));
                let digits = 10f64.powf(value.log10().floor() - 2.0);
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let rounded = ((value / digits).round() * digits) as u64;
                rounded
            })
            .collect()
    }

    #[test]
    fn normal_tail() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_sf(1.959_964) - 0.025).abs() < 1e-7);
        assert!((normal_sf(-2.326_348) - 0.99).abs() < 1e-7);
        assert!((normal_isf(0.005) - 2.575_829).abs() < 1e-5);
        assert!(normal_sf(10.0) > 0.0 && normal_sf(10.0) < 1e-22);
    }

    #[test]
    fn u_of_separated_samples() {
        // scipy.stats.mannwhitneyu([6..10], [1..5], alternative="greater", method="asymptotic"): U=25, p=0.006092
        let test = mann_whitney(&histogram(&[6, 7, 8, 9, 10]), &histogram(&[1, 2, 3, 4, 5])).unwrap();
        assert_eq!((test.u, test.prob_slower), (25.0, 1.0));
        assert!((test.p_slower - 0.006_092).abs() < 2e-6, "{test:?}");
        assert!(test.p_faster > 0.99);
    }

    #[test]
    fn u_with_ties_uses_mid_ranks_and_the_tie_correction() {
        // by hand: ranks 2,2,5 for the current run, U = 3; variance 9/12 · (7 − 48/30) = 4.05
        let test = mann_whitney(&histogram(&[1, 1, 2]), &histogram(&[1, 2, 2])).unwrap();
        assert_eq!(test.u, 3.0);
        let sd = 4.05_f64.sqrt();
        assert!((test.p_slower - normal_sf((3.0 - 4.5 - 0.5) / sd)).abs() < 1e-12);
        assert!((test.p_faster - normal_sf((4.5 - 3.0 - 0.5) / sd)).abs() < 1e-12);
        let same = mann_whitney(&[(7, 10)], &[(7, 3)]).unwrap();
        assert_eq!((same.p_slower, same.prob_slower), (1.0, 0.5));
        assert!(mann_whitney(&[], &[(1, 1)]).is_none());
    }

    #[test]
    fn noise_is_not_a_shift_but_a_real_shift_is() {
        let baseline = histogram(&latencies(1, 20_000, 1.0));
        for seed in 2..12 {
            let noise = histogram(&latencies(seed, 20_000, 1.0));
            let test = mann_whitney(&noise, &baseline).unwrap();
            assert!(test.p_slower > 0.001, "seed {seed}: {test:?}");
            assert!((test.prob_slower - 0.5).abs() < 0.02);
        }
        let slower = histogram(&latencies(99, 20_000, 1.05));
        let test = mann_whitney(&slower, &baseline).unwrap();
        assert!(test.p_slower < 1e-6 && test.prob_slower > 0.51, "{test:?}");
    }

    #[test]
    fn percentile_intervals_cover_and_narrow() {
        let small = histogram(&latencies(3, 200, 1.0));
        let large = histogram(&latencies(3, 200_000, 1.0));
        let z = normal_isf(0.005);
        let (lo_s, hi_s) = percentile_interval(&small, 95.0, z).unwrap();
        let (lo_l, hi_l) = percentile_interval(&large, 95.0, z).unwrap();
        let (lo_s, hi_s, lo_l, hi_l) = (lo_s.unwrap(), hi_s.unwrap(), lo_l.unwrap(), hi_l.unwrap());
        // the distribution's true p95: 500 · (1 + 3 · ln 20) ≈ 4993 µs
        assert!(lo_l <= 5_000 && hi_l >= 4_985, "{lo_l}..{hi_l}");
        assert!(hi_l - lo_l < hi_s - lo_s);
        // 200 requests cannot bound a p99.9 from above, nor 30 a p99
        assert_eq!(percentile_interval(&small, 99.9, z).unwrap().1, None);
        assert_eq!(
            percentile_interval(&histogram(&latencies(4, 30, 1.0)), 99.0, z)
                .unwrap()
                .1,
            None
        );
        assert_eq!(percentile_interval(&[(5, 1000)], 50.0, z), Some((Some(5), Some(5))));
        assert_eq!(percentile_interval(&[], 50.0, z), None);
    }

    #[test]
    fn failure_ratios() {
        assert!(failure_ratio_p((50, 1000), (10, 1000)).unwrap() < 1e-6);
        assert!(failure_ratio_p((11, 1000), (10, 1000)).unwrap() > 0.3);
        assert_eq!(failure_ratio_p((0, 10), (0, 10)), Some(1.0));
        assert_eq!(failure_ratio_p((0, 0), (0, 10)), None);
    }
}
