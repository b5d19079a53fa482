"""Extra tabs in Locust's web UI (2.47's React UI): a tab is template args the page reads, and rows added to every
``/stats/requests`` answer, which the page polls. Used by the exact statistics and the resource monitor.

A tab may also have live charts. Locust's extended tabs can only be tables (its React app renders every extended
tab with its own table component), so the charts come from a script of ours that the page loads: its index gets one
``<script>`` tag before ``</body>``, and the script (``static/webui/charts.js``, drawing with the vendored uPlot)
puts the charts under the tab's table while the tab is open, polling ``<base>/pushpop/charts/<key>?since=<x>``.
Everything is served from the package under ``<base>/pushpop/static/``: no network.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

__all__ = ["ChartData", "add_tab"]

ChartData = Callable[[float], dict[str, Any]]
"""``since`` (the newest x the page has, minus the ``rewind`` the last answer asked for; 0 at first) to
``{"epoch": str, "rewind": float, "charts": [{"key", "title", "unit", "series": [label, ...],
"points": [[x, y | None, ...], ...]}]}``, x in unix seconds. A new ``epoch`` (statistics reset, a new test) makes the
page drop what it has; points at an x it has replace its own."""

_STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_FILES = {"charts.js": "webui/charts.js", "uPlot.iife.min.js": "uplot/uPlot.iife.min.js",
          "uPlot.min.css": "uplot/uPlot.min.css"}
_EXTENSION = "pushpop_load.webui"
"""The key of our state in Flask's ``app.extensions``: the chart sources by tab key."""


def add_tab(web_ui: Any, key: str, title: str, columns: list[tuple[str, str]],
            rows: Callable[[], list[dict[str, str]]], charts: ChartData | None = None) -> None:
    """Adds the tab ``title`` (``?tab=<key>``) with ``columns`` (row key, heading), its rows from ``rows()`` at each
    poll, and live charts from ``charts`` if given. Locust caches ``/stats/requests`` for 2 s and hands the same
    object back, so the tab's entry is replaced, never appended twice; adding a tab again replaces it too."""
    web_ui.template_args["extended_tabs"] = [
        *[t for t in web_ui.template_args.get("extended_tabs", []) if t.get("key") != key],
        {"title": title, "key": key},
    ]
    web_ui.template_args["extended_tables"] = [
        *[t for t in web_ui.template_args.get("extended_tables", []) if t.get("key") != key],
        {"key": key, "structure": [{"key": name, "title": heading} for name, heading in columns]},
    ]

    @web_ui.app.after_request
    def _extend_stats(response: Any) -> Any:
        from flask import request

        if not request.path.endswith("/stats/requests") or response.status_code != 200 or not response.is_json:
            return response
        data = response.get_json()
        extended = [entry for entry in data.get("extended_stats") or [] if entry.get("key") != key]
        extended.append({"key": key, "data": rows()})
        data["extended_stats"] = extended
        response.set_data(json.dumps(data))
        return response

    if charts is not None:
        _chart_sources(web_ui)[key] = charts


def _chart_sources(web_ui: Any) -> dict[str, ChartData]:
    """The web UI's chart sources; the first call adds the routes and the script tag."""
    app = web_ui.app
    sources: dict[str, ChartData] | None = app.extensions.get(_EXTENSION)
    if sources is not None:
        return sources
    sources = app.extensions[_EXTENSION] = {}
    blueprint = app.blueprints.get("locust")
    prefix = ((blueprint.url_prefix if blueprint is not None else None) or "").rstrip("/")
    guard = getattr(web_ui, "auth_required_if_enabled", lambda view: view)

    def static_file(name: str) -> Any:
        from flask import abort, send_from_directory

        if name not in _FILES:
            abort(404)
        return send_from_directory(_STATIC, _FILES[name], max_age=0)

    def chart_data(key: str) -> Any:
        from flask import abort, jsonify, request

        source = sources.get(key)
        if source is None:
            abort(404)
        try:
            since = float(request.args.get("since", "0"))
        except ValueError:
            abort(400)
        return jsonify(source(since))

    app.add_url_rule(f"{prefix}/pushpop/static/<name>", "pushpop_static", guard(static_file))
    app.add_url_rule(f"{prefix}/pushpop/charts/<key>", "pushpop_charts", guard(chart_data))

    @app.after_request
    def _add_script(response: Any) -> Any:
        from flask import request

        if request.endpoint != "locust.index" or response.status_code != 200 or response.mimetype != "text/html":
            return response
        page = response.get_data(as_text=True)
        tag = (f'<script src="./pushpop/static/charts.js" data-tabs="{",".join(sources)}" defer></script>'
               "</body>")
        if "</body>" in page and "pushpop/static/charts.js" not in page:
            response.set_data(page.replace("</body>", tag, 1))
        return response

    return sources
