use std::collections::BTreeMap;

use super::error::StoreError;
use super::inject::Injector;
use super::memory::MemoryStore;
use super::postgres::PostgresStore;

/// Depth of one queue, in total and per priority (only priorities that hold items).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub depth: u64,
    pub by_priority: BTreeMap<u32, u64>,
}

/// Where queues live. Items are raw JSON text, stored and returned byte for byte.
pub enum Store {
    Memory(MemoryStore),
    Postgres(PostgresStore),
}

impl Store {
    /// Stores `item` at the tail of `priority` in `queue`; returns once it is durable (committed, for PostgreSQL).
    pub async fn push(&self, queue: &str, priority: u32, item: &str) -> Result<(), StoreError> {
        match self {
            Self::Memory(store) => {
                store.push(queue, priority, item);
                Ok(())
            }
            Self::Postgres(store) => store.push(queue, priority, item).await,
        }
    }

    /// Removes and returns up to `depth` items, most urgent priority first, FIFO within a priority.
    pub async fn pop(&self, queue: &str, depth: usize) -> Result<Vec<Box<str>>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.pop(queue, depth)),
            Self::Postgres(store) => store.pop(queue, depth).await,
        }
    }

    pub async fn stats(&self, queue: &str) -> Result<QueueStats, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.stats(queue)),
            Self::Postgres(store) => store.stats(queue).await,
        }
    }

    /// Whether the store answers right now (`GET /ready`).
    pub async fn ready(&self) -> Result<(), StoreError> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Postgres(store) => store.ready().await,
        }
    }

    /// The fault injector, when the target runs with `--inject`.
    #[must_use]
    pub fn injector(&self) -> Option<&Injector> {
        match self {
            Self::Memory(store) => store.injector(),
            Self::Postgres(store) => store.injector(),
        }
    }

    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            Self::Postgres(_) => "postgres",
        }
    }
}
