//! A cgroup v2 directory: CPU from `cpu.stat`, memory from `memory.current` and `memory.max`, disk I/O from
//! `io.stat`. A container's cgroup (e.g. `system.slice/docker-<id>.scope`) works without the Docker socket.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::error::{MonitorError, Result};
use super::sample::{Presence, SourceInfo};

pub(super) const METRICS: &[&str] = &[
    "cpu_pct",
    "memory_bytes",
    "memory_limit_bytes",
    "read_bytes_per_s",
    "write_bytes_per_s",
];

/// Where the cgroup2 hierarchy is mounted (`/sys/fs/cgroup` on a pure v2 system, `/sys/fs/cgroup/unified` on a
/// hybrid one).
fn cgroup2_mount() -> PathBuf {
    fs::read_to_string("/proc/self/mounts")
        .ok()
        .and_then(|mounts| {
            mounts.lines().find_map(|line| {
                let mut fields = line.split_ascii_whitespace();
                let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
                (kind == "cgroup2").then(|| PathBuf::from(point))
            })
        })
        .unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup"))
}

/// `path` as given when it is a cgroup directory, else under the cgroup2 mount.
fn resolve(path: &str) -> PathBuf {
    let given = Path::new(path);
    if given.is_absolute() && given.join("cgroup.procs").exists() {
        return given.to_owned();
    }
    cgroup2_mount().join(path.trim_start_matches('/'))
}

/// `usage_usec` of a `cpu.stat`.
#[must_use]
pub fn parse_cpu_usage_usec(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|value| value.trim().parse().ok())
}

/// Bytes read and written over every device of an `io.stat`.
#[must_use]
pub fn parse_io_stat(text: &str) -> (u64, u64) {
    let mut totals = (0, 0);
    for field in text.split_ascii_whitespace() {
        if let Some(value) = field.strip_prefix("rbytes=") {
            totals.0 += value.parse::<u64>().unwrap_or(0);
        } else if let Some(value) = field.strip_prefix("wbytes=") {
            totals.1 += value.parse::<u64>().unwrap_or(0);
        }
    }
    totals
}

struct Reading {
    at: Instant,
    cpu_usec: u64,
    io: Option<(u64, u64)>,
}

pub struct CgroupSource {
    info: SourceInfo,
    dir: PathBuf,
    previous: Option<Reading>,
    presence: Presence,
}

impl CgroupSource {
    /// The directory must exist and have a `cpu.stat` now; files of controllers not enabled for it (memory, io)
    /// leave their cells empty, said once here.
    pub fn new(path: &str, notes: &mut Vec<String>) -> Result<Self> {
        let dir = resolve(path);
        let error = |reason: String| MonitorError::Cgroup {
            path: path.to_owned(),
            reason,
        };
        let cpu = fs::read_to_string(dir.join("cpu.stat")).map_err(|err| error(format!("{}: {err}", dir.display())))?;
        parse_cpu_usage_usec(&cpu)
            .ok_or_else(|| error(format!("{} has no usage_usec", dir.join("cpu.stat").display())))?;
        let label = format!("cgroup:{path}");
        let missing: Vec<&str> = ["memory.current", "io.stat"]
            .into_iter()
            .filter(|file| !dir.join(file).exists())
            .collect();
        if !missing.is_empty() {
            notes.push(format!(
                "{label}: no {} (controller not enabled for this cgroup); those cells stay empty",
                missing.join(" or ")
            ));
        }
        let mut source = Self {
            info: SourceInfo {
                kind: "cgroup",
                label,
                metrics: METRICS.to_vec(),
            },
            dir,
            previous: None,
            presence: Presence::Up,
        };
        source.previous = source.read();
        Ok(source)
    }

    #[must_use]
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn read(&self) -> Option<Reading> {
        let cpu_usec = parse_cpu_usage_usec(&fs::read_to_string(self.dir.join("cpu.stat")).ok()?)?;
        let io = fs::read_to_string(self.dir.join("io.stat"))
            .ok()
            .map(|text| parse_io_stat(&text));
        Some(Reading {
            at: Instant::now(),
            cpu_usec,
            io,
        })
    }

    fn number(&self, file: &str) -> Option<f64> {
        let text = fs::read_to_string(self.dir.join(file)).ok()?;
        #[allow(clippy::cast_precision_loss)]
        text.trim().parse::<u64>().ok().map(|value| value as f64)
    }

    pub fn sample(&mut self, notes: &mut Vec<String>) -> Vec<Option<f64>> {
        let reading = self.read();
        let label = &self.info.label;
        self.presence.set(
            reading.is_some(),
            notes,
            || format!("{label}: the cgroup is gone; its cells stay empty until it is back"),
            || format!("{label}: the cgroup is back, sampling again"),
        );
        let Some(reading) = reading else {
            self.previous = None;
            return vec![None; METRICS.len()];
        };
        let previous = self.previous.replace(Reading { ..reading });
        let current = self.previous.as_ref().expect("just stored");
        let mut row = vec![None; METRICS.len()];
        if let Some(previous) = previous {
            let elapsed = current.at.duration_since(previous.at).as_secs_f64();
            #[allow(clippy::cast_precision_loss)]
            let delta =
                |before: u64, after: u64| (elapsed > 0.0 && after >= before).then(|| (after - before) as f64 / elapsed);
            // usage_usec per second of wall time is millionths of a core: / 10^4 gives % of one core
            row[0] = delta(previous.cpu_usec, current.cpu_usec).map(|usec| usec / 10_000.0);
            if let (Some(before), Some(after)) = (previous.io, current.io) {
                row[3] = delta(before.0, after.0);
                row[4] = delta(before.1, after.1);
            }
        }
        row[1] = self.number("memory.current");
        // "max" (no limit) stays empty
        row[2] = self.number("memory.max");
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_stat_and_io_stat() {
        let cpu = "usage_usec 7109248527\nuser_usec 4946869727\nsystem_usec 2162378799\n";
        assert_eq!(parse_cpu_usage_usec(cpu), Some(7_109_248_527));
        assert_eq!(parse_cpu_usage_usec("user_usec 1\n"), None);
        let io = "8:0 rbytes=1000 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n\
                  8:16 rbytes=24 wbytes=56 rios=1 wios=1 dbytes=0 dios=0\n";
        assert_eq!(parse_io_stat(io), (1024, 256));
    }

    #[test]
    fn a_missing_cgroup_is_named() {
        let mut notes = Vec::new();
        let err = CgroupSource::new("no/such/cgroup-xyzzy", &mut notes).err().unwrap();
        assert!(err.to_string().contains("no/such/cgroup-xyzzy"), "{err}");
    }
}
