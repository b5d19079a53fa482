use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::error::PrepopulateError;
use super::rng::Rng;

/// Item sizes of the seed's base user: the item's compact JSON (Python's `json.dumps` with its default
/// separators), marker included, is exactly this many bytes — or, for `small`, as small as the item's fields allow
/// when they alone are longer (a 16-digit producer id makes them ~127 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemSize {
    Small,
    Medium,
    Large,
}

impl ItemSize {
    #[must_use]
    pub fn bytes(self) -> usize {
        match self {
            Self::Small => 100,
            Self::Medium => 1024,
            Self::Large => 10 * 1024,
        }
    }
}

impl FromStr for ItemSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "small" => Ok(Self::Small),
            "medium" => Ok(Self::Medium),
            "large" => Ok(Self::Large),
            _ => Err(format!("unknown item size '{text}' (use small, medium or large)")),
        }
    }
}

impl fmt::Display for ItemSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Small => "small",
            Self::Medium => "medium",
            Self::Large => "large",
        })
    }
}

/// Largest sum of weights: the interleaving cycle is a table of that many entries.
const MAX_WEIGHT_SUM: u64 = 100_000;

/// Which priority each item gets. A fixed cycle, indexed by the item's sequence number, so that every queue gets
/// exactly the proportions asked for, interleaved rather than in blocks, and the expected count per priority is
/// known in advance (a random draw would only approach it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priorities {
    cycle: Vec<u32>,
}

impl Priorities {
    /// Each listed priority in turn: uniform over the list (a repeated entry counts twice).
    pub fn uniform(list: &[u32]) -> Result<Self, String> {
        if list.is_empty() {
            return Err("priorities must list at least one priority".to_owned());
        }
        Ok(Self { cycle: list.to_vec() })
    }

    /// Priorities in proportion to integer weights, interleaved by smooth weighted round-robin: with `0:5,1:3,2:2`
    /// every 10 consecutive items of a queue hold 5, 3 and 2 of them.
    pub fn weighted(weights: &[(u32, u64)]) -> Result<Self, String> {
        let mut seen = std::collections::BTreeSet::new();
        for (priority, _) in weights {
            if !seen.insert(priority) {
                return Err(format!("priority {priority} is weighted twice"));
            }
        }
        let used: Vec<(u32, u64)> = weights.iter().copied().filter(|(_, weight)| *weight > 0).collect();
        // in u128: weights near u64::MAX must be refused, not wrap around to a small sum
        let sum: u128 = used.iter().map(|(_, weight)| u128::from(*weight)).sum();
        if sum == 0 {
            return Err("priority weights must give at least one priority a weight above 0".to_owned());
        }
        let total = u64::try_from(sum)
            .ok()
            .filter(|total| *total <= MAX_WEIGHT_SUM)
            .ok_or_else(|| format!("priority weights must add up to at most {MAX_WEIGHT_SUM} (got {sum})"))?;
        let mut current = vec![0_i128; used.len()];
        let mut cycle = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for _ in 0..total {
            for (slot, (_, weight)) in current.iter_mut().zip(&used) {
                *slot += i128::from(*weight);
            }
            // the highest running weight, the first listed on a tie
            let mut best = 0;
            for (index, value) in current.iter().enumerate() {
                if *value > current[best] {
                    best = index;
                }
            }
            current[best] -= i128::from(total);
            cycle.push(used[best].0);
        }
        Ok(Self { cycle })
    }

    /// `0,1,2`, `0-4` or `0,3-5`: see [`parse_priority_list`] and [`Priorities::uniform`].
    pub fn parse_list(text: &str) -> Result<Self, String> {
        Self::uniform(&parse_priority_list(text)?)
    }

    /// `0:5,1:3,2:2`: see [`Priorities::weighted`].
    pub fn parse_weights(text: &str) -> Result<Self, String> {
        let pairs = text
            .split(',')
            .map(|pair| {
                let (priority, weight) = pair
                    .split_once(':')
                    .ok_or_else(|| format!("'{}' is not priority:weight", pair.trim()))?;
                let weight = weight
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("weight '{}' is not a whole number >= 0", weight.trim()))?;
                Ok((parse_priority(priority.trim())?, weight))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|err| format!("priority weights '{text}': {err} (e.g. 0:5,1:3,2:2)"))?;
        Self::weighted(&pairs)
    }

    /// The priority of the item with sequence number `seq` (in any queue).
    #[must_use]
    pub fn of(&self, seq: u64) -> u32 {
        // the cycle is never empty, and an index below its length fits a usize
        self.cycle[usize::try_from(seq % self.cycle.len() as u64).unwrap_or(0)]
    }

    /// How many of `items` consecutive items (from seq 0) get each priority.
    #[must_use]
    pub fn counts(&self, items: u64) -> std::collections::BTreeMap<u32, u64> {
        let mut counts = std::collections::BTreeMap::new();
        let length = self.cycle.len() as u64;
        for (index, priority) in self.cycle.iter().enumerate() {
            let index = index as u64;
            let times = items / length + u64::from(index < items % length);
            *counts.entry(*priority).or_insert(0) += times;
        }
        counts.retain(|_, count| *count > 0);
        counts
    }
}

impl Default for Priorities {
    fn default() -> Self {
        Self { cycle: vec![0] }
    }
}

/// A priority list as every flag and knob takes it: `0,1,2`, a range `0-4`, or a mix `0,3-5`, in the order written
/// (a repeated priority counts twice where the list is a cycle).
pub fn parse_priority_list(text: &str) -> Result<Vec<u32>, String> {
    let mut list = Vec::new();
    for part in text.split(',').map(str::trim) {
        let bounds = match part.split_once('-') {
            // "-1" is a negative number, not a range
            Some((low, high)) if !low.trim().is_empty() => parse_priority(low.trim()).and_then(|low| {
                let high = parse_priority(high.trim())?;
                if low > high {
                    return Err(format!("the range {part} runs backwards"));
                }
                Ok((low, high))
            }),
            _ => parse_priority(part).map(|priority| (priority, priority)),
        };
        let (low, high) = bounds.map_err(|err| format!("priorities '{text}': {err} (e.g. 0,1,2 or 0-4)"))?;
        if list.len() as u64 + u64::from(high - low) >= MAX_WEIGHT_SUM {
            return Err(format!("priorities '{text}': more than {MAX_WEIGHT_SUM} entries"));
        }
        list.extend(low..=high);
    }
    Ok(list)
}

fn parse_priority(text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .map_err(|_| format!("'{text}' is not a priority (a whole number >= 0)"))
}

/// An item count: `10000`, `10_000`, `10k`, `100K`, `1.5M`, `1m`, `2G` (decimal multiples).
pub fn parse_count(text: &str) -> Result<u64, String> {
    let bad = || format!("'{text}' is not an item count (e.g. 10000, 10k, 100K, 1M)");
    let cleaned: String = text.trim().chars().filter(|c| *c != '_').collect();
    let (number, multiplier) = match cleaned.char_indices().last() {
        Some((at, 'k' | 'K')) => (&cleaned[..at], 1_000_u64),
        Some((at, 'm' | 'M')) => (&cleaned[..at], 1_000_000),
        Some((at, 'g' | 'G' | 'b' | 'B')) => (&cleaned[..at], 1_000_000_000),
        _ => (cleaned.as_str(), 1),
    };
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    match number.split_once('.') {
        None => number
            .parse::<u64>()
            .ok()
            .and_then(|count| count.checked_mul(multiplier))
            .ok_or_else(bad),
        Some((whole, fraction)) => {
            // 1.5M: exact decimal arithmetic, and only when the result is a whole number of items
            if multiplier == 1 || fraction.is_empty() || fraction.contains('.') {
                return Err(bad());
            }
            let scale = 10_u64
                .checked_pow(u32::try_from(fraction.len()).map_err(|_| bad())?)
                .ok_or_else(bad)?;
            let whole: u64 = if whole.is_empty() {
                0
            } else {
                whole.parse().map_err(|_| bad())?
            };
            let fraction: u64 = fraction.parse().map_err(|_| bad())?;
            let scaled = whole
                .checked_mul(scale)
                .and_then(|value| value.checked_add(fraction))
                .and_then(|value| value.checked_mul(multiplier))
                .ok_or_else(bad)?;
            if scaled % scale != 0 {
                return Err(bad());
            }
            Ok(scaled / scale)
        }
    }
}

/// `count` distinct queue ids `<prefix>-<8 random [a-z0-9]>`, the toolkit's form.
#[must_use]
pub fn generate_queue_ids(prefix: &str, count: usize) -> Vec<String> {
    let mut rng = Rng::from_entropy();
    let mut ids: Vec<String> = Vec::with_capacity(count);
    while ids.len() < count {
        let mut suffix = [0_u8; 8];
        rng.fill_alphanumeric(&mut suffix);
        let id = format!("{prefix}-{}", String::from_utf8_lossy(&suffix));
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// What to push, where and how. `run` checks it before anything is sent.
#[derive(Debug, Clone)]
pub struct PrepopulateConfig {
    /// Base URL of the service: `http://host:port` or `https://…`, optionally with a path prefix.
    pub host: String,
    /// Queue ids, each filled with `items` items.
    pub queues: Vec<String>,
    /// Items per queue.
    pub items: u64,
    pub priorities: Priorities,
    pub size: ItemSize,
    /// Connections, each with one push in flight.
    pub connections: usize,
    /// Attempts after the first for one push (5xx, connection errors, timeouts).
    pub retries: u32,
    /// Limit for one attempt: connecting, sending and reading the answer.
    pub timeout: Duration,
    /// Compare the queues' depths (`GET /queue/{id}/stats`, where the target has it) before and after.
    pub verify: bool,
    /// The marker's producer id; random below 2^53 when None.
    pub producer: Option<u64>,
    /// https without checking the certificate.
    pub insecure: bool,
    /// Runtime threads; None: one per CPU this process may use.
    pub threads: Option<usize>,
}

impl PrepopulateConfig {
    /// Settings with the defaults of the command line for everything but the target, its queues and the count.
    #[must_use]
    pub fn new(host: impl Into<String>, queues: Vec<String>, items: u64) -> Self {
        Self {
            host: host.into(),
            queues,
            items,
            priorities: Priorities::default(),
            size: ItemSize::Small,
            connections: 64,
            retries: 5,
            timeout: Duration::from_secs(10),
            verify: true,
            producer: None,
            insecure: false,
            threads: None,
        }
    }

    /// Items over all queues.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.items.saturating_mul(self.queues.len() as u64)
    }

    /// Everything that can be checked without the network.
    pub fn check(&self) -> Result<url::Url, PrepopulateError> {
        let bad = |message: String| Err(PrepopulateError::InvalidConfig(message));
        let url = match url::Url::parse(self.host.trim()) {
            Ok(url) => url,
            Err(err) => {
                let shown = crate::common::redact_url(&self.host);
                return bad(format!("host '{shown}' is not a URL ({err}): use http://host:port"));
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            let shown = crate::common::redact_url(&self.host);
            return bad(format!("host '{shown}' must be an http:// or https:// URL"));
        }
        if url.host().is_none() {
            return bad(format!("host '{}' names no server", self.host));
        }
        if !url.username().is_empty() || url.password().is_some() {
            let shown = crate::common::redact_url(&self.host);
            return bad(format!("host '{shown}': credentials in the URL are not supported"));
        }
        if self.queues.is_empty() {
            return bad("no queue given: name at least one queue id".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        for queue in &self.queues {
            crate::reference_target::validate_queue_id(queue)
                .map_err(|err| PrepopulateError::InvalidConfig(format!("queue id '{queue}': {err}")))?;
            if !seen.insert(queue) {
                return bad(format!("queue id '{queue}' is given twice"));
            }
        }
        if self.connections == 0 || self.connections > 10_000 {
            return bad(format!("connections must be 1..=10000 (got {})", self.connections));
        }
        if self.retries > 100 {
            return bad(format!("retries must be 0..=100 (got {})", self.retries));
        }
        if self.timeout.is_zero() {
            return bad("timeout must be above 0 seconds".to_owned());
        }
        if self
            .producer
            .is_some_and(|producer| producer >= super::item::MARKER_LIMIT)
        {
            return bad(format!(
                "producer id must be below 2^53 (got {})",
                self.producer.unwrap_or(0)
            ));
        }
        if self.threads == Some(0) {
            return bad("threads must be at least 1".to_owned());
        }
        if self
            .items
            .checked_mul(self.queues.len() as u64)
            .is_none_or(|total| total >= super::item::MARKER_LIMIT)
        {
            return bad("too many items: the total must stay below 2^53".to_owned());
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        for (text, expected) in [
            ("10000", 10_000),
            ("10k", 10_000),
            ("100K", 100_000),
            ("1M", 1_000_000),
            ("1m", 1_000_000),
            ("1.5M", 1_500_000),
            ("2.5k", 2_500),
            ("1_000", 1_000),
            (" 7 ", 7),
            ("0", 0),
            ("1G", 1_000_000_000),
        ] {
            assert_eq!(parse_count(text), Ok(expected), "{text}");
        }
        for bad in [
            "",
            "-1",
            "k",
            "1.5",
            "1.0001k",
            "ten",
            "1e6",
            "1.2.3M",
            "99999999999999999999",
            "3 items",
        ] {
            assert!(parse_count(bad).is_err(), "{bad}");
        }
        assert!(parse_count("-1").unwrap_err().contains("'-1'"));
    }

    #[test]
    fn sizes() {
        assert_eq!("small".parse(), Ok(ItemSize::Small));
        assert_eq!("Large".parse(), Ok(ItemSize::Large));
        assert_eq!(ItemSize::Medium.bytes(), 1024);
        assert!("huge"
            .parse::<ItemSize>()
            .unwrap_err()
            .contains("small, medium or large"));
    }

    #[test]
    fn uniform_priorities_cycle() {
        let priorities = Priorities::parse_list("0, 1,2").unwrap();
        assert_eq!(
            (0..6).map(|seq| priorities.of(seq)).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1, 2]
        );
        assert_eq!(
            priorities.counts(1000).into_iter().collect::<Vec<_>>(),
            [(0, 334), (1, 333), (2, 333)]
        );
        assert_eq!(priorities.counts(0).len(), 0);
        for bad in ["", "a", "-1", "0,,1", "1.5", "4-0", "0-", "-", "0-99999999", "1-2-3"] {
            assert!(Priorities::parse_list(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_priority_list("0-4").unwrap(), [0, 1, 2, 3, 4]);
        assert_eq!(parse_priority_list(" 0, 3-5 ,1").unwrap(), [0, 3, 4, 5, 1]);
        assert!(parse_priority_list("4-0").unwrap_err().contains("runs backwards"));
    }

    #[test]
    fn weights_are_exact_per_cycle_and_interleaved() {
        let priorities = Priorities::parse_weights("0:5,1:3,2:2").unwrap();
        let first: Vec<u32> = (0..10).map(|seq| priorities.of(seq)).collect();
        assert_eq!(first, [0, 1, 2, 0, 0, 1, 0, 2, 1, 0]);
        assert_eq!(
            priorities.counts(1000).into_iter().collect::<Vec<_>>(),
            [(0, 500), (1, 300), (2, 200)]
        );
        // counts() agrees with the cycle itself for a count that is not a whole number of cycles
        let mut tally = std::collections::BTreeMap::new();
        for seq in 0..1234 {
            *tally.entry(priorities.of(seq)).or_insert(0_u64) += 1;
        }
        assert_eq!(tally, priorities.counts(1234));
        let zero = Priorities::parse_weights("0:0,4:1").unwrap();
        assert_eq!(zero.counts(3).into_iter().collect::<Vec<_>>(), [(4, 3)]);
        for bad in ["0:5,0:1", "0:0", "0", "0:x", "x:1", "0:-1", "0:100001", ""] {
            assert!(Priorities::parse_weights(bad).is_err(), "{bad}");
        }
        let err = Priorities::parse_weights("0:18446744073709551615,1:1").unwrap_err();
        assert!(err.ends_with("(got 18446744073709551616)"), "{err}");
    }

    #[test]
    fn queue_ids() {
        let ids = generate_queue_ids("s2", 50);
        assert_eq!(ids.len(), 50);
        for id in &ids {
            let suffix = id.strip_prefix("s2-").unwrap();
            assert_eq!(suffix.len(), 8);
            assert!(suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        }
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 50);
    }

    #[test]
    fn config_checks() {
        let ok = PrepopulateConfig::new("http://127.0.0.1:8000", vec!["q".to_owned()], 10);
        assert!(ok.check().is_ok());
        let cases: Vec<(PrepopulateConfig, &str)> = vec![
            (
                PrepopulateConfig::new("ftp://x", vec!["q".into()], 1),
                "http:// or https://",
            ),
            (
                PrepopulateConfig::new("localhost:8000", vec!["q".into()], 1),
                "http:// or https://",
            ),
            (PrepopulateConfig::new("not a url", vec!["q".into()], 1), "not a URL"),
            (
                PrepopulateConfig::new("http://u:secret@h", vec!["q".into()], 1),
                "credentials",
            ),
            (PrepopulateConfig::new("http://h", vec![], 1), "no queue"),
            (
                PrepopulateConfig::new("http://h", vec!["a b".into()], 1),
                "queue id 'a b'",
            ),
            (
                PrepopulateConfig::new("http://h", vec!["q".into(), "q".into()], 1),
                "twice",
            ),
        ];
        for (config, words) in cases {
            let message = config.check().unwrap_err().to_string();
            assert!(message.contains(words) && !message.contains("secret"), "{message}");
        }
        let mut zero = ok.clone();
        zero.connections = 0;
        assert!(zero.check().is_err());
        let mut producer = ok;
        producer.producer = Some(1 << 53);
        assert!(producer.check().is_err());
    }
}
