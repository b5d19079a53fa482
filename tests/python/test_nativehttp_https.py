"""https with a self-signed certificate: accepted when insecure (NativeHttpUser's default, as FastHttpUser's),
refused when verified."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from processes import locust_headless
from pushpop_load import Client


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.dumps({"path": self.path, "tls": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make a self-signed certificate (Debian: apt-get install openssl)"
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days",
         "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_client_insecure_accepts_a_self_signed_certificate(tls_server: str) -> None:
    response = Client(tls_server, insecure=True).request("GET", "/hello")
    assert response.status_code == 200, response.error
    assert response.json() == {"path": "/hello", "tls": True}


def test_client_verifies_by_default(tls_server: str) -> None:
    response = Client(tls_server).request("GET", "/hello")
    assert response.status_code == 0
    assert isinstance(response.error, ConnectionError)
    assert "certificate" in str(response.error).lower() or "unknown" in str(response.error).lower(), response.error


def test_native_user_over_https(tls_server: str, tmp_path: Path) -> None:
    locustfile = tmp_path / "tls.py"
    locustfile.write_text(
        "from locust import task, constant\n"
        "from pushpop_load import NativeHttpUser\n"
        "class Insecure(NativeHttpUser):\n"
        "    wait_time = constant(0.05)\n"
        "    @task\n"
        "    def hello(self):\n"
        "        self.client.get('/hello', name='insecure')\n"
        "class Verified(NativeHttpUser):\n"
        "    wait_time = constant(0.05)\n"
        "    insecure = False\n"
        "    @task\n"
        "    def hello(self):\n"
        "        self.client.get('/hello', name='verified')\n"
    )
    done, _ = locust_headless(
        locustfile, tls_server, tmp_path / "tls", "-u", "4", "-r", "4", "-t", "2s", "--exit-code-on-error", "0",
        "--json-file", str(tmp_path / "tls_final"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    final = {entry["name"]: entry for entry in json.loads((tmp_path / "tls_final.json").read_text())}
    assert final["insecure"]["num_requests"] > 10 and final["insecure"]["num_failures"] == 0
    assert final["verified"]["num_requests"] > 0
    assert final["verified"]["num_failures"] == final["verified"]["num_requests"]
