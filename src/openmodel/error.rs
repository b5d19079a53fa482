/// Why an open-model run could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OpenModelError {
    #[error("invalid schedule {0}")]
    Schedule(String),
    #[error("invalid setting: {0}")]
    Config(String),
    #[error("could not start the driver's thread: {0}")]
    Thread(#[from] std::io::Error),
}

pub type Result<T, E = OpenModelError> = std::result::Result<T, E>;
