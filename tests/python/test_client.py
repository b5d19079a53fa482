"""The scripting API against the reference target: blocking and asyncio, in this (non-gevent) process."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import pytest

from processes import ROOT, Target, free_port, queue_id
from pushpop_load import Client, _native
from pushpop_load.transport import HttpStatusError


@pytest.fixture(scope="module")
def target() -> Target:
    running = Target().start()
    yield running
    assert running.stop() == 0


def test_importing_the_client_does_not_import_locust() -> None:
    code = "import sys; from pushpop_load import Client; print('locust' in sys.modules, 'gevent' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_blocking_push_pop_and_request(target: Target) -> None:
    client = Client(target.url)
    queue = queue_id("client")
    for n, priority in enumerate([2, 0, 1, 0]):
        assert client.push(queue, {"n": n}, priority=priority)["success"] is True
    assert [item["n"] for item in client.pop(queue, depth=10)] == [1, 3, 2, 0]
    assert client.pop(queue) == []
    _native.http_start_waits()  # counted afresh from here
    response = client.request("GET", "/health")
    assert response.status_code == 200 and response.json()["status"] == "healthy" and response.elapsed_ms > 0
    assert response.queued_ms >= 0
    # the wait before the start is counted apart from the response time, per process, until taken
    requests, p50_ms, p99_ms = _native.http_start_waits()
    assert requests == 1 and 0 < p50_ms <= p99_ms, (requests, p50_ms, p99_ms)
    assert _native.http_start_waits() == (0, 0.0, 0.0)
    assert client.request("GET", "/nowhere").status_code == 404
    with pytest.raises(HttpStatusError) as raised:
        client.push(queue, "not an object")
    assert raised.value.code == 400


def test_transport_failures_are_responses_and_push_raises() -> None:
    client = Client(f"http://127.0.0.1:{free_port()}")
    response = client.request("GET", "/health")
    assert response.status_code == 0 and isinstance(response.error, ConnectionRefusedError)
    with pytest.raises(ConnectionRefusedError):
        client.push("q", {"a": 1})


def test_blocking_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = Client(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.2)
        started = time.monotonic()
        response = client.request("GET", "/")
        assert isinstance(response.error, TimeoutError)
        assert 0.19 < time.monotonic() - started < 2


def test_async_many_in_flight(target: Target) -> None:
    queue = queue_id("async")

    async def main() -> list:
        async with Client(target.url) as client:
            await asyncio.gather(*(client.apush(queue, {"n": n}, priority=n % 2) for n in range(300)))
            first = await client.apop(queue, depth=100)
            rest = []
            while batch := await client.apop(queue, depth=100):
                rest += batch
            return first + rest

    items = asyncio.run(main())
    assert sorted(item["n"] for item in items) == list(range(300))
    assert [item["n"] % 2 for item in items] == [0] * 150 + [1] * 150
    # a second event loop in the same process registers its own reader
    assert asyncio.run(Client(target.url).arequest("GET", "/health")).status_code == 200


def test_async_cancellation_leaves_the_engine_usable(target: Target) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        stuck = Client(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=None)

        async def main() -> int:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(stuck.arequest("GET", "/"), timeout=0.2)
            return (await Client(target.url).arequest("GET", "/health")).status_code

        assert asyncio.run(main()) == 200


def test_stats_count_every_request(target: Target) -> None:
    client = Client(target.url)
    before = {(e["method"], e["name"]): e["count"] for e in client.stats()}
    for _ in range(7):
        client.request("GET", "/health", name="health-check")
    after = {(e["method"], e["name"]): e for e in client.stats()}
    entry = after[("GET", "health-check")]
    assert entry["count"] - before.get(("GET", "health-check"), 0) == 7
    assert 0 < entry["min_ms"] <= entry["max_ms"]


def test_bad_base_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="base_url must be an http"):
        Client("localhost:8000")


def test_example_script(target: Target) -> None:
    script = str(ROOT / "scripts" / "client_example.py")
    done = subprocess.run([sys.executable, script, target.url, "--items", "500"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pushed 500, popped 500, lost 0, duplicated 0, priority order kept" in done.stdout
    assert "POST /queue/[id]/push: 500 requests" in done.stdout
    bad = subprocess.run([sys.executable, script, "nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "base_url must be an http" in bad.stderr


def test_connect_timeout_is_its_own_limit() -> None:
    """A listener whose accept queue is full drops new connections' SYNs, so connecting hangs: the connect timeout
    ends it long before the whole-request timeout would."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        address = full.getsockname()
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(address)
            fillers.append(filler)
        time.sleep(0.2)
        try:
            client = Client(f"http://{address[0]}:{address[1]}", timeout=10, connect_timeout=0.3)
            started = time.monotonic()
            response = client.request("GET", "/")
            waited = time.monotonic() - started
        finally:
            for filler in fillers:
                filler.close()
    assert isinstance(response.error, TimeoutError), response.error
    assert "connect timed out" in str(response.error)
    assert 0.29 < waited < 3


def test_bad_timeouts_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        Client("http://127.0.0.1:1", timeout=-1)
    with pytest.raises(ValueError, match="connect_timeout must be a positive number"):
        Client("http://127.0.0.1:1", connect_timeout=0)


def test_one_failing_waiter_does_not_strand_the_others(target: Target, caplog: pytest.LogCaptureFixture) -> None:
    import select

    from pushpop_load import _native
    from pushpop_load.transport import drain_and_deliver

    delivered: list[int] = []

    def broken(_: object) -> None:
        raise RuntimeError("waiter gone")

    options = _native.RequestOptions(5.0)
    for _ in range(20):
        _native.http_submit("GET", f"{target.url}/health", [], None, options, broken)
        _native.http_submit("GET", f"{target.url}/health", [], None, options, lambda r: delivered.append(r.status))
    _native.http_flush()
    deadline = time.monotonic() + 10
    while len(delivered) < 20 and time.monotonic() < deadline:
        select.select([_native.http_fileno()], [], [], 0.5)
        drain_and_deliver()
    assert delivered == [200] * 20
    assert "delivering a finished request failed" in caplog.text


def _random_document(rng: "random.Random", depth: int = 0) -> object:
    scalars = [
        lambda: None, lambda: rng.random() < 0.5, lambda: rng.randint(-2**63, 2**63 - 1), lambda: rng.randint(-9, 9),
        lambda: rng.uniform(-1e6, 1e6), lambda: 10.0 ** rng.randint(-30, 30) * rng.random(), lambda: float(rng.randint(0, 10**17)),
        lambda: "".join(chr(rng.choice([rng.randint(0, 0x7f), rng.randint(0x80, 0xd7ff), rng.randint(0xe000, 0x10ffff)]))
                        for _ in range(rng.randint(0, 12))),
    ]
    if depth < 4 and rng.random() < 0.4:
        kind = rng.choice(["dict", "list", "tuple"])
        children = [_random_document(rng, depth + 1) for _ in range(rng.randint(0, 5))]
        if kind == "dict":
            return {f"k{n}\u00e9\"": child for n, child in enumerate(children)}
        return children if kind == "list" else tuple(children)
    return rng.choice(scalars)()


def test_json_bodies_are_the_bytes_json_dumps_writes() -> None:
    import json
    import math
    import random
    from collections import OrderedDict

    from pushpop_load import _native

    rng = random.Random(11)
    for _ in range(5000):
        document = _random_document(rng)
        assert _native.json_dumps(document) == json.dumps(document).encode(), document
    for special in [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1e16, 1e-5, [1.5e-07, 1e22], {"": ""}, [], {}, ""]:
        assert _native.json_dumps(special) == json.dumps(special).encode(), special
    # what only json.dumps can decide is left to it (None), never encoded differently
    class Text(str):
        pass
    deep: list = []
    for _ in range(100):
        deep = [deep]
    for other in [2**64, {1: "a"}, OrderedDict(a=1), Text("x"), "\ud800", deep, {"a": object()}, {1.5}, b"x"]:
        assert _native.json_dumps(other) is None, other


def test_the_native_request_listener_takes_locusts_keywords_and_any_others() -> None:
    import json

    from pushpop_load import _native

    stats = _native.HdrStats()
    common = {"request_type": "POST", "name": "/queue/[id]/push", "response_length": 31, "response": None,
              "context": {}, "start_time": 1.0, "url": "http://x/queue/a/push"}
    stats.on_request(response_time=1.5, exception=None, **common)
    stats.on_request(response_time=2.5, exception=RuntimeError("HTTP 500"), **common, custom_tag="kept out")
    stats.on_request(response_time=None, exception=None, **common)  # no time: nothing to record
    stats.on_request("GET", "/health", 0.25)
    summaries = {s["name"]: s for s in stats.summaries()}
    push = summaries["/queue/[id]/push"]
    assert (push["count"], push["failures"]) == (2, 1), push
    assert push["min_ms"] == pytest.approx(1.5, rel=1e-3) and push["max_ms"] == pytest.approx(2.5, rel=1e-3), push
    assert summaries["/health"]["count"] == 1
    with pytest.raises(TypeError):
        stats.on_request(name="/x", response_time=1.0)  # request_type missing


def test_a_non_cooperative_request_lets_no_other_greenlet_run(target: Target) -> None:
    # Under gevent, `cooperative=False` must not switch to the hub (the integrity drain at quit relies on it); the
    # default must, or a user's request would stall the swarm. A greenlet spawned just before each request runs
    # only at the first switch to the hub, so whether it ran when the request returns tells which wait was used.
    code = f"""
from gevent import monkey; monkey.patch_all()
import gevent
from pushpop_load import Client, _native
client = Client({target.url!r})
for cooperative in (False, True):
    ran = []
    gevent.spawn(ran.append, 1)
    status = client.request("GET", "/health", record=False, cooperative=cooperative).status_code
    print(cooperative, status, bool(ran))
    gevent.sleep(0)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == ["False 200 False", "True 200 True"], done.stderr


def _request_heads(count: int) -> tuple[str, list[bytes], "threading.Thread"]:
    """A server that answers `count` requests on one keep-alive connection and keeps each request's head."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    heads: list[bytes] = []

    def serve() -> None:
        with listener, listener.accept()[0] as connection:
            connection.settimeout(10)
            buffer = b""
            while len(heads) < count:
                while b"\r\n\r\n" not in buffer:
                    piece = connection.recv(65536)
                    if not piece:
                        return
                    buffer += piece
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                heads.append(head)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", heads, thread


def test_a_checked_header_list_sends_what_the_pairs_send() -> None:
    from pushpop_load import _native

    pairs = [("User-Agent", "ua"), ("X-Twice", "1"), ("x-twice", "2"), ("Accept", "application/json")]
    url, heads, server = _request_heads(2)
    options = _native.RequestOptions(5.0, pool=4242)
    for headers in (pairs, _native.HeaderList(pairs)):
        assert _native.http_request_blocking("GET", f"{url}/h", headers, None, options).status == 200
    server.join(timeout=10)
    assert len(heads) == 2 and heads[0] == heads[1]
    assert b"\r\nx-twice: 1\r\nx-twice: 2\r\n" in heads[0].lower()
    assert len(_native.HeaderList(pairs)) == 4
    with pytest.raises(ValueError, match="invalid value for header"):
        _native.HeaderList([("X-Bad", "line\nbreak")])


def test_a_session_with_a_header_that_cannot_be_sent_fails_each_request_as_before() -> None:
    client = Client(f"http://127.0.0.1:{free_port()}", headers={"X-Bad": "line\nbreak"})
    for _ in range(2):
        with pytest.raises(ValueError, match="invalid value for header"):
            client.request("GET", "/")
