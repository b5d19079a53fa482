"""In-process measurement for bench/client: generator CPU per request in a steady-state window (process CPU
from os.times(), all threads, the native engine's included), context switches per request (every thread's, from
/proc), and, with BENCH_EXACT=1, the exact response times
reported to events.request in that window. Results go to $BENCH_OUT as JSON."""

from __future__ import annotations

import json
import os
import time

import gevent
from locust import events

WARMUP_S = float(os.environ.get("BENCH_WARMUP_S", "4"))
WINDOW_S = float(os.environ.get("BENCH_WINDOW_S", "14"))
EXACT = os.environ.get("BENCH_EXACT") == "1"
_times: list[float] = []
_recording = False


def _record(response_time: float, exception: object = None, **_: object) -> None:
    if _recording and exception is None:
        _times.append(response_time)


if EXACT:
    # only then: a listener costs every client the same small amount per request, but it is not free
    events.request.add_listener(_record)


def _total(environment) -> int:  # noqa: ANN001
    return environment.stats.total.num_requests


def _switches() -> int:
    """Context switches of every thread of this process so far (voluntary and not)."""
    total = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/status") as status:
                total += sum(int(line.split()[1]) for line in status if "ctxt_switches" in line)
        except OSError:
            pass
    return total


def _measure(environment) -> None:  # noqa: ANN001
    global _recording
    gevent.sleep(WARMUP_S)
    switches0 = _switches()
    cpu0, wall0, requests0 = sum(os.times()[:2]), time.monotonic(), _total(environment)
    main0 = time.thread_time()  # this greenlet runs on the interpreter's main thread: Python's share
    _recording = EXACT
    gevent.sleep(WINDOW_S)
    _recording = False
    cpu1, wall1, requests1 = sum(os.times()[:2]), time.monotonic(), _total(environment)
    main1 = time.thread_time()
    switches1 = _switches()
    done = requests1 - requests0
    result = {
        "requests": done,
        "seconds": wall1 - wall0,
        "requests_per_s": done / (wall1 - wall0),
        "cpu_cores": (cpu1 - cpu0) / (wall1 - wall0),
        "cpu_us_per_request": (cpu1 - cpu0) / done * 1e6 if done else None,
        "main_thread_us_per_request": (main1 - main0) / done * 1e6 if done else None,
        "failures": environment.stats.total.num_failures,
        "switches_per_request": (switches1 - switches0) / done if done else None,
    }
    if _times:
        ordered = sorted(_times)
        result["p50_ms"] = ordered[len(ordered) // 2]
        result["p99_ms"] = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        result["samples"] = len(ordered)
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(result, out)


@events.test_start.add_listener
def _start(environment, **_: object) -> None:  # noqa: ANN001
    if os.environ.get("BENCH_OUT"):
        gevent.spawn(_measure, environment)
