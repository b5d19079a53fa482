use std::fmt;
use std::str::FromStr;

use super::error::TargetError;
use crate::common::redact_url;

/// Which store backs the queues.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    Memory,
    /// A `postgres://` or `postgresql://` URL, password included (never printed: see `Display`).
    Postgres(String),
}

impl FromStr for StoreSpec {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "memory" {
            Ok(Self::Memory)
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Self::Postgres(text.to_owned()))
        } else {
            Err(TargetError::BadStore(redact_url(text)))
        }
    }
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory"),
            Self::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `--inject drop=P,dup=P[,seed=N]`: faults the target injects into pops, so that a test can prove the integrity
/// checker catches them.
#[derive(Debug, Clone, PartialEq)]
pub struct InjectSpec {
    /// Probability that a popped item is removed and not returned.
    pub drop: f64,
    /// Probability that a popped item is returned and also put back at the front of its priority.
    pub dup: f64,
    /// Seed of the fault sequence; `None` draws one (printed at start).
    pub seed: Option<u64>,
}

impl FromStr for InjectSpec {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| TargetError::BadInject(format!("'{text}': {why}"));
        let (mut drop, mut dup, mut seed) = (None, None, None);
        for part in text.split(',') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(bad(&format!("'{}' is not key=value", part.trim())));
            };
            let (key, value) = (key.trim(), value.trim());
            let probability = || {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| bad(&format!("{key} must be a probability from 0 to 1 (got '{value}')")))
            };
            let slot_taken = match key {
                "drop" => drop.replace(probability()?).is_some(),
                "dup" => dup.replace(probability()?).is_some(),
                "seed" => seed
                    .replace(
                        value
                            .parse::<u64>()
                            .map_err(|_| bad(&format!("seed must be a non-negative integer (got '{value}')")))?,
                    )
                    .is_some(),
                other => return Err(bad(&format!("unknown key '{other}' (use drop, dup and seed)"))),
            };
            if slot_taken {
                return Err(bad(&format!("{key} is given twice")));
            }
        }
        if drop.is_none() && dup.is_none() {
            return Err(bad("give drop=, dup= or both"));
        }
        let (drop, dup) = (drop.unwrap_or(0.0), dup.unwrap_or(0.0));
        if drop + dup > 1.0 {
            return Err(bad("drop + dup must not exceed 1"));
        }
        Ok(Self { drop, dup, seed })
    }
}

/// How a pop answers: the service's two generations of clients read different shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PopShape {
    /// `{"items": [...], "count": n}`; a pop without `depth` also carries the older `"item"` (the first item or
    /// null), so that a client of either generation gets its items.
    #[default]
    Both,
    /// Always `{"items": [...], "count": n}`, as the contract's current answer.
    Items,
    /// Always `{"item": <object or null>}`, one item per pop whatever `depth` says, as older deployments answer.
    Item,
}

impl std::str::FromStr for PopShape {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "both" => Ok(Self::Both),
            "items" => Ok(Self::Items),
            "item" => Ok(Self::Item),
            _ => Err(format!("unknown pop shape '{text}' (use both, items or item)")),
        }
    }
}

/// Everything `pushpop-load target` is told on its command line.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub host: String,
    /// 0 picks a free port; the chosen one is printed on start.
    pub port: u16,
    pub store: StoreSpec,
    /// Largest accepted request body, in bytes; larger ones are answered 413.
    pub max_body: usize,
    /// Connections served at once: each costs a descriptor and buffers, so a runaway client (or a load test with
    /// more users than planned) queues in the listen backlog instead of exhausting them.
    pub max_connections: usize,
    /// Tokio worker threads; `None` means one per CPU.
    pub threads: Option<usize>,
    /// PostgreSQL connections in the pool.
    pub pool_size: usize,
    /// How long in-flight requests may take to finish after SIGINT/SIGTERM, in seconds.
    pub shutdown_grace_secs: u64,
    /// Faults injected into pops (`--inject`); `None` serves the contract faithfully.
    pub inject: Option<InjectSpec>,
    pub pop_shape: PopShape,
}

impl Default for TargetConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8000,
            store: StoreSpec::Memory,
            max_body: 1 << 20,
            max_connections: 10_000,
            threads: None,
            pool_size: 32,
            shutdown_grace_secs: 10,
            inject: None,
            pop_shape: PopShape::Both,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inject_specs() {
        let spec: InjectSpec = "drop=0.001,dup=0.002,seed=7".parse().unwrap();
        assert_eq!(
            spec,
            InjectSpec {
                drop: 0.001,
                dup: 0.002,
                seed: Some(7)
            }
        );
        let spec: InjectSpec = " dup = 1 ".parse().unwrap();
        assert_eq!((spec.drop, spec.dup, spec.seed), (0.0, 1.0, None));
        for (bad, why) in [
            ("", "key=value"),
            ("drop", "key=value"),
            ("drop=2", "probability"),
            ("drop=-0.1", "probability"),
            ("drop=NaN", "probability"),
            ("dup=x", "probability"),
            ("drop=0.1,drop=0.2", "twice"),
            ("lose=0.1", "unknown key 'lose'"),
            ("seed=3", "drop="),
            ("drop=0.1,seed=-1", "seed"),
            ("drop=0.6,dup=0.5", "exceed"),
        ] {
            let err = bad.parse::<InjectSpec>().unwrap_err().to_string();
            assert!(
                err.contains(why) && err.contains("--inject") && !err.contains('\n'),
                "{bad}: {err}"
            );
        }
    }
}
