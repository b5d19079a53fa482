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

use clap::error::ErrorKind;
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
        // --help, --version, and no subcommand at all: clap's full text is what was asked for
        Err(err) if !err.use_stderr() || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            return if err.use_stderr() { EXIT_BAD_INPUT } else { 0 };
        }
        Err(err) => return fail(&usage_error(&err), EXIT_BAD_INPUT),
    };
    match cli.command {
        Command::Target(args) => {
            init_logging(args.log_level);
            let config = match args.into_config() {
                Ok(config) => config,
                Err(message) => return fail(&message, EXIT_BAD_INPUT),
            };
            match crate::reference_target::run(&config) {
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

/// A usage error as one line, like every other error of the command: clap's message with its details and tips
/// joined, without the usage block (`--help` has it).
fn usage_error(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let mut parts = Vec::new();
    for paragraph in text.split("\n\n") {
        let joined = paragraph.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        let joined = joined.trim();
        if joined.is_empty() || joined.starts_with("Usage:") || joined.starts_with("For more information") {
            continue;
        }
        parts.push(joined.strip_prefix("error: ").unwrap_or(joined).to_owned());
    }
    if parts.is_empty() {
        parts.push(err.kind().to_string());
    }
    format!("{} (see --help)", parts.join("; "))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(argv: &[&str]) -> String {
        usage_error(&Cli::try_parse_from(argv).unwrap_err())
    }

    #[test]
    fn usage_errors_are_one_line() {
        assert_eq!(
            message(&["pushpop-load", "analyze", "x", "--format", "pdf"]),
            "invalid value 'pdf' for '--format <FORMAT>' [possible values: text, md, json, junit, html, hgrm] (see --help)"
        );
        assert_eq!(
            message(&["pushpop-load", "analyze"]),
            "the following required arguments were not provided: <INPUT> (see --help)"
        );
        let unknown = message(&["pushpop-load", "analyze", "x", "--outt", "y"]);
        assert!(
            unknown.starts_with("unexpected argument '--outt' found; tip: a similar argument exists: '--out'"),
            "{unknown}"
        );
        for argv in [
            &["pushpop-load", "target", "--port", "x"][..],
            &["pushpop-load", "monitor", "--interval"],
            &["pushpop-load", "nope"],
            &["pushpop-load", "check", "x", "--alpha", "2"],
        ] {
            let text = message(argv);
            assert!(
                !text.contains('\n') && !text.contains("Usage") && text.ends_with("(see --help)"),
                "{text}"
            );
        }
    }
}
