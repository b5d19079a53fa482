"""Prometheus's ``/metrics`` for a run: the master (or the single process) serves its exact state as Prometheus's
text exposition, on Locust's web UI port (a route of its Flask app) and, with ``--metrics-port PORT``, on a port of
its own for headless runs. The text is made in Rust (``_native.metrics_text``) from the exact histograms, the
integrity ledger, the open model's drivers and the resource monitor's latest sample; docs/ANALYZE.md lists the
metrics. A worker serves nothing: its figures reach the master with each report.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pushpop_load import _native
from pushpop_load.integrity import Integrity
from pushpop_load.monitor import Monitor
from pushpop_load.openmodel_runs import OpenModelRuns
from pushpop_load.stats import ExactStats
from pushpop_load.swarm import SwarmPart

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus's text format, which Prometheus and OpenMetrics scrapers accept."""


def port(text: str) -> int:
    """``--metrics-port``: a TCP port, 1 to 65535."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return value


class Metrics(SwarmPart):
    """Serves ``/metrics`` on the web UI and, with ``--metrics-port``, on a server of its own."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.server: Any = None
        if self.is_worker:
            return
        if environment.web_ui:
            self._add_route(environment.web_ui.app)
        metrics_port = self.option("metrics_port")
        if metrics_port is not None:
            self._serve(self.option("web_host", ""), port(str(metrics_port)))

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        parser.add_argument("--metrics-port", type=port, env_var="PUSHPOP_METRICS_PORT", default=None,
                            metavar="PORT", include_in_web_ui=False,
                            help="serve Prometheus's /metrics on PORT (on --web-host's address), for headless runs; "
                                 "the web UI serves it on its own port too")

    def text(self) -> str:
        """The exposition text, now."""
        environment = self.environment
        integrity = Integrity.of(environment)
        monitor = Monitor.of(environment)
        latest = monitor.monitor.latest() if monitor.monitor is not None else monitor.last_sample
        return _native.metrics_text(
            ExactStats.of(environment).recorder,
            integrity.ledger if integrity.enabled else None,
            OpenModelRuns.of(environment).all_runs(),
            latest["values"] if latest else None,
        )

    def _add_route(self, app: Any) -> None:
        from flask import Response

        @app.route("/metrics")
        def _metrics() -> Any:
            return Response(self.text(), content_type=CONTENT_TYPE)

    def _serve(self, host: str, metrics_port: int) -> None:
        from gevent.pywsgi import WSGIServer

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            if environ.get("PATH_INFO") != "/metrics":
                start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
                return [b"not found: pushpop-load serves /metrics\n"]
            body = self.text().encode()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
            return [body]

        server = WSGIServer((host, metrics_port), app, log=None)
        try:
            server.start()
        except OSError as error:
            sys.stderr.write(f"pushpop-load metrics: error: cannot serve /metrics on port {metrics_port}: "
                             f"{error.strerror or error}\n")
            sys.stderr.flush()
            raise SystemExit(2) from None
        self.server = server
