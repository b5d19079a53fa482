//! Process figures read straight from `/proc`. A few small files per process and tick: cheaper than a general
//! system-information crate (`sysinfo` refreshes far more than we show, and pulls in its own thread pool on some
//! platforms), and exactly the fields `top` and `ps` use.

use std::fs;
use std::io::Read as _;
use std::sync::OnceLock;

/// One reading of one process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcReading {
    /// Clock ticks since boot at which the process started: with the PID, its identity (PIDs are reused).
    pub start_ticks: u64,
    /// User plus system CPU time of all its threads, in seconds.
    pub cpu_s: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    pub threads: u64,
    /// Open file descriptors; `None` when `/proc/PID/fd` is not ours to read.
    pub fds: Option<u64>,
    /// Bytes the process caused to be read from / written to storage (`/proc/PID/io`); `None` when unreadable.
    pub read_bytes: Option<u64>,
    pub write_bytes: Option<u64>,
}

fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if ticks > 0 {
            #[allow(clippy::cast_precision_loss)]
            let ticks = ticks as f64;
            ticks
        } else {
            100.0
        }
    })
}

fn page_size() -> u64 {
    static PAGE: OnceLock<u64> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf only reads a configuration value.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        u64::try_from(page).ok().filter(|page| *page > 0).unwrap_or(4096)
    })
}

/// Reads a small `/proc` file into `buffer` (reused across calls: no allocation per tick).
fn read_into(path: &str, buffer: &mut String) -> Option<()> {
    buffer.clear();
    fs::File::open(path).ok()?.read_to_string(buffer).ok()?;
    Some(())
}

/// Fields of `/proc/PID/stat` after the command name, which may itself hold spaces and parentheses.
fn stat_fields(text: &str) -> Option<Vec<&str>> {
    let after = &text[text.rfind(')')? + 1..];
    Some(after.split_ascii_whitespace().collect())
}

/// Parses `/proc/PID/stat`: (start ticks, CPU seconds, RSS bytes, threads).
#[must_use]
pub fn parse_stat(text: &str) -> Option<(u64, f64, u64, u64)> {
    let fields = stat_fields(text)?;
    // fields[0] is field 3 (state) of proc(5): utime is 14, stime 15, num_threads 20, starttime 22, rss 24
    let number = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    let (utime, stime) = (number(14)?, number(15)?);
    #[allow(clippy::cast_precision_loss)] // ticks fit f64's 53 bits for millennia
    let cpu_s = (utime + stime) as f64 / clock_ticks();
    Some((number(22)?, cpu_s, number(24)? * page_size(), number(20)?))
}

/// Parses `/proc/PID/io`: (`read_bytes`, `write_bytes`).
#[must_use]
pub fn parse_io(text: &str) -> (Option<u64>, Option<u64>) {
    let mut read = None;
    let mut write = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("read_bytes:") {
            read = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("write_bytes:") {
            write = value.trim().parse().ok();
        }
    }
    (read, write)
}

/// Whether `/proc/PID/stat` describes a process that has exited and waits to be reaped (zombie, or dead).
fn exited(text: &str) -> bool {
    stat_fields(text).is_some_and(|fields| matches!(fields.first().copied(), Some("Z" | "X" | "x")))
}

/// Reads the process now; `None` once it has exited (a zombie counts as exited), or when it was never there.
pub fn read_process(pid: u32, buffer: &mut String) -> Option<ProcReading> {
    read_into(&format!("/proc/{pid}/stat"), buffer)?;
    if exited(buffer) {
        return None;
    }
    let (start_ticks, cpu_s, rss_bytes, threads) = parse_stat(buffer)?;
    let fds = fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|entries| entries.count() as u64);
    let (read_bytes, write_bytes) = match read_into(&format!("/proc/{pid}/io"), buffer) {
        Some(()) => parse_io(buffer),
        None => (None, None),
    };
    Some(ProcReading {
        start_ticks,
        cpu_s,
        rss_bytes,
        threads,
        fds,
        read_bytes,
        write_bytes,
    })
}

/// The start ticks of `pid`, or `None` when there is no such process (or it has exited).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let mut buffer = String::new();
    read_into(&format!("/proc/{pid}/stat"), &mut buffer)?;
    if exited(&buffer) {
        return None;
    }
    parse_stat(&buffer).map(|(start, ..)| start)
}

/// Every PID in `/proc` now.
pub fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc").map_or_else(
        |_| Vec::new(),
        |entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        },
    )
}

/// What a process is called: its `comm` (at most 15 bytes) and its command line, arguments joined by spaces
/// (empty for kernel threads).
pub fn names(pid: u32, buffer: &mut String) -> Option<(String, String)> {
    read_into(&format!("/proc/{pid}/comm"), buffer)?;
    let comm = buffer.trim_end_matches('\n').to_owned();
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline)
        .trim_end_matches('\0')
        .replace('\0', " ");
    Some((comm, cmdline))
}

/// CPU seconds of this whole process (every thread), to the microsecond: `getrusage` is finer than `/proc`'s clock
/// ticks, which matters for the generator's figure at 10 Hz.
#[must_use]
pub fn own_cpu_s() -> f64 {
    // SAFETY: getrusage fills the struct we hand it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &raw mut usage);
        usage
    };
    #[allow(clippy::cast_precision_loss)]
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parentheses_in_the_name() {
        let text = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 98765 \
                    123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        let (start, cpu, rss, threads) = parse_stat(text).unwrap();
        assert_eq!((start, threads), (98765, 7));
        assert!((cpu - 300.0 / clock_ticks()).abs() < 1e-9);
        assert_eq!(rss, 2048 * page_size());
        assert!(!exited(text));
        assert!(exited("77 (gone) Z 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0"));
    }

    #[test]
    fn io_fields() {
        let text = "rchar: 10\nwchar: 20\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\n\
                    cancelled_write_bytes: 0\n";
        assert_eq!(parse_io(text), (Some(4096), Some(8192)));
        assert_eq!(parse_io(""), (None, None));
    }

    #[test]
    fn reads_itself() {
        let mut buffer = String::new();
        let me = read_process(std::process::id(), &mut buffer).unwrap();
        assert!(me.threads >= 1 && me.rss_bytes > 0 && me.fds.unwrap() > 0, "{me:?}");
        assert_eq!(start_ticks(std::process::id()), Some(me.start_ticks));
        let (comm, cmdline) = names(std::process::id(), &mut buffer).unwrap();
        assert!(!comm.is_empty() && !cmdline.is_empty());
        assert!(all_pids().contains(&std::process::id()));
    }
}
