"""What the benchmark scripts share: a clear failure, installing the tools they drive when they can, and how they
leave their results."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
# tests/python/processes.py starts the reference target and PostgreSQL for the benchmarks as for the tests
sys.path.insert(0, str(ROOT / "tests" / "python"))


def fail(message: str) -> NoReturn:
    print(f"bench/{Path(sys.argv[0]).resolve().parent.name}: {message}", file=sys.stderr)
    sys.exit(2)


def ensure(binary: str, package: str) -> str:
    """The path of `binary`, installing Debian's `package` first when it is missing and we are root."""
    def find() -> str | None:
        return shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin")

    found = find()
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        for attempt in (["apt-get", "install", "-y", "-qq", package], ["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", package]):
            subprocess.run(attempt, capture_output=True, check=False)
            found = find()
            if found:
                break
    if not found:
        fail(f"{binary} not found and cannot be installed here (Debian: apt-get install {package})")
    return found


def find_oha(smoke: bool) -> str | None:
    """oha's path (``cargo install oha``: a benchmark tool, not a dependency); a full run installs it when missing, a
    smoke run goes without (None)."""
    found = shutil.which("oha") or shutil.which("oha", path=str(Path.home() / ".cargo" / "bin"))
    if found or smoke:
        return found
    print("bench: installing oha with `cargo install oha --locked` (a few minutes, once)", flush=True)
    done = subprocess.run(["cargo", "install", "oha", "--locked"], capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"cargo install oha failed:\n{done.stderr[-2000:]}")
    return shutil.which("oha", path=str(Path.home() / ".cargo" / "bin"))


def oha_command(oha: str, cpu: str, seconds: float, rate: int, connections: int, body: str, url: str) -> list[str]:
    """oha on `cpu` for `seconds`, POSTing the JSON `body` to `url` at `rate` per second over `connections`; its
    report as JSON on stdout (`oha_figures` reads it)."""
    return ["taskset", "-c", cpu, oha, "-z", f"{seconds:g}s", "-q", str(rate), "-c", str(connections), "-m", "POST",
            "-T", "application/json", "-d", body, "--no-tui", "--output-format", "json", url]


def oha_figures(report_text: str) -> dict:
    """From oha's JSON report: the requests answered, the transport errors, and the p50 and p99 in ms."""
    report = json.loads(report_text)
    percentiles = report["latencyPercentiles"]
    return {"answered": sum(report.get("statusCodeDistribution", {}).values()),
            "errors": sum(report.get("errorDistribution", {}).values()),
            "p50_ms": percentiles["p50"] * 1000, "p99_ms": percentiles["p99"] * 1000}


def write_results(out: Path, summary: str, results: object | None = None) -> None:
    """`summary.md` (and `results.json` when there are `results`) into `out`, the summary on the terminal."""
    (out / "summary.md").write_text(summary)
    if results is not None:
        (out / "results.json").write_text(json.dumps(results, indent=2))
    print(summary)
    print(f"raw output in {out.relative_to(ROOT)}")


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system, every thread) of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_measured(command: list[str], window: tuple[float, float], timeout: float, env: dict[str, str] | None = None,
                 start_on: str | None = None) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Runs `command` to its end (within `timeout` seconds); its CPU seconds (every thread) over `window`, seconds
    after its start or, with `start_on`, after it first writes a line holding that text to stderr; and the window's
    length as measured. Both are 0.0 when the process never wrote `start_on` or ended before the window did."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    output: dict[str, list[str]] = {"stdout": [], "stderr": []}
    started = threading.Event()
    if start_on is None:
        started.set()

    def read(name: str) -> None:
        for line in getattr(process, name):
            output[name].append(line)
            if start_on is not None and name == "stderr" and start_on in line:
                started.set()

    readers = [threading.Thread(target=read, args=(name,), daemon=True) for name in output]
    for reader in readers:
        reader.start()
    cpu = length = 0.0
    deadline = time.monotonic() + timeout
    if started.wait(timeout):
        begin = time.monotonic()
        time.sleep(window[0])
        try:
            before, measured_from = cpu_seconds(process.pid), time.monotonic()
            time.sleep(max(0.0, window[1] - (time.monotonic() - begin)))
            after, measured_to = cpu_seconds(process.pid), time.monotonic()
        except (OSError, IndexError, ValueError):
            pass  # ended early: no figure
        else:
            if process.poll() is None:
                cpu, length = after - before, measured_to - measured_from
    try:
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()  # ours: it does not outlive the bench
        process.wait()
        raise
    for reader in readers:
        reader.join(timeout=10)
    return (subprocess.CompletedProcess(command, process.returncode, "".join(output["stdout"]),
                                        "".join(output["stderr"])), cpu, length)


def cpu_us_per_request(cpu: float, window_s: float, per_s: float) -> float | None:
    """CPU µs per request of a run that sent `per_s` over a window of `window_s` in which it used `cpu` seconds;
    None without a window (`run_measured`'s 0.0) or requests."""
    return cpu * 1e6 / (per_s * window_s) if window_s and per_s else None


def run_wrk(command: list[str], out: Path) -> dict:
    """Runs wrk (`command`, with --latency), its output into `out`/wrk.txt: requests/s, requests, answers not 2xx
    or 3xx, and wrk's CPU µs per request, read from /proc just before it exits."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cpu = 0.0
    while proc.poll() is None:
        try:
            cpu = cpu_seconds(proc.pid)
        except (FileNotFoundError, IndexError, ValueError):
            pass
        time.sleep(0.1)
    text = proc.stdout.read() if proc.stdout else ""
    (out / "wrk.txt").write_text(text)
    total = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"requests_per_s": rate, "requests": total, "non_2xx": int(failed.group(1)) if failed else 0,
            "cpu_us_per_request": cpu / total * 1e6 if total else None}
