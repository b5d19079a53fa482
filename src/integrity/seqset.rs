//! A set of sequence numbers that stays small for what a load test produces: long dense runs (every item pushed,
//! every item popped) with holes (items still queued, failed pushes) and a few scattered members (indeterminate
//! pushes). Chunks of 4096 seqs are either a short sorted list, a bitmap, or full, as in Roaring bitmaps: a
//! dense million seqs costs ~10 KB, a million popped out of order at most 128 KB.

use std::cmp::Ordering;

const CHUNK_SHIFT: u32 = 12;
const CHUNK: u64 = 1 << CHUNK_SHIFT;
const WORDS: usize = (CHUNK / 64) as usize;
/// Up to this many members a chunk is a sorted list (2 bytes each); beyond, a 512-byte bitmap costs less.
const FEW_MAX: usize = 128;

type Words = [u64; WORDS];

/// One chunk in its canonical form, so that equal sets compare equal: `Few` holds 1..=`FEW_MAX` members, `Bits`
/// more but not all, `Full` all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Chunk {
    Few(Vec<u16>),
    Bits { words: Box<Words>, len: u16 },
    Full,
}

impl Chunk {
    fn single(offset: u16) -> Self {
        Self::Few(vec![offset])
    }

    fn len(&self) -> u64 {
        match self {
            Self::Few(offsets) => offsets.len() as u64,
            Self::Bits { len, .. } => u64::from(*len),
            Self::Full => CHUNK,
        }
    }

    fn contains(&self, offset: u16) -> bool {
        match self {
            Self::Few(offsets) => offsets.binary_search(&offset).is_ok(),
            Self::Bits { words, .. } => words[usize::from(offset >> 6)] & (1 << (offset & 63)) != 0,
            Self::Full => true,
        }
    }

    /// Whether `offset` was new.
    fn insert(&mut self, offset: u16) -> bool {
        match self {
            Self::Few(offsets) => match offsets.binary_search(&offset) {
                Ok(_) => false,
                Err(at) => {
                    offsets.insert(at, offset);
                    if offsets.len() > FEW_MAX {
                        *self = Self::from_words(self.words()).expect("not empty");
                    }
                    true
                }
            },
            Self::Bits { words, len } => {
                let (word, bit) = (usize::from(offset >> 6), 1u64 << (offset & 63));
                if words[word] & bit != 0 {
                    return false;
                }
                words[word] |= bit;
                *len += 1;
                if u64::from(*len) == CHUNK {
                    *self = Self::Full;
                }
                true
            }
            Self::Full => false,
        }
    }

    fn words(&self) -> Box<Words> {
        match self {
            Self::Few(offsets) => {
                let mut words = Box::new([0; WORDS]);
                for &offset in offsets {
                    words[usize::from(offset >> 6)] |= 1 << (offset & 63);
                }
                words
            }
            Self::Bits { words, .. } => words.clone(),
            Self::Full => Box::new([u64::MAX; WORDS]),
        }
    }

    /// The canonical chunk of these members, or `None` when there are none.
    fn from_words(words: Box<Words>) -> Option<Self> {
        let len: u32 = words.iter().map(|word| word.count_ones()).sum();
        match len as usize {
            0 => None,
            n if n as u64 == CHUNK => Some(Self::Full),
            n if n <= FEW_MAX => {
                // the set bits only, not all 4096 offsets: a master absorbing a thousand producers' few-seq
                // chunks spent most of its 16.5 ms per report testing offsets one by one (docs/BENCHMARKS.md)
                let mut offsets = Vec::with_capacity(n);
                for (index, &word) in words.iter().enumerate() {
                    let mut rest = word;
                    while rest != 0 {
                        #[allow(clippy::cast_possible_truncation)] // index < 64, bit < 64
                        offsets.push((index as u16) << 6 | rest.trailing_zeros() as u16);
                        rest &= rest - 1;
                    }
                }
                Some(Self::Few(offsets))
            }
            n => Some(Self::Bits {
                words,
                len: u16::try_from(n).expect("less than a chunk"),
            }),
        }
    }

    /// Adds offsets `start..end` (`end <= CHUNK`); returns how many were new.
    fn insert_range(&mut self, start: u64, end: u64) -> u64 {
        let before = self.len();
        if start == 0 && end == CHUNK {
            *self = Self::Full;
        } else {
            let mut words = self.words();
            set_bits(&mut words, start, end);
            *self = Self::from_words(words).expect("not empty");
        }
        self.len() - before
    }

    /// Adds `incoming`'s members, in place. Short lists merge as lists and a list sets its bits in a bitmap, without
    /// building 512-byte bitmaps: a master absorbing a thousand producers' few new seqs a report spent most of its
    /// merge on them (docs/BENCHMARKS.md).
    fn unite(&mut self, incoming: &Self) {
        match (&mut *self, incoming) {
            (Self::Full, _) => {}
            (_, Self::Full) => *self = Self::Full,
            (Self::Few(mine), Self::Few(theirs)) if mine.len() + theirs.len() <= FEW_MAX => {
                let mut merged = Vec::with_capacity(mine.len() + theirs.len());
                let (mut a, mut b) = (mine.iter().peekable(), theirs.iter().peekable());
                while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
                    merged.push(x.min(y));
                    if x <= y {
                        a.next();
                    }
                    if y <= x {
                        b.next();
                    }
                }
                merged.extend(a.chain(b));
                *mine = merged;
            }
            (Self::Bits { words, len }, Self::Few(theirs)) => {
                for &offset in theirs {
                    let (word, bit) = (usize::from(offset >> 6), 1u64 << (offset & 63));
                    if words[word] & bit == 0 {
                        words[word] |= bit;
                        *len += 1;
                    }
                }
                if u64::from(*len) == CHUNK {
                    *self = Self::Full;
                }
            }
            _ => {
                if let Some(united) = by_words(self, incoming, |a, b| a | b) {
                    *self = united;
                }
            }
        }
    }

    /// The members of both, or `None` when there are none; lists without bitmaps.
    fn intersect(&self, other: &Self) -> Option<Self> {
        let kept: Vec<u16> = match (self, other) {
            (Self::Full, chunk) | (chunk, Self::Full) => return Some(chunk.clone()),
            (Self::Few(mine), chunk @ (Self::Few(_) | Self::Bits { .. }))
            | (chunk @ Self::Bits { .. }, Self::Few(mine)) => {
                mine.iter().copied().filter(|&offset| chunk.contains(offset)).collect()
            }
            (Self::Bits { .. }, Self::Bits { .. }) => return by_words(self, other, |a, b| a & b),
        };
        (!kept.is_empty()).then_some(Self::Few(kept))
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Self::Few(offsets) => offsets.capacity() * 2,
            Self::Bits { .. } => std::mem::size_of::<Words>(),
            Self::Full => 0,
        }
    }

    /// Calls `run(start, end)` for each maximal run of members, as offsets, in order.
    fn runs(&self, mut run: impl FnMut(u64, u64)) {
        match self {
            Self::Few(offsets) => {
                for &offset in offsets {
                    run(u64::from(offset), u64::from(offset) + 1);
                }
            }
            Self::Full => run(0, CHUNK),
            Self::Bits { words, .. } => {
                let mut pos = 0u64;
                while pos < CHUNK {
                    #[allow(clippy::cast_possible_truncation)] // pos < 4096
                    let (word, bit) = ((pos / 64) as usize, (pos % 64) as u32);
                    let rest = words[word] >> bit;
                    if rest == 0 {
                        pos = (pos / 64 + 1) * 64;
                        continue;
                    }
                    pos += u64::from(rest.trailing_zeros());
                    let start = pos;
                    while pos < CHUNK {
                        #[allow(clippy::cast_possible_truncation)]
                        let (word, bit) = ((pos / 64) as usize, (pos % 64) as u32);
                        let ones = u64::from((!(words[word] >> bit)).trailing_zeros().min(64 - bit));
                        pos += ones;
                        if ones < u64::from(64 - bit) {
                            break;
                        }
                    }
                    run(start, pos);
                }
            }
        }
    }
}

/// Two chunks combined word by word (`op`), in canonical form; `None` when empty.
fn by_words(a: &Chunk, b: &Chunk, op: fn(u64, u64) -> u64) -> Option<Chunk> {
    let (mut words, other_words) = (a.words(), b.words());
    for (word, other_word) in words.iter_mut().zip(other_words.iter()) {
        *word = op(*word, *other_word);
    }
    Chunk::from_words(words)
}

fn set_bits(words: &mut Words, start: u64, end: u64) {
    let mut pos = start;
    while pos < end {
        #[allow(clippy::cast_possible_truncation)]
        let (word, bit) = ((pos / 64) as usize, pos % 64);
        let span = (64 - bit).min(end - pos);
        let mask = if span == 64 {
            u64::MAX
        } else {
            ((1u64 << span) - 1) << bit
        };
        words[word] |= mask;
        pos += span;
    }
}

/// Which chunk holds `seq`, and where in it.
#[allow(clippy::cast_possible_truncation)] // the offset is below CHUNK
fn split(seq: u64) -> (u64, u16) {
    (seq >> CHUNK_SHIFT, (seq & (CHUNK - 1)) as u16)
}

/// A set of `u64` sequence numbers; see the module docs for its layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqSet {
    /// (chunk number, chunk), sorted by chunk number.
    chunks: Vec<(u64, Chunk)>,
    len: u64,
}

impl SeqSet {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Seqs mostly grow, so the last chunk is tried before a binary search.
    fn find(&self, key: u64) -> Result<usize, usize> {
        match self.chunks.last() {
            None => Err(0),
            Some((last, _)) => match last.cmp(&key) {
                Ordering::Equal => Ok(self.chunks.len() - 1),
                Ordering::Less => Err(self.chunks.len()),
                Ordering::Greater => self.chunks.binary_search_by_key(&key, |(k, _)| *k),
            },
        }
    }

    #[must_use]
    pub fn contains(&self, seq: u64) -> bool {
        let (key, offset) = split(seq);
        self.find(key).is_ok_and(|at| self.chunks[at].1.contains(offset))
    }

    /// Whether `seq` was new.
    pub fn insert(&mut self, seq: u64) -> bool {
        let (key, offset) = split(seq);
        let added = match self.find(key) {
            Ok(at) => self.chunks[at].1.insert(offset),
            Err(at) => {
                self.chunks.insert(at, (key, Chunk::single(offset)));
                true
            }
        };
        self.len += u64::from(added);
        added
    }

    /// Adds `start..end`; returns how many were new. Costs one step per chunk of 4096 seqs.
    pub fn insert_range(&mut self, start: u64, end: u64) -> u64 {
        let mut added = 0;
        let mut pos = start;
        while pos < end {
            let (key, offset) = split(pos);
            let chunk_end = ((key + 1) << CHUNK_SHIFT).min(end);
            let (lo, hi) = (u64::from(offset), u64::from(offset) + (chunk_end - pos));
            added += match self.find(key) {
                Ok(at) => self.chunks[at].1.insert_range(lo, hi),
                Err(at) => {
                    let mut chunk = Chunk::Few(Vec::new());
                    let n = chunk.insert_range(lo, hi);
                    self.chunks.insert(at, (key, chunk));
                    n
                }
            };
            pos = chunk_end;
        }
        self.len += added;
        added
    }

    /// Maximal runs of members as half-open ranges `[start, end)`, in order: the compact form of a dense set.
    #[must_use]
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for (key, chunk) in &self.chunks {
            let base = key << CHUNK_SHIFT;
            chunk.runs(|start, end| {
                let (start, end) = (base + start, base + end);
                match out.last_mut() {
                    Some(last) if last.1 == start => last.1 = end,
                    _ => out.push((start, end)),
                }
            });
        }
        out
    }

    /// The members in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.chunks.iter().flat_map(|(key, chunk)| {
            let base = key << CHUNK_SHIFT;
            let offsets: Box<dyn Iterator<Item = u64> + '_> = match chunk {
                Chunk::Few(offsets) => Box::new(offsets.iter().map(|&offset| u64::from(offset))),
                Chunk::Full => Box::new(0..CHUNK),
                Chunk::Bits { words, .. } => Box::new((0..CHUNK).filter(move |&offset| {
                    #[allow(clippy::cast_possible_truncation)]
                    let word = words[(offset / 64) as usize];
                    word & (1 << (offset % 64)) != 0
                })),
            };
            offsets.map(move |offset| base + offset)
        })
    }

    /// Chunk-wise combination of two sets; `keep_left_only`/`keep_right_only` say whether chunks present on one
    /// side only survive (as they are).
    fn combine(
        &self,
        other: &Self,
        keep_left_only: bool,
        keep_right_only: bool,
        op: impl Fn(&Chunk, &Chunk) -> Option<Chunk>,
    ) -> Self {
        let mut chunks = Vec::new();
        let (mut left, mut right) = (self.chunks.iter().peekable(), other.chunks.iter().peekable());
        loop {
            let order = match (left.peek(), right.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((a, _)), Some((b, _))) => a.cmp(b),
            };
            match order {
                Ordering::Less => {
                    let (key, chunk) = left.next().expect("peeked");
                    if keep_left_only {
                        chunks.push((*key, chunk.clone()));
                    }
                }
                Ordering::Greater => {
                    let (key, chunk) = right.next().expect("peeked");
                    if keep_right_only {
                        chunks.push((*key, chunk.clone()));
                    }
                }
                Ordering::Equal => {
                    let ((key, a), (_, b)) = (left.next().expect("peeked"), right.next().expect("peeked"));
                    if let Some(chunk) = op(a, b) {
                        chunks.push((*key, chunk));
                    }
                }
            }
        }
        let len = chunks.iter().map(|(_, chunk)| chunk.len()).sum();
        Self { chunks, len }
    }

    /// Adds every member of `other`, in place: a master absorbs a worker's delta into the run's whole set.
    pub fn union_with(&mut self, other: &Self) {
        for (key, incoming) in &other.chunks {
            match self.find(*key) {
                Ok(at) => {
                    let chunk = &mut self.chunks[at].1;
                    let before = chunk.len();
                    chunk.unite(incoming);
                    self.len += chunk.len() - before;
                }
                Err(at) => {
                    self.chunks.insert(at, (*key, incoming.clone()));
                    self.len += incoming.len();
                }
            }
        }
    }

    /// Members of `self` that are not in `other`.
    #[must_use]
    pub fn difference(&self, other: &Self) -> Self {
        self.combine(other, true, false, |a, b| by_words(a, b, |a, b| a & !b))
    }

    #[must_use]
    pub fn intersection(&self, other: &Self) -> Self {
        self.combine(other, false, false, Chunk::intersect)
    }

    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        self.combine(other, true, true, |a, b| by_words(a, b, |a, b| a | b))
    }

    /// Approximate heap use in bytes, for the memory figures.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<(u64, Chunk)>()
            + self.chunks.iter().map(|(_, chunk)| chunk.heap_bytes()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A deterministic spread of seqs: dense runs, holes, scattered members, chunk edges.
    fn sample(step: u64, count: u64, start: u64) -> Vec<u64> {
        (0..count).map(|n| start + n * step + (n * n) % 7).collect()
    }

    fn both(seqs: &[u64]) -> (SeqSet, BTreeSet<u64>) {
        let mut set = SeqSet::new();
        let mut model = BTreeSet::new();
        for &seq in seqs {
            assert_eq!(set.insert(seq), model.insert(seq), "{seq}");
        }
        (set, model)
    }

    fn ranges_of(model: &BTreeSet<u64>) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for &seq in model {
            match out.last_mut() {
                Some(last) if last.1 == seq => last.1 += 1,
                _ => out.push((seq, seq + 1)),
            }
        }
        out
    }

    #[test]
    fn behaves_as_a_set_in_every_chunk_form() {
        for (step, count, start) in [
            (1, 10_000, 0),
            (3, 5000, 17),
            (1, 4096, 4096),
            (97, 300, 5),
            (1, 130, 4000),
        ] {
            let (set, model) = both(&sample(step, count, start));
            assert_eq!(set.len(), model.len() as u64);
            assert_eq!(
                set.iter().collect::<Vec<_>>(),
                model.iter().copied().collect::<Vec<_>>()
            );
            assert_eq!(set.ranges(), ranges_of(&model));
            for probe in 0..(start + step * count + 10) {
                assert_eq!(set.contains(probe), model.contains(&probe), "{probe}");
            }
        }
    }

    #[test]
    fn canonical_whatever_the_insertion_order() {
        let seqs = sample(2, 3000, 1);
        let (forward, _) = both(&seqs);
        let reversed: Vec<u64> = seqs.iter().rev().copied().collect();
        let (backward, _) = both(&reversed);
        assert_eq!(forward, backward);
        let mut by_ranges = SeqSet::new();
        for (start, end) in forward.ranges() {
            by_ranges.insert_range(start, end);
        }
        assert_eq!(by_ranges, forward);
    }

    #[test]
    fn ranges_fill_chunks_and_count_what_is_new() {
        let mut set = SeqSet::new();
        assert_eq!(set.insert_range(10, 20_000), 19_990);
        assert_eq!(set.insert_range(0, 30), 10);
        assert_eq!(set.insert_range(5, 5), 0);
        assert!(!set.insert(4095));
        assert!(set.insert(20_000));
        assert_eq!(set.len(), 20_001);
        assert_eq!(set.ranges(), vec![(0, 20_001)]);
        // full chunks hold no heap: a dense million seqs stays small
        let mut dense = SeqSet::new();
        (0..1_000_000).for_each(|seq| {
            dense.insert(seq);
        });
        assert!(dense.heap_bytes() < 20_000, "{}", dense.heap_bytes());
    }

    #[test]
    fn every_pair_of_chunk_forms_unites_and_intersects_as_the_model() {
        // within one chunk: empty, a few (lists that fit one list together, and ones that do not), many (a
        // bitmap), all but one, all; each against each, shifted so that they overlap in part
        let shapes: Vec<Vec<u64>> = vec![
            vec![],
            sample(37, 3, 5),
            sample(5, 60, 1),
            sample(3, 100, 0),
            sample(11, 300, 2),
            (0..CHUNK).filter(|&seq| seq != 77).collect(),
            (0..CHUNK).collect(),
        ];
        for left in &shapes {
            for right in &shapes {
                let right: Vec<u64> = right.iter().map(|seq| (seq + 3) % CHUNK).collect();
                let (a, model_a) = both(left);
                let (b, model_b) = both(&right);
                let check = |set: &SeqSet, model: BTreeSet<u64>| {
                    let (fresh, _) = both(&model.iter().copied().collect::<Vec<_>>());
                    assert_eq!(*set, fresh, "{} and {}", left.len(), right.len());
                    assert_eq!(set.len(), model.len() as u64);
                };
                let mut united = a.clone();
                united.union_with(&b);
                check(&united, model_a.union(&model_b).copied().collect());
                check(&a.intersection(&b), model_a.intersection(&model_b).copied().collect());
            }
        }
    }

    #[test]
    fn set_operations_match_the_model() {
        let (a, model_a) = both(&sample(1, 9000, 0));
        let (b, model_b) = both(&sample(3, 4000, 2000));
        let check = |set: SeqSet, model: BTreeSet<u64>| {
            assert_eq!(set.len(), model.len() as u64);
            assert_eq!(set.ranges(), ranges_of(&model));
            let mut fresh = SeqSet::new();
            for &seq in &model {
                fresh.insert(seq);
            }
            assert_eq!(set, fresh);
        };
        check(a.difference(&b), model_a.difference(&model_b).copied().collect());
        check(a.intersection(&b), model_a.intersection(&model_b).copied().collect());
        check(a.union(&b), model_a.union(&model_b).copied().collect());
        let mut in_place = b.clone();
        in_place.union_with(&a);
        check(in_place, model_a.union(&model_b).copied().collect());
        check(b.difference(&a), model_b.difference(&model_a).copied().collect());
    }
}
