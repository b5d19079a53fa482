//! Open-model load: requests start at the times an arrival-rate schedule says, whatever the answers do, so a
//! service that slows down is measured at the load it was meant to take (no coordinated omission). A driver thread
//! with its own runtime starts each request when it is due, up to a bound on requests in flight; one that cannot
//! start (the bound reached) is counted as dropped. Connections are bounded too: an arrival that finds them all
//! busy waits for one, and one sent behind its time, for that or any reason, is counted as late. Each latency is
//! kept twice: from the intended start (corrected) and from the actual send (raw). Results are handed over in batches:
//! Locust-shaped aggregates and exact histograms.

mod driver;
mod error;
mod schedule;
mod timer;

pub use driver::{Counters, Drained, Driver, DriverConfig, DEFAULT_BATCH_WINDOW};
pub use error::{OpenModelError, Result};
pub use schedule::Schedule;
