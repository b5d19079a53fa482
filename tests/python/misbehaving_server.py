"""A TCP server on 127.0.0.1 that misbehaves on purpose, one way per path, for tests/python/test_transport_misbehaving_servers.py.

    python tests/python/misbehaving_server.py        # prints "listening on PORT", serves until stdin closes

Each connection is served by its own thread and ends by itself (every wait and every trickle is bounded), so a
client that hangs is the client's fault, never this server's.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
MIB = 1 << 20
CHUNK = b"%x\r\n%s\r\n" % (MIB, b"c" * MIB)


def read_request(conn: socket.socket) -> str | None:
    """The path of the next request on `conn` (its body read and dropped); None when the client closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk or len(data) > MIB:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return head.split(b" ")[1].decode().split("?")[0].strip("/")


def reset(conn: socket.socket) -> None:
    """Closes with an RST rather than a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def trickle(conn: socket.socket, data: bytes, pause: float) -> None:
    for at in range(len(data)):
        conn.sendall(data[at:at + 1])
        time.sleep(pause)


def answer(conn: socket.socket, case: str) -> bool:
    """Answers one request; False when the connection is done."""
    if case == "ok":
        conn.sendall(OK)
        return True
    if case == "reset-before-status":
        reset(conn)
    elif case == "reset-in-headers":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")
        time.sleep(0.05)
        reset(conn)
    elif case == "reset-mid-body":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
        time.sleep(0.05)
        reset(conn)
    elif case == "silent":
        conn.recv(1)  # until the client gives up (or this connection's own timeout)
    elif case == "slow-headers":
        trickle(conn, OK, 0.05)  # 3.7 s for the whole answer
    elif case == "slow-body":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        trickle(conn, b"y" * 100, 0.05)
    elif case == "invalid":
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
    elif case == "short-body":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"z" * 50)
    elif case == "broken-chunked":
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n")
        time.sleep(0.2)
    elif case == "stale-now":
        conn.sendall(OK)  # says keep-alive, then closes at once: the next request on it finds it closed
    elif case == "stale-later":
        conn.sendall(OK)
        time.sleep(0.1)
    elif case == "huge-length":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (100 * MIB))
        for _ in range(100):
            conn.sendall(CHUNK)  # any bytes: the client gives up at its limit
    elif case == "huge-chunked":
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(100):
            conn.sendall(CHUNK)
        conn.sendall(b"0\r\n\r\n")
    else:
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return True
    return False


def serve(conn: socket.socket) -> None:
    conn.settimeout(30)
    try:
        while (case := read_request(conn)) is not None and answer(conn, case):
            pass
    except OSError:
        pass  # the client gave up first: that is what most cases are for
    finally:
        conn.close()


def main() -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    print(f"listening on {listener.getsockname()[1]}", flush=True)

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # the test closes stdin (or stops this process) when it is done


if __name__ == "__main__":
    main()
