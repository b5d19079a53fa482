"""The property tests (`tests/rust/fuzz_*.rs` and the `fuzz_` tests inside the crate) for a fixed time, optimised, with a
fresh seed per round: the same tests `cargo test` runs with a few dozen cases each, here with thousands.

    .venv/bin/python bench/fuzz/run.py                  # 600 s
    FUZZ_SECONDS=300 FUZZ_ROUND_SECONDS=20 .venv/bin/python bench/fuzz/run.py

Builds once with the `fuzz` profile (release optimisation with overflow checks and debug assertions on: a wrapped
sum is what this hunts, and release would wrap it silently), then runs rounds until FUZZ_SECONDS (default 600) are
spent: each round runs every test binary's `fuzz_` tests with a new PROPTEST_RNG_SEED and PROPTEST_CASES cases per
property, FUZZ_ROUND_CASES (default 10000) in the first round, then scaled per binary so that each takes about
FUZZ_ROUND_SECONDS (default 30): the cheap decoders get millions of cases, the analyzer's file round trips
thousands. A round still running when the time is up is stopped and counted as cut
short, not failed. The first failure stops the run: its log (proptest's shrunk input) is kept. Results go to
`bench/results/fuzz-<UTC stamp>/`: `summary.json` (command, budget, seeds, cases, durations, verdict), `rounds.tsv`,
and the log of a failed round. Exit 0 when no property failed, 1 when one did, 2 when the build failed.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail  # noqa: E402

SECONDS = float(os.environ.get("FUZZ_SECONDS", "600"))
ROUND_CASES = int(os.environ.get("FUZZ_ROUND_CASES", "10000"))
ROUND_SECONDS = float(os.environ.get("FUZZ_ROUND_SECONDS", "30"))
# bounds of the scaled case count: enough to matter, few enough that one run stays within reach of the deadline
MIN_CASES, MAX_CASES = 1000, 5_000_000
PROFILE = "fuzz"


def build() -> list[tuple[str, Path]]:
    """Builds the test binaries; returns (name, executable) for the library's tests and each tests/rust/fuzz_*.rs."""
    command = ["cargo", "test", "--profile", PROFILE, "--no-run", "--message-format=json", "--lib",
               *[arg for path in sorted((ROOT / "tests" / "rust").glob("fuzz_*.rs")) for arg in ("--test", path.stem)]]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"build failed:\n{done.stderr[-3000:]}")
    binaries = []
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable") and message["profile"]["test"]:
            binaries.append((message["target"]["name"], Path(message["executable"])))
    return binaries


def count_properties(binary: Path) -> int:
    listed = subprocess.run([str(binary), "fuzz_", "--list"], capture_output=True, text=True, check=True).stdout
    return sum(1 for line in listed.splitlines() if line.endswith(": test"))


def main() -> None:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"fuzz-{stamp}"
    out.mkdir(parents=True)
    started = time.monotonic()
    binaries = build()
    built_s = time.monotonic() - started
    properties = {name: count_properties(binary) for name, binary in binaries}
    print(f"bench/fuzz: built in {built_s:.0f} s; {sum(properties.values())} properties in {len(binaries)} binaries; "
          f"{ROUND_CASES} cases each in the first round, then about {ROUND_SECONDS:.0f} s per binary, for "
          f"{SECONDS:.0f} s", flush=True)
    cases_of = {name: ROUND_CASES for name, _ in binaries}
    deadline = time.monotonic() + SECONDS
    rounds: list[dict] = []
    verdict = "passed"
    while verdict == "passed" and time.monotonic() < deadline:
        for name, binary in binaries:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            seed = secrets.randbits(63)
            cases = cases_of[name]
            env = {**os.environ, "PROPTEST_CASES": str(cases), "PROPTEST_RNG_SEED": str(seed)}
            begun = time.monotonic()
            try:
                done = subprocess.run([str(binary), "fuzz_", "--test-threads=2"], env=env, capture_output=True,
                                      text=True, timeout=remaining)
                status = "passed" if done.returncode == 0 else "failed"
                log = done.stdout + done.stderr
            except subprocess.TimeoutExpired as expired:
                status = "cut short"
                log = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else ""
            took = time.monotonic() - begun
            rounds.append({"round": len(rounds) // len(binaries) + 1, "binary": name, "seed": seed,
                           "cases_per_property": cases, "properties": properties[name], "seconds": round(took, 1),
                           "status": status})
            print(f"  {name:<14} seed {seed:<20} {cases:>9} cases {took:7.1f} s  {status}", flush=True)
            if status == "passed":
                cases_of[name] = int(min(MAX_CASES, max(MIN_CASES, cases * ROUND_SECONDS / max(took, 0.01))))
            if status == "failed":
                (out / f"failed-{name}-{seed}.log").write_text(log)
                verdict = "failed"
                break
    finished = [r for r in rounds if r["status"] == "passed"]
    cases = sum(r["cases_per_property"] * r["properties"] for r in finished)
    summary = {
        "run": f"fuzz-{stamp}",
        "command": " ".join([f"FUZZ_SECONDS={SECONDS:.0f}", f"FUZZ_ROUND_CASES={ROUND_CASES}",
                             f"FUZZ_ROUND_SECONDS={ROUND_SECONDS:.0f}", "bench/fuzz/run.py"]),
        "profile": PROFILE,
        "build_seconds": round(built_s, 1),
        "fuzz_seconds": round(sum(r["seconds"] for r in rounds), 1),
        "budget_seconds": SECONDS,
        "properties": properties,
        "cases_run": cases,
        "verdict": verdict,
        "rounds": rounds,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    with (out / "rounds.tsv").open("w") as table:
        table.write("round\tbinary\tseed\tcases_per_property\tproperties\tseconds\tstatus\n")
        for r in rounds:
            table.write("\t".join(str(r[k]) for k in ("round", "binary", "seed", "cases_per_property", "properties",
                                                      "seconds", "status")) + "\n")
    print(f"bench/fuzz: {verdict}: {cases:,} cases in {summary['fuzz_seconds']:.0f} s "
          f"({len(finished)} of {len(rounds)} runs whole); recorded in {out.relative_to(ROOT)}")
    sys.exit(0 if verdict == "passed" else 1)


if __name__ == "__main__":
    main()
