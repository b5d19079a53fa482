"""Locust's statistics fed in batches (pushpop_load.locust_feed) against Locust's own per-request bookkeeping: the
same requests through both give the same figures, and anything else listening to ``events.request`` turns the
batches off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from processes import Target, locust_headless
from test_nativehttp import assert_exact_stats_match

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("check", ["batches_give_locust_the_figures_its_own_bookkeeping_gives",
                                   "anything_else_listening_turns_batches_off"])
def test_in_one_locust_process(check: str) -> None:
    done = subprocess.run([sys.executable, str(HERE / "locust_feed_checks.py"), check], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout[-3000:] + done.stderr[-3000:]


def test_a_batched_requests_request_meta_is_what_the_event_carries() -> None:
    target = Target().start()
    try:
        done = subprocess.run([sys.executable, str(HERE / "locust_feed_checks.py"),
                               "request_meta_of_a_batched_request_is_the_events", target.url],
                              capture_output=True, text=True, timeout=120)
    finally:
        assert target.stop() == 0
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.parametrize("listening", [False, True], ids=["batched", "a-listener"])
def test_a_run_reports_every_request_either_way(tmp_path: Path, listening: bool) -> None:
    """A real run: successes (batched when nothing else listens), failures (404s, always through the event), and a
    locustfile's own listener, which then sees every request Locust counts."""
    locustfile = tmp_path / "feed.py"
    locustfile.write_text(
        "import json, os\n"
        "from locust import events, task, constant\n"
        "from pushpop_load import NativeHttpUser\n"
        "SEEN, JUDGED = [], []\n"
        "class Mixed(NativeHttpUser):\n"
        "    wait_time = constant(0.005)\n"
        "    @task(4)\n"
        "    def push(self):\n"
        "        self.client.post('/queue/feed/push', json={'item': {'a': 1}}, name='push')\n"
        "    @task(1)\n"
        "    def missing(self):\n"
        "        self.client.get('/no/such/path', name='missing')\n"
        "    @task(2)\n"
        "    def judged(self):\n"
        "        with self.client.get('/health', name='judged', catch_response=True) as response:\n"
        "            JUDGED.append(len(JUDGED) % 3 == 0)\n"
        "            if JUDGED[-1]:\n"
        "                response.failure('every third')\n"
        + ("@events.request.add_listener\n"
           "def count(name, **kw):\n"
           "    SEEN.append(name)\n" if listening else "")
        + "ENV = []\n"
        "@events.init.add_listener\n"
        "def keep(environment, **kw):\n"
        "    ENV.append(environment)\n"
        "@events.quit.add_listener\n"
        "def dump(**kw):\n"
        "    errors = {f'{e.method} {e.name}: {e.error}': e.occurrences for e in ENV[0].stats.errors.values()}\n"
        "    with open(os.environ['SEEN_FILE'], 'w') as out:\n"
        "        json.dump([SEEN, JUDGED, errors], out)\n"
    )
    seen_file = tmp_path / "seen.json"
    target = Target().start()
    try:
        done, _ = locust_headless(locustfile, target.url, tmp_path / "run", "-u", "5", "-r", "5", "-t", "2s",
                                  "--json-file", str(tmp_path / "run_final"), "--exit-code-on-error", "0",
                                  env={"SEEN_FILE": str(seen_file)})
    finally:
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    final = {entry["name"]: entry for entry in json.loads((tmp_path / "run_final.json").read_text())}
    assert final["push"]["num_requests"] > 0 and final["push"]["num_failures"] == 0
    assert final["missing"]["num_requests"] == final["missing"]["num_failures"] > 0
    seen, judged, errors = json.loads(seen_file.read_text())
    # Locust's failures table (what its error report and _failures.csv show): each failure once, under its message
    assert errors == {f"GET missing: URL {target.url}/no/such/path: code=404": final["missing"]["num_failures"],
                      "GET judged: every third": sum(judged)}, errors
    # catch_response's verdicts: the successes batched, the failures through the event, each counted once
    assert final["judged"]["num_requests"] == len(judged) and final["judged"]["num_failures"] == sum(judged) > 0
    if listening:
        assert seen.count("push") == final["push"]["num_requests"]
        assert seen.count("missing") == final["missing"]["num_requests"]
        assert seen.count("judged") == final["judged"]["num_requests"]
    else:
        assert seen == []
