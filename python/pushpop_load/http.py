"""``NativeHttpUser``: a drop-in for Locust's ``FastHttpUser`` whose requests run in Rust.

A request is handed to the native engine (a tokio runtime in this process) and the calling greenlet waits on a
``gevent.hub.Waiter``. One io watcher on the engine's eventfd, in the hub, drains every finished request in one
native call and switches straight into each waiting greenlet, which then fires ``events.request`` itself, as
Locust's clients do. ``response_time`` is the time the engine measured around the request: the greenlet's own
wake-up delay, which grows with the load on the generator, stays out of it.
"""

from __future__ import annotations

import os as _os
import time as _time
from contextlib import contextmanager as _contextmanager
from typing import Any, Iterator, Mapping

import gevent as _gevent
from gevent.hub import Waiter as _Waiter
from gevent.lock import BoundedSemaphore as _BoundedSemaphore
from locust import User, events
from locust.event import EventHook
from locust.exception import CatchResponseError, LocustError, ResponseError, StopTest

from pushpop_load import _native
from pushpop_load import stats as _stats  # noqa: F401  (exact statistics for every run that uses these users)
from pushpop_load import monitor as _monitor  # noqa: F401  (the resource monitor's options, likewise)
from pushpop_load import options as _options  # noqa: F401  (--pp-help, which lists them)
from pushpop_load.client import UNSET, HttpStatusError, RequestBuilder, RequestDefaults, Response, drain_and_deliver

__all__ = ["HttpStatusError", "NativeHttpSession", "NativeHttpUser", "NativeResponse", "ResponseContextManager"]

class _Dispatch:
    """This process's io watcher on the engine's eventfd, and how many greenlets wait on it."""

    loop: Any = None
    watcher: Any = None
    waiting = 0


def _forget_dispatch() -> None:
    # after a fork the child gets a new hub loop and a new engine: the parent's watcher means nothing here
    _Dispatch.loop = None
    _Dispatch.watcher = None
    _Dispatch.waiting = 0


_os.register_at_fork(after_in_child=_forget_dispatch)


@events.test_stop.add_listener
def _close_idle_connections(**_kwargs: Any) -> None:
    # a stopped run holds no sockets to its target: the web UI may start the next one much later, or never
    _native.http_close_idle()


def _perform(method: str, url: str, headers: list, body: bytes | None, options: Any) -> Any:
    watcher = _Dispatch.watcher
    if watcher is None:
        _Dispatch.loop = _gevent.get_hub().loop
        watcher = _Dispatch.loop.io(_native.http_fileno(), 1)
        watcher.start(drain_and_deliver)
        _Dispatch.watcher = watcher
    waiter = _Waiter()
    ticket, later = _native.http_submit(method, url, headers, body, options, waiter.switch)
    if later:
        # the engine started a batch moments ago: this one starts when the hub has run every greenlet that is
        # ready, just before it polls again
        _Dispatch.loop.run_callback(_native.http_flush)
    # The watcher keeps the hub's loop alive only while someone waits on it; otherwise an idle process could
    # never exit.
    if _Dispatch.waiting == 0:
        watcher.ref = True
    _Dispatch.waiting += 1
    try:
        return waiter.get()
    except BaseException:
        # killed by Locust (GreenletExit), or a gevent.Timeout: the request is abandoned
        _native.http_cancel(ticket)
        raise
    finally:
        _Dispatch.waiting -= 1
        if _Dispatch.waiting == 0:
            watcher.ref = False


class NativeResponse(Response):
    """What a request returned: a response with any status, or a transport failure (``status_code`` 0, ``error``
    set), with the ``request_meta`` it was reported with."""

    request_meta: dict[str, Any] | None = None

    def success(self) -> None:
        raise LocustError("success() is only for responses of requests made with catch_response=True")

    def failure(self, exc: Exception | str) -> None:
        raise LocustError("failure() is only for responses of requests made with catch_response=True")


class ResponseContextManager(NativeResponse):
    """The response of a ``catch_response=True`` request. The request is reported when the ``with`` block ends:
    as the block decided (``success()``/``failure()``), else by its status; an exception other than Locust's
    ``ResponseError`` escaping the block drops the sample, exactly as with Locust's own clients."""

    def __init__(self, result: Any, method: str, request_event: EventHook, request_meta: dict[str, Any]) -> None:
        super().__init__(result, method)
        self._request_event = request_event
        self.request_meta = request_meta
        self._entered = False
        self._manual_result: bool | Exception | None = None

    def __enter__(self) -> ResponseContextManager:
        self._entered = True
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:
        self._entered = False
        meta = self.request_meta
        assert meta is not None
        if self._manual_result is not None:
            meta["exception"] = None if self._manual_result is True else self._manual_result
            self._request_event.fire(**meta)
            return exc_type is None
        if exc_type is not None:
            if isinstance(exc, ResponseError):
                meta["exception"] = exc
                self._request_event.fire(**meta)
                return True
            return False
        meta["exception"] = self.failure_exception()
        self._request_event.fire(**meta)
        return True

    def success(self) -> None:
        if not self._entered:
            raise LocustError("success() must be called inside the with-block of a catch_response=True request")
        self._manual_result = True

    def failure(self, exc: Exception | str) -> None:
        if not self._entered:
            raise LocustError("failure() must be called inside the with-block of a catch_response=True request")
        self._manual_result = CatchResponseError(exc) if isinstance(exc, str) else exc


class NativeHttpSession:
    """The client of a ``NativeHttpUser``: ``FastHttpSession``'s interface over the native engine."""

    def __init__(
        self,
        base_url: str,
        request_event: EventHook,
        user: User | None = None,
        *,
        network_timeout: float | None = 60.0,
        max_redirects: int = 30,
        default_headers: Mapping[str, str] | None = None,
        insecure: bool = True,
        connection_timeout: float | None = 60.0,
        concurrency: int = 10,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
        self._slots = _BoundedSemaphore(concurrency)
        self.defaults = RequestDefaults(network_timeout, max_redirects, insecure, connection_timeout)
        self._builder = RequestBuilder(base_url, default_headers)
        self.base_url = self._builder.base_url
        self.request_event = request_event
        self.user = user
        self.request_name: str | None = None

    @_contextmanager
    def rename_request(self, name: str) -> Iterator[None]:
        """Reports every request made inside the block under ``name``."""
        self.request_name = name
        try:
            yield
        finally:
            self.request_name = None

    def request(
        self,
        method: str,
        url: str,
        name: str | None = None,
        data: str | bytes | Mapping[str, Any] | None = None,
        catch_response: bool = False,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        json: Any = None,
        allow_redirects: bool = True,
        context: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | str | None = None,
        timeout: float | None = UNSET,
    ) -> NativeResponse:
        """Sends a request and reports it to ``events.request``. Transport failures do not raise: the response has
        ``status_code`` 0 and ``error`` set, and the failure is reported."""
        method = method.upper()
        built, header_list, body = self._builder.build(url, data, json, params, headers, auth)
        options = self.defaults.for_call(timeout, allow_redirects)

        start_time = _time.time()
        with self._slots:
            result = _perform(method, built, header_list, body, options)
        user_context = self.user.context() if self.user is not None else {}
        request_meta: dict[str, Any] = {
            "request_type": method,
            "name": name or self.request_name or url,
            "response_time": result.elapsed_ms,
            "response_length": result.length,
            "context": {**user_context, **(context or {})},
            "exception": None,
            "start_time": start_time,
            "url": built,
        }
        if catch_response:
            response: NativeResponse = ResponseContextManager(result, method, self.request_event, request_meta)
            request_meta["response"] = response
            return response
        response = NativeResponse(result, method)
        response.request_meta = request_meta
        request_meta["response"] = response
        request_meta["exception"] = response.failure_exception()
        self.request_event.fire(**request_meta)
        return response

    def get(self, url: str, **kwargs: Any) -> NativeResponse:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> NativeResponse:
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> NativeResponse:
        return self.request("OPTIONS", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> NativeResponse:
        return self.request("DELETE", url, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> NativeResponse:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> NativeResponse:
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any) -> NativeResponse:
        return self.request("PATCH", url, data=data, **kwargs)


class NativeHttpUser(User):
    """A Locust user whose ``self.client`` sends requests through the native engine: ``FastHttpUser``'s interface,
    at a fraction of its CPU per request. Switch a locustfile by changing the base class."""

    abstract = True

    network_timeout: float | None = 60.0
    """Seconds a whole request may take: connecting, sending, redirects and reading the body. None: no limit."""

    connection_timeout: float | None = 60.0
    """Seconds opening a connection may take (within ``network_timeout``)."""

    concurrency: int = 10
    """Requests one user may have in flight at once (from greenlets it spawns); more wait for a free slot, as
    FastHttpUser's requests wait for one of its ``concurrency`` connections."""

    max_redirects: int = 30
    """Redirects followed per request (``allow_redirects=False`` follows none)."""

    default_headers: Mapping[str, str] | None = None
    """Headers sent with every request, under any given per request."""

    insecure: bool = True
    """https without checking the server's certificate (self-signed test deployments), as FastHttpUser does by
    default. False verifies against the system's root certificates."""

    client: NativeHttpSession

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if self.host is None:
            raise StopTest(
                "You must specify the base host. Either in the host attribute in the User class, or on the command "
                "line using the --host option."
            )
        self.client = NativeHttpSession(
            self.host,
            environment.events.request,
            user=self,
            network_timeout=self.network_timeout,
            max_redirects=self.max_redirects,
            default_headers=self.default_headers,
            insecure=self.insecure,
            connection_timeout=self.connection_timeout,
            concurrency=self.concurrency,
        )
