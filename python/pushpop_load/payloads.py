"""Queue ids, items and pop answers as the push-pop-actor service knows them. Plain Python: no Locust import."""

from __future__ import annotations

import itertools as _itertools
import json as _json
import random as _random
import string as _string
import time as _time
from typing import Any

__all__ = ["ITEM_SIZES", "POP_NAME", "PUSH_NAME", "PopShapeError", "items_from_pop", "make_item", "make_queue_id"]

PUSH_NAME = "/queue/[id]/push"
"""The statistics entry of pushes, whatever the queue id."""
POP_NAME = "/queue/[id]/pop"
"""The statistics entry of pops, whatever the queue id and depth."""

ITEM_SIZES = {"small": 100, "medium": 1024, "large": 10 * 1024}
"""Approximate JSON size in bytes of the seed's small, medium and large items."""

_ALPHABET = _string.ascii_lowercase + _string.digits
_sequence = _itertools.count()
_ID_LENGTH = 12
# the JSON of an item without its values' text: {"id": "", "seq": , "timestamp": , "data": ""}
_FRAME = len(_json.dumps({"id": "", "seq": 0, "timestamp": 0, "data": ""})) - 2
_MARKED_FRAME = len(_json.dumps({"id": "", "data": "", "_pp": []}))


class PopShapeError(ValueError):
    """A pop answer in neither of the service's shapes."""


def make_queue_id(prefix: str = "load-test") -> str:
    """``<prefix>-<8 random [a-z0-9]>``, the toolkit's queue id form (e.g. ``load-test-k3j9x0aa``)."""
    return f"{prefix}-{''.join(_random.choices(_ALPHABET, k=8))}"


def make_item(size: str = "small", marker: list[int] | None = None) -> dict[str, Any]:
    """An item of exactly ``ITEM_SIZES[size]`` bytes of JSON (``json.dumps``). Without a marker it carries a
    process-unique ``seq`` and a ``timestamp``; with the integrity marker ``_pp`` (``[producer, seq, priority,
    push_us]``, which says all that and more) it carries the marker instead, so that a small item stays 100 bytes."""
    try:
        target = ITEM_SIZES[size]
    except KeyError:
        raise ValueError(f"unknown item size {size!r}: use one of {', '.join(ITEM_SIZES)}") from None
    ident = "".join(_random.choices(_ALPHABET, k=_ID_LENGTH))
    # sized arithmetically (json.dumps writes ints with str and floats with repr) rather than by encoding twice
    if marker is None:
        seq, timestamp = next(_sequence), _time.time()
        used = _FRAME + _ID_LENGTH + len(str(seq)) + len(repr(timestamp))
        return {"id": ident, "seq": seq, "timestamp": timestamp, "data": "x" * max(0, target - used)}
    used = _MARKED_FRAME + _ID_LENGTH + sum(len(str(n)) for n in marker) + 2 * (len(marker) - 1)
    return {"id": ident, "data": "x" * max(0, target - used), "_pp": marker}


def items_from_pop(body: Any) -> list[Any]:
    """The items of a pop answer: ``{"items": [...], "count": n}``, or an older deployment's ``{"item": obj|null}``."""
    if isinstance(body, dict):
        if isinstance(body.get("items"), list):
            items = body["items"]
            if "count" in body and body["count"] != len(items):
                raise PopShapeError(f"count {body['count']!r} does not match {len(items)} items")
            return items
        if "item" in body:
            return [] if body["item"] is None else [body["item"]]
    raise PopShapeError("expected {\"items\": [...], \"count\": n} or {\"item\": ...}")
