"""``proxy_host``/``proxy_port`` through a real proxy (Debian's tinyproxy): NativeHttpUser beside FastHttpUser, each
case of tls_proxy_driver.py run with both clients, what a locustfile observes compared, and the proxy shown to
have carried the requests — the upstream server sees tinyproxy's ``Via`` on plain http, and tinyproxy logs each
``CONNECT`` tunnel for https. The clients run one at a time, so that what the proxy and the server saw is each
one's."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from tls_proxy_servers import RecordingServer, Tinyproxy, make_certificates

HERE = Path(__file__).resolve().parent
CASES = ["proxy_http_get", "proxy_http_post", "proxy_http_session_keywords", "proxy_https_get",
         "proxy_refuses_connect", "proxy_credentials_http", "proxy_credentials_https", "proxy_credentials_wrong_http"]
USER, PASSWORD = "tester", "p4ss.w0rd"  # tinyproxy's BasicAuth takes no colon in a password


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("proxy")
    certs = make_certificates(folder)
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["server_cert"], certs["server_key"])
    with contextlib.ExitStack() as started:
        plain, tls, not_allowed = RecordingServer(), RecordingServer(context), RecordingServer(context)
        for server in (plain, tls, not_allowed):
            started.callback(server.stop)
        proxy = Tinyproxy(folder, connect_ports=[tls.server_address[1]]).start()
        started.callback(proxy.stop)
        guarded = Tinyproxy(folder, connect_ports=[tls.server_address[1]], basic_auth=(USER, PASSWORD),
                            name="guarded").start()
        started.callback(guarded.stop)
        config = {"http": plain.url, "https": tls.url, "https_not_allowed": not_allowed.url,
                  "proxy_port": proxy.port, "auth_proxy_port": guarded.port, "proxy_user": USER,
                  "proxy_password": PASSWORD}
        (folder / "config.json").write_text(json.dumps(config))
        observed: dict[str, Any] = {name: {} for name in CASES}
        proxy_saw: dict[str, Any] = {}
        for kind in ("native", "fast"):
            before_connects, before_plain, before_tls = len(proxy.connects()), len(plain.seen), len(tls.seen)
            before_guarded = len(guarded.connects())
            out = folder / f"{kind}.json"
            done = subprocess.run([sys.executable, str(HERE / "tls_proxy_driver.py"), str(folder / "config.json"),
                                   str(out), kind, ",".join(CASES)], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr[-3000:]
            for name, by_kind in json.loads(out.read_text()).items():
                observed[name].update(by_kind)
            proxy_saw[kind] = {"connects": proxy.connects()[before_connects:], "plain": plain.seen[before_plain:],
                               "tls": tls.seen[before_tls:], "guarded_connects": guarded.connects()[before_guarded:]}
        yield {"observed": observed, "proxy_saw": proxy_saw, "config": config, "not_allowed": not_allowed}


def _without_kind(observed: dict[str, Any], kind: str) -> Any:
    """The header that tells the server which client sent a request is the only thing meant to differ."""
    return json.loads(json.dumps(observed).replace(f'"x-client": "{kind}"', '"x-client": "KIND"'))


@pytest.mark.parametrize("name", [name for name in CASES if name not in ("proxy_refuses_connect",
                                                                         "proxy_credentials_wrong_http")])
def test_a_locustfile_observes_the_same_through_a_proxy(world: dict[str, Any], name: str) -> None:
    fast, native = world["observed"][name]["fast"], world["observed"][name]["native"]
    assert fast["raised"] is None and native["raised"] is None, (fast["raised"], native["raised"])
    for event in fast["events"] + native["events"]:
        assert event.pop("response_time_is_a_number")
    assert _without_kind(native, "native") == _without_kind(fast, "fast")
    returned = native["returned"] if isinstance(native["returned"], list) else [native["returned"]]
    assert all(response["status_code"] == 200 for response in returned)


@pytest.mark.parametrize("kind", ["native", "fast"])
def test_plain_http_went_through_the_proxy(world: dict[str, Any], kind: str) -> None:
    plain = [seen for seen in world["proxy_saw"][kind]["plain"] if not seen["path"].startswith("/seen/auth")]
    # 3 GETs, a POST and the session's GET; every one forwarded by tinyproxy (its Via) with the target's Host
    assert [(seen["method"], seen["path"]) for seen in plain] == [
        ("GET", "/seen/0?q=1"), ("GET", "/seen/1?q=1"), ("GET", "/seen/2?q=1"), ("POST", "/seen/post"),
        ("GET", "/seen/session")]
    host = world["config"]["http"].removeprefix("http://")
    for seen in plain:
        assert seen["client"] == kind
        assert seen["via"] is not None and "pushpop-test-proxy" in seen["via"], seen
        assert seen["host"] == host
    assert plain[3]["body"] == '{"a": 1}'


@pytest.mark.parametrize("kind", ["native", "fast"])
def test_https_went_through_a_connect_tunnel(world: dict[str, Any], kind: str) -> None:
    saw = world["proxy_saw"][kind]
    target = world["config"]["https"].removeprefix("https://")
    refused = world["config"]["https_not_allowed"].removeprefix("https://")
    # one tunnel for the user's three requests (kept alive), one attempt to the port the proxy does not allow
    assert saw["connects"] == [f"CONNECT {target} HTTP/1.1", f"CONNECT {refused} HTTP/1.1"]
    assert [seen["path"] for seen in saw["tls"]] == ["/seen/tls/0", "/seen/tls/1", "/seen/tls/2", "/seen/tls-auth/0",
                                                     "/seen/tls-auth/1"]
    # inside the tunnel the proxy sees nothing of the request: no Via added
    assert all(seen["via"] is None and seen["client"] == kind for seen in saw["tls"])
    assert world["not_allowed"].seen == []


def test_a_refused_connect_is_a_failure_naming_the_proxy(world: dict[str, Any]) -> None:
    """Deliberately different: FastHttpUser lets geventhttpclient's RuntimeError("Proxy CONNECT failed: …") out of
    the request (and so out of the locustfile's task, which Locust logs as an error, not a failed request). The
    native client reports a failed request, a ConnectionError naming the proxy and its status, in the failures
    table like any connection that could not be made."""
    fast, native = world["observed"]["proxy_refuses_connect"]["fast"], world["observed"][
        "proxy_refuses_connect"]["native"]
    assert fast["raised"]["type"] == "RuntimeError" and "Proxy CONNECT failed" in fast["raised"]["str"]
    assert fast["events"] == []
    assert native["raised"] is None
    returned = native["returned"]
    assert returned["status_code"] == 0 and returned["ok"] is False
    proxy = f"127.0.0.1:{world['config']['proxy_port']}"
    message = returned["error"]["str"]
    assert returned["error"]["type"] == "ConnectionError"
    assert message.startswith(f"proxy {proxy} refused CONNECT to ") and message.endswith(": 403 Access violation")
    [event] = native["events"]
    assert event["exception"]["str"] == message and event["response_status"] == 0


@pytest.mark.parametrize("kind", ["native", "fast"])
def test_credentials_reach_the_proxy_that_asks_for_them(world: dict[str, Any], kind: str) -> None:
    """``proxy_user``/``proxy_password``: tinyproxy's BasicAuth lets the right ones through, for plain http (the
    credentials in each request) and https (in the CONNECT; one tunnel for both requests)."""
    saw = world["proxy_saw"][kind]
    auth = [seen for seen in saw["plain"] if seen["path"].startswith("/seen/auth")]
    assert [seen["path"] for seen in auth] == ["/seen/auth/0", "/seen/auth/1"]
    assert all(seen["client"] == kind and "pushpop-test-proxy" in (seen["via"] or "") for seen in auth)
    target = world["config"]["https"].removeprefix("https://")
    assert saw["guarded_connects"] == [f"CONNECT {target} HTTP/1.1"]


def test_wrong_credentials_are_the_proxys_refusal_for_both_clients(world: dict[str, Any]) -> None:
    # tinyproxy 1.11 refuses with 401 (RFC 9110 would have 407); what matters is that both clients report it alike
    fast, native = (world["observed"]["proxy_credentials_wrong_http"][kind] for kind in ("fast", "native"))
    for event in fast["events"] + native["events"]:
        assert event.pop("response_time_is_a_number")
    assert _without_kind(native, "native") == _without_kind(fast, "fast")
    assert native["returned"]["status_code"] == 401 and native["returned"]["ok"] is False
    [event] = native["events"]
    assert "401" in event["exception"]["str"]
