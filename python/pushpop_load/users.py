"""``PushPopUser``: the seed's base user for the push-pop-actor service, on the native client."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pushpop_load.integrity import Integrity
from pushpop_load.nativehttp import NativeHttpUser
from pushpop_load.payloads import POP_NAME, PUSH_NAME, PopShapeError, items_from_pop, make_item, make_queue_id
from pushpop_load.stats import ExactStats

__all__ = ["PushPopUser"]


class PushPopUser(NativeHttpUser):
    """Pushes and pops with the service's checks: a push counts as a success only when the service says it stored
    the item, a pop only when its answer has one of the two pop shapes. The items each pop returned are recorded
    beside its response time (``items`` in the exact statistics), so throughput is known in items as well as
    requests. Each user is one producer of the integrity checker (``pushpop_load.integrity``), a new one after a push
    the service did not answer: the items it pushes carry a marker, and every pop answer is checked against the
    environment's ledger (``--pp-integrity off`` turns this off)."""

    abstract = True

    queue_prefix: str = "load-test"
    """Prefix of this user's queue id, ``<prefix>-<8 random [a-z0-9]>``."""

    item_size: str = "small"
    """Default payload: ``small`` (~100 B), ``medium`` (~1 KB) or ``large`` (~10 KB)."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.queue_id = make_queue_id(self.queue_prefix)
        self.pushed = 0
        self.popped = 0
        self._depth: defaultdict[str, int] = defaultdict(int)
        self._integrity = Integrity.of(environment)
        self._exact = ExactStats.of(environment).recorder
        self.producer = self._integrity.ledger.new_producer()

    def estimated_depth(self, queue_id: str | None = None) -> int:
        """What this user pushed to a queue minus what it popped from it: the queue's depth when the user is alone
        on it, a lower bound otherwise."""
        return max(0, self._depth[queue_id or self.queue_id])

    def small_item(self) -> dict[str, Any]:
        return make_item("small")

    def medium_item(self) -> dict[str, Any]:
        return make_item("medium")

    def large_item(self) -> dict[str, Any]:
        return make_item("large")

    def push_item(
        self, queue_id: str | None = None, item: Any = None, priority: int = 0, name: str | None = None,
        size: str | None = None,
    ) -> bool:
        """Pushes ``item`` (default: a new item of ``size``, else ``item_size``); True when the service stored it.
        A dict item is sent with the integrity marker added (to a copy)."""
        queue = queue_id or self.queue_id
        ledger = self._integrity.ledger if self._integrity.enabled else None
        marker = ledger.marker(queue, self.producer, priority) if ledger is not None else None
        if item is None:
            item = make_item(size or self.item_size, marker.wire() if marker is not None else None)
        elif marker is not None and isinstance(item, dict):
            item = {**item, "_pp": marker.wire()}
        else:
            marker = None
        body = {"item": item, "priority": priority}
        stored = False
        try:
            answer = self.client.post(f"/queue/{queue}/push", json=body, name=name or PUSH_NAME, catch_response=True)
        except BaseException:  # Locust stopped this user mid-push: the item may be stored or not
            if ledger is not None and marker is not None:
                ledger.indeterminate(queue, self.producer, marker.seq)
                self.producer = ledger.new_producer()
            raise
        with answer as r:
            if r.status_code == 200:
                try:
                    stored = r.json().get("success") is True
                except (ValueError, AttributeError):
                    stored = False
                if not stored:
                    r.failure(f"push not confirmed: {r.text[:100]}")
            elif r.ok:  # a 2xx or 3xx other than 200 is not the contract's answer; 4xx/5xx report themselves
                r.failure(f"unexpected status {r.status_code}")
        if ledger is not None and marker is not None:
            if stored:
                ledger.acked(queue, self.producer, marker.seq)
            elif 400 <= r.status_code < 500:
                ledger.rejected(queue, self.producer, marker.seq)
            else:  # a timeout, a reset, a 5xx: the item may be stored or not
                ledger.indeterminate(queue, self.producer, marker.seq)
            if r.status_code == 0:
                # unanswered, the item may still be stored after this user's next push: the FIFO check holds a
                # producer's items to their order, so the next pushes are another producer's
                self.producer = ledger.new_producer()
        if stored:
            self.pushed += 1
            self._depth[queue] += 1
        return stored

    def pop_items(self, queue_id: str | None = None, depth: int = 1, name: str | None = None) -> list[Any] | None:
        """Pops up to ``depth`` items; the list (possibly empty), or None when the pop failed."""
        queue = queue_id or self.queue_id
        name = name or POP_NAME
        try:
            answer = self.client.post(f"/queue/{queue}/pop", params={"depth": depth}, name=name, catch_response=True)
        except BaseException:  # Locust stopped this user mid-pop: what the service handed over is never seen
            if self._integrity.enabled:
                self._integrity.ledger.interrupted_pop(queue, depth)
            raise
        with answer as r:
            if r.status_code != 200:
                if r.ok:
                    r.failure(f"unexpected status {r.status_code}")
                return None
            try:
                items = items_from_pop(r.json())
            except (ValueError, PopShapeError) as error:
                r.failure(f"unexpected pop answer: {error}")
                return None
            if len(items) > depth:
                r.failure(f"pop of depth {depth} returned {len(items)} items")
            if self._integrity.enabled:
                meta = r.request_meta or {}
                start_us = int(meta.get("start_time", 0.0) * 1e6)
                # the pop's whole span: the order check must not see it end before it did
                end_us = start_us + int((r.queued_ms + r.elapsed_ms) * 1000)
                self._integrity.ledger.check_pop(queue, r.content, start_us, end_us)
            if len(items) > depth:
                return None
        self._exact.record_items("POST", name, len(items))
        self.popped += len(items)
        self._depth[queue] -= len(items)
        return items
