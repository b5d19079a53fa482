"""`--run-time` counts from the start of the run, however long the locustfile took to import: Locust alone counts
it from its own import (gevent's hub reads the clock then, and libev times a new timer from that reading), so a
slow start ends a short run before any user spawned. Locust's own behaviour is run beside ours."""

from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path

from processes import LOCUST

# a 3 s import that never lets gevent's loop run (a heavy import, a busy machine), then a user that does nothing
LOCUSTFILE = '''
import time
{before}
from locust import User, constant, task

_until = time.monotonic() + 3
while time.monotonic() < _until:
    pass
{after}

class Idle(User):
    wait_time = constant(0.1)

    @task
    def nothing(self):
        pass
'''
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] .*?(Run time limit set to|--run-time limit reached)")


def run_time_counted(tmp_path: Path, before: str = "", after: str = "") -> float:
    """Seconds from Locust's "Run time limit set" line to its "limit reached" line, in a `-t 2s` run of the
    locustfile with the imports ``before`` and ``after`` its slow part."""
    locustfile = tmp_path / f"slow_{len(before)}_{len(after)}.py"
    locustfile.write_text(LOCUSTFILE.format(before=before, after=after))
    done = subprocess.run([LOCUST, "-f", str(locustfile), "--headless", "-u", "1", "-r", "1", "-t", "2s",
                           "--only-summary"], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    stamps = {match[2]: datetime.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
              for match in map(STAMP.match, done.stderr.splitlines()) if match}
    assert len(stamps) == 2, done.stderr[-3000:]
    return (stamps["--run-time limit reached"] - stamps["Run time limit set to"]).total_seconds()


def test_a_slow_start_does_not_eat_the_run_time(tmp_path: Path) -> None:
    # libev fires a timer no earlier than its time from the loop's clock: with the clock read at `init`, the full
    # 2 s (the log's stamps are to the millisecond)
    ours = "from pushpop_load import NativeHttpUser"
    assert run_time_counted(tmp_path, before=ours) >= 1.99
    assert run_time_counted(tmp_path, after=ours) >= 1.99
    # Locust alone: its clock was read before the 3 s import, so the 2 s timer is already due
    assert run_time_counted(tmp_path) < 1.0
