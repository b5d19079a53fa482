"""The native engine's failures, as ``FastHttpUser`` reports the same events: the same exception types and texts,
so that Locust's failures table (which groups by ``repr``) and a locustfile's ``catch_response`` code that inspects
``response.error`` see what they saw with Locust's own client. The engine's own exception stays as ``__cause__``.

What ``FastHttpUser`` reports comes from geventhttpclient, which Locust installs: the types are imported from
there, and from ``locust.contrib.fasthttp`` for the status check.
"""

from __future__ import annotations

import errno
import socket

from geventhttpclient._parser import HTTPParseError
from geventhttpclient.response import HTTPConnectionClosed
from geventhttpclient.useragent import RetriesExceeded
from locust.contrib.fasthttp import LocustBadStatusCode

from pushpop_load._native import InvalidResponseError

__all__ = ["IDEMPOTENT_METHODS", "VALID_STATUS_CODES", "bad_status", "is_temporary", "retries_exceeded", "translated"]

VALID_STATUS_CODES = frozenset([200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 301, 302, 303, 304, 307, 308])
"""The statuses ``FastHttpUser`` counts as a success; any other is a failure (300 and 305 among them)."""

IDEMPOTENT_METHODS = frozenset(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"])
"""Methods retried after a timeout (RFC 9110 §9.2.2), as geventhttpclient retries them."""


def bad_status(url: str, status: int) -> LocustBadStatusCode:
    return LocustBadStatusCode(url, code=status)


def is_temporary(error: BaseException) -> bool:
    """Whether geventhttpclient would retry after ``error``: a timeout."""
    return isinstance(error, TimeoutError)


def retries_exceeded(url: str, retries: int, last: BaseException) -> RetriesExceeded:
    return RetriesExceeded(url, retries, original=socket.timeout("timed out") if is_temporary(last) else last)


def translated(error: BaseException, url: str, retries: int) -> BaseException:
    """``error`` (the engine's) as FastHttpUser reports the same event."""
    message = str(error)
    mapped: BaseException
    if isinstance(error, ConnectionRefusedError):
        mapped = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    elif isinstance(error, ConnectionResetError):
        if message == "connection closed without a response":
            mapped = HTTPConnectionClosed("connection closed.")
        elif message.startswith("connection closed before"):
            mapped = HTTPParseError("Incomplete response.")
        else:
            mapped = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    elif isinstance(error, TimeoutError):
        mapped = retries_exceeded(url, retries, error)
    elif isinstance(error, ConnectionError) and message.startswith("host name not resolved"):
        mapped = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    elif isinstance(error, InvalidResponseError) and message.startswith("invalid response: "):
        mapped = HTTPParseError(message.removeprefix("invalid response: "))
    else:
        return error
    mapped.__cause__ = error
    return mapped
