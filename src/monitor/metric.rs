//! What a metric's name means to a reader: the title a chart of it carries and its unit, the unit read off the
//! name's suffix as docs/MONITOR.md defines it (`_bytes`, `_bytes_per_s`, `_pct`, `_per_s`, `_s`).

/// Titles of the metrics the process, cgroup and container sources sample; any other metric (PostgreSQL's) is titled
/// by its own name.
const TITLES: &[(&str, &str)] = &[
    ("cpu_pct", "CPU"),
    ("rss_bytes", "Memory (RSS)"),
    ("memory_bytes", "Memory"),
    ("memory_limit_bytes", "Memory limit"),
    ("threads", "Threads"),
    ("fds", "Open files"),
    ("processes", "Processes"),
    ("read_bytes_per_s", "Disk reads"),
    ("write_bytes_per_s", "Disk writes"),
    ("rx_bytes_per_s", "Network received"),
    ("tx_bytes_per_s", "Network sent"),
];

/// Longest suffix first: `_bytes_per_s` is a rate of bytes, not bytes.
const UNITS: &[(&str, &str)] = &[
    ("_bytes_per_s", "bytes/s"),
    ("_bytes", "bytes"),
    ("_pct", "%"),
    ("_per_s", "/s"),
    ("_s", "s"),
];

/// A metric's title and unit (`""` for a count).
#[must_use]
pub fn describe(metric: &str) -> (&str, &'static str) {
    let title = TITLES
        .iter()
        .find_map(|&(name, title)| (name == metric).then_some(title))
        .unwrap_or(metric);
    let unit = UNITS
        .iter()
        .find_map(|&(suffix, unit)| metric.ends_with(suffix).then_some(unit))
        .unwrap_or("");
    (title, unit)
}

#[cfg(test)]
mod tests {
    use super::describe;
    use crate::monitor::{cgroup, docker, process};

    #[test]
    fn titles_and_units_by_suffix() {
        assert_eq!(describe("cpu_pct"), ("CPU", "%"));
        assert_eq!(describe("rss_bytes"), ("Memory (RSS)", "bytes"));
        assert_eq!(describe("read_bytes_per_s"), ("Disk reads", "bytes/s"));
        assert_eq!(describe("fds"), ("Open files", ""));
        assert_eq!(describe("commits_per_s"), ("commits_per_s", "/s"));
        assert_eq!(describe("longest_query_s"), ("longest_query_s", "s"));
        assert_eq!(describe("size_bytes"), ("size_bytes", "bytes"));
    }

    #[test]
    fn every_sampled_metric_of_a_process_cgroup_or_container_has_a_title() {
        for metric in process::GROUP_METRICS
            .iter()
            .chain(process::GENERATOR_METRICS)
            .chain(cgroup::METRICS)
            .chain(docker::METRICS)
        {
            if *metric != "saturated" {
                assert_ne!(describe(metric).0, *metric, "{metric} has no title");
            }
        }
    }
}
