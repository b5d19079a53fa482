"""A fixed amount of work for bench/instructions, so that two runs differ by a known number of requests, whatever the
machine's load does to their pace:

- ``closed URL REQUESTS`` — one greenlet's ``NativeHttpSession.post`` of a push, REQUESTS times back to back, with
  ``bench/client/path.py``'s user and push (Locust's statistics in batches: nothing else listens);
- ``open URL RATE SECONDS`` — the open model's driver alone (``_native.OpenModel``: pushes and pops 1:1 over four
  queues, no integrity ledger) at RATE arrivals/s for SECONDS, until every arrival has its answer.

Prints one JSON line with ``requests``, the number made.

    .venv/bin/python bench/instructions/drive.py closed URL REQUESTS
    .venv/bin/python bench/instructions/drive.py open URL RATE SECONDS
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

USAGE = "usage: drive.py closed URL REQUESTS | drive.py open URL RATE SECONDS (numbers above 0)"


def closed(url: str, requests: int) -> int:
    import gevent

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))
    from path import push, pushers

    from pushpop_load import locust_feed

    # Under valgrind a run is ~50 times slower, so work done on a timer weighs ~50 times what it does at full speed,
    # and by how much depends on the run's pace: the feed into Locust's statistics every FEED_SECONDS carries
    # thousands of requests at full speed and a handful here. With it, the main thread's figure for one build spread
    # over 60.8k–66.7k in three runs on a busy host; held off, over 60.4k–61.8k in four (2026-12-08). Here the
    # feed's timer never fires within a run.
    locust_feed.FEED_SECONDS = 3600.0
    [user] = pushers(url, 1)
    failures = 0

    def pushing() -> None:
        nonlocal failures
        for _ in range(requests):
            failures += push(user) != 200

    gevent.spawn(pushing).join()
    if failures:
        print(f"drive.py: {failures} of {requests} pushes failed", file=sys.stderr)
        sys.exit(1)
    return requests


def open_model(url: str, rate: int, seconds: float) -> int:
    from pushpop_load import _native

    driver = _native.OpenModel(url, _native.Schedule(f"constant:rate={rate}"), queues=["a", "b", "c", "d"],
                               duration=seconds, push_name="push", pop_name="pop")
    # under valgrind everything runs ~50 times slower: room for that, and a bound all the same
    limit = 100 * seconds + 120
    deadline = time.monotonic() + limit
    while driver.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    counters = driver.counters()
    if driver.running() or counters["completed"] != counters["scheduled"]:
        print(f"drive.py: not every arrival had its answer within {limit:.0f} s: {counters}", file=sys.stderr)
        sys.exit(1)
    return counters["completed"]


def main() -> None:
    try:
        kind, url, *numbers = sys.argv[1:]
        if kind == "closed" and len(numbers) == 1 and int(numbers[0]) > 0:
            requests, rate, seconds = int(numbers[0]), 0, 0.0
        elif kind == "open" and len(numbers) == 2 and int(numbers[0]) > 0 and float(numbers[1]) > 0:
            requests, rate, seconds = 0, int(numbers[0]), float(numbers[1])
        else:
            raise ValueError
    except ValueError:
        print(f"{USAGE}, not {' '.join(sys.argv[1:])!r}", file=sys.stderr)
        sys.exit(2)
    made = closed(url, requests) if kind == "closed" else open_model(url, rate, seconds)
    print(json.dumps({"requests": made}))


if __name__ == "__main__":
    main()
