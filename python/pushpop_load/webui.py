"""Extra tabs in Locust's web UI (2.47's React UI): a tab is template args the page reads, and rows added to every
``/stats/requests`` answer, which the page polls. Used by the exact statistics and the resource monitor."""

from __future__ import annotations

import json
from typing import Any, Callable

__all__ = ["add_tab"]


def add_tab(web_ui: Any, key: str, title: str, columns: list[tuple[str, str]],
            rows: Callable[[], list[dict[str, str]]]) -> None:
    """Adds the tab ``title`` (``?tab=<key>``) with ``columns`` (row key, heading), its rows from ``rows()`` at each
    poll. Locust caches ``/stats/requests`` for 2 s and hands the same object back, so the tab's entry is replaced,
    never appended twice; adding a tab again replaces it too."""
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
