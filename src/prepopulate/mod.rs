//! The prepopulator: fills queues with marked items (the integrity marker of every pushed item, sized like the
//! seed's items) at the target's full speed, retrying what can be retried, and checks the result against the
//! target's queue depths where it has them. S2 and S5 run it before their users start.

mod config;
mod conn;
mod error;
mod item;
mod progress;
mod report;
mod rng;
mod run;

pub use config::{generate_queue_ids, parse_count, parse_priority_list, ItemSize, PrepopulateConfig, Priorities};
pub use error::{PrepopulateError, Result};
pub use item::{write_item, ItemFields, MARKER_LIMIT};
pub use progress::{summary, thousands, ProgressDisplay, ProgressMode};
pub use report::{Progress, Report, Verification};
pub use run::run;
