"""``Client``: the native engine for scripts outside Locust (the seed's "Mode 3"), blocking or ``async``.

    from pushpop_load import Client
    client = Client("http://localhost:8000")
    client.push("orders", {"id": 1}, priority=0)
    items = client.pop("orders", depth=10)
    print(client.stats())                         # exact percentiles of every request this client made

    async with Client("http://localhost:8000") as client:      # asyncio: many requests in flight at once
        await asyncio.gather(*(client.apush("orders", {"n": n}) for n in range(100)))

Requests run on the same engine as ``NativeHttpUser``'s and are timed the same way, in Rust. This module imports no
Locust (which would monkey-patch the process for gevent); inside a gevent process the blocking calls wait
cooperatively instead of blocking the hub.
"""

from __future__ import annotations

from typing import Any, Mapping

from pushpop_load import _native
from pushpop_load.payloads import POP_NAME, PUSH_NAME, items_from_pop
from pushpop_load.transport import (
    UNSET,
    HttpStatusError,
    PreparedRequest,
    RequestBuilder,
    RequestDefaults,
    Response,
    close_idle_connections,
    in_gevent,
    wait_async,
    wait_blocking,
    wait_gevent,
)

__all__ = ["Client", "HttpStatusError", "Response"]


class Client:
    """The native engine for scripts: ``request`` and the queue operations, blocking or ``async`` (``arequest``,
    ``apush``, ``apop``). https verifies the server's certificate unless ``insecure=True``. Transport failures do
    not raise from ``request``: the response has ``status_code`` 0 and ``error`` set. ``push`` and ``pop`` raise on
    any failure, as a script expects. Every request is recorded in the client's exact statistics (``stats()``)."""

    def __init__(
        self, base_url: str, *, timeout: float | None = 60.0, max_redirects: int = 30,
        headers: Mapping[str, str] | None = None, insecure: bool = False, connect_timeout: float | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http:// or https:// URL (got {base_url!r})")
        self._builder = RequestBuilder(base_url, headers)
        self.defaults = RequestDefaults(timeout, max_redirects, insecure, connect_timeout)
        self._stats = _native.HdrStats()

    @property
    def base_url(self) -> str:
        return self._builder.base_url

    def _prepare(self, method: str, url: str, kwargs: dict[str, Any]) -> tuple[PreparedRequest, str]:
        options = self.defaults.for_call(kwargs.pop("timeout", UNSET), kwargs.pop("allow_redirects", True))
        name = kwargs.pop("name", None) or url
        return self._builder.build(method.upper(), url, options, **kwargs), name

    def _finish(self, result: Any, request: PreparedRequest, name: str, record: bool = True) -> Response:
        response = Response(result, request.method)
        if record:
            self._stats.record(request.method, name, result.elapsed_ms, response.failure_exception() is not None)
        return response

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        """Sends a request and waits for it. Keywords: ``json``, ``data``, ``params``, ``headers``, ``auth``,
        ``timeout``, ``allow_redirects``, ``name`` (the statistics entry; default the URL as given), ``record``
        (False keeps the request out of the exact statistics) and ``cooperative`` (False: under gevent, wait
        without letting other greenlets run, for bookkeeping that must finish before anything else moves)."""
        record = kwargs.pop("record", True)
        cooperative = kwargs.pop("cooperative", True)
        request, name = self._prepare(method, url, kwargs)
        result = wait_gevent(request) if cooperative and in_gevent() else wait_blocking(request)
        return self._finish(result, request, name, record)

    async def arequest(self, method: str, url: str, **kwargs: Any) -> Response:
        """``request`` for asyncio: many requests can be in flight from one thread."""
        request, name = self._prepare(method, url, kwargs)
        return self._finish(await wait_async(request), request, name)

    def push(self, queue_id: str, item: Any, priority: int = 0) -> dict[str, Any]:
        """Pushes ``item``; the service's answer. Raises on any failure."""
        return self._pushed(self.request("POST", f"/queue/{queue_id}/push", **_push_body(item, priority)))

    def pop(self, queue_id: str, depth: int = 1) -> list[Any]:
        """Pops up to ``depth`` items (either pop answer shape). Raises on any failure."""
        return self._popped(self.request("POST", f"/queue/{queue_id}/pop", params={"depth": depth}, name=POP_NAME))

    async def apush(self, queue_id: str, item: Any, priority: int = 0) -> dict[str, Any]:
        return self._pushed(await self.arequest("POST", f"/queue/{queue_id}/push", **_push_body(item, priority)))

    async def apop(self, queue_id: str, depth: int = 1) -> list[Any]:
        return self._popped(
            await self.arequest("POST", f"/queue/{queue_id}/pop", params={"depth": depth}, name=POP_NAME))

    @staticmethod
    def _pushed(response: Response) -> dict[str, Any]:
        response.raise_for_status()
        return response.json()

    def _popped(self, response: Response) -> list[Any]:
        response.raise_for_status()
        items = items_from_pop(response.json())
        self._stats.record_items("POST", POP_NAME, len(items))
        return items

    def stats(self) -> list[dict[str, Any]]:
        """Exact figures per (method, name) of every request this client made so far, times in ms."""
        return self._stats.summaries()

    def close(self) -> None:
        """Closes the process's idle keep-alive connections (the engine is shared: other clients reconnect when
        they next send), so that a script that is done holds no sockets to its target."""
        close_idle_connections()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: Any) -> None:
        self.close()


def _push_body(item: Any, priority: int) -> dict[str, Any]:
    return {"json": {"item": item, "priority": priority}, "name": PUSH_NAME}
