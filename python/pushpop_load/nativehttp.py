"""``NativeHttpUser``: a drop-in for Locust's ``FastHttpUser`` whose requests run in Rust (Locust's own is
``locust.contrib.fasthttp``).

A request goes through ``pushpop_load.transport``: the calling greenlet waits while the native engine runs it, and
then fires ``events.request`` itself, as Locust's clients do. ``response_time`` is the time the engine measured
around the request: the greenlet's own wake-up delay, which grows with the load on the generator, stays out of it.

Creating a ``NativeHttpUser`` installs pushpop-load's parts in its environment (``pushpop_load.plugin``): exact
statistics, the integrity checker, the resource monitor.
"""

from __future__ import annotations

import time as _time
from contextlib import contextmanager as _contextmanager
from typing import Any, Iterator, Mapping

from gevent.lock import BoundedSemaphore as _BoundedSemaphore
from locust import User
from locust.event import EventHook
from locust.exception import CatchResponseError, LocustError, ResponseError, StopTest

from pushpop_load import plugin as _plugin
from pushpop_load.transport import UNSET, HttpStatusError, RequestBuilder, RequestDefaults, Response, wait_gevent

__all__ = ["HttpStatusError", "NativeHttpSession", "NativeHttpUser", "NativeResponse", "ResponseContextManager"]


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
        request = self._builder.build(method, url, self.defaults.for_call(timeout, allow_redirects), data, json,
                                      params, headers, auth)

        start_time = _time.time()
        with self._slots:
            result = wait_gevent(request)
        user_context = self.user.context() if self.user is not None else {}
        request_meta: dict[str, Any] = {
            "request_type": method,
            "name": name or self.request_name or url,
            "response_time": result.elapsed_ms,
            "response_length": result.length,
            "context": {**user_context, **(context or {})},
            "exception": None,
            "start_time": start_time,
            "url": request.url,
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
        _plugin.install(environment)
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
