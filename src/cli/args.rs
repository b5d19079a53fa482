use clap::{Args, Parser, Subcommand, ValueEnum};

use super::analyze::AnalyzeArgs;
use crate::common::parse_byte_size;
use crate::reference_target::{InjectSpec, PopShape, StoreSpec, TargetConfig};

#[derive(Debug, Parser)]
#[command(
    name = "pushpop-load",
    version,
    about = "Load-testing toolkit for the push-pop-actor queue service"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the reference push-pop-actor server (memory or PostgreSQL store)
    Target(TargetArgs),
    /// Fill queues with marked items at the target's full speed, then check their depths
    Prepopulate(Box<super::prepopulate::PrepopulateArgs>),
    /// Sample processes, cgroups, containers and PostgreSQL into a CSV file and a JSON summary
    Monitor(Box<super::monitor::MonitorArgs>),
    /// Report on a run's results: per-endpoint table, thresholds, baseline comparison (text, md, json, junit, html,
    /// hgrm)
    Analyze(AnalyzeArgs),
    /// Check a run against thresholds and/or a baseline: exit 0 all hold, 1 any fails, 2 unreadable input
    Check(AnalyzeArgs),
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Address to listen on (loopback by default)
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (the address is printed on start)
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// 'memory', or a postgres://user:password@host:port/database URL
    // Parsed in into_config, not by clap: clap would echo a rejected URL, password included.
    #[arg(long, default_value = "memory")]
    pub store: String,
    /// Largest request body accepted, e.g. 1048576, 512KiB, 1MiB (larger bodies get 413)
    #[arg(long, default_value = "1MiB", value_parser = parse_byte_size)]
    pub max_body: usize,
    /// Connections served at once; more wait in the listen backlog until one closes
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Worker threads (default: one per CPU)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// PostgreSQL connections in the pool
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub pool_size: u16,
    /// Seconds that in-flight requests may take to finish after SIGINT/SIGTERM
    #[arg(long, default_value_t = 10)]
    pub shutdown_grace: u64,
    /// Log verbosity on stderr
    #[arg(long, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,
    /// Fault injection for testing integrity checks: pops lose (drop) and duplicate (dup) items with these
    /// probabilities, e.g. drop=0.001,dup=0.001[,seed=N]; counts at GET /inject
    // Parsed in into_config, so that a bad value is one line, as other start-up errors are.
    #[arg(long, value_name = "SPEC")]
    pub inject: Option<String>,
    /// Pop answers: 'both' gives {"items": [...], "count": n}, plus the older {"item": ...} when a pop has no depth
    /// (clients of either generation get their items); 'items' only the first; 'item' only the older, one item
    #[arg(long, value_name = "both|items|item", default_value = "both", value_parser = str::parse::<PopShape>)]
    pub pop_shape: PopShape,
}

impl TargetArgs {
    pub fn into_config(self) -> Result<TargetConfig, String> {
        if self.host.trim().is_empty() {
            return Err("--host must not be empty".to_owned());
        }
        Ok(TargetConfig {
            host: self.host,
            port: self.port,
            store: self.store.parse::<StoreSpec>().map_err(|err| err.to_string())?,
            max_body: self.max_body,
            max_connections: self.max_connections as usize,
            threads: self.threads.map(usize::from),
            pool_size: usize::from(self.pool_size),
            shutdown_grace_secs: self.shutdown_grace,
            inject: self
                .inject
                .as_deref()
                .map(str::parse::<InjectSpec>)
                .transpose()
                .map_err(|err| err.to_string())?,
            pop_shape: self.pop_shape,
        })
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    #[must_use]
    pub fn as_tracing(self) -> tracing::Level {
        match self {
            Self::Error => tracing::Level::ERROR,
            Self::Warn => tracing::Level::WARN,
            Self::Info => tracing::Level::INFO,
            Self::Debug => tracing::Level::DEBUG,
            Self::Trace => tracing::Level::TRACE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(args: &[&str]) -> Result<TargetArgs, clap::Error> {
        let argv = ["pushpop-load", "target"].iter().chain(args).copied();
        Cli::try_parse_from(argv).map(|cli| {
            let Command::Target(target) = cli.command else {
                panic!("parsed as another subcommand")
            };
            target
        })
    }

    #[test]
    fn defaults() {
        let config = target(&[]).unwrap().into_config().unwrap();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 8000);
        assert_eq!(config.store, StoreSpec::Memory);
        assert_eq!(config.max_body, 1 << 20);
        assert_eq!(config.threads, None);
    }

    #[test]
    fn values() {
        let config = target(&[
            "--port",
            "0",
            "--max-body",
            "2KiB",
            "--threads",
            "1",
            "--store",
            "postgres://u:p@h/db",
        ])
        .unwrap()
        .into_config()
        .unwrap();
        assert_eq!((config.port, config.max_body, config.threads), (0, 2048, Some(1)));
        assert_eq!(config.store.to_string(), "postgres://u:***@h/db");
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [
            &["--port", "70000"][..],
            &["--max-body", "lots"],
            &["--threads", "0"],
            &["--log-level", "loud"],
            &["--nope"],
        ] {
            let err = target(bad).unwrap_err();
            assert!(err.use_stderr(), "{bad:?}");
        }
    }

    #[test]
    fn bad_store_is_named_without_its_password() {
        let err = target(&["--store", "mysql://u:hunter2@h/db"])
            .unwrap()
            .into_config()
            .unwrap_err();
        assert!(err.contains("mysql://u:***@h/db") && !err.contains("hunter2"), "{err}");
    }
}
