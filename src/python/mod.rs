//! The only module that knows Python: `pushpop_load._native`.

mod errors;
mod grammar;
mod http;
mod integrity;
mod json;
mod metrics;
mod monitor;
mod openmodel;
mod prepopulate;
mod stats;

use pyo3::prelude::*;

/// Runs the `pushpop-load` command line (`argv[0]` is the program name) and returns its exit code. The GIL is
/// released for the whole run, so a long-running subcommand never holds up other Python threads. `default_sigint`
/// (the console command) first gives SIGINT back its default action: Python's handler would otherwise also fire, and
/// raise `KeyboardInterrupt` (a traceback) once the native call returns; done here rather than with Python's `signal`
/// module, whose import is a fifth of the command's start-up.
#[pyfunction]
#[pyo3(signature = (argv, default_sigint = false))]
#[allow(clippy::needless_pass_by_value)] // pyo3 hands over an owned Vec
fn run_cli(py: Python<'_>, argv: Vec<String>, default_sigint: bool) -> i32 {
    if default_sigint {
        // SAFETY: installing the default disposition; no handler code runs
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
    py.detach(|| crate::cli::run(argv))
}

#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::grammar::{parse_count, parse_interval, parse_pids, parse_priorities, parse_switch, Schedule};
    #[pymodule_export]
    use super::http::{
        http_cancel, http_close_idle, http_drain, http_fileno, http_flush, http_in_flight, http_read,
        http_release_pool, http_request_blocking, http_start_waits, http_submit, HeaderList, HttpResult,
        RequestOptions,
    };
    #[pymodule_export]
    use super::integrity::{IntegrityLedger, Marker};
    #[pymodule_export]
    use super::json::json_dumps;
    #[pymodule_export]
    use super::metrics::metrics_text;
    #[pymodule_export]
    use super::monitor::ResourceMonitor;
    #[pymodule_export]
    use super::openmodel::OpenModel;
    #[pymodule_export]
    use super::prepopulate::{prepopulate, PrepopulateReport};
    #[pymodule_export]
    use super::run_cli;
    #[pymodule_export]
    use super::stats::HdrStats;

    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        let py = module.py();
        module.add("__version__", env!("CARGO_PKG_VERSION"))?;
        module.add(
            "build_profile",
            if cfg!(debug_assertions) { "debug" } else { "release" },
        )?;
        module.add("PushpopError", py.get_type::<super::errors::PushpopError>())?;
        module.add(
            "InvalidResponseError",
            py.get_type::<super::errors::InvalidResponseError>(),
        )?;
        module.add("PrepopulateError", py.get_type::<super::errors::PrepopulateError>())?;
        module.add("MonitorError", py.get_type::<super::errors::MonitorError>())?;
        Ok(())
    }
}
