"""Real processes for tests and benchmarks: the reference target and a throwaway PostgreSQL cluster, each started
here and stopped by PID. No pytest in here, so that bench/ can use it too."""

from __future__ import annotations

import csv
import os
import random
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PUSHPOP = str(BIN / "pushpop-load")
LOCUST = str(BIN / "locust")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def queue_id(prefix: str = "test") -> str:
    return f"{prefix}-{''.join(random.choices(string.ascii_lowercase + string.digits, k=8))}"


class Target:
    """One `pushpop-load target` process."""

    def __init__(self, *args: str, prefix: tuple[str, ...] = (), port: int = 0) -> None:
        self.args = [*prefix, PUSHPOP, "target", "--port", str(port), "--log-level", "warn", *args]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.stderr_lines: list[str] = []

    def start(self, timeout: float = 30) -> "Target":
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        line = _readline_within(self.proc, timeout)
        if "listening on " not in line:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"target did not start: {line!r} {''.join(self.stderr_lines)!r}")
        self.url = line.split("listening on ", 1)[1].split()[0]
        return self

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()


def _readline_within(proc: subprocess.Popen[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""


def _pg_bindir() -> Path:
    candidates = [os.environ.get("PUSHPOP_PG_BINDIR", "")]
    try:
        candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
    except FileNotFoundError:
        pass
    candidates += sorted(str(p) for p in Path("/usr/lib/postgresql").glob("*/bin"))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL server binaries not found: run scripts/test.sh, which installs them, or set PUSHPOP_PG_BINDIR"
    )


class Postgres:
    """A throwaway cluster in a temporary directory, on its own port, with its unix socket beside its data. It runs
    as the `postgres` system user when we are root (the server refuses root)."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = {"fsync": "off", "max_connections": "200"} if settings is None else settings
        self.bindir = _pg_bindir()
        self.base = Path(tempfile.mkdtemp(prefix="pushpop-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.base / "server.log"
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            # setpriv execs in place (no child), so the PID we hold is the postmaster's own.
            self.as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        subprocess.run(
            [*self.as_postgres, str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [*self.as_postgres, str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-k", str(self.base), "-c", "listen_addresses=127.0.0.1",
             *(arg for key, value in self.settings.items() for arg in ("-c", f"{key}={value}"))],
            stdout=log, stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.sql("SELECT 1", check=False).returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGINT) -> None:
        """SIGINT is PostgreSQL's fast shutdown; SIGQUIT its immediate one (a crash, recovered from WAL)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)
        self.proc = None

    def sql(self, query: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["psql", "-X", "-q", "-t", "-A", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
             "-v", "ON_ERROR_STOP=1", "-c", query],
            capture_output=True, text=True, check=check, timeout=30,
        )

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def locust_headless(
    locustfile: Path, host: str, prefix: Path, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, str]]]:
    """A real headless Locust run writing CSVs under `prefix`; returns the process and its stats rows by name."""
    done = subprocess.run(
        [LOCUST, "-f", str(locustfile), "--headless", "--host", host, "--csv", str(prefix), "--only-summary", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )
    stats = Path(f"{prefix}_stats.csv")
    rows: dict[str, dict[str, str]] = {}
    if stats.exists():
        with open(stats, newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return done, rows
