"""The Rust core of pushpop-load (``pushpop_load._native``). Import from ``pushpop_load`` instead."""

from typing import Callable, Final, Literal, Mapping, Sequence, final

__all__ = [
    "HdrStats",
    "HttpResult",
    "IntegrityLedger",
    "InvalidResponseError",
    "MonitorError",
    "OpenModel",
    "PrepopulateError",
    "PrepopulateReport",
    "PushpopError",
    "RequestOptions",
    "ResourceMonitor",
    "__version__",
    "build_profile",
    "http_cancel",
    "http_close_idle",
    "http_drain",
    "http_fileno",
    "http_flush",
    "http_in_flight",
    "http_request_blocking",
    "http_submit",
    "json_dumps",
    "prepopulate",
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

def run_cli(argv: list[str], default_sigint: bool = False) -> int:
    """Runs the ``pushpop-load`` command line (``argv[0]`` is the program name) and returns its exit code.

    The GIL is released for the whole run. Subcommands that run until stopped handle SIGINT and SIGTERM themselves.
    ``default_sigint`` (the console command) first restores SIGINT's default action, so that Python's handler does
    not raise KeyboardInterrupt once the call returns.
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
) -> tuple[int, bool]:
    """Submits a request and returns at once with its ticket and whether the caller must arrange one
    ``http_flush()`` soon (at the end of its loop's iteration). A request starts at once when the engine's thread is
    quiet; within 50 µs of the last start it is queued, and the queue starts at the flush, in one hand-off to that
    thread. ``token`` comes back from ``http_drain`` with the result.

    Raises ValueError for a bad URL, method or header.
    """

def json_dumps(obj: object) -> bytes | None:
    """``json.dumps(obj).encode()``, byte for byte, for plain dicts, lists, tuples, strings, numbers, booleans and
    None; None for anything else (subclasses, non-string keys, integers beyond 64 bits, lone surrogates, nesting
    deeper than 64), which the caller hands to ``json.dumps``."""

def http_flush() -> None:
    """Starts every request queued by ``http_submit``."""

def http_drain() -> list[tuple[Callable[[HttpResult], object], HttpResult]]:
    """Every finished request since the last call, as ``(token, HttpResult)``."""

def http_cancel(ticket: int) -> bool:
    """Abandons a request; True if it was still in flight."""

def http_in_flight() -> int:
    """Requests of this process submitted and neither drained nor cancelled."""

def http_close_idle() -> int:
    """Closes the engine's idle keep-alive connections (requests in flight keep theirs); how many it closed."""

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

class PrepopulateError(PushpopError):
    """The prepopulator could not finish; ``stored`` says how many items the service acknowledged."""

    stored: int

@final
class PrepopulateReport:
    """What a finished prepopulation did."""

    @property
    def pushed(self) -> int:
        """Pushes the service acknowledged, over all queues."""
    @property
    def requested(self) -> int:
        """Items asked for, over all queues."""
    @property
    def queues(self) -> list[str]: ...
    @property
    def per_queue(self) -> dict[str, int]: ...
    @property
    def by_priority(self) -> dict[int, int]: ...
    @property
    def retried(self) -> int:
        """Attempts beyond the first, over all pushes."""
    @property
    def uncertain(self) -> dict[str, list[int]]:
        """Per queue (only queues that have some), the sequence numbers of pushes retried after an attempt whose
        outcome was unknown (a timeout, a connection lost after sending): each may be in its queue twice."""
    @property
    def elapsed(self) -> float:
        """Seconds from the first push to the last answer."""
    @property
    def rate(self) -> float:
        """Acknowledged pushes per second."""
    @property
    def verified(self) -> bool: ...
    @property
    def verification(self) -> Literal["stats", "acknowledged"]:
        """``"stats"``: the queues' depths (``GET /queue/{id}/stats``, reference target) before and after match the
        acknowledged pushes; ``"acknowledged"``: no such extension (or ``verify=False``), the count of acknowledged
        pushes."""
    @property
    def depths(self) -> dict[str, int] | None:
        """Each queue's depth after the run, from the target's stats (None without them)."""
    @property
    def producer(self) -> int:
        """The integrity marker's producer id of every item pushed."""
    @property
    def size(self) -> str: ...
    def to_json(self) -> str:
        """The report as JSON, as ``pushpop-load prepopulate --json`` writes it."""

def prepopulate(
    host: str,
    queues: str | Sequence[str],
    items: int | str,
    *,
    priorities: Sequence[int] | None = None,
    weights: Mapping[int, int] | Sequence[tuple[int, int]] | str | None = None,
    size: str = "small",
    connections: int = 64,
    retries: int = 5,
    timeout: float = 10.0,
    verify: bool = True,
    progress: bool | None = None,
    producer: int | None = None,
    insecure: bool = False,
    threads: int | None = None,
) -> PrepopulateReport:
    """Fills each queue with ``items`` items (``10000`` or ``"10k"``) carrying the integrity marker, sized to the byte
    like the seed's ``small``/``medium``/``large`` items, over ``connections`` connections at the target's full
    speed; the GIL is released meanwhile. ``priorities`` are used in turn (default ``(0,)``), or ``weights``
    (``{0: 5, 1: 3}`` or ``"0:5,1:3"``) interleave them in proportion. A 5xx, a connection error or a timeout is
    retried up to ``retries`` times with exponential backoff; a 4xx stops the run. ``progress``: None shows a bar
    when stderr is a terminal, True also log lines elsewhere, False nothing.

    Raises ValueError for bad arguments, PrepopulateError when the run cannot finish (unreachable host, a rejected
    push, retries exhausted, depths that do not match), KeyboardInterrupt on Ctrl-C (in-flight pushes finish).
    """

@final
class HdrStats:
    """Response times per (method, name) in an HDR histogram each (microsecond resolution, 3 significant digits),
    for the whole run and per second. Thread-safe."""

    def __init__(self) -> None: ...
    def record(self, method: str, name: str, milliseconds: float, failed: bool) -> None:
        """Records one response time in milliseconds, in the run's total and in the current second."""
    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        response_length: int | None = None,
        response: object = None,
        context: object = None,
        exception: BaseException | None = None,
        start_time: float | None = None,
        url: str | None = None,
        **extra: object,
    ) -> None:
        """``events.request``'s listener: records the sample (a failure when ``exception`` is set); a sample with
        no ``response_time`` is skipped."""
    def record_items(self, method: str, name: str, count: int) -> None:
        """Adds ``count`` queue items to an entry (what a pop returned)."""
    def report_json(self) -> str:
        """The samples since the last report, as JSON, and a fresh start: what a worker sends its master."""
    def merge_report_json(self, report: str) -> None:
        """Adds a report made by ``report_json`` in another process. Raises PushpopError for a malformed one."""
    def snapshot_json(self) -> str:
        """Everything recorded in all, as a JSON snapshot (sparse histograms)."""
    def summaries_json(self) -> str:
        """Exact figures per (method, name) as JSON: count, failures, items, min/mean/max and Locust's
        percentiles (ms)."""
    def intervals_json(self) -> str:
        """The per-second timeline as JSON rows: second, method, name, count, failures, items, p50/p95/p99/max."""
    def clear(self) -> None:
        """Forgets everything recorded."""

@final
class IntegrityLedger:
    """The queue integrity checker of one process (thread-safe): markers for pushed items, acknowledgements, checked
    pops, and a report of lost, duplicated, out-of-order and foreign items. Report format: docs/INTEGRITY.md."""

    def __init__(self) -> None: ...
    @staticmethod
    def new_producer() -> int:
        """A producer id unique across processes and machines (random high bits and a counter), below 2**53."""
    def marker(self, queue: str, producer: int, priority: int) -> list[int]:
        """``[producer, seq, priority, push_us]``, the item's ``"_pp"`` field: seqs run 0, 1, 2, ... per (queue,
        producer), and the item counts as sent."""
    def acked(self, queue: str, producer: int, seq: int) -> None:
        """The push succeeded: the item is stored."""
    def rejected(self, queue: str, producer: int, seq: int) -> None:
        """The push failed for certain (a 4xx): the item is not stored."""
    def indeterminate(self, queue: str, producer: int, seq: int) -> None:
        """The push's outcome is unknown (timeout, reset, 5xx): the item may or may not be stored."""
    def interrupted_pop(self, queue: str, depth: int) -> None:
        """A pop of up to ``depth`` items whose answer will never be read (Locust stopped the user mid-pop): up to
        ``depth`` acknowledged items of ``queue`` never seen popped count as taken by it, not as lost."""
    def exempt_from_order(self, producer: int) -> None:
        """No FIFO check for ``producer``'s items: another process (a master that prepopulated) stored them over
        many connections at once, so their seqs promise no order."""
    def acked_range(self, queue: str, producer: int, start: int, end: int) -> None:
        """Seqs ``start..end`` (end excluded) were stored by another tool (the prepopulator): sent and acknowledged.

        Raises ValueError when start > end, end > 2**53, or the range holds more than 2**32 seqs.
        """
    def retried(self, queue: str, producer: int, seq: int) -> None:
        """An acknowledged push whose earlier attempt had an unknown outcome: one extra copy is tolerated."""
    def check_pop(self, queue: str, body: bytes, start_us: int, end_us: int) -> int:
        """Checks a pop answer (``{"items": [...], "count": n}`` or ``{"item": ...}``) from a pop that ran from
        ``start_us`` to ``end_us`` (unix microseconds); returns how many items it held.

        Raises ValueError for a body in neither shape (and records nothing).
        """
    def queues(self) -> list[str]:
        """Queues this process pushed to, sorted: what the drain at test stop empties."""
    def take_delta_json(self) -> str:
        """The mergeable state since the last call, as JSON, and a fresh start for it (seq counters and order
        trackers stay): what a worker sends its master."""
    def absorb_json(self, delta: str) -> None:
        """Merges a delta from ``take_delta_json`` of another process. Raises ValueError for one that cannot be
        read (and merges nothing)."""
    def report_json(self, drained: bool) -> str:
        """The report as JSON (``"version": 1``). ``drained``: the queues were emptied at the end, so an
        acknowledged item never popped is lost; otherwise ``lost`` is null and ``unpopped`` counts them."""
    def summary_text(self, drained: bool) -> str:
        """The report as a few lines for a terminal."""
    def clear(self) -> None:
        """Forgets everything, seq counters and order trackers included."""

class MonitorError(PushpopError):
    """The resource monitor could not start (PostgreSQL did not answer, a role could not read its views) or could not
    write its files. Messages never carry a password."""

@final
class ResourceMonitor:
    """Samples processes, cgroups v2, Docker containers, PostgreSQL and the load generator on a Rust thread of its
    own, one row per ``interval`` at whole multiples of it in unix time (the clock of Locust's
    ``_stats_history.csv``). A source that goes away leaves empty cells (``None``, never zeros) and one note, and is
    sampled again when it returns. Columns are ``"<source> <metric>"``, e.g. ``"pid:1234 cpu_pct"``,
    ``"postgres:app commits_per_s"``; docs/MONITOR.md lists them."""

    def __init__(self) -> None: ...
    def start(
        self,
        *,
        interval: float | str | None = None,
        pids: Sequence[int] = (),
        processes: Sequence[str] = (),
        cmdlines: Sequence[str] = (),
        cgroups: Sequence[str] = (),
        containers: Sequence[str] = (),
        postgres: Sequence[str] = (),
        generator: int | None = None,
        docker_host: str | None = None,
        csv: str | None = None,
        json: str | None = None,
    ) -> None:
        """Opens every source and starts sampling (the GIL is released meanwhile).

        ``interval``: seconds or ``"1s"``/``"100ms"`` (default 1 s, 10 ms to 1 h). ``pids``: processes that must
        exist now. ``processes``: names as ``ps`` shows them, each summed over its processes. ``cmdlines``:
        substrings of command lines, each summed. ``cgroups``: cgroup v2 directories. ``containers``: Docker names or
        ids (socket from ``docker_host`` as ``unix:///path``, else ``$DOCKER_HOST``, else /var/run/docker.sock; an
        absent socket is a note, not an error). ``postgres``: URLs, a ``pg_monitor`` role is enough. ``generator``:
        the load generator's PID, flagged above 90% CPU. ``csv``/``json``: files written at ``stop`` through
        temporary names.

        Raises ``ValueError`` for bad settings, a PID that does not exist, a missing cgroup or a malformed URL;
        ``MonitorError`` when PostgreSQL does not answer or a file cannot be created.
        """

    @property
    def running(self) -> bool: ...
    @property
    def columns(self) -> list[str]:
        """Every column of a row, in order (the CSV has ``Timestamp`` and ``Time`` before them)."""

    def sources(self) -> list[dict[str, object]]:
        """``[{"kind", "label", "metrics"}]`` in column order."""

    def latest(self) -> dict[str, object] | None:
        """The last row: ``{"unix": float, "timestamp": int, "values": {column: float | None}}``; None before the
        first tick or when not running."""

    def take_notes(self) -> list[tuple[float, str]]:
        """Notes since the last call, ``(unix, text)``: a source went away, came back, cannot be read in part."""

    def stop(self) -> dict[str, object]:
        """Stops sampling, renames the CSV into place, writes the JSON summary and returns it: ``samples``,
        ``columns``, ``metrics`` (``[{"column", "source", "metric", "peak", "mean", "samples", "gaps"}]``),
        ``generator`` (``{"pid", "peak_cpu_pct", "mean_cpu_pct", "threshold_pct", "saturated_samples",
        "saturated"}`` or None), ``notes``. ``ValueError`` when not running."""

    def stop_json(self) -> str:
        """``stop`` returning the summary as JSON text."""

class OpenModel:
    """Starts pushes and pops on an arrival-rate schedule from its own thread (``pushpop_load.openmodel``)."""

    def __init__(
        self,
        base_url: str,
        schedule: str,
        *,
        share: float = 1.0,
        duration: float | None = None,
        max_in_flight: int = 1000,
        push_weight: int = 1,
        pop_weight: int = 1,
        item_bytes: int = 100,
        priorities: list[int] = [0],
        pop_depth: int = 1,
        queues: list[str],
        timeout: float = 60.0,
        connect_timeout: float = 60.0,
        late_after: float = 0.005,
        insecure: bool = True,
        push_name: str = "/queue/[id]/push",
        pop_name: str = "/queue/[id]/pop",
        ledger: IntegrityLedger | None = None,
        producer: int = 0,
    ) -> None: ...
    @staticmethod
    def check_schedule(schedule: str) -> None:
        """Raises ``ValueError`` (saying why) unless ``schedule`` is a schedule the driver runs."""
    def stop(self) -> None:
        """Starts no more requests; those in flight finish or time out."""
    def running(self) -> bool:
        """Whether requests are still being started or waited for."""
    def join(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for the driver to end; whether it did."""
    def drain_into(self, stats: HdrStats) -> str:
        """Moves the records since the last call into ``stats`` and returns Locust's aggregates as JSON."""
    def counters_json(self) -> str:
        """scheduled, started, late, dropped, completed, in_flight, max_lag_us, as JSON."""
