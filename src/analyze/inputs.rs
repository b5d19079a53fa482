//! Which files of a run exist: a results prefix (`results/test_run`) or any one of its files names the run.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::{AnalyzeError, Result};

/// The files a run can leave under its `--csv` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Stats,
    History,
    Failures,
    Exceptions,
    Hdr,
    HdrIntervals,
    Integrity,
    Scenario,
    Resources,
    ResourcesSummary,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Stats,
        Kind::History,
        Kind::Failures,
        Kind::Exceptions,
        Kind::Hdr,
        Kind::HdrIntervals,
        Kind::Integrity,
        Kind::Scenario,
        Kind::Resources,
        Kind::ResourcesSummary,
    ];

    #[must_use]
    pub fn suffix(self) -> &'static str {
        match self {
            Kind::Stats => "_stats.csv",
            Kind::History => "_stats_history.csv",
            Kind::Failures => "_failures.csv",
            Kind::Exceptions => "_exceptions.csv",
            Kind::Hdr => "_hdr.json",
            Kind::HdrIntervals => "_hdr_intervals.csv",
            Kind::Integrity => "_integrity.json",
            Kind::Scenario => "_scenario.json",
            Kind::Resources => "_resources.csv",
            Kind::ResourcesSummary => "_resources.json",
        }
    }

    /// What the file holds, for the "used / lacking" lines of a report.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Stats => "Locust's totals per endpoint",
            Kind::History => "Locust's timeline",
            Kind::Failures => "Locust's failures by kind",
            Kind::Exceptions => "Locust's exceptions",
            Kind::Hdr => "exact latency histograms",
            Kind::HdrIntervals => "exact per-second timeline",
            Kind::Integrity => "queue integrity verdict",
            Kind::Scenario => "scenario description",
            Kind::Resources => "resource samples",
            Kind::ResourcesSummary => "resource monitor summary (generator saturation)",
        }
    }
}

/// The files found for one run, and those it lacks.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The `--csv` prefix, e.g. `results/test_run`.
    pub prefix: String,
    pub present: BTreeMap<Kind, PathBuf>,
}

impl Inputs {
    #[must_use]
    pub fn path(&self, kind: Kind) -> Option<&Path> {
        self.present.get(&kind).map(PathBuf::as_path)
    }

    /// The expected path of a file this run lacks.
    #[must_use]
    pub fn expected(&self, kind: Kind) -> String {
        format!("{}{}", self.prefix, kind.suffix())
    }

    /// Finds the run that `path` names: a prefix, one of its files, or a lone Locust CSV under another name (the
    /// seed copies `baseline_stats.csv` to `baseline_reference.csv`).
    pub fn discover(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Err(AnalyzeError::malformed(
                path,
                "is a directory; name a results prefix such as DIR/test_run, or one of its files",
            ));
        }
        let text = path.to_string_lossy();
        // the longest suffix first: `_stats.csv` must not claim `x_stats_history.csv`'s prefix as `x_stats_history`
        let mut kinds = Kind::ALL;
        kinds.sort_by_key(|kind| std::cmp::Reverse(kind.suffix().len()));
        let prefix = kinds
            .iter()
            .find_map(|kind| text.strip_suffix(kind.suffix()))
            .or_else(|| text.strip_suffix(".html"))
            .map(str::to_owned);
        if prefix.is_none() && path.is_file() {
            return Self::lone_file(path);
        }
        let prefix = prefix.unwrap_or_else(|| text.into_owned());
        let present: BTreeMap<Kind, PathBuf> = Kind::ALL
            .iter()
            .map(|&kind| (kind, PathBuf::from(format!("{prefix}{}", kind.suffix()))))
            .filter(|(_, file)| file.is_file())
            .collect();
        if present.is_empty() {
            let looked_for = [Kind::Stats, Kind::Hdr, Kind::History]
                .iter()
                .map(|kind| format!("{prefix}{}", kind.suffix()))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(AnalyzeError::NoResults { prefix, looked_for });
        }
        Ok(Self { prefix, present })
    }

    fn lone_file(path: &Path) -> Result<Self> {
        let file = open_input(path)?;
        // the first line, at most 64 KiB of it: a binary file without newlines is not read whole
        let mut first = Vec::new();
        BufReader::new(file.take(64 * 1024))
            .read_until(b'\n', &mut first)
            .map_err(|err| AnalyzeError::io(path, err))?;
        let header = String::from_utf8_lossy(&first);
        let kind = if header.contains("Request Count") && header.contains("Name") {
            Kind::Stats
        } else if header.contains("Timestamp") && header.contains("Requests/s") {
            Kind::History
        } else {
            return Err(AnalyzeError::malformed(
                path,
                "not a results file: expected a prefix such as results/test_run, or a file ending in _stats.csv, \
                 _stats_history.csv, _hdr.json, …",
            ));
        };
        let text = path.to_string_lossy();
        let prefix = text.strip_suffix(".csv").unwrap_or(&text).to_owned();
        Ok(Self {
            prefix,
            present: BTreeMap::from([(kind, path.to_path_buf())]),
        })
    }
}

/// Opens an input file, refusing what is not a regular file first: opening a FIFO blocks until something writes
/// to it (a hang, not an error), and a directory only fails at the first read.
pub(crate) fn open_input(path: &Path) -> Result<std::fs::File> {
    let metadata = std::fs::metadata(path).map_err(|err| AnalyzeError::io(path, err))?;
    if metadata.is_dir() {
        return Err(AnalyzeError::malformed(path, "is a directory, not a file"));
    }
    if !metadata.is_file() {
        return Err(AnalyzeError::malformed(
            path,
            "not a regular file (a FIFO, socket or device): give a file",
        ));
    }
    std::fs::File::open(path).map_err(|err| AnalyzeError::io(path, err))
}

/// An input file's bytes (see `open_input`).
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_input(path)?
        .read_to_end(&mut bytes)
        .map_err(|err| AnalyzeError::io(path, err))?;
    Ok(bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn prefix_or_any_file_names_the_run() {
        let dir = tempdir();
        touch(&dir, "run_stats.csv", "Type,Name,Request Count\n");
        touch(&dir, "run_stats_history.csv", "x\n");
        touch(&dir, "run_hdr.json", "{}");
        let prefix = dir.join("run").display().to_string();
        for given in [
            prefix.clone(),
            format!("{prefix}_stats.csv"),
            format!("{prefix}_stats_history.csv"),
            format!("{prefix}_hdr.json"),
            format!("{prefix}_integrity.json"),
        ] {
            let inputs = Inputs::discover(Path::new(&given)).unwrap();
            assert_eq!(inputs.prefix, prefix, "{given}");
            assert_eq!(
                inputs.present.keys().copied().collect::<Vec<_>>(),
                [Kind::Stats, Kind::History, Kind::Hdr]
            );
        }
    }

    #[test]
    fn a_lone_stats_csv_under_another_name() {
        let dir = tempdir();
        let file = touch(&dir, "baseline_reference.csv", "\"Type\",\"Name\",\"Request Count\"\n");
        let inputs = Inputs::discover(&file).unwrap();
        assert_eq!(inputs.path(Kind::Stats), Some(file.as_path()));
        let other = touch(&dir, "notes.txt", "hello\n");
        assert!(Inputs::discover(&other)
            .unwrap_err()
            .to_string()
            .contains("not a results file"));
    }

    #[test]
    fn a_fifo_or_a_directory_is_refused_before_it_is_opened() {
        let dir = tempdir();
        let fifo = dir.join("rules.toml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        // nothing writes to it: opening it would block forever
        let err = read_input(&fifo).unwrap_err().to_string();
        assert!(
            err.ends_with("rules.toml: not a regular file (a FIFO, socket or device): give a file"),
            "{err}"
        );
        assert!(read_input(&dir)
            .unwrap_err()
            .to_string()
            .ends_with("is a directory, not a file"));
    }

    #[test]
    fn nothing_there_is_an_error_naming_what_was_looked_for() {
        let dir = tempdir();
        let err = Inputs::discover(&dir.join("nothing")).unwrap_err().to_string();
        assert!(
            err.contains("no results at") && err.contains("nothing_stats.csv"),
            "{err}"
        );
        assert!(Inputs::discover(&dir)
            .unwrap_err()
            .to_string()
            .contains("is a directory"));
    }

    pub(crate) fn tempdir() -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pushpop-analyze-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
