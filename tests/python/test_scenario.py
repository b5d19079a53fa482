"""The seed's scenarios S1-S7, each run headless in smoke mode through scripts/scenarios.py (the runners' engine)
against a real reference target, and checked against its own results files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from processes import ROOT, Target

SCENARIOS = [sys.executable, str(ROOT / "scripts" / "scenarios.py")]


class Run:
    """One finished scenario run and its files."""

    def __init__(self, folder: Path, done: subprocess.CompletedProcess[str]) -> None:
        self.done = done
        [self.prefix] = {str(p)[: -len("_locust.log")] for p in folder.glob("*/*_locust.log")} or {""}
        assert self.prefix, done.stdout[-3000:] + done.stderr[-3000:]

    def json(self, suffix: str) -> Any:
        return json.loads(Path(f"{self.prefix}_{suffix}.json").read_text())

    @property
    def log(self) -> str:
        return Path(f"{self.prefix}_locust.log").read_text()

    def entries(self) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in self.json("hdr")["summaries"]}

    def per_second(self, skip_drain: bool = True) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        with open(f"{self.prefix}_hdr_intervals.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                if not (skip_drain and row["Name"].endswith("(drain)")):
                    counts[int(row["Timestamp"])] += int(row["Requests"])
        return dict(counts)

    def counts(self, cls: str) -> dict[str, int]:
        return self.json("scenario")["classes"][cls]["counts"]


def run_scenario(scenario_id: str, tmp_path: Path, host: str | None, *args: str, locust: tuple[str, ...] = (),
                 expect_exit: int = 0, timeout: float = 180) -> Run:
    command = [*SCENARIOS, "run", scenario_id, "--smoke", "--results", str(tmp_path), *args]
    if host:
        command += ["--host", host]
    if locust:
        command += ["--", *locust]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    run = Run(tmp_path, done)
    assert done.returncode == expect_exit, done.stdout[-3000:] + done.stderr[-2000:] + run.log[-3000:]
    assert "Traceback" not in run.log, run.log[-5000:]
    return run


def test_s1a_ramps_its_rate(tmp_path: Path, memory_target: Target) -> None:
    # smoke: the 5-minute ramp 10 -> 100 RPS in 5 s, then the run ends: ~ (10 + 100) / 2 * 5 = 275 pushes
    run = run_scenario("s1a", tmp_path, memory_target.url)
    pushes = run.entries()["/queue/[id]/push"]
    assert pushes["failures"] == 0
    assert 180 <= pushes["count"] <= 380, pushes["count"]
    seconds = sorted(run.per_second().items())
    assert seconds[-2][1] > 2 * seconds[0][1], seconds  # the rate rose
    assert run.json("integrity")["ok"] is True


def test_s1b_spreads_pushes_over_ten_shared_queues(tmp_path: Path, memory_target: Target) -> None:
    run = run_scenario("s1b", tmp_path, memory_target.url, "--users", "20", locust=("--pp-drain", "off"))
    queues = run.json("scenario")["classes"]["PushMultiQueueUser"]["queues"]
    assert len(queues) == 10 and len(set(queues)) == 10
    depths = [requests.get(f"{memory_target.url}/queue/{q}/stats", timeout=5).json()["depth"] for q in queues]
    assert all(depth > 0 for depth in depths), depths
    assert sum(depths) == run.counts("PushMultiQueueUser")["pushed"]
    # 50 RPS for 5 s
    assert 200 <= sum(depths) <= 300, sum(depths)
    integrity = run.json("integrity")
    assert integrity["lost"] is None and integrity["unpopped"] == sum(depths)


def test_s1c_pushes_all_five_priorities(tmp_path: Path, memory_target: Target) -> None:
    run = run_scenario("s1c", tmp_path, memory_target.url, locust=("--pp-drain", "off"))
    [queue] = run.json("scenario")["classes"]["PushMultiPriorityUser"]["queues"]
    stats = requests.get(f"{memory_target.url}/queue/{queue}/stats", timeout=5).json()
    assert sorted(stats["by_priority"]) == ["0", "1", "2", "3", "4"]
    assert all(count > 20 for count in stats["by_priority"].values()), stats


def test_s2_pops_what_was_prepopulated_and_notes_when_empty(tmp_path: Path, memory_target: Target) -> None:
    # S2b: depth 10 at 50 RPS = 500 items/s: 1,000 prepopulated items run out after ~2 s of the 5 s run
    run = run_scenario("s2b", tmp_path, memory_target.url, locust=("--pp-prepopulate", "1000"))
    counts = run.counts("PopDepthTenUser")
    assert counts["popped"] == 1000
    assert counts["empty_pops"] > 0
    notes = run.json("scenario")["notes"]
    [prepopulated] = [n for n in notes if n["kind"] == "prepopulated"]
    assert prepopulated["report"]["pushed"] == 1000
    assert sorted(prepopulated["report"]["by_priority"]) == ["0", "1", "2"]
    [empty] = [n for n in notes if n["kind"] == "ran_empty"]
    assert 1.0 < empty["after_s"] < 5.0
    assert "ran empty after" in run.log
    integrity = run.json("integrity")
    assert integrity["ok"] is True and integrity["popped"] == 1000 and integrity["lost"] == 0


def test_s3b_queues_grow_and_s3c_queues_drain(tmp_path: Path, memory_target: Target) -> None:
    grow = run_scenario("s3b", tmp_path / "b", memory_target.url).counts("ProducerHeavyUser")
    assert grow["pushed"] > 2.5 * grow["popped"], grow
    drain = run_scenario("s3c", tmp_path / "c", memory_target.url)
    counts = drain.counts("ConsumerHeavyUser")
    started_with = 50 * 20  # the 20 pushes each of the 50 users starts with
    assert counts["pops"] > 2.5 * (counts["pushed"] - started_with), counts
    assert counts["pushed"] - counts["popped"] < 0.8 * started_with, counts  # the queues are draining
    assert drain.json("integrity")["ok"] is True


def test_s3e_sends_medium_and_large_items(tmp_path: Path, memory_target: Target) -> None:
    run = run_scenario("s3e", tmp_path, memory_target.url)
    assert run.json("integrity")["ok"] is True
    assert run.entries()["/queue/[id]/push"]["failures"] == 0


def test_s4d_shares_a_hundred_queues_at_200_rps(tmp_path: Path, memory_target: Target) -> None:
    run = run_scenario("s4d", tmp_path, memory_target.url)
    scenario = run.json("scenario")["classes"]["HundredQueuesUser"]
    assert len(scenario["queues"]) == 100
    total = sum(e["count"] for e in run.json("hdr")["summaries"] if not e["name"].endswith("(drain)"))
    assert 800 <= total <= 1200, total  # 200 RPS for 5 s
    integrity = run.json("integrity")
    assert integrity["ok"] is True and integrity["lost"] == 0


def test_s5_keeps_the_prepopulated_depth(tmp_path: Path, memory_target: Target) -> None:
    run = run_scenario("s5b", tmp_path, memory_target.url)
    [prepopulated] = [n for n in run.json("scenario")["notes"] if n["kind"] == "prepopulated"]
    assert prepopulated["report"]["pushed"] == 1000 and prepopulated["report"]["verified"] is True
    entries = run.entries()
    pops = entries["/queue/[id]/pop (depth 1K)"]
    # the depth held: pops came back full (all but a rare one cut short when Locust stopped its users mid-refill)
    assert pops["count"] > 100 and pops["items"] >= 0.99 * 10 * pops["count"], pops
    assert abs(entries["/queue/[id]/push (refill)"]["count"] - pops["items"]) <= 50
    assert run.json("integrity")["ok"] is True


def test_s6_spike_follows_its_shape(tmp_path: Path, memory_target: Target) -> None:
    # 4 min at 50 RPS then 1 min at 500, played 30x faster: 8 s at 50, then 2 s at 500
    run = run_scenario("s6c", tmp_path, memory_target.url, locust=("--pp-time-scale", "30"))
    seconds = [count for _, count in sorted(run.per_second().items())]
    assert len(seconds) >= 9, seconds
    calm = seconds[1:7]
    assert all(35 <= c <= 65 for c in calm), seconds
    assert max(seconds[-3:]) >= 300, seconds


def test_s7_validation_rejections_are_successes(tmp_path: Path, memory_target: Target) -> None:
    for scenario, name in (("s7a", "(invalid item)"), ("s7b", "(negative priority)"), ("s7c", "(depth > 100)")):
        run = run_scenario(scenario, tmp_path / scenario, memory_target.url)
        entries = run.entries()
        [invalid] = [e for n, e in entries.items() if n.endswith(name)]
        assert invalid["count"] > 20 and invalid["failures"] == 0, (scenario, invalid)
        valid = [e for n, e in entries.items() if not n.endswith(")")]
        assert sum(e["count"] for e in valid) > 10 and all(e["failures"] == 0 for e in valid), (scenario, valid)
        assert run.json("integrity")["ok"] is True


class _Permissive(BaseHTTPRequestHandler):
    """A service that validates nothing: every push is "stored", every pop finds nothing."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"items": [], "count": 0}' if "/pop" in self.path else b'{"success": true, "message": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def test_s7_counts_a_service_that_accepts_bad_input_as_failing(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Permissive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = run_scenario("s7b", tmp_path, f"http://127.0.0.1:{server.server_address[1]}", expect_exit=1,
                           locust=("--pp-integrity", "off"))
    finally:
        server.shutdown()
        server.server_close()
    entries = run.entries()
    invalid = entries["/queue/[id]/push (negative priority)"]
    assert invalid["failures"] == invalid["count"] > 10
    assert entries["/queue/[id]/push"]["failures"] == 0
    failures = Path(f"{run.prefix}_failures.csv").read_text()
    assert "expected a 400/422 rejection, got 200" in failures


@pytest.mark.parametrize("drill", ["s7d", "s7e"])
def test_drills_recover_with_nothing_lost(drill: str, tmp_path: Path) -> None:
    run = run_scenario(drill, tmp_path, None, timeout=240)
    result = run.json("drill")
    assert result["failures"] > 0, result  # the restart really hurt
    assert result["error_window_s"] >= 1
    assert result["time_to_recover_s"] is not None and result["time_to_recover_s"] < 10, result
    integrity = result["integrity"]
    assert integrity["lost"] == 0 and integrity["duplicated"] == 0, integrity
    assert integrity["acknowledged"] > 100
    assert result["ok"] is True


def test_runner_rejects_bad_input(tmp_path: Path) -> None:
    for args, message in (
        (["run", "s9z"], "unknown scenario 's9z'"),
        (["run", "s3a", "--host", "localhost:8000"], "--host must be an http"),
        (["run", "s3a", "--rate", "-5"], "--rate must be positive"),
        (["run", "s3a", "--users", "0"], "--users must be at least 1"),
    ):
        done = subprocess.run([*SCENARIOS, *args, "--results", str(tmp_path)], capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())


def test_scenario_knobs_reject_bad_values(tmp_path: Path, memory_target: Target) -> None:
    from processes import LOCUST

    for flag, value, message in (("--pp-pop-depth", "101", "at most 100"), ("--pp-priorities", "a,b", "'a' is not a priority"),
                                 ("--pp-time-scale", "0", "positive"), ("--pp-burst", "zigzag", "unknown schedule 'zigzag'")):
        done = subprocess.run([LOCUST, "-f", str(ROOT / "locustfiles" / "locustfile.py"), "--headless", "-t", "1s",
                               "--host", memory_target.url, flag, value], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and message in done.stderr, (flag, done.stderr[-1000:])


def test_knobs_are_listed_with_their_environment_variables() -> None:
    from processes import LOCUST

    # Locust answers --help before importing the locustfile; --pp-help comes after, so it knows every knob
    done = subprocess.run([LOCUST, "-f", str(ROOT / "locustfiles" / "locustfile.py"), "--pp-help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    for flag in ("--pp-queues", "--pp-prepopulate", "--pp-priorities", "--pp-pop-depth", "--pp-time-scale",
                 "--pp-rate", "--pp-integrity", "--pp-drain"):
        assert flag in done.stdout
    assert "PUSHPOP_TIME_SCALE" in done.stdout


def test_checker_reports_exactly_the_faults_the_target_injected(tmp_path: Path) -> None:
    target = Target("--inject", "drop=0.02,dup=0.02,seed=11").start()
    try:
        # --stop-timeout: users finish their request at the end, so no pop goes unread and the count is exact
        run = run_scenario("s3a", tmp_path, target.url, locust=("--pp-rate", "200", "--stop-timeout", "5"))
        injected = requests.get(f"{target.url}/inject", timeout=5).json()
    finally:
        target.stop()
    integrity = run.json("integrity")
    assert injected["dropped"] > 0 and injected["duplicated"] > 0, injected
    assert integrity["drained"] is True and integrity["interrupted_pops"] == 0
    assert integrity["lost"] == injected["dropped"]
    assert integrity["duplicated"] == injected["duplicated"]
    assert integrity["ok"] is False
    assert integrity["foreign"] == 0 and integrity["out_of_order"] == 0
    assert "lost" in run.log and "duplicated" in run.log


def test_run_scenario_sh_runs_one_scenario_and_prints_the_table(tmp_path: Path) -> None:
    listing = subprocess.run(["bash", str(ROOT / "scripts" / "run_scenario.sh"), "list"], capture_output=True,
                             text=True, timeout=60)
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == 27, listing.stdout + listing.stderr
    # without --host it starts (and stops) its own reference target
    done = subprocess.run(["bash", str(ROOT / "scripts" / "run_scenario.sh"), "s3d", "--smoke", "--users", "10",
                           "--results", str(tmp_path)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [folder] = tmp_path.iterdir()
    assert folder.name.startswith("s3d_")
    for suffix in ("_stats.csv", ".html", "_hdr.json", "_integrity.json", "_scenario.json"):
        assert (folder / f"s3d{suffix}").exists(), suffix
    [row] = [line.split() for line in done.stdout.splitlines() if line.startswith("s3d ")]
    requests_, failures, integrity = int(row[1]), int(row[2]), row[6]
    assert 150 <= requests_ <= 350 and failures == 0 and integrity == "ok", row  # 50 RPS for 5 s


def test_two_worker_processes_share_the_rate_and_the_ledger(tmp_path: Path, memory_target: Target) -> None:
    # --processes 2: a master that prepopulates and two forked workers that pop; the rate is the swarm's, and the
    # master's ledger holds both workers' pops (prepopulated items promise no order, in the workers too)
    run = run_scenario("s2b", tmp_path, memory_target.url, locust=("--processes", "2", "--pp-prepopulate", "3000"))
    pops = run.entries()["/queue/[id]/pop"]
    assert 200 <= pops["count"] <= 300, pops  # 50 RPS for 5 s in all, not per worker
    integrity = run.json("integrity")
    assert integrity["ok"] is True and integrity["out_of_order"] == 0, integrity
    assert integrity["acknowledged"] == 3000 and integrity["lost"] == 0
    assert run.counts("PopDepthTenUser")["popped"] == pops["items"] == 10 * pops["count"]


@pytest.mark.parametrize("scenario_id", ["s2a", "s2c", "s3a", "s4a", "s4b", "s4c", "s5a", "s5c", "s5d", "s6a", "s6b"])
def test_every_other_scenario_runs_clean_in_smoke_mode(scenario_id: str, tmp_path: Path, memory_target: Target) -> None:
    # the scenarios the tests above do not single out: each runs, sends at its rate, fails nothing, loses nothing
    # (S5d first fills its queue with 100K items, which on a busy machine and a debug build can take the whole of a
    # 5-second smoke run: it gets 20 s)
    extra = ("--duration", "20s") if scenario_id == "s5d" else ()
    run = run_scenario(scenario_id, tmp_path, memory_target.url, *extra)
    entries = [e for e in run.json("hdr")["summaries"] if not e["name"].endswith("(drain)")]
    assert sum(e["count"] for e in entries) >= 50, entries
    assert all(e["failures"] == 0 for e in entries), entries
    integrity = run.json("integrity") if Path(f"{run.prefix}_integrity.json").exists() else None
    if scenario_id == "s5a":  # pops of an empty queue, nothing pushed: nothing to check
        assert integrity is None or integrity["acknowledged"] == 0
    else:
        assert integrity is not None and integrity["ok"] is True, integrity


def test_a_prepopulation_that_fails_ends_the_run_with_its_reason(tmp_path: Path) -> None:
    from processes import free_port, locust_headless

    prefix = tmp_path / "refused"
    done, _ = locust_headless(ROOT / "locustfiles" / "s2_pop_only.py", f"http://127.0.0.1:{free_port()}", prefix,
                              "PopDepthTenUser", "-u", "2", "-r", "2", "-t", "30s", "--pp-prepopulate", "100")
    assert done.returncode == 1, done.stderr[-3000:]
    assert "prepopulation failed: cannot reach" in done.stderr, done.stderr[-3000:]
    [note] = json.loads(Path(f"{prefix}_scenario.json").read_text())["notes"]
    assert note["kind"] == "prepopulate_failed" and "connection refused" in note["text"], note


@pytest.mark.parametrize(("items", "priorities", "count", "expected"), [
    ("1.5k", "0-2", 1500, [0, 1, 2]),
    ("2_000", "0,3-4", 2000, [0, 3, 4]),
])
def test_a_count_and_a_priority_list_mean_the_same_to_the_command_and_the_knobs(
    items: str, priorities: str, count: int, expected: list[int], tmp_path: Path, memory_target: Target
) -> None:
    """One grammar per rule: `pushpop-load prepopulate --items/--priorities` and the scenario knobs
    `--pp-prepopulate/--pp-priorities` take the same text and do the same with it."""
    from processes import PUSHPOP, locust_headless, queue_id

    queue = queue_id("grammar")
    done = subprocess.run([PUSHPOP, "prepopulate", "--host", memory_target.url, "--queue", queue, "--items", items,
                           "--priorities", priorities, "--quiet", "--json", str(tmp_path / "cli.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    cli = json.loads((tmp_path / "cli.json").read_text())
    assert cli["per_queue"] == {queue: count}, cli
    assert sorted(int(p) for p in cli["by_priority"]) == expected, cli
    prefix = tmp_path / "knobs"
    done, _ = locust_headless(ROOT / "locustfiles" / "s2_pop_only.py", memory_target.url, prefix, "PopDepthTenUser",
                              "-u", "1", "-r", "1", "-t", "1s", "--pp-prepopulate", items, "--pp-priorities",
                              priorities, "--pp-drain", "off")
    assert done.returncode == 0, done.stderr[-3000:]
    scenario = json.loads(Path(f"{prefix}_scenario.json").read_text())
    assert scenario["classes"]["PopDepthTenUser"]["priorities"] == expected, scenario
    [note] = [n for n in scenario["notes"] if n.get("kind") == "prepopulated"]
    assert sum(note["report"]["per_queue"].values()) == count, note
    assert sorted(int(p) for p in note["report"]["by_priority"]) == expected, note
