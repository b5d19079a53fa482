//! The monitor: its sources sampled on a thread of its own (never the caller's: under Locust that is the gevent
//! hub), one row per tick, the latest row and new notes readable at any time, files and summary at the end.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use super::cgroup::CgroupSource;
use super::config::MonitorConfig;
use super::docker::{socket_path, DockerSource};
use super::error::{MonitorError, Result};
use super::output::{check_writable, write_atomically, CsvOutput};
use super::postgres::PostgresSource;
use super::process::{pid_labels, ProcessSource, Selector};
use super::sample::{Aggregate, GeneratorSummary, Note, Sample, SourceInfo, Summary, SATURATION_PCT};

enum Source {
    Process(ProcessSource),
    Cgroup(CgroupSource),
    Docker(DockerSource),
    Postgres(Box<PostgresSource>),
}

impl Source {
    fn info(&self) -> &SourceInfo {
        match self {
            Self::Process(source) => source.info(),
            Self::Cgroup(source) => source.info(),
            Self::Docker(source) => source.info(),
            Self::Postgres(source) => source.info(),
        }
    }

    async fn sample(&mut self, budget: Duration, notes: &mut Vec<String>) -> Vec<Option<f64>> {
        match self {
            Self::Process(source) => source.sample(notes),
            Self::Cgroup(source) => source.sample(notes),
            Self::Docker(source) => source.sample(notes),
            Self::Postgres(source) => source.sample(budget, notes).await,
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// Rows kept for live charts (`samples_since`): an hour at the default 1 s interval, about 60 KiB per 2 columns.
/// Older rows are in the CSV.
pub const RECENT_ROWS: usize = 3600;

#[derive(Default)]
struct State {
    latest: Option<Sample>,
    /// The last `RECENT_ROWS` rows, oldest first.
    recent: VecDeque<Sample>,
    /// Notes not yet taken by `take_notes`.
    pending: Vec<Note>,
}

struct Shared {
    state: Mutex<State>,
    stop: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A monitor's kept rows (`Monitor::recent_rows`).
#[derive(Clone)]
pub struct RecentRows(Arc<Shared>);

impl RecentRows {
    /// The kept rows sampled after `unix`, oldest first.
    #[must_use]
    pub fn since(&self, unix: f64) -> Vec<Sample> {
        let state = self.0.lock();
        let first = state.recent.partition_point(|sample| sample.unix <= unix);
        state.recent.range(first..).cloned().collect()
    }
}

/// What the sampling thread hands back when it stops.
struct Finished {
    aggregate: Aggregate,
    notes: Vec<Note>,
    saturated_samples: u64,
    csv: Option<CsvOutput>,
    error: Option<MonitorError>,
}

/// A running monitor. `stop` ends it and writes its files; dropping it stops it without writing them.
pub struct Monitor {
    config: MonitorConfig,
    sources: Vec<SourceInfo>,
    columns: Vec<String>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Finished>>,
    started_unix: f64,
}

impl Monitor {
    /// Checks the settings, opens every source (a missing PID or cgroup, a wrong PostgreSQL URL or an unwritable
    /// file fails here, naming it), then samples on a thread of its own until `stop`. The first row comes at the
    /// next tick, with rates measured from this call.
    pub fn start(config: MonitorConfig) -> Result<Self> {
        config.check()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(MonitorError::Runtime)?;
        let mut said = Vec::new();
        let mut sources = Vec::new();
        if let Some(pid) = config.generator {
            sources.push(Source::Process(ProcessSource::new(
                Selector::Generator(pid),
                &mut said,
            )?));
        }
        let labels = pid_labels(&config.pids)?;
        let selectors = (config
            .pids
            .iter()
            .zip(labels)
            .map(|(source, label)| Selector::Pid(source.pid, label)))
        .chain(config.processes.iter().map(|name| Selector::Name(name.clone())))
        .chain(config.cmdlines.iter().map(|pattern| Selector::Cmdline(pattern.clone())));
        for selector in selectors {
            sources.push(Source::Process(ProcessSource::new(selector, &mut said)?));
        }
        for path in &config.cgroups {
            sources.push(Source::Cgroup(CgroupSource::new(path, &mut said)?));
        }
        if !config.containers.is_empty() {
            let host = config.docker_host.clone().or_else(|| std::env::var("DOCKER_HOST").ok());
            let socket = socket_path(host.as_deref());
            for container in &config.containers {
                sources.push(Source::Docker(DockerSource::new(container, socket.clone())));
            }
        }
        for url in &config.postgres {
            sources.push(Source::Postgres(Box::new(
                runtime.block_on(PostgresSource::start(url))?,
            )));
        }
        // two URLs naming the same database are told apart by host; a source named twice is sampled once
        let mut seen = HashSet::new();
        for source in &mut sources {
            if let Source::Postgres(postgres) = source {
                if seen.contains(&postgres.info().label) {
                    let label = postgres.host_label();
                    postgres.relabel(label);
                }
            }
            seen.insert(source.info().label.clone());
        }
        let mut kept = HashSet::new();
        sources.retain(|source| kept.insert(source.info().label.clone()));
        let infos: Vec<SourceInfo> = sources.iter().map(|source| source.info().clone()).collect();
        let columns: Vec<String> = infos.iter().flat_map(SourceInfo::columns).collect();
        let csv = config
            .csv
            .as_deref()
            .map(|path| CsvOutput::create(path, &columns))
            .transpose()?;
        if let Some(json) = &config.json {
            // fail now rather than after the run
            check_writable(json)?;
        }
        let started_unix = unix_now();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                latest: None,
                recent: VecDeque::new(),
                pending: said
                    .into_iter()
                    .map(|text| Note {
                        unix: started_unix,
                        text,
                    })
                    .collect(),
            }),
            stop: Notify::new(),
        });
        let generator_column = config.generator.map(|_| 0);
        let thread = std::thread::Builder::new()
            .name("pushpop-monitor".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                let interval = config.interval;
                let width = columns.len();
                move || runtime.block_on(sample_loop(sources, &shared, interval, width, generator_column, csv))
            })
            .map_err(MonitorError::Runtime)?;
        Ok(Self {
            config,
            sources: infos,
            columns,
            shared,
            thread: Some(thread),
            started_unix,
        })
    }

    /// The sources, in column order.
    #[must_use]
    pub fn sources(&self) -> &[SourceInfo] {
        &self.sources
    }

    /// Every column, `"<label> <metric>"`, in row order (after `Timestamp` and `Time` in the CSV).
    #[must_use]
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The last row, if a tick has passed.
    #[must_use]
    pub fn latest(&self) -> Option<Sample> {
        self.shared.lock().latest.clone()
    }

    /// The kept rows sampled after `unix` (of the last `RECENT_ROWS`), oldest first.
    #[must_use]
    pub fn samples_since(&self, unix: f64) -> Vec<Sample> {
        self.recent_rows().since(unix)
    }

    /// The kept rows, readable after `stop` too (with the last row, sampled while stopping).
    #[must_use]
    pub fn recent_rows(&self) -> RecentRows {
        RecentRows(Arc::clone(&self.shared))
    }

    /// Notes left since the last call (a source went away, came back, cannot be read in part).
    #[must_use]
    pub fn take_notes(&self) -> Vec<Note> {
        std::mem::take(&mut self.shared.lock().pending)
    }

    /// Stops sampling (at most one tick's work later), renames the CSV into place, writes the JSON summary and
    /// returns it.
    pub fn stop(mut self) -> Result<Summary> {
        let finished = self.join()?;
        if let Some(error) = finished.error {
            return Err(error);
        }
        let csv = finished.csv.map(CsvOutput::finish).transpose()?;
        let metrics = finished.aggregate.summaries(&self.sources);
        let generator = self.config.generator.map(|pid| {
            let cpu = metrics.first();
            GeneratorSummary {
                pid,
                peak_cpu_pct: cpu.and_then(|m| m.peak),
                mean_cpu_pct: cpu.and_then(|m| m.mean),
                threshold_pct: SATURATION_PCT,
                saturated_samples: finished.saturated_samples,
                saturated: finished.saturated_samples > 0,
            }
        });
        let summary = Summary {
            format: "pushpop-load-resources",
            version: 1,
            interval_s: self.config.interval.as_secs_f64(),
            started_unix: self.started_unix,
            ended_unix: unix_now(),
            samples: finished.aggregate.rows(),
            columns: self.columns.clone(),
            metrics,
            generator,
            notes: finished.notes,
            csv: csv.map(|path| path.display().to_string()),
        };
        if let Some(path) = &self.config.json {
            write_atomically(path, &summary.to_json())?;
        }
        Ok(summary)
    }

    fn join(&mut self) -> Result<Finished> {
        let thread = self.thread.take().expect("joined once");
        self.shared.stop.notify_one();
        thread
            .join()
            .map_err(|_| MonitorError::Runtime(std::io::Error::other("the sampling thread panicked")))
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.join();
        }
    }
}

/// How long after its tick a row may take: the rest goes to sleeping, so a slow source cannot push the next row
/// late.
fn budget(interval: Duration) -> Duration {
    (interval.mul_f64(0.8)).max(Duration::from_millis(5))
}

/// Time until the next whole multiple of `interval` in unix time.
fn until_next_tick(interval: Duration) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let step = interval.as_nanos().max(1);
    let into = now.as_nanos() % step;
    let wait = u64::try_from(step - into).unwrap_or(u64::MAX);
    // just past a tick (the previous row was late): still take this one rather than sleep a whole interval
    Duration::from_nanos(wait)
}

async fn sample_loop(
    mut sources: Vec<Source>,
    shared: &Shared,
    interval: Duration,
    width: usize,
    generator_column: Option<usize>,
    mut csv: Option<CsvOutput>,
) -> Finished {
    let mut aggregate = Aggregate::new(width);
    let mut all_notes: Vec<Note> = shared.lock().pending.clone();
    let mut saturated_samples = 0;
    let mut error = None;
    for source in &mut sources {
        if let Source::Docker(docker) = source {
            docker.begin();
        }
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep(until_next_tick(interval)) => {}
            () = shared.stop.notified() => break,
        }
        let unix = unix_now();
        let deadline = tokio::time::Instant::now() + budget(interval);
        let mut values = Vec::with_capacity(width);
        let mut said = Vec::new();
        for source in &mut sources {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            values.extend(source.sample(left.max(Duration::from_millis(5)), &mut said).await);
        }
        if let Some(cpu) = generator_column.and_then(|column| values[column]) {
            if cpu > SATURATION_PCT {
                if saturated_samples == 0 {
                    said.push(format!(
                        "generator: the load generator's CPU reached {cpu:.0}% of a core (> {SATURATION_PCT:.0}%): \
                         from here the run measures the generator as much as the service"
                    ));
                }
                saturated_samples += 1;
            }
        }
        let sample = Sample { unix, values };
        aggregate.push(&sample.values);
        if let Some(output) = csv.as_mut() {
            if let Err(failed) = output.write(&sample) {
                error = Some(failed);
                break;
            }
        }
        let notes: Vec<Note> = said.into_iter().map(|text| Note { unix, text }).collect();
        all_notes.extend(notes.iter().cloned());
        let mut state = shared.lock();
        state.pending.extend(notes);
        if state.recent.len() == RECENT_ROWS {
            state.recent.pop_front();
        }
        state.recent.push_back(sample.clone());
        state.latest = Some(sample);
    }
    Finished {
        aggregate,
        notes: all_notes,
        saturated_samples,
        csv,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_whole_intervals() {
        let interval = Duration::from_millis(250);
        let wait = until_next_tick(interval);
        assert!(wait <= interval && wait > Duration::ZERO);
        let at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + wait;
        // within a few ms of a multiple of 250 ms
        let off = at.as_millis() % 250;
        assert!(!(5..=245).contains(&off), "{off}");
    }

    #[test]
    fn rows_at_every_tick_for_the_generator() {
        let dir = std::env::temp_dir().join(format!("pushpop-monitor-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = MonitorConfig {
            interval: Duration::from_millis(50),
            generator: Some(std::process::id()),
            pids: vec![std::process::id().into()],
            csv: Some(dir.join("r.csv")),
            json: Some(dir.join("r.json")),
            ..MonitorConfig::default()
        };
        let monitor = Monitor::start(config).unwrap();
        assert_eq!(monitor.columns()[0], "generator cpu_pct");
        std::thread::sleep(Duration::from_millis(400));
        let latest = monitor.latest().unwrap();
        assert_eq!(latest.values.len(), monitor.columns().len());
        let recent = monitor.recent_rows();
        // the kept rows end with the latest; from a time on, only the rows after it
        let kept = monitor.samples_since(0.0);
        assert!(kept.len() >= 2, "{}", kept.len());
        let last = kept.last().unwrap();
        assert!(last.unix >= latest.unix);
        assert!(kept.windows(2).all(|pair| pair[0].unix < pair[1].unix));
        let after = monitor.samples_since(kept[0].unix);
        assert_eq!(after.len(), kept.len() - 1);
        assert!(after[0].unix.total_cmp(&kept[1].unix).is_eq());
        let summary = monitor.stop().unwrap();
        assert!((5..=10).contains(&summary.samples), "{}", summary.samples);
        // every row, the one sampled while stopping included, stays readable
        assert_eq!(recent.since(0.0).len() as u64, summary.samples);
        let text = std::fs::read_to_string(dir.join("r.csv")).unwrap();
        assert_eq!(text.lines().count() as u64, summary.samples + 1);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
        assert_eq!(json["format"], "pushpop-load-resources");
        assert_eq!(json["generator"]["pid"], std::process::id());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_sources_fail_at_start() {
        let config = MonitorConfig {
            pids: vec![(u32::MAX - 1).into()],
            ..MonitorConfig::default()
        };
        assert!(matches!(Monitor::start(config), Err(MonitorError::NoSuchProcess(_))));
        let config = MonitorConfig {
            postgres: vec!["postgres://mon:hunter2@127.0.0.1:1/db".to_owned()],
            ..MonitorConfig::default()
        };
        let err = Monitor::start(config).err().unwrap().to_string();
        assert!(err.contains("mon:***@127.0.0.1:1") && !err.contains("hunter2"), "{err}");
    }
}
