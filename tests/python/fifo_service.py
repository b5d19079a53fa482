"""Servers in the test's own process: ``serving`` runs one on a thread, ``JsonAnswering`` is a handler's way to answer,
and ``fifo_handler`` makes a queue service with the contract's push and pop (one priority, FIFO) that can hold a push
before storing it, for tests of what concurrent or timed-out pushes do to the integrity checks."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[str]:
    """`server` answering on a thread of its own, its URL; shut down and closed after the block."""
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class JsonAnswering(BaseHTTPRequestHandler):
    """A keep-alive HTTP/1.1 handler that answers 200 with a JSON body and logs nothing."""

    protocol_version = "HTTP/1.1"

    def answer(self, body: bytes) -> None:
        try:
            # one write: a head and a body written apart meet Nagle and delayed ACKs (40 ms)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
        except OSError:  # the client gave up on this answer (its timeout)
            pass

    def log_message(self, *_args: object) -> None:
        pass


def fifo_handler(hold: Callable[[dict[str, Any], int], float]) -> type[BaseHTTPRequestHandler]:
    """A handler class with a queue store of its own: the n-th push (from 0) is stored ``hold(item, n)`` seconds
    after it arrived, then answered."""
    lock = threading.Lock()
    queues: dict[str, list[bytes]] = {}
    pushes = [0]

    class Fifo(JsonAnswering):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            sent = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            queue = self.path.split("/")[2]
            if self.path.endswith("/push"):
                item = json.loads(sent)["item"]
                with lock:
                    n, pushes[0] = pushes[0], pushes[0] + 1
                time.sleep(hold(item, n))
                with lock:
                    queues.setdefault(queue, []).append(json.dumps(item).encode())
                body = b'{"success":true,"message":"ok"}'
            else:
                depth = int(self.path.rpartition("depth=")[2] or 1)
                with lock:
                    stored = queues.setdefault(queue, [])
                    items, stored[:depth] = stored[:depth], []
                body = b'{"items":[%s],"count":%d}' % (b",".join(items), len(items))
            self.answer(body)

    return Fifo
