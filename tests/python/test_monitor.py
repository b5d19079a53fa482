"""The resource monitor against real things: the reference target on PostgreSQL under a real Locust run, busy, idle
and allocating processes, a PostgreSQL cluster stopped and restarted mid-run, a pg_monitor-only role, the
`pushpop-load monitor` command's bad input, and the web UI's Resources tab (over HTTP and in headless Chromium)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from pushpop_load._native import MonitorError, ResourceMonitor
from processes import HERE, LOCUST, PUSHPOP, ROOT, Postgres, Target, end_process, free_port, locust_headless

LOCUSTFILE = HERE / "locustfiles" / "monitor_load.py"


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def number(cell: str) -> float | None:
    return float(cell) if cell != "" else None


@pytest.fixture()
def loaded_target(postgres: Postgres) -> Iterator[Target]:
    target = Target("--store", postgres.url).start()
    yield target
    assert target.stop() == 0, "".join(target.stderr_lines)


def spawn(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def comm(pid: int) -> str:
    """The process's own name, which labels its columns when it is not given one."""
    return Path(f"/proc/{pid}/comm").read_text().strip()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def test_locust_run_samples_target_and_postgres_on_locusts_timeline(
    loaded_target: Target, postgres: Postgres, tmp_path: Path
) -> None:
    assert loaded_target.proc is not None
    pid = loaded_target.proc.pid
    prefix = tmp_path / "run"
    done, stats = locust_headless(
        LOCUSTFILE, loaded_target.url, prefix, "-u", "4", "-r", "4", "-t", "6s",
        "--monitor-pid", f"target={pid}", "--monitor-postgres", postgres.url,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(stats["Aggregated"]["Request Count"]) > 100
    rows = read_rows(Path(f"{prefix}_resources.csv"))
    stamps = [int(row["Timestamp"]) for row in rows]
    # a row every interval (1 s), on whole seconds
    assert len(rows) >= 5, rows
    assert stamps == list(range(stamps[0], stamps[0] + len(stamps))), stamps
    assert all(abs(float(row["Time"]) - int(row["Timestamp"]) - 0.0) < 0.3 for row in rows)
    # the same clock as Locust's history: every history second inside the sampled span has its row
    history = {int(row["Timestamp"]) for row in read_rows(Path(f"{prefix}_stats_history.csv"))}
    inside = {stamp for stamp in history if stamps[0] <= stamp <= stamps[-1]}
    assert len(inside) >= 3 and inside <= set(stamps), (sorted(history), stamps)
    target_cpu = [number(row["target cpu_pct"]) for row in rows]
    assert max(c for c in target_cpu if c is not None) > 5, target_cpu
    assert all(number(row["target rss_bytes"]) for row in rows)
    commits = [number(row["postgres:postgres commits_per_s"]) or 0 for row in rows]
    assert max(commits) > 50, commits
    inserted = [number(row["postgres:postgres inserted_per_s"]) or 0 for row in rows]
    assert max(inserted) > 50, inserted
    assert all(number(row["postgres:postgres connections"]) >= 1 for row in rows)
    assert all(row["generator saturated"] in ("0", "1") for row in rows)
    summary = json.loads(Path(f"{prefix}_resources.json").read_text())
    assert summary["samples"] == len(rows)
    by_column = {metric["column"]: metric for metric in summary["metrics"]}
    assert by_column["target cpu_pct"]["peak"] == pytest.approx(max(c for c in target_cpu if c is not None), abs=1e-3)
    assert summary["generator"]["pid"] > 0 and summary["generator"]["peak_cpu_pct"] > 0
    assert "pushpop-load monitor:" in done.stderr


def waiting_child(code: str) -> subprocess.Popen[str]:
    """A Python process that says "ready", waits for a line on stdin, then runs ``code``: its CPU is still until the
    test says go (``go``), so the test knows it exactly up to then."""
    proc = subprocess.Popen([sys.executable, "-c", f"import sys\nprint('ready', flush=True)\nsys.stdin.readline()\n{code}"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_rows(monitor: ResourceMonitor, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(monitor.samples_since(0.0)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} samples in a minute"
        time.sleep(0.02)


def cpu_added_up(rows: list[dict[str, str]], column: str) -> float:
    """The CPU seconds a column's percentages add up to over the rows' times (each row's figure is the rate since the
    row before)."""
    return sum((number(row[column]) or 0.0) / 100 * (float(row["Time"]) - float(before["Time"]))
               for before, row in zip(rows, rows[1:]))


def test_busy_idle_and_allocating_processes(tmp_path: Path) -> None:
    # What the machine gives the busy process is the scheduler's business: the monitor's figures must add up to what
    # it got. Its CPU is known while it waits to start and after it is stopped (SIGSTOP), and the rows sampled in
    # between must account for all of it.
    busy = waiting_child("while True: pass")
    idle = spawn("import time; time.sleep(60)")
    grower = waiting_child("b = b'x' * (200 << 20); print('grown', flush=True); sys.stdin.readline()")
    monitor = ResourceMonitor()
    out = tmp_path / "r.csv"
    try:
        monitor.start(interval=0.25, pids=[("busy", busy.pid), ("idle", idle.pid), ("grower", grower.pid)], csv=out)
        wait_for_rows(monitor, 2)
        busy_before, rss_before = cpu_seconds(busy.pid), monitor.latest()["values"]["grower rss_bytes"]
        go(busy)
        go(grower)
        assert grower.stdout is not None and grower.stdout.readline() == "grown\n"
        wait_for_rows(monitor, len(monitor.samples_since(0.0)) + 8)
        os.kill(busy.pid, signal.SIGSTOP)
        busy_after = cpu_seconds(busy.pid)
        wait_for_rows(monitor, len(monitor.samples_since(0.0)) + 2)  # the last one wholly after the stop
        latest = monitor.latest()["values"]
    finally:
        summary = monitor.stop() if monitor.running else None
        for proc in (busy, idle, grower):
            stop(proc)
    assert summary is not None and summary["samples"] >= 12
    rows = read_rows(out)
    assert cpu_added_up(rows, "busy cpu_pct") == pytest.approx(busy_after - busy_before, abs=0.02), rows
    assert busy_after - busy_before > 0 and latest["busy cpu_pct"] == 0, latest
    assert all((number(row["idle cpu_pct"]) or 0) < 5 for row in rows), rows
    # the grower had written its 200 MiB before it said so, and the latest row was sampled after that
    assert abs(latest["grower rss_bytes"] - rss_before - (200 << 20)) < (20 << 20), (rss_before, latest)
    assert latest["idle threads"] == 1 and latest["idle fds"] >= 3


def test_a_pid_that_exits_leaves_empty_cells_and_one_message(tmp_path: Path) -> None:
    short = spawn("import time; time.sleep(1.2)")
    long = spawn("import time; time.sleep(30)")
    out = tmp_path / "r.csv"
    # unnamed, each is labelled by its own name, which the two share: so each says its PID too
    assert comm(short.pid) == comm(long.pid)
    short_label, long_label = f"{comm(short.pid)}-{short.pid}", f"{comm(long.pid)}-{long.pid}"
    try:
        done = subprocess.run(
            [PUSHPOP, "monitor", "--pid", str(short.pid), "--pid", str(long.pid), "--interval", "200ms",
             "--duration", "3", "--out", str(out)],
            capture_output=True, text=True, timeout=30,
        )
    finally:
        stop(short)
        stop(long)
    assert done.returncode == 0, done.stderr
    exited = [line for line in done.stderr.splitlines() if "exited" in line]
    assert len(exited) == 1 and short_label in exited[0], done.stderr
    rows = read_rows(out)
    cells = [row[f"{short_label} rss_bytes"] for row in rows]
    first_gap = cells.index("")
    assert first_gap >= 3 and all(cells[:first_gap]) and not any(cells[first_gap:]), cells
    assert all(row[f"{long_label} rss_bytes"] for row in rows)
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["samples"] == len(rows) and len(summary["notes"]) == 1


def test_postgres_restart_leaves_a_gap_then_resumes(tmp_path: Path) -> None:
    cluster = Postgres()  # our own: the shared fixture's cluster must keep running
    monitor = ResourceMonitor()
    try:
        cluster.start()
        monitor.start(interval=0.2, postgres=[cluster.url], csv=str(tmp_path / "r.csv"))
        time.sleep(1.0)
        cluster.stop()
        time.sleep(1.5)
        cluster.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            latest = monitor.latest()
            if latest and latest["values"]["postgres:postgres max_connections"] is not None:
                break
            time.sleep(0.1)
        time.sleep(0.6)
        notes = [text for _, text in monitor.take_notes()]
        summary = monitor.stop()
    finally:
        if monitor.running:
            monitor.stop()
        cluster.cleanup()
    assert len(notes) == 2, notes
    assert "stay empty" in notes[0] and "again" in notes[1], notes
    assert "password" not in " ".join(notes)
    cells = [row["postgres:postgres max_connections"] for row in read_rows(tmp_path / "r.csv")]
    # values, then a gap (empty, not zeros), then values again
    first_gap = cells.index("")
    back = next(i for i in range(first_gap, len(cells)) if cells[i])
    assert first_gap >= 3 and back - first_gap >= 5 and all(cells[back:]) and set(cells[:first_gap]) == {"200"}, cells
    assert summary["metrics"][0]["gaps"] >= 5


def test_a_pg_monitor_role_sees_the_connections_the_test_opens(postgres: Postgres) -> None:
    postgres.sql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mon') THEN "
                 "CREATE ROLE mon LOGIN; END IF; END $$; GRANT pg_monitor TO mon")
    sleepers = [
        subprocess.Popen(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres", "-d",
                          "postgres", "-c", "SELECT pg_sleep(6)"], stdout=subprocess.DEVNULL)
        for _ in range(3)
    ]
    monitor = ResourceMonitor()
    try:
        time.sleep(1.5)
        monitor.start(interval=0.25, postgres=[f"postgres://mon@127.0.0.1:{postgres.port}/postgres"])
        time.sleep(0.6)
        values = monitor.latest()["values"]
    finally:
        if monitor.running:
            monitor.stop()
        for proc in sleepers:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
    assert values["postgres:postgres connections"] >= 3, values
    assert values["postgres:postgres active"] >= 3, values
    # query_start of other roles' sessions is readable only with pg_read_all_stats (part of pg_monitor)
    assert values["postgres:postgres longest_query_s"] >= 1.0, values
    assert values["postgres:postgres size_bytes"] > 1_000_000, values


@pytest.mark.parametrize("args, shown, hidden", [
    (["--pid", "4194999"], "no process with PID 4194999", None),
    (["--postgres", "postgres://mon:hunter2@127.0.0.1:{closed}/postgres"], "mon:***@127.0.0.1", "hunter2"),
    (["--postgres", "mysql://mon:hunter2@127.0.0.1/x"], "mon:***@127.0.0.1", "hunter2"),
    (["--pid", "1", "--interval", "fast"], "--interval", None),
    (["--cgroup", "no/such/cgroup"], "no/such/cgroup", None),
    (["--pid", "my target=1"], "--pid: 'my target' is not a process name (1 to 32 letters", None),
    (["--pid", "target=x"], "--pid: 'target=x' is not NAME=PID", None),
    (["--pid", "db=1", "--pid", "db=2"], "two processes are named 'db'", None),
])
def test_cli_bad_input_is_exit_2_one_line_and_no_file(
    tmp_path: Path, args: list[str], shown: str, hidden: str | None
) -> None:
    args = [arg.replace("{closed}", str(free_port())) for arg in args]
    out = tmp_path / "r.csv"
    done = subprocess.run([PUSHPOP, "monitor", *args, "--duration", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pushpop-load: error:") and shown in lines[0], done.stderr
    assert hidden is None or hidden not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_unwritable_out_is_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir" / "r.csv"
    done = subprocess.run([PUSHPOP, "monitor", "--pid", str(os.getpid()), "--duration", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "cannot write" in done.stderr and not out.parent.exists()


def test_python_api_bad_input() -> None:
    with pytest.raises(ValueError, match="not a process id"):
        ResourceMonitor().start(pids=[-1])
    with pytest.raises(ValueError, match="interval"):
        ResourceMonitor().start(interval="soon", pids=[os.getpid()])
    with pytest.raises(MonitorError, match=r"mon:\*\*\*@") as raised:
        ResourceMonitor().start(postgres=[f"postgres://mon:hunter2@127.0.0.1:{free_port()}/postgres"])
    assert "hunter2" not in str(raised.value)
    with pytest.raises(ValueError, match="not running"):
        ResourceMonitor().stop()
    with pytest.raises(ValueError, match="'a b' is not a process name"):
        ResourceMonitor().start(pids=[("a b", os.getpid())])
    with pytest.raises(ValueError, match="two processes are named 'a'"):
        ResourceMonitor().start(pids=[("a", os.getpid()), ("a", os.getppid())])


@pytest.mark.parametrize("value, says", [
    ("my target=1", "'my target' is not a process name"),
    ("generator=1", "'generator' names the load generator's own columns"),
    ("target=", "'target=' is not NAME=PID"),
])
def test_locust_refuses_a_bad_process_name_in_one_line(tmp_path: Path, value: str, says: str) -> None:
    done, _ = locust_headless(LOCUSTFILE, "http://127.0.0.1:9", tmp_path / "run", "-u", "1", "-t", "5s",
                              "--monitor-pid", value)
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and says in errors[0] and "--monitor-pid" in errors[0], done.stderr
    assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []


def test_locust_refuses_a_bad_monitor_option_at_start(tmp_path: Path) -> None:
    done, _ = locust_headless(LOCUSTFILE, "http://127.0.0.1:9", tmp_path / "run", "-u", "1", "-t", "5s",
                              "--monitor-postgres", f"postgres://mon:hunter2@127.0.0.1:{free_port()}/postgres")
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if "pushpop-load monitor: error:" in line]
    assert len(errors) == 1 and "hunter2" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_options_are_listed_by_pp_help() -> None:
    done = subprocess.run([LOCUST, "-f", str(ROOT / "locustfiles" / "locustfile.py"), "--pp-help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for flag in ("--monitor-pid", "--monitor-process", "--monitor-cmdline", "--monitor-cgroup",
                 "--monitor-container", "--monitor-postgres", "--monitor-interval"):
        assert flag in done.stdout, done.stdout


@pytest.fixture()
def web_locust(loaded_target: Target, tmp_path: Path) -> Iterator[tuple[str, int]]:
    assert loaded_target.proc is not None
    port = free_port()
    log = open(tmp_path / "locust.log", "w")
    proc = subprocess.Popen(
        [LOCUST, "-f", str(LOCUSTFILE), "--host", loaded_target.url, "--web-host", "127.0.0.1", "--web-port",
         str(port), "--autostart", "-u", "2", "-r", "2", "-t", "90s", "--autoquit", "1",
         "--monitor-pid", str(loaded_target.proc.pid), "--monitor-interval", "500ms"],
        stdout=subprocess.DEVNULL, stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield base, loaded_target.proc.pid
    finally:
        end_process(proc, timeout=20)
        log.close()


def panel(base: str) -> dict[str, str]:
    stats = requests.get(base + "/stats/requests", timeout=5).json()
    entries = [entry for entry in stats.get("extended_stats", []) if entry["key"] == "pushpop-resources"]
    assert len(entries) == 1, stats.get("extended_stats")
    return {f"{row['source']} {row['metric']}": row["value"] for row in entries[0]["data"]}


def test_web_ui_has_a_resources_tab_with_the_latest_sample(web_locust: tuple[str, int]) -> None:
    base, pid = web_locust
    # given by PID alone, the target is labelled by its own name (pushpop-load)
    label = comm(pid)
    assert label == "pushpop-load"
    page = requests.get(base + "/", timeout=5).text
    assert '"pushpop-resources"' in page and '"Resources"' in page
    seen: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(set(seen)) < 2:
        rows = panel(base)
        if rows.get(f"{label} rss_bytes"):
            seen.append(rows["monitor sampled at"])
        time.sleep(0.5)
    # the figures are there and change (a new sample at least every 2 s, the UI's cache time)
    assert len(set(seen)) >= 2, seen
    assert rows[f"{label} cpu_pct"] != "" and rows["generator cpu_pct"] != ""


def test_web_ui_tab_renders_live_figures_in_chromium(chromium: str, web_locust: tuple[str, int],
                                                     tmp_path: Path) -> None:
    base, pid = web_locust
    times: list[str] = []
    deadline = time.monotonic() + 60
    # the tab shows the latest sample: rendered again until a newer one is shown
    while len(set(times)) < 2:
        assert time.monotonic() < deadline, times
        done = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=6000", "--dump-dom", f"{base}/?tab=pushpop-resources"],
            capture_output=True, text=True, timeout=60,
        )
        dom = done.stdout
        # the table's cells (the charts under it name the same sources and metrics)
        assert "Resources" in dom and f">{comm(pid)}</td>" in dom and ">cpu_pct</td>" in dom, (done.stderr[-2000:],
                                                                                                dom[-3000:])
        sampled = dom.split("sampled at", 1)[1][:400] if "sampled at" in dom else ""
        assert sampled, dom[-3000:]
        times.append(sampled)


def cgroup2_mount() -> Path:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] == "cgroup2":
            return Path(fields[1])
    return Path("/sys/fs/cgroup")


@pytest.mark.skipif(os.geteuid() != 0, reason="making a cgroup needs root")
def test_a_cgroup_holding_a_busy_process(tmp_path: Path) -> None:
    mount = cgroup2_mount()
    made = mount / f"pushpop-test-{os.getpid()}"
    busy = waiting_child("while True: pass")
    monitor = ResourceMonitor()
    out = tmp_path / "r.csv"

    def usage() -> float:
        stat = dict(line.split() for line in (made / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"]) / 1e6

    try:
        made.mkdir()
        (made / "cgroup.procs").write_text(str(busy.pid))
        monitor.start(interval=0.25, cgroups=[made.name], csv=out)  # relative to the cgroup2 mount
        wait_for_rows(monitor, 2)
        before = usage()
        go(busy)
        wait_for_rows(monitor, len(monitor.samples_since(0.0)) + 6)
        os.kill(busy.pid, signal.SIGSTOP)
        after = usage()
        wait_for_rows(monitor, len(monitor.samples_since(0.0)) + 2)
        values = monitor.latest()["values"]
        notes = [text for _, text in monitor.take_notes()]
    finally:
        if monitor.running:
            monitor.stop()
        stop(busy)
        if made.exists():
            for _ in range(50):  # the killed process leaves the cgroup within moments
                try:
                    made.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
    # the group's CPU percentages add up to what it used between the rows (see the processes' test)
    rows = read_rows(out)
    assert cpu_added_up(rows, f"cgroup:{made.name} cpu_pct") == pytest.approx(after - before, abs=0.02), rows
    assert after - before > 0 and values[f"cgroup:{made.name} cpu_pct"] == 0, values
    if not (made.parent / "cgroup.subtree_control").read_text().split().count("memory"):
        # a hybrid host (memory on cgroup v1): said once, cells empty
        assert values[f"cgroup:{made.name} memory_bytes"] is None and len(notes) == 1, notes
    else:
        assert values[f"cgroup:{made.name} memory_bytes"] > 0, values
