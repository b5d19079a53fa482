"""NativeHttpUser in real headless Locust runs against the reference target."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from processes import LOCUST, Target, locust_headless

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
    assert event["name"].endswith("/pop") and event["url"].endswith("?depth=5")
    assert event["context"] == {"user": "checker", "call": "pop"}


def test_names(checks: dict) -> None:
    assert checks["names"] == ["named push", "renamed"]


def test_error_status_is_a_failure(checks: dict) -> None:
    bad = checks["bad_status"]
    assert bad["status"] == 400 and bad["ok"] is False and "item" in bad["detail"]
    assert bad["events"][0]["exception"] == "HttpStatusError(code=400)"
    assert bad["raised"] == "HttpStatusError(code=400)"


def test_catch_response_in_every_branch(checks: dict) -> None:
    assert checks["catch"] == [
        None,  # success() on a 400
        "CatchResponseError('wanted a rejection')",  # failure() on a 200
        "ResponseError('flagged by the block')",  # ResponseError raised in the block: reported, suppressed
        # ValueError in the block: no event at all, the exception propagates (as with Locust's clients)
        "HttpStatusError(code=400)",  # nothing decided: the status decides
    ]
    assert checks["value_error_propagated"] is True
    assert checks["success_outside"] == "LocustError"


def test_connection_refused_is_a_reported_failure_not_a_raise(checks: dict) -> None:
    refused = checks["refused"]
    assert refused["status"] == 0 and refused["ok"] is False
    assert refused["error"].startswith("ConnectionRefusedError(")
    assert refused["events"][0]["exception_type"] == "ConnectionRefusedError"


def test_timeout_ends_the_request(checks: dict) -> None:
    timeout = checks["timeout"]
    assert timeout["status"] == 0 and timeout["error"] == "TimeoutError"
    assert 0.29 < timeout["waited"] < 2.0
    [event] = timeout["events"]
    assert event["exception_type"] == "TimeoutError"
    assert 290 < event["response_time"] < 2000


def test_form_bodies_and_absolute_urls(checks: dict) -> None:
    assert checks["form"]["status"] == 400 and "Content-Type" in checks["form"]["detail"]
    assert checks["absolute_404"]["status"] == 404
    assert checks["absolute_404"]["events"][0]["exception"] == "HttpStatusError(code=404)"


def test_hundreds_of_requests_in_flight_from_one_process(checks: dict) -> None:
    fan = checks["fan_out"]
    assert fan["done"] == 300 and fan["statuses"] == [200] and fan["events"] == 300
    assert fan["popped"] == 100


def test_a_native_locust_run_feeds_locusts_stats(tmp_path: Path) -> None:
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
        done, rows = locust_headless(locustfile, target.url, tmp_path / "run", "-u", "20", "-r", "20", "-t", "3s")
    finally:
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ["push", "pop"]:
        assert int(rows[name]["Request Count"]) > 200, rows[name]
        assert int(rows[name]["Failure Count"]) == 0
        assert float(rows[name]["Average Response Time"]) < 100


def test_forked_worker_processes_each_get_their_own_engine(tmp_path: Path) -> None:
    """Locust's --processes forks after importing the locustfile: the engine and the hub watcher must be made anew in
    each child. The locustfile makes a request at import time, so the parent has both before it forks."""
    locustfile = tmp_path / "forked.py"
    locustfile.write_text(
        "import os\n"
        "from locust import task, constant\n"
        "from locust.event import EventHook\n"
        "from pushpop_load import NativeHttpSession, NativeHttpUser\n"
        "assert NativeHttpSession(os.environ['TARGET_URL'], EventHook()).get('/health').status_code == 200\n"
        "class Forked(NativeHttpUser):\n"
        "    wait_time = constant(0.01)\n"
        "    @task\n"
        "    def push(self):\n"
        "        self.client.post('/queue/forked/push', json={'item': {'a': 1}}, name='push')\n"
    )
    target = Target().start()
    try:
        done, rows = locust_headless(
            locustfile, target.url, tmp_path / "forked", "--processes", "2", "-u", "10", "-r", "10", "-t", "3s",
            timeout=90, env={"TARGET_URL": target.url},
        )
    finally:
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    assert "timed out" not in done.stderr
    assert int(rows["push"]["Request Count"]) > 200, rows["push"]
    assert int(rows["push"]["Failure Count"]) == 0
