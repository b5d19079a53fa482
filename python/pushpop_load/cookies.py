"""Cookies for the native client: the standard library's ``http.cookiejar.CookieJar`` works on urllib's request and
response objects; these two small adapters give it a ``PreparedRequest`` and a finished request's headers.

The jar decides what matches (domain, path, expiry, ``Secure``); nothing of that is reimplemented here.
"""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlsplit

from pushpop_load.transport import PreparedRequest

__all__ = ["add_cookies", "store_cookies"]


class _JarRequest:
    """The part of ``urllib.request.Request`` that ``CookieJar`` reads and writes."""

    def __init__(self, request: PreparedRequest, unverifiable: bool) -> None:
        self._request = request
        parts = urlsplit(request.url)
        self.type = parts.scheme
        self.host = parts.netloc.rpartition("@")[2]
        self.origin_req_host = parts.hostname or ""
        self.unverifiable = unverifiable
        self.added: list[tuple[str, str]] = []

    def get_full_url(self) -> str:
        return self._request.url

    def get_host(self) -> str:
        return self.host

    def get_type(self) -> str:
        return self.type

    def get_origin_req_host(self) -> str:
        return self.origin_req_host

    def is_unverifiable(self) -> bool:
        return self.unverifiable

    def has_header(self, name: str) -> bool:
        return any(key.lower() == name.lower() for key, _ in self._request.header_list)

    def get_header(self, name: str, default: str | None = None) -> str | None:
        for key, value in self._request.header_list:
            if key.lower() == name.lower():
                return value
        return default

    def header_items(self) -> list[tuple[str, str]]:
        return list(self._request.header_list)

    def add_unredirected_header(self, name: str, value: str) -> None:
        self.added.append((name, value))


class _JarResponse:
    """The part of ``http.client.HTTPResponse`` that ``CookieJar.extract_cookies`` reads: ``info().get_all``."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self._headers = headers

    def info(self) -> _JarResponse:
        return self

    def get_all(self, name: str, default: Any = None) -> list[str] | Any:
        found = [value for key, value in self._headers if key.lower() == name.lower()]
        return found or default


def add_cookies(jar: CookieJar, request: PreparedRequest, unverifiable: bool = False) -> None:
    """Adds the ``Cookie`` header the jar has for ``request`` (a redirect's target is ``unverifiable``)."""
    adapter = _JarRequest(request, unverifiable)
    jar.add_cookie_header(adapter)  # type: ignore[arg-type]
    if adapter.added:
        # the header list may be one that several requests share: a new list, never an append
        request.header_list = [*request.header_list, *adapter.added]


def store_cookies(jar: CookieJar, request: PreparedRequest, headers: list[tuple[str, str]],
                  unverifiable: bool = False) -> None:
    """Stores the ``Set-Cookie`` answers of ``request`` (headers as the engine lists them) that the jar accepts."""
    jar.extract_cookies(_JarResponse(headers), _JarRequest(request, unverifiable))  # type: ignore[arg-type]
