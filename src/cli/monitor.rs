//! `pushpop-load monitor`: the resource monitor beside any tool, rows to a CSV file and a JSON summary.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use crate::monitor::{format_duration, parse_interval, parse_pid_list, parse_pid_sources, Monitor, MonitorConfig};

/// Values are taken as text and parsed in `into_config`, so that a bad one is a single line naming the flag.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// A process to sample by PID, named NAME=PID (else by its own name); repeat for several, or list them:
    /// target=1234,5678
    #[arg(long = "pid", value_name = "[NAME=]PID", allow_hyphen_values = true)]
    pub pid: Vec<String>,
    /// Processes by name (as ps shows it, e.g. postgres), summed; repeat for several
    #[arg(long = "process", value_name = "NAME")]
    pub process: Vec<String>,
    /// Processes whose command line contains PATTERN, summed; repeat for several
    #[arg(long = "cmdline", value_name = "PATTERN", allow_hyphen_values = true)]
    pub cmdline: Vec<String>,
    /// A cgroup v2 directory, absolute or under the cgroup2 mount; repeat for several
    #[arg(long = "cgroup", value_name = "PATH")]
    pub cgroup: Vec<String>,
    #[arg(
        long = "container",
        value_name = "NAME",
        help = "A Docker container by name or id, through the Engine API socket ($DOCKER_HOST or \
                /var/run/docker.sock); repeat for several"
    )]
    pub container: Vec<String>,
    // Parsed by the monitor, not clap: clap would echo a rejected URL, password included.
    #[arg(
        long = "postgres",
        value_name = "URL",
        help = "A PostgreSQL database, postgres://user:password@host:port/database (a role with pg_monitor is \
                enough)"
    )]
    pub postgres: Vec<String>,
    /// The load generator's PID: its CPU is sampled and flagged above 90% of a core
    #[arg(long, value_name = "PID", allow_hyphen_values = true)]
    pub generator: Option<String>,
    /// Time between rows, e.g. 1s, 100ms, 0.5 (rows fall on whole multiples of it in unix time)
    #[arg(long, value_name = "DURATION", default_value = "1s", allow_hyphen_values = true)]
    pub interval: String,
    /// Stop after this long, e.g. 60, 90s, 5m [default: until Ctrl-C]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub duration: Option<String>,
    /// The CSV file of rows (written to a temporary name beside it, renamed at the end)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The JSON summary (peak and mean per column, notes) [default: FILE with .json for .csv]
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// No notes and no closing line on stderr
    #[arg(long)]
    pub quiet: bool,
}

impl MonitorArgs {
    /// The monitor's settings and the run's length (`None`: until Ctrl-C).
    pub fn into_config(self) -> Result<(MonitorConfig, Option<Duration>), String> {
        let interval = parse_interval(&self.interval).map_err(|err| format!("--interval: {err}"))?;
        let duration = self
            .duration
            .as_deref()
            .map(|text| parse_interval(text).map_err(|err| format!("--duration: {err}")))
            .transpose()?;
        let json = self.json.unwrap_or_else(|| {
            if self.out.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("csv")) {
                self.out.with_extension("json")
            } else {
                let mut name = self.out.clone().into_os_string();
                name.push(".json");
                PathBuf::from(name)
            }
        });
        let config = MonitorConfig {
            interval,
            pids: self
                .pid
                .iter()
                .map(|text| parse_pid_sources(text).map_err(|err| format!("--pid: {err}")))
                .collect::<Result<Vec<_>, _>>()?
                .concat(),
            processes: self.process,
            cmdlines: self.cmdline,
            cgroups: self.cgroup,
            containers: self.container,
            postgres: self.postgres,
            generator: self
                .generator
                .as_deref()
                .map(|text| match parse_pid_list(text)?.as_slice() {
                    [pid] => Ok(*pid),
                    _ => Err(format!("'{text}' is not one process id")),
                })
                .transpose()
                .map_err(|err| format!("--generator: {err}"))?,
            docker_host: None,
            csv: Some(self.out),
            json: Some(json),
        };
        if !config.has_sources() {
            return Err(
                "nothing to monitor: name at least one of --pid, --process, --cmdline, --cgroup, --container, \
                 --postgres, --generator"
                    .to_owned(),
            );
        }
        config.check().map_err(|err| format!("--interval: {err}"))?;
        Ok((config, duration))
    }
}

const PREFIX: &str = "pushpop-load: monitor:";

/// Runs the subcommand and returns its exit code: 0 done (Ctrl-C included), 2 bad input (a PID that does not
/// exist, a PostgreSQL URL that does not connect, an unwritable file), 1 when the files could not be finished.
pub fn run(args: MonitorArgs) -> i32 {
    let quiet = args.quiet;
    let (config, duration) = match args.into_config() {
        Ok(settings) => settings,
        Err(message) => return super::fail(&message, super::EXIT_BAD_INPUT),
    };
    let interval = config.interval;
    super::signals::catch_stop_signals();
    let monitor = match Monitor::start(config.clone()) {
        Ok(monitor) => monitor,
        Err(err) => return super::fail(&err.to_string(), err.exit_code()),
    };
    if !quiet {
        eprintln!(
            "{PREFIX} sampling {} column(s) every {}{}",
            monitor.columns().len(),
            format_duration(interval),
            duration.map_or_else(
                || " until Ctrl-C".to_owned(),
                |d| format!(" for {}", format_duration(d))
            )
        );
    }
    let started = Instant::now();
    // bounded by --duration or a signal; each turn is a short sleep
    while !super::signals::stop_requested() && duration.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50).min(interval));
        for note in monitor.take_notes() {
            if !quiet {
                eprintln!("{PREFIX} {}", note.text);
            }
        }
    }
    match monitor.stop() {
        Ok(summary) => {
            if !quiet {
                if let Some(generator) = summary.generator.as_ref().filter(|g| g.saturated) {
                    eprintln!(
                        "{PREFIX} the generator (PID {}) was above {:.0}% CPU in {} row(s)",
                        generator.pid, generator.threshold_pct, generator.saturated_samples
                    );
                }
                let json = config
                    .json
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                eprintln!(
                    "{PREFIX} {} row(s) in {}, summary in {json}",
                    summary.samples,
                    summary.csv.unwrap_or_default()
                );
            }
            0
        }
        Err(err) => super::fail(&err.to_string(), 1),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::super::{Cli, Command};
    use super::*;

    fn parse(args: &[&str]) -> Result<(MonitorConfig, Option<Duration>), String> {
        let argv = ["pushpop-load", "monitor"].iter().chain(args).copied();
        let cli = Cli::try_parse_from(argv).map_err(|err| err.to_string())?;
        let Command::Monitor(monitor) = cli.command else {
            panic!("parsed as another subcommand")
        };
        monitor.into_config()
    }

    #[test]
    fn values() {
        let (config, duration) = parse(&[
            "--pid",
            "12",
            "--process",
            "postgres",
            "--cmdline",
            "pushpop-load target",
            "--interval",
            "100ms",
            "--duration",
            "3",
            "--out",
            "r.csv",
        ])
        .unwrap();
        assert_eq!(
            (config.pids.as_slice(), config.interval),
            (&[12.into()][..], Duration::from_millis(100))
        );
        assert_eq!(duration, Some(Duration::from_secs(3)));
        assert_eq!(config.json, Some(PathBuf::from("r.json")));
        let (config, _) = parse(&["--pid", "1", "--out", "rows", "--json", "s.json"]).unwrap();
        assert_eq!(config.json, Some(PathBuf::from("s.json")));
        let (config, _) = parse(&["--pid", "1", "--out", "rows"]).unwrap();
        assert_eq!(config.json, Some(PathBuf::from("rows.json")));
    }

    #[test]
    fn bad_values_are_one_line() {
        for (args, expected) in [
            (
                &["--pid", "abc", "--out", "r.csv"][..],
                "--pid: 'abc' is not a process id",
            ),
            (&["--pid", "-3", "--out", "r.csv"], "--pid: '-3' is not a process id"),
            (
                &["--pid", "my target=3", "--out", "r.csv"],
                "--pid: 'my target' is not a process name",
            ),
            (&["--pid", "1", "--interval", "fast", "--out", "r.csv"], "--interval"),
            (
                &["--pid", "1", "--interval", "1ms", "--out", "r.csv"],
                "between 10ms and 1h",
            ),
            (&["--pid", "1", "--duration", "0", "--out", "r.csv"], "--duration"),
            (&["--out", "r.csv"], "nothing to monitor"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(err.contains(expected) && !err.contains('\n'), "{args:?}: {err}");
        }
    }
}
