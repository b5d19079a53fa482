//! One reader for every CSV the analyzer takes in, so that each malformed file gets the same kind of one-line
//! error: which file, which line, what was wrong.

use std::fs::File;
use std::path::{Path, PathBuf};

use csv::ByteRecord;

use super::error::{AnalyzeError, Result};
use super::inputs::open_input;

pub(crate) struct CsvFile {
    path: PathBuf,
    reader: csv::Reader<File>,
    pub header: Vec<String>,
    record: ByteRecord,
}

impl CsvFile {
    /// Opens `path` and reads its header; `what` names the expected file in errors ("Locust _stats.csv").
    pub fn open(path: &Path) -> Result<Self> {
        let file = open_input(path)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(file);
        let mut first = ByteRecord::new();
        let got = reader
            .read_byte_record(&mut first)
            .map_err(|err| csv_error(path, &err))?;
        if !got {
            return Err(AnalyzeError::malformed(path, "empty file (no header line)"));
        }
        let mut header = Vec::with_capacity(first.len());
        for (i, field) in first.iter().enumerate() {
            let field = if i == 0 {
                field.strip_prefix(b"\xef\xbb\xbf").unwrap_or(field)
            } else {
                field
            };
            header.push(text(path, 1, field)?.trim().to_owned());
        }
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            header,
            record: ByteRecord::new(),
        })
    }

    /// Where the first row after the header starts, in bytes.
    pub fn data_offset(&self) -> u64 {
        self.reader.position().byte()
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|column| column == name)
    }

    /// The first of `names` (aliases across Locust versions) present in the header.
    pub fn column_any(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|name| self.column(name))
    }

    /// The column's index, or the error that this is not the file it should be.
    pub fn require(&self, names: &[&str], what: &str) -> Result<usize> {
        self.column_any(names).ok_or_else(|| {
            let mut shown = one_line(&self.header.join(","));
            if shown.len() > 120 {
                let cut = (0..=120).rev().find(|&i| shown.is_char_boundary(i)).unwrap_or(0);
                shown.truncate(cut);
                shown.push('…');
            }
            AnalyzeError::malformed(
                &self.path,
                format!("not {what}: its header has no {:?} column (header: {shown})", names[0]),
            )
        })
    }

    /// Reads the next row; false at the end. A row with another number of fields than the header is an error.
    pub fn next(&mut self) -> Result<bool> {
        loop {
            let got = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|err| csv_error(&self.path, &err))?;
            if !got {
                return Ok(false);
            }
            if self.record.len() == self.header.len() {
                return Ok(true);
            }
            // a blank line (at the end, say) is harmless
            if self.record.len() == 1 && self.record[0].is_empty() {
                continue;
            }
            return Err(AnalyzeError::malformed(
                &self.path,
                format!(
                    "line {}: {} fields where the header has {} (truncated or not a CSV of this kind)",
                    self.line(),
                    self.record.len(),
                    self.header.len()
                ),
            ));
        }
    }

    pub fn line(&self) -> u64 {
        self.record.position().map_or(0, csv::Position::line)
    }

    pub fn raw(&self, column: usize) -> &[u8] {
        &self.record[column]
    }

    pub fn str(&self, column: usize) -> Result<&str> {
        text(&self.path, self.line(), &self.record[column])
    }

    /// A count: a non-negative integer (Locust writes them so; "12.0" is accepted too).
    pub fn count(&self, column: usize) -> Result<u64> {
        match self.number(column)? {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(value) if value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(63) => Ok(value as u64),
            _ => Err(self.bad_value(column)),
        }
    }

    /// A number, or None for an empty or "N/A" cell (Locust's percentiles of an endpoint without requests).
    pub fn number(&self, column: usize) -> Result<Option<f64>> {
        let raw = self.raw(column);
        let trimmed = raw.trim_ascii();
        if trimmed.is_empty() || trimmed == b"N/A" {
            return Ok(None);
        }
        let value = std::str::from_utf8(trimmed)
            .ok()
            .and_then(|text| text.parse::<f64>().ok())
            .filter(|value| value.is_finite());
        value.map(Some).ok_or_else(|| self.bad_value(column))
    }

    fn bad_value(&self, column: usize) -> AnalyzeError {
        let shown: String = String::from_utf8_lossy(self.raw(column)).chars().take(40).collect();
        AnalyzeError::malformed(
            &self.path,
            format!(
                "line {}: {} is {shown:?}, not a number",
                self.line(),
                one_line(&self.header[column])
            ),
        )
    }
}

/// `text` for an error message, which is one line: control characters (a quoted header's newline) escaped.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub(crate) fn text<'a>(path: &Path, line: u64, bytes: &'a [u8]) -> Result<&'a str> {
    if bytes.contains(&0) {
        return Err(AnalyzeError::malformed(
            path,
            format!("line {line}: binary data (NUL bytes), not CSV text"),
        ));
    }
    std::str::from_utf8(bytes).map_err(|_| AnalyzeError::malformed(path, format!("line {line}: not UTF-8 text")))
}

fn csv_error(path: &Path, err: &csv::Error) -> AnalyzeError {
    match err.kind() {
        csv::ErrorKind::Io(io) => AnalyzeError::Io {
            path: path.display().to_string(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        },
        _ => AnalyzeError::malformed(path, err.to_string()),
    }
}

/// `"99.9%"` → 99.9: Locust's percentile column names.
pub(crate) fn percentile_column(name: &str) -> Option<f64> {
    name.strip_suffix('%')?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=100.0).contains(p))
}
