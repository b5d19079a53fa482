//! PostgreSQL: one statement per tick over one connection, reading only views a role with `pg_monitor` may read.

use std::str::FromStr as _;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, Statement};

use super::error::{MonitorError, Result};
use super::sample::{Presence, SourceInfo};
use crate::common::{error_chain, redact_url};

const METRICS: &[&str] = &[
    "connections",
    "active",
    "idle",
    "idle_in_transaction",
    "max_connections",
    "waiting_locks",
    "longest_query_s",
    "commits_per_s",
    "rollbacks_per_s",
    "inserted_per_s",
    "deleted_per_s",
    "cache_hit_pct",
    "deadlocks",
    "size_bytes",
];

/// Connections of the database (this monitor's own left out), the counters of `pg_stat_database` and the age of
/// the longest running statement. `pg_monitor` grants `pg_read_all_stats`, which is what makes other roles'
/// `query_start` and `pg_database_size` readable.
const QUERY: &str = "WITH a AS (
    SELECT state, query_start FROM pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
)
SELECT
    (SELECT count(*) FROM a),
    (SELECT count(*) FROM a WHERE state = 'active'),
    (SELECT count(*) FROM a WHERE state = 'idle'),
    (SELECT count(*) FROM a WHERE state LIKE 'idle in transaction%'),
    current_setting('max_connections')::bigint,
    (SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
        WHERE NOT l.granted AND s.datname = current_database()),
    (SELECT COALESCE(EXTRACT(EPOCH FROM max(clock_timestamp() - query_start)), 0)::float8
        FROM a WHERE state = 'active'),
    d.xact_commit, d.xact_rollback, d.tup_inserted, d.tup_deleted, d.blks_hit, d.blks_read, d.deadlocks,
    pg_database_size(current_database())
FROM pg_stat_database d WHERE d.datname = current_database()";

/// Counters of `pg_stat_database`, in order: commits, rollbacks, inserted, deleted, blocks hit, blocks read,
/// deadlocks.
type Counters = [i64; 7];

struct Reading {
    at: Instant,
    gauges: [f64; 7],
    counters: Counters,
    size: f64,
}

/// Reconnection attempts while the server is away: often enough to resume within a second of its return.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);
/// A connection attempt may take this long at most (and never more than the tick's budget).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct PostgresSource {
    info: SourceInfo,
    config: tokio_postgres::Config,
    redacted: String,
    connection: Option<(Client, Statement)>,
    last_attempt: Option<Instant>,
    previous: Option<Reading>,
    /// Deadlocks since the monitor started, summed over counter resets.
    deadlocks: i64,
    presence: Presence,
}

async fn connect(config: &tokio_postgres::Config) -> std::result::Result<(Client, Statement), String> {
    let (client, connection) = config.connect(NoTls).await.map_err(|err| error_chain(&err))?;
    tokio::spawn(async move {
        // ends when the server goes away or the client is dropped; the next query says which
        let _ = connection.await;
    });
    let statement = client.prepare(QUERY).await.map_err(|err| error_chain(&err))?;
    Ok((client, statement))
}

impl PostgresSource {
    /// Connects and runs the statement once: a wrong URL, an unreachable server or a role that cannot read the
    /// views fails here, as one line without the password. Call inside the monitor's runtime.
    pub async fn start(url: &str) -> Result<Self> {
        let redacted = redact_url(url);
        let mut config = tokio_postgres::Config::from_str(url).map_err(|err| MonitorError::BadDsn {
            url: redacted.clone(),
            reason: error_chain(&err),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("pushpop-load-monitor");
        }
        let database = config
            .get_dbname()
            .or_else(|| config.get_user())
            .unwrap_or("postgres")
            .to_owned();
        let fail = |reason: String| MonitorError::Postgres {
            url: redacted.clone(),
            reason,
        };
        let connection = connect(&config).await.map_err(fail)?;
        let mut source = Self {
            info: SourceInfo {
                kind: "postgres",
                label: format!("postgres:{database}"),
                metrics: METRICS.to_vec(),
            },
            config,
            redacted: redacted.clone(),
            connection: Some(connection),
            last_attempt: None,
            previous: None,
            deadlocks: 0,
            presence: Presence::Up,
        };
        let reading = source.read().await.map_err(fail)?;
        source.previous = Some(reading);
        Ok(source)
    }

    #[must_use]
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// Gives the source a label of its own when two URLs name the same database.
    pub fn relabel(&mut self, label: String) {
        self.info.label = label;
    }

    #[must_use]
    pub fn host_label(&self) -> String {
        let host = self
            .config
            .get_hosts()
            .first()
            .map_or_else(String::new, |host| match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            });
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!("{}@{host}:{port}", self.info.label)
    }

    async fn read(&mut self) -> std::result::Result<Reading, String> {
        let (client, statement) = self.connection.as_ref().ok_or("not connected")?;
        let row = client
            .query_opt(statement, &[])
            .await
            .map_err(|err| error_chain(&err))?;
        let row = row.ok_or("the database is not in pg_stat_database")?;
        let int = |index: usize| row.try_get::<_, i64>(index).map_err(|err| error_chain(&err));
        #[allow(clippy::cast_precision_loss)]
        let gauges = [
            int(0)? as f64,
            int(1)? as f64,
            int(2)? as f64,
            int(3)? as f64,
            int(4)? as f64,
            int(5)? as f64,
            row.try_get::<_, f64>(6).map_err(|err| error_chain(&err))?,
        ];
        let mut counters = [0; 7];
        for (slot, index) in counters.iter_mut().zip(7..) {
            *slot = int(index)?;
        }
        #[allow(clippy::cast_precision_loss)]
        let size = int(14)? as f64;
        Ok(Reading {
            at: Instant::now(),
            gauges,
            counters,
            size,
        })
    }

    /// This tick's cells. While the server is away they are empty; reconnection is tried once a second within the
    /// tick's `budget`, and rates start again from the first reading after it returns.
    pub async fn sample(&mut self, budget: Duration, notes: &mut Vec<String>) -> Vec<Option<f64>> {
        let empty = vec![None; METRICS.len()];
        if self.connection.is_none() {
            if self.last_attempt.is_some_and(|at| at.elapsed() < RECONNECT_EVERY) {
                return empty;
            }
            self.last_attempt = Some(Instant::now());
            match tokio::time::timeout(budget, connect(&self.config)).await {
                Ok(Ok(connection)) => self.connection = Some(connection),
                _ => return empty,
            }
        }
        let read = match tokio::time::timeout(budget, self.read()).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} ms", budget.as_millis())),
        };
        let label = &self.info.label;
        let redacted = &self.redacted;
        match read {
            Ok(reading) => {
                self.presence.set(true, notes, String::new, || {
                    format!("{label}: {redacted} answers again, sampling again")
                });
                let row = self.row(&reading);
                self.previous = Some(reading);
                row
            }
            Err(reason) => {
                self.presence.set(
                    false,
                    notes,
                    || format!("{label}: {redacted}: {reason}; its cells stay empty until it is back"),
                    String::new,
                );
                // a closed connection is replaced; a slow one is kept (its answer is dropped when it comes)
                if self.connection.as_ref().is_some_and(|(client, _)| client.is_closed()) {
                    self.connection = None;
                    self.last_attempt = Some(Instant::now());
                }
                self.previous = None;
                empty
            }
        }
    }

    fn row(&mut self, reading: &Reading) -> Vec<Option<f64>> {
        decode_row(self.previous.as_ref(), reading, &mut self.deadlocks)
    }
}

/// This tick's cells from a reading and the one before it: the gauges as read, rates of the counters, the cache
/// hit ratio and the deadlocks since the monitor started (summed into `deadlocks`). The counters are whatever the
/// server sent: a reset (or a server that lies) goes back or jumps by more than i64 holds, and neither may panic.
fn decode_row(previous: Option<&Reading>, reading: &Reading, deadlocks: &mut i64) -> Vec<Option<f64>> {
    let mut row: Vec<Option<f64>> = reading.gauges.iter().copied().map(Some).collect();
    let elapsed = previous.map_or(0.0, |p| reading.at.saturating_duration_since(p.at).as_secs_f64());
    // a counter that went back was reset (a crash, pg_stat_reset): no figure across that
    let delta = |index: usize| {
        previous
            .and_then(|p| reading.counters[index].checked_sub(p.counters[index]))
            .filter(|d| *d >= 0)
    };
    #[allow(clippy::cast_precision_loss)]
    let rate = |index: usize| delta(index).filter(|_| elapsed > 0.0).map(|d| d as f64 / elapsed);
    // this monitor's own statement commits once per reading: not the load's
    let commits = rate(0).map(|per_s| (per_s - 1.0 / elapsed).max(0.0));
    row.extend([commits, rate(1), rate(2), rate(3)]);
    #[allow(clippy::cast_precision_loss)]
    let hit_pct = match (delta(4), delta(5)) {
        (Some(hit), Some(read)) => hit
            .checked_add(read)
            .filter(|all| *all > 0)
            .map(|all| hit as f64 / all as f64 * 100.0),
        _ => None,
    };
    *deadlocks = deadlocks.saturating_add(delta(6).unwrap_or(0));
    #[allow(clippy::cast_precision_loss)]
    row.extend([hit_pct, Some(*deadlocks as f64), Some(reading.size)]);
    row
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn reading(at: Instant, counters: Counters) -> Reading {
        Reading {
            at,
            gauges: [3.0, 1.0, 2.0, 0.0, 100.0, 0.0, 0.25],
            counters,
            size: 8e6,
        }
    }

    #[test]
    fn rates_against_the_previous_reading() {
        let start = Instant::now();
        let before = reading(start, [10, 0, 100, 5, 90, 10, 1]);
        let after = reading(start + Duration::from_secs(2), [31, 2, 300, 5, 180, 10, 3]);
        let mut deadlocks = 0;
        let row = decode_row(Some(&before), &after, &mut deadlocks);
        assert_eq!(row.len(), METRICS.len());
        // 21 commits in 2 s, less the monitor's own one
        assert_eq!(row[7..11], [Some(10.0), Some(1.0), Some(100.0), Some(0.0)]);
        assert_eq!((row[11], row[12], row[13]), (Some(100.0), Some(2.0), Some(8e6)));
        assert!(decode_row(None, &after, &mut deadlocks)[7..12]
            .iter()
            .all(Option::is_none));
    }

    fn counters() -> impl Strategy<Value = Counters> {
        let counter = prop_oneof![0i64..1_000_000, any::<i64>(), Just(i64::MIN), Just(i64::MAX)];
        proptest::array::uniform7(counter)
    }

    proptest! {
        #![proptest_config(crate::common::fuzz_config(256))]

        /// Counters anywhere in i64 (a reset, a wrap, a server that lies), any interval: the row decodes without
        /// overflow; rates are finite and non-negative or absent; the hit ratio is a percentage; deadlocks only grow.
        #[test]
        fn fuzz_postgres_rows(
            before in counters(),
            after in counters(),
            millis in prop_oneof![Just(0u64), 1u64..10_000],
            deadlocks in prop_oneof![Just(0i64), Just(i64::MAX - 1), 0i64..100],
        ) {
            let start = Instant::now();
            let previous = reading(start, before);
            let now = reading(start + Duration::from_millis(millis), after);
            let mut total = deadlocks;
            let row = decode_row(Some(&previous), &now, &mut total);
            prop_assert_eq!(row.len(), METRICS.len());
            for value in row.iter().flatten() {
                prop_assert!(value.is_finite() && *value >= 0.0, "{:?}", row);
            }
            if let Some(pct) = row[11] {
                prop_assert!((0.0..=100.0).contains(&pct));
            }
            prop_assert!(total >= deadlocks);
            for index in 1..4 {
                let expected = (millis > 0 && after[index] >= before[index])
                    .then(|| after[index].checked_sub(before[index]))
                    .flatten();
                #[allow(clippy::cast_precision_loss)]
                let expected = expected.map(|d| d as f64 / (millis as f64 / 1000.0));
                match (row[7 + index], expected) {
                    (Some(got), Some(expected)) => prop_assert!((got - expected).abs() <= expected * 1e-12),
                    (got, expected) => prop_assert_eq!(got, expected),
                }
            }
        }
    }
}
