use std::fmt;
use std::str::FromStr;

use super::error::TargetError;
use crate::common::redact_url;

/// Which store backs the queues.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    Memory,
    /// A `postgres://` or `postgresql://` URL, password included (never printed: see `Display`).
    Postgres(String),
}

impl FromStr for StoreSpec {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "memory" {
            Ok(Self::Memory)
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Self::Postgres(text.to_owned()))
        } else {
            Err(TargetError::BadStore(redact_url(text)))
        }
    }
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory"),
            Self::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Everything `pushpop-load target` is told on its command line.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub host: String,
    /// 0 picks a free port; the chosen one is printed on start.
    pub port: u16,
    pub store: StoreSpec,
    /// Largest accepted request body, in bytes; larger ones are answered 413.
    pub max_body: usize,
    /// Tokio worker threads; `None` means one per CPU.
    pub threads: Option<usize>,
    /// PostgreSQL connections in the pool.
    pub pool_size: usize,
    /// How long in-flight requests may take to finish after SIGINT/SIGTERM, in seconds.
    pub shutdown_grace_secs: u64,
}

impl Default for TargetConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8000,
            store: StoreSpec::Memory,
            max_body: 1 << 20,
            threads: None,
            pool_size: 32,
            shutdown_grace_secs: 10,
        }
    }
}
