//! The `pushpop-load` command line, parsed here so every subcommand behaves alike whatever calls it.

mod analyze;
mod args;
mod monitor;
mod prepopulate;
mod signals;

pub use analyze::AnalyzeArgs;
pub use args::{Cli, Command, LogLevel, TargetArgs};
pub use monitor::MonitorArgs;
pub use prepopulate::PrepopulateArgs;

use clap::Parser as _;

/// Exit code for bad input: a flag, a value, a port, an unreachable server named on the command line.
pub const EXIT_BAD_INPUT: i32 = 2;

/// Runs `pushpop-load` with `argv` (program name first) and returns the process exit code.
pub fn run<I, T>(argv: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { EXIT_BAD_INPUT } else { 0 };
        }
    };
    match cli.command {
        Command::Target(args) => {
            init_logging(args.log_level);
            let config = match args.into_config() {
                Ok(config) => config,
                Err(message) => return fail(&message, EXIT_BAD_INPUT),
            };
            match crate::target::run(&config) {
                Ok(()) => 0,
                Err(err) => fail(&err.to_string(), err.exit_code()),
            }
        }
        Command::Prepopulate(args) => prepopulate::run(*args),
        Command::Monitor(args) => monitor::run(*args),
        Command::Analyze(args) => analyze::run_analyze(args, false),
        Command::Check(args) => analyze::run_analyze(args, true),
    }
}

fn fail(message: &str, code: i32) -> i32 {
    eprintln!("pushpop-load: error: {message}");
    code
}

fn init_logging(level: LogLevel) {
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(level.as_tracing())
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
