use std::path::PathBuf;
use std::time::Duration;

use super::error::{MonitorError, Result};

/// Shortest and longest tick: below 10 ms the monitor would measure itself, above an hour it would say nothing.
const INTERVAL_RANGE: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(3600));

/// What to sample and where the results go. Every source is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Time between rows; ticks fall on whole multiples of it in unix time (a 1 s monitor samples at each second).
    pub interval: Duration,
    pub pids: Vec<u32>,
    /// Process names (`comm`, or the file name of the first argument), each summed over its processes.
    pub processes: Vec<String>,
    /// Command-line substrings, each summed over the processes whose command line contains it.
    pub cmdlines: Vec<String>,
    /// cgroup v2 directories, absolute or relative to the cgroup2 mount.
    pub cgroups: Vec<String>,
    /// Docker container names or ids.
    pub containers: Vec<String>,
    /// PostgreSQL URLs (`postgres://user:password@host:port/database`) or key=value strings.
    pub postgres: Vec<String>,
    /// The load generator's PID (Locust's own process), sampled with a saturation flag.
    pub generator: Option<u32>,
    /// The Docker socket as `DOCKER_HOST` would name it (`unix:///path`); `None` reads `DOCKER_HOST`.
    pub docker_host: Option<String>,
    /// Every row, as CSV (written to a temporary name beside it, renamed when the monitor stops).
    pub csv: Option<PathBuf>,
    /// The summary (peak and mean per column, notes), as JSON.
    pub json: Option<PathBuf>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            pids: Vec::new(),
            processes: Vec::new(),
            cmdlines: Vec::new(),
            cgroups: Vec::new(),
            containers: Vec::new(),
            postgres: Vec::new(),
            generator: None,
            docker_host: None,
            csv: None,
            json: None,
        }
    }
}

impl MonitorConfig {
    /// Whether any source is named (a monitor of nothing is a mistake on the command line).
    #[must_use]
    pub fn has_sources(&self) -> bool {
        self.generator.is_some()
            || !(self.pids.is_empty()
                && self.processes.is_empty()
                && self.cmdlines.is_empty()
                && self.cgroups.is_empty()
                && self.containers.is_empty()
                && self.postgres.is_empty())
    }

    pub fn check(&self) -> Result<()> {
        let bad = |message: String| Err(MonitorError::InvalidConfig(message));
        if self.interval < INTERVAL_RANGE.0 || self.interval > INTERVAL_RANGE.1 {
            return bad(format!(
                "the interval must be between 10ms and 1h (got {})",
                format_duration(self.interval)
            ));
        }
        if self.pids.contains(&0) {
            return bad("PID 0 is not a process".to_owned());
        }
        for (what, names) in [
            ("process name", &self.processes),
            ("command-line pattern", &self.cmdlines),
            ("cgroup", &self.cgroups),
            ("container", &self.containers),
            ("PostgreSQL URL", &self.postgres),
        ] {
            if names.iter().any(|name| name.trim().is_empty()) {
                return bad(format!("an empty {what}"));
            }
        }
        if self.csv.is_some() && self.csv == self.json {
            return bad("the CSV and the JSON summary cannot be the same file".to_owned());
        }
        Ok(())
    }
}

/// `1s`, `500ms`, `0.5s`, `2` (seconds), `1m`, `1h`.
pub fn parse_interval(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let seconds =
        crate::common::parse_seconds(text).ok_or_else(|| format!("not a duration: '{text}' (e.g. 1s, 100ms, 0.5)"))?;
    // below a nanosecond rounds to zero, which is not positive either
    if !(1e-9..=1e9).contains(&seconds) {
        return Err(format!("not a positive duration: '{text}'"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Process ids as `--pid` and `--monitor-pid` take them: `1234`, or a comma-separated list `1234,5678`.
pub fn parse_pid_list(text: &str) -> std::result::Result<Vec<u32>, String> {
    text.split(',')
        .map(str::trim)
        .map(|part| {
            part.parse::<u32>()
                .ok()
                .filter(|pid| *pid > 0)
                .ok_or_else(|| format!("'{part}' is not a process id (a whole number above 0)"))
        })
        .collect()
}

/// `1s`, `100ms`, `1.5s`.
#[must_use]
pub fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_interval("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_interval("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_interval(" 2m ").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_interval("1h").unwrap(), Duration::from_secs(3600));
        for bad in ["", "fast", "-1s", "0", "nan", "1d"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
    }

    #[test]
    fn checks() {
        let mut config = MonitorConfig::default();
        assert!(config.check().is_ok() && !config.has_sources());
        config.interval = Duration::from_millis(5);
        assert!(config.check().unwrap_err().to_string().contains("5ms"));
        config.interval = Duration::from_secs(1);
        config.processes.push(" ".to_owned());
        assert!(config.check().unwrap_err().to_string().contains("process name"));
    }
}
