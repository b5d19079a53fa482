"""Prometheus's ``/metrics`` (``pushpop_load.metrics``): a real Prometheus server (Debian's package, started here with
its own configuration and storage) scrapes a real Locust run every second; the p99 it computes from the buckets
agrees with the run's exact ``_hdr.json`` p99 within one bucket's width, and its counters equal Locust's totals and
the integrity report's. The web UI serves the same text, with the open model's counts; bad ``--metrics-port`` input
is one line and exit code 2."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from processes import HERE, LOCUST, Target, free_port, wait_for_web_ui

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
WORKLOAD = HERE / "locustfiles" / "analyze_workload.py"
USERS, ROUNDS = 4, 30
# per user and round: 3 pushes and 2 pops, and every fourth round a 404
REQUESTS = USERS * (ROUNDS * 5 + ROUNDS // 4)
PUSHES = USERS * ROUNDS * 3


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.2)


class Prometheus:
    """A Prometheus server scraping 127.0.0.1:`target_port`'s /metrics every second, its files under `folder`."""

    def __init__(self, folder: Path, target_port: int) -> None:
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: pushpop\n    metrics_path: /metrics\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
        )
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(folder / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=folder,
        )

    def query(self, expression: str) -> list[dict]:
        answer = requests.get(f"{self.base}/api/v1/query", params={"query": expression}, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def ready(self) -> bool:
        assert self.proc.poll() is None, "prometheus exited"
        try:
            return requests.get(f"{self.base}/-/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def by_endpoint(result: list[dict]) -> dict[str, float]:
    return {f"{r['metric']['method']} {r['metric']['name']}": float(r["value"][1]) for r in result}


def bounds(text: str, endpoint: str) -> list[float]:
    """The finite `le` bounds of an endpoint's buckets in a scrape, in seconds. Label values as the exposition
    format escapes them (the workload's pop name has quotes and a comma)."""
    method, name = endpoint.split(" ", 1)
    name = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    prefix = f'pushpop_request_duration_seconds_bucket{{method="{method}",name="{name}",le="'
    return [float(line[len(prefix):].split('"', 1)[0]) for line in text.splitlines()
            if line.startswith(prefix) and 'le="+Inf"' not in line]


def test_prometheus_scrapes_exact_histograms_and_counters(memory_target: Target, tmp_path: Path) -> None:
    assert memory_target.proc is not None
    metrics_port = free_port()
    prefix = tmp_path / "run"
    release = tmp_path / "release"
    swarm = subprocess.Popen(
        [LOCUST, "-f", str(WORKLOAD), "--headless", "--host", memory_target.url, "-u", str(USERS), "-r", str(USERS),
         "-t", "120s", "--csv", str(prefix), "--only-summary", "--web-host", "127.0.0.1",
         "--metrics-port", str(metrics_port), "--monitor-pid", f"target={memory_target.proc.pid}", "--pp-drain", "off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ANALYZE_ROUNDS": str(ROUNDS), "ANALYZE_RELEASE": str(release)},
    )
    prometheus = Prometheus(tmp_path, metrics_port)
    try:
        wait_until(prometheus.ready, "ready")
        # a scrape after the last request: every counter is final from then on
        done = f"(sum(pushpop_requests_total) == {REQUESTS}) and (sum(pushpop_integrity_acknowledged) == {PUSHES})"
        wait_until(lambda: prometheus.query(done), "a scrape with every request")
        p99 = by_endpoint(prometheus.query("histogram_quantile(0.99, pushpop_request_duration_seconds_bucket)"))
        counts = by_endpoint(prometheus.query("pushpop_requests_total"))
        failures = by_endpoint(prometheus.query("pushpop_request_failures_total"))
        integrity = {r["metric"]["__name__"]: float(r["value"][1])
                     for r in prometheus.query('{__name__=~"pushpop_integrity_.*"}')}
        resources = {(r["metric"]["__name__"], r["metric"]["process"]): float(r["value"][1])
                     for r in prometheus.query('{__name__=~"pushpop_resource_.*"}')}
        scrape = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        release.touch()
        _, stderr = swarm.communicate(timeout=60)
    finally:
        release.touch()
        if swarm.poll() is None:
            swarm.kill()
            swarm.communicate()
        prometheus.stop()
    assert swarm.returncode == 1, stderr[-3000:]  # the 404s are failures: Locust's exit code says so
    assert "Traceback" not in stderr, stderr[-3000:]
    assert scrape.headers["Content-Type"].startswith("text/plain; version=0.0.4")

    hdr = json.loads(Path(f"{prefix}_hdr.json").read_text())
    summaries = {f"{s['method']} {s['name']}": s for s in hdr["summaries"]}
    assert set(p99) == set(summaries) and len(summaries) == 4, (p99, summaries.keys())
    for endpoint, summary in summaries.items():
        exact = dict((p, v) for p, v in summary["percentiles"])[99.0] / 1000
        ladder = bounds(scrape.text, endpoint)
        # the bounds are printed in seconds: an exact p99 on a bound (a run's slowest sample, with few samples) may
        # come back a last bit above it from the µs-to-seconds division
        upper = next(bound for bound in ladder if bound >= exact * (1 - 1e-9))
        lower = max((bound for bound in ladder if bound < upper), default=0.0)
        # Prometheus interpolates inside the bucket that holds the exact p99: within its width, at most 1/64 of it
        assert abs(p99[endpoint] - exact) <= upper - lower + 1e-9, (endpoint, p99[endpoint], exact, lower, upper)
        assert upper - lower <= max(upper / 64, 1e-6) + 1e-12, (endpoint, lower, upper)

    with open(f"{prefix}_stats.csv", newline="") as handle:
        locust = {f"{row['Type']} {row['Name']}": row for row in csv.DictReader(handle) if row["Type"]}
    assert {endpoint: int(value) for endpoint, value in counts.items()} == \
        {endpoint: int(row["Request Count"]) for endpoint, row in locust.items()}
    assert {endpoint: int(value) for endpoint, value in failures.items()} == \
        {endpoint: int(row["Failure Count"]) for endpoint, row in locust.items()}
    assert sum(counts.values()) == REQUESTS and failures["GET /nowhere"] == USERS * (ROUNDS // 4)

    report = json.loads(Path(f"{prefix}_integrity.json").read_text())
    for figure in ("acknowledged", "popped", "duplicated", "out_of_order", "unpopped", "queues", "producers"):
        assert integrity[f"pushpop_integrity_{figure}"] == report[figure], figure
    assert integrity["pushpop_integrity_acknowledged"] == PUSHES and "pushpop_integrity_lost" not in integrity

    target = "target"  # as --monitor-pid names it
    assert resources[("pushpop_resource_rss_bytes", target)] > 0
    assert resources[("pushpop_resource_cpu_pct", target)] >= 0
    assert ("pushpop_resource_cpu_pct", "generator") in resources


OPEN_MODEL = '''
from pushpop_load.openmodel import ArrivalRateUser

class Open(ArrivalRateUser):
    schedule = "constant:rate=100"
    duration = 3
    network_timeout = 5
'''


def test_the_web_ui_serves_metrics_with_the_open_models_counts(memory_target: Target, tmp_path: Path) -> None:
    locustfile = tmp_path / "open.py"
    locustfile.write_text(OPEN_MODEL)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ui = subprocess.Popen(
        [LOCUST, "-f", str(locustfile), "--web-host", "127.0.0.1", "--web-port", str(port), "--host",
         memory_target.url, "--autostart", "-u", "1", "-r", "1", "--csv", str(tmp_path / "open")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )

    def line(text: str, metric: str) -> float | None:
        found = re.search(rf'^{metric}\{{schedule="[^"]*",worker="local"\}} (\S+)$', text, re.M)
        return float(found[1]) if found else None

    def requests_total(text: str) -> float:
        # the corrected entries: the exact histograms also keep each request's raw latency under "<name> (raw)"
        return sum(float(value) for name, value in
                   re.findall(r'^pushpop_requests_total\{method="POST",name="([^"]*)"\} (\S+)$', text, re.M)
                   if not name.endswith(" (raw)"))

    seen: list[float | None] = []

    def settled() -> str | None:
        # the schedule is over once its count of due arrivals stays put and everything started has been counted
        text = requests.get(f"{base}/metrics", timeout=10).text
        due, started = line(text, "pushpop_openmodel_due_total"), line(text, "pushpop_openmodel_started_total")
        seen.append(due)
        if due is None or len(seen) < 8 or seen[-8] != due or line(text, "pushpop_openmodel_in_flight") != 0:
            return None
        return text if requests_total(text) == line(text, "pushpop_openmodel_completed_total") == started else None

    try:
        wait_for_web_ui(base, ui)
        # while the driver runs, its counts so far; once its 3 s are over, the run's final counts
        going = wait_until(lambda: line(requests.get(f"{base}/metrics", timeout=10).text,
                                        "pushpop_openmodel_due_total"), "a running schedule", timeout=30)
        assert going > 0
        final = wait_until(settled, "the schedule's end", timeout=30)
    finally:
        ui.terminate()
        _, stderr = ui.communicate(timeout=30)
    assert "Traceback" not in stderr, stderr[-3000:]
    due, started = line(final, "pushpop_openmodel_due_total"), line(final, "pushpop_openmodel_started_total")
    late, dropped = line(final, "pushpop_openmodel_late_total"), line(final, "pushpop_openmodel_dropped_total")
    # 3 s at 100/s
    assert due is not None and abs(due - 300) <= 2 and late is not None and dropped is not None, final
    assert started == due - dropped and late <= started, final


def occupied_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1", "occupied"])
def test_bad_metrics_port_is_one_line_and_exit_2(value: str) -> None:
    sock, busy = occupied_port()
    try:
        port = str(busy) if value == "occupied" else value
        done = subprocess.run(
            [LOCUST, "-f", str(WORKLOAD), "--headless", "--host", "http://127.0.0.1:9", "-u", "1", "-t", "1s",
             "--web-host", "127.0.0.1", "--metrics-port", port],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        sock.close()
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    if value == "occupied":
        assert f"pushpop-load metrics: error: cannot serve /metrics on port {busy}: " in done.stderr, done.stderr
    else:
        assert f"argument --metrics-port: {value!r} is not a port number (1 to 65535)" in done.stderr, done.stderr


def test_pp_help_lists_the_metrics_port() -> None:
    done = subprocess.run([LOCUST, "-f", str(WORKLOAD), "--pp-help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--metrics-port" in done.stdout and "PUSHPOP_METRICS_PORT" in done.stdout, done
