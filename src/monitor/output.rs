//! The rows as CSV and the summary as JSON, each written to a temporary name beside its path and renamed into place,
//! so a reader never sees half a file under the real name.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use super::error::{MonitorError, Result};
use super::sample::Sample;

fn temporary(path: &Path) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| MonitorError::Output {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "names no file"),
    })?;
    Ok(path.with_file_name(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id())))
}

fn output_error(path: &Path) -> impl FnOnce(std::io::Error) -> MonitorError + '_ {
    move |source| MonitorError::Output {
        path: path.to_owned(),
        source,
    }
}

/// Writes `text` to `path` through a temporary file.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let temp = temporary(path)?;
    let written = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, path));
    written.map_err(|err| {
        let _ = std::fs::remove_file(&temp);
        output_error(path)(err)
    })
}

/// Whether `path` can be written at the end of a run: its directory exists and is ours to write in, and the name is
/// free for a file (a rename onto a directory would fail only then).
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(output_error(path)(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    let probe = path.with_file_name(format!(
        ".{}.probe-{}",
        path.file_name().map_or_else(Default::default, |n| n.to_string_lossy()),
        std::process::id()
    ));
    std::fs::write(&probe, b"").map_err(output_error(path))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Quotes a CSV field when it must be (labels carry patterns and paths).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A value as the CSV shows it: whole numbers without a fraction, others to 3 decimals without trailing zeros, a
/// gap as an empty cell.
#[must_use]
pub fn format_value(value: Option<f64>) -> String {
    match value {
        None => String::new(),
        Some(value) if value.fract() == 0.0 && value.abs() < 1e15 => format!("{value:.0}"),
        Some(value) => {
            let text = format!("{value:.3}");
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    }
}

/// The CSV being written: rows go to the temporary file as they come (memory stays flat however long the run), the
/// rename happens in `finish`. Dropped unfinished, the temporary file is removed.
pub struct CsvOutput {
    path: PathBuf,
    temp: Option<PathBuf>,
    writer: Option<BufWriter<File>>,
}

impl CsvOutput {
    /// Creates the temporary file and writes the header: an unwritable path fails here, before any sampling.
    pub fn create(path: &Path, columns: &[String]) -> Result<Self> {
        if path.is_dir() {
            return Err(output_error(path)(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory",
            )));
        }
        let temp = temporary(path)?;
        let file = File::create(&temp).map_err(output_error(path))?;
        let mut output = Self {
            path: path.to_owned(),
            temp: Some(temp),
            writer: Some(BufWriter::new(file)),
        };
        let mut header = String::from("Timestamp,Time");
        for column in columns {
            header.push(',');
            header.push_str(&csv_field(column));
        }
        output.line(&header)?;
        Ok(output)
    }

    fn line(&mut self, line: &str) -> Result<()> {
        let writer = self.writer.as_mut().expect("open until finished");
        writeln!(writer, "{line}")
            .and_then(|()| writer.flush())
            .map_err(output_error(&self.path))
    }

    /// One row: `Timestamp` is whole unix seconds (as Locust's `_stats_history.csv`), `Time` the same clock to the
    /// millisecond.
    pub fn write(&mut self, sample: &Sample) -> Result<()> {
        #[allow(clippy::cast_possible_truncation)]
        let mut line = format!("{},{:.3}", sample.unix.floor() as i64, sample.unix);
        for value in &sample.values {
            line.push(',');
            line.push_str(&format_value(*value));
        }
        self.line(&line)
    }

    /// Flushes, closes and renames the file into place; returns its path.
    pub fn finish(mut self) -> Result<PathBuf> {
        let writer = self.writer.take().expect("finished once");
        let temp = self.temp.take().expect("finished once");
        let done = writer
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)
            .and_then(|file| file.sync_data())
            .and_then(|()| std::fs::rename(&temp, &self.path));
        done.map_err(|err| {
            let _ = std::fs::remove_file(&temp);
            output_error(&self.path)(err)
        })?;
        Ok(self.path.clone())
    }
}

impl Drop for CsvOutput {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            self.writer.take();
            let _ = std::fs::remove_file(temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(format_value(None), "");
        assert_eq!(format_value(Some(0.0)), "0");
        assert_eq!(format_value(Some(1_048_576.0)), "1048576");
        assert_eq!(format_value(Some(12.5)), "12.5");
        assert_eq!(format_value(Some(0.1234)), "0.123");
        assert_eq!(format_value(Some(0.0004)), "0");
    }

    #[test]
    fn written_through_a_temporary_file() {
        let dir = std::env::temp_dir().join(format!("pushpop-monitor-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.csv");
        let mut csv = CsvOutput::create(&path, &["pid:1 cpu_pct".to_owned(), "cmdline:a,b x".to_owned()]).unwrap();
        assert!(!path.exists());
        csv.write(&Sample {
            unix: 1_700_000_000.25,
            values: vec![Some(3.5), None],
        })
        .unwrap();
        assert_eq!(csv.finish().unwrap(), path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "Timestamp,Time,pid:1 cpu_pct,\"cmdline:a,b x\"\n1700000000,1700000000.250,3.5,\n"
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        let unfinished = CsvOutput::create(&dir.join("s.csv"), &[]).unwrap();
        drop(unfinished);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "an unfinished file is removed"
        );
        assert!(CsvOutput::create(&dir.join("no/such/dir.csv"), &[]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
