//! Cost and memory of the integrity ledger, printed rather than asserted (timings depend on the machine):
//!
//!     cargo test --release --test integrity_bench -- --ignored --nocapture
//!
//! `hot_path_costs` prints ns per call of what the load generator does per request; `thirty_minutes_at_20k` replays
//! a 30-minute run at 20k pushes/s (36M items; about a minute) and prints the ledger's memory, a master's, and the
//! report time.

// indices and sizes of a replay far below 2^32, figures printed to a tenth
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use _native::integrity::{wire, Ledger, SeqSet, Snapshot};

/// A seed-shaped small item (100 bytes of JSON with its marker) as the service returns it.
fn item(body: &mut String, marker: [u64; 4]) {
    let [producer, seq, priority, push_us] = marker;
    let _ = write!(
        body,
        r#"{{"id": "k3j9x0aa7b2c", "seq": {seq}, "timestamp": 1732680000.123456, "data": "xxxxxxxxxxx", "_pp": [{producer}, {seq}, {priority}, {push_us}]}}"#
    );
}

fn pop_body(markers: &[[u64; 4]]) -> Vec<u8> {
    let mut body = String::from(r#"{"items": ["#);
    for (n, marker) in markers.iter().enumerate() {
        if n > 0 {
            body.push_str(", ");
        }
        item(&mut body, *marker);
    }
    let _ = write!(body, r#"], "count": {}}}"#, markers.len());
    body.into_bytes()
}

fn per_call(label: &str, calls: u64, started: Instant) {
    let ns = started.elapsed().as_nanos() as f64 / calls as f64;
    println!("{label:<44} {ns:>9.0} ns/op");
}

fn rss_peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

#[test]
#[ignore = "a benchmark: run with --release --ignored --nocapture"]
fn hot_path_costs() {
    const CALLS: u64 = 1_000_000;
    let producers: Vec<u64> = (0..100).map(|_| Ledger::new_producer()).collect();
    let queues: Vec<String> = (0..10).map(|n| format!("load-test-{n:08}")).collect();
    let mut ledger = Ledger::new();
    let mut markers = Vec::with_capacity(usize::try_from(CALLS).unwrap());
    let started = Instant::now();
    for n in 0..CALLS {
        let (queue, producer) = (&queues[(n % 10) as usize], producers[(n % 100) as usize]);
        // one priority per queue, so that each answer below is a valid one
        markers.push((queue, black_box(ledger.marker(queue, producer, (n % 10) % 3)).values()));
    }
    per_call("marker (10 queues, 100 producers)", CALLS, started);
    let started = Instant::now();
    for (queue, marker) in &markers {
        ledger.acked(queue, marker[0], marker[1]);
    }
    per_call("acked", CALLS, started);
    // pops of 10 seed-sized small items, as one queue's answers: one producer's items in push order
    let mut by_queue: Vec<Vec<[u64; 4]>> = vec![Vec::new(); 10];
    for (n, (_, marker)) in markers.iter().enumerate() {
        by_queue[n % 10].push(*marker);
    }
    let bodies: Vec<(usize, Vec<u8>)> = by_queue
        .iter()
        .enumerate()
        .flat_map(|(q, items)| items.chunks(10).map(move |chunk| (q, pop_body(chunk))))
        .collect();
    println!("(a pop answer of 10 small items is {} bytes)", bodies[0].1.len());
    let started = Instant::now();
    let mut t = 1_800_000_000_000_000;
    for (q, body) in &bodies {
        t += 100;
        black_box(ledger.check_pop(&queues[*q], body, t, t + 50).unwrap());
    }
    per_call("check_pop, 10 small items", bodies.len() as u64, started);
    let started = Instant::now();
    for (q, body) in bodies.iter().take(10_000) {
        black_box(_native::integrity::parse_pop(body).unwrap());
        black_box(q);
    }
    per_call("  of which parsing the answer", 10_000, started);
    let report = ledger.report(true);
    assert!(report.ok, "{report}");
    assert_eq!(report.popped, CALLS);
    let started = Instant::now();
    let delta = ledger.take_delta();
    let bytes = wire::encode(&delta);
    per_call("take_delta + encode, 1M items (per delta)", 1, started);
    println!("  delta for 1M items, 3 priorities: {} bytes", bytes.len());
    let started = Instant::now();
    let mut master = Ledger::new();
    master.absorb(&wire::decode(&bytes).unwrap()).unwrap();
    per_call("decode + absorb that delta (per delta)", 1, started);
}

#[test]
#[ignore = "a benchmark: run with --release --ignored --nocapture"]
fn thirty_minutes_at_20k() {
    const ITEMS: u64 = 20_000 * 1800;
    const BACKLOG: u64 = 100_000; // items queued at any time: popped seqs have holes
    const DELTA_EVERY: u64 = 60_000; // Locust workers report every 3 s: 60k pushes at 20k/s
    let producers: Vec<u64> = (0..200).map(|_| Ledger::new_producer()).collect();
    let queues: Vec<String> = (0..20).map(|n| format!("load-test-{n:08}")).collect();
    let mut local = Ledger::new(); // a single process keeping everything (Locust without workers)
    let mut worker = Ledger::new();
    let mut master = Ledger::new();
    let mut pending: Vec<VecDeque<(usize, [u64; 4])>> = vec![VecDeque::new(); 3];
    let started = Instant::now();
    let mut t = 1_800_000_000_000_000u64;
    let mut delta_bytes = 0;
    let mut popped = 0u64;
    for n in 0..ITEMS {
        let q = (n % 20) as usize;
        let (queue, producer, priority) = (&queues[q], producers[(n % 200) as usize], (n / 7) % 3);
        let marker = local.marker(queue, producer, priority).values();
        worker.marker(queue, producer, priority);
        // one indeterminate push in a thousand
        if n % 1000 == 999 {
            local.indeterminate(queue, producer, marker[1]);
            worker.indeterminate(queue, producer, marker[1]);
        } else {
            local.acked(queue, producer, marker[1]);
            worker.acked(queue, producer, marker[1]);
        }
        pending[priority as usize].push_back((q, marker));
        // pops lag by BACKLOG items and take the most urgent priority first, leaving holes in each popped set
        if n >= BACKLOG && n % 10 == 0 {
            let source = pending.iter_mut().find(|fifo| fifo.len() >= 10);
            if let Some(fifo) = source {
                let batch: Vec<(usize, [u64; 4])> = fifo.drain(..10).collect();
                // a pop is one queue's answer: group by queue, as the service would
                for (q, queue) in queues.iter().enumerate() {
                    let items: Vec<[u64; 4]> = batch.iter().filter(|(bq, _)| *bq == q).map(|(_, m)| *m).collect();
                    if items.is_empty() {
                        continue;
                    }
                    let body = pop_body(&items);
                    t += 50;
                    popped += local.check_pop(queue, &body, t, t + 40).unwrap() as u64;
                    worker.check_pop(queue, &body, t, t + 40).unwrap();
                }
            }
        }
        if n % DELTA_EVERY == DELTA_EVERY - 1 {
            let bytes = wire::encode(&worker.take_delta());
            delta_bytes = delta_bytes.max(bytes.len());
            master.absorb(&wire::decode(&bytes).unwrap()).unwrap();
        }
    }
    master.absorb(&worker.take_delta()).unwrap();
    println!(
        "replayed {ITEMS} pushes and {popped} pops in {:.1} s (two ledgers, a master, and building the bodies)",
        started.elapsed().as_secs_f64()
    );
    println!(
        "single-process ledger holding the whole run: {:.1} MB",
        mb(local.heap_bytes())
    );
    println!(
        "master after absorbing every delta:          {:.1} MB",
        mb(master.heap_bytes())
    );
    println!(
        "worker after its last delta (trackers only): {:.1} MB",
        mb(worker.heap_bytes())
    );
    println!(
        "largest delta (3 s of traffic):              {:.1} KB",
        delta_bytes as f64 / 1024.0
    );
    let started = Instant::now();
    let report = local.report(false);
    println!(
        "report over 36M items: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(report.acknowledged, ITEMS - ITEMS / 1000);
    assert_eq!(report.popped, popped);
    assert_eq!(master.report(false).acknowledged, report.acknowledged);
    assert!(report.ok, "{report}");
    println!("process peak RSS: {:.0} MB", rss_peak_mb());
}

/// `bench/swarm/report.py`'s integrity workload: half pushes by 100 producers over 10 queues, half pops of the
/// oldest item of a random queue, one request every 20 µs (50,000/s); each item's push-to-pop time is what it waited
/// in its queue.
struct Busy {
    producers: Vec<u64>,
    queues: Vec<String>,
    fifo: Vec<VecDeque<[u64; 4]>>,
    rng: u64,
    t: u64,
}

impl Busy {
    const STEP_US: u64 = 20;

    fn new() -> Self {
        Self {
            producers: (0..100).map(|_| Ledger::new_producer()).collect(),
            queues: (0..10).map(|n| format!("report-q{n}")).collect(),
            fifo: vec![VecDeque::new(); 10],
            rng: 20,
            t: 1_800_000_000_000_000,
        }
    }

    fn next(&mut self, bound: u64) -> u64 {
        self.rng = self
            .rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.rng >> 33) % bound
    }

    fn requests(&mut self, worker: &mut Ledger, count: u64) {
        for n in 0..count {
            self.t += Self::STEP_US;
            let q = self.next(10) as usize;
            if n % 2 == 0 {
                let pick = self.next(100) as usize;
                let producer = self.producers[pick];
                let mut marker = worker.marker(&self.queues[q], producer, 0).values();
                marker[3] = self.t;
                worker.acked(&self.queues[q], producer, marker[1]);
                self.fifo[q].push_back(marker);
            } else {
                let body = match self.fifo[q].pop_front() {
                    Some(marker) => pop_body(&[marker]),
                    None => br#"{"items": [], "count": 0}"#.to_vec(),
                };
                worker.check_pop(&self.queues[q], &body, self.t - 1000, self.t).unwrap();
            }
        }
    }
}

/// Milliseconds that `work` took, and its result.
fn timed<T>(work: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let result = work();
    (result, started.elapsed().as_secs_f64() * 1000.0)
}

/// Median of `values`, in place.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Masters absorbing the same deltas: one from JSON, one the binary delta in two parts (seq sets, then histograms)
/// to time them apart, one the binary delta whole.
#[derive(Default)]
struct Masters {
    json: Ledger,
    split: Ledger,
    whole: Ledger,
}

impl Masters {
    /// Absorbs one delta in each; ms of: JSON parse, JSON absorb, binary decode, building the incoming seq sets
    /// alone (what absorbing starts with), absorbing the seq sets, the histograms, the whole.
    fn absorb(&mut self, json: &str, bytes: &[u8]) -> [f64; 7] {
        let (parsed, from_json) = timed(|| Snapshot::from_json(json).unwrap());
        let ((), absorb_json) = timed(|| self.json.absorb(&parsed).unwrap());
        let (decoded, decode) = timed(|| wire::decode(bytes).unwrap());
        assert_eq!(decoded, parsed);
        let sets = Snapshot {
            latency: Vec::new(),
            ..decoded.clone()
        };
        let latency = Snapshot {
            latency: decoded.latency.clone(),
            ..Snapshot::default()
        };
        let (built, build_sets) = timed(|| {
            let mut built = 0;
            for producer in sets.queues.iter().flat_map(|queue| &queue.producers) {
                for ranges in [&producer.sent, &producer.acked, &producer.popped] {
                    let mut set = SeqSet::new();
                    for &(start, end) in ranges {
                        set.insert_range(start, end);
                    }
                    built += black_box(set).len();
                }
            }
            built
        });
        assert!(built > 0);
        let ((), absorb_sets) = timed(|| self.split.absorb(&sets).unwrap());
        let ((), absorb_latency) = timed(|| self.split.absorb(&latency).unwrap());
        let ((), absorb) = timed(|| self.whole.absorb(&decoded).unwrap());
        [
            from_json,
            absorb_json,
            decode,
            build_sets,
            absorb_sets,
            absorb_latency,
            absorb,
        ]
    }
}

/// What a worker's report costs on each side, phase by phase: `Busy` for 3 s per report, REPORTS reports, the
/// masters absorbing each after the ones before, as a master does over a run. Prints medians over the reports after
/// the first.
#[test]
#[ignore = "a benchmark: run with --release --ignored --nocapture"]
fn a_busy_workers_report() {
    const REPORTS: usize = 11;
    const REQUESTS: u64 = 150_000; // 3 s at 50,000/s
    let mut busy = Busy::new();
    let mut worker = Ledger::new();
    let mut masters = Masters::default();
    let mut figures: Vec<Vec<f64>> = Vec::new();
    let (mut json_bytes, mut wire_bytes, mut tallies, mut buckets) = (0, 0, 0, 0);
    for report in 0..REPORTS {
        busy.requests(&mut worker, REQUESTS);
        // the worker: the snapshot, then JSON or the binary delta of it
        let (delta, take) = timed(|| worker.take_delta());
        let (json, to_json) = timed(|| delta.to_json());
        let (bytes, encode) = timed(|| wire::encode(&delta));
        let master = masters.absorb(&json, &bytes);
        if report > 0 {
            figures.push([take, to_json, encode].into_iter().chain(master).collect());
            (json_bytes, wire_bytes) = (json.len(), bytes.len());
            tallies = delta.queues.iter().map(|queue| queue.producers.len()).sum::<usize>();
            buckets = delta.latency.iter().map(|l| l.counts.len()).sum::<usize>();
        }
    }
    let column = |index: usize| median(&mut figures.iter().map(|row| row[index]).collect::<Vec<_>>());
    println!(
        "a report: {tallies} (queue, producer) tallies, {buckets} latency buckets; JSON {json_bytes} bytes, binary \
         {wire_bytes} bytes; medians of {} reports, ms:",
        figures.len()
    );
    println!(
        "worker: take_delta (the snapshot) {:.2}, to JSON {:.2}, binary encode {:.2}",
        column(0),
        column(1),
        column(2)
    );
    println!("master, JSON:   parse {:.2}, absorb {:.2}", column(3), column(4));
    println!(
        "master, binary: decode {:.2}, absorb {:.2} (seq sets {:.2}, of which building the incoming sets {:.2}; \
         histograms {:.2})",
        column(5),
        column(9),
        column(7),
        column(6),
        column(8)
    );
    let one = masters.json.report(false);
    assert_eq!(masters.whole.report(false), one);
    assert_eq!(masters.split.report(false), one);
    assert!(one.duplicated == 0 && one.foreign == 0 && one.acknowledged == REQUESTS / 2 * REPORTS as u64);
}
