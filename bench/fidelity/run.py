"""Latencies as an independent client measures them: oha against NativeHttpUser, ArrivalRateUser and FastHttpUser at
the same fixed rates and connection counts, one after the other in one run.

    make build-prod && .venv/bin/python bench/fidelity/run.py
    SMOKE=1 ALLOW_DEBUG=1 .venv/bin/python bench/fidelity/run.py     # 200/s, 1 and 10 users, 2 s: the harness only

The reference target (memory store, one thread) runs on CPU TARGET_CPU, restarted for every cell; each generator
runs alone on CPU GENERATOR_CPU. Every request is a ~100-byte push. Cells, for each RATE and each connection count:
- **oha** (``cargo install oha``; a benchmark tool, not a dependency) with ``-q RATE -c N``: its p50 and p99 are the
  reference;
- **NativeHttpUser**, N users paced by ``swarm_throughput(RATE)`` (evenly spaced slots for the whole swarm, as oha's
  ``-q``), and the same users paced by Locust's ``constant_throughput(RATE / N)``, whose users, spawned together,
  send in step (bursts of up to N);
- **FastHttpUser** with ``swarm_throughput`` at the middle connection counts;
- **ArrivalRateUser** at RATE (one per rate: the open model opens the connections it needs), raw (from the send) and
  corrected (from the due time).
Locust's latencies are the exact histograms (``_hdr.json``) after ``--reset-stats``, so the spawn is left out; each
user takes a slot before its first task too. Each run's CPU per request (the generator's process, every thread) is
read from /proc over the run's middle: oha's from 1 s after its start, Locust's from 0.5 s after the reset, to 0.5 s
before the end; at a fixed rate it is what the generator spends to keep that rate, beside what oha spends. Goal
(issue 17): NativeHttpUser's and ArrivalRateUser's p50 and p99 within 10% or 20 µs (whichever is larger) of oha's in
every cell, with no growth with the number of users.

Every run is also captured on the loopback (``bench/wire.py``, tcpdump, when it is installed and this is root): the
wire's p50 and p99 in the same run are the reference that no client's clock is part of, and the summary gives how far
each client's figures are above them (oha's include its own wake-up for each answer).

With REPEAT > 1 every cell runs that many times, in rounds (each round runs every client once, in the order
above), and the summary gives each client's median with the range of its runs: on a virtual machine oha's own
figures move by more than the goal's tolerance from one run to the next, and its range is what a difference has to
be judged against.

Environment: RATES ("200 2000 20000"), CONNECTIONS ("1 10 100 500"), DURATION (s, 6), REPEAT (1), TARGET_CPU (0),
GENERATOR_CPU (1), WIRE (1; 0 leaves the capture out), SMOKE, ALLOW_DEBUG. Without oha on the PATH (or in
~/.cargo/bin) a full run installs it with cargo; a smoke run leaves its rows out. Results:
bench/results/fidelity-<stamp>/ (summary.md, results.json, every run's output).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import (ROOT, cpu_us_per_request, fail, find_oha, oha_command, oha_figures, run_measured,  # noqa: E402
                    write_results)
from processes import LOCUST, Target  # noqa: E402
from wire import CaptureError, WireCapture  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
RATES = [int(r) for r in os.environ.get("RATES", "200" if SMOKE else "200 2000 20000").split()]
CONNECTIONS = [int(c) for c in os.environ.get("CONNECTIONS", "1 10" if SMOKE else "1 10 100 500").split()]
DURATION = float(os.environ.get("DURATION", "2" if SMOKE else "6"))
REPEAT = int(os.environ.get("REPEAT", "1"))
TARGET_CPU = os.environ.get("TARGET_CPU", "0")
GENERATOR_CPU = os.environ.get("GENERATOR_CPU", "1")
WIRE = os.environ.get("WIRE", "1") == "1" and WireCapture.available()
WIRE_NOTE = ("p50/p99 − wire: the client's figure less the wire's in the same run (`bench/wire.py`: tcpdump on the "
             "loopback, on the target's CPU; the requests sent after Locust's reset, all of oha's), the median over "
             "the runs; the wire's time holds the server's and the loopback's, and no client's wake-ups."
             if WIRE else "No wire reference: tcpdump is not installed or this is not root (or WIRE=0).")
BODY = '{"item": {"data": "' + "x" * 50 + '", "timestamp": 1764204000.123456}, "priority": 0}'
PATH = "/queue/fidelity/push"

LOCUSTFILE = '''
from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser
from pushpop_load import NativeHttpUser, swarm_throughput
from pushpop_load.openmodel import ArrivalRateUser

RATE, USERS = __RATE__, __USERS__
BODY = __BODY__
HEADERS = {"Content-Type": "application/json"}


class Swarm(NativeHttpUser):
    wait_time = swarm_throughput(RATE)

    def on_start(self):
        self.wait()  # the first task on a slot too, or every user would send at once

    @task
    def push(self):
        self.client.post(__PATH__, data=BODY, headers=HEADERS, name="push")


class InStep(NativeHttpUser):
    wait_time = constant_throughput(RATE / USERS)

    @task
    def push(self):
        self.client.post(__PATH__, data=BODY, headers=HEADERS, name="push")


class FastSwarm(FastHttpUser):
    wait_time = swarm_throughput(RATE)

    def on_start(self):
        self.wait()

    @task
    def push(self):
        self.client.post(__PATH__, data=BODY, headers=HEADERS, name="push")


class Open(ArrivalRateUser):
    schedule = f"constant:rate={RATE}"
    push_weight, pop_weight = 1, 0
    max_in_flight = 2000
    network_timeout = 10
'''


def oha_run(oha: str, out: Path, url: str, rate: int, connections: int, round_: int) -> dict:
    command = oha_command(oha, GENERATOR_CPU, DURATION, rate, connections, BODY, url + PATH)
    # its CPU from its second second (connections open) to half a second before its end
    done, cpu, window_s = run_measured(command, (1.0, DURATION - 0.5), DURATION + 60)
    if done.returncode != 0:
        fail(f"oha exited {done.returncode}: {done.stderr[-2000:]}")
    (out / f"oha-{rate}-{connections}-{round_}.json").write_text(done.stdout)
    figures = oha_figures(done.stdout)
    count = figures["answered"]
    return {"requests": count, "per_s": count / DURATION, "errors": figures["errors"], "p50_ms": figures["p50_ms"],
            "p99_ms": figures["p99_ms"], "cpu_us_per_request": cpu_us_per_request(cpu, window_s, count / DURATION)}


def locust_run(out: Path, url: str, user: str, rate: int, users: int, round_: int) -> dict:
    label = f"{user}-{rate}-{users}-{round_}"
    locustfile = out / f"{label}.py"
    locustfile.write_text(LOCUSTFILE.replace("__RATE__", str(rate)).replace("__USERS__", str(users))
                          .replace("__BODY__", repr(BODY)).replace("__PATH__", repr(PATH)))
    prefix = out / label
    # spawned within a second; Locust's table and the exact one are emptied when the last user is up
    command = ["taskset", "-c", GENERATOR_CPU, LOCUST, "-f", str(locustfile), user, "--headless", "--host", url,
               "-u", str(users), "-r", str(users), "-t", f"{DURATION + 1:g}s", "--reset-stats", "--csv", str(prefix),
               "--only-summary", "--stop-timeout", "2"]
    # its CPU from half a second after the reset to half a second before its end
    done, cpu, window_s = run_measured(command, (0.5, DURATION - 0.5), DURATION + 90,
                                       env={**os.environ, "PUSHPOP_ALLOW_DEBUG": "1"}, start_on="Resetting stats")
    (out / f"{label}.log").write_text(done.stdout + done.stderr)
    if done.returncode not in (0, 1):
        fail(f"locust exited {done.returncode} ({label}): {done.stderr[-2000:]}")
    # when the statistics were reset, from Locust's log line (local time, to the millisecond)
    reset = re.search(r"^\[([\d-]+ [\d:]+,\d{3})\][^\n]*Resetting stats", done.stderr, re.MULTILINE)
    since = datetime.datetime.strptime(reset.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() if reset else None
    document = json.loads(Path(f"{prefix}_hdr.json").read_text())
    result = {}
    for summary in document["summaries"]:
        percentiles = dict((p, v) for p, v in summary["percentiles"])
        key = "raw" if summary["name"].endswith("(raw)") else "main"
        per_s = summary["count"] / max(1e-9, document["duration_s"])
        result[key] = {"requests": summary["count"], "failures": summary["failures"], "per_s": per_s,
                       "p50_ms": percentiles[50.0], "p99_ms": percentiles[99.0],
                       # the open model's raw and corrected figures are the same requests: one CPU figure
                       "cpu_us_per_request": cpu_us_per_request(cpu, window_s, per_s) if key == "main" else None}
    result["main"]["since"] = since
    return result


def medians(rows: list[dict]) -> list[dict]:
    """One row per cell and client, in the order they first ran: the median of its runs' figures, and their range."""
    cells: dict[tuple, list[dict]] = {}
    for row in rows:
        cells.setdefault((row["rate"], row["connections"], row["client"]), []).append(row)
    summary = []
    for (rate, connections, client), runs in cells.items():
        merged = {"rate": rate, "connections": connections, "client": client,
                  "per_s": statistics.median(run["per_s"] for run in runs)}
        for key in ("p50_ms", "p99_ms"):
            values = [run[key] for run in runs]
            merged.update({key: statistics.median(values), f"{key}_min": min(values), f"{key}_max": max(values)})
        cpus = [run["cpu_us_per_request"] for run in runs if run["cpu_us_per_request"] is not None]
        merged["cpu_us_per_request"] = statistics.median(cpus) if cpus else None
        # how far the client's figure is from the wire's in the same run, in µs
        for key in ("p50_ms", "p99_ms"):
            over = [(run[key] - run[f"wire_{key}"]) * 1e3 for run in runs if run.get(f"wire_{key}") is not None]
            merged[f"over_wire_{key}"] = statistics.median(over) if over else None
        summary.append(merged)
    return summary


def within(value: float, reference: float) -> bool:
    return abs(value - reference) <= max(0.1 * reference, 0.020)


def main() -> None:
    import pushpop_load

    if pushpop_load.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("the extension is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 for a smoke run)")
    oha = find_oha(SMOKE)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"fidelity-{stamp}"
    out.mkdir(parents=True)
    middle = CONNECTIONS[1:-1] or CONNECTIONS
    rows: list[dict] = []

    def cell(rate: int, connections: int | None, client: str, run: object) -> None:
        target = Target("--threads", "1", prefix=("taskset", "-c", TARGET_CPU)).start()
        wire: dict = {}
        try:
            if WIRE:
                pcap = out / f"{client.replace(' ', '-')}-{rate}-{connections or 0}-{round_}.pcap"
                try:
                    with WireCapture(int(target.url.rsplit(":", 1)[1]), pcap, TARGET_CPU) as capture:
                        result = run(target.url)  # type: ignore[operator]
                except CaptureError as error:
                    fail(f"{error} (WIRE=0 runs without the capture)")
            else:
                result = run(target.url)  # type: ignore[operator]
        finally:
            target.stop()
        since = result.get("main", result).pop("since", None)
        if WIRE:
            # over the requests the client's figures count: Locust's from its reset on, oha's all
            wire = capture.figures(since=since)
            pcap.unlink()
        for key, figures in (result.items() if "main" in result else [("main", result)]):
            name = client if key == "main" else f"{client} (raw)"
            rows.append({"rate": rate, "connections": connections, "client": name, "round": round_, **figures,
                         **wire})
            on_wire = f", wire p50 {wire['wire_p50_ms']:.3f} p99 {wire['wire_p99_ms']:.3f}" \
                if wire.get("wire_p50_ms") is not None else ""
            print(f"{rate:>6}/s {connections or '-':>4} {name:<32} p50 {figures['p50_ms']:.3f} "
                  f"p99 {figures['p99_ms']:.3f} ms ({figures['per_s']:,.0f}/s{on_wire})", flush=True)

    for round_ in range(REPEAT):
        for rate in RATES:
            for connections in CONNECTIONS:
                if oha:
                    cell(rate, connections, "oha",
                         lambda url, r=rate, c=connections: oha_run(oha, out, url, r, c, round_))
                cell(rate, connections, "NativeHttpUser swarm_throughput",
                     lambda url, r=rate, c=connections: locust_run(out, url, "Swarm", r, c, round_))
                if connections > 1:
                    cell(rate, connections, "NativeHttpUser constant_throughput",
                         lambda url, r=rate, c=connections: locust_run(out, url, "InStep", r, c, round_))
                if connections in middle:
                    cell(rate, connections, "FastHttpUser swarm_throughput",
                         lambda url, r=rate, c=connections: locust_run(out, url, "FastSwarm", r, c, round_))
            cell(rate, None, "ArrivalRateUser", lambda url, r=rate: locust_run(out, url, "Open", r, 1, round_))

    summary = medians(rows)
    ranges = "; with REPEAT > 1, each figure is the median of the runs and [the range]" if REPEAT > 1 else ""
    lines = [f"## Latency fidelity, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
             f"({pushpop_load.build_profile} build{', smoke' if SMOKE else ''}{'' if oha else ', no oha'})", "",
             f"Pushes to the reference target (memory, 1 thread, CPU {TARGET_CPU}); each generator alone on CPU "
             f"{GENERATOR_CPU}, {DURATION:g} s per cell, {REPEAT} run(s) per cell{ranges}. ✓: within 10% or 20 µs "
             "of oha's figure in the same cell.", "",
             f"{WIRE_NOTE}", "",
             "| rate/s | connections | client | achieved/s | p50 ms | p99 ms | CPU µs/request "
             "| p50 − wire µs | p99 − wire µs |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for row in summary:
        # the open model opens the connections it needs: its reference is oha's cell with the fewest connections
        # that kept the rate
        reference = next((r for r in summary if r["client"] == "oha" and r["rate"] == row["rate"] and (
            r["connections"] == row["connections"] if row["connections"] else r["per_s"] >= 0.95 * row["rate"])),
            None)
        marks = ["", ""]
        if reference is not None and row["client"] != "oha":
            marks = [" ✓" if within(row[k], reference[k]) else " ✗" for k in ("p50_ms", "p99_ms")]
        spread = [f" [{row[k + '_min']:.3f}–{row[k + '_max']:.3f}]" if REPEAT > 1 else "" for k in ("p50_ms", "p99_ms")]
        cpu = "–" if row["cpu_us_per_request"] is None else f"{row['cpu_us_per_request']:.1f}"
        over = ["–" if row[f"over_wire_{key}"] is None else f"{row[f'over_wire_{key}']:+.0f}"
                for key in ("p50_ms", "p99_ms")]
        lines.append(f"| {row['rate']:,} | {row['connections'] or '–'} | {row['client']} | {row['per_s']:,.0f} | "
                     f"{row['p50_ms']:.3f}{marks[0]}{spread[0]} | {row['p99_ms']:.3f}{marks[1]}{spread[1]} | {cpu} | "
                     f"{over[0]} | {over[1]} |")
    write_results(out, "\n".join(lines) + "\n", rows)


if __name__ == "__main__":
    main()
