//! One analysis from options to output: what `pushpop-load analyze` and `check` do.

use std::path::{Path, PathBuf};

use super::baseline::{compare, Baseline};
use super::error::{AnalyzeError, Result};
use super::inputs::{Inputs, Kind};
use super::model::Analysis;
use super::report::Report;
use super::threshold::{evaluate, read_thresholds_file, Threshold, Tolerances};
use super::write::write_files;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
    Junit,
    Html,
    /// HdrHistogram's percentile distribution per endpoint (needs `_hdr.json`).
    Hgrm,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// A results prefix or one of its files.
    pub input: PathBuf,
    pub format: Format,
    /// Where to write the report (default: returned for stdout).
    pub out: Option<PathBuf>,
    pub thresholds: Vec<String>,
    pub thresholds_file: Option<PathBuf>,
    pub baseline: Option<PathBuf>,
    pub save_baseline: Option<PathBuf>,
    /// Tolerances given on the command line; they win over a thresholds file's, which win over the defaults.
    pub latency_tolerance: Option<f64>,
    pub rps_tolerance: Option<f64>,
    pub fail_ratio_tolerance: Option<f64>,
    pub alpha: Option<f64>,
    /// The verdicts only (`check`'s text and Markdown).
    pub verdicts_only: bool,
}

impl Options {
    /// `input` read into a report of `format`, returned rather than written, with no rule, baseline or tolerance.
    #[must_use]
    pub fn new(input: PathBuf, format: Format) -> Self {
        Self {
            input,
            format,
            out: None,
            thresholds: Vec::new(),
            thresholds_file: None,
            baseline: None,
            save_baseline: None,
            latency_tolerance: None,
            rps_tolerance: None,
            fail_ratio_tolerance: None,
            alpha: None,
            verdicts_only: false,
        }
    }
}

pub struct Outcome {
    /// The report, when it was not written to `out`.
    pub output: Option<String>,
    /// All thresholds hold and nothing regressed.
    pub passed: bool,
    /// The one-line verdict.
    pub summary: String,
}

pub fn run(options: &Options) -> Result<Outcome> {
    // rules first: a typo in a threshold should not wait for a large file to be read
    let mut tolerances = Tolerances::default();
    let mut thresholds = options
        .thresholds
        .iter()
        .map(|expression| Threshold::parse(expression))
        .collect::<Result<Vec<_>>>()?;
    if let Some(path) = &options.thresholds_file {
        thresholds.extend(read_thresholds_file(path, &mut tolerances)?);
    }
    tolerances.latency = options.latency_tolerance.unwrap_or(tolerances.latency);
    tolerances.rps = options.rps_tolerance.unwrap_or(tolerances.rps);
    tolerances.fail_ratio = options.fail_ratio_tolerance.unwrap_or(tolerances.fail_ratio);
    tolerances.alpha = options.alpha.unwrap_or(tolerances.alpha);
    let inputs = Inputs::discover(&options.input)?;
    let analysis = Analysis::build(&inputs)?;
    let baseline = options.baseline.as_deref().map(Baseline::load).transpose()?;
    let report = Report {
        analysis: &analysis,
        verdicts: evaluate(&thresholds, &analysis),
        comparison: baseline.as_ref().map(|b| compare(&analysis, b, &tolerances)),
        baseline,
        verdicts_only: options.verdicts_only,
    };
    let saved_baseline = match &options.save_baseline {
        Some(path) => Some((path, Baseline::of(&analysis).to_bytes(path)?)),
        None => None,
    };
    let text = match options.format {
        Format::Text => super::report_text::render(&report),
        Format::Markdown => super::report_md::render(&report),
        Format::Json => super::report_json::render(&report),
        Format::Junit => super::report_junit::render(&report),
        Format::Html => super::report_html::render(&report),
        Format::Hgrm => super::report_hgrm::render(&report).ok_or_else(|| AnalyzeError::NoHistograms {
            expected: inputs.expected(Kind::Hdr),
        })?,
    };
    // the baseline and the report are written together or not at all
    let mut files: Vec<(&Path, &[u8])> = Vec::new();
    if let Some((path, bytes)) = &saved_baseline {
        files.push((path.as_path(), bytes));
    }
    if let Some(path) = &options.out {
        files.push((path.as_path(), text.as_bytes()));
    }
    write_files(&files)?;
    let output = options.out.is_none().then_some(text);
    Ok(Outcome {
        output,
        passed: report.passed(),
        summary: report.summary(),
    })
}
