//! The reference push-pop-actor target: the HTTP contract of `shared/CONTRACT.md` over a memory or PostgreSQL store.

mod config;
mod error;
mod http;
mod inject;
mod memory;
mod postgres;
mod server;
mod store;
mod validate;

pub use config::{InjectSpec, PopShape, StoreSpec, TargetConfig};
pub use error::{Result, StoreError, TargetError};
pub use http::router;
pub use inject::{Fate, InjectCounts, Injector};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use server::{run, serve, Running};
pub use store::{QueueStats, Store};
pub use validate::{parse_depth, parse_priority, validate_queue_id, MAX_DEPTH, MAX_PRIORITY};
