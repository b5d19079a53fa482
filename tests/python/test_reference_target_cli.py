"""`pushpop-load target` as a process: flags, start-up errors, and stopping on SIGINT/SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import pytest
import requests

from processes import PUSHPOP, Target, queue_id


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PUSHPOP, *args], capture_output=True, text=True, timeout=30)


def test_version_and_help() -> None:
    import pushpop_load

    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"pushpop-load {pushpop_load.__version__}"
    done = run("target", "--help")
    assert done.returncode == 0
    for flag in ["--host", "--port", "--store", "--max-body", "--max-connections", "--threads", "--log-level"]:
        assert flag in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["target", "--port", "70000"], ["--port", "70000"]),
        (["target", "--store", "mysql://u:hunter2@h/db"], ["--store", "memory"]),
        # a database that is not there: the address is named, the password never
        (["target", "--store", "postgres://u:hunter2@127.0.0.1:1/db"], ["u:***@127.0.0.1:1"]),
        (["target", "--max-connections", "0"], ["--max-connections"]),
        (["target", "--max-body", "lots"], ["--max-body"]),
        (["target", "--threads", "0"], ["--threads"]),
        (["target", "--log-level", "loud"], ["--log-level"]),
        (["target", "--no-such-flag"], ["--no-such-flag"]),
        (["no-such-command"], ["no-such-command"]),
        ([], ["Usage"]),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: list[str], words: list[str]) -> None:
    done = run(*args)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr
    assert "hunter2" not in done.stderr


def test_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run("target", "--port", str(port))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0] and str(port) in lines[0], done.stderr


def test_host_that_does_not_resolve_is_exit_2() -> None:
    done = run("target", "--port", "0", "--host", "no-such-host.invalid")
    assert done.returncode == 2
    assert "no-such-host.invalid" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stop_signal_finishes_the_request_in_flight_then_exits_0(sig: int) -> None:
    target = Target().start()
    host, port = target.url.removeprefix("http://").split(":")
    queue = queue_id("graceful")
    body = b'{"item": {"slow": true}, "priority": 1}'
    head = (
        f"POST /queue/{queue}/push HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head + body[:10])  # the request is in flight: its body has not all arrived
        time.sleep(0.3)
        target.proc.send_signal(sig)  # type: ignore[union-attr]
        time.sleep(0.3)
        # a new connection is refused while the one in flight is finished
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{target.url}/health", timeout=2)
        conn.sendall(body[10:])
        reply = conn.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 200"), reply
    assert f"Item pushed to queue {queue} at priority 1" in reply
    assert target.stop(timeout=15) == 0
    assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in target.stderr_lines)


def test_max_body_flag(http: requests.Session) -> None:
    target = Target("--max-body", "1KiB", "--threads", "1").start()
    try:
        queue = queue_id()
        assert http.post(f"{target.url}/queue/{queue}/push", json={"item": {"d": "x" * 900}}).status_code == 200
        reply = http.post(f"{target.url}/queue/{queue}/push", json={"item": {"d": "x" * 1100}})
        assert reply.status_code == 413 and "1024" in reply.json()["detail"]
    finally:
        assert target.stop() == 0


def _get(sock: socket.socket, path: str = "/health", extra: bytes = b"") -> None:
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path.encode(), extra))


def _answer(sock: socket.socket, timeout: float) -> bytes | None:
    """The first bytes of an answer (b"" when the target closed the connection), or None when nothing came within
    `timeout`."""
    sock.settimeout(timeout)
    try:
        return sock.recv(65536)
    except (TimeoutError, socket.timeout):
        return None
    except ConnectionResetError:
        return b""


def test_max_connections_queues_the_next_connection_until_one_closes() -> None:
    target = Target("--max-connections", "2", "--threads", "1").start()
    host, port = target.url.removeprefix("http://").rsplit(":", 1)
    sockets = [socket.create_connection((host, int(port))) for _ in range(3)]
    try:
        for sock in sockets[:2]:
            _get(sock)
            assert (_answer(sock, 5) or b"").startswith(b"HTTP/1.1 200"), "the first two are served"
        _get(sockets[2])
        # the third waits in the listen backlog: connected (by the kernel), never read by the target
        assert _answer(sockets[2], 0.5) is None
        sockets[0].close()
        assert (_answer(sockets[2], 5) or b"").startswith(b"HTTP/1.1 200"), "served once a connection closed"
        # the others are kept alive meanwhile
        _get(sockets[1])
        assert (_answer(sockets[1], 5) or b"").startswith(b"HTTP/1.1 200")
    finally:
        for sock in sockets:
            sock.close()
        assert target.stop() == 0


def test_oversized_request_heads_are_refused() -> None:
    target = Target("--threads", "1").start()
    host, port = target.url.removeprefix("http://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port))) as sock:
            # 1 MiB of headers: more than the server reads for a head (hyper's ~400 KiB)
            try:
                _get(sock, extra=b"X-Big: " + b"a" * (1 << 20) + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before it was all sent
            answer = _answer(sock, 5)
            # an answer 431, or the connection closed: never a wait
            assert answer is not None and (answer == b"" or answer.startswith(b"HTTP/1.1 431")), answer
        # and the target goes on serving
        with socket.create_connection((host, int(port))) as sock:
            _get(sock)
            assert (_answer(sock, 5) or b"").startswith(b"HTTP/1.1 200")
    finally:
        assert target.stop() == 0
