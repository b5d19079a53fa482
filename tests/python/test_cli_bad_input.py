"""Bad input to every command, as real processes: `pushpop-load target|prepopulate|monitor|analyze|check` and the
seed's `scripts/analyze_results.py` and `scripts/check_thresholds.py` get an unknown flag, a bad flag value, a
missing file, an input that cannot be read as one (a directory, a FIFO nothing writes to, binary garbage) and an
output path that cannot be written (under a regular file, or a directory). Each must exit 2 with one line on stderr
that names the problem — no traceback, no panic, no Rust Debug output — and leave no file behind, partial or
temporary.

`target` and `prepopulate` read no files, so they get the flag cases (and `prepopulate` the unwritable `--json`).
What other test files already assert about these commands (port in use, redacted URLs, unreachable hosts, malformed
CSVs under `analyze`) is not repeated here.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from processes import PUSHPOP, ROOT, free_port

PYTHON = sys.executable
SCRIPTS = {
    "analyze_results.py": [PYTHON, str(ROOT / "scripts" / "analyze_results.py")],
    "check_thresholds.py": [PYTHON, str(ROOT / "scripts" / "check_thresholds.py")],
}
STATS = b"Type,Name,Request Count,Failure Count,Requests/s,95%\nGET,/x,10,0,5.0,3\n,Aggregated,10,0,5.0,3\n"
# what a user must never see instead of a message
NOT_A_MESSAGE = ["Traceback", "panicked", "RUST_BACKTRACE", "Error {", "Os {", "kind: ", "Custom {", "Some("]


def command(name: str) -> list[str]:
    """The argv prefix of a command: a script, or a `pushpop-load` subcommand."""
    return SCRIPTS[name] if name in SCRIPTS else [PUSHPOP, name]


def listing(directory: Path) -> list[str]:
    """Every entry under `directory`, hidden ones included, so that a leftover temporary file shows."""
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    """A run's results (`run_stats.csv`), a regular file to put paths under, a directory, a FIFO, garbage."""
    (tmp_path / "run_stats.csv").write_bytes(STATS)
    (tmp_path / "afile").write_text("not a directory\n")
    (tmp_path / "adir").mkdir()
    os.mkfifo(tmp_path / "fifo.toml")
    os.mkfifo(tmp_path / "fifo.json")
    garbage = b"\x1f\x8b\x08\x00\x00" + random.Random(7).randbytes(4096)
    for name in ("garbage_stats.csv", "garbage.toml", "garbage.json"):
        (tmp_path / name).write_bytes(garbage)
    return tmp_path


def fails_cleanly(workdir: Path, argv: list[str], *words: str) -> str:
    """Runs `argv` in `workdir` and checks the one-line error, exit code 2 and that no file was added; returns the
    line."""
    before = listing(workdir)
    # stdin closed: nothing may wait for input; the timeout turns a hang (a FIFO opened blocking) into a failure
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    lines = done.stderr.splitlines()
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("pushpop-load: error: "), line
    for mark in NOT_A_MESSAGE:
        assert mark not in done.stderr, done.stderr
    for word in words:
        assert word in line, (word, line)
    assert done.stdout == "", done.stdout
    assert listing(workdir) == before, "files left behind"
    return line


# each command with the arguments it needs to get as far as the flag under test
BASE = {
    "target": [],
    "prepopulate": ["--host", "http://127.0.0.1:{port}", "--queue", "q", "--items", "10"],
    "monitor": ["--pid", str(os.getpid()), "--duration", "1", "--out", "r.csv"],
    "analyze": ["run"],
    "check": ["run", "--threshold", "p95<100ms"],
    "analyze_results.py": ["run"],
    "check_thresholds.py": ["run"],
}
COMMANDS = sorted(BASE)
ANALYZERS = ["analyze", "check", "analyze_results.py", "check_thresholds.py"]


def base(name: str) -> list[str]:
    return [arg.replace("{port}", str(free_port())) for arg in BASE[name]]


@pytest.mark.parametrize("name", COMMANDS)
def test_unknown_flag(workdir: Path, name: str) -> None:
    line = fails_cleanly(workdir, [*command(name), *base(name), "--no-such-flag"], "--no-such-flag", "unexpected")
    assert line.endswith("(see --help)"), line


@pytest.mark.parametrize("name", COMMANDS)
def test_a_misspelt_flag_gets_a_suggestion(workdir: Path, name: str) -> None:
    misspelt = {"target": "--prot", "prepopulate": "--itmes", "monitor": "--intreval"}.get(name, "--fromat")
    correct = {"target": "--port", "prepopulate": "--items", "monitor": "--interval"}.get(name, "--format")
    fails_cleanly(workdir, [*command(name), *base(name), misspelt, "1"], misspelt, f"similar argument exists: '{correct}'")


@pytest.mark.parametrize(
    ("name", "flag", "value", "words"),
    [
        ("target", "--port", "x", ["invalid value 'x' for '--port"]),
        ("target", "--max-body", "99999999999GiB", ["--max-body", "is too large"]),
        ("prepopulate", "--items", "lots", ["--items", "'lots' is not an item count"]),
        ("prepopulate", "--priority-weights", "0:18446744073709551615,1:1", ["must add up to at most"]),
        ("monitor", "--interval", "fast", ["--interval", "not a duration: 'fast'"]),
        ("monitor", "--duration", "0.0000001ms", ["--duration", "not a positive duration"]),
        ("analyze", "--format", "pdf", ["invalid value 'pdf' for '--format", "possible values: text, md"]),
        ("analyze", "--latency-tolerance", "lots", ["--latency-tolerance", "is not a ratio"]),
        ("check", "--alpha", "2", ["--alpha", "not a significance level between 0 and 0.5"]),
        ("check", "--threshold", "p95 below 1s", ["threshold \"p95 below 1s\": no comparison"]),
        ("analyze_results.py", "--format", "pdf", ["invalid value 'pdf'"]),
        ("check_thresholds.py", "--rps-tolerance", "-1%", ["--rps-tolerance", "\"-1%\" is not a ratio"]),
    ],
)
def test_bad_flag_value(workdir: Path, name: str, flag: str, value: str, words: list[str]) -> None:
    args = base(name)
    if flag in args:  # the flag under test replaces the base's value
        del args[args.index(flag):args.index(flag) + 2]
    # --flag=value: a value that starts with '-' is taken for a value, not a flag
    fails_cleanly(workdir, [*command(name), *args, f"{flag}={value}"], *words)


@pytest.mark.parametrize("name", COMMANDS)
def test_a_flag_without_its_value(workdir: Path, name: str) -> None:
    flag = {"target": "--port", "prepopulate": "--json", "monitor": "--json"}.get(name, "--out")
    fails_cleanly(workdir, [*command(name), *base(name), flag], f"a value is required for '{flag}")


@pytest.mark.parametrize("name", ANALYZERS)
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["missing"], ["no results at missing", "missing_stats.csv"]),
        (["run", "--thresholds", "missing.toml"], ["missing.toml: No such file or directory"]),
        (["run", "--baseline", "missing_stats.csv"], ["no results at missing"]),
    ],
)
def test_missing_file(workdir: Path, name: str, args: list[str], words: list[str]) -> None:
    if name in ("check", "check_thresholds.py") and args == ["missing"]:
        args = ["missing", "--threshold", "p95<1s"]
    fails_cleanly(workdir, [*command(name), *args], *words)


def test_missing_cgroup(workdir: Path) -> None:
    missing = workdir / "no-such-cgroup"
    fails_cleanly(workdir, [PUSHPOP, "monitor", "--cgroup", str(missing), "--duration", "1", "--out", "r.csv"],
                  "cannot read cgroup", str(missing))


@pytest.mark.parametrize("name", ANALYZERS)
@pytest.mark.parametrize(
    ("args", "words"),
    [
        # a directory where a file is expected
        (["adir"], ["adir: is a directory"]),
        (["run", "--thresholds", "adir"], ["adir: is a directory, not a file"]),
        (["run", "--baseline", "adir"], ["adir: is a directory"]),
        # a FIFO nothing writes to: refused before it is opened (opening would block)
        (["run", "--thresholds", "fifo.toml"], ["fifo.toml: not a regular file (a FIFO, socket or device)"]),
        (["run", "--baseline", "fifo.json"], ["no results at fifo.json"]),
        # binary garbage under each kind of input
        (["garbage_stats.csv"], ["garbage_stats.csv: line 1: binary data (NUL bytes), not CSV text"]),
        (["run", "--thresholds", "garbage.toml"], ["garbage.toml: not UTF-8 text"]),
        (["run", "--baseline", "garbage.json"], ["garbage.json: not JSON"]),
    ],
)
def test_unreadable_input(workdir: Path, name: str, args: list[str], words: list[str]) -> None:
    if name in ("check", "check_thresholds.py") and len(args) == 1:
        args = [*args, "--threshold", "p95<1s"]
    fails_cleanly(workdir, [*command(name), *args], *words)


def test_a_file_where_the_monitor_expects_a_cgroup_directory(workdir: Path) -> None:
    fails_cleanly(workdir, [PUSHPOP, "monitor", "--cgroup", str(workdir / "afile"), "--duration", "1", "--out", "r.csv"],
                  "cannot read cgroup", "afile")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("analyze", ["--out", "{bad}"]),
        ("analyze", ["--format", "html", "--out", "{bad}"]),
        ("analyze", ["--save-baseline", "{bad}"]),
        ("analyze", ["--out", "report.json", "--save-baseline", "{bad}"]),
        # the baseline is not saved when the report cannot be written (nor the other way round, above)
        ("analyze", ["--save-baseline", "baseline.json", "--out", "{bad}"]),
        ("check", ["--format", "junit", "--out", "{bad}"]),
        ("analyze_results.py", ["--format", "md", "--out", "{bad}"]),
        ("check_thresholds.py", ["--format", "junit", "--out", "{bad}"]),
        ("monitor", ["--out", "{bad}"]),
        ("monitor", ["--json", "{bad}"]),
        ("prepopulate", ["--json", "{bad}"]),
    ],
)
@pytest.mark.parametrize("bad", ["afile/out.x", "adir"])
def test_unwritable_output(workdir: Path, name: str, args: list[str], bad: str) -> None:
    if name == "monitor" and args[0] == "--out":
        argv = [*command(name), "--pid", str(os.getpid()), "--duration", "1", "--out", bad]
    else:
        argv = [*command(name), *base(name), *[arg.replace("{bad}", bad) for arg in args]]
    line = fails_cleanly(workdir, argv, bad)
    reason = "Not a directory" if bad.startswith("afile/") else "directory"
    assert reason in line, line
