//! `pushpop-load analyze` and `pushpop-load check`: one set of flags, two defaults for what is shown.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::analyze::{parse_ratio, run, Format, Options};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Text,
    Md,
    Json,
    Junit,
    Html,
    Hgrm,
}

// the doc comments are clap's help text, shown as written
#[allow(clippy::doc_markdown)]
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// A results prefix (results/test_run) or any one of its files (results/test_run_stats.csv)
    pub input: PathBuf,
    /// Report format: a terminal table, Markdown (CI job summaries), JSON (docs/ANALYZE.md), JUnit XML, one
    /// self-contained HTML file with charts, or HdrHistogram's percentile distribution per endpoint (.hgrm)
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Write the report to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A rule such as 'p95<100ms', 'fail_ratio<1%', 'name:/queue/[id]/pop:p99<50ms', 'lost==0' (repeatable)
    #[arg(long = "threshold", value_name = "RULE")]
    pub thresholds: Vec<String>,
    /// A TOML file of rules (thresholds = [...], [endpoints."NAME"] thresholds = [...], [baseline] tolerances)
    #[arg(long = "thresholds", value_name = "FILE.toml")]
    pub thresholds_file: Option<PathBuf>,
    /// Compare with a baseline saved by --save-baseline, or with another run (a prefix or one of its files)
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record this run as a baseline (JSON, with its exact histograms)
    #[arg(long, value_name = "FILE")]
    pub save_baseline: Option<PathBuf>,
    /// Growth of p50/p95/p99 over the baseline allowed before it can count as a regression [default: 10%]
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio)]
    pub latency_tolerance: Option<f64>,
    /// Drop of requests/s below the baseline allowed [default: 10%]
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio)]
    pub rps_tolerance: Option<f64>,
    /// Growth of the failure ratio allowed, in points [default: 0.5%]
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio)]
    pub fail_ratio_tolerance: Option<f64>,
    /// Significance level of the tests that tell a regression from noise [default: 0.01]
    #[arg(long, value_parser = parse_alpha)]
    pub alpha: Option<f64>,
}

fn parse_alpha(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|alpha| *alpha > 0.0 && *alpha < 0.5)
        .ok_or_else(|| format!("{text:?} is not a significance level between 0 and 0.5"))
}

impl AnalyzeArgs {
    fn options(self, verdicts_only: bool) -> Options {
        Options {
            input: self.input,
            format: match self.format {
                FormatArg::Text => Format::Text,
                FormatArg::Md => Format::Markdown,
                FormatArg::Json => Format::Json,
                FormatArg::Junit => Format::Junit,
                FormatArg::Html => Format::Html,
                FormatArg::Hgrm => Format::Hgrm,
            },
            out: self.out,
            thresholds: self.thresholds,
            thresholds_file: self.thresholds_file,
            baseline: self.baseline,
            save_baseline: self.save_baseline,
            latency_tolerance: self.latency_tolerance,
            rps_tolerance: self.rps_tolerance,
            fail_ratio_tolerance: self.fail_ratio_tolerance,
            alpha: self.alpha,
            verdicts_only,
        }
    }
}

/// Exit 0 when every threshold holds and nothing regressed, 1 when something failed, 2 for unreadable input.
pub fn run_analyze(args: AnalyzeArgs, check: bool) -> i32 {
    if check && args.thresholds.is_empty() && args.thresholds_file.is_none() && args.baseline.is_none() {
        return super::fail(
            "nothing to check: give --threshold RULE, --thresholds FILE.toml or --baseline FILE",
            super::EXIT_BAD_INPUT,
        );
    }
    let options = args.options(check);
    match run(&options) {
        Ok(outcome) => {
            match (&outcome.output, &options.out) {
                // a closed pipe (`| head`) is the reader's choice, not an error
                (Some(text), _) => {
                    let _ = std::io::stdout().lock().write_all(text.as_bytes());
                }
                (None, Some(path)) => eprintln!("pushpop-load: wrote {}: {}", path.display(), outcome.summary),
                (None, None) => {}
            }
            i32::from(!outcome.passed)
        }
        Err(err) => super::fail(&err.to_string(), super::EXIT_BAD_INPUT),
    }
}
