//! What the property tests (`tests/rust/fuzz_*.rs`) share: their proptest settings, scratch files and the rule that a
//! rejection is one clear line.
#![allow(dead_code)] // each test crate uses its own part

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngSeed};

/// Cases per property when `PROPTEST_CASES` is unset: enough to cover each generator's shapes, few enough that
/// every fuzz test together stays well under a minute in a debug `cargo test` on two cores. `bench/fuzz/run.py`
/// raises it.
pub fn config(default_cases: u32) -> Config {
    // Config::default() reads PROPTEST_CASES and PROPTEST_RNG_SEED; only their absence is filled in here
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    // CI runs one fixed seed (a failure repeats on the next run); the long run passes a fresh one
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x0070_7573_6870_6f70);
    }
    // the shrunk input is printed on failure; no regression files in the source tree
    config.failure_persistence = None;
    config
}

/// A fresh directory under the system's temporary directory, one per call.
pub fn tempdir(what: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pushpop-fuzz-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Longest one parse may take on generated input (a few KiB): far above the normal microseconds, far below a hang.
pub const PER_CASE: Duration = Duration::from_secs(5);

/// Runs `parse` and fails the case when it took longer than `PER_CASE` (a loop that does not advance, or a blow-up).
pub fn timed<T>(what: &str, parse: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let result = parse();
    let took = start.elapsed();
    assert!(took < PER_CASE, "{what} took {took:?}");
    result
}

/// What a user would see of a Rust Debug dump instead of a message.
const DEBUG_MARKS: [&str; 8] = [
    "Error {",
    "Custom {",
    "kind: ",
    "Os { code",
    "Some(",
    "None)",
    "Err(",
    "Ok(",
];

/// A rejection a user can act on: one non-empty line, beginning with `prefix` (the file or expression at fault),
/// saying more than that, with nothing of a Debug dump.
pub fn assert_clear(message: &str, prefix: &str) {
    assert!(!message.trim().is_empty(), "empty error message");
    assert!(!message.contains(['\n', '\r']), "not one line: {message:?}");
    assert!(
        message.starts_with(prefix),
        "does not name {prefix:?} first: {message:?}"
    );
    let rest = message[prefix.len()..].trim_start_matches([':', ' ']);
    assert!(rest.len() >= 5, "says nothing after {prefix:?}: {message:?}");
    for mark in DEBUG_MARKS {
        assert!(!message.contains(mark), "Debug output ({mark}) in {message:?}");
    }
}
