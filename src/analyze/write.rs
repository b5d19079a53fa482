use std::path::Path;

use super::error::{AnalyzeError, Result};

/// Writes `bytes` to `path` through a temporary file beside it and a rename: a reader never sees half a report.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| AnalyzeError::Write {
        path: path.display().to_string(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| err(std::io::Error::other("not a file name")))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".tmp-{}", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    // a write that fails half way (a full disk) leaves no temporary file either
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|source| {
            let _ = std::fs::remove_file(&temporary);
            err(source)
        })
}
