#!/usr/bin/env python3
"""Runs the seed's scenarios by id: ``run_scenario.sh`` and ``run_all_scenarios.sh`` call this.

    scenarios.py run s3a [--users 50] [--rate 80] [--duration 5m] [--host URL] [--smoke] [-- <locust args>]
    scenarios.py all [--smoke] [--host URL]
    scenarios.py list

Without ``--host`` a reference target (memory store) is started for the run on a free port and stopped after
it; the S7d/S7e drills start their own PostgreSQL-backed target (``scripts/drill.py``). Results go to
``results/<id>_<timestamp>/`` (Locust's CSVs and HTML report, the exact histograms, the integrity and scenario
files). ``--smoke`` is a seconds-long pass: 5 s runs, ramps and shapes played 60 times faster.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILES = ROOT / "locustfiles"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Scenario:
    id: str
    file: str
    classes: tuple[str, ...] = ()
    users: int = 50
    what: str = ""
    options: tuple[str, ...] = field(default=())

    @property
    def is_drill(self) -> bool:
        return self.id in ("s7d", "s7e")

    @property
    def is_shape(self) -> bool:
        return self.file == "s6_burst.py"


CATALOG = [
    Scenario("s1a", "s1_push_only.py", ("PushSingleQueueUser",), what="push-only, 1 queue, ramp 10->100 RPS"),
    Scenario("s1b", "s1_push_only.py", ("PushMultiQueueUser",), what="push-only, 10 queues, 50 RPS"),
    Scenario("s1c", "s1_push_only.py", ("PushMultiPriorityUser",), what="push-only, priorities 0-4, 50 RPS"),
    Scenario("s2a", "s2_pop_only.py", ("PopDepthOneUser",), what="pop depth 1 from 10K, ramp 10->100 RPS"),
    Scenario("s2b", "s2_pop_only.py", ("PopDepthTenUser",), what="pop depth 10 from 10K, 50 RPS"),
    Scenario("s2c", "s2_pop_only.py", ("PopDepthHundredUser",), what="pop depth 100 from 10K, 20 RPS"),
    Scenario("s3a", "s3_mixed.py", ("MixedWorkloadUser",), what="mixed 50:50, 50 RPS"),
    Scenario("s3b", "s3_mixed.py", ("ProducerHeavyUser",), what="mixed 80:20 (growing), 100 RPS"),
    Scenario("s3c", "s3_mixed.py", ("ConsumerHeavyUser",), what="mixed 20:80 (draining), 100 RPS"),
    Scenario("s3d", "s3_mixed.py", ("MultiPriorityMixedUser",), what="mixed, priorities 0-4, 50 RPS"),
    Scenario("s3e", "s3_mixed.py", ("BalancedLargeItemsUser",), what="mixed, 1-10 KB items, 50 RPS"),
    Scenario("s4a", "s4_concurrent.py", ("SingleQueueUser",), what="1 queue id, 200 RPS"),
    Scenario("s4b", "s4_concurrent.py", ("TenQueuesUser",), what="10 queue ids, 200 RPS"),
    Scenario("s4c", "s4_concurrent.py", ("FiftyQueuesUser",), what="50 queue ids, 200 RPS"),
    Scenario("s4d", "s4_concurrent.py", ("HundredQueuesUser",), users=100, what="100 queue ids, 200 RPS"),
    Scenario("s5a", "s5_queue_depth.py", ("EmptyQueueUser",), what="pop depth 10 at depth 0, 50 RPS"),
    Scenario("s5b", "s5_queue_depth.py", ("ThousandItemsUser",), what="pop depth 10 at depth 1K, 50 RPS"),
    Scenario("s5c", "s5_queue_depth.py", ("TenThousandItemsUser",), what="pop depth 10 at depth 10K, 50 RPS"),
    Scenario("s5d", "s5_queue_depth.py", ("HundredThousandItemsUser",), what="pop depth 10 at 100K, 50 RPS"),
    Scenario("s6a", "s6_burst.py", options=("--pp-burst", "sine"), what="sine 10->200->10 RPS, 5 min"),
    Scenario("s6b", "s6_burst.py", options=("--pp-burst", "square"), what="square 200/10 RPS, 30 s each"),
    Scenario("s6c", "s6_burst.py", options=("--pp-burst", "spike"), what="4 min at 50, 1 min at 500 RPS"),
    Scenario("s7a", "s7_failure.py", ("InvalidPayloadUser",), users=20, what="non-object items rejected"),
    Scenario("s7b", "s7_failure.py", ("NegativePriorityUser",), users=20, what="negative priorities rejected"),
    Scenario("s7c", "s7_failure.py", ("ExcessiveDepthUser",), users=20, what="pop depth > 100 rejected"),
    Scenario("s7d", "s7_failure.py", ("DrillUser",), users=20, what="drill: PostgreSQL restart"),
    Scenario("s7e", "s7_failure.py", ("DrillUser",), users=20, what="drill: API process restart"),
]
BY_ID = {scenario.id: scenario for scenario in CATALOG}
SMOKE_SECONDS = 5
SMOKE_TIME_SCALE = 60


def fail(message: str) -> None:
    print(f"scenarios: error: {message}", file=sys.stderr)
    sys.exit(2)


def results_dir(scenario_id: str, base: Path) -> Path:
    folder = base / f"{scenario_id}_{time.strftime('%Y%m%dT%H%M%S')}"
    suffix = 1
    while folder.exists():  # two runs in one second (run_all --smoke) keep their own folders
        suffix += 1
        folder = base / f"{scenario_id}_{time.strftime('%Y%m%dT%H%M%S')}-{suffix}"
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        fail(f"cannot create {folder}: {error.strerror}")
    return folder


def run(scenario: Scenario, args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    """Runs one scenario; its summary row."""
    folder = results_dir(scenario.id, Path(args.results))
    prefix = str(folder / scenario.id)
    print(f"==> {scenario.id}: {scenario.what} -> {folder}", flush=True)
    if scenario.is_drill:
        command = [sys.executable, str(ROOT / "scripts" / "drill.py"), scenario.id, "--out", prefix,
                   "--users", str(args.users or scenario.users)]
        if args.rate:
            command += ["--rate", str(args.rate)]
        if args.smoke:
            command += ["--before", "4", "--down", "2", "--after", "8"]
        if args.host:
            fail(f"{scenario.id} against --host needs scripts/drill.py with --pid/--start-cmd or --restart-cmd")
        code = subprocess.run(command).returncode
        return summarize(scenario, prefix, code)

    target = None
    host = args.host
    if host is None:
        from pushpop_load.testing import Target

        target = Target().start()
        host = target.url
    try:
        command = [str(BIN / "locust"), "-f", str(LOCUSTFILES / scenario.file), *scenario.classes, "--headless",
                   "--host", host, "--csv", prefix, "--html", f"{prefix}.html", "--only-summary",
                   # users finish the request they are in when the run ends: no pop goes unread
                   "--stop-timeout", "10", *scenario.options]
        if not scenario.is_shape:
            users = args.users or scenario.users
            command += ["-u", str(users), "-r", str(users), "-t", args.duration or (f"{SMOKE_SECONDS}s" if args.smoke
                                                                                    else "5m")]
        if args.smoke:
            command += ["--pp-time-scale", str(SMOKE_TIME_SCALE)]
        if args.rate:
            command += ["--pp-rate", str(args.rate)]
        command += extra
        with open(f"{prefix}_locust.log", "w") as log:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
        sys.stdout.write(Path(f"{prefix}_locust.log").read_text().split("Response time percentiles (exact", 1)[-1]
                         if code == 0 else Path(f"{prefix}_locust.log").read_text()[-3000:])
    finally:
        if target is not None:
            target.stop()
    return summarize(scenario, prefix, code)


def summarize(scenario: Scenario, prefix: str, code: int) -> dict[str, Any]:
    row: dict[str, Any] = {"id": scenario.id, "exit": code, "requests": 0, "failures": 0, "p50": None, "p95": None,
                           "p99": None, "integrity": "-", "prefix": prefix}
    hdr = Path(f"{prefix}_hdr.json")
    if hdr.exists():
        document = json.loads(hdr.read_text())
        from pushpop_load._native import HdrStats

        # every request name of the scenario together: merge the histograms, then read the percentiles
        stats = HdrStats()
        entries = [{**entry, "method": "ALL", "name": "ALL"} for entry in document["histograms"]["entries"]]
        stats.absorb_json(json.dumps({"total": {"version": 1, "unit": "us", "entries": entries}, "intervals": []}))
        summaries = stats.summaries()
        if summaries:
            merged = summaries[0]
            row.update(requests=merged["count"], failures=merged["failures"])
            percentiles = dict((p, v) for p, v in merged["percentiles"])
            row.update(p50=percentiles.get(50.0), p95=percentiles.get(95.0), p99=percentiles.get(99.0))
    integrity = Path(f"{prefix}_integrity.json")
    if integrity.exists():
        report = json.loads(integrity.read_text())
        row["integrity"] = "ok" if report.get("ok") else (
            f"lost {report.get('lost')} dup {report.get('duplicated')} ooo {report.get('out_of_order')}")
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    def ms(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else "-"

    print(f"\n{'scenario':<9} {'requests':>9} {'failures':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'integrity':<24} {'exit':>4}")
    for row in rows:
        print(f"{row['id']:<9} {row['requests']:>9} {row['failures']:>9} {ms(row['p50']):>8} {ms(row['p95']):>8} "
              f"{ms(row['p99']):>8} {row['integrity']:<24} {row['exit']:>4}")


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(prog="scenarios.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run", help="run one scenario")
    one.add_argument("id", help="scenario id, e.g. s3a (see `list`)")
    every = sub.add_parser("all", help="run every scenario in order and print a summary table")
    sub.add_parser("list", help="list the scenario ids")
    for command in (one, every):
        command.add_argument("--host", help="service under test (default: a reference target started for the run)")
        command.add_argument("--smoke", action="store_true", help="seconds-long runs, ramps and shapes compressed")
        command.add_argument("--results", default=str(ROOT / "results"), help="results folder (default results/)")
        command.add_argument("--rate", type=float, help="swarm requests/s at each scenario's peak")
    one.add_argument("--users", type=int, help="Locust users (default: the scenario's)")
    one.add_argument("--duration", help="run time, e.g. 90s or 5m (default 5m; shapes end by themselves)")
    args = parser.parse_args(argv)
    if args.command == "list":
        for scenario in CATALOG:
            print(f"{scenario.id:<5} {scenario.file:<20} {scenario.what}")
        return 0
    if args.host is not None and not args.host.startswith(("http://", "https://")):
        fail(f"--host must be an http:// or https:// URL (got {args.host!r})")
    if args.rate is not None and not args.rate > 0:
        fail("--rate must be positive")
    if args.command == "run":
        if args.id.lower() not in BY_ID:
            fail(f"unknown scenario {args.id!r}: one of {', '.join(BY_ID)}")
        if args.users is not None and args.users < 1:
            fail("--users must be at least 1")
        args.id = args.id.lower()
        rows = [run(BY_ID[args.id], args, extra)]
    else:
        args.users, args.duration = None, None
        rows = [run(scenario, args, extra) for scenario in CATALOG]
    print_table(rows)
    return 0 if all(row["exit"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
