"""Many producers and consumers on one queue at once: nothing lost, nothing twice, each producer's order kept."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict

import requests

from processes import Target, queue_id

PRODUCERS = 8
PER_PRODUCER = 150
CONSUMERS = 4


def test_concurrent_producers_and_consumers_on_one_queue(target: Target) -> None:
    queue = queue_id("concurrent")
    acked: set[tuple[int, int]] = set()
    pops: list[list[dict]] = [[] for _ in range(CONSUMERS)]  # each consumer's pop answers, in its own order
    errors: list[str] = []
    producing = threading.Event()
    producing.set()
    lock = threading.Lock()

    def produce(producer: int) -> None:
        rng = random.Random(producer)
        with requests.Session() as http:
            for n in range(PER_PRODUCER):
                priority = rng.randint(0, 2)
                body = {"item": {"p": producer, "n": n, "prio": priority}, "priority": priority}
                reply = http.post(f"{target.url}/queue/{queue}/push", json=body, timeout=30)
                if reply.status_code != 200:
                    errors.append(f"push {producer}/{n}: {reply.status_code} {reply.text}")
                    continue
                with lock:
                    acked.add((producer, n))

    def consume(consumer: int) -> None:
        with requests.Session() as http:
            idle_after_producers = 0
            while idle_after_producers < 3:  # bounded: ends once the queue stays empty after the producers stop
                finished = not producing.is_set()
                reply = http.post(f"{target.url}/queue/{queue}/pop?depth=10", timeout=30)
                if reply.status_code != 200:
                    errors.append(f"pop: {reply.status_code} {reply.text}")
                    return
                items = reply.json()["items"]
                pops[consumer].append(items)
                idle_after_producers = idle_after_producers + 1 if finished and not items else 0

    producers = [threading.Thread(target=produce, args=(p,)) for p in range(PRODUCERS)]
    consumers = [threading.Thread(target=consume, args=(c,)) for c in range(CONSUMERS)]
    for thread in producers + consumers:
        thread.start()
    for thread in producers:
        thread.join(timeout=120)
    producing.clear()
    for thread in consumers:
        thread.join(timeout=120)
    assert not errors, errors[:5]

    seen = Counter((item["p"], item["n"]) for answers in pops for items in answers for item in items)
    duplicated = [key for key, count in seen.items() if count > 1]
    lost = acked - set(seen)
    assert not duplicated, duplicated[:10]
    assert not lost, sorted(lost)[:10]
    assert len(acked) == PRODUCERS * PER_PRODUCER

    for answers in pops:
        last: dict[tuple[int, int], int] = defaultdict(lambda: -1)
        for items in answers:
            # one answer is one atomic pop: most urgent first
            priorities = [item["prio"] for item in items]
            assert priorities == sorted(priorities), items
            # pops apply one at a time, so each consumer sees a producer's items of one priority in push order
            for item in items:
                key = (item["p"], item["prio"])
                assert item["n"] > last[key], (item, last[key])
                last[key] = item["n"]
