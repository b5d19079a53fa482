"""`pushpop-load prepopulate` and `pushpop_load.prepopulate` against real targets: exact counts per queue and
priority, the items' markers and sizes read back by popping, bad input, and retries across a target restart."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

import pushpop_load
from processes import PUSHPOP, Postgres, Target, free_port, queue_id

SIZES = {"small": 100, "medium": 1024, "large": 10 * 1024}


def prepopulate(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PUSHPOP, "prepopulate", *args], capture_output=True, text=True, timeout=timeout)


def stats(url: str, queue: str) -> dict[str, Any]:
    return requests.get(f"{url}/queue/{queue}/stats", timeout=10).json()


def pop_all(url: str, queue: str, limit: int) -> list[dict[str, Any]]:
    """Every item of a queue, in pop order (at most `limit`, so that the loop is bounded)."""
    items: list[dict[str, Any]] = []
    with requests.Session() as http:
        for _ in range(limit // 100 + 2):
            # json.loads, not requests' .json(): simplejson (when installed) would read floats its own way
            body = json.loads(http.post(f"{url}/queue/{queue}/pop?depth=100", timeout=30).text)
            if not body["items"]:
                break
            items += body["items"]
    return items


def test_cli_fills_queues_with_exact_counts_per_priority(target: Target, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    done = prepopulate("--host", target.url, "--queues", "3", "--queue-prefix", "cli", "--items", "1000",
                       "--priorities", "0,1,2", "--json", str(report_path))
    assert done.returncode == 0, done.stderr
    queues = done.stdout.split()
    assert len(queues) == 3 and all(re.fullmatch(r"cli-[a-z0-9]{8}", queue) for queue in queues), done.stdout
    for queue in queues:
        assert stats(target.url, queue) == {"depth": 1000, "by_priority": {"0": 334, "1": 333, "2": 333}}
    report = json.loads(report_path.read_text())
    assert report["pushed"] == report["requested"] == 3000
    assert report["per_queue"] == {queue: 1000 for queue in queues}
    assert report["by_priority"] == {"0": 1002, "1": 999, "2": 999}
    assert (report["verified"], report["verification"]) == (True, "stats")
    assert report["depths"] == {queue: 1000 for queue in queues}
    assert report["rate"] > 0 and 0 < report["producer"] < 2**53
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.json"], "a temporary file was left"
    assert "stored 3,000 items in 3 queues" in done.stderr


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_items_popped_back_carry_valid_markers(target: Target, size: str) -> None:
    queue, count = queue_id("markers"), 300
    started_us = time.time_ns() // 1000
    report = pushpop_load.prepopulate(target.url, queue, count, priorities=[0, 1, 2], size=size, producer=4242,
                                      progress=False)
    ended_us = time.time_ns() // 1000
    assert report.pushed == count and report.producer == 4242
    items = pop_all(target.url, queue, 2 * count)
    assert len(items) == count
    markers = [item["_pp"] for item in items]
    assert all(len(marker) == 4 and marker[0] == 4242 for marker in markers)
    assert sorted(marker[1] for marker in markers) == list(range(count)), "each seq 0..n-1 exactly once"
    assert all(marker[2] == marker[1] % 3 for marker in markers), "priorities in turn"
    priorities = [marker[2] for marker in markers]
    assert priorities == sorted(priorities), "popped most urgent first"
    for item in items:
        # the layout of pushpop_load.payloads.make_item with a marker: the marker stands in for seq and timestamp
        assert list(item) == ["id", "data", "_pp"]
        assert re.fullmatch(r"[a-z0-9]{12}", item["id"])
        assert started_us <= item["_pp"][3] <= ended_us
        assert set(item["data"]) <= {"x"}
        assert len(json.dumps(item)) == SIZES[size], item


def test_small_items_are_exactly_100_bytes_whatever_the_marker(target: Target) -> None:
    queue = queue_id("small")
    pushpop_load.prepopulate(target.url, queue, 5, producer=2**53 - 1, progress=False)
    for item in pop_all(target.url, queue, 5):
        assert len(json.dumps(item)) == 100 and item["data"].startswith("x")


def test_weights_are_honoured(target: Target) -> None:
    queue = queue_id("weights")
    done = prepopulate("--host", target.url, "--queue", queue, "--items", "1k", "--priority-weights", "0:5,1:3,2:2",
                       "--quiet")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    by_priority = stats(target.url, queue)["by_priority"]
    for priority, share in {"0": 0.5, "1": 0.3, "2": 0.2}.items():
        assert abs(by_priority[priority] - share * 1000) <= 0.02 * 1000, by_priority
    # interleaved per 10 items, so exact here
    assert by_priority == {"0": 500, "1": 300, "2": 200}


def test_python_api_returns_the_report(target: Target) -> None:
    queues = [queue_id("api"), queue_id("api")]
    report = pushpop_load.prepopulate(target.url, queues, "2k", weights={0: 1, 3: 1}, size="medium",
                                      connections=8, progress=False)
    assert isinstance(report, pushpop_load.PrepopulateReport)
    assert report.pushed == report.requested == 4000
    assert report.per_queue == {queue: 2000 for queue in queues}
    assert report.by_priority == {0: 2000, 3: 2000}
    assert report.retried == 0 and report.uncertain == {}
    assert report.verified and report.verification == "stats"
    assert report.depths == {queue: 2000 for queue in queues}
    assert report.elapsed > 0 and report.rate == pytest.approx(4000 / report.elapsed)
    assert report.queues == queues and report.size == "medium"
    assert json.loads(report.to_json())["pushed"] == 4000
    for queue in queues:
        assert stats(target.url, queue)["by_priority"] == {"0": 1000, "3": 1000}


def test_without_verification_the_acknowledged_count_is_reported(target: Target) -> None:
    queue = queue_id("noverify")
    report = pushpop_load.prepopulate(target.url, queue, 0, verify=False, progress=False)
    assert (report.pushed, report.verified, report.verification, report.depths) == (0, True, "acknowledged", None)
    report = pushpop_load.prepopulate(target.url, queue, 50, verify=False, progress=False)
    assert (report.pushed, report.verification, report.depths) == (50, "acknowledged", None)
    assert stats(target.url, queue)["depth"] == 50


UNREACHABLE = f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--size", "huge"], ["--size", "huge"]),
        (["--items", "-1"], ["--items", "-1"]),
        (["--items", "lots"], ["--items", "lots"]),
        (["--priorities", "0,x"], ["--priorities"]),
        (["--priority-weights", "0:5,0:1"], ["--priority-weights", "twice"]),
        (["--connections", "0"], ["connections"]),
        (["--timeout", "0"], ["--timeout"]),
        (["--host", "ftp://example.org"], ["http://", "ftp://example.org"]),
        (["--host", "localhost:8000"], ["http://"]),
        (["--queue", "has space"], ["queue id", "has space"]),
        ([], ["cannot reach", UNREACHABLE, "refused"]),
    ],
)
def test_bad_input_exits_2_with_one_line_and_leaves_no_file(args: list[str], words: list[str], tmp_path: Path) -> None:
    base = {"--host": UNREACHABLE, "--queue": "q", "--items": "10"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = [part for pair in base.items() for part in pair]
    done = prepopulate(*argv, "--json", str(tmp_path / "report.json"))
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pushpop-load: error: "), done.stderr
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["missing-dir/report.json", "."])
def test_unwritable_json_path_exits_2_before_pushing(target: Target, tmp_path: Path, path: str) -> None:
    queue = queue_id("json")
    done = prepopulate("--host", target.url, "--queue", queue, "--items", "10", "--json", str(tmp_path / path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--json" in lines[0], done.stderr
    assert stats(target.url, queue)["depth"] == 0, "nothing is pushed"
    assert list(tmp_path.iterdir()) == []


def test_rejected_push_stops_with_a_clear_error(target: Target, tmp_path: Path) -> None:
    queue = queue_id("rejected")
    done = prepopulate("--host", target.url, "--queue", queue, "--items", "100", "--priorities", "5000",
                       "--json", str(tmp_path / "r.json"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "rejected" in lines[0] and "HTTP 400" in lines[0] and "0 of 100" in lines[0]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(pushpop_load.PrepopulateError, match="HTTP 400") as raised:
        pushpop_load.prepopulate(target.url, queue, 10, priorities=[5000], progress=False)
    assert raised.value.stored == 0
    assert isinstance(raised.value, pushpop_load._native.PushpopError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": "huge"}, {"items": -1}, {"items": "lots"}, {"items": 1.5}, {"connections": 0}, {"retries": -1},
        {"timeout": 0}, {"priorities": [-1]}, {"priorities": []}, {"weights": {0: -1}}, {"weights": "0:x"},
        {"priorities": [0], "weights": {0: 1}}, {"host": "ftp://x"}, {"queues": []}, {"queues": 5},
        {"producer": 2**53},
    ],
)
def test_python_bad_arguments_are_value_errors(kwargs: dict[str, Any]) -> None:
    args = {"host": UNREACHABLE, "queues": "q", "items": 10}
    for key in ("host", "queues", "items"):
        if key in kwargs:
            args[key] = kwargs.pop(key)
    with pytest.raises(ValueError):
        pushpop_load.prepopulate(args["host"], args["queues"], args["items"], progress=False, **kwargs)


def test_python_unreachable_host_is_a_prepopulate_error() -> None:
    with pytest.raises(pushpop_load.PrepopulateError, match="cannot reach"):
        pushpop_load.prepopulate(UNREACHABLE, "q", 10, progress=False)


def test_sigint_stops_the_run_says_what_was_stored_and_leaves_no_file(tmp_path: Path) -> None:
    target = Target().start()
    try:
        queue = queue_id("sigint")
        proc = subprocess.Popen([PUSHPOP, "prepopulate", "--host", target.url, "--queue", queue, "--items", "5M",
                                 "--connections", "4", "--json", str(tmp_path / "r.json")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while stats(target.url, queue)["depth"] < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 1, stderr
        assert re.search(r"interrupted \(\d+ of 5000000 items stored\)", stderr), stderr
        assert list(tmp_path.iterdir()) == []
    finally:
        assert target.stop() == 0


def test_a_target_restart_mid_way_is_survived_by_retries(postgres: Postgres, tmp_path: Path) -> None:
    port = free_port()
    target = Target("--store", postgres.url, port=port).start()
    queue, count = queue_id("restart"), 20_000
    report_path = tmp_path / "report.json"
    proc = subprocess.Popen([PUSHPOP, "prepopulate", "--host", target.url, "--queue", queue, "--items", str(count),
                             "--connections", "16", "--retries", "10", "--json", str(report_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while stats(target.url, queue)["depth"] < 2000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "finished before the restart: raise the count"
        assert target.stop() == 0
        time.sleep(0.3)
        target = Target("--store", postgres.url, port=port).start()
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    report = json.loads(report_path.read_text())
    assert report["retried"] > 0, "the restart was not felt"
    assert report["pushed"] == count and report["verification"] == "stats" and report["verified"]
    uncertain = set(report["uncertain"].get(queue, []))
    try:
        items = pop_all(target.url, queue, count + len(uncertain) + 100)
    finally:
        assert target.stop() == 0
    seqs = Counter(item["_pp"][1] for item in items)
    assert set(seqs) == set(range(count)), "every acknowledged push is there"
    assert {seq for seq, times in seqs.items() if times > 1} <= uncertain, "only uncertain pushes may be there twice"
    assert max(seqs.values()) <= 2


def test_gevent_helper_leaves_the_hub_free(target: Target) -> None:
    # in a process of its own: monkey-patching would change this one for every later test
    script = f"""
from gevent import monkey; monkey.patch_all()
import gevent
from pushpop_load import prepopulate_gevent
ticks = []
def ticker():
    while True:
        ticks.append(1)
        gevent.sleep(0.01)
beat = gevent.spawn(ticker)
report = prepopulate_gevent({target.url!r}, {queue_id("gevent")!r}, 20000, connections=4)
beat.kill()
print(report.pushed, len(ticks), report.elapsed)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    pushed, ticks, elapsed = done.stdout.split()
    assert int(pushed) == 20000
    # the ticker kept running while the queue filled: about one tick per 10 ms
    assert int(ticks) >= max(2, float(elapsed) * 100 * 0.3), done.stdout
