//! The resource monitor's series grouped into the few charts a person compares across processes: CPU of every
//! process (the load generator's included) on one, memory on one, storage and network rates on one, PostgreSQL's
//! figures on one, the rest (threads, descriptors) on one. Each line is named by what it measures: the monitor's
//! source label made readable (`pid:4242` → "pid 4242", `process:postgres` → "postgres"), or the process named by
//! a long layout's process column.

use super::extras::Resources;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Cpu,
    Memory,
    Io,
    Postgres,
    Other,
}

impl Group {
    pub const ALL: [Group; 5] = [Group::Cpu, Group::Memory, Group::Io, Group::Postgres, Group::Other];

    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Group::Cpu => "CPU",
            Group::Memory => "Memory",
            Group::Io => "Storage and network",
            Group::Postgres => "PostgreSQL",
            Group::Other => "Other resource figures",
        }
    }

    #[must_use]
    pub fn unit(self) -> &'static str {
        match self {
            Group::Cpu => "% of one core",
            Group::Memory => "MiB",
            Group::Io => "MiB/s",
            Group::Postgres | Group::Other => "",
        }
    }
}

/// One line of a group's chart.
pub struct Member<'a> {
    pub label: String,
    pub values: &'a [f64],
    /// Multiply by this to get the group's unit (bytes → MiB).
    pub scale: f64,
    /// A limit or setting drawn for scale, not a measurement.
    pub dashed: bool,
}

const MIB: f64 = 1024.0 * 1024.0;

/// PostgreSQL's figures charted: sessions and per-second rates, counts on one axis. The size in bytes, the
/// `max_connections` setting, the cache-hit percentage and the longest query's age would flatten them: they are in
/// the resources table.
const POSTGRES_CHARTED: [&str; 9] = [
    "connections",
    "active",
    "idle",
    "idle_in_transaction",
    "waiting_locks",
    "commits_per_s",
    "rollbacks_per_s",
    "inserted_per_s",
    "deleted_per_s",
];

/// `pid:4242` → "pid 4242", `process:postgres` → "postgres", `generator` → "load generator".
#[must_use]
pub fn source_name(source: &str) -> String {
    if source.is_empty() {
        return "samples".to_owned();
    }
    if source == "generator" {
        return "load generator".to_owned();
    }
    match source.split_once(':') {
        Some(("pid", pid)) => format!("pid {pid}"),
        Some(("process" | "cmdline" | "container" | "postgres", name)) => name.to_owned(),
        Some(("cgroup", path)) => format!(
            "cgroup {}",
            path.trim_end_matches('/').rsplit('/').next().unwrap_or(path)
        ),
        _ => source.to_owned(),
    }
}

/// A column's source and metric: the monitor names them `"<source> <metric>"`.
fn split(column: &str) -> (&str, &str) {
    column.rsplit_once(' ').unwrap_or(("", column))
}

fn classify(source: &str, metric: &str) -> Option<(Group, f64, bool)> {
    let lower = metric.to_ascii_lowercase();
    if source.starts_with("postgres:") {
        return POSTGRES_CHARTED
            .contains(&lower.as_str())
            .then_some((Group::Postgres, 1.0, false));
    }
    if lower == "saturated" {
        // the first screen says it; a 0/1 line says less
        return None;
    }
    if lower.contains("cpu") {
        return Some((Group::Cpu, 1.0, false));
    }
    let bytes = lower.contains("bytes");
    if lower.ends_with("_per_s") && bytes {
        return Some((Group::Io, 1.0 / MIB, false));
    }
    if lower.contains("rss") || lower.contains("mem") {
        let scale = if bytes {
            1.0 / MIB
        } else if lower.ends_with("_kb") {
            1.0 / 1024.0
        } else if lower.ends_with("_gb") {
            1024.0
        } else {
            1.0
        };
        return Some((Group::Memory, scale, lower.contains("limit")));
    }
    Some((Group::Other, 1.0, false))
}

fn member_label(group: Group, source: &str, metric: &str) -> String {
    let name = source_name(source);
    match group {
        Group::Memory if metric.contains("limit") => format!("{name} limit"),
        Group::Cpu | Group::Memory => name,
        Group::Postgres => format!("{name} {metric}"),
        Group::Io | Group::Other => format!(
            "{name} {}",
            metric.trim_end_matches("_per_s").trim_end_matches("_bytes")
        ),
    }
}

/// The groups that have a series, in the order above, each with its lines in the file's order.
#[must_use]
pub fn groups(resources: &Resources) -> Vec<(Group, Vec<Member<'_>>)> {
    let mut out: Vec<(Group, Vec<Member<'_>>)> = Group::ALL.iter().map(|&g| (g, Vec::new())).collect();
    for (column, values) in &resources.series {
        let (source, metric) = split(column);
        if let Some((group, scale, dashed)) = classify(source, metric) {
            let slot = out
                .iter_mut()
                .find(|(g, _)| *g == group)
                .expect("every group has a slot");
            slot.1.push(Member {
                label: member_label(group, source, metric),
                values,
                scale,
                dashed,
            });
        }
    }
    out.retain(|(_, members)| !members.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_columns_fall_into_groups() {
        let columns = [
            "generator cpu_pct",
            "generator rss_bytes",
            "generator saturated",
            "pid:42 cpu_pct",
            "pid:42 rss_bytes",
            "pid:42 threads",
            "pid:42 read_bytes_per_s",
            "process:postgres cpu_pct",
            "container:db memory_limit_bytes",
            "postgres:app connections",
            "postgres:app commits_per_s",
            "postgres:app size_bytes",
            "target cpu_percent",
            "target rss_mb",
        ];
        let resources = Resources {
            timestamps: vec![1.0],
            series: columns.iter().map(|c| ((*c).to_owned(), vec![1.0])).collect(),
        };
        let groups = groups(&resources);
        let labels = |group: Group| -> Vec<String> {
            groups
                .iter()
                .find(|(g, _)| *g == group)
                .map(|(_, m)| m.iter().map(|m| m.label.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(labels(Group::Cpu), ["load generator", "pid 42", "postgres", "target"]);
        assert_eq!(
            labels(Group::Memory),
            ["load generator", "pid 42", "db limit", "target"]
        );
        assert_eq!(labels(Group::Io), ["pid 42 read"]);
        assert_eq!(labels(Group::Postgres), ["app connections", "app commits_per_s"]);
        assert_eq!(labels(Group::Other), ["pid 42 threads"]);
        assert_eq!(source_name("cgroup:/sys/fs/cgroup/app/"), "cgroup app");
    }
}
