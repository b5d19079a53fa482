"""The prepopulator from inside a gevent process (a Locust master or worker). The native call releases the GIL but
still blocks its OS thread; run in gevent's thread pool, it leaves the hub free, so heartbeats and the web UI go on
while the queues fill. Outside gevent, call ``pushpop_load.prepopulate`` directly."""

from __future__ import annotations

from typing import Any

from pushpop_load._native import PrepopulateReport, prepopulate

__all__ = ["prepopulate_gevent"]


def prepopulate_gevent(host: str, queues: Any, items: int | str, **kwargs: Any) -> PrepopulateReport:
    """``prepopulate(host, queues, items, **kwargs)`` in gevent's thread pool: the calling greenlet waits, the others
    run. Exceptions are those of ``prepopulate``. No progress bar by default (Locust owns the terminal)."""
    import gevent

    kwargs.setdefault("progress", False)
    return gevent.get_hub().threadpool.apply(prepopulate, (host, queues, items), kwargs)
