use std::io;

/// Why the target could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("port {port} on {host} is already in use (pick another with --port, or 0 for any free port)")]
    PortInUse { host: String, port: u16 },
    #[error("cannot listen on {host}:{port}: {source}")]
    Bind { host: String, port: u16, source: io::Error },
    #[error("cannot reach PostgreSQL at {url}: {reason}")]
    StoreConnect { url: String, reason: String },
    #[error("invalid --store '{0}': use 'memory' or a postgres://user:password@host:port/database URL")]
    BadStore(String),
    #[error("invalid --inject {0} (expected e.g. drop=0.001,dup=0.001[,seed=N])")]
    BadInject(String),
    #[error("cannot start the runtime: {0}")]
    Runtime(io::Error),
    #[error("server failed: {0}")]
    Serve(io::Error),
}

impl TargetError {
    /// Start-up problems are the user's input (a flag, a port, a URL): exit 2, as for any bad input.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Serve(_) | Self::Runtime(_) => 1,
            _ => 2,
        }
    }
}

/// A store operation that could not be carried out; the HTTP layer answers 503 with the message as `detail`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    #[error("state store did not answer within {0} ms")]
    Timeout(u128),
}

pub type Result<T, E = TargetError> = std::result::Result<T, E>;
