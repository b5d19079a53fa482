"""The native client against servers that misbehave (tests/python/misbehaving_server.py), in a real Locust run and through
the scripting API: each case ends as one failure with a message a person understands, the user goes on with its
next request, nothing hangs, memory stays bounded, and the descriptors a run opened are closed when it ends."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from processes import LOCUST, free_port

HERE = Path(__file__).resolve().parent
UNRESOLVABLE = f"http://{'a' * 64}.invalid/ok"

# what Locust's failure table shows for each case (repr of the exception)
RESET = "ConnectionResetError('connection reset by the server')"
TIMEOUT = "TimeoutError('timed out after 1000 ms')"
TOO_LARGE = "InvalidResponseError(\"response larger than 64 MiB, the client's limit\")"
EXPECTED = {
    "reset-before-status": {RESET, "ConnectionResetError('connection closed without a response')"},
    "reset-in-headers": {RESET},
    "reset-mid-body": {RESET},
    "silent": {TIMEOUT},
    "slow-headers": {TIMEOUT},
    "slow-body": {TIMEOUT},
    "invalid": {"InvalidResponseError('invalid response: invalid HTTP version')"},
    "short-body": {"ConnectionResetError('connection closed before the response was complete')"},
    "broken-chunked": {"InvalidResponseError('invalid response: invalid chunked body')"},
    "huge-length": {TOO_LARGE},
    "huge-chunked": {TOO_LARGE},
    "refused": {"ConnectionRefusedError('connection refused')"},
}
# the same events as NativeHttpUser reports them: FastHttpUser's exception types and texts (pushpop_load.failures),
# URLs written as URL
FAST_RESET = "ConnectionResetError(104, 'Connection reset by peer')"
FAST_TIMEOUT = "RetriesExceeded(URL, 0, original=timed out)"
EXPECTED_IN_LOCUST = {
    "reset-before-status": {FAST_RESET, "HTTPConnectionClosed('connection closed.')"},
    "reset-in-headers": {FAST_RESET},
    "reset-mid-body": {FAST_RESET},
    "silent": {FAST_TIMEOUT},
    "slow-headers": {FAST_TIMEOUT},
    "slow-body": {FAST_TIMEOUT},
    "invalid": {"HTTPParseError('invalid HTTP version')"},
    "short-body": {"HTTPParseError('Incomplete response.')"},
    "broken-chunked": {"HTTPParseError('invalid chunked body')"},
    "huge-length": {TOO_LARGE},
    "huge-chunked": {TOO_LARGE},
    "refused": {"ConnectionRefusedError(111, 'Connection refused')"},
}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, str(HERE / "misbehaving_server.py")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline().split()[-1])
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stdin.close()
        process.stdout.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def unresolvable_message(outcomes: list[str]) -> None:
    [outcome] = outcomes
    assert outcome.startswith("ConnectionError('host name not resolved: "), outcome


def test_every_misbehaviour_is_one_clear_failure_in_a_locust_run(server: str, tmp_path: Path) -> None:
    out, stats = tmp_path / "misbehaving.json", tmp_path / "stats"
    started = time.monotonic()
    done = subprocess.run(
        [LOCUST, "-f", str(HERE / "locustfiles" / "misbehaving.py"), "--headless", "--host", server, "-u", "2",
         "-r", "2", "-t", "12s", "--json-file", str(stats), "--only-summary", "--exit-code-on-error", "0"],
        capture_output=True, text=True, timeout=90,
        env={**os.environ, "MISBEHAVING_OUT": str(out), "REFUSED_URL": f"http://127.0.0.1:{free_port()}/ok"},
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    # no greenlet hung: the run stopped on time, and both users went round several times
    assert took < 30, took
    result = json.loads(out.read_text())
    assert result["iterations"] >= 4, result
    outcomes = {name: [re.sub(r"'https?://[^']*'", "URL", outcome) for outcome in seen]
                for name, seen in result["outcomes"].items()}
    for case, expected in EXPECTED_IN_LOCUST.items():
        assert set(outcomes[case]) <= expected, (case, outcomes[case])
    assert outcomes["unresolvable"] == ["gaierror(-2, 'Name or service not known')"]
    # the closed keep-alive connections were replaced, not reported; requests after every failure succeed
    for name in ("stale-now", "after stale-now", "stale-later", "after stale-later", "ok"):
        assert outcomes[name] == ["ok"], (name, outcomes[name])
    # Locust's own statistics agree: one failure per request for every misbehaving case, none for the rest
    entries = {entry["name"]: entry for entry in json.loads(Path(f"{stats}.json").read_text())}
    for name, entry in entries.items():
        failing = name in EXPECTED_IN_LOCUST or name == "unresolvable"
        assert entry["num_requests"] >= 2, (name, entry["num_requests"])
        assert entry["num_failures"] == (entry["num_requests"] if failing else 0), (name, entry)
    # memory stayed bounded while two users were sent 100 MB answers, and the run's sockets are closed
    assert result["peak_rss_kib"] < 800 * 1024, result["peak_rss_kib"]
    assert result["stop"] == result["start"], result


def test_every_misbehaviour_is_one_clear_failure_from_the_scripting_api(server: str) -> None:
    from pushpop_load import Client

    def sockets() -> int:
        links = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass
        return sum(link.startswith("socket:") for link in links)

    client = Client(server, timeout=1.0, connect_timeout=1.0)
    assert client.request("GET", "/ok", record=False).status_code == 200
    client.close()
    before = sockets()
    refused = f"http://127.0.0.1:{free_port()}/ok"
    for _ in range(2):
        for case, expected in EXPECTED.items():
            started = time.monotonic()
            url, timeout = refused if case == "refused" else f"/{case}", 10 if case.startswith("huge") else 1
            response = client.request("GET", url, record=False, timeout=timeout)
            assert response.status_code == 0 and repr(response.failure_exception()) in expected, (case, response)
            assert time.monotonic() - started < timeout + 2, case
            # and the next request on the same client works
            assert client.request("GET", "/ok", record=False).status_code == 200, case
        unresolvable_message([repr(client.request("GET", UNRESOLVABLE, record=False).failure_exception())])
        with pytest.raises(ConnectionResetError, match="closed before the response was complete"):
            client.request("GET", "/short-body", record=False).raise_for_status()
    # a kept-alive connection stays open for the next request, until the client is closed (counted by the engine:
    # this process's other sockets, from other tests, may come and go meanwhile)
    from pushpop_load import _native

    client.request("GET", "/ok", record=False)
    assert _native.http_close_idle() == 1
    client.close()
    deadline = time.monotonic() + 3
    while sockets() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sockets() <= before
