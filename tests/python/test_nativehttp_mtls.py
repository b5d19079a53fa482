"""Mutual TLS and private CAs: ``client_cert``/``client_key``/``ca_bundle`` on NativeHttpUser beside FastHttpUser with
an ``ssl_context_factory`` that loads the same files, against an https server (Python's ssl) that requires a client
certificate signed by the test's CA (certificates made with the openssl CLI). Each case of tls_proxy_driver.py runs
with both clients; what a locustfile observes is compared where the two can agree."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from pushpop_load import _native
from tls_proxy_servers import RecordingServer, make_certificates

HERE = Path(__file__).resolve().parent
CASES = ["mtls_with_a_client_certificate", "mtls_without_a_client_certificate",
         "mtls_verified_against_the_private_ca", "mtls_verified_against_a_wrong_ca"]
CLIENT_SUBJECT = [["commonName", "pushpop-client"], ["organizationName", "pushpop"]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("mtls")
    certs = make_certificates(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["server_cert"], certs["server_key"])
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(certs["ca"])
    server = RecordingServer(context)
    (folder / "garbage.pem").write_text("not a certificate\n")
    config = {**certs, "mtls": server.url, "missing": str(folder / "missing.pem"),
              "garbage": str(folder / "garbage.pem")}
    (folder / "config.json").write_text(json.dumps(config))
    out = folder / "observed.json"
    try:
        names = [*CASES, "mtls_unusable_files", "mtls_ca_bundle_verifies_even_when_insecure"]
        done = subprocess.run([sys.executable, str(HERE / "tls_proxy_driver.py"), str(folder / "config.json"),
                               str(out), "native,fast", ",".join(names)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        text = out.read_text().replace(server.url, "SERVER")
        yield {"observed": json.loads(text), "config": config, "seen": server.seen}
    finally:
        server.stop()


def _compared(observed: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fast, native = observed["fast"], observed["native"]
    for event in fast["events"] + native["events"]:
        assert event.pop("response_time_is_a_number")
    return fast, native


@pytest.mark.parametrize("name", ["mtls_with_a_client_certificate", "mtls_verified_against_the_private_ca"])
def test_the_server_sees_the_client_certificate(world: dict[str, Any], name: str) -> None:
    fast, native = _compared(world["observed"][name])
    assert native == fast
    returned = native["returned"] if isinstance(native["returned"], list) else [native["returned"]]
    for response in returned:
        assert response["status_code"] == 200
        assert response["json"]["peer_subject"] == CLIENT_SUBJECT


def test_the_server_recorded_each_clients_certificate(world: dict[str, Any]) -> None:
    # with a certificate: 2 + 1 requests per client, each with the client's subject; none arrived without one
    answered = [seen for seen in world["seen"] if seen["path"].startswith("/whoami")]
    # (and one from the native-only case below)
    assert len(answered) == 7 and all(seen["peer_subject"] == CLIENT_SUBJECT for seen in answered)


def test_without_a_client_certificate_the_request_fails(world: dict[str, Any]) -> None:
    """Both report a failed request with status 0, neither raises. The exception differs by TLS library, and by
    what reaches the client first: TLS 1.3 sends the server's alert after the handshake, at the client's first
    read, and the server then closes with the request unread, which may reset the connection before the alert is
    read. FastHttpUser reports one of OpenSSL's SSLError kinds; the native client an HTTPParseError naming the
    alert, or the reset."""
    fast, native = _compared(world["observed"]["mtls_without_a_client_certificate"])
    for observed in (fast, native):
        assert observed["raised"] is None
        assert observed["returned"]["status_code"] == 0 and observed["returned"]["content"] is None
        [event] = observed["events"]
        assert event["response_status"] == 0 and event["exception"] == observed["returned"]["error"]
    assert fast["returned"]["error"]["type"].startswith("SSL"), fast["returned"]["error"]
    error = native["returned"]["error"]
    assert (error["type"] == "HTTPParseError" and "CertificateRequired" in error["str"]) or (
        error["type"] == "ConnectionResetError"), error
    assert {key: value for key, value in native["events"][0].items() if key != "exception"} == {
        key: value for key, value in fast["events"][0].items() if key != "exception"}


def test_a_wrong_ca_fails_verification(world: dict[str, Any]) -> None:
    """Both fail the handshake (status 0, a failed request); the native error is a ConnectionError naming the
    reason, FastHttpUser's OpenSSL's SSLCertVerificationError."""
    fast, native = _compared(world["observed"]["mtls_verified_against_a_wrong_ca"])
    assert fast["returned"]["status_code"] == native["returned"]["status_code"] == 0
    assert fast["returned"]["error"]["type"] == "SSLCertVerificationError"
    assert "certificate verify failed" in fast["returned"]["error"]["str"]
    assert native["returned"]["error"]["type"] == "ConnectionError"
    assert "UnknownIssuer" in native["returned"]["error"]["str"], native["returned"]["error"]
    assert len(fast["events"]) == len(native["events"]) == 1


def test_a_ca_bundle_means_verification_even_when_insecure(world: dict[str, Any]) -> None:
    returned = world["observed"]["mtls_ca_bundle_verifies_even_when_insecure"]["native"]["returned"]
    assert returned["right"]["status_code"] == 200
    assert returned["right"]["json"]["peer_subject"] == CLIENT_SUBJECT
    assert returned["wrong"]["status_code"] == 0 and "UnknownIssuer" in returned["wrong"]["error"]["str"]


def test_unusable_files_are_named_when_the_user_is_made(world: dict[str, Any]) -> None:
    raised = world["observed"]["mtls_unusable_files"]["native"]["returned"]
    config = world["config"]
    assert raised["missing_cert"]["type"] == "LocustError"
    assert raised["missing_cert"]["str"].startswith(f"unusable TLS file: client certificate {config['missing']}: ")
    assert raised["key_is_no_key"]["str"] == (
        f"unusable TLS file: client key {config['client_cert']}: no PEM private key in it")
    assert raised["ca_is_no_pem"]["str"] == (
        f"unusable TLS file: CA bundle {config['garbage']}: no PEM certificate in it")


def test_ssl_context_factory_names_the_attributes_to_use_instead() -> None:
    done = subprocess.run([sys.executable, "-c", (
        "from locust.env import Environment\n"
        "from pushpop_load.nativehttp import NativeHttpSession\n"
        "try:\n"
        "    NativeHttpSession('https://127.0.0.1:1', Environment().events.request, ssl_context_factory=object)\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, error)\n"
    )], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("LocustError NativeHttpUser cannot use ssl_context_factory"), done.stderr
    for attribute in ("client_cert", "client_key", "ca_bundle"):
        assert attribute in done.stdout


def test_request_options_read_the_files_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unusable TLS file: CA bundle .*missing.pem"):
        _native.RequestOptions(ca_bundle=tmp_path / "missing.pem")
    with pytest.raises(ValueError, match="invalid proxy"):
        _native.RequestOptions(proxy="no-port")
