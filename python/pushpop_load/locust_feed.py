"""Locust's statistics fed in batches: the same figures, without Locust's per-request Python.

Reporting a request through ``events.request`` costs Locust's event machinery, its statistics listener and two
``StatsEntry.log`` calls: about 6.5 µs of Python per request, more than the native client spends on the request
itself. When nothing else listens to ``events.request`` (only Locust's own statistics and pushpop_load's exact
histograms), a ``NativeHttpSession`` records a successful request in Rust instead, and every ``FEED_SECONDS`` the
batch is merged into Locust's statistics per request name with ``StatsEntry.extend``: how a master merges its
workers' reports, so every figure Locust shows or writes (table, CSVs, web UI, ``--json-file``, worker reports) is
what the events would have made of the same requests, at most ``FEED_SECONDS`` later. Batches are also handed over
before a worker's report is built, when a test stops and when Locust quits; ``--reset-stats`` and the web UI's
reset drop the batch with Locust's table.

The moment anything else listens (a plugin, a locustfile's listener), requests are reported through
``events.request`` as before, one by one; so is every failure (by its status, its transport error or a
``catch_response`` block's ``failure()``), whose message Locust's failures table keys on.
"""

from __future__ import annotations

from typing import Any

from locust.stats import StatsEntry, StatsError

__all__ = ["FEED_SECONDS", "LocustFeed", "add_to_locust"]

FEED_SECONDS = 0.1
"""How long a request may wait in a batch: Locust writes its CSV history every second, its web UI asks every two."""

_LOCUSTS_LISTENER = ("locust.runners", "Runner.__init__.<locals>.on_request")


def add_to_locust(stats: Any, records: list[dict[str, Any]]) -> None:
    """Adds aggregates made in Rust (one per request name: ``_native.HdrStats.drain_locust``, the open model's
    driver) to Locust's ``RequestStats``, each in one ``extend``, as a worker's report is merged."""
    for record in records:
        method, name = record["method"], record["name"]
        entry = StatsEntry(stats, name, method, use_response_times_cache=stats.use_response_times_cache)
        entry.num_requests = record["count"]
        entry.num_failures = record["failures"]
        entry.total_response_time = record["total_ms"]
        entry.min_response_time = record["min_ms"]
        entry.max_response_time = record["max_ms"]
        entry.total_content_length = record["content_length"]
        entry.response_times = {int(key): count for key, count in record["response_times"].items()}
        entry.num_reqs_per_sec = {int(key): count for key, count in record["per_second"].items()}
        entry.num_fail_per_sec = {int(key): count for key, count in record["failures_per_second"].items()}
        entry.start_time = record["first"]
        entry.last_request_timestamp = record["last"]
        stats.get(name, method).extend(entry)
        stats.total.extend(entry)
        for message, count in record["errors"].items():
            key = StatsError.create_key(method, name, message)
            error = stats.errors.get(key)
            if error is None:
                error = stats.errors[key] = StatsError(method, name, message)
            error.occurred()
            error.occurrences += count - 1


def _is_locusts_listener(handler: Any) -> bool:
    return (getattr(handler, "__module__", None), getattr(handler, "__qualname__", None)) == _LOCUSTS_LISTENER


class LocustFeed:
    """One environment's batch of requests for Locust's statistics (kept in ``recorder``, the exact histograms'
    ``_native.HdrStats``), and when it may be used."""

    def __init__(self, environment: Any, recorder: Any) -> None:
        self.environment = environment
        self.recorder = recorder
        self._handlers: list[Any] = environment.events.request._handlers  # the hook's list, changed in place
        self._known: tuple[Any, Any] | None = None
        self._timer: Any = None
        self._pending = False
        events = environment.events
        # before Locust's own listener serialises the worker's statistics for the report
        events.report_to_master._handlers.insert(0, self.feed)
        events.test_stop.add_listener(self.feed)
        events.quitting._handlers.insert(0, self.feed)

    def batchable(self) -> bool:
        """Whether the only listeners of ``events.request`` are Locust's statistics and the exact histograms."""
        handlers = self._handlers
        if len(handlers) != 2:
            return False
        known = self._known
        if known is not None and handlers[0] is known[0] and handlers[1] is known[1]:
            return True
        ours = self.recorder.on_request
        if sorted((_is_locusts_listener(h), h == ours) for h in handlers) == [(False, True), (True, False)]:
            self._known = (handlers[0], handlers[1])
            return True
        return False

    def record(self, method: str, name: str, response_time: float, response_length: int) -> None:
        """A successful request, for the exact histograms and, within ``FEED_SECONDS``, Locust's statistics."""
        self.recorder.record_for_locust(method, name, response_time, response_length)
        if not self._pending:
            self._pending = True
            from gevent import get_hub

            # a new timer each time: libev restarts a timer that has fired with what was left of its delay (none)
            self._timer = get_hub().loop.timer(FEED_SECONDS)
            self._timer.start(self.feed)

    def feed(self, **_: Any) -> None:
        """Hands the batch to Locust's statistics now."""
        if self._pending:
            self._pending = False
            self._timer.close()
            add_to_locust(self.environment.stats, self.recorder.drain_locust())
