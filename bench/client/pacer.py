"""The swarm pacer alone: main-thread CPU per slot of ``swarm_throughput``'s pacer (``SwarmPacer``), USERS greenlets
taking slots at RATE as Locust's users would (each slot followed by the ``gevent.sleep(0)`` Locust's task loop
makes), no requests. Compare variants of python/pushpop_load in turns, several rounds each, as with path.py.

    taskset -c 1 .venv/bin/python bench/client/pacer.py [RATE] [USERS] [SECONDS]     # prints one JSON line
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from gevent import monkey

monkey.patch_all()

import gevent  # noqa: E402

from pushpop_load.pacer import SwarmPacer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import fail  # noqa: E402


def main() -> None:
    try:
        rate = float(sys.argv[1]) if len(sys.argv) > 1 else 20000.0
        users = int(sys.argv[2]) if len(sys.argv) > 2 else 100
        seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    except ValueError:
        fail(f"usage: pacer.py [RATE] [USERS] [SECONDS], not {' '.join(sys.argv[1:])!r}")
    if not (rate > 0 and users > 0 and seconds > 0):
        fail(f"RATE, USERS and SECONDS must be above 0 (got {rate:g}, {users}, {seconds:g})")
    pacer = SwarmPacer(lambda: rate, lambda: None)
    taken = [0]
    running = [True]

    def user() -> None:
        while running[0]:
            pacer.acquire()
            gevent.sleep(0)  # TaskSet.wait's sleep of the 0 s that swarm_throughput's wait_time returns
            taken[0] += 1

    greenlets = [gevent.spawn(user) for _ in range(users)]
    gevent.sleep(0.5)
    count0, main0, wall0 = taken[0], time.thread_time(), time.monotonic()
    gevent.sleep(seconds)
    count1, main1, wall1 = taken[0], time.thread_time(), time.monotonic()
    running[0] = False
    pacer.reset()
    gevent.killall(greenlets, timeout=10)
    slots = count1 - count0
    print(json.dumps({"rate": rate, "users": users, "slots_per_s": round(slots / (wall1 - wall0)),
                      "main_thread_us_per_slot": round((main1 - main0) / slots * 1e6, 2)}))


if __name__ == "__main__":
    main()
