"""Every way tests/python/misbehaving_server.py misbehaves, once per iteration, in a real Locust run. What each request
ended as (the exception Locust's failure table shows), the iterations completed, and the process's descriptors and
peak memory go to $MISBEHAVING_OUT at the end, for tests/python/test_transport_misbehaving_servers.py."""

from __future__ import annotations

import json
import os
import time

import gevent
from locust import constant, events, task

from pushpop_load import NativeHttpUser, _native

CASES = ["reset-before-status", "reset-in-headers", "reset-mid-body", "silent", "slow-headers", "slow-body",
         "invalid", "short-body", "broken-chunked", "huge-length", "huge-chunked"]
UNRESOLVABLE = f"http://{'a' * 64}.invalid/ok"  # a label too long for DNS: fails in getaddrinfo, sends no query
OUTCOMES: dict[str, set[str]] = {}
STATE: dict[str, object] = {"iterations": 0}


def descriptors() -> tuple[int, int]:
    """Open descriptors, and how many of them are sockets."""
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass  # the directory's own descriptor, closed meanwhile
    return len(links), sum(link.startswith("socket:") for link in links)


@events.request.add_listener
def record(name: str, exception: BaseException | None, **_kwargs) -> None:
    OUTCOMES.setdefault(name, set()).add(repr(exception) if exception is not None else "ok")


@events.test_start.add_listener
def before(**_kwargs) -> None:
    _native.http_fileno()  # the engine (its threads and descriptors) exists from here on, as during the run
    STATE["start"] = descriptors()


@events.quitting.add_listener
def after(**_kwargs) -> None:
    # after test_stop, whose listeners (pushpop-load's among them) close the idle connections of every user: the
    # users are stopped; requests they abandoned are dropped on the engine's thread a moment later
    deadline = time.monotonic() + 3
    while descriptors() != STATE["start"] and time.monotonic() < deadline:
        time.sleep(0.05)
    STATE["stop"] = descriptors()
    with open("/proc/self/status") as status:
        STATE["peak_rss_kib"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    with open(os.environ["MISBEHAVING_OUT"], "w") as out:
        json.dump({**STATE, "outcomes": {name: sorted(seen) for name, seen in OUTCOMES.items()}}, out)


class Misbehaving(NativeHttpUser):
    wait_time = constant(0)
    network_timeout = 1.0
    connection_timeout = 1.0

    @task
    def every_case(self) -> None:
        c = self.client
        for case in CASES:
            # 64 MiB before the limit takes a while on a busy machine: these two get longer than the 1 s of the rest
            c.get(f"/{case}", name=case, **({"timeout": 10} if case.startswith("huge") else {}))
        # the pooled connection the server closed right after answering, and a while after: replaced, not reported
        c.get("/stale-now", name="stale-now")
        c.get("/ok", name="after stale-now")
        c.get("/stale-later", name="stale-later")
        gevent.sleep(0.3)
        c.get("/ok", name="after stale-later")
        c.get(UNRESOLVABLE, name="unresolvable")
        c.get(os.environ["REFUSED_URL"], name="refused")
        c.get("/ok", name="ok")  # after all that, the user goes on
        STATE["iterations"] = int(STATE["iterations"]) + 1
