/// A snapshot that cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("invalid statistics snapshot: {0}")]
    InvalidSnapshot(String),
    #[error("unsupported statistics snapshot version {0} (this build reads version 1)")]
    UnsupportedVersion(u32),
}

pub type Result<T, E = StatsError> = std::result::Result<T, E>;
