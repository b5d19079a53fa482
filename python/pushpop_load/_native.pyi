"""The Rust core of pushpop-load (``pushpop_load._native``). Import from ``pushpop_load`` instead."""

from typing import Final, final

__all__ = [
    "HdrStats",
    "HttpResult",
    "InvalidResponseError",
    "PushpopError",
    "__version__",
    "build_profile",
    "http_cancel",
    "http_drain",
    "http_fileno",
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

def http_submit(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    timeout: float | None,
    max_redirects: int,
    insecure: bool,
    token: object,
) -> int:
    """Starts a request and returns its ticket at once; ``token`` comes back from ``http_drain`` with the result.
    ``insecure``: https without checking the server's certificate.

    Raises ValueError for a bad URL, method or header, or a non-positive timeout.
    """

def http_drain() -> list[tuple[object, HttpResult]]:
    """Every finished request since the last call, as ``(token, HttpResult)``."""

def http_cancel(ticket: int) -> bool:
    """Abandons a request; True if it was still in flight."""

def http_fileno() -> int:
    """The eventfd (of this process) that turns readable when ``http_drain`` has results."""

def http_request_blocking(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    timeout: float | None,
    max_redirects: int,
    insecure: bool,
) -> HttpResult:
    """Runs one request and waits for it with the GIL released: for callers without gevent."""

@final
class HdrStats:
    """Response times per (method, name) in an HDR histogram each (microsecond resolution, 3 significant digits),
    for the whole run and per second."""

    def __init__(self) -> None: ...
    def record(self, method: str, name: str, milliseconds: float, failed: bool) -> None:
        """Records one response time in milliseconds, in the run's total and in the current second."""
    def record_items(self, method: str, name: str, count: int) -> None:
        """Adds ``count`` queue items to an entry (what a pop returned)."""
    def report_json(self) -> str:
        """The samples since the last report, as JSON, and a fresh start: what a worker sends its master."""
    def merge_report_json(self, report: str) -> None:
        """Adds a report made by ``report_json`` in another process. ValueError if it cannot be read."""
    def snapshot_json(self) -> str:
        """Everything recorded in all, as a JSON snapshot (sparse histograms)."""
    def summaries_json(self) -> str:
        """Exact figures per (method, name) as JSON: count, failures, items, min/mean/max and Locust's
        percentiles, in ms."""
    def intervals_json(self) -> str:
        """The per-second timeline as JSON rows: second, method, name, count, failures, items, p50/p95/p99/max."""
    def clear(self) -> None: ...
