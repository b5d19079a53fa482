//! `pushpop-load prepopulate`: flags in, a filled set of queues (and optionally a JSON report) out.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use crate::prepopulate::{
    generate_queue_ids, parse_count, ItemSize, PrepopulateConfig, Priorities, ProgressDisplay, ProgressMode,
};

/// Values are taken as text and parsed in `into_config`, so that a bad one is a single line naming the flag (clap's
/// own errors span several lines).
#[derive(Debug, Args)]
pub struct PrepopulateArgs {
    #[arg(
        long,
        value_name = "URL",
        help = "Base URL of the service, e.g. http://localhost:8000 [default: $PUSHPOP_HOST]"
    )]
    pub host: Option<String>,
    /// A queue id to fill; repeat for several
    #[arg(long = "queue", value_name = "ID")]
    pub queue: Vec<String>,
    /// Fill this many new queues named <prefix>-<8 random [a-z0-9]> (their ids are printed on stdout)
    #[arg(long, value_name = "N", conflicts_with = "queue")]
    pub queues: Option<String>,
    /// Prefix of the ids made by --queues
    #[arg(long, value_name = "P", default_value = "load-test")]
    pub queue_prefix: String,
    /// Items per queue: 10000, 10k, 1.5M
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub items: String,
    /// Priorities used in turn, e.g. 0,1,2 or 0-4 [default: 0]
    #[arg(
        long,
        value_name = "LIST",
        conflicts_with = "priority_weights",
        allow_hyphen_values = true
    )]
    pub priorities: Option<String>,
    /// Priorities in proportion, e.g. 0:5,1:3,2:2 (interleaved, exact per 10 items here)
    #[arg(long, value_name = "P:W,...", allow_hyphen_values = true)]
    pub priority_weights: Option<String>,
    /// Item size, marker included: small (100 B), medium (1 KiB) or large (10 KiB)
    #[arg(long, default_value = "small")]
    pub size: String,
    /// Connections, each with one push in flight
    #[arg(long, value_name = "N", default_value = "64", allow_hyphen_values = true)]
    pub connections: String,
    /// Retries of one push after a 5xx, a connection error or a timeout (a 4xx stops the run)
    #[arg(long, value_name = "N", default_value = "5", allow_hyphen_values = true)]
    pub retries: String,
    /// Seconds one attempt may take (connect, send, answer)
    #[arg(long, value_name = "SECONDS", default_value = "10", allow_hyphen_values = true)]
    pub timeout: String,
    /// The marker's producer id (below 2^53) [default: random]
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub producer: Option<String>,
    /// Skip the depth check (GET /queue/{id}/stats before and after, where the target has it)
    #[arg(long)]
    pub no_verify: bool,
    /// Write the report as JSON to FILE (written to a temporary name, then renamed)
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// No progress and no summary on stderr
    #[arg(long)]
    pub quiet: bool,
    /// https without checking the server's certificate
    #[arg(long)]
    pub insecure: bool,
    /// Runtime threads [default: one per CPU]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub threads: Option<String>,
}

fn number<T: std::str::FromStr>(flag: &str, text: &str, what: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{flag} must be {what} (got '{text}')"))
}

impl PrepopulateArgs {
    /// The run's settings, and whether the queue ids were made here (and so must be printed).
    pub fn into_config(self) -> Result<(PrepopulateConfig, bool), String> {
        let host = match self.host.or_else(|| std::env::var("PUSHPOP_HOST").ok()) {
            Some(host) if !host.trim().is_empty() => host,
            _ => return Err("--host is required (or set PUSHPOP_HOST), e.g. --host http://localhost:8000".to_owned()),
        };
        let items = parse_count(&self.items).map_err(|err| format!("--items: {err}"))?;
        let (queues, generated) = match &self.queues {
            Some(count) => {
                let count: usize = number("--queues", count, "a number of queues, 1 or more")?;
                if count == 0 || count > 100_000 {
                    return Err(format!("--queues must be 1..=100000 (got {count})"));
                }
                (generate_queue_ids(&self.queue_prefix, count), true)
            }
            None if self.queue.is_empty() => {
                return Err("name the queues to fill: --queue ID (repeatable) or --queues N".to_owned())
            }
            None => (self.queue, false),
        };
        let priorities = match (&self.priorities, &self.priority_weights) {
            (Some(list), _) => Priorities::parse_list(list).map_err(|err| format!("--priorities: {err}"))?,
            (None, Some(weights)) => {
                Priorities::parse_weights(weights).map_err(|err| format!("--priority-weights: {err}"))?
            }
            (None, None) => Priorities::default(),
        };
        let size: ItemSize = self.size.parse().map_err(|err| format!("--size: {err}"))?;
        let timeout: f64 = number("--timeout", &self.timeout, "a number of seconds above 0")?;
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 86_400.0) {
            return Err(format!(
                "--timeout must be a number of seconds above 0 (got '{}')",
                self.timeout
            ));
        }
        let mut config = PrepopulateConfig::new(host, queues, items);
        config.priorities = priorities;
        config.size = size;
        config.connections = number("--connections", &self.connections, "a number of connections, 1 or more")?;
        config.retries = number("--retries", &self.retries, "a number of retries, 0 or more")?;
        config.timeout = Duration::from_secs_f64(timeout);
        config.verify = !self.no_verify;
        config.insecure = self.insecure;
        config.producer = self
            .producer
            .map(|text| number("--producer", &text, "a whole number below 2^53"))
            .transpose()?;
        config.threads = self
            .threads
            .map(|text| number("--threads", &text, "a number of threads, 1 or more"))
            .transpose()?;
        config.check().map_err(|err| err.to_string())?;
        Ok((config, generated))
    }
}

/// The `--json` file: a temporary file beside it from the start (so an unwritable path fails before anything is
/// pushed), renamed into place once the report is written, removed if the run fails.
struct JsonOutput {
    path: PathBuf,
    temp: Option<PathBuf>,
}

impl JsonOutput {
    fn create(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        if path.is_dir() {
            return Err(format!("--json {shown} is a directory"));
        }
        let name = path
            .file_name()
            .ok_or_else(|| format!("--json {shown} names no file"))?
            .to_string_lossy();
        let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        std::fs::File::create(&temp).map_err(|err| format!("cannot write --json {shown}: {err}"))?;
        Ok(Self {
            path: path.to_owned(),
            temp: Some(temp),
        })
    }

    fn commit(mut self, text: &str) -> Result<(), String> {
        let temp = self.temp.take().expect("committed once");
        let written = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, &self.path));
        written.map_err(|err| {
            let _ = std::fs::remove_file(&temp);
            format!("cannot write --json {}: {err}", self.path.display())
        })
    }
}

impl Drop for JsonOutput {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

const PREFIX: &str = "pushpop-load: prepopulate";

/// Runs the subcommand and returns its exit code: 0 done, 2 bad input (an unreachable host included), 1 failed
/// part-way.
pub fn run(args: PrepopulateArgs) -> i32 {
    use std::io::Write as _;
    let quiet = args.quiet;
    let json = args.json.clone();
    let (config, generated) = match args.into_config() {
        Ok(settings) => settings,
        Err(message) => return super::fail(&message, super::EXIT_BAD_INPUT),
    };
    let output = match json.as_deref().map(JsonOutput::create).transpose() {
        Ok(output) => output,
        Err(message) => return super::fail(&message, super::EXIT_BAD_INPUT),
    };
    if generated {
        let mut stdout = std::io::stdout().lock();
        for queue in &config.queues {
            let _ = writeln!(stdout, "{queue}");
        }
        let _ = stdout.flush();
    }
    super::signals::catch_stop_signals();
    let mode = if quiet {
        ProgressMode::Quiet
    } else {
        ProgressMode::auto()
    };
    let mut display = ProgressDisplay::new(mode, config.total(), PREFIX);
    let result = crate::prepopulate::run(&config, &mut |progress| {
        display.update(progress);
        if super::signals::stop_requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    display.finish();
    match result {
        Ok(report) => {
            display.summary(&report);
            match output.map(|output| output.commit(&report.to_json())) {
                Some(Err(message)) => super::fail(&message, 1),
                _ => 0,
            }
        }
        Err(err) => {
            drop(output);
            super::fail(&err.to_string(), err.exit_code())
        }
    }
}
