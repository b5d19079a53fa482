//! pushpop-load's Rust core. Every capability is a Python-free module; `python` is the only binding layer.

pub mod analyze;
pub mod cli;
pub mod common;
pub mod http;
pub mod integrity;
pub mod metrics;
pub mod monitor;
pub mod openmodel;
pub mod prepopulate;
pub mod reference_target;
pub mod stats;

#[cfg(feature = "python")]
mod python;

/// In the extension, buffers made on the interpreter's thread are freed on the engine's and the other way round;
/// glibc's malloc pays for that pattern (≈ 1.5 µs per request in `bench/client`), mimalloc does not.
#[cfg(feature = "python")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
