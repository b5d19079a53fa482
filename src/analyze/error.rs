use std::path::Path;

/// Why a set of results could not be analysed. Every variant is the user's input (a file, a flag, a threshold), so
/// the command line exits with code 2 for all of them; each message names the file or expression at fault.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("no results at {prefix} (looked for {looked_for})")]
    NoResults { prefix: String, looked_for: String },
    #[error("no exact histograms to write as hgrm: {expected} is missing or holds no samples")]
    NoHistograms { expected: String },
    #[error("{path}: {message}")]
    Malformed { path: String, message: String },
    #[error("threshold {expression:?}: {message}")]
    Threshold { expression: String, message: String },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

impl AnalyzeError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn malformed(path: &Path, message: impl Into<String>) -> Self {
        Self::Malformed {
            path: path.display().to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn threshold(expression: &str, message: impl Into<String>) -> Self {
        Self::Threshold {
            expression: expression.to_owned(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = AnalyzeError> = std::result::Result<T, E>;
