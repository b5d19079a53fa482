"""The Rust core of pushpop-load (``pushpop_load._native``). Import from ``pushpop_load`` instead."""

from typing import Callable, Final, final

__all__ = [
    "HdrStats",
    "HttpResult",
    "InvalidResponseError",
    "PushpopError",
    "RequestOptions",
    "__version__",
    "build_profile",
    "http_cancel",
    "http_drain",
    "http_fileno",
    "http_in_flight",
    "http_request_blocking",
    "http_submit",
    "run_cli",
]

__version__: Final[str]
"""The package version, from Cargo.toml."""

build_profile: Final[str]
"""``"release"`` or ``"debug"``: which Rust profile built this module. Benchmarks refuse a debug build."""

class PushpopError(Exception):
    """Base of pushpop-load's own exceptions."""

class InvalidResponseError(ConnectionError):
    """The server's answer was not valid HTTP, or redirected too often."""

def run_cli(argv: list[str]) -> int:
    """Runs the ``pushpop-load`` command line (``argv[0]`` is the program name) and returns its exit code.

    The GIL is released for the whole run. Subcommands that run until stopped handle SIGINT and SIGTERM themselves.
    """

@final
class HttpResult:
    """A finished request: a response (any status) or a transport error."""

    @property
    def status(self) -> int:
        """HTTP status, 0 when no response arrived."""
    @property
    def content(self) -> bytes:
        """The body (a new ``bytes`` on every access: keep it)."""
    @property
    def length(self) -> int:
        """Body size in bytes."""
    @property
    def headers(self) -> list[tuple[str, str]]:
        """Response headers in order, repeated names kept."""
    @property
    def url(self) -> str: ...
    @property
    def error(self) -> BaseException | None:
        """The transport error as an exception instance (ConnectionRefusedError, TimeoutError, ...), or None."""
    @property
    def elapsed_ms(self) -> float:
        """Milliseconds from the start of the request to the last body byte (or the failure)."""
    @property
    def first_byte_ms(self) -> float:
        """Milliseconds from the start of the request to the response headers."""
    @property
    def queued_ms(self) -> float:
        """Milliseconds the request waited for a runtime thread before it started."""

@final
class RequestOptions:
    """How requests are sent, made once per session: whole-request ``timeout`` and ``connect_timeout`` in seconds
    (None: no limit / the engine's 60 s), redirects to follow, and https without certificate checks."""

    def __init__(
        self,
        timeout: float | None = None,
        max_redirects: int = 30,
        insecure: bool = False,
        connect_timeout: float | None = None,
    ) -> None:
        """Raises ValueError for a timeout that is not a positive number of seconds."""

def http_submit(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    options: RequestOptions,
    token: Callable[[HttpResult], object],
) -> int:
    """Starts a request and returns its ticket at once; ``token`` comes back from ``http_drain`` with the result.

    Raises ValueError for a bad URL, method or header.
    """

def http_drain() -> list[tuple[Callable[[HttpResult], object], HttpResult]]:
    """Every finished request since the last call, as ``(token, HttpResult)``."""

def http_cancel(ticket: int) -> bool:
    """Abandons a request; True if it was still in flight."""

def http_in_flight() -> int:
    """Requests of this process submitted and neither drained nor cancelled."""

def http_fileno() -> int:
    """The eventfd (of this process) that turns readable when ``http_drain`` has results."""

def http_request_blocking(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    options: RequestOptions,
) -> HttpResult:
    """Runs one request and waits for it with the GIL released: for callers without gevent."""
