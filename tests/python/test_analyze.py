"""The results analyzer (`pushpop-load analyze` / `check`, `analyze-results`, the seed's scripts) on real Locust
output: headless Locust runs against the reference target (memory and PostgreSQL stores), one with failures and
one with no requests at all; hand-made malformed files. The HTML report: test_analyze_html.py."""

from __future__ import annotations

import csv
import json
import math
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from processes import BIN, HERE, PUSHPOP, ROOT, Postgres, Target, locust_headless

WORKLOAD = HERE / "locustfiles" / "analyze_workload.py"
IDLE = HERE / "locustfiles" / "analyze_idle.py"
MIXED = ROOT / "locustfiles" / "s3_mixed.py"
USERS, ROUNDS = 4, 20
ODD_NAME = 'pop "deep", depth=3'


def run(*args: object, command: str = "analyze", program: str = PUSHPOP) -> subprocess.CompletedProcess[str]:
    return subprocess.run([program, command, *map(str, args)], capture_output=True, text=True, timeout=120)


def report(prefix: Path, *args: object) -> dict:
    done = run(prefix, "--format", "json", *args)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def locust_run(target: Target, out: Path, name: str, locustfile: Path, *args: str, env: dict | None = None) -> Path:
    prefix = out / name
    done, rows = locust_headless(
        locustfile, target.url, prefix, "--csv-full-history", "--json-file", f"{prefix}_locust", *args,
        timeout=90, env=env,
    )
    assert rows, f"no _stats.csv: {done.stdout[-2000:]} {done.stderr[-3000:]}"
    Path(f"{prefix}.log").write_text(done.stderr)  # for an assertion on a file the run should have written
    return prefix


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("analyze")


@pytest.fixture(scope="module")
def runs(memory_target: Target, out: Path) -> dict[str, Path]:
    """Bounded runs (every user stops after its rounds, and the run ends itself once Locust's _stats.csv holds the
    final figures: see the workload)."""
    bounded = ("-u", str(USERS), "-r", str(USERS), "-t", "60s")
    env = {"ANALYZE_ROUNDS": str(ROUNDS)}
    return {
        "failing": locust_run(memory_target, out, "failing", WORKLOAD, *bounded, env={**env, "ANALYZE_FAILING": "1"}),
        "clean": locust_run(memory_target, out, "clean", WORKLOAD, *bounded, env={**env, "ANALYZE_FAILING": "0"}),
        "mixed": locust_run(memory_target, out, "mixed", MIXED, "MixedWorkloadUser", "-u", "10", "-r", "10", "-t", "4s"),
        "idle": locust_run(memory_target, out, "idle", IDLE, "-u", "1", "-r", "1", "-t", "2s"),
    }


def stats_rows(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def locust_json(prefix: Path) -> dict[tuple[str, str], dict]:
    entries = json.loads(Path(f"{prefix}_locust.json").read_text())
    return {(e["method"], e["name"]): e for e in entries}


def number(text: str) -> float | None:
    return None if text in ("", "N/A") else float(text)


def find(document: dict, method: str, name: str) -> dict:
    if name == "Aggregated" and not method:
        return document["total"]
    return next(e for e in document["endpoints"] if (e["method"], e["name"]) == (method, name))


def rounded_at_rank(response_times: dict[str, int], rank: int) -> int:
    """The rank-th smallest of Locust's rounded response times (1-based; the smallest for a rank below 1)."""
    seen = 0
    for value in sorted(int(k) for k in response_times):
        seen += response_times[str(value)]
        if seen >= rank:
            return value
    return max(int(k) for k in response_times)


def locust_percentile_span(response_times: dict[str, int], count: int, fraction: float) -> tuple[int, int]:
    """Where a percentile of ``count`` samples may lie in Locust's rounded response times: Locust's own
    (locust.stats.calculate_response_time_percentile) is the sample of rank floor(count * fraction) + 1, an HDR
    percentile the one of rank ceil(count * fraction); on a small sample the two are a rank apart, which at the tail
    can be far more than Locust's rounding."""
    wanted = int(count * fraction)
    return rounded_at_rank(response_times, wanted), rounded_at_rank(response_times, wanted + 1)


def test_figures_match_locusts_own(runs: dict[str, Path]) -> None:
    prefix = runs["failing"]
    document = report(prefix)
    assert document["format"] == "pushpop-load-analysis" and document["version"] == 1
    rows = stats_rows(prefix)
    assert {r["Name"] for r in rows} == {"/queue/[id]/push", "/queue/[id]/pop", ODD_NAME, "/nowhere", "Aggregated"}
    percentile_columns = [c for c in rows[0] if c.endswith("%")]
    for row in rows:
        endpoint = find(document, row["Type"], row["Name"])
        locust = endpoint["locust"]
        # Locust's own figures, as its _stats.csv has them
        assert (locust["requests"], locust["failures"]) == (int(row["Request Count"]), int(row["Failure Count"]))
        assert locust["median_ms"] == number(row["Median Response Time"])
        assert locust["mean_ms"] == number(row["Average Response Time"])
        assert (locust["min_ms"], locust["max_ms"]) == (number(row["Min Response Time"]), number(row["Max Response Time"]))
        assert (locust["rps"], locust["fail_rps"]) == (number(row["Requests/s"]), number(row["Failures/s"]))
        assert [p for _, p in locust["percentiles"]] == [number(row[c]) for c in percentile_columns]
        # the exact counts agree with them (a bounded run: _stats.csv is final)
        assert endpoint["sources"] == {"counts": "exact", "latency": "exact"}
        assert (endpoint["requests"], endpoint["failures"]) == (locust["requests"], locust["failures"]), row
    # and with Locust's complete JSON; exact percentiles within Locust's rounding of its own
    for (method, name), entry in locust_json(prefix).items():
        endpoint = find(document, method, name)
        assert (endpoint["requests"], endpoint["failures"]) == (entry["num_requests"], entry["num_failures"])
        for fraction in (0.5, 0.95, 0.99):
            ours = endpoint["latency_ms"][f"p{round(fraction * 100)}"]
            low, high = locust_percentile_span(entry["response_times"], entry["num_requests"], fraction)
            # within Locust's rounding (nearest ms below 100 ms, 10 ms below 1 s) of a sample in that span
            assert low - max(1.0, 0.1 * low) <= ours <= high + max(1.0, 0.1 * high), (name, fraction, ours, low, high)
    total = document["total"]
    pushes, pops = USERS * ROUNDS * 3, USERS * ROUNDS
    assert total["requests"] == pushes + 2 * pops + USERS * ROUNDS // 4
    assert total["failures"] == USERS * ROUNDS // 4
    assert abs(total["fail_ratio"] - total["failures"] / total["requests"]) < 1e-12
    # items: a pop of depth 3 that found two items counts two
    assert find(document, "POST", ODD_NAME)["items"] == 2 * pops
    assert find(document, "POST", "/queue/[id]/pop")["items"] == pops
    assert total["items"] == 3 * pops
    duration = document["duration_s"]
    assert abs(total["items_per_s"] - 3 * pops / duration) < 1e-6
    assert find(document, "POST", "/queue/[id]/push")["items"] is None
    # failures by kind, with what was used and lacked
    assert document["failures"] == [
        {"method": "GET", "name": "/nowhere", "error": "LocustBadStatusCode(code=404)",
         "occurrences": USERS * ROUNDS // 4}
    ]
    used = {f["kind"] for f in document["inputs"]["used"]}
    # PushPopUser's runs carry the integrity verdict; this workload is no scenario and ran without the monitor
    assert used == {"stats", "history", "failures", "exceptions", "hdr", "hdr_intervals", "integrity"}
    assert {f["kind"] for f in document["inputs"]["lacking"]} == {"scenario", "resources", "resources_summary"}
    history = {(s["method"], s["name"]): s for s in document["timeline"]["history"]}
    assert history[("", "Aggregated")]["total_requests"] == total["requests"]


def test_s3a_run_matches_locusts_json(runs: dict[str, Path]) -> None:
    prefix = runs["mixed"]
    document = report(prefix)
    complete = locust_json(prefix)
    assert set(complete) == {("POST", "/queue/[id]/push"), ("POST", "/queue/[id]/pop")}
    for (method, name), entry in complete.items():
        endpoint = find(document, method, name)
        # exact counts are complete; Locust's _stats.csv may lack its last second, and the report says so
        assert (endpoint["requests"], endpoint["failures"]) == (entry["num_requests"], 0)
        row = next(r for r in stats_rows(prefix) if r["Name"] == name)
        assert endpoint["locust"]["requests"] == int(row["Request Count"]) <= entry["num_requests"]
        assert endpoint["latency_ms"]["p50"] > 0 and endpoint["sources"]["latency"] == "exact"
    assert find(document, "POST", "/queue/[id]/pop")["items"] is not None
    if any(find(document, m, n)["locust"]["requests"] != e["num_requests"] for (m, n), e in complete.items()):
        assert any("once a second" in note for note in document["notes"])


def test_locust_figures_alone_are_marked_as_locusts(runs: dict[str, Path], tmp_path: Path) -> None:
    lone = tmp_path / "baseline_reference.csv"  # the seed's copy of a _stats.csv under another name
    shutil.copy(f"{runs['failing']}_stats.csv", lone)
    document = report(lone)
    assert {f["kind"] for f in document["inputs"]["used"]} == {"stats"}
    for row in stats_rows(runs["failing"]):
        endpoint = find(document, row["Type"], row["Name"])
        assert endpoint["sources"] == {"counts": "locust", "latency": "locust"}
        assert endpoint["latency_ms"]["p95"] == number(row["95%"])
        assert endpoint["rps"] == number(row["Requests/s"]) and endpoint["items"] is None
    text = run(lone).stdout
    assert "locust = Locust's rounded figures" in text and "exact =" not in text


def test_zero_requests(runs: dict[str, Path]) -> None:
    prefix = runs["idle"]
    assert [r["Name"] for r in stats_rows(prefix)] == ["Aggregated"]
    document = report(prefix)
    assert document["endpoints"] == [] and document["total"]["requests"] == 0
    assert document["total"]["latency_ms"]["p95"] is None
    text = run(prefix)
    assert text.returncode == 0 and "Aggregated" in text.stdout
    assert run(prefix, "--threshold", "fail_ratio<1%", command="check").returncode == 0
    done = run(prefix, "--threshold", "p95<100ms", command="check")
    assert done.returncode == 1 and "p95" in done.stdout


def test_text_markdown_and_junit(runs: dict[str, Path]) -> None:
    prefix = runs["failing"]
    text = run(prefix).stdout
    header = next(line for line in text.splitlines() if line.startswith("Endpoint"))
    assert header.split() == ["Endpoint", "Requests", "Fail", "%", "Req/s", "p50", "ms", "p95", "ms", "p99", "ms",
                              "Max", "ms", "Items/s", "Latency"]
    nowhere = next(line for line in text.splitlines() if line.startswith("GET /nowhere"))
    assert "100.00%" in nowhere and nowhere.endswith("exact")
    assert f"POST {ODD_NAME}" in text and "LocustBadStatusCode(code=404)" in text
    markdown = run(prefix, "--format", "md").stdout
    assert "| Endpoint | Requests | Fail % |" in markdown and f"| POST {ODD_NAME} |" in markdown

    rules = ["p95<10s", "fail_ratio<1%", "name:/queue/[id]/pop:p99<10s", "name:/nowhere:fail_ratio==100%"]
    done = run(prefix, "--format", "junit", *(a for rule in rules for a in ("--threshold", rule)), command="check")
    assert done.returncode == 1
    suites = ElementTree.fromstring(done.stdout)
    cases = suites.findall(".//testcase")
    assert len(cases) == len(rules)
    failed = [case.get("name") for case in cases if case.find("failure") is not None]
    assert failed == ["fail_ratio<1% [Aggregated]"]
    assert suites.get("tests") == "4" and suites.get("failures") == "1"


def test_alias_and_seed_scripts(runs: dict[str, Path]) -> None:
    prefix = runs["failing"]
    stats = f"{prefix}_stats.csv"
    expected = run(prefix).stdout
    alias = subprocess.run([str(BIN / "analyze-results"), stats], capture_output=True, text=True, timeout=60)
    assert alias.returncode == 0 and alias.stdout == expected
    # the seed's command line, from the project root, with the interpreter that has pushpop-load
    script = subprocess.run([sys.executable, "scripts/analyze_results.py", stats], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert script.returncode == 0 and script.stdout == expected, script.stderr
    seed = [sys.executable, str(ROOT / "scripts" / "check_thresholds.py")]
    failing = subprocess.run([*seed, stats], capture_output=True, text=True, timeout=60)
    assert failing.returncode == 1 and "FAIL  fail_ratio<1%" in failing.stdout and "PASS  p95<100ms" in failing.stdout
    clean = subprocess.run([*seed, f"{runs['clean']}_stats.csv"], capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0 and "Verdict: PASS (2 thresholds hold)" in clean.stdout
    custom = subprocess.run([*seed, stats, "--threshold", "p99<10s"], capture_output=True, text=True, timeout=60)
    assert custom.returncode == 0 and "fail_ratio" not in custom.stdout


@pytest.mark.parametrize(
    "rules, clean, failing",
    [
        (["p95<100ms", "fail_ratio<1%"], 0, 1),
        (["p50>1s"], 1, 1),
        (["max<60s", "requests>=100", "rps>0"], 0, 0),
        (["name:/nowhere:fail_ratio<1%"], 1, 1),  # no such endpoint in the clean run: a failed rule
        (["name:/queue/[id]/pop:p99<10s", "name:/queue/[id]/pop:items_per_s>0"], 0, 0),
        (["p99<0.001ms"], 1, 1),
        (["failures==0"], 0, 1),
    ],
)
def test_thresholds_both_ways(runs: dict[str, Path], rules: list[str], clean: int, failing: int) -> None:
    flags = [a for rule in rules for a in ("--threshold", rule)]
    assert run(runs["clean"], *flags, command="check").returncode == clean
    assert run(runs["failing"], *flags, command="check").returncode == failing


def test_thresholds_file(runs: dict[str, Path], tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('thresholds = ["p95<10s", "fail_ratio<1%"]\n'
                     '[endpoints."/queue/[id]/pop"]\nthresholds = ["p99<10s"]\n')
    assert run(runs["clean"], "--thresholds", rules, command="check").returncode == 0
    done = run(runs["failing"], "--thresholds", rules, command="check")
    assert done.returncode == 1 and "FAIL  fail_ratio<1%" in done.stdout
    assert "PASS  name:/queue/[id]/pop:p99<10s  [POST /queue/[id]/pop]" in done.stdout


def with_integrity(source: Path, tmp_path: Path, integrity: dict | str) -> Path:
    prefix = tmp_path / "run"
    for kind in ("_stats.csv", "_hdr.json"):
        shutil.copy(f"{source}{kind}", f"{prefix}{kind}")
    text = integrity if isinstance(integrity, str) else json.dumps(integrity)
    Path(f"{prefix}_integrity.json").write_text(text)
    return prefix


def test_integrity_rules_both_ways(runs: dict[str, Path], tmp_path: Path) -> None:
    rules = ["--threshold", "lost==0", "--threshold", "duplicated==0"]
    good = {"version": 1, "ok": True, "drained": True, "acknowledged": 400, "lost": 0, "duplicated": 0,
            "out_of_order": 0, "foreign": 0, "examples": {"lost": []}, "something_new": "kept"}
    prefix = with_integrity(runs["clean"], tmp_path, good)
    done = run(prefix, *rules, command="check")
    assert done.returncode == 0, done.stdout
    assert report(prefix)["integrity"]["something_new"] == "kept"
    assert "acknowledged=400" in run(prefix).stdout

    prefix = with_integrity(runs["clean"], tmp_path, {**good, "ok": False, "lost": 3})
    done = run(prefix, *rules, command="check")
    assert done.returncode == 1 and "FAIL  lost==0" in done.stdout and "lost = 3" in done.stdout
    assert "PASS  duplicated==0" in done.stdout

    prefix = with_integrity(runs["clean"], tmp_path, {"ok": True, "lost": None})  # not drained; no duplicated key
    done = run(prefix, *rules, command="check")
    assert done.returncode == 1 and "not drained" in done.stdout and 'has no "duplicated"' in done.stdout

    bare = tmp_path / "bare"
    for kind in ("_stats.csv", "_hdr.json"):
        shutil.copy(f"{runs['clean']}{kind}", f"{bare}{kind}")
    done = run(bare, "--threshold", "lost==0", command="check")
    assert done.returncode == 1 and "no " in done.stdout and "_integrity.json" in done.stdout

    prefix = with_integrity(runs["clean"], tmp_path, '{"ok": tr')
    done = run(prefix, *rules, command="check")
    assert done.returncode == 2 and "_integrity.json: truncated JSON" in done.stderr


def rewrite_hdr(source: Path, prefix: Path, change) -> Path:
    """A copy of a real run's exact statistics whose samples went through `change` (a list of µs values in, a list
    out), for comparisons whose true answer is known."""
    document = json.loads(Path(f"{source}_hdr.json").read_text())
    for entry in document["histograms"]["entries"]:
        samples = [value for value, count in entry["counts"] for _ in range(count)]
        changed = sorted(change(samples))
        counts: dict[int, int] = {}
        for value in changed:
            counts[value] = counts.get(value, 0) + 1
        entry["counts"] = [[value, count] for value, count in sorted(counts.items())]
    document["summaries"] = []  # recomputed from the histograms
    Path(f"{prefix}_hdr.json").write_text(json.dumps(document))
    return prefix


def test_baseline_noise_is_not_a_regression(runs: dict[str, Path], tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    assert run(runs["clean"], "--save-baseline", baseline).returncode == 0
    saved = json.loads(baseline.read_text())
    assert saved["format"] == "pushpop-load-baseline" and saved["total"]["histogram"]
    # the run against itself: nothing moved
    document = report(runs["clean"], "--baseline", baseline)
    assert document["passed"] and {m["status"] for e in document["baseline"]["endpoints"] for m in e["metrics"]} == {"ok"}

    # a resample of the same samples: percentiles differ by chance; with no tolerance at all, every difference is
    # past it, and the tests must call each of them noise (or ok), never a regression
    rng = random.Random(7)
    noisy = rewrite_hdr(runs["clean"], tmp_path / "noisy", lambda s: [rng.choice(s) for _ in s])
    done = run(noisy, "--baseline", baseline, "--latency-tolerance", "0%", "--rps-tolerance", "100%")
    assert done.returncode == 0, done.stdout
    document = report(noisy, "--baseline", baseline, "--latency-tolerance", "0%", "--rps-tolerance", "100%")
    statuses = [m["status"] for e in document["baseline"]["endpoints"] for m in e["metrics"]]
    assert "regression" not in statuses and "noise" in statuses, statuses

    # the same samples 30% slower: a regression, found by the tests
    slower = rewrite_hdr(runs["clean"], tmp_path / "slower", lambda s: [v * 13 // 10 + 1 for v in s])
    done = run(slower, "--baseline", baseline, "--rps-tolerance", "100%", command="check")
    assert done.returncode == 1 and "REGRESSION" in done.stdout, done.stdout
    document = report(slower, "--baseline", baseline, "--rps-tolerance", "100%")
    total = document["baseline"]["endpoints"][-1]
    # significant at the analyzer's alpha (0.01); how far below depends on the spread of the run's own samples
    # (1e-4 seen with the machine at load 8, 1e-9 idle)
    assert total["name"] == "Aggregated" and total["distribution"]["p_slower"] < 0.01
    p50 = next(m for m in total["metrics"] if m["metric"] == "p50")
    assert p50["status"] == "regression" and p50["significant"] is True and abs(p50["relative"] - 0.3) < 0.05
    junit = ElementTree.fromstring(run(slower, "--baseline", baseline, "--format", "junit").stdout)
    assert junit.find("testsuite[@name='baseline']/testcase/failure") is not None


def test_baseline_regression_and_improvement_between_stores(
    runs: dict[str, Path], postgres: Postgres, out: Path
) -> None:
    """Real runs: the PostgreSQL store commits every push, the memory store does not; the same workload is slower on
    PostgreSQL by far more than noise."""
    target = Target("--store", postgres.url).start()
    try:
        slow = locust_run(target, out, "postgres", WORKLOAD, "-u", str(USERS), "-r", str(USERS), "-t", "60s",
                          env={"ANALYZE_ROUNDS": str(ROUNDS), "ANALYZE_FAILING": "0"})
    finally:
        assert target.stop() == 0
    fast = runs["clean"]
    loose = ("--rps-tolerance", "100%")
    done = run(slow, "--baseline", f"{fast}_stats.csv", *loose, command="check")
    assert done.returncode == 1 and "REGRESSION" in done.stdout, done.stdout
    document = report(slow, "--baseline", fast, *loose)
    push = next(e for e in document["baseline"]["endpoints"] if e["name"] == "/queue/[id]/push")
    assert next(m for m in push["metrics"] if m["metric"] == "p50")["status"] == "regression", push
    assert push["distribution"]["prob_slower"] > 0.6 and push["distribution"]["p_slower"] < 1e-3, push
    # the other way round: an improvement, not a failure. A p50 more than 10% above the baseline's is less than 10%
    # below it seen from the other side (1/1.1 = 0.909), so the tolerance is halved for this direction
    document = report(fast, "--baseline", slow, *loose, "--latency-tolerance", "5%")
    assert document["passed"]
    push = next(e for e in document["baseline"]["endpoints"] if e["name"] == "/queue/[id]/push")
    assert next(m for m in push["metrics"] if m["metric"] == "p50")["status"] == "improved"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


MALFORMED = {
    "truncated": (b'Type,Name,Request Count,Failure Count,Median Response Time\nPOST,/queue/[id]/push,12,0,1\nPOST,/q',
                  "line 3: 2 fields where the header has 5"),
    "wrong header": (b"when,what,how many\n1,2,3\n", "not a Locust _stats.csv: its header has no \"Type\" column"),
    "non-UTF-8": (b"Type,Name,Request Count,Failure Count\nGET,/caf\xe9,1,0\n", "line 2: not UTF-8 text"),
    "empty": (b"", "empty file (no header line)"),
    "binary": (b"\x1f\x8b\x08\x00" + random.Random(3).randbytes(4096), "binary data"),  # a gzip file
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("command", ["analyze", "check"])
def test_malformed_stats_exit_2_with_one_line(tmp_path: Path, case: str, command: str) -> None:
    data, expected = MALFORMED[case]
    path = write(tmp_path / "bad_stats.csv", data)
    done = run(path, "--threshold", "p95<100ms", command=command)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pushpop-load: error: ") and str(path) in lines[0], done.stderr
    assert expected in lines[0], lines[0]


def test_other_malformed_inputs_exit_2(runs: dict[str, Path], tmp_path: Path) -> None:
    def one_line(done: subprocess.CompletedProcess[str], expected: str) -> None:
        lines = done.stderr.splitlines()
        assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], done.stderr

    prefix = tmp_path / "cut"
    text = Path(f"{runs['clean']}_hdr.json").read_text()
    Path(f"{prefix}_hdr.json").write_text(text[: len(text) // 2])
    one_line(run(prefix), "cut_hdr.json: truncated JSON")
    Path(f"{prefix}_hdr.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    one_line(run(prefix), "cut_hdr.json: not pushpop-load's _hdr.json")
    history = write(tmp_path / "h_stats_history.csv", b"Timestamp,User Count,Type,Name,Requests/s\nnoon,1,,Aggregated,2\n")
    one_line(run(history), 'line 2: Timestamp is "noon", not a number')
    one_line(run(tmp_path / "nothing_here"), "no results at")
    one_line(run(tmp_path), "is a directory")
    one_line(run(runs["clean"], "--threshold", "p95 below 100ms"), 'threshold "p95 below 100ms": no comparison')
    one_line(run(runs["clean"], "--threshold", "latency<1s"), "unknown metric")
    rules = write(tmp_path / "rules.toml", b'thresholds = ["p95<100ms"\n')
    one_line(run(runs["clean"], "--thresholds", rules), "rules.toml: line")
    baseline = write(tmp_path / "old.json", b'{"format": "something-else"}')
    one_line(run(runs["clean"], "--baseline", baseline), "not a baseline")
    one_line(run(runs["clean"], command="check"), "nothing to check")
    assert run(runs["clean"], "--format", "pdf").returncode == 2


def test_generator_saturation_rule_reads_the_monitors_summary(memory_target: Target, out: Path,
                                                               tmp_path: Path) -> None:
    # a run with the resource monitor on: it samples the generator too, and says whether it saturated
    assert memory_target.proc is not None
    monitored = locust_run(memory_target, out, "monitored", MIXED, "MixedWorkloadUser", "-u", "5", "-r", "5", "-t",
                           "3s", "--monitor-pid", str(memory_target.proc.pid))
    assert Path(f"{monitored}_resources.json").exists(), Path(f"{monitored}.log").read_text()[-3000:]
    summary = json.loads(Path(f"{monitored}_resources.json").read_text())
    assert summary["generator"]["saturated"] is False
    done = run(monitored, "--threshold", "saturated==0", command="check")
    assert done.returncode == 0 and "PASS  saturated==0" in done.stdout, done.stdout + done.stderr
    prefix = tmp_path / "run"
    for kind in ("_stats.csv", "_hdr.json"):
        shutil.copy(f"{monitored}{kind}", f"{prefix}{kind}")
    done = run(prefix, "--threshold", "saturated==0", command="check")
    assert done.returncode == 1 and "run with the resource monitor" in done.stdout, done.stdout
    Path(f"{prefix}_resources.json").write_text(json.dumps({**summary, "generator": {**summary["generator"],
                                                                                      "saturated": True}}))
    done = run(prefix, "--threshold", "saturated==0", command="check")
    assert done.returncode == 1 and "FAIL  saturated==0" in done.stdout, done.stdout


# HdrHistogram's percentile distribution, read as its published description says (HdrHistogram's
# outputPercentileDistribution, wrk2's output): written here from that description, not from our writer
HGRM_ROW = re.compile(r"^\s*(\d+\.\d{3})\s+(\d\.\d{12})\s+(\d+)(?:\s+(\d+\.\d{2}))?$")
HGRM_MEAN = re.compile(r"^#\[Mean\s+=\s+(\d+\.\d{3}), StdDeviation\s+=\s+(\d+\.\d{3})\]$")
HGRM_MAX = re.compile(r"^#\[Max\s+=\s+(\d+\.\d{3}), Total count\s+=\s+(\d+)\]$")
HGRM_BUCKETS = re.compile(r"^#\[Buckets\s+=\s+(\d+), SubBuckets\s+=\s+(\d+)\]$")


def hgrm_levels() -> list[float]:
    """The percentile levels, 5 per halving of the distance to 100%: 0, 10, … 50, 55, … 75, 77.5, …"""
    levels = [0.0]
    while len(levels) < 400:
        level = levels[-1]
        halvings = int(math.log(100 / (100 - level)) / math.log(2))
        levels.append(level + 100 / (5 * 2 ** (halvings + 1)))
    return levels


def check_hgrm_section(lines: list[str], entry: dict, summary: dict) -> None:
    assert lines[0].split() == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"] and lines[1] == ""
    rows = [HGRM_ROW.match(line) for line in lines[2:-3]]
    assert all(rows), lines
    counts = entry["counts"]
    total = sum(count for _, count in counts)
    # every row but the last: the level's value, the smallest whose cumulative count reaches the level
    for row, level in zip(rows[:-1], hgrm_levels()):
        assert row[2] == f"{level / 100:.12f}" and row[4] == f"{1 / (1 - level / 100):.2f}", row[0]
        seen = 0
        for value, count in counts:
            seen += count
            if 100 * seen / total >= level:
                break
        assert (row[1], int(row[3])) == (f"{value / 1000:.3f}", seen), (row[0], level)
    assert int(rows[-2][3]) == total and int(rows[-3][3]) < total
    assert (rows[-1][1], rows[-1][2], rows[-1][3], rows[-1][4]) == (f"{counts[-1][0] / 1000:.3f}",
                                                                     "1.000000000000", str(total), None)
    # the exact percentiles of _hdr.json are rows of the distribution
    by_level = {float(row[2]): row[1] for row in rows}
    for percentile, value in summary["percentiles"]:
        if percentile in (50.0, 75.0, 90.0, 95.0):
            assert by_level[percentile / 100] == f"{value:.3f}", percentile
    mean, maximum, buckets = HGRM_MEAN.match(lines[-3]), HGRM_MAX.match(lines[-2]), HGRM_BUCKETS.match(lines[-1])
    assert mean and maximum and buckets, lines[-3:]
    assert abs(float(mean[1]) - summary["mean_ms"]) <= 0.0005 + 1e-9 and float(mean[2]) > 0
    assert (maximum[1], int(maximum[2])) == (f"{summary['max_ms']:.3f}", total)
    assert int(buckets[1]) > 0 and int(buckets[2]) == 2048


def test_hgrm_is_hdrhistograms_percentile_distribution(runs: dict[str, Path], tmp_path: Path) -> None:
    prefix = runs["failing"]
    done = run(prefix, "--format", "hgrm")
    assert done.returncode == 0, done.stderr
    hdr = json.loads(Path(f"{prefix}_hdr.json").read_text())
    sections: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("# "):
            current = sections[line[2:]] = []
        else:
            current.append(line)
    # sections are separated by a blank line
    sections = {name: lines[:-1] if lines[-1] == "" else lines for name, lines in sections.items()}
    entries = {f"{e['method']} {e['name']}": e for e in hdr["histograms"]["entries"]}
    summaries = {f"{s['method']} {s['name']}": s for s in hdr["summaries"]}
    assert set(sections) == {*entries, "Aggregated"} and len(entries) >= 3, sections.keys()
    for name, entry in entries.items():
        check_hgrm_section(sections[name], entry, summaries[name])
    # --out writes the same text; a run without exact histograms has nothing to write: exit 2, no file
    out = tmp_path / "run.hgrm"
    assert run(prefix, "--format", "hgrm", "--out", out).returncode == 0 and out.read_text() == done.stdout
    lone = tmp_path / "lone_stats.csv"
    shutil.copy(f"{prefix}_stats.csv", lone)
    done = run(lone, "--format", "hgrm", "--out", tmp_path / "none.hgrm")
    assert done.returncode == 2 and "no exact histograms" in done.stderr and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "none.hgrm").exists()
