use std::path::Path;

use super::error::{AnalyzeError, Result};

/// Writes `bytes` to `path` through a temporary file beside it and a rename: a reader never sees half a report.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_files(&[(path, bytes)])
}

/// Writes several files all or none (a report and the baseline saved with it): each goes to a temporary file beside
/// it first, and only when every one is written are they renamed into place, so a command that fails on its second
/// output leaves no first one behind looking like a complete run.
pub fn write_files(files: &[(&Path, &[u8])]) -> Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    let outcome = files.iter().try_for_each(|&(path, bytes)| {
        let temporary = temporary_beside(path)?;
        // a write that fails half way (a full disk) leaves no temporary file either
        let written = std::fs::write(&temporary, bytes);
        staged.push((temporary, path));
        written.map_err(|source| write_error(path, source))
    });
    let outcome = outcome.and_then(|()| {
        staged.iter().try_for_each(|(temporary, path)| {
            std::fs::rename(temporary, path).map_err(|source| write_error(path, source))
        })
    });
    if outcome.is_err() {
        for (temporary, _) in &staged {
            let _ = std::fs::remove_file(temporary);
        }
    }
    outcome
}

fn temporary_beside(path: &Path) -> Result<std::path::PathBuf> {
    // a rename onto a directory fails only after the others are in place: refused here, before any is written
    if path.is_dir() {
        return Err(write_error(path, std::io::ErrorKind::IsADirectory.into()));
    }
    let name = path
        .file_name()
        .ok_or_else(|| write_error(path, std::io::Error::other("not a file name")))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".tmp-{}", std::process::id()));
    Ok(path.with_file_name(temporary_name))
}

fn write_error(path: &Path, source: std::io::Error) -> AnalyzeError {
    AnalyzeError::Write {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::inputs::tests::tempdir;

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn files_are_written_all_or_none() {
        let dir = tempdir();
        std::fs::create_dir(dir.join("adir")).unwrap();
        let (baseline, report) = (dir.join("baseline.json"), dir.join("report.json"));
        for bad in [dir.join("missing/report.json"), dir.join("adir")] {
            let err = write_files(&[(&baseline, b"{}"), (&bad, b"report")]).unwrap_err();
            assert!(err.to_string().contains(&bad.display().to_string()), "{err}");
            assert_eq!(listing(&dir), vec!["adir"], "nothing written, no temporary file left");
        }
        write_files(&[(&baseline, b"{}"), (&report, b"report")]).unwrap();
        assert_eq!(listing(&dir), vec!["adir", "baseline.json", "report.json"]);
        assert_eq!(std::fs::read(&report).unwrap(), b"report");
    }
}
