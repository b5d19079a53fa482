//! The results analyzer: reads what a run left under its `--csv` prefix (Locust's CSVs, the toolkit's exact
//! histograms, integrity verdict, scenario and resource files — whatever subset exists), joins it into one set of
//! figures per endpoint that says which are exact and which are Locust's rounded ones, checks thresholds, compares
//! with a baseline (with a statistical test where both runs have exact histograms), and writes reports.
//!
//! Every error is about the user's input and reads as one line naming the file (and line) at fault.

mod baseline;
mod charts;
mod csvfile;
mod error;
mod extras;
mod hdr;
mod history;
mod inputs;
mod locust_csv;
mod model;
mod report;
mod report_hgrm;
mod report_html;
mod report_html_charts;
mod report_html_top;
mod report_json;
mod report_junit;
mod report_md;
mod report_text;
mod resource_groups;
mod run;
mod stattest;
mod threshold;
mod write;

pub use baseline::{compare, Baseline, BaselineEndpoint, Comparison, EndpointComparison, MetricDelta, Status};
pub use error::{AnalyzeError, Result};
pub use extras::{read_object, read_resources, Resources, INTEGRITY_COUNTS};
pub use hdr::{read_hdr, read_intervals, HdrFile, HdrSummary, IntervalSeries};
pub use history::{read_history, History, Series, SeriesSummary};
pub use inputs::{Inputs, Kind};
pub use locust_csv::{read_exceptions, read_failures, read_stats, ExceptionRow, FailureRow, LocustRow, LocustStats};
pub use model::{Analysis, Endpoint, InputFile, Source};
pub use report::Report;
pub use run::{run, Format, Options, Outcome};
pub use stattest::{failure_ratio_p, mann_whitney, normal_isf, normal_sf, percentile_interval, MannWhitney};
pub use threshold::{evaluate, parse_ratio, read_thresholds_file, Metric, Op, Threshold, Tolerances, Verdict};
pub use write::write_file;
