use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::inject::{Fate, Injector};
use super::store::QueueStats;

/// Enough shards that 100 busy queues rarely share a lock on a 2-core box, few enough to stay cache-friendly.
const SHARDS: usize = 64;

/// One queue: a FIFO per priority. Empty priorities are removed, so the first entry is always the most urgent.
#[derive(Default)]
struct Queue {
    by_priority: BTreeMap<u32, VecDeque<Box<str>>>,
    len: usize,
    /// With fault injection: how many items at the front of a priority are put-back copies, which are exempt from
    /// further faults so that the counts are exact. Copies only ever go to the front, so they form a prefix.
    exempt: BTreeMap<u32, usize>,
}

impl Queue {
    /// O(depth): takes from the most urgent priority first and may span several priorities.
    fn take(&mut self, depth: usize) -> Vec<Box<str>> {
        let mut items = Vec::with_capacity(depth.min(self.len));
        while items.len() < depth {
            let Some(mut first) = self.by_priority.first_entry() else {
                break;
            };
            let fifo = first.get_mut();
            let take = (depth - items.len()).min(fifo.len());
            items.extend(fifo.drain(..take));
            if fifo.is_empty() {
                first.remove();
            }
        }
        self.len -= items.len();
        items
    }

    /// `take`, then each item's fate: delivered, dropped, or delivered and put back at the front of its priority
    /// (after the taking, so one pop never returns an item twice).
    fn take_injected(&mut self, depth: usize, injector: &Injector) -> Vec<Box<str>> {
        let mut items = Vec::with_capacity(depth.min(self.len));
        let mut put_back: Vec<(u32, Box<str>)> = Vec::new();
        let mut taken = 0;
        while taken < depth {
            let Some(mut first) = self.by_priority.first_entry() else {
                break;
            };
            let priority = *first.key();
            let fifo = first.get_mut();
            let take = (depth - taken).min(fifo.len());
            let mut exempt = self.exempt.remove(&priority).unwrap_or(0);
            for item in fifo.drain(..take) {
                if exempt > 0 {
                    exempt -= 1;
                    items.push(item);
                    continue;
                }
                match injector.fate() {
                    Fate::Deliver => items.push(item),
                    Fate::Drop => {}
                    Fate::Duplicate => {
                        put_back.push((priority, item.clone()));
                        items.push(item);
                    }
                }
            }
            if exempt > 0 {
                self.exempt.insert(priority, exempt);
            }
            if fifo.is_empty() {
                first.remove();
            }
            taken += take;
        }
        self.len -= taken;
        let copies = put_back.len();
        // in reverse, so that the copies keep their order at the front
        for (priority, item) in put_back.into_iter().rev() {
            self.by_priority.entry(priority).or_default().push_front(item);
            *self.exempt.entry(priority).or_insert(0) += 1;
        }
        self.len += copies;
        injector.put_back(copies as u64);
        items
    }
}

type Shard = HashMap<Box<str>, Queue>;

/// Queues in memory, sharded by queue id so that different queues do not contend on one lock. Operations on one
/// queue hold its shard's lock, so they apply one at a time, as the service's actors do.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    inject: Option<Arc<Injector>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            inject: None,
        }
    }
}

impl MemoryStore {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
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
        let items = match &self.inject {
            None => entry.take(depth),
            Some(injector) => entry.take_injected(depth, injector),
        };
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
    fn injected_faults_are_exact_and_copies_come_back_first() {
        use super::super::config::InjectSpec;
        use super::Injector;
        let injector = Arc::new(Injector::new(&InjectSpec {
            drop: 0.2,
            dup: 0.2,
            seed: Some(3),
        }));
        let store = MemoryStore::new().with_injector(Arc::clone(&injector));
        let pushed = 2000;
        for n in 0..pushed {
            store.push("q", n % 3, &format!("{}:{n}", n % 3));
        }
        let mut popped = Vec::new();
        let mut pops = 0;
        loop {
            let items = texts(store.pop("q", 7));
            pops += 1;
            if items.is_empty() && store.stats("q").depth == 0 {
                break;
            }
            // within one pop: priority order, and never the same item twice
            let priorities: Vec<&str> = items.iter().map(|item| item.split(':').next().unwrap()).collect();
            assert!(priorities.windows(2).all(|pair| pair[0] <= pair[1]), "{items:?}");
            let mut unique = items.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), items.len());
            popped.extend(items);
            assert!(pops < 10_000);
        }
        let counts = injector.counts();
        assert!(counts.dropped > 0 && counts.duplicated > 0);
        let distinct: std::collections::HashSet<&String> = popped.iter().collect();
        assert_eq!(distinct.len() as u64, u64::from(pushed) - counts.dropped);
        assert_eq!((popped.len() - distinct.len()) as u64, counts.duplicated);
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
