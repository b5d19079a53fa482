use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::Mutex;
use tokio_postgres::NoTls;

use super::error::{StoreError, TargetError};
use super::inject::{Fate, Injector};
use super::store::QueueStats;
use crate::common::{error_chain, redact_url};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS pushpop_items (
    queue_id text NOT NULL,
    priority integer NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    item text NOT NULL,
    PRIMARY KEY (queue_id, priority, seq)
)";
const PUSH: &str = "INSERT INTO pushpop_items (queue_id, priority, item) VALUES ($1, $2, $3)";
// One statement: the first N rows by (priority, seq) are deleted and returned, so the pop commits as a unit.
const POP: &str = "DELETE FROM pushpop_items WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM pushpop_items WHERE queue_id = $1 ORDER BY priority, seq LIMIT $2
)) RETURNING priority, seq, item";
// A duplicate goes back under its own (priority, seq): free again since the pop deleted it, and lower than any seq
// still queued at that priority, so it is at the front.
const PUT_BACK: &str =
    "INSERT INTO pushpop_items (queue_id, priority, seq, item) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4)";
const STATS: &str = "SELECT priority, count(*) FROM pushpop_items WHERE queue_id = $1 GROUP BY priority";

/// Pops of one queue must apply one at a time (the service's actor model); striped locks give that without a lock
/// per queue id. Pushes need none: each is one committed INSERT whose sequence number fixes its place.
const POP_LOCK_STRIPES: usize = 256;
/// Every operation, waiting for a connection included, ends within this; a hung database must not hang clients.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// Short, so that requests fail fast while PostgreSQL is away instead of queueing behind a dead pool.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// (priority, seq) of the put-back copies still queued, per queue.
type PutBack = HashMap<Box<str>, HashSet<(i32, i64)>>;

/// Queues in one PostgreSQL table; a push is answered after its INSERT committed.
pub struct PostgresStore {
    pool: Pool,
    pop_locks: Box<[Mutex<()>]>,
    hasher: std::collections::hash_map::RandomState,
    inject: Option<Arc<Injector>>,
    /// With fault injection: the (priority, seq) of put-back copies per queue, exempt from further faults.
    exempt: std::sync::Mutex<PutBack>,
}

impl PostgresStore {
    /// Connects (failing at once when the server is unreachable) and creates the schema if it is absent.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self, TargetError> {
        let connect_error = |reason: String| TargetError::StoreConnect {
            url: redact_url(url),
            reason,
        };
        let mut config = tokio_postgres::Config::from_str(url).map_err(|err| connect_error(error_chain(&err)))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("pushpop-load-target");
        }
        // Fast recycling checks only that the socket is open; a connection broken by a server restart fails its
        // next query (answered 503) and is then dropped, so the pool heals itself when the server is back.
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(OPERATION_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|err| connect_error(err.to_string()))?;
        let client = pool.get().await.map_err(|err| connect_error(error_chain(&err)))?;
        if let Err(first) = client.batch_execute(SCHEMA).await {
            // Two targets starting at once can race on CREATE TABLE IF NOT EXISTS; the second try sees the table.
            client
                .batch_execute(SCHEMA)
                .await
                .map_err(|_| connect_error(error_chain(&first)))?;
        }
        drop(client);
        let pop_locks = (0..POP_LOCK_STRIPES).map(|_| Mutex::new(())).collect();
        Ok(Self {
            pool,
            pop_locks,
            hasher: std::collections::hash_map::RandomState::new(),
            inject: None,
            exempt: std::sync::Mutex::default(),
        })
    }

    /// Pops lose and duplicate items as `injector` decides (`--inject`).
    #[must_use]
    pub fn with_injector(mut self, injector: Arc<Injector>) -> Self {
        self.inject = Some(injector);
        self
    }

    #[must_use]
    pub fn injector(&self) -> Option<&Injector> {
        self.inject.as_deref()
    }

    /// Whether (priority, seq) of `queue` is a put-back copy, forgetting it: it is being popped.
    fn take_exempt(&self, queue: &str, priority: i32, seq: i64) -> bool {
        let mut exempt = self.exempt.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(copies) = exempt.get_mut(queue) else {
            return false;
        };
        let found = copies.remove(&(priority, seq));
        if copies.is_empty() {
            exempt.remove(queue);
        }
        found
    }

    /// Applies each popped item's fate; runs under the queue's pop lock, so the copies are back before the next pop.
    async fn inject(
        &self,
        client: &deadpool_postgres::Client,
        injector: &Injector,
        queue: &str,
        items: Vec<(i32, i64, String)>,
    ) -> Result<Vec<Box<str>>, StoreError> {
        let mut delivered = Vec::with_capacity(items.len());
        let mut put_back = 0;
        for (priority, seq, item) in items {
            if self.take_exempt(queue, priority, seq) {
                delivered.push(item.into_boxed_str());
                continue;
            }
            match injector.fate() {
                Fate::Deliver => delivered.push(item.into_boxed_str()),
                Fate::Drop => {}
                Fate::Duplicate => {
                    let statement = client.prepare_cached(PUT_BACK).await.map_err(unavailable)?;
                    match client.execute(&statement, &[&queue, &priority, &seq, &item]).await {
                        Ok(_) => {
                            put_back += 1;
                            self.exempt
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .entry(queue.into())
                                .or_default()
                                .insert((priority, seq));
                        }
                        // delivered once, not duplicated: the count stays exact
                        Err(err) => {
                            tracing::warn!("fault injection: could not put a duplicate back: {}", error_chain(&err));
                        }
                    }
                    delivered.push(item.into_boxed_str());
                }
            }
        }
        injector.put_back(put_back);
        Ok(delivered)
    }

    pub async fn push(&self, queue: &str, priority: u32, item: &str) -> Result<(), StoreError> {
        let priority = i32::try_from(priority).map_err(|_| StoreError::Unavailable("priority out of range".into()))?;
        bounded(async {
            let client = self.pool.get().await.map_err(unavailable)?;
            let statement = client.prepare_cached(PUSH).await.map_err(unavailable)?;
            client
                .execute(&statement, &[&queue, &priority, &item])
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    pub async fn pop(&self, queue: &str, depth: usize) -> Result<Vec<Box<str>>, StoreError> {
        let limit = i64::try_from(depth).unwrap_or(i64::MAX);
        bounded(async {
            let stripe =
                usize::try_from(std::hash::BuildHasher::hash_one(&self.hasher, queue) % POP_LOCK_STRIPES as u64)
                    .unwrap_or(0);
            let _turn = self.pop_locks[stripe].lock().await;
            let client = self.pool.get().await.map_err(unavailable)?;
            let statement = client.prepare_cached(POP).await.map_err(unavailable)?;
            let rows = client.query(&statement, &[&queue, &limit]).await.map_err(unavailable)?;
            // RETURNING gives no order; the contract's order is (priority, seq).
            let mut items: Vec<(i32, i64, String)> =
                rows.iter().map(|row| (row.get(0), row.get(1), row.get(2))).collect();
            items.sort_unstable_by_key(|(priority, seq, _)| (*priority, *seq));
            if let Some(injector) = &self.inject {
                return self.inject(&client, injector, queue, items).await;
            }
            Ok(items.into_iter().map(|(_, _, item)| item.into_boxed_str()).collect())
        })
        .await
    }

    pub async fn stats(&self, queue: &str) -> Result<QueueStats, StoreError> {
        bounded(async {
            let client = self.pool.get().await.map_err(unavailable)?;
            let statement = client.prepare_cached(STATS).await.map_err(unavailable)?;
            let rows = client.query(&statement, &[&queue]).await.map_err(unavailable)?;
            let mut stats = QueueStats::default();
            for row in rows {
                let (priority, count): (i32, i64) = (row.get(0), row.get(1));
                let count = u64::try_from(count).unwrap_or(0);
                stats.depth += count;
                stats.by_priority.insert(u32::try_from(priority).unwrap_or(0), count);
            }
            Ok(stats)
        })
        .await
    }

    pub async fn ready(&self) -> Result<(), StoreError> {
        bounded(async {
            let client = self.pool.get().await.map_err(unavailable)?;
            client.simple_query("SELECT 1").await.map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}

async fn bounded<T>(operation: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    tokio::time::timeout(OPERATION_TIMEOUT, operation)
        .await
        .unwrap_or(Err(StoreError::Timeout(OPERATION_TIMEOUT.as_millis())))
}

#[allow(clippy::needless_pass_by_value)] // used as map_err(unavailable)
fn unavailable(err: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(error_chain(&err))
}
