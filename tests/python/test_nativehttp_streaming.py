"""``stream=True`` on NativeHttpUser: the body is read from its connection as the user iterates, so a 1 GiB answer
passes through in bounded memory, and a server-sent event is in the user's hands before the server sends the next
(the server waits for the client to say it saw the first)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

HERE = Path(__file__).resolve().parent

# Runs in its own process (gevent's monkey-patching comes with Locust): streams, then prints what it saw.
SCRIPT = r"""
import json, resource, sys, time
import locust
from locust.env import Environment
from pushpop_load.nativehttp import NativeHttpSession

base = sys.argv[1]
environment = Environment()
events = []
environment.events.request.add_listener(lambda **meta: events.append(
    {"length": meta["response_length"], "exception": repr(meta["exception"]), "time": meta["response_time"]}))
session = NativeHttpSession(base, environment.events.request, user=None)

def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

session.get("/huge?mib=1", stream=True).content  # warm: the engine's threads and buffers exist
before = peak_mib()
started = time.perf_counter()
response = session.get("/huge?mib=1024", stream=True)
total, biggest, tail = 0, 0, b""
for piece in response.iter_content(chunk_size=1 << 20, decode_content=False):
    total += len(piece)
    biggest = max(biggest, len(piece))
    tail = piece[-4:]
huge = {"total": total, "biggest": biggest, "tail": tail.hex(), "growth_mib": peak_mib() - before,
        "seconds": time.perf_counter() - started, "event": events[-1]}

lines = session.iter_lines("/events")
first = next(lines)
seen = session.get("/seen").status_code
rest = list(lines)
print(json.dumps({"huge": huge, "events": {"first": first, "seen": seen, "rest": rest},
                  "after": session.get("/text").text}))
"""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with subprocess.Popen([sys.executable, str(HERE / "parity_server.py")], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as process:
        assert process.stdin is not None and process.stdout is not None
        try:
            yield f"http://127.0.0.1:{int(process.stdout.readline().split()[-1])}"
        finally:
            process.stdin.close()
            assert process.wait(timeout=30) == 0


@pytest.fixture(scope="module")
def streamed(server: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, server], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_gib_passes_through_in_bounded_memory(streamed: dict[str, Any]) -> None:
    huge = streamed["huge"]
    assert huge["total"] == 1 << 30 and huge["tail"] == "fcfdfeff"
    assert huge["biggest"] <= 1 << 20
    # a buffered body would be 1024 MiB; the engine holds one read buffer and one piece at a time
    assert huge["growth_mib"] < 32, huge


def test_a_streamed_request_is_reported_as_fast_http_user_reports_it(streamed: dict[str, Any]) -> None:
    event = streamed["huge"]["event"]
    # the length the answer announced, and the time to its head (not the seconds the body took)
    assert event["length"] == 1 << 30 and event["exception"] == "None"
    assert event["time"] < streamed["huge"]["seconds"] * 1000


def test_an_event_reaches_the_user_before_the_next_is_sent(streamed: dict[str, Any]) -> None:
    events = streamed["events"]
    # the server sent event 1 only after /seen, which the client asked for after reading event 0
    assert events == {"first": "data: event 0", "seen": 200,
                      "rest": ["", "data: event 1", "", "data: event 2", ""]}


def test_the_session_goes_on_after_streams(streamed: dict[str, Any]) -> None:
    assert streamed["after"] == "This is an ultra fast response"
