"""Open-model load (``pushpop_load.openmodel``) in real Locust runs: requests start on schedule, Locust's statistics
and the exact ones count every one of them (corrected and raw), and a service that stalls is measured at the load
it was meant to take, where a closed-model user in the same run hides the stall."""

from __future__ import annotations

import json
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from fifo_service import JsonAnswering, fifo_handler, serving
from processes import Target, free_port, locust_headless, master_flags, start_workers, stop_workers

OPEN = '''
from locust import constant, task
from pushpop_load import NativeHttpUser
from pushpop_load.openmodel import ArrivalRateUser

class Open(ArrivalRateUser):
    schedule = "{schedule}"
    duration = {duration}
    network_timeout = 5
'''

QUIT_AT_END = '''
    def on_stop(self):
        # the schedule is over and its requests answered: so is the run
        import gevent
        gevent.spawn(self.environment.runner.quit)
'''

CLOSED = '''
class Closed(NativeHttpUser):
    wait_time = constant(0.02)
    network_timeout = 5

    @task
    def push(self):
        self.client.post("/queue/closed/push", json={"item": {"n": 1}}, name="closed push")
'''


def hdr_summaries(prefix: Path) -> dict[str, dict]:
    return {s["name"]: s for s in json.loads(Path(f"{prefix}_hdr.json").read_text())["summaries"]}


def percentile(summary: dict, wanted: float) -> float:
    return dict((p, v) for p, v in summary["percentiles"])[wanted]


def test_bad_schedules_and_settings_are_clear_errors() -> None:
    from pushpop_load import _native

    for schedule, words in (
        ("zigzag:rate=1", "unknown schedule 'zigzag'"),
        ("ramp:from=1,to=2", "needs over="),
        ("constant:rate=-1", "rate=-1 is not a rate"),
    ):
        with pytest.raises(ValueError, match=words):
            _native.Schedule(schedule)
    for settings, words in (
        ({"max_in_flight": 0}, "max_in_flight must be at least 1"),
        ({"max_connections": 0}, "max_connections must be at least 1"),
        ({"queues": []}, "at least one queue"),
        ({"duration": -1.0}, "duration must be a positive number"),
        ({"batch_window": -0.001}, "batch_window must be 0 or a positive number of seconds"),
        ({"batch_window": 0.01}, r"batch_window \(0.01 s\) cannot be wider than late_after \(0.005 s\)"),
    ):
        with pytest.raises(ValueError, match=words):
            _native.OpenModel("http://127.0.0.1:9", _native.Schedule("constant:rate=1"), **{"queues": ["q"], **settings})
    with pytest.raises(ValueError, match="http:// or https://"):
        _native.OpenModel("ftp://127.0.0.1:9", _native.Schedule("constant:rate=1"), queues=["q"])


def test_an_arrival_rate_run_starts_every_request_on_time_and_counts_it(tmp_path: Path) -> None:
    locustfile = tmp_path / "open.py"
    locustfile.write_text(OPEN.format(schedule="constant:rate=200", duration=4))
    target = Target().start()
    try:
        done, _ = locust_headless(locustfile, target.url, tmp_path / "run", "-u", "1", "-r", "1", "-t", "7s",
                                  "--json-file", str(tmp_path / "final"), timeout=60)
    finally:
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    [run] = json.loads((tmp_path / "run_openmodel.json").read_text())["runs"]
    # 4 s at 200/s, every one started, none dropped, nearly all on time
    assert abs(run["scheduled"] - 800) <= 2, run
    assert run["started"] == run["scheduled"] == run["completed"] and run["dropped"] == 0, run
    assert run["late"] <= 0.05 * run["scheduled"], run
    assert "Open model (constant:rate=200)" in done.stdout
    # Locust's own statistics got every request, in batches, and agree with the exact ones
    final = {entry["name"]: entry for entry in json.loads((tmp_path / "final.json").read_text())}
    exact = hdr_summaries(tmp_path / "run")
    assert final["/queue/[id]/push"]["num_requests"] + final["/queue/[id]/pop"]["num_requests"] == run["started"]
    for name in ("/queue/[id]/push", "/queue/[id]/pop"):
        assert final[name]["num_failures"] == 0
        assert exact[name]["count"] == exact[f"{name} (raw)"]["count"] == final[name]["num_requests"]
        # corrected (from the due time) is never shorter than raw (from the send)
        assert percentile(exact[name], 50.0) >= percentile(exact[f"{name} (raw)"], 50.0)
        assert exact[name]["mean_ms"] == pytest.approx(
            final[name]["total_response_time"] / final[name]["num_requests"], rel=0.01, abs=0.01)
    # pops counted the items they returned, and integrity found nothing lost, twice or out of order
    integrity = json.loads((tmp_path / "run_integrity.json").read_text())
    assert integrity["lost"] == integrity["duplicated"] == integrity["out_of_order"] == 0, integrity
    assert integrity["acknowledged"] == final["/queue/[id]/push"]["num_requests"]


class _Answering(JsonAnswering):
    """Answers every push and pop, after `delay()`."""

    def delay(self) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.delay()
        self.answer(b'{"success":true,"message":"ok"}' if self.path.endswith("/push") else b'{"items":[],"count":0}')


class _Stalling(_Answering):
    """Answers pushes and pops at once, except during one second when it answers nothing."""

    stall_from = 0.0
    closed_answered = 0
    open_answered = 0

    def delay(self) -> None:
        if "/queue/closed/" in self.path:
            type(self).closed_answered += 1
        else:
            type(self).open_answered += 1
        wait = type(self).stall_from + 1.0 - time.monotonic()
        if type(self).stall_from <= time.monotonic() and wait > 0:
            time.sleep(wait)


class _Slow(_Answering):
    """Answers every push and pop after 20 ms."""

    def delay(self) -> None:
        time.sleep(0.02)


class _Counting(ThreadingHTTPServer):
    """Counts the connections it accepts."""

    accepted = 0

    def get_request(self):  # type: ignore[no-untyped-def]
        type(self).accepted += 1
        return super().get_request()


def test_arrivals_wait_for_a_bounded_connection_and_count_as_late_not_dropped(tmp_path: Path) -> None:
    _Counting.accepted = 0
    locustfile = tmp_path / "one.py"
    # 100 arrivals/s on one connection that carries 50/s: a queue grows for 2 s and drains in 2 more
    locustfile.write_text(OPEN.format(schedule="constant:rate=100", duration=2) + QUIT_AT_END
                          + "    max_connections = 1\n")
    with serving(_Counting(("127.0.0.1", 0), _Slow)) as url:
        done, _ = locust_headless(locustfile, url, tmp_path / "one",
                                  "-u", "1", "-r", "1", "-t", "20s", "--pp-integrity", "off", timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _Counting.accepted == 1
    [run] = json.loads((tmp_path / "one_openmodel.json").read_text())["runs"]
    # every arrival started, none dropped: the later ones waited for the connection, and count as late
    assert abs(run["scheduled"] - 200) <= 2 and run["dropped"] == 0, run
    assert run["started"] == run["completed"] == run["scheduled"], run
    assert run["late"] >= 0.9 * run["scheduled"], run
    assert run["max_lag_us"] > 1_000_000, run
    # the wait is in the corrected latency (from the due time), not in the raw one (from the send)
    exact = hdr_summaries(tmp_path / "one")
    push, raw = exact["/queue/[id]/push"], exact["/queue/[id]/push (raw)"]
    assert percentile(raw, 50.0) < 100, raw
    assert percentile(push, 50.0) > 500, push


def test_a_stall_shows_in_the_open_model_and_hides_in_the_closed_one(tmp_path: Path) -> None:
    _Stalling.stall_from = time.monotonic() + 1e9
    _Stalling.closed_answered = _Stalling.open_answered = 0
    locustfile = tmp_path / "both.py"
    locustfile.write_text(OPEN.format(schedule="constant:rate=100", duration=6) + CLOSED)

    def stall_soon() -> None:
        # once both models are running (a second of each answered), within the open model's 6 s
        deadline = time.monotonic() + 30
        while min(_Stalling.closed_answered, _Stalling.open_answered) < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        _Stalling.stall_from = time.monotonic()

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _Stalling)) as url:
        threading.Thread(target=stall_soon, daemon=True).start()
        done, _ = locust_headless(locustfile, url, tmp_path / "both",
                                  "-u", "6", "-r", "6", "-t", "8s", "--pp-integrity", "off", timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    exact = hdr_summaries(tmp_path / "both")
    open_push, closed_push = exact["/queue/[id]/push"], exact["closed push"]
    # a second in which nothing was answered is a fifth of the open model's requests, waiting up to a second...
    assert percentile(open_push, 99.0) > 500, open_push
    # ...and a handful of the closed users' requests: they simply sent less meanwhile
    assert percentile(closed_push, 99.0) < 200, closed_push
    assert closed_push["max_ms"] > 500, "the closed users did meet the stall"


def test_a_distributed_run_splits_the_rate_across_workers(tmp_path: Path) -> None:
    """A master and two workers on loopback: each worker runs one driver at half the rate, the master's statistics
    hold every request, and its summary counts both workers' schedules."""
    locustfile = tmp_path / "open.py"
    locustfile.write_text(OPEN.format(schedule="constant:rate=200", duration=4))
    port = free_port()
    target = Target().start()
    workers = start_workers(locustfile, port)
    try:
        done, _ = locust_headless(
            locustfile, target.url, tmp_path / "dist", *master_flags(port),
            "-u", "2", "-r", "2", "-t", "7s", "--json-file", str(tmp_path / "final"), timeout=90,
        )
    finally:
        stop_workers(workers)
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads((tmp_path / "dist_openmodel.json").read_text())["runs"]
    assert len(runs) == 2 and {run["worker"] for run in runs} != {None}, runs
    for run in runs:
        assert run["share"] == 0.5 and abs(run["scheduled"] - 400) <= 2 and run["dropped"] == 0, run
    started = sum(run["started"] for run in runs)
    final = {entry["name"]: entry for entry in json.loads((tmp_path / "final.json").read_text())}
    exact = hdr_summaries(tmp_path / "dist")
    assert final["/queue/[id]/push"]["num_requests"] + final["/queue/[id]/pop"]["num_requests"] == started
    assert exact["/queue/[id]/push"]["count"] + exact["/queue/[id]/pop"]["count"] == started
    integrity = json.loads((tmp_path / "dist_integrity.json").read_text())
    assert integrity["lost"] == integrity["duplicated"] == integrity["out_of_order"] == 0, integrity


def test_the_schedule_knob_and_its_presets(tmp_path: Path) -> None:
    import subprocess

    from processes import LOCUST, ROOT

    locustfile = ROOT / "locustfiles" / "open_model.py"
    done = subprocess.run([LOCUST, "-f", str(locustfile), "--headless", "-t", "1s", "--host", "http://127.0.0.1:9",
                           "--pp-schedule", "s9z"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown schedule 's9z'" in done.stderr, done.stderr[-2000:]
    target = Target().start()
    try:
        done, _ = locust_headless(locustfile, target.url, tmp_path / "knob", "OpenMixedUser", "-u", "1", "-r", "1",
                                  "-t", "3s", "--pp-schedule", "constant:rate=150", timeout=60)
    finally:
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    [run] = json.loads((tmp_path / "knob_openmodel.json").read_text())["runs"]
    # the knob's schedule ran (not the class's S6a), until Locust stopped the run
    assert run["schedule"] == "constant:rate=150" and 250 <= run["scheduled"] <= 530, run


def test_the_web_ui_starts_and_stops_the_schedule(tmp_path: Path) -> None:
    """Mode 1: Locust's web UI starts the driver, its live statistics fill in batches, Stop stops the requests
    (the counts stay put), and a second start runs the schedule again."""
    import subprocess

    import requests

    from processes import LOCUST, wait_for_web_ui

    locustfile = tmp_path / "web.py"
    locustfile.write_text(OPEN.format(schedule="constant:rate=200", duration=None))
    target = Target().start()
    port = free_port()
    ui = subprocess.Popen([LOCUST, "-f", str(locustfile), "--web-host", "127.0.0.1", "--web-port", str(port),
                           "--host", target.url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def requests_so_far() -> tuple[str, int]:
        stats = requests.get(f"{base}/stats/requests", timeout=10).json()
        return stats["state"], sum(row["num_requests"] for row in stats["stats"] if row["name"] != "Aggregated")

    def wait_for(state: str) -> None:
        deadline = time.monotonic() + 15
        while requests_so_far()[0] != state:
            assert time.monotonic() < deadline, f"never {state}"
            time.sleep(0.5)

    try:
        wait_for_web_ui(base, ui)
        for _ in range(2):
            swarm = requests.post(f"{base}/swarm", data={"user_count": 1, "spawn_rate": 1, "host": target.url},
                                  timeout=10)
            assert swarm.json()["success"] is True
            time.sleep(3.5)
            state, counted = requests_so_far()
            assert state == "running" and counted >= 300, (state, counted)
            assert requests.post(f"{base}/stop", timeout=10).json()["success"] is True
            wait_for("stopped")
            time.sleep(2.5)  # past Locust's two-second cache of /stats/requests
            _, stopped_at = requests_so_far()
            time.sleep(2.5)
            assert requests_so_far()[1] == stopped_at, "requests went on after Stop"
    finally:
        ui.terminate()
        _, stderr = ui.communicate(timeout=30)
        assert target.stop() == 0
    assert "Traceback" not in stderr, stderr[-3000:]


def test_concurrent_pushes_stored_in_either_order_are_not_out_of_order(tmp_path: Path) -> None:
    # pushes 2 ms apart, every other one stored 30 ms late: a later push is often stored before an earlier one.
    # Only a producer's pushes that cannot overlap are held to their order, and nothing here is out of order.
    locustfile = tmp_path / "open.py"
    locustfile.write_text(OPEN.format(schedule="constant:rate=500", duration=3) + "    pop_depth = 5\n")
    reordering = fifo_handler(lambda item, _: 0.03 if item["_pp"][1] % 2 == 0 else 0.0)
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), reordering)) as url:
        done, _ = locust_headless(locustfile, url, tmp_path / "run", "-u", "1", "-r", "1", "-t", "8s", timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    integrity = json.loads((tmp_path / "run_integrity.json").read_text())
    assert integrity["acknowledged"] >= 700 and integrity["popped"] == integrity["acknowledged"], integrity
    assert integrity["lost"] == integrity["duplicated"] == integrity["out_of_order"] == 0, integrity
    assert integrity["ok"] is True, integrity
    # as many producers as pushes were in flight at once: more than one (pushes overlapped), far fewer than pushes
    assert 1 < integrity["producers"] < 100, integrity


def test_arrivals_due_within_the_batch_window_start_together(tmp_path: Path) -> None:
    # 100 pushes/s (one due every 10 ms) with a 40 ms window: the driver wakes at an arrival's time and starts it with
    # the four due within 40 ms after it, so pushes reach the service in bursts of five, 50 ms apart
    arrived: list[float] = []

    class Recording(JsonAnswering):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            arrived.append(time.monotonic())
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.answer(b'{"success":true,"message":"ok"}')

    locustfile = tmp_path / "open.py"
    locustfile.write_text(OPEN.format(schedule="constant:rate=100", duration=3) + QUIT_AT_END
                          + "    push_weight, pop_weight = 1, 0\n    batch_window = 0.04\n    late_after = 0.05\n")
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Recording)) as url:
        done, _ = locust_headless(locustfile, url, tmp_path / "run", "-u", "1", "-r", "1", "-t", "20s",
                                  "--pp-integrity", "off", timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    [run] = json.loads((tmp_path / "run_openmodel.json").read_text())["runs"]
    assert run["started"] == len(arrived) >= 300, (run, len(arrived))
    gaps = [later - earlier for earlier, later in zip(sorted(arrived), sorted(arrived)[1:])]
    # four in five gaps are within a burst, one in five between bursts (each spaced by ten, none would be either)
    within, between = sum(gap < 0.005 for gap in gaps), sum(gap > 0.025 for gap in gaps)
    assert within > len(gaps) / 2 and between > len(gaps) / 10, (within, between, len(gaps))
