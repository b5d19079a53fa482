/// A snapshot that cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("invalid statistics snapshot: {0}")]
    InvalidSnapshot(String),
    #[error("unsupported statistics snapshot version {0} (this build reads version 1)")]
    UnsupportedVersion(u32),
    #[error(
        "a statistics delta of format {0}, where this pushpop-load reads format {fmt} (master and workers must run \
         the same pushpop-load version)",
        fmt = super::wire::FORMAT
    )]
    UnsupportedFormat(u8),
}

pub type Result<T, E = StatsError> = std::result::Result<T, E>;
