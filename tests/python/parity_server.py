"""An HTTP/1.1 server on 127.0.0.1 with one behaviour per path, for the FastHttpUser/NativeHttpUser differential
tests (tests/python/test_nativehttp_parity.py).

    python tests/python/parity_server.py        # prints "listening on PORT", serves until stdin closes

Answers say what the request carried (``/echo``), set and read cookies, redirect, compress, stream lines, answer
any status and fail in the ways a client must report. Every wait is bounded, so a client that hangs is the
client's fault, never this server's.
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import brotli  # geventhttpclient's dependency, so present wherever Locust is

EVENT_SEEN = threading.Event()
LINES = [f"line {n}: {'x' * n}" for n in range(1, 41)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return None

    def answer(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
               reason: str | None = None) -> None:
        self.send_response(status, reason)
        for name, value in headers or [("Content-Type", "text/plain; charset=utf-8")]:
            self.send_header(name, value)
        if status not in (204, 304) and not any(name == "Transfer-Encoding" for name, _ in headers or []):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def json_answer(self, value: object, status: int = 200, extra: list[tuple[str, str]] | None = None) -> None:
        self.answer(status, json.dumps(value).encode(), [("Content-Type", "application/json"), *(extra or [])])

    def serve(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        route = getattr(self, "route_" + parts.path.strip("/").split("/")[0], None)
        if route is None:
            self.answer(404, b"no such path")
            return
        route(parts, query, body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = serve

    def route_text(self, parts, query, body):
        self.answer(200, b"This is an ultra fast response")

    def route_echo(self, parts, query, body):
        seen = {"method": self.command, "path": parts.path, "query": parse_qsl(parts.query, keep_blank_values=True),
                "body": body.decode("latin-1"),
                "headers": {name.lower(): value for name, value in self.headers.items()
                            if name.lower() not in ("user-agent", "host", "connection")}}
        self.json_answer(seen)

    def route_status(self, parts, query, body):
        status = int(parts.path.split("/")[2])
        self.answer(status, f"status {status}".encode(), reason=query.get("reason"))

    def route_json(self, parts, query, body):
        self.json_answer({"name": "pushpop", "items": [1, 2, 3], "nested": {"ok": True}},
                         int(query.get("status", 200)))

    def route_notjson(self, parts, query, body):
        self.answer(int(query.get("status", 200)), b"<html>not json</html>", [("Content-Type", "text/html")])

    def route_latin1(self, parts, query, body):
        self.answer(200, "caf\u00e9 na\u00efve".encode("latin-1"), [("Content-Type", "text/plain; charset=latin-1")])

    def route_utf8(self, parts, query, body):
        self.answer(200, "\u00fcber \u2713 \u6f22".encode(), [("Content-Type", "text/plain; charset=utf-8")])

    def route_big(self, parts, query, body):
        self.answer(200, bytes(range(256)) * 4096, [("Content-Type", "application/octet-stream")])

    def route_setcookie(self, parts, query, body):
        cookie = f"{query['name']}={query['value']}"
        for attribute in ("path", "max-age", "domain", "expires"):
            if attribute in query:
                cookie += f"; {attribute.title()}={query[attribute]}"
        if "secure" in query:
            cookie += "; Secure"
        self.answer(200, b"cookie set", [("Content-Type", "text/plain"), ("Set-Cookie", cookie)])

    def route_twocookies(self, parts, query, body):
        self.answer(200, b"two", [("Content-Type", "text/plain"), ("Set-Cookie", "first=1; Path=/"),
                                  ("Set-Cookie", "second=2; Path=/")])

    def route_cookies(self, parts, query, body):
        self.json_answer({"cookie": self.headers.get("Cookie")})

    def route_scoped(self, parts, query, body):
        self.json_answer({"cookie": self.headers.get("Cookie")})

    def route_redirect(self, parts, query, body):
        status = int(query.get("status", 302))
        headers = [("Content-Type", "text/plain"), ("Location", query.get("to", "/echo"))]
        if "cookie" in query:
            headers.append(("Set-Cookie", f"{query['cookie']}; Path=/"))
        self.answer(status, b"moved", headers)

    def route_loop(self, parts, query, body):
        hop = int(query.get("hop", 0))
        self.answer(302, b"again", [("Content-Type", "text/plain"), ("Location", f"/loop?hop={hop + 1}")])

    def route_encoded(self, parts, query, body):
        raw = ("compressed " * 200).encode()
        coding = parts.path.split("/")[2]
        packed = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress,
                  "broken": lambda data: b"this is not gzip at all"}[coding](raw)
        self.answer(200, packed, [("Content-Type", "text/plain"),
                                  ("Content-Encoding", "gzip" if coding == "broken" else coding)])

    def route_lines(self, parts, query, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in LINES:
            data = (line + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")

    def route_huge(self, parts, query, body):
        # generated as it is sent: the server holds one block, whatever the size
        size = int(query.get("mib", 1)) << 20
        block = bytes(range(256)) * 4096
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for _ in range(size // len(block)):
            self.wfile.write(block)

    def route_events(self, parts, query, body):
        # server-sent events, the first at once and the rest after the client has seen it (it asks /events/next)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        seen_in_time = True
        for n in range(3):
            text = f"event {n}" if seen_in_time else "sent before the client had seen event 0"
            data = f"data: {text}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            if n == 0:
                seen_in_time = EVENT_SEEN.wait(10)
        self.wfile.write(b"0\r\n\r\n")

    def route_seen(self, parts, query, body):
        EVENT_SEEN.set()
        self.answer(200, b"ok")

    def route_slow(self, parts, query, body):
        time.sleep(min(float(query.get("delay", 1)), 5))
        self.answer(200, b"slow")

    def route_basic(self, parts, query, body):
        got = self.headers.get("Authorization")
        if got is None:
            self.answer(401, b"who are you", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Basic")])
        else:
            self.json_answer({"authorization": got})

    def route_close(self, parts, query, body):
        # ends the connection without an answer
        self.close_connection = True
        self.wfile.flush()
        self.connection.shutdown(2)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # a client that gave up (a timeout case) closes before the answer: that is the case, not a fault here
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main() -> None:
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on {server.server_address[1]}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
