use std::io;
use std::path::PathBuf;

/// Why a monitor could not start. Once it runs, a source that goes away is a gap in its columns and a note, never
/// an error: the run it watches must not fail because a process exited or PostgreSQL restarted.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A setting that cannot work (caught before anything is sampled).
    #[error("{0}")]
    InvalidConfig(String),
    #[error("no process with PID {0}")]
    NoSuchProcess(u32),
    #[error("cannot read cgroup {path}: {reason} (give a cgroup v2 directory, absolute or under the cgroup2 mount)")]
    Cgroup { path: String, reason: String },
    /// The URL is already redacted (`common::redact_url`): messages never carry a password.
    #[error("invalid PostgreSQL URL '{url}': {reason}")]
    BadDsn { url: String, reason: String },
    /// The URL is already redacted.
    #[error("cannot monitor PostgreSQL at {url}: {reason}")]
    Postgres { url: String, reason: String },
    #[error("cannot write {path}: {source}")]
    Output { path: PathBuf, source: io::Error },
    #[error("cannot start the monitor: {0}")]
    Runtime(io::Error),
}

pub type Result<T, E = MonitorError> = std::result::Result<T, E>;

impl MonitorError {
    /// 2 for bad input (every start-up failure names something the user gave), 1 for the machine failing us.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Runtime(_) => 1,
            _ => 2,
        }
    }
}
