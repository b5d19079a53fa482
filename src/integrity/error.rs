/// Why a pop answer, a range or a snapshot was refused. Nothing is recorded when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityError {
    #[error("pop answer is not JSON: {0}")]
    NotJson(String),
    #[error("pop answer is neither {{\"items\": [...], \"count\": n}} nor {{\"item\": ...}}: {0}")]
    BadShape(String),
    #[error("pop answer says count {count} but holds {len} items")]
    CountMismatch { count: u64, len: usize },
    #[error("invalid seq range {start}..{end}: start must not exceed end, end must be at most 2^53, and a range may hold at most 2^32 seqs")]
    BadRange { start: u64, end: u64 },
    #[error("invalid integrity snapshot: {0}")]
    InvalidSnapshot(String),
    #[error("unsupported integrity snapshot version {0} (this build reads version 1)")]
    UnsupportedVersion(u32),
    #[error(
        "an integrity delta of format {0}, where this pushpop-load reads format {fmt} (master and workers must run \
         the same pushpop-load version)",
        fmt = super::wire::FORMAT
    )]
    UnsupportedFormat(u8),
}

pub type Result<T, E = IntegrityError> = std::result::Result<T, E>;
