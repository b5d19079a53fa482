//! Showing a run's progress: an indicatif bar on a terminal, a log line every two seconds elsewhere (CI logs,
//! files), or nothing.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::report::{Progress, Report};

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Bar,
    Lines,
    Quiet,
}

impl ProgressMode {
    /// A bar when stderr is a terminal, log lines otherwise.
    #[must_use]
    pub fn auto() -> Self {
        if std::io::stderr().is_terminal() {
            Self::Bar
        } else {
            Self::Lines
        }
    }
}

const LINE_EVERY: Duration = Duration::from_secs(2);

/// The display for one run; `update` is the run's progress callback.
pub struct ProgressDisplay {
    mode: ProgressMode,
    prefix: String,
    bar: Option<ProgressBar>,
    last_line: Instant,
    last_done: u64,
}

/// `1234567` as `1,234,567`.
#[must_use]
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn per_second(count: u64, over: Duration) -> f64 {
    if over.is_zero() {
        0.0
    } else {
        count as f64 / over.as_secs_f64()
    }
}

impl ProgressDisplay {
    /// `prefix` starts every log line (e.g. `pushpop-load: prepopulate`).
    #[must_use]
    pub fn new(mode: ProgressMode, total: u64, prefix: &str) -> Self {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} items, {rate}, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let rate = state.per_sec().max(0.0).round() as u64;
                    let _ = write!(out, "{} items/s", thousands(rate));
                },
            );
            bar.set_style(style);
            bar.set_prefix("prepopulate");
            bar
        });
        Self {
            mode,
            prefix: prefix.to_owned(),
            bar,
            last_line: Instant::now(),
            last_done: 0,
        }
    }

    pub fn update(&mut self, progress: &Progress) {
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(progress.done);
                }
            }
            ProgressMode::Lines => {
                let since = self.last_line.elapsed();
                if since >= LINE_EVERY && progress.done < progress.total {
                    let rate = per_second(progress.done - self.last_done.min(progress.done), since);
                    self.last_line = Instant::now();
                    self.last_done = progress.done;
                    eprintln!("{}: {}", self.prefix, line(progress, rate));
                }
            }
            ProgressMode::Quiet => {}
        }
    }

    /// Takes the bar off the terminal.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// The closing line, unless quiet.
    pub fn summary(&self, report: &Report) {
        if self.mode != ProgressMode::Quiet {
            eprintln!("{}: {}", self.prefix, summary(report));
        }
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.finish();
    }
}

fn line(progress: &Progress, rate: f64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let percent = if progress.total == 0 {
        100.0
    } else {
        progress.done as f64 * 100.0 / progress.total as f64
    };
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let eta = if rate > 0.0 {
        format!("{} s", ((progress.total - progress.done) as f64 / rate).ceil() as u64)
    } else {
        "unknown".to_owned()
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rate = rate.round() as u64;
    let mut text = format!(
        "{} of {} items ({percent:.0}%), {} items/s, ETA {eta}",
        thousands(progress.done),
        thousands(progress.total),
        thousands(rate),
    );
    if progress.retried > 0 {
        let _ = write!(text, ", {} retries", thousands(progress.retried));
    }
    text
}

/// One line: what was stored, how fast, and how it was checked.
#[must_use]
pub fn summary(report: &Report) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rate = report.rate.round() as u64;
    let checked = match report.verification {
        super::report::Verification::Stats => "verified with the target's queue stats",
        super::report::Verification::Acknowledged => "counted from acknowledged pushes (no queue stats)",
    };
    let uncertain: usize = report.uncertain.values().map(Vec::len).sum();
    let mut text = format!(
        "stored {} items in {} queue{} in {:.2} s ({} items/s), {checked}; {} retries",
        thousands(report.pushed),
        report.queues.len(),
        if report.queues.len() == 1 { "" } else { "s" },
        report.elapsed,
        thousands(rate),
        thousands(report.retried),
    );
    if uncertain > 0 {
        let _ = write!(
            text,
            ", {uncertain} pushes possibly stored twice (see the report's 'uncertain')"
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn log_line() {
        let progress = Progress {
            done: 25_000,
            total: 100_000,
            retried: 3,
            elapsed: Duration::from_secs(1),
        };
        assert_eq!(
            line(&progress, 25_000.0),
            "25,000 of 100,000 items (25%), 25,000 items/s, ETA 3 s, 3 retries"
        );
    }
}
