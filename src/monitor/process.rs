//! Processes by PID, by name or by command-line pattern, and the load generator itself.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::config::PidSource;
use super::error::{MonitorError, Result};
use super::procfs::{self, ProcReading};
use super::sample::{Presence, SourceInfo};

/// Which processes a source follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// One process, under the label its columns carry (`pid_labels`); when it exits its cells stay empty for the
    /// rest of the run.
    Pid(u32, String),
    /// Every process whose `comm` (as `ps -o comm`, at most 15 bytes) or whose first argument's file name is
    /// this, summed: `postgres` covers the postmaster and all its backends.
    Name(String),
    /// Every process whose command line (arguments joined by spaces) contains this text, summed. The monitor's
    /// own process never matches (its command line names the pattern).
    Cmdline(String),
    /// The load generator: this process, with a saturation flag.
    Generator(u32),
}

/// How often the process list is scanned again for name and pattern sources: new matches are picked up within
/// this, and at 10 Hz the scan (a few files per process on the machine) is not paid at every tick.
const RESCAN: Duration = Duration::from_secs(1);

const PID_METRICS: &[&str] = &[
    "cpu_pct",
    "rss_bytes",
    "threads",
    "fds",
    "read_bytes_per_s",
    "write_bytes_per_s",
];
pub(super) const GROUP_METRICS: &[&str] = &[
    "processes",
    "cpu_pct",
    "rss_bytes",
    "threads",
    "fds",
    "read_bytes_per_s",
    "write_bytes_per_s",
];
pub(super) const GENERATOR_METRICS: &[&str] = &["cpu_pct", "rss_bytes", "saturated"];

pub struct ProcessSource {
    selector: Selector,
    info: SourceInfo,
    /// The previous reading of each followed PID, keyed by PID, with the start ticks that identify it.
    previous: HashMap<u32, ProcReading>,
    previous_at: Instant,
    /// Followed PIDs and their start ticks (name and pattern sources: as of the last scan).
    matched: Vec<(u32, u64)>,
    last_scan: Option<Instant>,
    presence: Presence,
    /// A PID source whose process exited: it cannot come back (a new process under that PID is another one).
    gone: bool,
    own_cpu_s: f64,
    buffer: String,
}

fn label(selector: &Selector) -> (&'static str, String) {
    match selector {
        Selector::Pid(_, label) => ("pid", label.clone()),
        Selector::Name(name) => ("process", format!("process:{name}")),
        Selector::Cmdline(pattern) => ("cmdline", format!("cmdline:{pattern}")),
        Selector::Generator(_) => ("generator", "generator".to_owned()),
    }
}

/// The labels of processes followed by PID, in order: the name given, else the process's own name (`comm`, as
/// `ps` shows it), which becomes `<comm>-<pid>` where two processes share it, a given name is the same, or it is
/// `generator`. A PID that does not exist is an error here, before any source opens.
pub fn pid_labels(sources: &[PidSource]) -> Result<Vec<String>> {
    let mut buffer = String::new();
    let own: Vec<Option<String>> = sources
        .iter()
        .map(|source| match source.name {
            Some(_) => Ok(None),
            None => procfs::names(source.pid, &mut buffer)
                .map(|(comm, _)| Some(comm))
                .ok_or(MonitorError::NoSuchProcess(source.pid)),
        })
        .collect::<Result<_>>()?;
    let shared = |comm: &str, pid: u32| {
        comm == "generator"
            || sources.iter().zip(&own).any(|(other, other_comm)| {
                other.name.as_deref() == Some(comm) || (other_comm.as_deref() == Some(comm) && other.pid != pid)
            })
    };
    Ok(sources
        .iter()
        .zip(&own)
        .map(|(source, comm)| match (&source.name, comm) {
            (Some(name), _) => name.clone(),
            (None, Some(comm)) if comm.is_empty() || shared(comm, source.pid) => {
                format!("{}-{}", if comm.is_empty() { "pid" } else { comm }, source.pid)
            }
            (None, Some(comm)) => comm.clone(),
            (None, None) => unreachable!("every unnamed PID has its comm or was an error above"),
        })
        .collect())
}

impl ProcessSource {
    /// A PID must exist now; a name or pattern may match nothing yet (its cells are empty until it does).
    pub fn new(selector: Selector, notes: &mut Vec<String>) -> Result<Self> {
        let (kind, label) = label(&selector);
        let metrics = match selector {
            Selector::Pid(..) => PID_METRICS,
            Selector::Name(_) | Selector::Cmdline(_) => GROUP_METRICS,
            Selector::Generator(_) => GENERATOR_METRICS,
        };
        let mut source = Self {
            info: SourceInfo {
                kind,
                label,
                metrics: metrics.to_vec(),
            },
            previous: HashMap::new(),
            previous_at: Instant::now(),
            matched: Vec::new(),
            last_scan: None,
            presence: Presence::Up,
            gone: false,
            own_cpu_s: procfs::own_cpu_s(),
            buffer: String::new(),
            selector,
        };
        match source.selector {
            Selector::Pid(pid, _) | Selector::Generator(pid) => {
                let start = procfs::start_ticks(pid).ok_or(MonitorError::NoSuchProcess(pid))?;
                source.matched.push((pid, start));
            }
            Selector::Name(_) | Selector::Cmdline(_) => {
                source.scan(Instant::now());
                if source.matched.is_empty() {
                    notes.push(format!(
                        "{}: no such process yet; its cells stay empty until one appears",
                        source.info.label
                    ));
                    source.presence = Presence::Down;
                }
            }
        }
        source.read_all();
        Ok(source)
    }

    #[must_use]
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn matches(&self, pid: u32) -> bool {
        let mut buffer = String::new();
        let Some((comm, cmdline)) = procfs::names(pid, &mut buffer) else {
            return false;
        };
        match &self.selector {
            Selector::Name(name) => {
                let first = cmdline.split(' ').next().unwrap_or_default();
                comm == *name || first.rsplit('/').next() == Some(name.as_str())
            }
            Selector::Cmdline(pattern) => !cmdline.is_empty() && cmdline.contains(pattern.as_str()),
            _ => false,
        }
    }

    fn scan(&mut self, now: Instant) {
        let own = std::process::id();
        let mut matched = Vec::new();
        for pid in procfs::all_pids() {
            if pid == own {
                continue;
            }
            // a PID already followed keeps its identity check; only new ones pay for reading their names
            if let Some(&(_, start)) = self.matched.iter().find(|(known, _)| *known == pid) {
                if procfs::start_ticks(pid) == Some(start) {
                    matched.push((pid, start));
                    continue;
                }
            }
            if self.matches(pid) {
                if let Some(start) = procfs::start_ticks(pid) {
                    matched.push((pid, start));
                }
            }
        }
        self.matched = matched;
        self.last_scan = Some(now);
    }

    /// Readings of the followed processes that still are who they were.
    fn read_all(&mut self) -> HashMap<u32, ProcReading> {
        let mut readings = HashMap::with_capacity(self.matched.len());
        for &(pid, start) in &self.matched {
            if let Some(reading) = procfs::read_process(pid, &mut self.buffer) {
                if reading.start_ticks == start {
                    readings.insert(pid, reading);
                }
            }
        }
        if let Selector::Generator(_) = self.selector {
            self.own_cpu_s = procfs::own_cpu_s();
        }
        self.previous_at = Instant::now();
        self.previous.clone_from(&readings);
        readings
    }

    /// This tick's cells, in the order of `info().metrics`.
    pub fn sample(&mut self, notes: &mut Vec<String>) -> Vec<Option<f64>> {
        let width = self.info.metrics.len();
        if self.gone {
            return vec![None; width];
        }
        let now = Instant::now();
        if matches!(self.selector, Selector::Name(_) | Selector::Cmdline(_))
            && self.last_scan.is_none_or(|at| now.duration_since(at) >= RESCAN)
        {
            self.scan(now);
        }
        let previous = std::mem::take(&mut self.previous);
        let previous_at = self.previous_at;
        let previous_own_cpu = self.own_cpu_s;
        let readings = self.read_all();
        let elapsed = self.previous_at.duration_since(previous_at).as_secs_f64();
        let label = &self.info.label;
        match self.selector {
            Selector::Pid(pid, _) | Selector::Generator(pid) => {
                let Some(reading) = readings.get(&pid) else {
                    self.gone = true;
                    self.presence.set(
                        false,
                        notes,
                        || format!("{label}: the process exited; its cells stay empty"),
                        String::new,
                    );
                    return vec![None; width];
                };
                let before = previous.get(&pid);
                let cpu = if let Selector::Generator(_) = self.selector {
                    (elapsed > 0.0).then(|| (self.own_cpu_s - previous_own_cpu).max(0.0) / elapsed * 100.0)
                } else {
                    before
                        .and_then(|before| rate(before.cpu_s, reading.cpu_s, elapsed))
                        .map(|r| r * 100.0)
                };
                #[allow(clippy::cast_precision_loss)]
                let rss = Some(reading.rss_bytes as f64);
                if let Selector::Generator(_) = self.selector {
                    return vec![
                        cpu,
                        rss,
                        cpu.map(|cpu| f64::from(u8::from(cpu > super::sample::SATURATION_PCT))),
                    ];
                }
                let io = |field: fn(&ProcReading) -> Option<u64>| {
                    #[allow(clippy::cast_precision_loss)]
                    before.and_then(|b| rate(field(b)? as f64, field(reading)? as f64, elapsed))
                };
                #[allow(clippy::cast_precision_loss)]
                let row = vec![
                    cpu,
                    rss,
                    Some(reading.threads as f64),
                    reading.fds.map(|n| n as f64),
                    io(|r| r.read_bytes),
                    io(|r| r.write_bytes),
                ];
                row
            }
            Selector::Name(_) | Selector::Cmdline(_) => {
                self.presence.set(
                    !readings.is_empty(),
                    notes,
                    || format!("{label}: no matching process any more; its cells stay empty until one appears"),
                    || format!("{label}: {} matching process(es), sampling again", readings.len()),
                );
                if readings.is_empty() {
                    return vec![None; width];
                }
                group_row(&previous, &readings, elapsed)
            }
        }
    }
}

/// Per-second change of a counter; `None` without a previous reading, over no time, or when it went backwards.
fn rate(before: f64, after: f64, elapsed: f64) -> Option<f64> {
    (elapsed > 0.0 && after >= before).then(|| (after - before) / elapsed)
}

/// Sums over the matched processes. CPU and I/O rates count the processes seen at both ticks: one that started or
/// exited in between contributes only from its second reading.
#[allow(clippy::cast_precision_loss)]
fn group_row(
    previous: &HashMap<u32, ProcReading>,
    readings: &HashMap<u32, ProcReading>,
    elapsed: f64,
) -> Vec<Option<f64>> {
    let mut cpu = None::<f64>;
    let mut read = None::<f64>;
    let mut write = None::<f64>;
    let (mut rss, mut threads) = (0u64, 0u64);
    let mut fds = None::<u64>;
    for (pid, reading) in readings {
        rss += reading.rss_bytes;
        threads += reading.threads;
        if let Some(n) = reading.fds {
            fds = Some(fds.unwrap_or(0) + n);
        }
        let Some(before) = previous.get(pid) else { continue };
        if let Some(r) = rate(before.cpu_s, reading.cpu_s, elapsed) {
            cpu = Some(cpu.unwrap_or(0.0) + r * 100.0);
        }
        if let (Some(b), Some(a)) = (before.read_bytes, reading.read_bytes) {
            read = rate(b as f64, a as f64, elapsed)
                .map(|r| read.unwrap_or(0.0) + r)
                .or(read);
        }
        if let (Some(b), Some(a)) = (before.write_bytes, reading.write_bytes) {
            write = rate(b as f64, a as f64, elapsed)
                .map(|r| write.unwrap_or(0.0) + r)
                .or(write);
        }
    }
    vec![
        Some(readings.len() as f64),
        cpu,
        Some(rss as f64),
        Some(threads as f64),
        fds.map(|n| n as f64),
        read,
        write,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_labelled_by_name_or_comm() {
        let own = std::process::id();
        let comm = procfs::names(own, &mut String::new()).unwrap().0;
        let named = |name: &str, pid| PidSource {
            pid,
            name: Some(name.to_owned()),
        };
        assert_eq!(pid_labels(&[own.into()]).unwrap(), std::slice::from_ref(&comm));
        assert_eq!(pid_labels(&[named("target", own)]).unwrap(), ["target"]);
        // a given name equal to its comm: the unnamed one says its PID
        assert_eq!(
            pid_labels(&[named(&comm, 1), own.into()]).unwrap(),
            [comm.clone(), format!("{comm}-{own}")]
        );
        // the same PID twice is one source (same label)
        assert_eq!(pid_labels(&[own.into(), own.into()]).unwrap(), [comm.clone(), comm]);
        assert!(matches!(
            pid_labels(&[(u32::MAX - 1).into()]),
            Err(MonitorError::NoSuchProcess(_))
        ));
    }

    #[test]
    fn missing_pid_is_an_error() {
        let mut notes = Vec::new();
        // PIDs are below 2^22 on Linux
        let err = ProcessSource::new(Selector::Pid(u32::MAX - 1, "gone".to_owned()), &mut notes)
            .err()
            .unwrap();
        assert!(matches!(err, MonitorError::NoSuchProcess(_)), "{err}");
    }

    #[test]
    fn a_pattern_that_matches_nothing_yet_is_a_note_and_empty_cells() {
        let mut notes = Vec::new();
        let mut source =
            ProcessSource::new(Selector::Cmdline("no-such-command-xyzzy-42".to_owned()), &mut notes).unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        let row = source.sample(&mut notes);
        assert!(row.iter().all(Option::is_none) && row.len() == GROUP_METRICS.len());
        assert_eq!(notes.len(), 1, "said once: {notes:?}");
    }

    #[test]
    fn generator_counts_its_own_cpu() {
        /// Seconds of CPU this process has used.
        #[allow(clippy::cast_precision_loss)]
        fn process_cpu() -> f64 {
            let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: a valid clock id and a timespec to write into
            assert_eq!(
                unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &raw mut now) },
                0
            );
            now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
        }
        let mut notes = Vec::new();
        let mut source = ProcessSource::new(Selector::Generator(std::process::id()), &mut notes).unwrap();
        let (wall_start, cpu_start) = (Instant::now(), process_cpu());
        // 200 ms of CPU, however long the machine takes to give it (bounded): the figure must be what this process
        // got, not what an idle machine would have given it
        let deadline = wall_start + Duration::from_secs(30);
        let mut spin = 0u64;
        while process_cpu() - cpu_start < 0.2 && Instant::now() < deadline {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        let row = source.sample(&mut notes);
        let expected = 100.0 * (process_cpu() - cpu_start) / wall_start.elapsed().as_secs_f64();
        let cpu = row[0].unwrap();
        // /proc counts in ticks of 10 ms: over at least 200 ms, a few percent
        assert!(
            (cpu - expected).abs() < 10.0,
            "read {cpu}%, the process had {expected}%"
        );
        assert_eq!(row[2], Some(f64::from(u8::from(cpu > 90.0))));
    }

    #[test]
    fn rates() {
        assert_eq!(rate(1.0, 3.0, 2.0), Some(1.0));
        assert_eq!(rate(3.0, 1.0, 2.0), None);
        assert_eq!(rate(1.0, 3.0, 0.0), None);
    }
}
