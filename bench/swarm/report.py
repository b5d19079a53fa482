"""A busy worker's report to its master (issue 20, §3): its size and the CPU to build it, and the master's CPU to
merge it, each split into Locust's share and pushpop-load's.

One process plays a worker and a master, each a real Locust ``Environment`` with pushpop-load's parts installed
(``pushpop_load.plugin``) and Locust's own report listeners (``locust.stats.setup_distributed_stats_event_listeners``).
The worker's parts are fed as a worker at RATE requests/s is fed, paced in real time (the exact histograms keep a
bucket per wall-clock second): requests across ENDPOINTS names, half pushes and half pops, with a log-normal
latency spread per endpoint and a slow tail, recorded through ``HdrStats.record_for_locust`` and handed to
Locust's statistics every 0.1 s (``pushpop_load.locust_feed``); every push takes an integrity marker and its
acknowledgement, every pop's answer (the oldest item of its queue) is checked by the ledger
(``IntegrityLedger.check_pop``). Every INTERVAL seconds (Locust's worker report interval, 3 s) the report is built
as Locust's worker builds it — the batch handed over, Locust's statistics serialised, each part's ``take_delta`` —
packed into Locust's message (msgpack, ``locust.rpc.protocol.Message``), unpacked on the master side and merged by
Locust's listener and the parts' ``absorb``. The first report is a warm-up and left out of the figures.

Checked: the master's exact histograms hold every request the worker recorded (counts per endpoint), its
percentiles equal those of a recorder that kept every sample in the worker, Locust's merged total counts them all,
and the master's integrity ledger holds every push and pop with no violation. The exact histograms' and the ledger's
deltas are merged on the master's merge thread: the hub's share is the queueing, the thread's is the process's CPU
beyond the hub's while the hub waits for it (``wait_merged``).

    make build-prod && .venv/bin/python bench/swarm/report.py
    SMOKE=1 ALLOW_DEBUG=1 .venv/bin/python bench/swarm/report.py     # 5,000 requests/s, two reports

Environment: RATE (50000; smoke 5000), ENDPOINTS (20), REPORTS (6 incl. the warm-up; smoke 2), INTERVAL (s, 3;
smoke 1), PRODUCERS (users pushing, 100), QUEUES (10), SMOKE, ALLOW_DEBUG. Results:
bench/results/swarm-report-<stamp>/ (summary.md, results.json).
"""

from __future__ import annotations

import locust  # noqa: F401  (first: it patches the process for gevent before ssl is imported)

import collections
import datetime
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail, write_results  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
RATE = int(os.environ.get("RATE", "5000" if SMOKE else "50000"))
ENDPOINTS = int(os.environ.get("ENDPOINTS", "20"))
REPORTS = int(os.environ.get("REPORTS", "2" if SMOKE else "6"))
INTERVAL = float(os.environ.get("INTERVAL", "1" if SMOKE else "3"))
PRODUCERS = int(os.environ.get("PRODUCERS", "100"))
QUEUES = int(os.environ.get("QUEUES", "10"))
FEED_S = 0.1


def environment() -> tuple[Any, Any]:
    """A Locust environment with pushpop-load's parts and Locust's report listeners, and those listeners' own
    event hooks (so that Locust's share and ours are timed apart)."""
    from locust.env import Environment
    from locust.event import Events
    from locust.stats import setup_distributed_stats_event_listeners

    from pushpop_load import plugin

    env = Environment(events=Events())
    plugin.install(env)
    locust_events = Events()
    setup_distributed_stats_event_listeners(locust_events, env.stats)
    return env, locust_events


class Workload:
    """RATE requests/s over ENDPOINTS names (even: pushes, odd: pops) with their integrity bookkeeping."""

    def __init__(self, recorder: Any, ledger: Any) -> None:
        self.recorder = recorder
        self.ledger = ledger
        self.rng = random.Random(20)
        self.producers = [ledger.new_producer() for _ in range(PRODUCERS)]
        self.queues: dict[str, collections.deque[bytes]] = {f"report-q{i}": collections.deque()
                                                            for i in range(QUEUES)}
        self.names = [f"/queue/[id]/{'push' if i % 2 == 0 else 'pop'} #{i}" for i in range(ENDPOINTS)]
        # medians from 1 ms to 10 ms across the endpoints; sigma 0.6 (p99 ≈ 4× the median); 0.1% at 20-100×
        self.medians = [1.0 + 9.0 * i / max(1, ENDPOINTS - 1) for i in range(ENDPOINTS)]
        self.recorded: collections.Counter[str] = collections.Counter()
        self.pushed = 0
        self.popped = 0
        # every sample also goes here and stays: the worker's own figures, to check the master's merged ones by
        from pushpop_load import _native

        self.reference = _native.HdrStats()

    def latency(self, endpoint: int) -> float:
        value = self.rng.lognormvariate(0, 0.6) * self.medians[endpoint]
        if self.rng.random() < 0.001:
            value *= self.rng.uniform(20, 100)
        return value

    def requests(self, count: int) -> None:
        rng, ledger, names = self.rng, self.ledger, self.names
        queue_names = list(self.queues)
        for _ in range(count):
            endpoint = rng.randrange(ENDPOINTS)
            name = names[endpoint]
            queue = queue_names[rng.randrange(QUEUES)]
            items = self.queues[queue]
            now_us = int(time.time() * 1e6)
            if endpoint % 2 == 0:
                producer = self.producers[rng.randrange(PRODUCERS)]
                marker = ledger.marker(queue, producer, 0)
                ledger.acked(queue, producer, marker.seq)
                items.append(json.dumps({"n": marker.seq, "_pp": marker.wire()}).encode())
                self.pushed += 1
                method = "POST"
            else:
                body = b'{"items":[%s],"count":1}' % items.popleft() if items else b'{"items":[],"count":0}'
                self.popped += ledger.check_pop(queue, body, now_us - 1000, now_us)
                method = "POST"
            latency = self.latency(endpoint)
            self.recorder.record_for_locust(method, name, latency, 64)
            self.reference.record(method, name, latency, False)
            self.recorded[name] += 1


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """The result of `function(*args, **kwargs)` and the CPU seconds (this thread's) it took."""
    start = time.thread_time()
    result = function(*args, **kwargs)
    return result, time.thread_time() - start


def hand_over(worker: Any) -> None:
    """The batch of requests recorded in Rust since the last call, into Locust's statistics (what
    ``pushpop_load.locust_feed`` does every 0.1 s and before each report)."""
    from pushpop_load.locust_feed import add_to_locust
    from pushpop_load.stats import ExactStats

    add_to_locust(worker.stats, ExactStats.of(worker).recorder.drain_locust())


def report_once(worker: Any, worker_events: Any, master: Any, master_events: Any) -> dict[str, Any]:
    """One report built, packed, unpacked and merged, as Locust's worker and master do it; what each step cost."""
    from locust.rpc.protocol import Message

    from pushpop_load.integrity import Integrity
    from pushpop_load.stats import ExactStats

    # the parts whose deltas the master's hub only queues for the merge thread, and what waits for that thread
    merged_off_hub = {ExactStats.key: ExactStats.of(master).recorder, Integrity.key: Integrity.of(master).ledger}
    data: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    _, figures["locust_feed_s"] = timed(hand_over, worker)
    _, figures["locust_build_s"] = timed(worker_events.report_to_master.fire, client_id="worker", data=data)
    parts = {}
    for part in worker.pushpop.parts:
        if not part.key:
            continue
        delta, cpu = timed(part.take_delta)
        if delta is not None:
            data[part.key] = delta
        parts[part.key] = {"build_s": cpu, "bytes": len(Message("x", delta, "").serialize()) - 3}
    figures["parts"] = parts
    locust_only = {key: value for key, value in data.items() if key in ("stats", "stats_total", "errors")}
    figures["locust_bytes"] = len(Message("stats", locust_only, "worker").serialize())
    wire, figures["pack_s"] = timed(Message("stats", data, "worker").serialize)
    figures["bytes"] = len(wire)
    message, figures["unpack_s"] = timed(Message.unserialize, wire)
    received = message.data
    _, figures["locust_merge_s"] = timed(master_events.worker_report.fire, client_id="worker", data=received)
    merge = {}
    for part in master.pushpop.parts:
        delta = received.get(part.key) if part.key else None
        if delta is not None:
            process = time.process_time()
            _, merge[part.key] = timed(part.absorb, delta, "worker")
            if part.key in merged_off_hub:
                # the hub only queues the delta; the merge thread's CPU is the process's beyond the hub's
                _, waited = timed(merged_off_hub[part.key].wait_merged)
                thread = time.process_time() - process - merge[part.key] - waited
                merge[f"{part.key} (merge thread)"] = max(0.0, thread)
    figures["merge_s"] = merge
    return figures


def main() -> None:
    import pushpop_load

    if pushpop_load.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("the extension is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 for a smoke run)")
    if RATE <= 0 or ENDPOINTS < 2 or REPORTS < 2 or INTERVAL <= 0:
        fail("RATE and INTERVAL must be positive, ENDPOINTS and REPORTS at least 2")
    from pushpop_load.integrity import Integrity
    from pushpop_load.stats import ExactStats

    worker, worker_events = environment()
    master, master_events = environment()
    recorder = ExactStats.of(worker).recorder
    workload = Workload(recorder, Integrity.of(worker).ledger)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"swarm-report-{stamp}"
    out.mkdir(parents=True)
    reports = []
    per_slice = RATE * FEED_S
    slices = round(INTERVAL / FEED_S)
    for _ in range(REPORTS):
        # paced to RATE; where this process cannot make requests that fast (Python, with the integrity
        # bookkeeping: about 25,000/s on a free core), the report's requests spread over more seconds, so its
        # per-second buckets are more than a real worker's (the report larger): `feed_wall_s` says by how much
        begun = time.monotonic()
        owed = 0.0
        for step in range(slices):
            owed += per_slice
            workload.requests(int(owed))
            owed -= int(owed)
            hand_over(worker)
            time.sleep(max(0.0, begun + (step + 1) * FEED_S - time.monotonic()))
        wall = time.monotonic() - begun
        reports.append({**report_once(worker, worker_events, master, master_events), "feed_wall_s": wall})
    measured = reports[1:]
    merged = ExactStats.of(master).recorder.summaries()
    own = workload.reference.summaries()
    check = {"endpoints": len(merged) == ENDPOINTS,
             "counts": sorted((s["name"], s["count"]) for s in merged) == sorted(workload.recorded.items()),
             "percentiles": [s["percentiles"] for s in merged] == [s["percentiles"] for s in own],
             "locust_counts": master.stats.total.num_requests == sum(workload.recorded.values())}
    # the master's ledger holds every push and pop the worker's did, and finds nothing wrong with them
    verdict = Integrity.of(master).ledger.report(False)
    check["integrity"] = (verdict["acknowledged"], verdict["popped"], verdict["duplicated"], verdict["foreign"],
                          verdict["out_of_order"]) == (workload.pushed, workload.popped, 0, 0, 0)
    results = {
        "rate": RATE, "endpoints": ENDPOINTS, "interval_s": INTERVAL, "reports": len(measured),
        "requests_per_report": RATE * INTERVAL, "check": check,
        "feed_wall_s": statistics.median(r["feed_wall_s"] for r in measured),
        "bytes": statistics.median(r["bytes"] for r in measured),
        "locust_bytes": statistics.median(r["locust_bytes"] for r in measured),
        "parts_bytes": {key: statistics.median(r["parts"][key]["bytes"] for r in measured)
                        for key in measured[0]["parts"]},
        "worker_ms": {
            "locust_feed": 1e3 * statistics.median(r["locust_feed_s"] for r in measured),
            "locust_build": 1e3 * statistics.median(r["locust_build_s"] for r in measured),
            **{key: 1e3 * statistics.median(r["parts"][key]["build_s"] for r in measured)
               for key in measured[0]["parts"]},
            "pack": 1e3 * statistics.median(r["pack_s"] for r in measured),
        },
        "master_ms": {
            "unpack": 1e3 * statistics.median(r["unpack_s"] for r in measured),
            "locust_merge": 1e3 * statistics.median(r["locust_merge_s"] for r in measured),
            **{key: 1e3 * statistics.median(r["merge_s"].get(key, 0.0) for r in measured)
               for key in measured[0]["merge_s"]},
        },
        "raw": measured,
    }
    write_results(out, summary(results), results)
    if not all(check.values()):
        fail(f"the master's merged figures differ from what the worker recorded: {check}")


def summary(results: dict[str, Any]) -> str:
    import pushpop_load

    worker, master = results["worker_ms"], results["master_ms"]
    ours_build = sum(v for k, v in worker.items() if k.startswith("pushpop_"))
    ours_hub = sum(v for k, v in master.items() if k.startswith("pushpop_") and not k.endswith("(merge thread)"))
    ours_thread = sum(v for k, v in master.items() if k.endswith("(merge thread)"))
    lines = [
        f"## A worker's report, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"({pushpop_load.build_profile} build{', smoke' if SMOKE else ''})",
        "",
        f"{results['rate']:,} requests/s over {results['endpoints']} endpoints (half pushes with integrity markers, "
        f"half checked pops), a report every {results['interval_s']:g} s ({results['requests_per_report']:,.0f} "
        f"requests; fed in {results['feed_wall_s']:.1f} s of wall time each, so as many per-second buckets); "
        f"medians of {results['reports']} reports.",
        "",
        "| report | bytes (msgpack) |",
        "|---|---:|",
        f"| whole message | {results['bytes']:,.0f} |",
        f"| Locust's statistics | {results['locust_bytes']:,.0f} |",
        *(f"| {key} | {value:,.0f} |" for key, value in results["parts_bytes"].items()),
        "",
        "| step | CPU ms |",
        "|---|---:|",
        *(f"| worker: {key} | {value:.2f} |" for key, value in worker.items()),
        *(f"| master: {key} | {value:.2f} |" for key, value in master.items()),
        "",
        f"pushpop-load's share: {ours_build:.2f} ms to build (Locust's "
        f"{worker['locust_feed'] + worker['locust_build']:.2f} ms); on the master {ours_hub:.2f} ms of the hub and "
        f"{ours_thread:.2f} ms of the merge thread (Locust's {master['locust_merge']:.2f} ms of the hub). "
        f"Merged counts equal the worker's: {all(results['check'].values())}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
