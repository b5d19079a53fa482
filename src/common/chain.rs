//! An error with its causes, on one line.

/// `err` followed by each cause its message does not already contain: tokio-postgres, for one, says only "db
/// error" or "error connecting to server" at the top, and the useful part is the cause.
#[must_use]
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
