use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::store::QueueStats;

/// Enough shards that 100 busy queues rarely share a lock on a 2-core box, few enough to stay cache-friendly.
const SHARDS: usize = 64;

/// One queue: a FIFO per priority. Empty priorities are removed, so the first entry is always the most urgent.
#[derive(Default)]
struct Queue {
    by_priority: BTreeMap<u32, VecDeque<Box<str>>>,
    len: usize,
}

type Shard = HashMap<Box<str>, Queue>;

/// Queues in memory, sharded by queue id so that different queues do not contend on one lock. Operations on one
/// queue hold its shard's lock, so they apply one at a time, as the service's actors do.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl MemoryStore {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn shard(&self, queue: &str) -> MutexGuard<'_, Shard> {
        let index = usize::try_from(self.hasher.hash_one(queue) % SHARDS as u64).unwrap_or(0);
        // A panic while holding the lock cannot leave a queue half-updated (every mutation is one push or pop on
        // a VecDeque), so a poisoned lock is still safe to use.
        self.shards[index].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// O(log priorities) ≈ O(1).
    pub fn push(&self, queue: &str, priority: u32, item: &str) {
        let mut shard = self.shard(queue);
        let entry = match shard.get_mut(queue) {
            Some(entry) => entry,
            None => shard.entry(queue.into()).or_default(),
        };
        entry.by_priority.entry(priority).or_default().push_back(item.into());
        entry.len += 1;
    }

    /// O(depth): takes from the most urgent priority first and may span several priorities.
    #[must_use]
    pub fn pop(&self, queue: &str, depth: usize) -> Vec<Box<str>> {
        let mut shard = self.shard(queue);
        let Some(entry) = shard.get_mut(queue) else {
            return Vec::new();
        };
        let mut items = Vec::with_capacity(depth.min(entry.len));
        while items.len() < depth {
            let Some(mut first) = entry.by_priority.first_entry() else {
                break;
            };
            let fifo = first.get_mut();
            let take = (depth - items.len()).min(fifo.len());
            items.extend(fifo.drain(..take));
            if fifo.is_empty() {
                first.remove();
            }
        }
        entry.len -= items.len();
        if entry.len == 0 {
            // Drained queues are forgotten, so a run over millions of queue ids does not keep them all.
            shard.remove(queue);
        }
        items
    }

    #[must_use]
    pub fn stats(&self, queue: &str) -> QueueStats {
        let shard = self.shard(queue);
        shard.get(queue).map_or_else(QueueStats::default, |entry| QueueStats {
            depth: entry.len as u64,
            by_priority: entry
                .by_priority
                .iter()
                .map(|(priority, fifo)| (*priority, fifo.len() as u64))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;
    use std::sync::Arc;

    fn texts(items: Vec<Box<str>>) -> Vec<String> {
        items.into_iter().map(String::from).collect()
    }

    #[test]
    fn priority_then_fifo() {
        let store = MemoryStore::new();
        for (priority, item) in [(2, "c1"), (0, "a1"), (1, "b1"), (0, "a2"), (2, "c2")] {
            store.push("q", priority, item);
        }
        assert_eq!(store.stats("q").depth, 5);
        assert_eq!(
            store.stats("q").by_priority.into_iter().collect::<Vec<_>>(),
            vec![(0, 2), (1, 1), (2, 2)]
        );
        assert_eq!(texts(store.pop("q", 1)), ["a1"]);
        assert_eq!(texts(store.pop("q", 3)), ["a2", "b1", "c1"]);
        assert_eq!(texts(store.pop("q", 100)), ["c2"]);
        assert!(store.pop("q", 10).is_empty());
        assert_eq!(store.stats("q").depth, 0);
        assert!(store.stats("q").by_priority.is_empty());
    }

    #[test]
    fn queues_are_separate() {
        let store = MemoryStore::new();
        store.push("a", 0, "x");
        store.push("b", 0, "y");
        assert_eq!(texts(store.pop("a", 10)), ["x"]);
        assert_eq!(texts(store.pop("b", 10)), ["y"]);
        assert!(store.pop("never-pushed", 1).is_empty());
    }

    #[test]
    fn concurrent_producers_keep_their_order() {
        let store = Arc::new(MemoryStore::new());
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || (0..5000).for_each(|n| store.push("q", 0, &format!("{p}:{n}"))))
            })
            .collect();
        for handle in producers {
            handle.join().unwrap();
        }
        let mut next = [0usize; 4];
        for item in store.pop("q", usize::MAX) {
            let (p, n) = item.split_once(':').unwrap();
            let p: usize = p.parse().unwrap();
            assert_eq!(n.parse::<usize>().unwrap(), next[p]);
            next[p] += 1;
        }
        assert_eq!(next, [5000; 4]);
    }
}
