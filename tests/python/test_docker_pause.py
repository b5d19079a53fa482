"""A fault across containers: the reference target's container frozen for 2 s (`docker pause`) while an open-model
run (ArrivalRateUser) in docker/Dockerfile's image loads it. Arrivals go on being due during the pause, so the
latencies counted from when each request was due (the corrected ones) show the whole pause, and every request is
still answered once the container runs again."""

from __future__ import annotations

import json
import time

import pytest

from containers import Project, docker, wait_until

pytestmark = pytest.mark.timeout(1800)

PAUSE_S = 2.0
RATE = 100


def test_a_paused_target_shows_in_the_open_models_corrected_latencies(stack: Project) -> None:
    stack("--profile", "target", "up", "-d", "--no-build", "pushpop-target")
    target = stack.wait_healthy("pushpop-target")
    log = stack.folder / "locust.log"
    with log.open("w") as out:
        run = stack.popen("run", "--rm", "-T", "locust", "-f", "/home/locust/scenarios/open_model.py",
                          "OpenMixedUser", "--pp-schedule", f"constant:rate={RATE}", "--host",
                          "http://pushpop-target:8000", "--users", "1", "--spawn-rate", "1", "--run-time", "12s",
                          "--headless", "--csv", "/home/locust/results/open", stdout=out)
        try:
            wait_until(lambda: "All users spawned" in log.read_text(), 120, "the open model running", every=0.2)
            # a couple of seconds of normal service first, so that the pause falls inside the run
            spawned = time.monotonic()
            wait_until(lambda: time.monotonic() - spawned >= 2, 5, "two seconds of load")
            asked = time.monotonic()
            docker("pause", target)
            paused = time.monotonic()
            try:
                wait_until(lambda: time.monotonic() - paused >= PAUSE_S, 5, "the pause", every=0.05)
            finally:
                docker("unpause", target)
            frozen_s, at_most_s = time.monotonic() - paused, time.monotonic() - asked
            assert run.wait(timeout=120) == 0, log.read_text()[-4000:]
        finally:
            if run.poll() is None:
                run.kill()

    results = stack.folder / "results"
    summaries = {s["name"]: s for s in json.loads((results / "open_hdr.json").read_text())["summaries"]}
    [open_run] = json.loads((results / "open_openmodel.json").read_text())["runs"]
    # every arrival was sent and answered: the pause delayed requests, it lost none
    assert open_run["started"] == open_run["completed"] > 0 and open_run["dropped"] == 0, open_run
    worst = {}
    for name in ("/queue/[id]/push", "/queue/[id]/pop"):
        corrected, raw = summaries[name], summaries[f"{name} (raw)"]
        assert corrected["count"] == raw["count"] > 0 and corrected.get("failures", 0) == 0, corrected
        # a request due as the pause began waited all of it (less the tick of the freeze itself)
        assert corrected["max_ms"] >= 0.9 * PAUSE_S * 1000, (corrected["max_ms"], frozen_s)
        # and not much longer than the freeze can have lasted (from asking for it to its end)
        assert corrected["max_ms"] <= (at_most_s + 1.0) * 1000, (corrected["max_ms"], at_most_s)
        worst[name] = corrected["max_ms"]
    print(f"\npaused {frozen_s:.2f} s: corrected p100 {worst}")
