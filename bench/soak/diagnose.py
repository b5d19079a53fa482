"""Where a soak's memory goes: a Locust add-on that `bench/soak/run.py` loads beside the scenario with DIAGNOSE=1.

Every DIAGNOSE_EVERY seconds (30) it appends to $SOAK_DIAGNOSE_OUT.csv: the process's RSS; the Python heap that
tracemalloc traces (started at import, one frame per trace: the soak's Python CPU rises by a fraction, so a
diagnosed run is not the soak's measurement); gc-tracked objects; Locust's in-memory history (`stats.history`
and the per-second request counters of every stats entry); and what the exact statistics keep per second in Rust —
seconds, (second, name) entries and histogram buckets, counted from a delta taken and absorbed straight back
(the merge is exact). At test stop it writes $SOAK_DIAGNOSE_OUT_top.txt: the tracemalloc sites and object types
that grew most since the first sample at or after WARMUP seconds.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import gevent
from locust import events

tracemalloc.start(1)

OUT = os.environ.get("SOAK_DIAGNOSE_OUT", "")
EVERY = float(os.environ.get("DIAGNOSE_EVERY", "30"))
WARMUP = float(os.environ.get("WARMUP", "60"))
_state: dict[str, Any] = {}


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _native_intervals(environment: Any) -> tuple[int, int, int]:
    from pushpop_load.stats import ExactStats

    recorder = ExactStats.of(environment).recorder
    delta = recorder.take_delta_json()
    recorder.absorb_json(delta)
    # recent seconds as histograms; older ones are rows only and hold no buckets
    intervals = json.loads(delta)["intervals"]["recent"]
    entries = sum(len(snapshot["entries"]) for _, snapshot in intervals)
    buckets = sum(len(entry["counts"]) for _, snapshot in intervals for entry in snapshot["entries"])
    return len(intervals), entries, buckets


def _types() -> Counter[str]:
    return Counter(type(o).__name__ for o in gc.get_objects())


def _sample(environment: Any, started: float, writer: Any, handle: Any) -> None:
    stats = environment.runner.stats
    entries = [*stats.entries.values(), stats.total]
    seconds, interval_entries, buckets = _native_intervals(environment)
    elapsed = time.monotonic() - started
    writer.writerow({
        "elapsed_s": round(elapsed, 1), "rss_kib": _rss_kib(),
        "py_traced_kib": tracemalloc.get_traced_memory()[0] // 1024, "gc_objects": len(gc.get_objects()),
        "locust_history": len(stats.history),
        "locust_per_second_keys": sum(len(e.num_reqs_per_sec) + len(e.num_fail_per_sec) for e in entries),
        "native_seconds": seconds, "native_entries": interval_entries, "native_buckets": buckets,
    })
    handle.flush()
    if "base" not in _state and elapsed >= WARMUP:
        _state["base"] = (tracemalloc.take_snapshot(), _types())


def _loop(environment: Any) -> None:
    started = time.monotonic()
    fields = ["elapsed_s", "rss_kib", "py_traced_kib", "gc_objects", "locust_history", "locust_per_second_keys",
              "native_seconds", "native_entries", "native_buckets"]
    with open(f"{OUT}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        while True:
            _sample(environment, started, writer, handle)
            gevent.sleep(EVERY)


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    if OUT and "loop" not in _state:
        _state["loop"] = gevent.spawn(_loop, environment)


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    loop = _state.pop("loop", None)
    if loop is not None:
        loop.kill(block=True)
    if not OUT or "base" not in _state:
        return
    base_snapshot, base_types = _state["base"]
    lines = ["tracemalloc: the sites that grew most since the baseline (size, count)"]
    for stat in tracemalloc.take_snapshot().compare_to(base_snapshot, "lineno")[:15]:
        lines.append(f"  {stat}")
    lines.append("gc-tracked objects by type: the most grown since the baseline")
    grown = _types()
    grown.subtract(base_types)
    lines += [f"  {name}: {count:+d}" for name, count in grown.most_common(10)]
    Path(f"{OUT}_top.txt").write_text("\n".join(lines) + "\n")
