"""A Locust swarm on loopback (pushpop_load.swarm): a master and several real worker processes; the master's merged
results are exact once the test stops, because it waits for every worker's final report (its exact percentiles are
those of the union of the workers' samples, sent as binary deltas and merged on the master's merge thread), a worker
that never sends one is named lost, its share of the integrity verdict unknown, and one of another pushpop-load
version is refused with one error."""

from __future__ import annotations

import json
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

from pushpop_load import _native

from containers import wait_until
from processes import LOCUST, Target, free_port, locust_headless, master_flags, queue_id, start_workers, stop_workers

WORKERS = 4

# Each user pushes one more item in on_stop, a second after it was told to stop: every worker's last report then
# leaves a second after the master said quit, where Locust's master listens for half a second only. Without the
# final reports, those items were foreign to the master's ledger and the last pops' items lost (lost 9, foreign 17).
SLOW_STOP = """
import gevent
from locust import task, constant
from pushpop_load import PushPopUser

class SlowStop(PushPopUser):
    wait_time = constant(0.02)

    @task(2)
    def push(self):
        self.push_item()

    @task(1)
    def pop(self):
        self.pop_items(depth=2)

    def on_stop(self):
        gevent.sleep(1)
        self.push_item(name="last push")
"""



@contextmanager
def _killed_if_left(master: subprocess.Popen[str]) -> Iterator[None]:
    """The block ends `master` (SIGTERM, waiting for what it writes); if it fails first, the master is killed."""
    try:
        yield
    finally:
        if master.poll() is None:
            master.kill()
            master.communicate()

def test_every_workers_last_report_reaches_the_master(tmp_path: Path) -> None:
    locustfile = tmp_path / "slow_stop.py"
    locustfile.write_text(SLOW_STOP)
    port = free_port()
    target = Target().start()
    workers = start_workers(locustfile, port, WORKERS)
    try:
        done, _ = locust_headless(
            locustfile, target.url, tmp_path / "swarm", *master_flags(port, WORKERS),
            "-u", "16", "-r", "16", "-t", "4s", "--json-file", str(tmp_path / "locust"), timeout=120,
        )
    finally:
        stop_workers(workers)
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sent no final report" not in done.stderr, done.stderr[-3000:]

    # Locust's own statistics came with the final reports too: every user's last push is in them
    locust = {entry["name"]: entry for entry in json.loads((tmp_path / "locust.json").read_text())}
    assert locust["last push"]["num_requests"] == 16 and locust["last push"]["num_failures"] == 0, locust
    pushes = locust["/queue/[id]/push"]["num_requests"] + 16
    assert locust["/queue/[id]/push"]["num_failures"] == 0 and pushes > 200, locust

    hdr = json.loads((tmp_path / "swarm_hdr.json").read_text())
    assert hdr["workers"] == {"reporting": WORKERS, "lost": []}, hdr["workers"]
    integrity = json.loads((tmp_path / "swarm_integrity.json").read_text())
    # a producer per user, and a new one for its last push where the stop interrupted a push (indeterminate)
    assert integrity["drained"] is True and integrity["producers"] == 16 + integrity["indeterminate"], integrity
    assert integrity["acknowledged"] == pushes, (integrity, pushes)
    assert (integrity["lost"], integrity["foreign"], integrity["duplicated"]) == (0, 0, 0), integrity
    assert integrity["ok"] is True and integrity["unpopped"] == 0, integrity


STEADY = """
from locust import task, constant
from pushpop_load import PushPopUser

class Steady(PushPopUser):
    wait_time = constant(0.02)

    def on_start(self):
        # outside the ledger: the test counts the users that run
        self.client.post("/queue/{started}/push", json={{"item": {{"user": self.queue_id}}}})

    @task(2)
    def push(self):
        self.push_item()

    @task(1)
    def pop(self):
        self.pop_items(depth=2)
"""


def test_a_lost_worker_leaves_the_ledger_without_a_verdict(tmp_path: Path) -> None:
    """One of two workers is killed (SIGKILL) once both have pushed: the master names it lost, writes every result,
    and its ledger claims no count of lost items and no verdict (docs/INTEGRITY.md, "Lost workers")."""
    locustfile = tmp_path / "steady.py"
    started = queue_id("started")
    locustfile.write_text(STEADY.format(started=started))
    port = free_port()
    target = Target().start()
    workers = start_workers(locustfile, port)
    try:
        master = subprocess.Popen(
            [LOCUST, "-f", str(locustfile), "--headless", "--host", target.url, "--csv", str(tmp_path / "swarm"),
             "--only-summary", *master_flags(port), "-u", "4", "-r", "4", "-t", "14s"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        # all four users (two a worker) run: then one worker dies
        wait_until(lambda: _depth(target, started) == 4, 60, "four users started")
        workers[0].kill()
        workers[0].wait()
        stdout, stderr = master.communicate(timeout=90)
    finally:
        stop_workers(workers)
        assert target.stop() == 0
    assert master.returncode == 0 and "Traceback" not in stderr, stderr[-3000:]
    assert "1 of 2 workers sent no final report" in stderr, stderr[-3000:]
    hdr = json.loads((tmp_path / "swarm_hdr.json").read_text())
    assert hdr["workers"]["reporting"] == 2 and len(hdr["workers"]["lost"]) == 1, hdr["workers"]
    integrity = json.loads((tmp_path / "swarm_integrity.json").read_text())
    assert integrity["workers"] == hdr["workers"], integrity
    assert integrity["ok"] is None and integrity["lost"] is None and integrity["drained"] is True, integrity
    assert integrity["acknowledged"] > 100 and integrity["duplicated"] == 0, integrity
    assert "Queue integrity: NO VERDICT" in stdout and "(lost unknown: 1 of 2 workers lost)" in stdout, stdout


def _depth(target: Target, queue: str) -> int:
    try:
        return int(requests.get(f"{target.url}/queue/{queue}/stats", timeout=2).json()["depth"])
    except requests.RequestException:
        return 0


# Every worker writes each sample it times (its client id in the file's name) as Locust's request event gives it:
# the union of these is what the master's exact figures must equal. VERSION: set to pretend another pushpop-load.
SAMPLING = """
from pathlib import Path
from locust import events, task, constant
import pushpop_load.swarm
from pushpop_load import NativeHttpUser

VERSION = {version!r}
if VERSION:
    pushpop_load.swarm.__version__ = VERSION
out = {{}}

@events.init.add_listener
def _init(environment, **_):
    out["environment"] = environment

@events.request.add_listener
def _sample(request_type, name, response_time, exception=None, **_):
    if "file" not in out:
        out["file"] = open(Path({samples!r}) / f"{{out['environment'].runner.client_id}}.samples", "a", buffering=1)
    out["file"].write(f"{{request_type}}\t{{name}}\t{{response_time!r}}\t{{int(exception is not None)}}\\n")

class Sampled(NativeHttpUser):
    wait_time = constant(0.005)

    @task(3)
    def push(self):
        self.client.post(f"/queue/{queue}/push", json={{"item": {{"n": 1}}}}, name="push")

    @task(2)
    def pop(self):
        self.client.post(f"/queue/{queue}/pop", params={{"depth": 2}}, name="pop")

    @task(1)
    def stats(self):
        self.client.get(f"/queue/{queue}/stats", name="stats")
"""


def _sampling_locustfile(tmp_path: Path, name: str, version: str = "") -> Path:
    samples = tmp_path / "samples"
    samples.mkdir(exist_ok=True)
    locustfile = tmp_path / name
    locustfile.write_text(SAMPLING.format(version=version, samples=str(samples), queue=queue_id("merge")))
    return locustfile


def _union(files: list[Path]) -> _native.HdrStats:
    """The exact statistics of every sample in `files`, recorded in one place."""
    union = _native.HdrStats()
    for file in files:
        for line in file.read_text().splitlines():
            method, name, milliseconds, failed = line.split("\t")
            union.record(method, name, float(milliseconds), failed == "1")
    return union


def _run_swarm(tmp_path: Path, worker_files: list[Path]) -> tuple[str, dict]:
    """A master with one worker per locustfile, stopped (SIGTERM: Locust quits as at the end of ``-t``) once every
    worker has timed 50 requests (its final report carries what its periodic ones did not); the master's stderr and
    its ``_hdr.json``."""
    port = free_port()
    target = Target().start()
    samples = tmp_path / "samples"
    workers = [worker for file in worker_files for worker in start_workers(file, port, 1)]
    try:
        master = subprocess.Popen(
            [LOCUST, "-f", str(worker_files[0]), "--headless", "--host", target.url, "--csv", str(tmp_path / "swarm"),
             "--only-summary", *master_flags(port, len(worker_files)), "-u", "8", "-r", "8", "-t", "120s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        with _killed_if_left(master):
            wait_until(lambda: len([file for file in samples.glob("*.samples")
                                    if file.read_text().count("\n") >= 50]) == len(worker_files),
                       90, "every worker timed 50 requests")
            master.terminate()
            _, stderr = master.communicate(timeout=90)
    finally:
        stop_workers(workers)
        assert target.stop() == 0
    # a traceback of Locust's own CSV writer (its files closed under it at SIGTERM; pushpop-load stops it at quit)
    # is Locust's: any other is a failure
    tracebacks = [text.split("\n\n")[0] for text in stderr.split("Traceback")[1:]]
    assert master.returncode == 0, stderr[-3000:]
    assert all("in stats_writer" in text and "pushpop" not in text for text in tracebacks), stderr[-3000:]
    return stderr, json.loads((tmp_path / "swarm_hdr.json").read_text())


def _assert_exact(hdr: dict, union: _native.HdrStats) -> None:
    expected = json.loads(json.dumps(union.summaries()))  # as the file has them: lists, not tuples
    assert sum(s["count"] for s in expected) >= 50, expected
    assert [(s["name"], s["count"], s["failures"], s["percentiles"], s["min_ms"], s["max_ms"])
            for s in hdr["summaries"]] == [(s["name"], s["count"], s["failures"], s["percentiles"], s["min_ms"],
                                            s["max_ms"]) for s in expected]
    assert hdr["histograms"]["entries"] == json.loads(json.dumps(union.snapshot()["entries"]))


def test_the_master_merges_two_real_workers_exactly(tmp_path: Path) -> None:
    """Two `locust --worker` processes send binary deltas every 3 s and a final one; the master's exact figures (every
    percentile, every histogram bucket) equal those of all their samples recorded in one place."""
    locustfile = _sampling_locustfile(tmp_path, "sampled.py")
    _, hdr = _run_swarm(tmp_path, [locustfile, locustfile])
    assert hdr["workers"] == {"reporting": 2, "lost": []}, hdr["workers"]
    files = sorted((tmp_path / "samples").glob("*.samples"))
    assert len(files) == 2, files
    _assert_exact(hdr, _union(files))


def test_a_worker_of_another_version_is_refused_with_one_error(tmp_path: Path) -> None:
    """A worker that says it runs another pushpop-load: the master logs one error naming it and both versions, merges
    nothing of it (the figures are exactly the other worker's), counts it lost, and ends as usual."""
    same = _sampling_locustfile(tmp_path, "same.py")
    other = _sampling_locustfile(tmp_path, "other.py", version="0.0.1-other")
    stderr, hdr = _run_swarm(tmp_path, [same, other])
    errors = [line for line in stderr.splitlines() if "cannot be merged" in line]
    assert len(errors) == 1, stderr[-3000:]
    [lost] = hdr["workers"]["lost"]
    assert f"the reports of worker {lost} cannot be merged: it runs pushpop-load 0.0.1-other, this master " \
           f"{_native.__version__}" in errors[0], errors
    assert "run the same pushpop-load version on the master and every worker" in errors[0]
    assert hdr["workers"]["reporting"] == 2, hdr["workers"]
    files = sorted((tmp_path / "samples").glob("*.samples"))
    assert {file.stem for file in files} >= {lost} and len(files) == 2, files
    _assert_exact(hdr, _union([file for file in files if file.stem != lost]))


# The master's hub takes 1.2 s per report of a worker whose user runs (a listener that blocks it, as a merge thread
# too slow for the swarm makes it wait for room): three workers send one a second between them, so reports queue up
# in ZeroMQ and Locust's message loop always has the next one waiting. The file counts those the hub got through.
BEHIND = """
from gevent import monkey
from locust import events, task, constant
from pushpop_load import NativeHttpUser

sleep = monkey.get_original("time", "sleep")  # blocks the hub, as a wait for the merge thread does (no yield)

@events.worker_report.add_listener
def _slow(data, **_):
    if data.get("user_count"):  # a busy worker's report (an idle or stopped one's costs nothing)
        sleep(1.2)
        with open({absorbed!r}, "a") as out:
            out.write("r")

class Idle(NativeHttpUser):
    wait_time = constant(0.5)

    @task
    def stats(self):
        self.client.get("/queue/{queue}/stats", name="stats")
"""


def test_a_master_behind_its_workers_quits_at_sigterm(tmp_path: Path) -> None:
    """A master whose reports queue up still runs its SIGTERM handler between two reports: it asks the workers for
    their final reports (they stop sending more), gets every one behind what was queued, writes its files and ends.
    Without a yield between reports the handler waits for an empty queue, which the workers keep filling (600
    simulated workers: 217 s)."""
    absorbed = tmp_path / "absorbed"
    locustfile = tmp_path / "behind.py"
    locustfile.write_text(BEHIND.format(absorbed=str(absorbed), queue=queue_id("behind")))
    port = free_port()
    target = Target().start()
    workers = start_workers(locustfile, port, 3)
    master = subprocess.Popen(
        [LOCUST, "-f", str(locustfile), "--headless", "--host", target.url, "--csv", str(tmp_path / "swarm"),
         "--only-summary", *master_flags(port, 3), "-u", "3", "-r", "3", "-t", "300s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        with _killed_if_left(master):
            # the test runs, and four of its reports took the hub 4.8 s, in which the workers sent about five more
            wait_until(lambda: absorbed.exists() and len(absorbed.read_text()) >= 4, 90,
                       "four running reports absorbed")
            queued = len(absorbed.read_text())
            master.terminate()
            stdout, stderr = master.communicate(timeout=90)
    finally:
        stop_workers(workers)
        assert target.stop() == 0
    assert master.returncode == 0 and "Traceback" not in stderr, stderr[-3000:]
    assert "Got SIGTERM signal" in stderr and "sent no final report" not in stderr, stderr[-3000:]
    hdr = json.loads((tmp_path / "swarm_hdr.json").read_text())
    assert hdr["workers"] == {"reporting": 3, "lost": []}, hdr["workers"]
    # the reports queued at the signal reached the hub after it
    assert len(absorbed.read_text()) > queued, (queued, absorbed.read_text())
    assert hdr["summaries"][0]["count"] > 0, hdr["summaries"]


# Worker "both" pushes and pops, worker "pop" only pops, all on one queue of a target that drops and duplicates
# popped items: what a worker pushed the other pops, and a duplicate's two copies (one pop, then the next, which
# either worker may make) are often seen by the two workers apart. Every worker writes each item it popped.
SHARED = """
import json
import os
from pathlib import Path
from locust import events, task, constant
from pushpop_load import PushPopUser

ROLE = os.environ["PP_TEST_ROLE"]
out = {{}}

@events.init.add_listener
def _init(environment, **_):
    out["environment"] = environment

class Shared(PushPopUser):
    wait_time = constant(0.005)

    @task
    def work(self):
        if ROLE == "both":
            self.push_item(queue_id={queue!r})
        items = self.pop_items(queue_id={queue!r}, depth=3) or []
        if "file" not in out:
            name = f"{{ROLE}}-{{out['environment'].runner.client_id}}.popped"
            out["file"] = open(Path({popped!r}) / name, "a", buffering=1)
        for item in items:
            out["file"].write(json.dumps(item["_pp"][:2]) + "\\n")
"""


def test_a_duplicate_and_a_loss_across_workers_reach_the_masters_verdict(tmp_path: Path) -> None:
    """Two real workers on one queue of a target that loses and duplicates popped items (`--inject`): the master,
    merging their binary ledger deltas, counts exactly the target's losses and duplicates, those whose copies two
    workers popped among them, and items one worker pushed and the other popped are neither lost nor foreign."""
    popped = tmp_path / "popped"
    popped.mkdir()
    locustfile = tmp_path / "shared.py"
    locustfile.write_text(SHARED.format(queue=queue_id("across"), popped=str(popped)))
    port = free_port()
    target = Target("--inject", "drop=0.04,dup=0.04,seed=20").start()
    workers = [*start_workers(locustfile, port, 1, env={"PP_TEST_ROLE": "both"}),
               *start_workers(locustfile, port, 1, env={"PP_TEST_ROLE": "pop"})]
    try:
        # --stop-timeout: every user finishes its pop, so no pop is interrupted (its items would be unknown)
        done, _ = locust_headless(
            locustfile, target.url, tmp_path / "swarm", *master_flags(port, 2), "-u", "4", "-r", "4", "-t", "5s",
            "--stop-timeout", "10", timeout=120, env={"PP_TEST_ROLE": "master"},
        )
        injected = requests.get(f"{target.url}/inject", timeout=10).json()
    finally:
        stop_workers(workers)
        assert target.stop() == 0
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    integrity = json.loads((tmp_path / "swarm_integrity.json").read_text())
    assert integrity["workers"] == {"reporting": 2, "lost": []}, integrity
    assert integrity["drained"] is True and integrity["interrupted_pops"] == 0, integrity
    assert injected["dropped"] > 0 and injected["duplicated"] > 0, injected
    assert (integrity["lost"], integrity["duplicated"]) == (injected["dropped"], injected["duplicated"]), \
        (integrity, injected)
    assert integrity["popped"] == integrity["acknowledged"] - injected["dropped"] + injected["duplicated"], integrity
    assert (integrity["foreign"], integrity["out_of_order"]) == (0, 0) and integrity["ok"] is False, integrity

    # what each worker popped: the other's pushes, and copies of one item on both sides
    seen = {file.name.split("-")[0]: [tuple(json.loads(line)) for line in file.read_text().splitlines()]
            for file in popped.glob("*.popped")}
    assert set(seen) == {"both", "pop"} and all(seen.values()), {role: len(items) for role, items in seen.items()}
    across = set(seen["both"]) & set(seen["pop"])
    assert across, "no duplicate's copies were popped by both workers"
    assert len(across) <= injected["duplicated"], (across, injected)
