"""``Client``: the native engine for scripts outside Locust (the seed's "Mode 3"), blocking or ``async``.

    from pushpop_load import Client
    client = Client("http://localhost:8000")
    client.push("orders", {"id": 1}, priority=0)
    items = client.pop("orders", depth=10)
    print(client.stats())                         # exact percentiles of every request this process made

    async with Client("http://localhost:8000") as client:      # asyncio: many requests in flight at once
        await asyncio.gather(*(client.apush("orders", {"n": n}) for n in range(100)))

Requests run on the same engine and are recorded in the same exact statistics as ``NativeHttpUser``'s. This
module imports no Locust (which would monkey-patch the process for gevent); inside a gevent process the blocking
calls wait cooperatively instead of blocking the hub.
"""

from __future__ import annotations

import asyncio as _asyncio
import json as _json
import logging as _logging
import os as _os
import sys as _sys
import weakref as _weakref
from base64 import b64encode as _b64encode
from typing import Any, Mapping
from urllib.parse import urlencode as _urlencode

from requests.structures import CaseInsensitiveDict

from pushpop_load import _native
from pushpop_load.payloads import POP_NAME, PUSH_NAME, items_from_pop

__all__ = ["Client", "HttpStatusError", "Response", "exact_stats"]

_logger = _logging.getLogger(__name__)

exact_stats = _native.HdrStats()
"""This process's exact statistics: every request of ``NativeHttpUser`` (through Locust's events) and ``Client``."""

_USER_AGENT = f"pushpop-load/{_native.__version__}"
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class HttpStatusError(Exception):
    """A response whose status says the request failed (400 and above)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code

    def __repr__(self) -> str:
        # Locust's failure table groups by repr: the code only, never the URL
        return f"HttpStatusError(code={self.code})"

    def __str__(self) -> str:
        return f"HTTP {self.code}"


class Response:
    """What a request returned: a response with any status, or a transport failure (``status_code`` 0, ``error``
    set). The body is copied out of Rust on first use."""

    def __init__(self, result: Any, method: str) -> None:
        self._result = result
        self._content: bytes | None = None
        self._headers: CaseInsensitiveDict | None = None
        self.method = method
        self.status_code: int = result.status
        self.error: BaseException | None = result.error

    @property
    def url(self) -> str:
        """The URL that answered: the request's, or the last redirect's target."""
        return self._result.url

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = self._result.content
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding, errors="replace")

    @property
    def encoding(self) -> str:
        content_type = self.headers.get("content-type", "")
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip('"')
        return "utf-8"

    def json(self) -> Any:
        return _json.loads(self.content)

    @property
    def headers(self) -> CaseInsensitiveDict:
        if self._headers is None:
            headers: CaseInsensitiveDict = CaseInsensitiveDict()
            for name, value in self._result.headers:
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            self._headers = headers
        return self._headers

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code < 400

    @property
    def elapsed_ms(self) -> float:
        """Start of the request to its last body byte, in milliseconds, as measured in Rust."""
        return self._result.elapsed_ms

    @property
    def first_byte_ms(self) -> float:
        return self._result.first_byte_ms

    @property
    def queued_ms(self) -> float:
        """How long the request waited for the engine's thread before it started."""
        return self._result.queued_ms

    def failure_exception(self) -> BaseException | None:
        """Why the request failed (the transport error, or an ``HttpStatusError`` for 400 and above), or None."""
        if self.error is not None:
            return self.error
        if self.status_code >= 400:
            return HttpStatusError(self.status_code)
        return None

    def raise_for_status(self) -> None:
        failure = self.failure_exception()
        if failure is not None:
            raise failure

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}]>"


UNSET: Any = object()
"""A keyword not given (``None`` is a value: no timeout)."""


class RequestDefaults:
    """A session's request settings, and the native options object built from them once: a call passes that same
    object unless it overrides the timeout or turns redirects off."""

    def __init__(
        self, timeout: float | None, max_redirects: int, insecure: bool, connect_timeout: float | None
    ) -> None:
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.insecure = insecure
        self.connect_timeout = connect_timeout
        self.options = _native.RequestOptions(timeout, max_redirects, insecure, connect_timeout)

    def for_call(self, timeout: float | None = UNSET, allow_redirects: bool = True) -> Any:
        if timeout is UNSET and allow_redirects:
            return self.options
        return _native.RequestOptions(
            self.timeout if timeout is UNSET else timeout,
            self.max_redirects if allow_redirects else 0,
            self.insecure,
            self.connect_timeout,
        )


class RequestBuilder:
    """Turns a call's arguments into what the engine takes: the full URL, the header list and the body. The header
    lists of the common cases are built once; merging dictionaries per request would cost more than the rest of
    the Python side of a request."""

    def __init__(self, base_url: str, default_headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        base = {"User-Agent": _USER_AGENT, **(default_headers or {})}
        self._base = CaseInsensitiveDict(base)
        self._plain = list(base.items())
        self._json = self._merged(_JSON_HEADERS)
        self._form = self._merged(_FORM_HEADERS)

    def _merged(self, *layers: Mapping[str, str] | None) -> list[tuple[str, str]]:
        merged = CaseInsensitiveDict(self._base)
        for layer in layers:
            merged.update(layer or {})
        return list(merged.items())

    def url(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        return f"{self.base_url}{url if url.startswith('/') else '/' + url}"

    def build(
        self,
        url: str,
        data: str | bytes | Mapping[str, Any] | None = None,
        json: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> tuple[str, list[tuple[str, str]], bytes | None]:
        built = self.url(url)
        if params:
            query = params if isinstance(params, str) else _urlencode(params, doseq=True)
            built = f"{built}{'&' if '?' in built else '?'}{query}"
        body: bytes | None = None
        content_headers: Mapping[str, str] | None = None
        header_list = self._plain
        if data:
            if isinstance(data, Mapping):
                body = _urlencode(data, doseq=True).encode()
                header_list, content_headers = self._form, _FORM_HEADERS
            else:
                body = data.encode() if isinstance(data, str) else bytes(data)
        elif json is not None:
            body = _native.json_dumps(json)
            if body is None:  # what only json.dumps can encode, or refuse with its own error
                body = _json.dumps(json).encode()
            header_list, content_headers = self._json, _JSON_HEADERS
        if headers or auth is not None:
            basic = None
            if auth is not None:
                basic = {"Authorization": "Basic " + _b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()}
            header_list = self._merged(content_headers, basic, headers)
        return built, header_list, body


def _deliver_future(future: _asyncio.Future, result: Any) -> None:
    if not future.done():  # cancelled meanwhile
        future.set_result(result)


class _AsyncDispatch:
    """Per event loop: a reader on the engine's eventfd that resolves each finished request's future."""

    loops: _weakref.WeakSet = _weakref.WeakSet()

    @classmethod
    def ensure(cls, loop: _asyncio.AbstractEventLoop) -> None:
        if loop not in cls.loops:
            loop.add_reader(_native.http_fileno(), drain_and_deliver)
            cls.loops.add(loop)


def drain_and_deliver() -> None:
    """Hands every finished request to its waiter. A token is the callable that delivers the result: a gevent
    ``Waiter.switch`` or an asyncio future's setter, so either loop may drain for both."""
    for deliver, result in _native.http_drain():
        try:
            deliver(result)
        except Exception:  # noqa: BLE001
            # one broken waiter must not strand the others of the batch, whose results are already taken
            _logger.exception("pushpop-load: delivering a finished request failed")


# a forked child has a new engine and eventfd: loops registered on the parent's fd must register again
_os.register_at_fork(after_in_child=lambda: setattr(_AsyncDispatch, "loops", _weakref.WeakSet()))


def _in_gevent() -> bool:
    monkey = _sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("socket")


def _push_body(item: Any, priority: int) -> dict[str, Any]:
    return {"json": {"item": item, "priority": priority}, "name": PUSH_NAME}


def _pushed(response: Response) -> dict[str, Any]:
    response.raise_for_status()
    return response.json()


def _popped(response: Response) -> list[Any]:
    response.raise_for_status()
    items = items_from_pop(response.json())
    exact_stats.record_items("POST", POP_NAME, len(items))
    return items


class Client:
    """The native engine for scripts: ``request`` and the queue operations, blocking or ``async`` (``arequest``,
    ``apush``, ``apop``). https verifies the server's certificate unless ``insecure=True``. Transport failures do
    not raise from ``request``: the response has ``status_code`` 0 and ``error`` set. ``push`` and ``pop`` raise on
    any failure, as a script expects."""

    def __init__(
        self, base_url: str, *, timeout: float | None = 60.0, max_redirects: int = 30,
        headers: Mapping[str, str] | None = None, insecure: bool = False, connect_timeout: float | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http:// or https:// URL (got {base_url!r})")
        self._builder = RequestBuilder(base_url, headers)
        self.defaults = RequestDefaults(timeout, max_redirects, insecure, connect_timeout)

    @property
    def base_url(self) -> str:
        return self._builder.base_url

    def _args(self, method: str, url: str, kwargs: dict[str, Any]) -> tuple[tuple, str]:
        options = self.defaults.for_call(kwargs.pop("timeout", UNSET), kwargs.pop("allow_redirects", True))
        name = kwargs.pop("name", None) or url
        built, header_list, body = self._builder.build(url, **kwargs)
        return (method.upper(), built, header_list, body, options), name

    @staticmethod
    def _finish(result: Any, method: str, name: str, record: bool = True) -> Response:
        response = Response(result, method)
        if record:
            exact_stats.record(method, name, result.elapsed_ms, response.failure_exception() is not None)
        return response

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        """Sends a request and waits for it. Keywords: ``json``, ``data``, ``params``, ``headers``, ``auth``,
        ``timeout``, ``allow_redirects``, ``name`` (the statistics entry; default the URL as given) and ``record``
        (False keeps the request out of the exact statistics)."""
        record = kwargs.pop("record", True)
        args, name = self._args(method, url, kwargs)
        if _in_gevent():
            from pushpop_load.http import _perform  # only here: that module imports Locust

            result = _perform(*args)
        else:
            result = _native.http_request_blocking(*args)
        return self._finish(result, args[0], name, record)

    async def arequest(self, method: str, url: str, **kwargs: Any) -> Response:
        """``request`` for asyncio: many requests can be in flight from one thread."""
        args, name = self._args(method, url, kwargs)
        loop = _asyncio.get_running_loop()
        _AsyncDispatch.ensure(loop)
        future = loop.create_future()
        ticket, later = _native.http_submit(*args, lambda result: _deliver_future(future, result))
        if later:
            loop.call_soon(_native.http_flush)
        try:
            result = await future
        except BaseException:
            _native.http_cancel(ticket)
            raise
        return self._finish(result, args[0], name)

    def push(self, queue_id: str, item: Any, priority: int = 0) -> dict[str, Any]:
        """Pushes ``item``; the service's answer. Raises on any failure."""
        return _pushed(self.request("POST", f"/queue/{queue_id}/push", **_push_body(item, priority)))

    def pop(self, queue_id: str, depth: int = 1) -> list[Any]:
        """Pops up to ``depth`` items (either pop answer shape). Raises on any failure."""
        return _popped(self.request("POST", f"/queue/{queue_id}/pop", params={"depth": depth}, name=POP_NAME))

    async def apush(self, queue_id: str, item: Any, priority: int = 0) -> dict[str, Any]:
        return _pushed(await self.arequest("POST", f"/queue/{queue_id}/push", **_push_body(item, priority)))

    async def apop(self, queue_id: str, depth: int = 1) -> list[Any]:
        return _popped(await self.arequest("POST", f"/queue/{queue_id}/pop", params={"depth": depth}, name=POP_NAME))

    @staticmethod
    def stats() -> list[dict[str, Any]]:
        """Exact figures per (method, name) of every request this process made so far, times in ms."""
        return _json.loads(exact_stats.summaries_json())

    def close(self) -> None:
        """Closes the process's idle keep-alive connections (the engine is shared: other clients reconnect when
        they next send), so that a script that is done holds no sockets to its target."""
        _native.http_close_idle()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: Any) -> None:
        self.close()
