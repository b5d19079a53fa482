"""The resource monitor against the real Docker Engine: a headless run of docker/Dockerfile's image (Mode 2) loads
the reference target's container while its master samples that container and a second one through the Docker
socket, mounted read-only. Its figures are compared with the daemon's own, read on the host over the same seconds,
and with `docker stats --no-stream`; the second container is stopped mid-run, which the monitor reports without
failing the run or losing the other series."""

from __future__ import annotations

import csv
import json
import os
import re
import time

import pytest

from containers import Project, docker, unique, wait_until
from docker_stats import Frame, StatsStream, cpu_pct
from processes import ROOT

pytestmark = pytest.mark.timeout(1800)

RUN_S = 28
UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def docker_stats(container: str) -> tuple[float, float, float, float]:
    """`docker stats --no-stream`'s CPU % and memory in bytes (it reads two of the daemon's frames, a second
    apart), and the unix times of the call and its answer."""
    asked = time.time()
    said = docker("stats", "--no-stream", "--format", "{{.CPUPerc}} {{.MemUsage}}", container).stdout.split()
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", said[1]).groups()  # type: ignore[union-attr]
    return float(said[0].rstrip("%")), float(number) * UNITS[unit], asked, time.time()


def pairs(frames: list[Frame]) -> list[tuple[int, int, float]]:
    """docker stats' CPU % of every pair of frames up to three apart: a monitor row covers the frames since the
    previous row, one at a 1 s interval unless the daemon's clock and the ticks crossed."""
    found = []
    for j, after in enumerate(frames):
        for i in range(max(0, j - 3), j):
            pct = cpu_pct(after, frames[i])
            if pct is not None:
                found.append((i, j, pct))
    return found


def test_the_monitor_in_a_container_agrees_with_docker_stats_and_reports_a_stopped_one(stack: Project) -> None:
    stack.files.append(ROOT / "tests" / "docker" / "compose.monitor.yml")
    stack("--profile", "target", "up", "-d", "--no-build", "pushpop-target")
    target = docker("inspect", "-f", "{{.Name}}", stack.wait_healthy("pushpop-target")).stdout.strip().lstrip("/")
    # the container stopped mid-run: the project's label makes Project.down remove it whatever happens
    sidecar = unique("sidecar")
    docker("run", "-d", "--name", sidecar, "--label", f"com.docker.compose.project={stack.name}", "--network",
           stack.env["PUSHPOP_TEST_NETWORK"], "--entrypoint", "sleep", stack.env["PUSHPOP_LOCUST_IMAGE"], "600")
    stack.env.update(PUSHPOP_TEST_MONITORED=target, PUSHPOP_TEST_DOCKER_GID=str(os.stat("/var/run/docker.sock").st_gid))

    host = StatsStream(target)
    log = stack.folder / "locust.log"
    with log.open("w") as out:
        run = stack.popen("run", "--rm", "-T", "locust", "-f", "/home/locust/scenarios/s3_mixed.py",
                          "MixedWorkloadUser", "--host", "http://pushpop-target:8000", "--users", "20",
                          "--spawn-rate", "20", "--run-time", f"{RUN_S}s", "--headless", "--csv",
                          "/home/locust/results/mon", "--monitor-container", target, "--monitor-container",
                          sidecar, stdout=out)
        try:
            # the load has begun once the target's container works
            def busy() -> bool:
                frames = host.frames[-2:]
                return len(frames) == 2 and (cpu_pct(frames[1], frames[0]) or 0) > 5
            wait_until(busy, 120, "the target's container busy", every=0.5)
            # and the monitor past its first rows (the first may come before the daemon's first frame)
            began = time.monotonic()
            wait_until(lambda: time.monotonic() - began >= 3, 5, "three seconds of load")
            said = [docker_stats(target)]
            # a few rows of the second container running before it stops
            wait_until(lambda: time.time() - said[0][3] >= 3, 5, "three more seconds of load")
            docker("stop", "-t", "1", sidecar)
            stopped_at = time.time()
            said += [docker_stats(target), docker_stats(target)]
            assert run.wait(timeout=RUN_S + 120) == 0, log.read_text()[-4000:]
        finally:
            if run.poll() is None:
                run.kill()
            frames = host.close()

    text = log.read_text()
    # the stop is logged as it happens, and the run went on to the end
    assert re.search(rf"pushpop-load monitor: container:{sidecar}: the container is not running", text), text[-4000:]
    summary = json.loads((stack.folder / "results" / "mon_resources.json").read_text())
    notes = [n for n in summary["notes"] if n["text"].startswith(f"container:{sidecar}:")]
    assert len(notes) == 1 and notes[0]["unix"] >= stopped_at - 1.5, summary["notes"]
    with (stack.folder / "results" / "mon_resources.csv").open() as f:
        rows = list(csv.DictReader(f))
    # a row a second from the test's start to its stop; a starved machine may start Locust's clock late
    assert len(rows) >= RUN_S // 2, len(rows)

    def column(source: str, metric: str) -> list[tuple[float, float | None]]:
        return [(float(r["Time"]), float(r[f"{source} {metric}"]) if r[f"{source} {metric}"] else None) for r in rows]

    # the stopped container: figures before, empty cells after; the target's and the generator's go on
    side = column(f"container:{sidecar}", "memory_bytes")
    # the first row may come before the daemon's first frame
    first = next(i for i, (_, v) in enumerate(side) if v is not None)
    assert first <= 1 and all(v is not None for t, v in side[first:] if t < stopped_at - 1.5), side
    assert all(v is None for t, v in side if t > stopped_at + 1.5), side
    after = [r for r in rows if float(r["Time"]) > stopped_at + 1.5]
    assert len(after) >= 3 and all(r[f"container:{target} memory_bytes"] and r["generator cpu_pct"] for r in after)

    # every CPU figure is docker stats' over frames the host read too (the same frames: the daemon writes each to
    # every reader), to the CSV's 3 decimals; most are exactly one frame's, as docker stats shows it
    figures = pairs(frames)
    cpu = [v for _, v in column(f"container:{target}", "cpu_pct") if v is not None]
    assert len(cpu) >= RUN_S // 2 - 2, cpu
    single = 0
    for value in cpu:
        match = [(i, j) for i, j, pct in figures if abs(pct - value) <= 0.0015]
        assert match, f"{value} is no pair of the daemon's frames: {[round(p, 3) for _, _, p in figures]}"
        single += any(j == i + 1 for i, j in match)
    assert single >= 0.8 * len(cpu), (single, len(cpu))
    print(f"\nmonitor: {len(cpu)} CPU figures, {single} docker stats' own for one second, peak {max(cpu):.1f}%; "
          f"docker stats --no-stream: {[(c, round(m / 2**20, 2)) for c, m, _, _ in said]}")
    assert max(cpu) > 5, cpu
    # memory: a frame's, and docker stats' within 10% at the second it was asked
    memory = column(f"container:{target}", "memory_bytes")
    known = {frame.memory for frame in frames}
    assert all(v in known for _, v in memory if v is not None), (memory, sorted(known))
    compared = 0
    for said_cpu, said_memory, said_from, said_to in said:
        # docker stats --no-stream's figures are those of one of the daemon's frames the host read
        assert any(abs(round(pct, 2) - said_cpu) <= 0.011 for _, _, pct in figures), (said_cpu, figures)
        # the monitor's rows of the seconds it read (its frames came between the call and its answer); on a
        # starved machine the monitor may have had none yet for the first
        same = [v for t, v in memory if v is not None and said_from - 2 <= t <= said_to + 2]
        if same:
            assert min(abs(v - said_memory) for v in same) <= 0.1 * said_memory, (said_memory, same)
            compared += 1
    assert compared >= 2, (said, memory)
