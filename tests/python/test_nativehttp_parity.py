"""NativeHttpUser beside Locust's own FastHttpUser: every case of parity_cases.py runs with both clients against
one server (parity_server.py), and what a locustfile can observe must be the same — responses, requests,
``events.request`` calls (their exception's type, text and repr, which Locust's failures table groups by),
exceptions raised, cookies kept. The differences that are meant are listed in DELIBERATE, each with its reason and
an assertion of what each client does instead."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from parity_cases import CASES

HERE = Path(__file__).resolve().parent
COMPRESSED = "compressed " * 200

# cases that raise on purpose, with both clients (anything else raising is a broken case, not a parity)
RAISING = {
    "catch_other_exception_propagates", "catch_raise_for_status_after_failure", "catch_success_outside_the_block",
    "success_without_catch_response", "failure_without_catch_response_in_a_with",
    "connection_refused_raise_for_status", "session_iter_lines_of_an_error_status", "files_beside_text_data",
}


def _ok_of_a_transport_failure(fast: dict, native: dict) -> None:
    """``ok`` is False when no answer came: FastResponse computes ``status_code < 400``, which is True for its
    ErrorResponse's status 0, and a locustfile testing ``if response.ok`` would count a refused connection as fine."""
    assert fast["returned"]["status_code"] == native["returned"]["status_code"] == 0
    assert fast["returned"].pop("ok") is True and native["returned"].pop("ok") is False


def _stream_of_gzip(fast: dict, native: dict) -> None:
    """A streamed gzip answer is decoded chunk by chunk: FastResponse.iter_content hands out the compressed bytes."""
    assert native.pop("returned") == COMPRESSED
    assert fast.pop("returned").startswith("1f8b08")  # gzip's magic number, in the hex the case made of the bytes


def _undecodable(fast: dict, native: dict) -> None:
    """A body that fails to decode is the request's failure, reported with the decoder's error as FastHttpUser
    reports it; afterwards ``content`` and ``text`` are None with ``error`` set, where FastResponse raises the
    decoder's error again from ``content`` (and so from the locustfile's task)."""
    assert fast.pop("returned") is None and fast.pop("raised")["type"] == "error"
    returned, raised = native.pop("returned"), native.pop("raised")
    assert raised is None
    assert returned["content"] is None and returned["text"] is None and returned["ok"] is False
    assert returned["error"]["type"] == "error" and "decompressing" in returned["error"]["str"]
    assert returned["status_code"] == 200


DELIBERATE: dict[str, Callable[[dict, dict], None]] = {
    **dict.fromkeys(["connection_refused", "unknown_host", "timeout_without_retries", "timeout_of_a_post",
                     "closed_without_an_answer", "redirect_limit"], _ok_of_a_transport_failure),
    "stream_of_a_gzip_answer": _stream_of_gzip,
    "gzip_that_does_not_decode": _undecodable,
}


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("parity") / "observed.json"
    with subprocess.Popen([sys.executable, str(HERE / "parity_server.py")], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as server:
        assert server.stdin is not None and server.stdout is not None
        try:
            base = f"http://127.0.0.1:{int(server.stdout.readline().split()[-1])}"
            done = subprocess.run([sys.executable, str(HERE / "parity_driver.py"), base, str(out)],
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr[-3000:]
        finally:
            server.stdin.close()  # the server's signal to end
            assert server.wait(timeout=30) == 0
    results = json.loads(out.read_text())
    text = json.dumps(results["cases"])
    # the server's and the refusing port's numbers, and rest_()'s time stamp, are the run's, not the client's
    text = text.replace(results["base"], "BASE").replace(f":{results['closed_port']}", ":CLOSED")
    return json.loads(re.sub(r"_=\d{13}", "_=STAMP", text))


def _without_content_length(value: Any) -> Any:
    """The request's headers without Content-Length: the engine writes it when it sends the body, so
    ``request.headers`` lists what the caller and the session set; FastRequest lists it for text and form bodies
    only (geventhttpclient adds it there, and the socket layer for the rest)."""
    if isinstance(value, dict):
        return {key: _without_content_length(item) for key, item in value.items()
                if not (key == "content-length" and "accept-encoding" in value)}
    if isinstance(value, list):
        return [_without_content_length(item) for item in value]
    return value


def test_every_case_ran_with_both_clients(observed: dict[str, Any]) -> None:
    assert set(observed) == set(CASES) and len(CASES) >= 100
    assert set(DELIBERATE) | RAISING <= set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_a_locustfile_observes_the_same(observed: dict[str, Any], name: str) -> None:
    fast, native = observed[name]["fast"], observed[name]["native"]
    if name in DELIBERATE:
        DELIBERATE[name](fast, native)
    elif name not in RAISING:
        assert fast["raised"] is None, fast["raised"]
    else:
        assert fast["raised"] is not None
    for event in fast["events"] + native["events"]:
        assert event.pop("response_time_is_a_number")
    assert _without_content_length(native) == _without_content_length(fast)
