"""NativeHttpUser in real headless Locust runs against the reference target."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from processes import (LOCUST, Target, free_port, locust_headless, master_flags, start_workers, stop_workers,
                       wait_for_web_ui)

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("checks") / "checks.json"
    target = Target().start()
    try:
        done = subprocess.run(
            [LOCUST, "-f", str(HERE / "locustfiles" / "native_checks.py"), "--headless", "--host", target.url,
             "-u", "1", "-r", "1", "-t", "60s", "--only-summary", "--exit-code-on-error", "0"],
            capture_output=True, text=True, timeout=120, env={**os.environ, "CHECKS_OUT": str(out)},
        )
    finally:
        assert target.stop() == 0
    assert out.exists(), done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert "crashed" not in results, results["crashed"]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return results


def test_request_and_event_like_locusts_own_clients(checks: dict) -> None:
    push = checks["push"]
    assert push["status"] == 200 and push["ok"]
    assert push["json"]["success"] is True and "priority 2" in push["text"]
    assert push["server_timing"].startswith("app;dur=")
    assert push["content_type"] == "application/json"
    [event] = push["events"]
    assert event["request_type"] == "POST"
    # the default name is the URL as passed, as FastHttpUser names it
    assert event["name"].startswith("/queue/native-") and event["name"].endswith("/push")
    assert event["url"].startswith("http://127.0.0.1:") and event["url"].endswith(event["name"])
    assert event["response_length"] == push["length"] > 0
    assert isinstance(event["response_time"], float) and 0 < event["response_time"] < 1000
    assert event["response_time"] == pytest.approx(push["elapsed"])
    assert event["exception"] is None and event["has_response"]
    assert event["context"] == {"user": "checker"}
    assert event["start_time"] > 1.7e9


def test_params_are_sent_but_not_part_of_the_name(checks: dict) -> None:
    pop = checks["pop"]
    assert pop["json"] == {"items": [{"n": 1}], "count": 1}
    assert pop["url"].endswith("/pop?depth=5")
    [event] = pop["events"]
    # the event's url is the one asked for, without the parameters, as FastHttpSession reports it
    assert event["name"].endswith("/pop") and event["url"].endswith("/pop")
    assert event["context"] == {"user": "checker", "call": "pop"}


def test_names(checks: dict) -> None:
    assert checks["names"] == ["named push", "renamed"]


def test_error_status_is_a_failure(checks: dict) -> None:
    bad = checks["bad_status"]
    assert bad["status"] == 400 and bad["ok"] is False and "item" in bad["detail"]
    # FastHttpUser's exception for a status it counts as failed
    assert bad["events"][0]["exception"] == "LocustBadStatusCode(code=400)"
    assert bad["raised"] == "LocustBadStatusCode(code=400)"


def test_catch_response_in_every_branch(checks: dict) -> None:
    assert checks["catch"] == [
        None,  # success() on a 400
        "CatchResponseError('wanted a rejection')",  # failure() on a 200
        "ResponseError('flagged by the block')",  # ResponseError raised in the block: reported, suppressed
        # ValueError in the block: no event at all, the exception propagates (as with Locust's clients)
        "LocustBadStatusCode(code=400)",  # nothing decided: the status decides
    ]
    assert checks["value_error_propagated"] is True
    # after the block, success() neither raises nor reports again, as on FastHttpUser's ResponseContextManager
    assert "success_outside" not in checks


def test_connection_refused_is_a_reported_failure_not_a_raise(checks: dict) -> None:
    refused = checks["refused"]
    assert refused["status"] == 0 and refused["ok"] is False
    assert refused["error"].startswith("ConnectionRefusedError(")
    assert refused["events"][0]["exception_type"] == "ConnectionRefusedError"


def test_timeout_ends_the_request(checks: dict) -> None:
    timeout = checks["timeout"]
    # reported as FastHttpUser reports it (geventhttpclient's RetriesExceeded around a socket.timeout); the engine's
    # own error, which says which limit ran out, is its cause
    assert timeout["status"] == 0 and timeout["error"] == "RetriesExceeded"
    assert timeout["original"] == "TimeoutError" and timeout["cause"] == "TimeoutError('timed out after 300 ms')"
    assert 0.29 < timeout["waited"] < 2.0
    [event] = timeout["events"]
    assert event["exception_type"] == "RetriesExceeded"
    assert 290 < event["response_time"] < 2000


def test_concurrency_limits_a_users_requests_in_flight(checks: dict) -> None:
    assert checks["concurrency"]["done"] == 100
    # the limit is reached (the fan-out really ran in parallel) and never passed
    assert checks["concurrency"]["peak"] == 4
    # killing greenlets that hold a slot or wait for one neither loses slots nor makes new ones
    assert checks["concurrency"]["after_kills"] == {"peak": 4, "done": 40}


def test_connection_timeout_is_honoured(checks: dict) -> None:
    # a session made directly tries a timed-out GET 3 more times, as FastHttpSession does (FastHttpUser: 0)
    assert checks["connect_timeout"]["error"].endswith(", 3, original=timed out)")
    assert checks["connect_timeout"]["cause"] == "TimeoutError('connect timed out')"
    assert 4 * 0.29 < checks["connect_timeout"]["waited"] < 6


def test_form_bodies_and_absolute_urls(checks: dict) -> None:
    assert checks["form"]["status"] == 400 and "Content-Type" in checks["form"]["detail"]
    assert checks["absolute_404"]["status"] == 404
    assert checks["absolute_404"]["events"][0]["exception"] == "LocustBadStatusCode(code=404)"


def test_hundreds_of_requests_in_flight_from_one_process(checks: dict) -> None:
    fan = checks["fan_out"]
    assert fan["done"] == 300 and fan["statuses"] == [200] and fan["events"] == 300
    assert fan["popped"] == 100


@pytest.mark.parametrize("reset", [False, True], ids=["whole-run", "reset-stats"])
def test_a_native_locust_run_feeds_locusts_stats(tmp_path: Path, reset: bool) -> None:
    """With --reset-stats, Locust empties its table when the last user has spawned (here after ~1.9 s of
    traffic): the exact figures must hold the same samples, not the whole run's."""
    locustfile = tmp_path / "native_s3a.py"
    locustfile.write_text(
        "from locust import task, constant\n"
        "from pushpop_load import NativeHttpUser\n"
        "class Mixed(NativeHttpUser):\n"
        "    wait_time = constant(0.01)\n"
        "    @task\n"
        "    def push(self):\n"
        "        self.client.post('/queue/native-run/push', json={'item': {'a': 1}}, name='push')\n"
        "    @task\n"
        "    def pop(self):\n"
        "        self.client.post('/queue/native-run/pop?depth=2', name='pop')\n"
    )
    target = Target().start()
    try:
        done, rows = locust_headless(
            locustfile, target.url, tmp_path / "run", "-u", "20", "-r", "10" if reset else "20",
            "-t", "4s" if reset else "3s", "--json-file", str(tmp_path / "run_final"),
            *(["--reset-stats"] if reset else []),
        )
    finally:
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    if reset:
        assert "Resetting stats" in done.stderr, done.stderr[-3000:]
    for name in ["push", "pop"]:
        assert int(rows[name]["Request Count"]) > 200, rows[name]
        assert int(rows[name]["Failure Count"]) == 0
        assert float(rows[name]["Average Response Time"]) < 100
    assert_exact_stats_match(tmp_path / "run", done.stdout)


def assert_exact_stats_match(prefix: Path, stdout: str) -> None:
    """The exact histograms hold every sample Locust counted, and agree with Locust's own final figures. (Those
    come from --json-file: Locust rewrites _stats.csv only once a second, so at exit it lags by up to a second.)"""
    document = json.loads(Path(f"{prefix}_hdr.json").read_text())
    final = {entry["name"]: entry for entry in json.loads(Path(f"{prefix}_final.json").read_text())}
    assert document["format"] == "pushpop-load-hdr" and document["unit"] == "us"
    summaries = {s["name"]: s for s in document["summaries"]}
    assert set(summaries) == set(final)
    for name, summary in summaries.items():
        locust = final[name]
        assert summary["count"] == locust["num_requests"], (summary, locust)
        assert summary["failures"] == locust["num_failures"]
        # HDR keeps 3 significant digits: its mean, min and max are within 0.1% of Locust's exact floats
        mean = locust["total_response_time"] / locust["num_requests"]
        assert summary["mean_ms"] == pytest.approx(mean, rel=0.002, abs=0.002)
        assert summary["max_ms"] == pytest.approx(locust["max_response_time"], rel=0.002, abs=0.002)
        assert summary["min_ms"] == pytest.approx(locust["min_response_time"], rel=0.002, abs=0.002)
        values = [value for _, value in summary["percentiles"]]
        assert values == sorted(values) and summary["min_ms"] <= values[0] and values[-1] <= summary["max_ms"]
        entry = next(e for e in document["histograms"]["entries"] if e["name"] == name)
        assert sum(count for _, count in entry["counts"]) == summary["count"]
    assert "Response time percentiles (exact, ms" in stdout
    with open(f"{prefix}_hdr_intervals.csv", newline="") as handle:
        intervals = list(csv.DictReader(handle))
    first, last = min(e["start_time"] for e in final.values()), max(e["last_request_timestamp"] for e in final.values())
    for name, summary in summaries.items():
        rows = [row for row in intervals if row["Name"] == name]
        # every sample is in exactly one second, and the seconds are those of the run
        assert sum(int(row["Requests"]) for row in rows) == summary["count"]
        assert sum(int(row["Failures"]) for row in rows) == summary["failures"]
        assert sum(int(row["Items"]) for row in rows) == summary["items"]
        assert all(int(first) <= int(row["Timestamp"]) <= last + 1 for row in rows)
        assert all(float(row["p50 ms"]) <= float(row["p99 ms"]) <= float(row["Max ms"]) <= summary["max_ms"] * 1.001
                   for row in rows)


def test_distributed_run_merges_exact_stats_at_the_master(tmp_path: Path) -> None:
    """A real master and two real workers on loopback: the master's exact histograms hold every worker's samples
    exactly once, so its counts equal Locust's merged counts."""
    locustfile = tmp_path / "distributed.py"
    locustfile.write_text(
        "from locust import task, constant\n"
        "from pushpop_load import NativeHttpUser\n"
        "class Spread(NativeHttpUser):\n"
        "    wait_time = constant(0.005)\n"
        "    @task(3)\n"
        "    def push(self):\n"
        "        self.client.post('/queue/spread/push', json={'item': {'a': 1}}, name='push')\n"
        "    @task(1)\n"
        "    def reject(self):\n"
        "        self.client.post('/queue/spread/push', json={'item': 'bad'}, name='rejected')\n"
    )
    port = free_port()
    target = Target().start()
    workers = start_workers(locustfile, port)
    try:
        done, rows = locust_headless(
            locustfile, target.url, tmp_path / "dist", *master_flags(port),
            "-u", "10", "-r", "10", "-t", "3s", "--exit-code-on-error", "0", "--json-file", str(tmp_path / "dist_final"),
            timeout=90,
        )
    finally:
        stop_workers(workers)
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(rows["push"]["Request Count"]) > 100 and int(rows["rejected"]["Failure Count"]) > 10
    assert_exact_stats_match(tmp_path / "dist", done.stdout)


def test_pushpop_user_checks_answers_and_counts_items(tmp_path: Path) -> None:
    locustfile = tmp_path / "pushpop.py"
    ledger = tmp_path / "ledger.json"
    locustfile.write_text(
        "import json, os\n"
        "from locust import events, task, constant\n"
        "from pushpop_load import PushPopUser\n"
        "USERS = []\n"
        "class Queue(PushPopUser):\n"
        "    wait_time = constant(0.01)\n"
        "    queue_prefix = 'pp'\n"
        "    def on_start(self):\n"
        "        USERS.append(self)\n"
        "        for size in ('small', 'medium', 'large'):\n"
        "            assert self.push_item(item=getattr(self, size + '_item')(), priority=1)\n"
        "    @task(2)\n"
        "    def push(self):\n"
        "        self.push_item()\n"
        "    @task(1)\n"
        "    def pop(self):\n"
        "        items = self.pop_items(depth=3)\n"
        "        assert items is not None and len(items) <= 3\n"
        "@events.test_stop.add_listener\n"
        "def dump(**kw):\n"
        "    with open(os.environ['LEDGER'], 'w') as out:\n"
        "        json.dump([[u.queue_id, u.pushed, u.popped, u.estimated_depth()] for u in USERS], out)\n"
    )
    target = Target().start()
    try:
        done, _ = locust_headless(
            locustfile, target.url, tmp_path / "pp", "-u", "5", "-r", "5", "-t", "3s",
            "--json-file", str(tmp_path / "pp_final"), "--pp-drain", "off", env={"LEDGER": str(ledger)},
        )
        users = json.loads(ledger.read_text())
        # each user is alone on its queue: its estimate is the queue's real depth, give or take the one request
        # it had in flight when Locust stopped it (a push the server stored, or a pop of up to 3 it answered)
        for queue_id, pushed, popped, estimate in users:
            assert queue_id.startswith("pp-")
            assert estimate == pushed - popped
            depth = requests.get(f"{target.url}/queue/{queue_id}/stats").json()["depth"]
            assert estimate - 3 <= depth <= estimate + 1, (depth, estimate)
    finally:
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    # Locust's final figures (--json-file): _stats.csv is rewritten once a second, so it may lag the end
    final = {entry["name"]: entry for entry in json.loads((tmp_path / "pp_final.json").read_text())}
    assert final["/queue/[id]/push"]["num_failures"] == 0 and final["/queue/[id]/pop"]["num_failures"] == 0
    assert sum(pushed for _, pushed, _, _ in users) == final["/queue/[id]/push"]["num_requests"]
    document = json.loads(Path(f"{tmp_path / 'pp'}_hdr.json").read_text())
    pops = next(s for s in document["summaries"] if s["name"] == "/queue/[id]/pop")
    assert pops["items"] == sum(popped for _, _, popped, _ in users) > 0
    # the run's span as Locust saw it: its first entry's start to its last request
    span = max(e["last_request_timestamp"] for e in final.values()) - min(e["start_time"] for e in final.values())
    assert 0 < document["duration_s"] and document["duration_s"] >= span - 0.01, (document["duration_s"], span)
    assert "items/s" in done.stdout
    assert_exact_stats_match(tmp_path / "pp", done.stdout)
    # without the drain, what is left is "unpopped", not "lost"; every popped item was one of the run's pushes
    integrity = json.loads(Path(f"{tmp_path / 'pp'}_integrity.json").read_text())
    assert integrity["drained"] is False and integrity["lost"] is None
    assert integrity["acknowledged"] == sum(pushed for _, pushed, _, _ in users)
    assert integrity["popped"] == pops["items"] and integrity["foreign"] == 0 and integrity["duplicated"] == 0


def test_web_ui_mode_runs_native_users(tmp_path: Path) -> None:
    """Mode 1 of the seed: Locust's web UI starts and stops the swarm; its live stats show the native requests."""
    locustfile = tmp_path / "web.py"
    locustfile.write_text(
        "from locust import task, constant\n"
        "from pushpop_load import PushPopUser\n"
        "class Web(PushPopUser):\n"
        "    wait_time = constant(0.05)\n"
        "    @task\n"
        "    def push(self):\n"
        "        self.push_item()\n"
    )
    target = Target().start()
    port = free_port()
    ui = subprocess.Popen(
        [LOCUST, "-f", str(locustfile), "--web-host", "127.0.0.1", "--web-port", str(port), "--host", target.url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_web_ui(base, ui)
        started = requests.post(f"{base}/swarm", data={"user_count": 5, "spawn_rate": 5, "host": target.url}, timeout=10)
        assert started.json()["success"] is True
        time.sleep(3)
        stats = requests.get(f"{base}/stats/requests", timeout=10).json()
        pushes = next(row for row in stats["stats"] if row["name"] == "/queue/[id]/push")
        assert pushes["num_requests"] > 50 and pushes["num_failures"] == 0
        assert stats["state"] == "running"
        # the "Exact percentiles" tab: live exact figures beside Locust's rounded ones
        [exact] = [entry["data"] for entry in stats["extended_stats"] if entry["key"] == "pushpop-exact"]
        [row] = [row for row in exact if row["name"] == "POST /queue/[id]/push"]
        assert int(row["requests"]) > 50 and row["failures"] == "0"
        assert 0 < float(row["p50"]) <= float(row["p99"]) <= float(row["max"]) < 1000
        page = requests.get(f"{base}/", timeout=10).text
        assert "pushpop-exact" in page and "Exact percentiles" in page
        assert requests.post(f"{base}/stop", timeout=10).json()["success"] is True
        # Locust caches /stats/requests for about two seconds
        deadline = time.monotonic() + 10
        while requests.get(f"{base}/stats/requests", timeout=10).json()["state"] != "stopped":
            assert time.monotonic() < deadline, "the swarm did not stop"
            time.sleep(0.5)
    finally:
        ui.terminate()
        _, stderr = ui.communicate(timeout=30)
        assert target.stop() == 0
    assert "Traceback" not in stderr, stderr[-3000:]


def test_a_worker_killed_mid_run_is_reported_and_the_rest_still_written(tmp_path: Path) -> None:
    """Master and two workers on loopback; one worker is killed (SIGKILL) five seconds in. The master still writes
    its results, with the surviving worker's samples merged, and the exact statistics, the log and the analyzer's
    report all say that a worker was lost."""
    locustfile = tmp_path / "distributed.py"
    locustfile.write_text(
        "from locust import task, constant\n"
        "from pushpop_load import NativeHttpUser\n"
        "class Spread(NativeHttpUser):\n"
        "    wait_time = constant(0.01)\n"
        "    @task\n"
        "    def push(self):\n"
        "        self.client.post('/queue/spread/push', json={'item': {'a': 1}}, name='push')\n"
    )
    port = free_port()
    target = Target().start()
    workers = start_workers(locustfile, port)
    try:
        master = subprocess.Popen(
            [LOCUST, "-f", str(locustfile), "--headless", "--host", target.url, "--csv", str(tmp_path / "dist"),
             "--only-summary", *master_flags(port), "-u", "4", "-r", "4", "-t", "14s",
             "--exit-code-on-error", "0", "--json-file", str(tmp_path / "dist_final")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        # five seconds after both workers started sending requests
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not _target_served(target, 50):
            time.sleep(0.2)
        time.sleep(5)
        workers[0].kill()
        workers[0].wait()
        stdout, stderr = master.communicate(timeout=90)
    finally:
        stop_workers(workers)
        assert target.stop() == 0
    assert master.returncode == 0, stderr[-3000:]
    document = json.loads((tmp_path / "dist_hdr.json").read_text())
    assert document["workers"]["reporting"] == 2 and len(document["workers"]["lost"]) == 1, document["workers"]
    assert "1 of 2 workers were lost during the run" in stderr, stderr[-3000:]
    # the survivor kept reporting: the merged figures count its requests after the loss, and agree with Locust's
    final = {entry["name"]: entry for entry in json.loads((tmp_path / "dist_final.json").read_text())}
    [push] = document["summaries"]
    assert push["count"] == final["push"]["num_requests"] > 200
    report = subprocess.run([str(Path(LOCUST).parent / "pushpop-load"), "analyze", str(tmp_path / "dist")],
                            capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stderr
    assert "1 of 2 workers were lost during the run" in report.stdout, report.stdout


def _target_served(target: Target, at_least: int) -> bool:
    """Whether the target has answered at least `at_least` pushes to the test's queue."""
    try:
        depth = requests.get(f"{target.url}/queue/spread/stats", timeout=2).json()
    except requests.RequestException:
        return False
    return int(depth["depth"]) >= at_least
