//! Per (queue, priority, producer) FIFO checks, local to the process that pops: they need the timing of its own
//! pops, which do not merge.

/// Seqs just below the highest one whose delivery is remembered, so that a second copy of an item (a duplicate,
/// counted as such) is not also reported as out of order.
const WINDOW: u64 = 1024;
const WINDOW_WORDS: usize = (WINDOW / 64) as usize;

/// The highest seq delivered so far for one (queue, priority, producer), and when.
#[derive(Debug, Clone)]
pub struct OrderTracker {
    max: u64,
    /// End of the pop that delivered `max`, unix µs.
    end_us: u64,
    /// Which pop delivered `max` (the ledger numbers its pops).
    pop: u64,
    /// Bit `seq % WINDOW` is set when `seq` in `max - WINDOW + 1 ..= max` has been delivered.
    seen: [u64; WINDOW_WORDS],
}

#[allow(clippy::cast_possible_truncation)] // below WINDOW
fn slot(seq: u64) -> (usize, u64) {
    let bit = seq % WINDOW;
    ((bit / 64) as usize, 1 << (bit % 64))
}

impl OrderTracker {
    #[must_use]
    pub fn new(seq: u64, end_us: u64, pop: u64) -> Self {
        let mut tracker = Self {
            max: seq,
            end_us,
            pop,
            seen: [0; WINDOW_WORDS],
        };
        tracker.mark(seq);
        tracker
    }

    fn mark(&mut self, seq: u64) {
        let (word, bit) = slot(seq);
        self.seen[word] |= bit;
    }

    fn was_seen(&self, seq: u64) -> bool {
        let (word, bit) = slot(seq);
        self.seen[word] & bit != 0
    }

    /// Records the delivery of `seq` by pop number `pop` (which ran from `start_us` to `end_us`) and says whether
    /// it is out of order: a lower seq than one already delivered, where the earlier delivery is certain to have
    /// come first (same pop, or a pop that ended before this one started). Overlapping pops prove nothing, so
    /// concurrent consumers give no false positives.
    pub fn observe(&mut self, seq: u64, start_us: u64, end_us: u64, pop: u64) -> bool {
        if seq > self.max {
            let advance = seq - self.max;
            if advance >= WINDOW {
                self.seen = [0; WINDOW_WORDS];
            } else {
                // the slots of the seqs that now fall out of the window are reused by max+1 ..= seq
                for stale in self.max + 1..=seq {
                    let (word, bit) = slot(stale);
                    self.seen[word] &= !bit;
                }
            }
            self.mark(seq);
            self.max = seq;
            self.end_us = end_us;
            self.pop = pop;
            return false;
        }
        let remembered = self.max - seq < WINDOW;
        if remembered {
            if self.was_seen(seq) {
                return false; // another copy of a delivered item: a duplicate, not an order violation
            }
            self.mark(seq);
        }
        self.pop == pop || start_us > self.end_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rising_seqs_are_in_order() {
        let mut tracker = OrderTracker::new(0, 10, 1);
        for (n, seq) in [1, 2, 5, 9, 2000, 2001].into_iter().enumerate() {
            let t = 100 * n as u64 + 100;
            assert!(!tracker.observe(seq, t, t + 5, n as u64 + 2));
        }
    }

    #[test]
    fn lower_seq_after_the_delivering_pop_ended_is_out_of_order() {
        let mut tracker = OrderTracker::new(5, 100, 1);
        assert!(tracker.observe(3, 101, 150, 2));
        // overlapping the pop that delivered 5: nothing proven
        let mut tracker = OrderTracker::new(5, 100, 1);
        assert!(!tracker.observe(3, 90, 150, 2));
        // within one pop, the order is the server's own
        let mut tracker = OrderTracker::new(5, 100, 1);
        assert!(tracker.observe(4, 50, 100, 1));
    }

    #[test]
    fn another_copy_is_not_out_of_order() {
        let mut tracker = OrderTracker::new(5, 100, 1);
        assert!(!tracker.observe(6, 90, 110, 2));
        assert!(!tracker.observe(5, 200, 210, 3));
        assert!(!tracker.observe(6, 200, 210, 3));
        // a seq never delivered is still caught, inside the window and beyond it
        assert!(tracker.observe(4, 300, 310, 4));
        assert!(!tracker.observe(4, 300, 310, 5));
        assert!(!tracker.observe(5000, 400, 410, 6));
        assert!(tracker.observe(6, 500, 510, 7));
        assert!(
            tracker.observe(6, 500, 510, 8),
            "beyond the window copies cannot be told apart"
        );
        // the window slides: slots reused by higher seqs forget the old ones
        assert!(!tracker.observe(5000 + WINDOW - 1, 600, 610, 9));
        assert!(tracker.observe(5001, 700, 710, 10));
    }
}
