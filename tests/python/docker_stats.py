"""A container's stats as `docker stats` computes them, read on the host from the Engine API's stats stream (what
the docker CLI reads): every frame the daemon writes, with its read time, CPU and memory figures, for the
container tests to compare the resource monitor with."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SOCKET = "/var/run/docker.sock"


def unix_time(text: str) -> float:
    """The daemon's RFC 3339 `read` time (nanoseconds cut to microseconds) as unix seconds."""
    head, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}+00:00").timestamp() + float(f"0.{fraction or '0'}")


@dataclass(frozen=True)
class Frame:
    read: float
    cpu_total: int
    system: int
    online_cpus: int
    precpu_total: int
    presystem: int
    memory: int

    @classmethod
    def of(cls, stats: dict[str, Any]) -> Frame | None:
        """None for a stopped container's empty frame."""
        if stats.get("read", "").startswith("0001-"):
            return None
        cpu, pre, memory = stats["cpu_stats"], stats["precpu_stats"], stats["memory_stats"]
        # docker stats (cli/command/container/stats_helpers.go): usage less the inactive page cache
        inactive = memory.get("stats", {}).get("total_inactive_file", memory.get("stats", {}).get("inactive_file", 0))
        usage = memory["usage"]
        return cls(read=unix_time(stats["read"]), cpu_total=cpu["cpu_usage"]["total_usage"],
                   system=cpu.get("system_cpu_usage", 0), online_cpus=cpu.get("online_cpus", 0),
                   precpu_total=pre["cpu_usage"]["total_usage"], presystem=pre.get("system_cpu_usage", 0),
                   memory=usage - inactive if inactive < usage else usage)


def cpu_pct(after: Frame, before: Frame) -> float | None:
    """docker stats' CPU %: the container's CPU time over the host's, times the CPUs (100 is one core)."""
    system = after.system - before.system
    if system <= 0 or after.cpu_total < before.cpu_total:
        return None
    return (after.cpu_total - before.cpu_total) / system * after.online_cpus * 100.0


class StatsStream:
    """Follows one container's stream on a thread until `close` (or a bounded number of frames)."""

    def __init__(self, container: str, limit: int = 3600) -> None:
        self.frames: list[Frame] = []
        self.error: str | None = None
        self._socket = socket.socket(socket.AF_UNIX)
        self._socket.settimeout(30)
        self._socket.connect(SOCKET)
        self._socket.sendall(f"GET /containers/{container}/stats?stream=true HTTP/1.1\r\nHost: docker\r\n"
                             "Connection: close\r\n\r\n".encode())
        self._limit = limit
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        raw = b""
        try:
            while b"\r\n\r\n" not in raw:
                raw += self._socket.recv(65536)
            head, raw = raw.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower(), head
            body = b""
            while len(self.frames) < self._limit:
                # chunked framing undone as it comes, then one JSON object per line
                while b"\r\n" in raw:
                    size_line, rest = raw.split(b"\r\n", 1)
                    size = int(size_line.split(b";")[0], 16)
                    if size == 0:
                        return
                    if len(rest) < size + 2:
                        break
                    body += rest[:size]
                    raw = rest[size + 2:]
                while b"\n" in body:
                    line, body = body.split(b"\n", 1)
                    frame = Frame.of(json.loads(line)) if line.strip() else None
                    if frame is not None:
                        self.frames.append(frame)
                more = self._socket.recv(65536)
                if not more:
                    return
                raw += more
        except OSError as error:
            # closing the socket ends the thread here
            self.error = str(error)

    def close(self) -> list[Frame]:
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._socket.close()
        self._thread.join(timeout=10)
        return list(self.frames)
