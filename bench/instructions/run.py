"""Instructions per request, counted by callgrind: a figure that does not move with the host's load, for comparing
builds or copies of python/pushpop_load where CPU seconds cannot separate them (on these shared machines a run's CPU
per request moves by ±5–15% between runs of the same code; docs/BENCHMARKS.md).

Two parts, each against the reference target (memory store, one thread, on CPU TARGET_CPU), the client under
callgrind on GENERATOR_CPU, each run twice with a fixed amount of work (``bench/instructions/drive.py``):

1. **closed** — one greenlet's ``NativeHttpSession.post``, RATE × SHORT and then RATE × LONG requests back to back,
   Locust's statistics in batches, as ``bench/client/path.py`` sends them. One greenlet: every request is a hand-off
   of its own, the same in every run (with path.py's 20, how requests batched under valgrind moved the engine's count
   by 12% between two runs of one build);
2. **open** — the open model's driver alone (pushes and pops 1:1) at RATE arrivals/s, for SHORT and then LONG seconds.

Per request: the long run's instructions less the short run's, over the long run's requests less the short run's,
so that start-up (imports, the runtime, the first connections) cancels out. Python's main thread and the extension's
threads (the engine's or the driver's, and tokio's blocking pool) are counted apart. Under valgrind one thread runs at
a time, about 50 times slower: the counts are of user-space instructions (the kernel's are not counted), not time.
Compare variants in one run.

    .venv/bin/python bench/instructions/run.py
    VARIANTS="before=/tmp/before after=/tmp/after" .venv/bin/python bench/instructions/run.py

VARIANTS: ``name=folder`` pairs, each folder holding a copy of the ``pushpop_load`` package (with its built
extension) put first on ``PYTHONPATH``; by default the installed package alone. Environment: PARTS ("closed open"),
SHORT (3), LONG (6), RATE (200), VARIANTS, TARGET_CPU (0), GENERATOR_CPU (1), SMOKE (1 and 2 at 100). Results:
bench/results/instructions-<stamp>/ (summary.md, results.json, the callgrind files).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, ensure, fail, write_results  # noqa: E402
from processes import Target  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
PARTS = os.environ.get("PARTS", "closed open").split()
TARGET_CPU = os.environ.get("TARGET_CPU", "0")
GENERATOR_CPU = os.environ.get("GENERATOR_CPU", "1")
HERE = Path(__file__).resolve().parent


def settings() -> tuple[float, float, int, list[tuple[str, str | None]]]:
    """SHORT, LONG, RATE and VARIANTS, checked: a bad one is named and exits 2."""
    try:
        short = float(os.environ.get("SHORT", "1" if SMOKE else "3"))
        long = float(os.environ.get("LONG", "2" if SMOKE else "6"))
        rate = int(os.environ.get("RATE", "100" if SMOKE else "200"))
    except ValueError as err:
        fail(f"SHORT, LONG and RATE are numbers: {err}")
    if not 0 < short < long or rate <= 0 or int(rate * short) < 1:
        fail(f"need 0 < SHORT < LONG, RATE > 0 and RATE × SHORT ≥ 1, not SHORT={short:g} LONG={long:g} RATE={rate}")
    unknown = set(PARTS) - {"closed", "open"}
    if unknown or not PARTS:
        fail(f"PARTS takes closed and open, not {' '.join(sorted(unknown)) or 'nothing'}")
    variants: list[tuple[str, str | None]] = []
    for pair in os.environ.get("VARIANTS", "").split():
        name, _, folder = pair.partition("=")
        if not name or not (Path(folder) / "pushpop_load" / "__init__.py").is_file():
            fail(f"VARIANTS takes name=folder pairs, each folder holding a pushpop_load package, not {pair!r}")
        variants.append((name, folder))
    return short, long, rate, variants or [("installed", None)]


def thread_totals(out: Path, label: str) -> dict[str, int]:
    """Instructions of one callgrind run, from its per-thread files: Python's main thread (callgrind's thread 1)
    and every other thread."""
    totals = {"main": 0, "native": 0}
    # callgrind writes <label>.<pid>-<thread> per thread (and an empty <label>.<pid>)
    files = [path for path in out.glob(f"{label}.[0-9]*-[0-9]*") if path.stat().st_size > 0]
    for path in files:
        thread, summary = None, None
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("thread: "):
                thread = int(line.split()[1])
            elif line.startswith("summary: "):
                summary = int(line.split()[1])
                break
        if thread is None or summary is None:
            fail(f"{path.name} is not a callgrind file with a thread and a summary")
        totals["main" if thread == 1 else "native"] += summary
    if not totals["main"]:
        fail(f"no callgrind output for {label} in {out}")
    return totals


def counted(out: Path, label: str, command: list[str], folder: str | None, valgrind: str, timeout: float) -> dict:
    """Runs `command` (drive.py's arguments) under `valgrind`'s callgrind on the generator's CPU: its instructions per
    thread kind and the requests it made."""
    # the same string hashes in every run: Python's dicts and sets then do the same work
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if folder:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [folder, env.get("PYTHONPATH")]))
    done = subprocess.run(["taskset", "-c", GENERATOR_CPU, valgrind, "--tool=callgrind",
                           "--separate-threads=yes", f"--callgrind-out-file={out / label}.%p", sys.executable,
                           str(HERE / "drive.py"), *command], capture_output=True, text=True, timeout=timeout, env=env)
    (out / f"{label}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        fail(f"{label} exited {done.returncode} under valgrind: {done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"requests": figures["requests"], **thread_totals(out, label)}


def per_request(short: dict, long: dict) -> dict:
    requests = long["requests"] - short["requests"]
    if requests <= 0:
        fail(f"the long run made no more requests than the short one ({long['requests']} against {short['requests']})")
    main, native = ((long[kind] - short[kind]) / requests for kind in ("main", "native"))
    return {"requests": [short["requests"], long["requests"]], "main": main, "native": native, "all": main + native}


def main() -> None:
    short, long, rate, variants = settings()
    valgrind = ensure("valgrind", "valgrind")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"instructions-{stamp}"
    out.mkdir(parents=True)
    results: dict[str, dict] = {}
    target = Target("--threads", "1", prefix=("taskset", "-c", TARGET_CPU)).start()
    try:
        for name, folder in variants:
            results[name] = {}
            for part in PARTS:
                runs = []
                for length, seconds in (("short", short), ("long", long)):
                    label = f"{name}-{part}-{length}"
                    work = [str(int(rate * seconds))] if part == "closed" else [str(rate), f"{seconds:g}"]
                    runs.append(counted(out, label, [part, target.url, *work], folder, valgrind,
                                        timeout=200 * seconds + 300))
                results[name][part] = per_request(*runs)
    finally:
        target.stop()
    titles = {"closed": "closed model: one greenlet", "open": f"open model: the driver at {rate}/s"}
    lines = [
        f"## Instructions per request (callgrind), {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
        f"{' (smoke)' if SMOKE else ''}",
        "",
        f"The runs of {int(rate * long):,} requests (or {long:g} s at {rate}/s) less those of "
        f"{int(rate * short):,} (or {short:g} s); the reference target on CPU {TARGET_CPU}.",
        "",
        "| variant | part | requests (short, long) | Python's main thread | the extension's threads | in all |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, parts in results.items():
        for part, figures in parts.items():
            short_n, long_n = figures["requests"]
            lines.append(f"| {name} | {titles[part]} | {short_n:,}, {long_n:,} | {figures['main']:,.0f} | "
                         f"{figures['native']:,.0f} | {figures['all']:,.0f} |")
    if len(results) > 1:
        first, *others = results
        ratios = [f"{other}, {titles[part]}: {results[other][part]['all'] / results[first][part]['all']:.3f}×"
                  for other in others for part in results[first]]
        lines += ["", f"In all, against {first}: {'; '.join(ratios)}."]
    write_results(out, "\n".join(lines) + "\n", results)


if __name__ == "__main__":
    main()
