"""The request path shared by ``NativeHttpUser``'s session and the scripting ``Client``: a call's arguments become a
``PreparedRequest``, the native engine (a tokio runtime in this process) runs it, and the caller waits in one of
three ways — a gevent greenlet (``wait_gevent``), an asyncio task (``wait_async``) or a plain thread
(``wait_blocking``) — for a ``Response``.

No Locust here: importing Locust monkey-patches the whole process for gevent, which a script must not pay for.
gevent itself is imported only by the first gevent wait.

The engine signals finished requests on one eventfd. In gevent, one io watcher on it in the hub drains every
finished request in one native call and switches straight into each waiting greenlet; in asyncio, a reader on the
loop resolves each request's future. The token a request carries is the callable that delivers its result, so
either loop may drain for both.
"""

from __future__ import annotations

import asyncio as _asyncio
import json as _json
import logging as _logging
import os as _os
import sys as _sys
import weakref as _weakref
import zlib as _zlib
from base64 import b64encode as _b64encode
from functools import lru_cache as _lru_cache
from http import HTTPStatus as _HTTPStatus
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import urlencode as _urlencode

from requests.structures import CaseInsensitiveDict

from pushpop_load import _native

__all__ = [
    "UNSET",
    "HttpStatusError",
    "PreparedRequest",
    "RequestBuilder",
    "RequestDefaults",
    "Response",
    "close_idle_connections",
    "decoded",
    "drain_and_deliver",
    "in_gevent",
    "lines",
    "wait_async",
    "wait_blocking",
    "wait_gevent",
]

_logger = _logging.getLogger(__name__)

USER_AGENT = f"pushpop-load/{_native.__version__}"
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
# FastHttpUser's (geventhttpclient's) types for bodies sent without a Content-Type
_TYPED_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
_TYPED_TEXT_HEADERS = {"Content-Type": "text/plain; charset=utf-8"}
_TYPED_BYTES_HEADERS = {"Content-Type": "application/octet-stream"}

UNSET: Any = object()
"""A keyword not given (``None`` is a value: no timeout)."""


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


class PreparedRequest:
    """A request as the engine takes it: method, full URL, header list, body bytes (``content``) and the native
    options. ``headers`` reads the list as a case-insensitive mapping and ``body`` gives the body as it was given
    (text stays text), as ``response.request`` does on Locust's clients. ``checked``: the header list and its
    ``HeaderList`` made once by the builder, sent in its place while ``header_list`` is still that same list (a
    session's fixed headers are then not converted and checked again per request)."""

    __slots__ = ("method", "url", "header_list", "content", "options", "text", "checked")

    def __init__(self, method: str, url: str, header_list: list[tuple[str, str]], content: bytes | None,
                 options: Any, text: bool = False, checked: tuple[list[tuple[str, str]], Any] | None = None) -> None:
        self.method = method
        self.url = url
        self.header_list = header_list
        self.content = content
        self.options = options
        self.text = text
        self.checked = checked

    def native_headers(self) -> Any:
        """What the engine is given for the headers: the ``HeaderList`` made for ``header_list``, else the list."""
        checked = self.checked
        if checked is not None and checked[0] is self.header_list:
            return checked[1]
        return self.header_list

    @property
    def headers(self) -> CaseInsensitiveDict:
        return CaseInsensitiveDict(self.header_list)

    @property
    def body(self) -> str | bytes | None:
        if self.text and self.content is not None:
            return self.content.decode()
        return self.content

    payload = body
    """The body, under the name Locust's ``FastRequest`` also gives it."""

    def __repr__(self) -> str:
        return f"<PreparedRequest [{self.method} {self.url}]>"


class Response:
    """What a request returned: a response with any status, or a transport failure (``status_code`` 0, ``error``
    set, ``content`` and ``text`` None). The body is copied out of Rust on first use, and decoded when the server
    sent it compressed (``Content-Encoding`` gzip, deflate or br). A body that does not decode makes the response
    a failure: ``content`` and ``text`` None, ``error`` the decoder's (``zlib.error``, ``brotli.error``)."""

    # what every response starts with, on the class: a response is made per request, and six fewer attributes set
    # per response are measurable there
    _content: bytes | None = None
    _headers: CaseInsensitiveDict | None = None
    _encoding: str | None = None
    _undecodable = False
    # a streamed answer's body, still on its connection: read by iter_content, or whole by content
    _streaming = False
    _stream_timeout: float | None = None

    def __init__(self, result: Any, method: str, request: PreparedRequest | None = None) -> None:
        self._result = result
        self.method = method
        self.request = request
        self.status_code: int = result.status
        self.error: BaseException | None = result.error

    @property
    def url(self) -> str:
        """The URL that answered: the request's, or the last redirect's target."""
        return self._result.url

    @property
    def reason(self) -> str:
        """The status's standard reason phrase (empty for a status without one, or no status)."""
        try:
            return _HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""

    @property
    def content(self) -> bytes | None:
        if self._content is None:
            if self.status_code == 0:
                return None
            raw = self._result.content
            if self._streaming:
                self._streaming = False
                raw = b"".join(self._pieces(1 << 20))
            if self._result.attention:
                try:
                    raw = decoded(raw, self.headers.get("content-encoding"))
                except Exception as error:  # noqa: BLE001 - whatever the decoder raises (zlib.error, brotli.error)
                    self.error = error
                    self._undecodable = True
                    return None
            self._content = raw
        return self._content

    @property
    def text(self) -> str | None:
        content = self.content
        return None if content is None else content.decode(self.encoding, errors="replace")

    @property
    def encoding(self) -> str:
        """The charset the ``Content-Type`` names, else utf-8; set it before reading ``text`` to read otherwise."""
        if self._encoding is not None:
            return self._encoding
        content_type = self.headers.get("content-type", "")
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip('"')
        return "utf-8"

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._encoding = value

    def json(self) -> Any:
        # the text, not the bytes: a charset other than UTF-8 is read as Content-Type says, as FastResponse does
        return _json.loads(self.text)  # type: ignore[arg-type]

    def stream_body(self, timeout: float | None) -> None:
        """This response's body is still on its connection (a request made with ``stream=True``): ``iter_content``
        reads it piece by piece, each read within ``timeout`` seconds."""
        self._streaming = bool(self.status_code)
        self._stream_timeout = timeout

    def _pieces(self, chunk_size: int) -> Iterator[bytes]:
        while piece := read_gevent(self._result, chunk_size, self._stream_timeout):
            yield piece

    def _streamed(self, chunk_size: int) -> Iterator[bytes]:
        """The streamed body read as it arrives, its ``Content-Encoding`` undone piece by piece."""
        self._streaming = False
        decoder = _decoder(self.headers.get("content-encoding"))
        for piece in self._pieces(chunk_size):
            piece = decoder(piece) if decoder else piece
            if piece:
                yield piece

    def iter_content(self, chunk_size: int = 1024, decode_content: bool = True) -> Iterator[bytes | str]:
        """The body in pieces of at most ``chunk_size`` bytes, read as they arrive for a streamed request (memory
        stays at one piece); with ``decode_content``, each piece that is valid UTF-8 as text, as Locust's
        ``FastResponse.iter_content`` gives them."""
        if self._streaming:
            chunks: Iterable[bytes] = self._streamed(max(1, chunk_size))
        else:
            content = self.content or b""
            chunks = (content[start:start + chunk_size] for start in range(0, len(content), max(1, chunk_size)))
        for chunk in chunks:
            if decode_content:
                try:
                    yield chunk.decode("utf-8")
                    continue
                except UnicodeDecodeError:
                    pass
            yield chunk

    def iter_lines(self) -> Iterator[str]:
        """The body's lines (without their ``\\n``), the last one even when no newline ends it."""
        return lines(self.iter_content())

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
        """The request's start on the engine's thread to its last body byte, in milliseconds, as measured in Rust."""
        return self._result.elapsed_ms

    @property
    def first_byte_ms(self) -> float:
        return self._result.first_byte_ms

    @property
    def queued_ms(self) -> float:
        """How long the request waited before it started on the engine's thread (not part of ``elapsed_ms``)."""
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


def decoded(body: bytes, content_encoding: str | None) -> bytes:
    """``body`` with its ``Content-Encoding`` undone (gzip, deflate — zlib-wrapped or raw — and br); other codings,
    and none, as they are."""
    coding = (content_encoding or "").strip().lower()
    if not body or coding in ("", "identity"):
        return body
    if coding in ("gzip", "x-gzip"):
        return _zlib.decompress(body, 16 + _zlib.MAX_WBITS)
    if coding == "deflate":
        try:
            return _zlib.decompress(body)
        except _zlib.error:
            # servers that send raw deflate without the zlib wrapper, which the name also covers in practice
            return _zlib.decompress(body, -_zlib.MAX_WBITS)
    if coding == "br":
        import brotli  # geventhttpclient's dependency, so Locust's: present wherever a locustfile runs

        return brotli.decompress(body)
    return body


def _decoder(content_encoding: str | None) -> Any:
    """A function undoing ``content_encoding`` piece by piece (None for none), as ``decoded`` does for a whole
    body."""
    coding = (content_encoding or "").strip().lower()
    if coding in ("gzip", "x-gzip"):
        return _zlib.decompressobj(16 + _zlib.MAX_WBITS).decompress
    if coding == "deflate":
        wrapped = _zlib.decompressobj()
        state: dict[str, Any] = {}

        def inflate(piece: bytes) -> bytes:
            # zlib-wrapped, or raw deflate from servers that leave the wrapper out: the first piece tells
            if "raw" not in state:
                try:
                    out = wrapped.decompress(piece)
                    state["raw"] = None
                    return out
                except _zlib.error:
                    state["raw"] = _zlib.decompressobj(-_zlib.MAX_WBITS)
            decoder = state["raw"]
            return decoder.decompress(piece) if decoder is not None else wrapped.decompress(piece)

        return inflate
    if coding == "br":
        import brotli

        return brotli.Decompressor().process
    return None


def lines(chunks: Iterable[bytes | str]) -> Iterator[str]:
    """The lines of a body given in pieces (bytes read as UTF-8), the last one even when no newline ends it."""
    buffer = ""
    for chunk in chunks:
        buffer += chunk.decode("utf-8", errors="replace") if isinstance(chunk, bytes) else chunk
        while "\n" in buffer:
            line, buffer = buffer.split("\n", 1)
            yield line
    if buffer:
        yield buffer


class RequestDefaults:
    """A session's request settings, and the native options object built from them once: a call passes that same
    object unless it overrides the timeout or turns redirects off. ``pool`` names the connection pool (0: the
    process's shared one); ``native`` holds the TLS files (``client_cert``, ``client_key``, ``ca_bundle``), read when
    the options are made, so that a file that cannot be used raises ``ValueError`` here, naming it, and the proxy's
    ``proxy_authorization``."""

    def __init__(
        self, timeout: float | None, max_redirects: int, insecure: bool, connect_timeout: float | None,
        pool: int = 0, proxy: str | None = None, **native: str | None,
    ) -> None:
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.insecure = insecure
        self.connect_timeout = connect_timeout
        self.pool = pool
        self.proxy = proxy
        self.native = native
        self.options = _native.RequestOptions(timeout, max_redirects, insecure, connect_timeout, pool, proxy,
                                              **native)

    def for_call(self, timeout: float | None = UNSET, allow_redirects: bool = True, stream: bool = False) -> Any:
        """``stream``: the request returns once the answer's head is read, its body left to ``read_gevent``."""
        if timeout is UNSET and allow_redirects and not stream:
            return self.options
        return _native.RequestOptions(
            self.timeout if timeout is UNSET else timeout,
            self.max_redirects if allow_redirects else 0,
            self.insecure,
            self.connect_timeout,
            self.pool,
            self.proxy,
            **self.native,
            stream=stream,
        )


class RequestBuilder:
    """Turns a call's arguments into a ``PreparedRequest``: the full URL, the header list and the body. The header
    lists of the common cases are built once; merging dictionaries per request would cost more than the rest of
    the Python side of a request."""

    def __init__(self, base_url: str, default_headers: Mapping[str, str] | None = None,
                 typed_bodies: bool = False) -> None:
        """``typed_bodies``: a body sent without a ``Content-Type`` gets FastHttpUser's (text, bytes, form)."""
        self.base_url = base_url.rstrip("/")
        base = {"User-Agent": USER_AGENT, **(default_headers or {})}
        self._base = CaseInsensitiveDict(base)
        self._plain = self._checked(list(base.items()))
        self._json = self._checked(self._merged(_JSON_HEADERS))
        self._form_headers = _TYPED_FORM_HEADERS if typed_bodies else _FORM_HEADERS
        self._form = self._checked(self._merged(self._form_headers))
        self._typed = typed_bodies
        self._text = self._checked(self._merged(_TYPED_TEXT_HEADERS))
        self._bytes = self._checked(self._merged(_TYPED_BYTES_HEADERS))
        # a call's own headers and auth over the defaults, per distinct (body kind, headers, auth): a locustfile
        # passes the same few on every call, and merging them cost 6 µs of a ~16 µs request (`headers=` on a text
        # body, timeit); at most _CALL_HEADERS_KEPT, so calls whose headers never repeat merge each time
        self._calls: dict[tuple[Any, ...], tuple[tuple[list[tuple[str, str]], Any], bool]] = {}

    @staticmethod
    def shared(base_url: str, default_headers: Mapping[str, str] | None = None,
               typed_bodies: bool = False) -> RequestBuilder:
        """One builder for every session of the same base URL and default headers: a builder is not changed once
        made, and its header lists and their checked copies are 2.3 KiB a session (tracemalloc, 2,000 sessions),
        a third of what a user's client held in Python."""
        try:
            return _shared_builder(base_url, tuple((default_headers or {}).items()), typed_bodies)
        except TypeError:  # a header value that cannot be a key: this session's own builder
            return RequestBuilder(base_url, default_headers, typed_bodies)

    def _merged(self, *layers: Mapping[str, str] | None) -> list[tuple[str, str]]:
        merged = CaseInsensitiveDict(self._base)
        for layer in layers:
            merged.update(layer or {})
        return list(merged.items())

    @staticmethod
    def _checked(header_list: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], Any]:
        """``header_list`` and its ``HeaderList``; a header that cannot be sent leaves the list alone, to fail each
        request that sends it, as it would without this."""
        try:
            return header_list, _native.HeaderList(header_list)
        except (ValueError, TypeError):
            return header_list, header_list

    def url(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        return f"{self.base_url}{url if url.startswith('/') else '/' + url}"

    def build(
        self,
        method: str,
        url: str,
        options: Any,
        data: str | bytes | Mapping[str, Any] | None = None,
        json: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> PreparedRequest:
        built = self.url(url)
        if params:
            query = params if isinstance(params, str) else _urlencode(params, doseq=True)
            built = f"{built}{'&' if '?' in built else '?'}{query}"
        body: bytes | None = None
        text = False
        content_headers: Mapping[str, str] | None = None
        checked = self._plain
        typed_text = False
        if data:
            if isinstance(data, Mapping):
                body = _urlencode(data, doseq=True).encode()
                checked, content_headers = self._form, self._form_headers
            else:
                text = isinstance(data, str)
                body = data.encode() if text else bytes(data)  # type: ignore[union-attr, arg-type]
                if self._typed:
                    checked = self._text if text else self._bytes
                    content_headers = _TYPED_TEXT_HEADERS if text else _TYPED_BYTES_HEADERS
                    # FastRequest.body: the bytes sent when the type was added, the text as given when the caller
                    # named one
                    typed_text, text = text, False
        elif json is not None:
            text = True
            body = _native.json_dumps(json)
            if body is None:  # what only json.dumps can encode, or refuse with its own error
                body = _json.dumps(json).encode()
            checked, content_headers = self._json, _JSON_HEADERS
        if headers or auth is not None:
            checked, names_type = self._with_call_headers(checked, content_headers, headers, auth)
            text = text or (typed_text and names_type)
        return PreparedRequest(method, built, checked[0], body, options, text, checked)

    def _with_call_headers(self, checked: tuple[list[tuple[str, str]], Any], content_headers: Mapping[str, str] | None,
                           headers: Mapping[str, str] | None, auth: tuple[str, str] | None
                           ) -> tuple[tuple[list[tuple[str, str]], Any], bool]:
        """The header list (and its ``HeaderList``) of a call's own ``headers`` and ``auth`` over those of its body
        kind (``checked``, made from ``content_headers``), and whether the call's headers name a Content-Type."""
        try:
            key = (id(checked), tuple(headers.items()) if headers else (), auth)
            return self._calls[key]
        except KeyError:
            pass
        except TypeError:  # a value that cannot be a key: merged for this call only
            key = None
        basic = None
        if auth is not None:
            basic = {"Authorization": "Basic " + _b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()}
        made = (self._checked(self._merged(content_headers, basic, headers)),
                headers is not None and "content-type" in CaseInsensitiveDict(headers))
        if key is not None and len(self._calls) < _CALL_HEADERS_KEPT:
            self._calls[key] = made
        return made


_CALL_HEADERS_KEPT = 64


@_lru_cache(maxsize=256)
def _shared_builder(base_url: str, default_headers: tuple[tuple[str, str], ...], typed_bodies: bool) -> RequestBuilder:
    return RequestBuilder(base_url, dict(default_headers), typed_bodies)


def _submit(request: PreparedRequest, deliver: Any) -> tuple[int, bool]:
    """Hands ``request`` to the engine; its ticket, and whether the caller must arrange one ``http_flush`` soon."""
    return _native.http_submit(request.method, request.url, request.native_headers(), request.content,
                               request.options, deliver)


def drain_and_deliver() -> None:
    """Hands every finished request to its waiter (the callable its token is)."""
    for deliver, result in _native.http_drain():
        try:
            deliver(result)
        except Exception:  # noqa: BLE001
            # one broken waiter must not strand the others of the batch, whose results are already taken
            _logger.exception("pushpop-load: delivering a finished request failed")


def close_idle_connections() -> int:
    """Closes the engine's idle keep-alive connections (requests in flight keep theirs); how many it closed."""
    return _native.http_close_idle()


def in_gevent() -> bool:
    """Whether this process runs gevent's monkey-patched sockets (Locust does): blocking waits must then be
    greenlet waits, or they would stall every other greenlet."""
    monkey = _sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("socket")


def wait_blocking(request: PreparedRequest) -> Any:
    """Runs ``request`` and waits for it on this thread, the GIL released: for callers without gevent."""
    return _native.http_request_blocking(request.method, request.url, request.native_headers(), request.content,
                                         request.options)


class _GeventDispatch:
    """This process's io watcher on the engine's eventfd, in the gevent hub, and how many greenlets wait on it."""

    loop: Any = None
    watcher: Any = None
    waiting = 0
    Waiter: Any = None

    @classmethod
    def start(cls) -> Any:
        from gevent.hub import Waiter, get_hub

        cls.Waiter = Waiter
        cls.loop = get_hub().loop
        cls.watcher = cls.loop.io(_native.http_fileno(), 1)
        cls.watcher.start(drain_and_deliver)
        return cls.watcher

    @classmethod
    def forget(cls) -> None:
        # after a fork the child gets a new hub loop and a new engine: the parent's watcher means nothing here
        cls.loop = None
        cls.watcher = None
        cls.waiting = 0


def wait_gevent(request: PreparedRequest) -> Any:
    """Runs ``request``; this greenlet waits, the others run. A greenlet killed meanwhile (``GreenletExit``, a
    ``gevent.Timeout``) abandons its request."""
    # every request of a Locust user comes through here: the submission is written out rather than passed to
    # _wait_gevent as a function (three Python calls fewer per request)
    watcher = _GeventDispatch.watcher or _GeventDispatch.start()
    waiter = _GeventDispatch.Waiter()
    checked = request.checked
    headers = checked[1] if checked is not None and checked[0] is request.header_list else request.header_list
    ticket, later = _native.http_submit(request.method, request.url, headers, request.content, request.options,
                                        waiter.switch)
    return _waited(watcher, waiter, ticket, later)


def read_gevent(result: Any, max_bytes: int, timeout: float | None) -> bytes:
    """The next piece (at most ``max_bytes``) of a streamed answer's body (``result`` of a request made with
    ``stream=True``), this greenlet waiting meanwhile; ``b""`` once the body is through. Raises the transport error
    that ended the body early (a timeout between two pieces, a connection closed)."""

    if not getattr(result, "status", 0):
        return b""
    piece = _wait_gevent(_start_read, result, max_bytes, timeout)
    if piece is None:
        return b""
    if piece.error is not None:
        raise piece.error
    return piece.content


def _start_read(result: Any, max_bytes: int, timeout: float | None, deliver: Any) -> tuple[int, bool]:
    ticket = _native.http_read(result, max_bytes, timeout, deliver)
    return (0, False) if ticket is None else (ticket, False)


def _wait_gevent(start: Any, *args: Any) -> Any:
    """Waits for what ``start(*args, deliver)`` began (its ticket, and whether a flush must follow) and returns what
    was delivered; None when ``start`` began nothing (ticket 0: the engine's tickets start at 1)."""
    watcher = _GeventDispatch.watcher or _GeventDispatch.start()
    waiter = _GeventDispatch.Waiter()
    ticket, later = start(*args, waiter.switch)
    if ticket == 0:
        return None
    return _waited(watcher, waiter, ticket, later)


def _waited(watcher: Any, waiter: Any, ticket: int, later: bool) -> Any:
    """What ``waiter`` is given for the engine's ``ticket``; ``later``: the engine asked for a flush soon."""
    if later:
        # the engine started a batch moments ago: this one starts when the hub has run every greenlet that is
        # ready, just before it polls again
        _GeventDispatch.loop.run_callback(_native.http_flush)
    # The watcher keeps the hub's loop alive only while someone waits on it; otherwise an idle process could
    # never exit.
    if _GeventDispatch.waiting == 0:
        watcher.ref = True
    _GeventDispatch.waiting += 1
    try:
        return waiter.get()
    except BaseException:
        _native.http_cancel(ticket)
        raise
    finally:
        _GeventDispatch.waiting -= 1
        if _GeventDispatch.waiting == 0:
            watcher.ref = False


class _AsyncDispatch:
    """Per event loop: a reader on the engine's eventfd that resolves each finished request's future."""

    loops: _weakref.WeakSet = _weakref.WeakSet()

    @classmethod
    def ensure(cls, loop: _asyncio.AbstractEventLoop) -> None:
        if loop not in cls.loops:
            loop.add_reader(_native.http_fileno(), drain_and_deliver)
            cls.loops.add(loop)

    @classmethod
    def forget(cls) -> None:
        # a forked child has a new engine and eventfd: loops registered on the parent's fd must register again
        cls.loops = _weakref.WeakSet()


def _deliver_future(future: _asyncio.Future, result: Any) -> None:
    if not future.done():  # cancelled meanwhile
        future.set_result(result)


async def wait_async(request: PreparedRequest) -> Any:
    """Runs ``request``; this task waits, the event loop runs others. A cancelled task abandons its request."""
    loop = _asyncio.get_running_loop()
    _AsyncDispatch.ensure(loop)
    future = loop.create_future()
    ticket, later = _submit(request, lambda result: _deliver_future(future, result))
    if later:
        loop.call_soon(_native.http_flush)
    try:
        return await future
    except BaseException:
        _native.http_cancel(ticket)
        raise


_os.register_at_fork(after_in_child=lambda: (_GeventDispatch.forget(), _AsyncDispatch.forget()))
