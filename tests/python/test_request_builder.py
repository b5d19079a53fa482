"""``RequestBuilder``: a call's own headers over a session's, made once per distinct headers and sent as built."""

from __future__ import annotations

from pushpop_load import _native
from pushpop_load.transport import RequestBuilder

BASE = "http://127.0.0.1:1"


def test_a_calls_headers_are_merged_once_and_sent_checked() -> None:
    builder = RequestBuilder(BASE, {"Accept": "*/*"}, typed_bodies=True)
    first = builder.build("POST", "/push", None, '{"a": 1}', headers={"Content-Type": "application/json"})
    again = builder.build("POST", "/push", None, '{"b": 2}', headers={"Content-Type": "application/json"})
    assert first.header_list is again.header_list  # the same headers: one list, one check
    assert isinstance(first.native_headers(), _native.HeaderList)
    assert first.headers["content-type"] == "application/json" and first.headers["accept"] == "*/*"
    # the caller named the type: the body reads back as the text given, as FastRequest's does
    assert again.body == '{"b": 2}' and again.content == b'{"b": 2}'
    # without it, the typed body's own type and the bytes sent
    plain = builder.build("POST", "/push", None, "x", headers={"X-Id": "7"})
    assert plain.headers["x-id"] == "7" and plain.headers["content-type"].startswith("text/plain")
    assert plain.body == b"x"


def test_different_or_changed_headers_are_never_mixed_up() -> None:
    builder = RequestBuilder(BASE, typed_bodies=True)
    headers = {"X-Id": "1"}
    one = builder.build("GET", "/", None, headers=headers)
    headers["X-Id"] = "2"  # the same dict, changed between calls
    two = builder.build("GET", "/", None, headers=headers)
    assert (one.headers["x-id"], two.headers["x-id"]) == ("1", "2")
    # the same headers on a different body kind, and with auth, are lists of their own
    form = builder.build("POST", "/", None, {"f": "v"}, headers=headers)
    assert form.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert "content-type" not in two.headers
    authed = builder.build("GET", "/", None, headers=headers, auth=("user", "pass"))
    assert authed.headers["authorization"] == "Basic dXNlcjpwYXNz" and "authorization" not in two.headers
    other = builder.build("GET", "/", None, headers=headers, auth=("user", "other"))
    assert other.headers["authorization"] != authed.headers["authorization"]


def test_headers_that_never_repeat_and_values_that_are_not_text_still_build() -> None:
    builder = RequestBuilder(BASE)
    for n in range(200):  # past what is kept: merged per call
        assert builder.build("GET", "/", None, headers={"X-Request": str(n)}).headers["x-request"] == str(n)
    # a value the engine will refuse is left in the list, to fail the request that sends it
    odd = builder.build("GET", "/", None, headers={"X-N": 5})  # type: ignore[dict-item]
    assert ("X-N", 5) in odd.header_list and odd.native_headers() is odd.header_list
    unhashable = builder.build("GET", "/", None, headers={"X-L": ["a"]})  # type: ignore[dict-item]
    assert ("X-L", ["a"]) in unhashable.header_list
