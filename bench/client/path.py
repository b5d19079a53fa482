"""The Python request path alone: main-thread and process CPU per request of ``NativeHttpSession.post`` (Locust's
statistics in batches, as in a run where nothing else listens), 20 greenlets back to back in one process, without
Locust's runner and task scheduling around it. A figure that moves less with the machine's load than a whole run's:
compare variants of python/pushpop_load in turns, several rounds each, against the same server.

    .venv/bin/python bench/client/path.py URL [SECONDS]      # prints one JSON line

bench/client/run.py's nginx (or any server answering POST /queue/q1/push) is the target; pin this process to a core
of its own (taskset -c 1) as run.py pins its generators.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import gevent
from locust import constant
from locust.env import Environment

from pushpop_load import NativeHttpUser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import fail  # noqa: E402

PAYLOAD = "x" * 50


def pushers(url: str, count: int) -> list[NativeHttpUser]:
    """`count` users of one environment with a local runner, sending to `url`: nothing but Locust's statistics and
    the exact histograms listen, so their requests are reported in batches."""

    class Pusher(NativeHttpUser):
        host = url
        wait_time = constant(0)

    environment = Environment(user_classes=[Pusher])
    environment.create_local_runner()
    return [Pusher(environment) for _ in range(count)]


def push(user: NativeHttpUser) -> int:
    """One push of a ~100-byte item; its status."""
    return user.client.post("/queue/q1/push", json={"item": {"data": PAYLOAD, "timestamp": time.time()},
                                                    "priority": 0}).status_code


def main() -> None:
    try:
        url, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
    except (IndexError, ValueError):
        fail(f"usage: path.py URL [SECONDS], not {' '.join(sys.argv[1:])!r}")

    users = pushers(url, 20)
    done = [0]
    running = [True]

    def pushing(user: NativeHttpUser) -> None:
        while running[0]:
            push(user)
            done[0] += 1

    greenlets = [gevent.spawn(pushing, user) for user in users]
    gevent.sleep(1.0)  # connections made, caches warm
    count0, main0, process0 = done[0], time.thread_time(), sum(os.times()[:2])
    gevent.sleep(seconds)
    count1, main1, process1 = done[0], time.thread_time(), sum(os.times()[:2])
    running[0] = False
    gevent.joinall(greenlets, timeout=10)
    requests = count1 - count0
    print(json.dumps({"requests": requests, "main_thread_us_per_request": (main1 - main0) / requests * 1e6,
                      "process_us_per_request": (process1 - process0) / requests * 1e6}))


if __name__ == "__main__":
    main()
