"""The integrity checker against real targets: markered items pushed and popped over loopback, every pop answer fed
to the Rust ledger as the bytes the target sent; and the target's fault injection, whose exact counts the report
must match."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from pushpop_load import Client
from pushpop_load._native import IntegrityLedger
from pushpop_load.payloads import make_item
from fifo_service import fifo_handler, serving
from processes import PUSHPOP, Target, queue_id

DEPTH = 10


def now_us() -> int:
    return time.time_ns() // 1000


def push_markered(client: Client, ledger: IntegrityLedger, queue: str, producer: int, priority: int) -> None:
    marker = ledger.marker(queue, producer, priority)
    item = make_item("small")
    item["_pp"] = marker.wire()
    client.push(queue, item, priority)  # raises on any failure: every push of these tests must succeed
    ledger.acked(queue, producer, marker.seq)


def pop_checked(client: Client, ledger: IntegrityLedger, queue: str) -> int:
    start = now_us()
    response = client.request("POST", f"/queue/{queue}/pop", params={"depth": DEPTH})
    end = now_us()
    response.raise_for_status()
    return ledger.check_pop(queue, response.content, start, end)


def drain(client: Client, ledger: IntegrityLedger, queue: str, limit: int = 10_000) -> int:
    """Pops until the queue is empty (by its stats: with injected drops an answer can be empty before that)."""
    popped = 0
    for _ in range(limit):
        count = pop_checked(client, ledger, queue)
        popped += count
        if count == 0 and client.request("GET", f"/queue/{queue}/stats").json()["depth"] == 0:
            return popped
    raise AssertionError(f"{queue} not drained after {limit} pops")


def push_from_threads(url: str, ledger: IntegrityLedger, queue: str, total: int, threads: int = 4) -> None:
    errors: list[BaseException] = []

    def producer(count: int, seed: int) -> None:
        try:
            client, producer_id, rng = Client(url), ledger.new_producer(), random.Random(seed)
            for _ in range(count):
                push_markered(client, ledger, queue, producer_id, rng.randrange(3))
        except BaseException as err:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(err)

    workers = [threading.Thread(target=producer, args=(total // threads, n)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert not any(worker.is_alive() for worker in workers)


def report(ledger: IntegrityLedger, drained: bool = True) -> dict[str, Any]:
    return ledger.report(drained)


def test_clean_run_is_ok(target: Target) -> None:
    ledger, queue = IntegrityLedger(), queue_id("integrity")
    # one consumer pops while four producers push, then the queue is drained
    stop = threading.Event()
    consumed: list[int] = []

    def consumer() -> None:
        client = Client(target.url)
        while not stop.is_set():
            consumed.append(pop_checked(client, ledger, queue))

    popper = threading.Thread(target=consumer)
    popper.start()
    try:
        push_from_threads(target.url, ledger, queue, 2000)
    finally:
        stop.set()
        popper.join(timeout=60)
    popped = sum(consumed) + drain(Client(target.url), ledger, queue)
    result = report(ledger)
    assert result["version"] == 1
    assert result["ok"], ledger.summary_text(True)
    assert (result["acknowledged"], result["popped"], popped) == (2000, 2000, 2000)
    assert (result["lost"], result["duplicated"], result["out_of_order"], result["foreign"]) == (0, 0, 0, 0)
    assert result["priority_inversions"] == 0
    assert result["producers"] == 4 and result["queues"] == 1
    latency = result["push_to_pop"]
    assert sorted(entry["priority"] for entry in latency) == [0, 1, 2]
    assert sum(entry["count"] for entry in latency) == result["popped"]
    assert all(0 <= entry["p50_ms"] <= entry["max_ms"] < 120_000 for entry in latency)
    assert ledger.queues() == [queue]
    assert "Queue integrity: OK" in ledger.summary_text(True)


@pytest.fixture(params=["memory", "postgres"])
def faulty_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    store = request.getfixturevalue("postgres").url if request.param == "postgres" else "memory"
    running = Target("--store", store, "--inject", "drop=0.02,dup=0.02,seed=7").start()
    yield running
    assert running.stop() == 0, "".join(running.stderr_lines)


def test_injected_faults_are_reported_exactly(faulty_target: Target) -> None:
    ledger, queue = IntegrityLedger(), queue_id("faulty")
    client = Client(faulty_target.url)
    push_from_threads(faulty_target.url, ledger, queue, 2000)
    before = report(ledger, drained=False)
    assert before["lost"] is None and before["unpopped"] == 2000
    drain(client, ledger, queue)
    injected = client.request("GET", "/inject").json()
    result = report(ledger)
    assert injected["dropped"] > 0 and injected["duplicated"] > 0, injected
    assert result["lost"] == injected["dropped"], (result, injected)
    assert result["duplicated"] == injected["duplicated"], (result, injected)
    assert result["popped"] == 2000 - injected["dropped"] + injected["duplicated"]
    assert (result["out_of_order"], result["foreign"], result["priority_inversions"]) == (0, 0, 0)
    assert not result["ok"]
    assert len(result["examples"]["lost"]) == min(10, injected["dropped"])
    assert len(result["examples"]["duplicated"]) == min(10, injected["duplicated"])
    assert "VIOLATIONS FOUND" in ledger.summary_text(True)
    assert any("fault injection is on" in line and "seed=7" in line for line in faulty_target.stderr_lines)
    # the totals are logged at shutdown; the fixture reaps the process
    assert faulty_target.proc is not None
    faulty_target.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any("fault injection totals" in line for line in faulty_target.stderr_lines):
        time.sleep(0.05)
    totals = [line for line in faulty_target.stderr_lines if "fault injection totals" in line]
    assert totals, faulty_target.stderr_lines
    assert f"dropped={injected['dropped']}" in totals[0] and f"duplicated={injected['duplicated']}" in totals[0]


def test_concurrent_consumers_cause_no_order_reports(target: Target) -> None:
    ledger, queue = IntegrityLedger(), queue_id("order")
    stop = threading.Event()
    counts = [0, 0]

    def consumer(index: int) -> None:
        client = Client(target.url)  # a second, independent client
        while not stop.is_set():
            counts[index] += pop_checked(client, ledger, queue)

    consumers = [threading.Thread(target=consumer, args=(n,)) for n in range(2)]
    for thread in consumers:
        thread.start()
    try:
        push_from_threads(target.url, ledger, queue, 2000, threads=2)
    finally:
        stop.set()
        for thread in consumers:
            thread.join(timeout=60)
    drain(Client(target.url), ledger, queue)
    result = report(ledger)
    assert counts[0] > 0 and counts[1] > 0, counts  # both consumers took part
    assert result["out_of_order"] == 0, ledger.summary_text(True)
    assert result["ok"] and result["popped"] == 2000


def test_inject_is_404_when_off(target: Target) -> None:
    response = Client(target.url).request("GET", "/inject")
    assert response.status_code == 404
    assert "--inject" in response.json()["detail"]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("drop=2", ["drop", "probability"]),
        ("drop=-0.1", ["drop", "probability"]),
        ("dup=often", ["dup", "probability"]),
        ("lose=0.1", ["unknown key 'lose'"]),
        ("drop", ["key=value"]),
        ("", ["key=value"]),
        ("seed=4", ["drop="]),
        ("drop=0.1,seed=x", ["seed"]),
        ("drop=0.1,drop=0.2", ["twice"]),
        ("drop=0.7,dup=0.7", ["exceed"]),
    ],
)
def test_bad_inject_values_exit_2_with_one_line(spec: str, words: list[str]) -> None:
    done = subprocess.run(
        [PUSHPOP, "target", "--port", "0", "--inject", spec], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pushpop-load: error: invalid --inject"), lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def test_bad_input_to_the_ledger_is_value_error() -> None:
    ledger = IntegrityLedger()
    for body in [b"<html>", b'{"detail": "Internal error"}', b'{"items": [], "count": 3}', b"[]"]:
        with pytest.raises(ValueError):
            ledger.check_pop("q", body, 0, 1)
    with pytest.raises(ValueError, match="range"):
        ledger.acked_range("q", 1, 10, 5)
    # a JSON snapshot (what came before the binary delta), a delta of a newer format, something else
    with pytest.raises(ValueError, match="integrity delta of format 1, where this pushpop-load reads format 2"):
        ledger.absorb(b'{"version": 1}')
    delta = IntegrityLedger().take_delta()
    with pytest.raises(ValueError, match="format 3"):
        ledger.absorb(delta[:4] + b"\x03" + delta[5:])
    with pytest.raises(ValueError, match="not a pushpop-load integrity delta"):
        ledger.absorb(b"not a delta")
    # a damaged one is told at the next call, and nothing of it is merged
    pusher = IntegrityLedger()
    pusher.acked_range("q", 1, 0, 10)
    ledger.absorb(pusher.take_delta()[:-3])
    ledger.wait_merged()
    with pytest.raises(ValueError, match="invalid integrity snapshot"):
        ledger.absorb(delta)
    assert (report(ledger)["popped"], report(ledger)["acknowledged"]) == (0, 0)


def test_deltas_merge_in_another_process_shape() -> None:
    """What the Locust listener does: workers ship binary deltas, the master queues them for its merge thread and
    reports from the union."""
    pusher, popper, master = IntegrityLedger(), IntegrityLedger(), IntegrityLedger()
    producer = pusher.new_producer()
    markers = [pusher.marker("q", producer, 0).wire() for _ in range(5)]
    for marker in markers:
        pusher.acked("q", producer, marker[1])
    pusher.acked_range("pre", producer, 0, 100)
    body = json.dumps({"items": [{"_pp": marker} for marker in markers[:4]], "count": 4}).encode()
    assert popper.check_pop("q", body, now_us(), now_us()) == 4
    first = popper.take_delta()
    assert popper.check_pop("q", body[:0] + json.dumps({"item": {"_pp": markers[0]}}).encode(), 1, 2) == 1
    for delta in [pusher.take_delta(), first, popper.take_delta()]:
        master.absorb(delta)
    result = report(master)  # waits for the merges
    assert (result["acknowledged"], result["popped"], result["duplicated"], result["lost"]) == (105, 5, 1, 101)
    assert result["examples"]["duplicated"] == [{"queue": "q", "producer": producer, "seq": 0}]
    assert pusher.queues() == ["pre", "q"] and popper.queues() == []
    # nothing new: an empty delta, which merges as nothing
    empty = pusher.take_delta()
    assert len(empty) < 16, empty
    master.absorb(empty)
    assert report(master) == result
    pusher.clear()
    assert pusher.marker("q", producer, 0).seq == 0


def test_benchmark_smoke() -> None:
    """bench/integrity/run.py end to end in its short mode; its figures are recorded in docs/BENCHMARKS.md."""
    from processes import run_bench

    results = run_bench("integrity")[2]["results"]
    assert [r["operation"] for r in results][:3] == ["marker (10 queues, 100 producers)", "acked",
                                                     "check_pop, 10 small items"]
    assert all(r["ns_per_call"] > 0 for r in results)


def test_producer_ids_differ_after_a_fork() -> None:
    """Locust's --processes forks after import: a child must not hand out its parent's producer ids."""
    import warnings

    ledger = IntegrityLedger()
    parent_first = ledger.new_producer()
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads alive: the child only computes ids
        pid = os.fork()
    if pid == 0:
        try:
            os.write(write, str(IntegrityLedger.new_producer()).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64))
    os.close(read)
    assert os.waitpid(pid, 0)[1] == 0
    parent_next = ledger.new_producer()
    assert parent_next == parent_first + 1
    assert child >> 20 != parent_first >> 20, (child, parent_first)
    assert all(0 <= value < 2**53 for value in (child, parent_first, parent_next))


AFTER_A_TIMEOUT = """
import json, sys, time
from locust import constant, task
from locust.env import Environment
from pushpop_load import PushPopUser
from pushpop_load.integrity import Integrity

class Pusher(PushPopUser):
    host = sys.argv[1]
    wait_time = constant(0)
    network_timeout = 0.5

    @task
    def push(self):
        self.push_item()

environment = Environment(user_classes=[Pusher])
environment.create_local_runner()
user = Pusher(environment)
stored = [user.push_item(), user.push_item()]  # the first is not answered in time, the second is
popped, deadline = 0, time.monotonic() + 30
while popped < 2 and time.monotonic() < deadline:  # the first is stored late: pop until both are out
    popped += len(user.pop_items(depth=10) or [])
    time.sleep(0.02)
print(json.dumps({"stored": stored, "report": Integrity.of(environment).ledger.report(True)}))
"""


def test_a_push_stored_after_its_timeout_is_not_out_of_order() -> None:
    """A user's push that timed out may be stored after the user's next: the next pushes are another producer's,
    and the checks find nothing wrong (the first push indeterminate, both items popped once). The service stores
    the first 1.5 s late, past the client's 0.5 s timeout."""
    late_first = fifo_handler(lambda _item, n: 1.5 if n == 0 else 0.0)
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), late_first)) as url:
        done = subprocess.run([sys.executable, "-c", AFTER_A_TIMEOUT, url], capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    report = result["report"]
    assert result["stored"] == [False, True], result
    assert (report["indeterminate"], report["acknowledged"], report["popped"]) == (1, 1, 2), report
    assert report["out_of_order"] == report["duplicated"] == report["foreign"] == 0, report
    assert report["ok"] is True and report["producers"] == 2, report
