use std::path::PathBuf;
use std::time::Duration;

use super::error::{MonitorError, Result};

/// Shortest and longest tick: below 10 ms the monitor would measure itself, above an hour it would say nothing.
const INTERVAL_RANGE: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(3600));

/// A process followed by PID, and what its columns call it: `name` if given (`--monitor-pid target=4242`), else
/// the process's own name (`/proc/PID/comm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidSource {
    pub pid: u32,
    pub name: Option<String>,
}

impl From<u32> for PidSource {
    fn from(pid: u32) -> Self {
        Self { pid, name: None }
    }
}

/// Longest name a process may be given: it heads a CSV column, a chart's legend and a Prometheus label.
const NAME_MAX: usize = 32;

/// A name given to a process: 1 to 32 letters, digits, `_`, `-` or `.`, starting with a letter, and not
/// `generator` (the load generator's own columns). No `:` or space keeps it apart from the other sources' labels
/// (`process:postgres`) and from the metric in a `"<source> <metric>"` column.
pub fn check_source_name(name: &str) -> std::result::Result<(), String> {
    let valid = name.len() <= NAME_MAX
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(format!(
            "'{name}' is not a process name (1 to {NAME_MAX} letters, digits, '_', '-' or '.', starting with a \
             letter)"
        ));
    }
    if name == "generator" {
        return Err("'generator' names the load generator's own columns: choose another name".to_owned());
    }
    Ok(())
}

/// What to sample and where the results go. Every source is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Time between rows; ticks fall on whole multiples of it in unix time (a 1 s monitor samples at each second).
    pub interval: Duration,
    pub pids: Vec<PidSource>,
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
        if self.pids.iter().any(|source| source.pid == 0) {
            return bad("PID 0 is not a process".to_owned());
        }
        for (index, source) in self.pids.iter().enumerate() {
            let Some(name) = &source.name else { continue };
            check_source_name(name).map_err(MonitorError::InvalidConfig)?;
            let twice = self.pids[..index]
                .iter()
                .any(|other| other.name.as_ref() == Some(name) && other.pid != source.pid);
            if twice {
                return bad(format!("two processes are named '{name}'"));
            }
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

/// Processes as `--monitor-pid` and `pushpop-load monitor --pid` take them: `1234`, `target=1234`, or a
/// comma-separated list of either (`target=1234,db=5678,42`).
pub fn parse_pid_sources(text: &str) -> std::result::Result<Vec<PidSource>, String> {
    text.split(',')
        .map(str::trim)
        .map(|part| match part.split_once('=') {
            Some((name, pid)) => {
                let name = name.trim();
                check_source_name(name)?;
                let pid = parse_pid_list(pid.trim())
                    .ok()
                    .and_then(|pids| <[u32; 1]>::try_from(pids).ok())
                    .ok_or_else(|| format!("'{part}' is not NAME=PID (PID a whole number above 0)"))?;
                Ok(PidSource {
                    pid: pid[0],
                    name: Some(name.to_owned()),
                })
            }
            None => Ok(parse_pid_list(part)?[0].into()),
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
        config.processes.clear();
        config.pids = vec![
            PidSource {
                pid: 1,
                name: Some("db".to_owned()),
            },
            PidSource {
                pid: 2,
                name: Some("db".to_owned()),
            },
        ];
        assert!(config
            .check()
            .unwrap_err()
            .to_string()
            .contains("two processes are named 'db'"));
        config.pids[1].pid = 1;
        assert!(config.check().is_ok());
    }

    #[test]
    fn named_pids() {
        let named = |name: &str, pid| PidSource {
            pid,
            name: Some(name.to_owned()),
        };
        assert_eq!(parse_pid_sources("42").unwrap(), [42.into()]);
        assert_eq!(
            parse_pid_sources("target=42, db.main = 7,9").unwrap(),
            [named("target", 42), named("db.main", 7), 9.into()]
        );
        for (bad, says) in [
            ("=42", "'' is not a process name"),
            ("9x=42", "'9x' is not a process name"),
            ("my target=42", "'my target' is not a process name"),
            ("a:b=42", "'a:b' is not a process name"),
            ("target=", "'target=' is not NAME=PID"),
            ("target=0", "'target=0' is not NAME=PID"),
            ("generator=42", "'generator' names the load generator"),
            ("target", "'target' is not a process id"),
        ] {
            let err = parse_pid_sources(bad).map(|_| ()).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains('\n'));
        }
        assert!(check_source_name(&"a".repeat(33)).is_err());
        assert!(check_source_name(&"a".repeat(32)).is_ok());
    }
}
