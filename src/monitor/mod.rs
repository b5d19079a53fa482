//! The resource monitor: processes (by PID, name or command line), cgroups v2, Docker containers, PostgreSQL and
//! the load generator itself, sampled on a thread of its own at a fixed interval whose ticks fall on whole
//! multiples of it in unix time, so rows line up with Locust's `_stats_history.csv`. A source that goes away leaves
//! empty cells (never zeros) and one note, and is sampled again when it returns.

mod cgroup;
mod config;
mod docker;
mod docker_stream;
mod error;
mod metric;
mod output;
mod postgres;
mod process;
mod procfs;
mod run;
mod sample;

pub use config::{
    check_source_name, format_duration, parse_interval, parse_pid_list, parse_pid_sources, MonitorConfig, PidSource,
};
pub use docker::{parse_answer, row as docker_row, socket_path, unix_nanos, DockerStats};
pub use docker_stream::Dechunker;
pub use error::{MonitorError, Result};
pub use metric::describe as describe_metric;
pub use output::format_value;
pub use run::{Monitor, RecentRows};
pub use sample::{GeneratorSummary, MetricSummary, Note, Sample, SourceInfo, Summary, SATURATION_PCT};
