//! The property tests' settings inside the crate (`tests/rust/common/mod.rs` has the same for `tests/rust/fuzz_*.rs`).

use proptest::test_runner::{Config, RngSeed};

/// `default_cases` unless `PROPTEST_CASES` says otherwise; a fixed seed unless `PROPTEST_RNG_SEED` gives one (so a
/// CI failure repeats); no regression files in the source tree (the shrunk input is printed).
pub(crate) fn fuzz_config(default_cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x0070_7573_6870_6f70);
    }
    config.failure_persistence = None;
    config
}
