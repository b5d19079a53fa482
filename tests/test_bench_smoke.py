"""The benchmarks run end to end in a short smoke mode; their figures are recorded in docs/BENCHMARKS.md, never
asserted here."""

from __future__ import annotations

from processes import run_bench


def test_target_benchmark_smoke() -> None:
    _, out, results = run_bench("target", STORES="memory", DURATION="1", PREFILL_CAP="20000")
    assert [r["operation"] for r in results] == ["push", "pop depth 1", "pop depth 10", "pop depth 100"]
    assert all(r["requests_per_s"] > 0 and r["errors"] == 0 for r in results)
    assert (out / "summary.md").read_text().count("| memory |") == 4


def test_client_benchmark_smoke() -> None:
    _, _, results = run_bench("client", PARTS="cost")
    cost = results["cost"]
    assert set(cost) == {"HttpPushUser", "FastHttpPushUser", "NativePushUser", "wrk"}
    assert all(result["requests_per_s"] > 0 and result["cpu_us_per_request"] > 0 for result in cost.values())


def test_prepopulate_benchmark_smoke() -> None:
    _, _, results = run_bench("prepopulate")
    assert results["wrk_rate"] > 0 and results["prepopulate_rate"] > 0
    assert [run["retried"] for run in results["prepopulate"]] == [0]


def test_analyze_benchmark_smoke() -> None:
    stdout, _, result = run_bench("analyze", PANDAS="0")
    assert "summaries agree" in stdout
    assert result["rows"] == 20_000 and result["ours_s"] > 0


def test_openmodel_benchmark_smoke() -> None:
    _, out, results = run_bench("openmodel")
    rate = results["rate"]
    assert rate["started"] + rate["dropped"] == rate["scheduled"] > 0 and rate["completed"] == rate["started"]
    assert rate["latencies"]["/queue/[id]/push"]["count"] == rate["latencies"]["/queue/[id]/push (raw)"]["count"]
    stall = results["stall"]
    assert stall["/queue/[id]/push"]["count"] > 0 and stall["closed push"]["count"] > 0
    assert "Stall" in (out / "summary.md").read_text()
