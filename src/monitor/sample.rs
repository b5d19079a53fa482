//! Samples, their columns, the notes sources leave, and the running peak and mean per column.

use serde::Serialize;

/// Above this CPU % of one core, the load generator is saturated: its figures measure itself as much as the
/// service.
pub const SATURATION_PCT: f64 = 90.0;

/// One source and the columns it contributes, in order: each column is named `"<label> <metric>"`.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    /// `generator`, `pid`, `process`, `cmdline`, `cgroup`, `container` or `postgres`.
    pub kind: &'static str,
    /// e.g. `pid:1234`, `process:postgres`, `postgres:app`; unique within one monitor.
    pub label: String,
    pub metrics: Vec<&'static str>,
}

impl SourceInfo {
    #[must_use]
    pub fn columns(&self) -> Vec<String> {
        self.metrics
            .iter()
            .map(|metric| format!("{} {metric}", self.label))
            .collect()
    }
}

/// One row: every column of every source at one tick. `None` is a gap (the source was away), never a zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Unix seconds (wall clock, as Locust's timestamps), with the tick's sub-second part.
    pub unix: f64,
    pub values: Vec<Option<f64>>,
}

/// Something a source says once: it went away, it came back, part of it cannot be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub unix: f64,
    pub text: String,
}

/// Whether a source answered at its last tick; a note is left only when this changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Up,
    Down,
}

impl Presence {
    /// Moves to `up`, leaving `down_text` or `up_text` in `notes` on a change.
    pub fn set(
        &mut self,
        up: bool,
        notes: &mut Vec<String>,
        down_text: impl FnOnce() -> String,
        up_text: impl FnOnce() -> String,
    ) {
        match (*self, up) {
            (Self::Up, false) => {
                notes.push(down_text());
                *self = Self::Down;
            }
            (Self::Down, true) => {
                notes.push(up_text());
                *self = Self::Up;
            }
            _ => {}
        }
    }
}

/// Peak and mean of one column over a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    pub column: String,
    pub source: String,
    pub metric: &'static str,
    /// `None` when the column never had a value.
    pub peak: Option<f64>,
    pub mean: Option<f64>,
    /// Rows with a value.
    pub samples: u64,
    /// Rows without one (the source was away, or a rate had no previous reading).
    pub gaps: u64,
}

/// Running peak and mean per column: constant memory however long the run.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    peak: Vec<Option<f64>>,
    sum: Vec<f64>,
    count: Vec<u64>,
    gaps: Vec<u64>,
    rows: u64,
}

impl Aggregate {
    #[must_use]
    pub fn new(columns: usize) -> Self {
        Self {
            peak: vec![None; columns],
            sum: vec![0.0; columns],
            count: vec![0; columns],
            gaps: vec![0; columns],
            rows: 0,
        }
    }

    pub fn push(&mut self, values: &[Option<f64>]) {
        self.rows += 1;
        for (index, value) in values.iter().enumerate() {
            match value {
                Some(value) => {
                    self.peak[index] = Some(self.peak[index].map_or(*value, |peak: f64| peak.max(*value)));
                    self.sum[index] += value;
                    self.count[index] += 1;
                }
                None => self.gaps[index] += 1,
            }
        }
    }

    #[must_use]
    pub fn rows(&self) -> u64 {
        self.rows
    }

    #[must_use]
    pub fn summaries(&self, sources: &[SourceInfo]) -> Vec<MetricSummary> {
        let mut out = Vec::with_capacity(self.peak.len());
        for source in sources {
            for metric in &source.metrics {
                let index = out.len();
                #[allow(clippy::cast_precision_loss)]
                let mean = (self.count[index] > 0).then(|| self.sum[index] / self.count[index] as f64);
                out.push(MetricSummary {
                    column: format!("{} {metric}", source.label),
                    source: source.label.clone(),
                    metric,
                    peak: self.peak[index],
                    mean,
                    samples: self.count[index],
                    gaps: self.gaps[index],
                });
            }
        }
        out
    }
}

/// The load generator's verdict: was it saturated at any tick?
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneratorSummary {
    pub pid: u32,
    pub peak_cpu_pct: Option<f64>,
    pub mean_cpu_pct: Option<f64>,
    pub threshold_pct: f64,
    /// Rows where its CPU was above `threshold_pct`.
    pub saturated_samples: u64,
    pub saturated: bool,
}

/// What a finished monitor leaves: written as `<prefix>_resources.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub format: &'static str,
    pub version: u32,
    pub interval_s: f64,
    pub started_unix: f64,
    pub ended_unix: f64,
    /// Rows written.
    pub samples: u64,
    pub columns: Vec<String>,
    pub metrics: Vec<MetricSummary>,
    pub generator: Option<GeneratorSummary>,
    pub notes: Vec<Note>,
    /// The CSV file with every row, when one was written.
    pub csv: Option<String>,
}

impl Summary {
    #[must_use]
    pub fn to_json(&self) -> String {
        // plain numbers, strings and lists: serde_json cannot fail on them (non-finite floats become null)
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_and_mean_skip_gaps() {
        let sources = [SourceInfo {
            kind: "pid",
            label: "pid:1".to_owned(),
            metrics: vec!["cpu_pct", "rss_bytes"],
        }];
        let mut aggregate = Aggregate::new(2);
        aggregate.push(&[Some(10.0), None]);
        aggregate.push(&[None, None]);
        aggregate.push(&[Some(30.0), Some(5.0)]);
        let summaries = aggregate.summaries(&sources);
        assert_eq!(summaries[0].column, "pid:1 cpu_pct");
        assert_eq!((summaries[0].peak, summaries[0].mean), (Some(30.0), Some(20.0)));
        assert_eq!((summaries[0].samples, summaries[0].gaps), (2, 1));
        assert_eq!(
            (summaries[1].peak, summaries[1].samples, summaries[1].gaps),
            (Some(5.0), 1, 2)
        );
        assert_eq!(aggregate.rows(), 3);
    }

    #[test]
    fn presence_notes_only_changes() {
        let mut presence = Presence::Up;
        let mut notes = Vec::new();
        for up in [true, false, false, true, true] {
            presence.set(up, &mut notes, || "gone".to_owned(), || "back".to_owned());
        }
        assert_eq!(notes, ["gone", "back"]);
    }
}
