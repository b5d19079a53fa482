"""``NativeHttpUser``: a drop-in for Locust's ``FastHttpUser`` whose requests run in Rust (Locust's own is
``locust.contrib.fasthttp``).

A request goes through ``pushpop_load.transport``: the calling greenlet waits while the native engine runs it, and
then fires ``events.request`` itself, as Locust's clients do. ``response_time`` is the time the engine measured
around the request: the greenlet's own wake-up delay, which grows with the load on the generator, stays out of it.

What a locustfile can observe is ``FastHttpUser``'s: cookies kept per session and sent back (redirects followed
here, in Python, so that a redirect's ``Set-Cookie`` counts), compressed bodies decoded, credentials in the host
sent as Basic auth, ``rest()``, the failure types of ``pushpop_load.failures``. Each user has its own connections,
as each ``FastHttpUser`` has; ``client_pool = ConnectionPool()`` shares them between the users of a class.

Creating a ``NativeHttpUser`` installs pushpop-load's parts in its environment (``pushpop_load.plugin``): exact
statistics, the integrity checker, the resource monitor.
"""

from __future__ import annotations

import io
import itertools as _itertools
import time as _time
import weakref as _weakref
from base64 import b64encode as _b64encode
from contextlib import contextmanager as _contextmanager
from http.cookiejar import CookieJar
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import unquote as _unquote
from urllib.parse import urljoin as _urljoin
from urllib.parse import urlsplit as _urlsplit
from urllib.parse import urlunsplit as _urlunsplit

from locust import User
from locust.event import EventHook
from locust.exception import CatchResponseError, LocustError, ResponseError, StopTest
from locust.user.users import RestMixin

from pushpop_load import _native
from pushpop_load import failures as _failures
from pushpop_load import multipart
from pushpop_load import plugin as _plugin
from pushpop_load.cookies import add_cookies, store_cookies
from pushpop_load.fdlimit import FdLimit
from pushpop_load.locust_feed import LocustFeed
from pushpop_load.slots import Slots
from pushpop_load.stats import ExactStats
from pushpop_load.transport import (
    UNSET,
    HttpStatusError,
    PreparedRequest,
    RequestBuilder,
    RequestDefaults,
    Response,
    lines,
    wait_gevent,
)

__all__ = [
    "ConnectionPool",
    "HttpStatusError",
    "NativeHttpSession",
    "NativeHttpUser",
    "NativeResponse",
    "ResponseContextManager",
]

_NOT_CAUGHT = (
    "If you want to change the state of the request, you must pass catch_response=True. See "
    "http://docs.locust.io/en/stable/writing-a-locustfile.html#validating-responses"
)
_REDIRECTS = frozenset([301, 302, 303, 307, 308])
_ACCEPT_ENCODING = {"Accept-Encoding": "gzip, deflate, br"}  # FastHttpSession's default
_pool_ids = _itertools.count(1)


class ConnectionPool:
    """Keep-alive connections that the users holding this object share (``client_pool = ConnectionPool()`` on a
    user class). Without one each user has its own, as each ``FastHttpUser`` has. The engine forgets the pool's
    connections when the last holder is gone."""

    def __init__(self) -> None:
        self.id = next(_pool_ids)
        _weakref.finalize(self, _native.http_release_pool, self.id)

    def __repr__(self) -> str:
        return f"<ConnectionPool {self.id}>"


_shared_pools: _weakref.WeakKeyDictionary[Any, ConnectionPool] = _weakref.WeakKeyDictionary()


def _pool_for(holder: Any) -> ConnectionPool:
    """The engine pool that stands for another client's pool object (a locustfile written for FastHttpUser sets
    ``client_pool = HTTPClientPool(...)``): the users that share the object share connections; its own settings
    (``concurrency``) are geventhttpclient's and mean nothing here."""
    try:
        return _shared_pools.setdefault(holder, ConnectionPool())
    except TypeError:
        raise LocustError(f"client_pool must be a pushpop_load.ConnectionPool, not {type(holder).__name__}") from None


class _NoAnswer:
    """A finished request's shape for a failure found here rather than in the engine (a redirect limit)."""

    status = 0
    headers: list[tuple[str, str]] = []
    attention = False
    content = b""
    length = 0
    first_byte_ms = 0.0
    queued_ms = 0.0

    def __init__(self, url: str, error: BaseException, elapsed_ms: float) -> None:
        self.url = url
        self.error = error
        self.elapsed_ms = elapsed_ms


class NativeResponse(Response):
    """What a request returned: a response with any status, or a transport failure (``status_code`` 0, ``error``
    set, ``content`` and ``text`` None: FastHttpUser's ``ErrorResponse``), with the ``request_meta`` it was
    reported with. ``error`` is also set for a status ``FastHttpUser`` counts as failed."""

    _request_meta: dict[str, Any] | None = None
    _unmade_meta: tuple[Any, ...] | None = None
    """A request reported in a batch: what its ``request_meta`` is made of, on first read (nobody else may want it)."""

    def __init__(self, result: Any, method: str, request: PreparedRequest | None = None,
                 error: BaseException | None = None) -> None:
        # Response.__init__'s attributes set here, the error as the session found it: one call and one read of the
        # result's error fewer per request
        self._result = result
        self.method = method
        self.request = request
        self.status_code = result.status
        self.error = error

    @property
    def request_meta(self) -> dict[str, Any] | None:
        """What the request was reported with (``events.request``'s keywords), as on Locust's ``HttpUser``."""
        unmade = self._unmade_meta
        if unmade is not None:
            self._unmade_meta = None
            session, *parts = unmade
            self._request_meta = meta = session._meta(*parts)
            meta["response"] = self
        return self._request_meta

    @request_meta.setter
    def request_meta(self, meta: dict[str, Any] | None) -> None:
        self._unmade_meta = None
        self._request_meta = meta

    def failure_exception(self) -> BaseException | None:
        return self.error

    @property
    def stream(self) -> io.BytesIO:
        """The body as a file to ``read()``, as FastHttpUser's streamed responses offer it."""
        return io.BytesIO(self.content or b"")

    def raise_for_status(self) -> None:
        if self.error is not None:
            raise self.error

    @property
    def ok(self) -> bool:
        return self.status_code != 0 and self.status_code < 400 and not self._undecodable

    def __enter__(self) -> NativeResponse:
        # FastHttpUser's responses are context managers too; only success()/failure() need catch_response=True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def success(self) -> None:
        raise LocustError(_NOT_CAUGHT)

    def failure(self, exc: Exception | str) -> None:
        raise LocustError(_NOT_CAUGHT)


def _report(request_event: EventHook, feed: LocustFeed | None, meta: dict[str, Any]) -> None:
    """Reports a request: a success into Locust's statistics in a batch when nothing else listens
    (``pushpop_load.locust_feed``), anything else through ``events.request``."""
    if meta["exception"] is None and feed is not None and feed.batchable():
        feed.record(meta["request_type"], meta["name"], meta["response_time"], meta["response_length"])
    else:
        request_event.fire(**meta)


class ResponseContextManager(NativeResponse):
    """The response of a ``catch_response=True`` request. The request is reported when the ``with`` block ends:
    as the block decided (``success()``/``failure()``), else by its status; an exception other than Locust's
    ``ResponseError`` escaping the block drops the sample, exactly as with Locust's own clients."""

    def __init__(self, response: NativeResponse, request_event: EventHook, request_meta: dict[str, Any],
                 feed: LocustFeed | None = None) -> None:
        self.__dict__.update(response.__dict__)
        self._request_event = request_event
        self._feed = feed
        self.request_meta = request_meta
        self._entered = False
        self._manual_result: bool | Exception | None = None

    def __enter__(self) -> ResponseContextManager:
        self._entered = True
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:  # type: ignore[override]
        meta = self.request_meta
        assert meta is not None
        if self._manual_result is not None:
            meta["exception"] = None if self._manual_result is True else self._manual_result
            _report(self._request_event, self._feed, meta)
            return exc_type is None
        if exc_type is not None:
            if isinstance(exc, ResponseError):
                meta["exception"] = exc
                self._request_event.fire(**meta)
                return True
            return False
        meta["exception"] = self.error
        _report(self._request_event, self._feed, meta)
        return True

    def success(self) -> None:
        if not self._entered:
            raise LocustError(
                "Tried to set status on a request that has not yet been made. Make sure you use a with-block, like "
                "this:\n\nwith self.client.request(..., catch_response=True) as response:\n    response.success()"
            )
        self._manual_result = True

    def failure(self, exc: Exception | str) -> None:
        if not self._entered:
            raise LocustError(
                "Tried to set status on a request that has not yet been made. Make sure you use a with-block, like "
                "this:\n\nwith self.client.request(..., catch_response=True) as response:\n    response.failure(...)"
            )
        self._manual_result = exc if isinstance(exc, Exception) else CatchResponseError(exc)

    def raise_for_status(self) -> None:
        if isinstance(self._manual_result, Exception):
            raise self._manual_result
        if self._manual_result is None:
            super().raise_for_status()


def _basic(user: str | bytes, password: str | bytes) -> str:
    user = user.encode("latin1") if isinstance(user, str) else user
    password = password.encode("latin1") if isinstance(password, str) else password
    return "Basic " + _b64encode(b":".join((user, password))).strip().decode("ascii")


def _without_credentials(base_url: str) -> tuple[str, str | None]:
    """``base_url`` without ``user:password@``, and the Basic ``Authorization`` they stand for (percent-decoded)."""
    parts = _urlsplit(base_url)
    if not (parts.username and parts.password):
        return base_url, None
    netloc = parts.netloc.rpartition("@")[2]
    stripped = _urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return stripped, _basic(_unquote(parts.username), _unquote(parts.password))


def _redirected(request: PreparedRequest, status: int, location: str, options: Any) -> PreparedRequest:
    """The request a redirect asks for (RFC 9110 §15.4): 301/302/303 become a GET without body (HEAD stays HEAD),
    307/308 keep method and body; cookies are the jar's to add again, credentials stay on the same origin only."""
    url = _urljoin(request.url, location)
    before, after = _urlsplit(request.url), _urlsplit(url)
    dropped = {"cookie", "cookie2"}
    if (before.scheme, before.hostname, before.port) != (after.scheme, after.hostname, after.port):
        dropped.add("authorization")
    method, content = request.method, request.content
    if status in (301, 302, 303):
        method = method if method == "HEAD" else "GET"
        content = None
        dropped |= {"content-length", "content-type", "content-encoding"}
    header_list = [(name, value) for name, value in request.header_list if name.lower() not in dropped]
    return PreparedRequest(method, url, header_list, content, options, request.text)


class NativeHttpSession:
    """The client of a ``NativeHttpUser``: ``FastHttpSession``'s interface over the native engine."""

    def __init__(
        self,
        base_url: str,
        request_event: EventHook,
        user: User | None = None,
        insecure: bool = True,
        client_pool: ConnectionPool | None = None,
        ssl_context_factory: Callable[..., Any] | None = None,
        *,
        network_timeout: float | None = 60.0,
        connection_timeout: float | None = 60.0,
        max_redirects: int = 30,
        max_retries: int = 3,
        concurrency: int = 10,
        headers: Mapping[str, str] | None = None,
        default_headers: Mapping[str, str] | None = None,
        proxy_host: str | None = None,
        proxy_port: int | None = None,
        proxy_user: str | None = None,
        proxy_password: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        """``proxy_host``/``proxy_port``: an HTTP proxy for every request (http in absolute form, https through a
        ``CONNECT`` tunnel), used when ``proxy_host`` is set, as FastHttpSession uses it; ``proxy_user`` and
        ``proxy_password``, its Basic credentials (in each plain http request and in each ``CONNECT``, never inside
        a tunnel), as geventhttpclient sends them. ``client_cert``,
        ``client_key``, ``ca_bundle``: PEM files for mutual TLS and private CAs (see ``NativeHttpUser``); a file
        that cannot be used raises ``LocustError`` here, naming it."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
        if ssl_context_factory is not None:
            raise LocustError(
                "NativeHttpUser cannot use ssl_context_factory: an ssl.SSLContext cannot be handed to its TLS "
                "engine. Give the files instead: client_cert and client_key (PEM) for a client certificate, "
                "ca_bundle (PEM) for a private CA; insecure = False verifies against the system's roots"
            )
        proxy = proxy_authorization = None
        if proxy_host is not None:
            if proxy_port is None:
                raise LocustError("proxy_host is set without proxy_port: set both to send through a proxy")
            host = f"[{proxy_host}]" if ":" in proxy_host and not proxy_host.startswith("[") else proxy_host
            proxy = f"{host}:{proxy_port}"
            if proxy_user is not None or proxy_password is not None:
                credentials = f"{proxy_user or ''}:{proxy_password or ''}".encode()
                proxy_authorization = "Basic " + _b64encode(credentials).decode("ascii")
        if client_pool is not None and not isinstance(client_pool, ConnectionPool):
            client_pool = _pool_for(client_pool)
        self._slots = Slots(concurrency)  # this user's requests at once
        # Keeps the pool alive as long as this session; the engine forgets its connections after both are gone.
        self.client_pool = client_pool or ConnectionPool()
        # Redirects are followed here, not by the engine: a redirect's Set-Cookie must reach the jar first.
        try:
            self.defaults = RequestDefaults(network_timeout, 0, insecure, connection_timeout, self.client_pool.id,
                                            proxy, client_cert=client_cert, client_key=client_key,
                                            ca_bundle=ca_bundle, proxy_authorization=proxy_authorization)
        except ValueError as error:
            raise LocustError(str(error)) from error
        self.max_redirects = max_redirects
        self.max_retries = max_retries
        base_url, self.auth_header = _without_credentials(base_url)
        self._builder = RequestBuilder.shared(base_url, {**_ACCEPT_ENCODING, **(default_headers or headers or {})},
                                              typed_bodies=True)
        self.base_url = self._builder.base_url
        self.request_event = request_event
        self.user = user
        # Locust's statistics fed in batches (pushpop_load.locust_feed) when this session reports to its user's
        # environment, where the feed lives
        self._feed = None
        environment = getattr(user, "environment", None)
        if environment is not None and getattr(environment, "pushpop", None) is not None \
                and environment.events.request is request_event:
            self._feed = ExactStats.of(environment).feed
        # a user whose context() is Locust's (always {}): a batched request's request_meta can wait until read
        self._plain_context = user is None or (getattr(type(user), "context", None) is User.context
                                               and "context" not in getattr(user, "__dict__", {}))
        self.request_name: str | None = None
        self.cookiejar = CookieJar()

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
        auth: tuple[str | bytes, str | bytes] | None = None,
        json: Any = None,
        allow_redirects: bool = True,
        context: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | str | None = None,
        timeout: float | None = UNSET,
        **extra: Any,
    ) -> NativeResponse:
        """Sends a request and reports it to ``events.request``. Transport failures do not raise: the response has
        ``status_code`` 0 and ``error`` set, and the failure is reported. Keywords this method does not name are
        sent as FastHttpSession sends them: form fields of a POST, query parameters of anything else."""
        asked, method = method, method.upper()
        if extra:
            files = extra.pop("files", None)
            if files:
                # the multipart type wins over a caller's Content-Type, as with FastHttpUser
                data, content_type = multipart.encode(files, data)
                headers = {**(headers or {}), "Content-Type": content_type}
            if extra:
                data, params = self._extra_fields(method, data, params, extra)
        if auth is None and self.auth_header is not None:
            headers = {**(headers or {}), "Authorization": self.auth_header}
        defaults = self.defaults
        options = defaults.options if timeout is UNSET and not stream else defaults.for_call(timeout, stream=stream)
        request = self._builder.build(method, url, options, data, json, params, headers, auth)
        start_time = _time.time()
        result, request, elapsed_ms = self._send(request, allow_redirects)
        status = result.status
        if result.error is None and status in _failures.VALID_STATUS_CODES:
            error = None
        else:
            error = self._failure(result, request.url)
        response = NativeResponse(result, request.method, request, error)
        if stream:
            response.stream_body(self.defaults.timeout if timeout is UNSET else timeout)
        response_length = result.length
        if stream and result.status:
            # as FastHttpUser reports a streamed request: the time to the answer's head, the length it announced
            elapsed_ms += result.first_byte_ms - result.elapsed_ms
            response_length = int(response.headers.get("content-length", 0))
        elif stream:
            response_length = 0
        elif result.attention and result.status:
            # the decoded length, as FastHttpUser reports it; a body that does not decode is the failure
            content = response.content
            response_length = 0 if content is None else len(content)
            error = response.error
        name = name or self.request_name or url
        feed = self._feed
        if error is None and not catch_response and feed is not None and feed.batchable():
            # only Locust's statistics listen: they get the figures in a batch, and request_meta is made if read
            feed.record(asked, name, elapsed_ms, response_length)
            if self._plain_context:
                response._unmade_meta = (self, asked, name, elapsed_ms, response_length,
                                         dict(context) if context else None, start_time, url)
            else:  # the user's context() is read now, as the event would have read it
                response.request_meta = meta = self._meta(asked, name, elapsed_ms, response_length, context,
                                                          start_time, url)
                meta["response"] = response
            return response
        request_meta = self._meta(asked, name, elapsed_ms, response_length, context, start_time, url)
        if catch_response:
            managed = ResponseContextManager(response, self.request_event, request_meta, feed)
            request_meta["response"] = managed
            return managed
        response.request_meta = request_meta
        request_meta["response"] = response
        request_meta["exception"] = error
        self.request_event.fire(**request_meta)
        return response

    def _meta(self, request_type: str, name: str, response_time: float, response_length: int,
              context: Mapping[str, Any] | None, start_time: float, url: str) -> dict[str, Any]:
        """``events.request``'s keywords for a request, but its ``response``; ``exception`` None."""
        return {
            "request_type": request_type,  # as given, as FastHttpSession reports it
            "name": name,
            "response_time": response_time,
            "response_length": response_length,
            "context": {**self.user.context(), **(context or {})} if self.user is not None else dict(context or {}),
            "exception": None,
            "start_time": start_time,
            # as FastHttpSession reports it: the URL asked for, before parameters and redirects
            "url": self._builder.url(url),
        }

    def _extra_fields(self, method: str, data: Any, params: Any, extra: dict[str, Any]) -> tuple[Any, Any]:
        if method == "POST":
            if data is None:
                return extra, params
            if isinstance(data, dict):
                return {**data, **extra}, params
            return data, params
        if params is None:
            return data, extra
        if isinstance(params, dict):
            return data, {**params, **extra}
        return data, params

    def _wait(self, request: PreparedRequest) -> Any:
        """Runs ``request`` with one of this user's slots; a timeout of an idempotent request is tried again up to
        ``max_retries`` times, as geventhttpclient does."""
        slots = self._slots
        slots.take()
        try:
            result = wait_gevent(request)
            if result.error is not None and self.max_retries and request.method in _failures.IDEMPOTENT_METHODS:
                for _ in range(self.max_retries):
                    if result.error is None or not _failures.is_temporary(result.error):
                        break
                    result = wait_gevent(request)
        finally:
            slots.give()
        return result

    def _send(self, request: PreparedRequest, allow_redirects: bool) -> tuple[Any, PreparedRequest, float]:
        """Runs ``request`` and the redirects it leads to; the last result, the request that got it, and the time
        all of them took in the engine (milliseconds)."""
        jar = self.cookiejar
        if jar is not None and getattr(jar, "_cookies", True):
            add_cookies(jar, request)
        first = request
        result = self._wait(request)
        elapsed_ms = result.elapsed_ms
        hops = 0
        while result.attention:
            header_list = result.headers
            if jar is not None:
                store_cookies(jar, request, header_list, unverifiable=hops > 0)
            location = next((value for key, value in header_list if key.lower() == "location"), None)
            if not allow_redirects or result.status not in _REDIRECTS or not location:
                break
            if hops == self.max_redirects:
                # reported against the URL asked for, as FastHttpUser reports it
                error = _failures.RetriesExceeded(first.url, f"Redirection limit reached ({self.max_redirects})")
                return _NoAnswer(first.url, error, elapsed_ms), first, elapsed_ms
            hops += 1
            request = _redirected(request, result.status, location, request.options)
            if jar is not None:
                add_cookies(jar, request, unverifiable=True)
            result = self._wait(request)
            elapsed_ms += result.elapsed_ms
        return result, request, elapsed_ms

    def _failure(self, result: Any, url: str) -> BaseException | None:
        if result.error is not None:
            return _failures.translated(result.error, url, self.max_retries)
        if result.status not in _failures.VALID_STATUS_CODES:
            return _failures.bad_status(url, result.status)
        return None

    def iter_lines(self, url: str, method: str = "GET", **kwargs: Any) -> Iterator[str]:
        """The lines of the answer to a streamed request (``stream=True``); raises its failure first, if any."""
        response = self.request(method, url, stream=True, **kwargs)
        response.raise_for_status()
        return lines(response.iter_content(chunk_size=1024, decode_content=True))

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


class NativeHttpUser(User, RestMixin):
    """A Locust user whose ``self.client`` sends requests through the native engine: ``FastHttpUser``'s interface,
    at a fraction of its CPU per request. Switch a locustfile by changing the base class."""

    abstract = True

    network_timeout: float | None = 60.0
    """Seconds a whole request may take: connecting, sending and reading the body. None: no limit."""

    connection_timeout: float | None = 60.0
    """Seconds opening a connection may take (within ``network_timeout``)."""

    concurrency: int = 10
    """Requests one user may have in flight at once (from greenlets it spawns); more wait for a free slot, as
    FastHttpUser's requests wait for one of its ``concurrency`` connections."""

    max_redirects: int = 30
    """Redirects followed per request (``allow_redirects=False`` follows none)."""

    max_retries: int = 0
    """Times a timed-out request of an idempotent method is sent again before it counts as failed."""

    default_headers: Mapping[str, str] | None = None
    """Headers sent with every request, under any given per request."""

    insecure: bool = True
    """https without checking the server's certificate (self-signed test deployments), as FastHttpUser does by
    default. False verifies against the system's root certificates."""

    client_pool: ConnectionPool | None = None
    """Connections shared by every user of the class (``ConnectionPool()``); None: each user has its own."""

    proxy_host: str | None = None
    """An HTTP proxy every request goes through (with ``proxy_port``), as FastHttpUser's: http requests are sent
    to it in absolute form, https ones through a ``CONNECT`` tunnel to the target (TLS end to end). A proxy that
    refuses the tunnel makes the request fail with a ``ConnectionError`` naming the proxy and its status."""

    proxy_port: int | None = None
    """The proxy's port; needed with ``proxy_host``."""

    proxy_user: str | None = None
    proxy_password: str | None = None
    """Basic credentials for the proxy (FastHttpUser has no attribute for them; its session takes them as
    keywords, as this one does)."""

    client_cert: str | None = None
    """Path to a PEM file with the client's certificate chain (leaf first), presented to servers that ask for one
    (mutual TLS). The key is read from ``client_key``, or from this file when that is None."""

    client_key: str | None = None
    """Path to a PEM file with ``client_cert``'s private key (PKCS#8, PKCS#1 or SEC1, unencrypted)."""

    ca_bundle: str | None = None
    """Path to a PEM file of CA certificates trusted for servers besides the system's roots (a private CA). Given,
    servers are verified whatever ``insecure`` says."""

    ssl_context_factory: Callable[..., Any] | None = None
    """Not supported: an ``ssl.SSLContext`` cannot be handed to the native TLS engine; setting it stops the user
    with a clear error naming ``client_cert``, ``client_key`` and ``ca_bundle``, which do what it is used for."""

    client: NativeHttpSession

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        _plugin.install(environment).get(FdLimit).user_created()
        if self.host is None:
            raise StopTest(
                "You must specify the base host. Either in the host attribute in the User class, or on the command "
                "line using the --host option."
            )
        self.client = NativeHttpSession(
            self.host,
            environment.events.request,
            user=self,
            insecure=self.insecure,
            client_pool=self.client_pool,
            ssl_context_factory=self.ssl_context_factory,
            network_timeout=self.network_timeout,
            connection_timeout=self.connection_timeout,
            max_redirects=self.max_redirects,
            max_retries=self.max_retries,
            concurrency=self.concurrency,
            default_headers=self.default_headers,
            proxy_host=self.proxy_host,
            proxy_port=self.proxy_port,
            proxy_user=self.proxy_user,
            proxy_password=self.proxy_password,
            client_cert=self.client_cert,
            client_key=self.client_key,
            ca_bundle=self.ca_bundle,
        )

