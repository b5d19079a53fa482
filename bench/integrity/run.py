"""Cost of the integrity ledger as a Locust user pays it: each call through the Python binding, per operation.

    make build-prod && .venv/bin/python bench/integrity/run.py

The Rust-only figures and the memory of a 30-minute run at 20k pushes/s come from
`cargo test --release --test integrity_bench -- --ignored --nocapture`. Figures are recorded in docs/BENCHMARKS.md.
SMOKE=1 runs a few thousand calls only (with ALLOW_DEBUG=1 on a debug build) to check the harness.
"""

from __future__ import annotations

import datetime
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
CALLS = 5_000 if SMOKE else 1_000_000
DEPTH = 10


def per_call(label: str, calls: int, run: Callable[[], None]) -> dict[str, object]:
    # The harness keeps a million markers alive, which would set off the cyclic GC again and again; a load test
    # drops each item after its push, so GC passes are rare there. Timed without them.
    gc.disable()
    start = time.perf_counter_ns()
    run()
    ns = (time.perf_counter_ns() - start) / calls
    gc.enable()
    print(f"{label:<48} {ns:>9.0f} ns/call")
    return {"operation": label, "ns_per_call": ns, "calls": calls}


def seed_item(marker: list[int]) -> dict[str, object]:
    """A small item of the seed's shape (about 100 bytes without the marker)."""
    return {"id": "k3j9x0aa7b2c", "seq": marker[1], "timestamp": 1732680000.123456, "data": "x" * 11, "_pp": marker}


def main() -> None:
    from pushpop_load import _native

    if _native.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("pushpop_load is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 to check the harness)")
    ledger = _native.IntegrityLedger()
    producers = [ledger.new_producer() for _ in range(100)]
    queues = [f"load-test-{n:08d}" for n in range(10)]
    markers: list[tuple[str, object]] = []
    plan = [(queues[n % 10], producers[n % 100], (n % 10) % 3) for n in range(CALLS)]

    def make_markers() -> None:
        marker = ledger.marker
        for queue, producer, priority in plan:
            markers.append((queue, marker(queue, producer, priority)))

    def ack_all() -> None:
        acked = ledger.acked
        for queue, marker in markers:
            acked(queue, marker.producer, marker.seq)

    results = [per_call("marker (10 queues, 100 producers)", CALLS, make_markers)]
    results.append(per_call("acked", CALLS, ack_all))
    by_queue: dict[str, list[list[int]]] = {queue: [] for queue in queues}
    for queue, marker in markers:
        by_queue[queue].append(marker.wire())
    bodies = [
        (queue, json.dumps({"items": [seed_item(m) for m in items[i:i + DEPTH]], "count": len(items[i:i + DEPTH])}).encode())
        for queue, items in by_queue.items()
        for i in range(0, len(items), DEPTH)
    ]
    print(f"(a pop answer of {DEPTH} small items is {len(bodies[0][1])} bytes)")

    def check_all() -> None:
        check = ledger.check_pop
        t = time.time_ns() // 1000
        for queue, body in bodies:
            check(queue, body, t, t + 50)

    results.append(per_call(f"check_pop, {DEPTH} small items", len(bodies), check_all))
    report = ledger.report(True)
    if not report["ok"] or report["popped"] != CALLS:
        fail(f"the benchmark's own run is not clean: {ledger.summary_text(True)}")
    start = time.perf_counter_ns()
    delta = ledger.take_delta()
    ns = time.perf_counter_ns() - start
    print(f"{'take_delta (the whole run in one delta)':<48} {ns / 1e6:>9.1f} ms, {len(delta)} bytes")
    results.append({"operation": "take_delta", "ns_per_call": ns, "calls": 1, "bytes": len(delta)})
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"integrity-{stamp}"
    out.mkdir(parents=True)
    (out / "results.json").write_text(json.dumps({"build": _native.build_profile, "results": results}, indent=2))
    print(f"raw output in {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
