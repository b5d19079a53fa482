"""Builds real worker reports for bench/swarm/run.py: `templates.py OUT RATE COUNT` writes COUNT reports of a
worker fed RATE requests/s for 3 s each (report.py's workload), Locust's statistics and the exact histograms'
delta, as OUT/template-<n>.msgpack ({"data": <the report's data>, "requests": <requests in it>})."""

from __future__ import annotations

import locust  # noqa: F401  (first: it patches the process for gevent before ssl is imported)

import os
import sys
import time
from pathlib import Path

out, rate, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
os.environ.update(RATE=rate, INTERVAL="3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import msgpack  # noqa: E402
import report  # noqa: E402

from pushpop_load.integrity import Integrity  # noqa: E402
from pushpop_load import __version__  # noqa: E402
from pushpop_load.stats import ExactStats  # noqa: E402
from pushpop_load.swarm import VERSION_KEY  # noqa: E402

worker, worker_events = report.environment()
workload = report.Workload(ExactStats.of(worker).recorder, Integrity.of(worker).ledger)
slices = round(report.INTERVAL / report.FEED_S)
for index in range(count):
    before = sum(workload.recorded.values())
    begun = time.monotonic()
    for step in range(slices):
        workload.requests(int(report.RATE * report.FEED_S))
        report.hand_over(worker)
        time.sleep(max(0.0, begun + (step + 1) * report.FEED_S - time.monotonic()))
    report.hand_over(worker)
    data: dict = {}
    worker_events.report_to_master.fire(client_id="template", data=data)
    data[ExactStats.key] = ExactStats.of(worker).take_delta()
    data[VERSION_KEY] = __version__
    # what Locust's worker runner adds to every report (the master reads them)
    data.update(user_count=1, user_classes_count={"Busy": 1})
    Integrity.of(worker).take_delta()  # left out: replayed, its items would come back as duplicates
    (out / f"template-{index}.msgpack").write_bytes(msgpack.dumps(
        {"data": data, "requests": sum(workload.recorded.values()) - before}))
