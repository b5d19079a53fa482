"""Checks of pushpop_load.locust_feed inside one Locust process (Locust must monkey-patch before anything imports
ssl, which pytest's process has done): the same requests through Locust's own bookkeeping and through batches give
the same figures, and anything else listening to ``events.request`` turns the batches off.

    python tests/python/locust_feed_checks.py CHECK [BASE_URL]     # exits 0 and prints "ok" when CHECK holds
"""

from __future__ import annotations

import random
import sys
import time

from locust import User
from locust.env import Environment
from locust.stats import PERCENTILES_TO_REPORT

from pushpop_load import _native
from pushpop_load.locust_feed import LocustFeed, add_to_locust
from pushpop_load.stats import ExactStats


class _Nobody(User):
    abstract = True


def _environment() -> Environment:
    environment = Environment(user_classes=[_Nobody])
    environment.create_local_runner()
    return environment


def _samples(count: int) -> list[tuple[str, str, float, int]]:
    """Response times around every rounding edge of Locust's table (whole ms below 100, then 2 significant
    digits), under a few names and methods."""
    rng = random.Random(20261206)
    edges = [0.0004, 0.5, 1.5, 2.5, 99.49, 99.5, 100.0, 104.99, 105.0, 115.0, 999.4, 999.5, 1050.0, 1150.0, 9_950.0,
             10_500.0, 58_760.0]
    samples = []
    for index in range(count):
        ms = edges[index % len(edges)] if index % 3 == 0 else rng.lognormvariate(0.0, 1.5)
        samples.append((rng.choice(["POST", "GET", "post"]), rng.choice(["push", "pop", "/stats"]), ms,
                        rng.randrange(0, 5000)))
    return samples


def _figures(entry: object) -> dict:
    """Every figure of a StatsEntry that Locust shows or writes and that does not depend on when it is read."""
    return {
        "num_requests": entry.num_requests,  # type: ignore[attr-defined]
        "num_failures": entry.num_failures,  # type: ignore[attr-defined]
        "total_response_time": entry.total_response_time,  # type: ignore[attr-defined]
        "min_response_time": entry.min_response_time,  # type: ignore[attr-defined]
        "max_response_time": entry.max_response_time,  # type: ignore[attr-defined]
        "total_content_length": entry.total_content_length,  # type: ignore[attr-defined]
        "response_times": dict(entry.response_times),  # type: ignore[attr-defined]
        "avg_response_time": entry.avg_response_time,  # type: ignore[attr-defined]
        "median_response_time": entry.median_response_time,  # type: ignore[attr-defined]
        "avg_content_length": entry.avg_content_length,  # type: ignore[attr-defined]
        "percentiles": [entry.get_response_time_percentile(p) for p in PERCENTILES_TO_REPORT],  # type: ignore
        "requests_per_second_total": sum(entry.num_reqs_per_sec.values()),  # type: ignore[attr-defined]
        "failures_per_second_total": sum(entry.num_fail_per_sec.values()),  # type: ignore[attr-defined]
    }


def _same(ours: dict, locusts: dict, key: object) -> None:
    # a batch's times are summed before they are added to the run's total, as a master adds a worker's report: the
    # sum may differ from Locust's one-by-one sum in its last bits, never more
    for name in ("total_response_time", "avg_response_time"):
        mine, theirs = ours.pop(name), locusts.pop(name)
        assert abs(mine - theirs) <= 1e-12 * abs(theirs), (key, name, mine, theirs)
    assert ours == locusts, (key, {k: (ours[k], locusts[k]) for k in ours if ours[k] != locusts[k]})


def batches_give_locust_the_figures_its_own_bookkeeping_gives() -> None:
    direct, batched = _environment(), _environment()
    recorder = _native.HdrStats()
    samples = _samples(3000)
    first = time.time()
    for index, (method, name, ms, length) in enumerate(samples):
        direct.events.request.fire(request_type=method, name=name, response_time=ms, response_length=length,
                                   exception=None, context={}, response=None)
        recorder.record_for_locust(method, name, ms, length)
        if index % 700 == 0:  # several batches, as the timer hands them over
            add_to_locust(batched.stats, recorder.drain_locust())
    add_to_locust(batched.stats, recorder.drain_locust())
    last = time.time()
    assert recorder.drain_locust() == []
    assert set(direct.stats.entries) == set(batched.stats.entries) and len(direct.stats.entries) == 9
    for key, entry in direct.stats.entries.items():
        _same(_figures(batched.stats.entries[key]), _figures(entry), key)
    _same(_figures(batched.stats.total), _figures(direct.stats.total), "total")
    for stats in (direct.stats, batched.stats):
        seconds = [int(s) for e in stats.entries.values() for s in e.num_reqs_per_sec]
        assert int(first) <= min(seconds) and max(seconds) <= int(last)
        assert first <= stats.total.last_request_timestamp <= last
    # the exact histograms got every sample too
    assert sum(s["count"] for s in recorder.summaries()) == len(samples)


def anything_else_listening_turns_batches_off() -> None:
    environment = _environment()
    recorder = ExactStats(environment).recorder
    feed = LocustFeed(environment, recorder)
    # ExactStats made a feed of its own; this one sees the same two listeners: Locust's and the exact histograms'
    assert feed.batchable()
    seen: list[str] = []

    def listener(name: str, **_: object) -> None:
        seen.append(name)

    environment.events.request.add_listener(listener)
    assert not feed.batchable()
    environment.events.request.remove_listener(listener)
    assert feed.batchable()


def _observed(response: object) -> dict:
    """What a locustfile reads of a response, besides its request_meta."""
    return {
        "status_code": response.status_code,  # type: ignore[attr-defined]
        "ok": response.ok,  # type: ignore[attr-defined]
        "text": response.text,  # type: ignore[attr-defined]
        "json": response.json(),  # type: ignore[attr-defined]
        "content_type": response.headers.get("content-type"),  # type: ignore[attr-defined]
        "url": response.url,  # type: ignore[attr-defined]
        "error": response.error,  # type: ignore[attr-defined]
        "request": (response.request.method, response.request.url, response.request.body),  # type: ignore[attr-defined]
    }


def _comparable(meta: dict) -> dict:
    """A request_meta without what differs between two sends of one request (its times, its response object)."""
    return {key: value for key, value in meta.items() if key not in ("response", "response_time", "start_time")}


def request_meta_of_a_batched_request_is_the_events(base: str) -> None:
    """A batched request's ``response.request_meta``, made when first read, is what ``events.request`` carries for
    the same request once something else listens (a listener registered mid-run), and what it would have carried
    then: the user's context() and the caller's context as they were when the request was made."""
    from pushpop_load import NativeHttpUser

    environment = _environment()

    class Plain(NativeHttpUser):
        host = base

    class Tagged(NativeHttpUser):
        host = base
        tag = "before"

        def context(self) -> dict:
            return {"tag": self.tag}

    plain, tagged = Plain(environment), Tagged(environment)
    feed = ExactStats.of(environment).feed
    assert feed.batchable()

    def requests(user: NativeHttpUser, context: dict) -> list:
        made = [user.client.post("/queue/meta/push", json={"item": {"n": 1}}, name="push", context=context),
                user.client.get("/queue/meta/stats", params={"x": "1"})]
        with user.client.rename_request("renamed"):
            made.append(user.client.post("/queue/meta/pop", params={"depth": 1}))
        with user.client.get("/queue/meta/stats", name="caught", catch_response=True) as caught:
            assert caught.request_meta["name"] == "caught" and caught.request_meta["response"] is caught
            caught.success()
        return made

    context = {"call": 1}
    batched = requests(plain, context)
    context["call"] = 2  # after the request: its request_meta keeps what the caller gave
    tagged_response = tagged.client.get("/queue/meta/stats", name="tagged")
    tagged.tag = "after"  # the user's context() as it was when the request was made
    feed.feed()
    assert environment.stats.total.num_requests == 5 and environment.stats.total.num_failures == 0

    fired: list[dict] = []
    environment.events.request.add_listener(lambda **meta: fired.append(meta))
    assert not feed.batchable()
    reported = requests(plain, {"call": 1})
    tagged.tag = "before"
    tagged_reported = tagged.client.get("/queue/meta/stats", name="tagged")
    assert len(fired) == 5 and environment.stats.total.num_requests == 10

    for late, evented, event in zip([*batched, tagged_response], [*reported, tagged_reported],
                                    [*fired[:3], fired[4]]):
        meta = late.request_meta
        assert meta is late.request_meta  # made once
        assert meta["response"] is late and event["response"] is evented
        assert _comparable(meta) == _comparable(event) == _comparable(evented.request_meta), (meta, event)
        assert meta["exception"] is None and meta["response_time"] == late.elapsed_ms
        assert meta["start_time"] < event["start_time"]
        assert _observed(late) == _observed(evented)
    assert batched[0].request_meta["context"] == {"call": 1}
    assert tagged_response.request_meta["context"] == {"tag": "before"}


CHECKS = {check.__name__: check for check in (batches_give_locust_the_figures_its_own_bookkeeping_gives,
                                              anything_else_listening_turns_batches_off,
                                              request_meta_of_a_batched_request_is_the_events)}

if __name__ == "__main__":
    CHECKS[sys.argv[1]](*sys.argv[2:])
    print("ok")
