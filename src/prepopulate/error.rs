use std::io;

/// Why a prepopulation did not run, or did not finish. Every message says how many items were stored by then, so
/// that a caller knows what the queues hold.
#[derive(Debug, thiserror::Error)]
pub enum PrepopulateError {
    /// A setting that cannot work (caught before anything is sent).
    #[error("{0}")]
    InvalidConfig(String),
    /// The host named in the settings cannot be resolved or connected to at the start.
    #[error("cannot reach {host}: {reason}")]
    Unreachable { host: String, reason: String },
    /// The service answered a push with a 4xx: what is sent is wrong for it, and retrying cannot help.
    #[error(
        "the service rejected a push to queue {queue} with HTTP {status}: {detail} ({stored} of {requested} items \
         stored)"
    )]
    Rejected {
        queue: String,
        status: u16,
        detail: String,
        stored: u64,
        requested: u64,
    },
    /// A request still failed after every retry.
    #[error("gave up on {what} after {attempts} attempts, last: {last} ({stored} of {requested} items stored)")]
    GaveUp {
        /// "a push to queue q", "the depth of queue q"
        what: String,
        attempts: u32,
        last: String,
        stored: u64,
        requested: u64,
    },
    /// The queues' depths after the run do not match the acknowledged pushes.
    #[error("verification failed: {details} ({stored} of {requested} items acknowledged)")]
    VerificationFailed {
        details: String,
        stored: u64,
        requested: u64,
    },
    /// The caller asked to stop (Ctrl-C in Python).
    #[error("interrupted ({stored} of {requested} items stored)")]
    Interrupted { stored: u64, requested: u64 },
    #[error("cannot start the runtime: {0}")]
    Runtime(io::Error),
}

pub type Result<T, E = PrepopulateError> = std::result::Result<T, E>;

impl PrepopulateError {
    /// 2 for bad input (settings, an unreachable host, a push rejected before any was stored), 1 for a run that
    /// failed part-way.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::InvalidConfig(_) | Self::Unreachable { .. } => 2,
            Self::Rejected { stored, .. } if *stored == 0 => 2,
            _ => 1,
        }
    }

    /// Items the service acknowledged before the failure (0 when nothing was sent).
    #[must_use]
    pub fn stored(&self) -> u64 {
        match self {
            Self::Rejected { stored, .. }
            | Self::GaveUp { stored, .. }
            | Self::VerificationFailed { stored, .. }
            | Self::Interrupted { stored, .. } => *stored,
            _ => 0,
        }
    }

    /// True for mistakes in the settings themselves (a `ValueError` in Python).
    #[must_use]
    pub fn is_bad_argument(&self) -> bool {
        matches!(self, Self::InvalidConfig(_))
    }
}
