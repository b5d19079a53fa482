"""Latencies on the wire: a packet capture of the loopback (tcpdump) as the reference that neither generator's clock
is part of. A request's wire time runs from its first data segment to the server (from the client's SYN, for a
connection's first request: the clients time the connect with it) to the last data segment of the answer before the
connection's next request (HTTP/1.1, no pipelining), both stamped by the kernel as the packets pass the loopback
device, in the sender's context; so it holds the server's time and the loopback's, and none of a client's wake-ups,
reads or scheduling.

    with WireCapture(port, out / "run.pcap", cpu="0") as capture:
        ...                                  # the run
    figures = capture.figures(since=reset)   # the requests sent from `reset` (a Unix time) on, or all of them

tcpdump (Debian: tcpdump) needs root or CAP_NET_RAW; `WireCapture.available()` says whether it can run here.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import struct
import subprocess
from pathlib import Path
from types import TracebackType

# the pcap formats' magic numbers, as written on a little-endian machine: microsecond and nanosecond stamps
_MICRO, _NANO = 0xA1B2C3D4, 0xA1B23C4D
_ETHERNET = 1


class CaptureError(RuntimeError):
    """tcpdump could not start."""


class WireCapture:
    """tcpdump on the loopback for the packets that carry data to or from `port`, written to `path`."""

    def __init__(self, port: int, path: Path, cpu: str) -> None:
        self.port, self.path, self.cpu = port, path, cpu
        self.dropped: int | None = None
        self._process: subprocess.Popen[str] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("tcpdump", path="/usr/sbin:/usr/bin:/sbin:/bin") is not None and os.geteuid() == 0

    def __enter__(self) -> WireCapture:
        tcpdump = shutil.which("tcpdump", path="/usr/sbin:/usr/bin:/sbin:/bin") or "tcpdump"
        # data-carrying segments (the IP length less both headers is not zero) and the connections' SYNs
        data = "((ip[2:2] - ((ip[0] & 0xf) << 2)) - ((tcp[12] & 0xf0) >> 2)) != 0"
        self._process = subprocess.Popen(
            ["taskset", "-c", self.cpu, tcpdump, "-i", "lo", "-n", "-s", "96", "-B", "65536",
             "--time-stamp-precision=nano", "-w", str(self.path),
             f"tcp port {self.port} and ({data} or tcp[tcpflags] & tcp-syn != 0)"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert self._process.stderr is not None
        # it captures once it says so on stderr; an empty line: it has exited
        said = []
        while "listening on" not in (line := self._process.stderr.readline()):
            said.append(line.strip())
            if not line:
                self._process.kill()
                raise CaptureError(f"tcpdump did not start (exit {self._process.wait()}): {' '.join(said)}")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        process = self._process
        if process is None:
            return
        process.send_signal(signal.SIGINT)  # it writes out what it holds, and its counts
        try:
            _, rest = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, rest = process.communicate()
        found = re.search(r"(\d+) packets? dropped by kernel", rest or "")
        self.dropped = int(found.group(1)) if found else None

    def figures(self, since: float | None = None) -> dict:
        """The wire's p50 and p99 in ms over the requests sent from `since` (a Unix time: the moment a client's
        statistics were reset) on, or over all of them; how many, and the packets the kernel dropped from the capture
        (a capture that dropped any, or holds no request in the window, is not a reference: its figures are None)."""
        kept = sorted(latency for sent, latency in request_latencies(self.path, self.port)
                      if since is None or sent >= since)
        if not kept or self.dropped != 0:
            return {"wire_requests": len(kept), "wire_dropped": self.dropped, "wire_p50_ms": None,
                    "wire_p99_ms": None}
        return {"wire_requests": len(kept), "wire_dropped": self.dropped,
                "wire_p50_ms": _nearest_rank(kept, 0.50) * 1e3, "wire_p99_ms": _nearest_rank(kept, 0.99) * 1e3}


def _nearest_rank(ordered: list[float], fraction: float) -> float:
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def request_latencies(path: Path, server_port: int) -> list[tuple[float, float]]:
    """(when the request's first segment passed, its wire time) in seconds, for every answered request of the
    capture, in the order they were sent."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic, = struct.unpack_from("<I", data)
    if magic not in (_MICRO, _NANO):
        raise ValueError(f"{path}: not a little-endian pcap file")
    scale = 1e-9 if magic == _NANO else 1e-6
    link, = struct.unpack_from("<I", data, 20)
    if link != _ETHERNET:
        raise ValueError(f"{path}: link type {link}, not Ethernet (the loopback's)")
    # per client port: the open request's first segment, and the last answer segment seen after it (None: none yet)
    open_: dict[int, tuple[float, float | None]] = {}
    done: list[tuple[float, float]] = []
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, captured, _ = struct.unpack_from("<IIII", data, offset)
        packet = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        stamp = seconds + fraction * scale
        if len(packet) < 14 + 20 or packet[12:14] != b"\x08\x00":
            continue
        ip = packet[14:]
        ip_header = (ip[0] & 0x0F) * 4
        if len(ip) < ip_header + 14:
            continue
        source, destination = struct.unpack_from(">HH", ip, ip_header)
        ip_length, = struct.unpack_from(">H", ip, 2)
        tcp_header, flags = (ip[ip_header + 12] >> 4) * 4, ip[ip_header + 13]
        if ip_length - ip_header - tcp_header == 0 and not (destination == server_port and flags & 0x02):
            continue  # a SYN-ACK, or nothing to count
        if destination == server_port:
            start, answered = open_.get(source, (stamp, None))
            if answered is not None:  # the answer to the last request is through: a new request begins
                done.append((start, answered - start))
                start = stamp
            open_[source] = (start, None)
        elif source == server_port and destination in open_:
            open_[destination] = (open_[destination][0], stamp)
    done.extend((start, answered - start) for start, answered in open_.values() if answered is not None)
    done.sort()
    return done
