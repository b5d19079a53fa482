"""The Rust core of pushpop-load (``pushpop_load._native``). Import from ``pushpop_load`` instead."""

import os
from typing import Any, Callable, Final, Literal, Mapping, Sequence, TypedDict, final

__all__ = [
    "HdrStats",
    "HeaderList",
    "HttpResult",
    "IntegrityLedger",
    "InvalidResponseError",
    "Marker",
    "MonitorError",
    "OpenModel",
    "PrepopulateError",
    "PrepopulateReport",
    "PushpopError",
    "RequestOptions",
    "ResourceMonitor",
    "Schedule",
    "__version__",
    "build_profile",
    "http_cancel",
    "http_close_idle",
    "http_drain",
    "http_fileno",
    "http_flush",
    "http_in_flight",
    "http_read",
    "http_release_pool",
    "http_request_blocking",
    "http_start_waits",
    "http_submit",
    "json_dumps",
    "metrics_text",
    "parse_count",
    "parse_interval",
    "parse_pids",
    "parse_priorities",
    "parse_switch",
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

def parse_count(text: str) -> int:
    """An item count: ``10000``, ``10_000``, ``10k``, ``1.5M``, ``2G`` (decimal multiples). ValueError says why not."""

def parse_priorities(text: str) -> list[int]:
    """A priority list: ``0,1,2``, ``0-4`` or ``0,3-5``, in the order written. ValueError says why not."""

def parse_interval(text: str) -> float:
    """A duration in seconds: ``1s``, ``100ms``, ``0.5``, ``2m``. ValueError says why not."""

def parse_pids(text: str) -> list[tuple[str | None, int]]:
    """Processes by PID, named or not: ``1234``, ``target=1234`` or ``target=1234,5678``, as ``(name or None,
    pid)``. ValueError says why not."""

def parse_switch(text: str) -> bool:
    """``on``/``off`` (also ``true``/``false``, ``yes``/``no``, ``1``/``0``). ValueError says why not."""

@final
class Schedule:
    """A request rate over a run's time: ``constant:rate=R``, ``ramp:from=A,to=B,over=D``,
    ``steps:rates=R1/R2,every=D``, ``sine:mean=M,amplitude=A,period=D`` (from its low point),
    ``square:low=L,high=H,period=D[,duty=F]``, ``spike:base=B,peak=P,at=T,for=D``, each with an optional ``end=D``;
    or a preset's name (``presets()``). The open model's driver and the scenarios' pacer both run on it."""

    def __new__(cls, spec: str) -> Schedule:
        """Raises ValueError (saying what is wrong) for a spec that does not parse."""
    @staticmethod
    def presets() -> list[str]:
        """The presets' names: the seed's S1a and S6 rate targets."""
    def rate_at(self, t: float) -> float:
        """Requests per second due ``t`` seconds into the run (0 from ``end`` on)."""
    @property
    def peak(self) -> float:
        """The highest rate of the curve."""
    @property
    def end(self) -> float | None:
        """Seconds after which the schedule is over; None: never."""
    def scaled_to(self, peak: float) -> Schedule:
        """The same curve with every rate scaled so that its peak is ``peak``. ValueError unless ``peak`` > 0."""
    def __eq__(self, value: object, /) -> bool: ...

@final
class HeaderList:
    """A request's header list, checked once: passed to ``http_submit`` or ``http_request_blocking`` in place of the
    list, for headers a session sends unchanged with many requests."""

    def __new__(cls, headers: Sequence[tuple[str, str]]) -> HeaderList:
        """Raises ValueError for a header name or value that cannot be sent (a line break, a control character)."""

    def __len__(self) -> int: ...

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
    def attention(self) -> bool:
        """Whether the headers need a session's look: ``Set-Cookie``, ``Content-Encoding``, or a redirect with a
        ``Location``."""
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
        """Milliseconds from the request's start on the engine's thread to its last body byte's arrival (or the
        failure)."""
    @property
    def first_byte_ms(self) -> float:
        """Milliseconds from the request's start on the engine's thread to the response headers' arrival."""
    @property
    def queued_ms(self) -> float:
        """Milliseconds from the request's submit to its start on the engine's thread (not part of ``elapsed_ms``)."""

@final
class RequestOptions:
    """How requests are sent, made once per session: whole-request ``timeout`` and ``connect_timeout`` in seconds
    (None: no limit / the engine's 60 s), redirects to follow, and https without certificate checks."""

    def __new__(
        cls,
        timeout: float | None = None,
        max_redirects: int = 30,
        insecure: bool = False,
        connect_timeout: float | None = None,
        pool: int = 0,
        proxy: str | None = None,
        client_cert: str | os.PathLike[str] | None = None,
        client_key: str | os.PathLike[str] | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        stream: bool = False,
        proxy_authorization: str | None = None,
    ) -> RequestOptions:
        """Raises ValueError for a timeout that is not a positive number of seconds. ``pool``: the connection pool
        (0, the process's shared one; any other number, a pool of its own, released by ``http_release_pool``).
        ``proxy``: an HTTP proxy as ``host:port`` (http in absolute form, https through a ``CONNECT`` tunnel);
        ``proxy_authorization``: the ``Proxy-Authorization`` value it asks for (e.g. ``Basic …``), sent in each plain
        http request and in each ``CONNECT``, never inside a tunnel (ValueError for a value with a line break).
        ``client_cert``/``client_key``: PEM files for mutual TLS (the key from the certificate's file when None);
        ``ca_bundle``: PEM roots trusted besides the system's (verifies whatever ``insecure`` says). The files are
        read here: one that cannot be used raises ValueError naming it. Each proxy and set of files has its own
        connections."""

def http_submit(
    method: str,
    url: str,
    headers: HeaderList | Sequence[tuple[str, str]],
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

def http_read(
    result: HttpResult, max_bytes: int, timeout: float | None, token: Callable[[HttpResult], object]
) -> int | None:
    """Starts reading the next piece (at most ``max_bytes``) of the body of a streamed answer (a request made with
    ``RequestOptions(stream=True)``), within ``timeout`` seconds; its ticket, or None when ``result`` has no body left
    to read. ``token`` comes back from ``http_drain`` with an ``HttpResult`` whose ``content`` is the piece (empty at
    the end of the body) or whose ``error`` says why the body ended early."""

def json_dumps(obj: object) -> bytes | None:
    """``json.dumps(obj).encode()``, byte for byte, for plain dicts, lists, tuples, strings, numbers, booleans and
    None; None for anything else (subclasses, non-string keys, integers beyond 64 bits, lone surrogates, nesting
    deeper than 64), which the caller hands to ``json.dumps``."""

def metrics_text(
    stats: HdrStats,
    ledger: IntegrityLedger | None = None,
    open_model: list[dict[str, Any]] | None = None,
    resources: dict[str, float | None] | None = None,
) -> str:
    """Prometheus's text exposition (format 0.0.4; docs/ANALYZE.md lists the metrics): ``stats``' exact histograms in
    log-linear buckets, requests, failures and items per endpoint; ``ledger``'s figures so far; the open model's runs
    (``{"schedule", "worker"?, "scheduled", "started", "late", "dropped", "completed", "in_flight", "max_lag_us"}``);
    the resource monitor's latest values (``{"<source> <metric>": value}``). ValueError for a malformed run."""

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

def http_release_pool(pool: int) -> int:
    """Forgets connection pool ``pool`` of a session that ended, closing its idle connections; how many."""

def http_start_waits() -> tuple[int, float, float]:
    """How long this process's requests waited between their submit and their start on the engine's thread since
    the last call: (requests, median ms, 99th percentile ms), each percentile the power of two of µs above it.
    A process that made no requests has none."""

def http_fileno() -> int:
    """The eventfd (of this process) that turns readable when ``http_drain`` has results."""

def http_request_blocking(
    method: str,
    url: str,
    headers: HeaderList | Sequence[tuple[str, str]],
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
    def to_dict(self) -> PrepopulateReportDict:
        """The same as a dict."""

class PrepopulateReportDict(TypedDict):
    """``PrepopulateReport`` as a dict (``pushpop-load prepopulate --json`` writes the same, its keys as strings)."""

    host: str
    queues: list[str]
    items_per_queue: int
    requested: int
    pushed: int
    per_queue: dict[str, int]
    by_priority: dict[int, int]
    retried: int
    uncertain: dict[str, list[int]]
    elapsed: float
    rate: float
    verified: bool
    verification: Literal["stats", "acknowledged"]
    depths: dict[str, int] | None
    producer: int
    size: str
    connections: int

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

class Summary(TypedDict):
    """One (method, name) entry of ``HdrStats.summaries``; times in ms, exact to the HDR precision."""

    method: str
    name: str
    count: int
    failures: int
    items: int
    min_ms: float
    mean_ms: float
    max_ms: float
    percentiles: list[tuple[float, float]]
    """(percentile, ms) at Locust's CSV percentiles: 50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100."""

class IntervalRow(TypedDict):
    """One (second, method, name) row of ``HdrStats.intervals``; times in ms."""

    second: int
    """Unix time of the second's start."""
    method: str
    name: str
    count: int
    failures: int
    items: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

class SnapshotEntry(TypedDict):
    method: str
    name: str
    failures: int
    items: int
    counts: list[tuple[int, int]]
    """(value in µs, count) for every recorded bucket."""

class Snapshot(TypedDict):
    version: int
    unit: Literal["us"]
    entries: list[SnapshotEntry]

@final
class HdrStats:
    """Response times per (method, name) in an HDR histogram each (microsecond resolution, 3 significant digits),
    for the whole run and per second. Thread-safe."""

    def __new__(cls) -> HdrStats: ...
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
    def record_for_locust(self, method: str, name: str, milliseconds: float, length: int) -> None:
        """A successful request, recorded here and for Locust's statistics at once instead of through
        ``events.request`` (``pushpop_load.locust_feed`` decides when that gives Locust the same figures)."""
    def drain_locust(self) -> list[LocustEntry]:
        """The requests recorded for Locust since the last call, one aggregate per (method, name)."""
    def record_items(self, method: str, name: str, count: int) -> None:
        """Adds ``count`` queue items to an entry (what a pop returned)."""
    def take_delta(self) -> bytes:
        """The samples since the last delta, as bytes (opaque: what a worker sends its master), and a fresh start."""
    def absorb(self, delta: bytes) -> None:
        """Queues a delta made by ``take_delta`` in another process for the merge thread; every reader (summaries,
        snapshot, intervals, ``wait_merged``) sees it merged. Raises ValueError for a delta of another
        pushpop-load version at once, and for one found damaged at the next call."""
    def take_delta_json(self) -> str:
        """The samples since the last delta as JSON, and a fresh start: ``take_delta``'s readable form, for scripts
        and diagnostics."""
    def absorb_json(self, delta: str) -> None:
        """Adds a delta made by ``take_delta_json`` (or written by a script) at once. Raises ValueError for one that
        cannot be read."""
    def wait_merged(self) -> None:
        """Returns once every delta queued by ``absorb`` is merged."""
    def snapshot(self) -> Snapshot:
        """Everything recorded in all (the recorded buckets only)."""
    def summaries(self) -> list[Summary]:
        """Exact figures per (method, name), in the order method, then name."""
    def intervals(self) -> list[IntervalRow]:
        """The per-second timeline, by second, then method and name."""
    def intervals_since(self, since: int) -> list[IntervalRow]:
        """The timeline's rows from unix second ``since`` on."""
    def clear(self) -> None:
        """Forgets everything recorded."""

@final
class Marker:
    """The ``"_pp"`` field of a pushed item: who pushed it, as which of their items, at which priority, and when."""

    @property
    def producer(self) -> int: ...
    @property
    def seq(self) -> int:
        """The item's number among its producer's pushes to its queue: 0, 1, 2, ..."""
    @property
    def priority(self) -> int: ...
    @property
    def push_us(self) -> int:
        """Unix time of the push, in microseconds."""
    def wire(self) -> list[int]:
        """``[producer, seq, priority, push_us]``: the value of the item's ``"_pp"`` field."""

@final
class IntegrityLedger:
    """The queue integrity checker of one process (thread-safe): markers for pushed items, acknowledgements, checked
    pops, and a report of lost, duplicated, out-of-order and foreign items. Report format: docs/INTEGRITY.md."""

    def __new__(cls) -> IntegrityLedger: ...
    @staticmethod
    def new_producer() -> int:
        """A producer id unique across processes and machines (random high bits and a counter), below 2**53."""
    def marker(self, queue: str, producer: int, priority: int) -> Marker:
        """The next item's marker, stamped now: seqs run 0, 1, 2, ... per (queue, producer), and the item counts as
        sent."""
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
    def take_delta(self) -> bytes:
        """The mergeable state since the last call, as bytes (opaque: what a worker sends its master), and a fresh
        start for it (seq counters and order trackers stay)."""
    def absorb(self, delta: bytes) -> None:
        """Queues a delta made by ``take_delta`` in another process for the merge thread; every reader (``report``,
        ``summary_text``, ``queues``, ``wait_merged``) sees it merged. Raises ValueError for a delta of another
        format at once, and for one found damaged (nothing of it merged) at the next call."""
    def wait_merged(self) -> None:
        """Returns once every delta queued by ``absorb`` is merged."""
    def report(self, drained: bool) -> dict[str, Any]:
        """The report (``"version": 1``; every key in docs/INTEGRITY.md). ``drained``: the queues were emptied at
        the end, so an acknowledged item never popped is lost; otherwise ``lost`` is None and ``unpopped`` counts
        them."""
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
    sampled again when it returns. Columns are ``"<source> <metric>"``, e.g. ``"target cpu_pct"``,
    ``"postgres:app commits_per_s"``; docs/MONITOR.md lists them."""

    def __new__(cls) -> ResourceMonitor: ...
    def start(
        self,
        *,
        interval: float | str | None = None,
        pids: Sequence[int | tuple[str | None, int]] = ...,
        processes: Sequence[str] = ...,
        cmdlines: Sequence[str] = ...,
        cgroups: Sequence[str] = ...,
        containers: Sequence[str] = ...,
        postgres: Sequence[str] = ...,
        generator: int | None = None,
        docker_host: str | None = None,
        csv: str | None = None,
        json: str | None = None,
    ) -> None:
        """Opens every source and starts sampling (the GIL is released meanwhile).

        ``interval``: seconds or ``"1s"``/``"100ms"`` (default 1 s, 10 ms to 1 h). ``pids``: processes that must
        exist now, each a PID or ``(name, pid)``; a process's columns carry its name, else its own (``comm``,
        ``<comm>-<pid>`` where two share it). ``processes``: names as ``ps`` shows them, each summed over its processes. ``cmdlines``:
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

    @staticmethod
    def describe_metric(metric: str) -> tuple[str, str]:
        """A metric's chart title and unit (``("CPU", "%")`` for ``cpu_pct``): the unit read off the name's suffix
        (docs/MONITOR.md), ``""`` for a count; a metric without a title of its own is titled by its name."""

    def latest(self) -> dict[str, object] | None:
        """The last row: ``{"unix": float, "timestamp": int, "values": {column: float | None}}``; None before the
        first tick or when not running."""

    def samples_since(self, since: float) -> list[list[float | None]]:
        """The rows sampled after unix time ``since`` (of the last 3,600 kept), oldest first, each
        ``[unix, value | None, ...]`` in ``columns`` order; once stopped, the rows of the run it ended (every row up to
        the stop); empty before the first ``start``."""

    def take_notes(self) -> list[tuple[float, str]]:
        """Notes since the last call, ``(unix, text)``: a source went away, came back, cannot be read in part."""

    def stop(self) -> dict[str, Any]:
        """Stops sampling, renames the CSV into place, writes the JSON summary and returns it: ``samples``,
        ``columns``, ``metrics`` (``[{"column", "source", "metric", "peak", "mean", "samples", "gaps"}]``),
        ``generator`` (``{"pid", "peak_cpu_pct", "mean_cpu_pct", "threshold_pct", "saturated_samples",
        "saturated"}`` or None), ``notes`` (docs/MONITOR.md). ``ValueError`` when not running."""

class LocustEntry(TypedDict):
    """One request name's results since the last drain, in the shape of Locust's ``StatsEntry`` (times in ms; the
    open model's from when each request was due)."""

    method: str
    name: str
    count: int
    failures: int
    total_ms: float
    min_ms: float | None
    max_ms: float
    content_length: int
    response_times: dict[int, int]
    """Locust's rounded response time (ms) -> how many."""
    per_second: dict[int, int]
    """Unix second -> requests."""
    failures_per_second: dict[int, int]
    errors: dict[str, int]
    """Failure message (as Locust's failures table shows it) -> how many."""
    first: float
    """Unix time of the first request's end."""
    last: float

class Counters(TypedDict):
    """How a driver kept its schedule since it started."""

    scheduled: int
    started: int
    late: int
    waited: int
    dropped: int
    completed: int
    in_flight: int
    max_lag_us: int

@final
class OpenModel:
    """Starts pushes and pops on an arrival-rate schedule from its own thread (``pushpop_load.openmodel``)."""

    def __new__(
        cls,
        base_url: str,
        schedule: Schedule,
        *,
        share: float = 1.0,
        duration: float | None = None,
        max_in_flight: int = 1000,
        max_connections: int = 100,
        push_weight: int = 1,
        pop_weight: int = 1,
        item_bytes: int = 100,
        priorities: list[int] = ...,
        pop_depth: int = 1,
        queues: list[str],
        timeout: float = 60.0,
        connect_timeout: float = 60.0,
        late_after: float = 0.005,
        batch_window: float = ...,
        insecure: bool = True,
        push_name: str = ...,
        pop_name: str = ...,
        ledger: IntegrityLedger | None = None,
        producer: int = 0,
    ) -> OpenModel:
        """Checks the settings and starts at once (``priorities`` default ``[0]``, ``batch_window`` 50 µs,
        ``push_name`` ``"/queue/[id]/push"``, ``pop_name`` ``"/queue/[id]/pop"``). Raises ValueError for a bad
        setting, OSError when the thread cannot start."""
    def stop(self) -> None:
        """Starts no more requests; those in flight finish or time out."""
    def running(self) -> bool:
        """Whether requests are still being started or waited for."""
    def join(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for the driver to end; whether it did."""
    def drain_into(self, stats: HdrStats) -> list[LocustEntry]:
        """Moves the records since the last call into ``stats`` (exact histograms, corrected and ``(raw)``) and
        returns Locust's aggregates per request name."""
    def counters(self) -> Counters:
        """How the schedule was kept so far."""
