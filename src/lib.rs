//! pushpop-load's Rust core. Every capability is a Python-free module; `python` is the only binding layer.

pub mod analyze;
pub mod cli;
pub mod common;
pub mod http;
pub mod integrity;
pub mod monitor;
pub mod prepopulate;
pub mod stats;
pub mod target;

#[cfg(feature = "python")]
mod python;
