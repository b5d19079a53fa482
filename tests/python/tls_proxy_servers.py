"""What the proxy and client-certificate tests run against: a recording HTTP(S) server in a thread, certificates
made with the openssl CLI (a CA, a server and a client certificate, and a second, unrelated CA), and a real
tinyproxy process on its own configuration. No pytest and no Locust in here."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pushpop_load.testing import free_port

OPENSSL = shutil.which("openssl")
TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET/POST with JSON of what it saw: method, path, Host, Via, body, and the client certificate's
    subject (TLS with a client certificate); each request is also appended to the server's ``seen`` list."""

    protocol_version = "HTTP/1.1"
    server: RecordingServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        peer = None
        if isinstance(self.connection, ssl.SSLSocket):
            cert = self.connection.getpeercert()
            if cert:
                peer = [list(item) for rdn in cert["subject"] for item in rdn]
        record = {"method": self.command, "path": self.path, "host": self.headers.get("Host"),
                  "via": self.headers.get("Via"), "client": self.headers.get("X-Client"), "body": body,
                  "peer_subject": peer}
        self.server.seen.append(record)
        answer = json.dumps({key: record[key] for key in ("method", "path", "body", "peer_subject")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = _answer  # noqa: N815 (http.server's naming)

    def log_message(self, *_: object) -> None:
        pass


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.seen: list[dict[str, Any]] = []
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def _openssl(*args: str) -> None:
    assert OPENSSL, "openssl is needed to make certificates (Debian: apt-get install openssl)"
    subprocess.run([OPENSSL, *args], check=True, capture_output=True)


def make_certificates(folder: Path) -> dict[str, str]:
    """A CA; a server certificate it signed for 127.0.0.1/localhost; a client certificate it signed
    (CN=pushpop-client); another CA that signed neither. Paths by name."""
    paths = {name: str(folder / f"{name}.pem") for name in (
        "ca", "ca_key", "server_cert", "server_key", "client_cert", "client_key", "wrong_ca", "wrong_ca_key")}
    for ca, key, name in (("ca", "ca_key", "pushpop test CA"), ("wrong_ca", "wrong_ca_key", "unrelated CA")):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", paths[key], "-out", paths[ca],
                 "-days", "2", "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for who, cn, extensions in (
        ("server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
        ("client", "pushpop-client", "extendedKeyUsage=clientAuth\n"),
    ):
        request, ext = folder / f"{who}.csr", folder / f"{who}.ext"
        ext.write_text("basicConstraints=CA:FALSE\n" + extensions)
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", paths[f"{who}_key"], "-out", str(request),
                 "-subj", f"/CN={cn}/O=pushpop")
        _openssl("x509", "-req", "-in", str(request), "-CA", paths["ca"], "-CAkey", paths["ca_key"],
                 "-CAcreateserial", "-out", paths[f"{who}_cert"], "-days", "2", "-extfile", str(ext))
    return paths


def wait_for_port(port: int, deadline: float, alive: Any = None) -> None:
    """Until something accepts on 127.0.0.1:``port``; fails past ``deadline`` (monotonic) or when ``alive()``
    turns False."""
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if alive is not None and not alive():
                raise RuntimeError(f"the process meant to listen on {port} ended") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.02)


class Tinyproxy:
    """Debian's tinyproxy in the foreground on a free loopback port, allowing 127.0.0.1 and CONNECT to the given
    ports only, asking for ``basic_auth`` (user, password) when given; its log (stdout) in ``log``. Ended by its
    PID."""

    def __init__(self, folder: Path, connect_ports: list[int], basic_auth: tuple[str, str] | None = None,
                 name: str = "tinyproxy") -> None:
        self.folder = folder
        self.connect_ports = connect_ports
        self.basic_auth = basic_auth
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.name = name
        self.log = folder / f"{name}.log"

    def start(self) -> Tinyproxy:
        assert Path(TINYPROXY).exists(), "tinyproxy is needed (Debian: apt-get install tinyproxy; scripts/test.sh " \
                                         "installs it when run as root)"
        for _ in range(5):  # the free port may be taken between our probe and tinyproxy's bind: try another
            self.port = free_port()
            config = self.folder / f"{self.name}.conf"
            config.write_text("\n".join([
                f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", "LogLevel Info", "MaxClients 64",
                "Allow 127.0.0.1", 'ViaProxyName "pushpop-test-proxy"',
                *(f"ConnectPort {port}" for port in self.connect_ports),
                *([f"BasicAuth {self.basic_auth[0]} {self.basic_auth[1]}"] if self.basic_auth else []), "",
            ]))
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen([TINYPROXY, "-d", "-c", str(config)], stdout=log,
                                             stderr=subprocess.STDOUT)
            try:
                wait_for_port(self.port, time.monotonic() + 10, alive=lambda: self.proc.poll() is None)
                return self
            except RuntimeError:
                self.stop()  # exited (port taken) or never listened: either way, none of ours is left running
        raise RuntimeError(f"tinyproxy did not start: {self.log.read_text()[-2000:]}")

    def connects(self) -> list[str]:
        """The CONNECT requests it logged."""
        return [line.rsplit("): ", 1)[1] for line in self.log.read_text().splitlines()
                if "Request (file descriptor" in line and ": CONNECT " in line]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
