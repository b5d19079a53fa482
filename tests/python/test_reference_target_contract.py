"""Every row of CONTRACT.md, over real HTTP, against both stores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from processes import Target, queue_id


def push(http: requests.Session, target: Target, queue: str, item: object, priority: object = None) -> requests.Response:
    body = {"item": item} if priority is None else {"item": item, "priority": priority}
    return http.post(f"{target.url}/queue/{queue}/push", json=body)


def pop(http: requests.Session, target: Target, queue: str, depth: object = None) -> requests.Response:
    suffix = "" if depth is None else f"?depth={depth}"
    return http.post(f"{target.url}/queue/{queue}/pop{suffix}")


def popped(http: requests.Session, target: Target, queue: str, depth: int) -> list:
    reply = pop(http, target, queue, depth)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["count"] == len(body["items"]) <= depth
    return body["items"]


def assert_detail(reply: requests.Response, status: int, *words: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    detail = reply.json()["detail"]
    assert isinstance(detail, str) and detail
    for word in words:
        assert word.lower() in detail.lower(), detail


def test_health(target: Target, http: requests.Session) -> None:
    reply = http.get(f"{target.url}/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "healthy", "service": "pushpop-load-target"}


def test_ready(target: Target, http: requests.Session) -> None:
    assert http.get(f"{target.url}/ready").status_code == 200


def test_push_answers_as_the_service_does(target: Target, http: requests.Session) -> None:
    queue = queue_id()
    reply = push(http, target, queue, {"a": 1}, 3)
    assert reply.status_code == 200
    assert reply.json() == {"success": True, "message": f"Item pushed to queue {queue} at priority 3"}
    reply = push(http, target, queue, {"b": 2})
    assert reply.json()["message"] == f"Item pushed to queue {queue} at priority 0"
    assert http.get(f"{target.url}/queue/{queue}/stats").json() == {"depth": 2, "by_priority": {"0": 1, "3": 1}}


@pytest.mark.parametrize("item", ["text", 42, 1.5, [1, 2], None, True])
def test_push_rejects_non_object_items(target: Target, http: requests.Session, item: object) -> None:
    queue = queue_id()
    assert_detail(push(http, target, queue, item), 400, "item")
    assert http.get(f"{target.url}/queue/{queue}/stats").json()["depth"] == 0


def test_push_rejects_missing_item(target: Target, http: requests.Session) -> None:
    assert_detail(http.post(f"{target.url}/queue/{queue_id()}/push", json={"priority": 1}), 400, "item")


@pytest.mark.parametrize(
    ("priority", "word"),
    [(-1, "non-negative"), (-100000, "non-negative"), (1.5, "integer"), ("1", "integer"), (1001, "at most"),
     (10**30, "at most")],
)
def test_push_rejects_bad_priorities(target: Target, http: requests.Session, priority: object, word: str) -> None:
    assert_detail(push(http, target, queue_id(), {"a": 1}, priority), 400, "priority", word)


def test_push_accepts_priority_bounds(target: Target, http: requests.Session) -> None:
    queue = queue_id()
    assert push(http, target, queue, {"a": 1}, 0).status_code == 200
    assert push(http, target, queue, {"a": 1}, 1000).status_code == 200


@pytest.mark.parametrize("body", [b"not json", b"{\"item\": {\"a\": 1}", b"[]", b"", b"\xff\xfe"])
def test_push_rejects_bodies_that_are_not_json_objects(target: Target, http: requests.Session, body: bytes) -> None:
    reply = http.post(f"{target.url}/queue/{queue_id()}/push", data=body, headers={"content-type": "application/json"})
    assert_detail(reply, 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_push_rejects_wrong_content_type(target: Target, http: requests.Session, content_type: str) -> None:
    reply = http.post(
        f"{target.url}/queue/{queue_id()}/push", data=b'{"item": {"a": 1}}', headers={"content-type": content_type}
    )
    assert_detail(reply, 400, "content-type")


def test_push_body_limit(target: Target, http: requests.Session) -> None:
    queue = queue_id()
    envelope = len(json.dumps({"item": {"data": ""}}).encode())
    fits = {"item": {"data": "x" * (1024 * 1024 - envelope)}}
    assert len(json.dumps(fits).encode()) == 1024 * 1024
    assert push(http, target, queue, fits["item"]).status_code == 200
    too_big = {"item": {"data": "x" * (1024 * 1024 - envelope + 1)}}
    assert_detail(http.post(f"{target.url}/queue/{queue}/push", json=too_big), 413, "limit")
    # without a Content-Length the limit still holds, while the body streams in
    chunks = iter([json.dumps(too_big).encode()[i : i + 65536] for i in range(0, 1024 * 1024 + 1, 65536)])
    reply = http.post(f"{target.url}/queue/{queue}/push", data=chunks, headers={"content-type": "application/json"})
    assert_detail(reply, 413)
    assert popped(http, target, queue, 10) == [fits["item"]]


def test_pop_empty_queue(target: Target, http: requests.Session) -> None:
    reply = pop(http, target, queue_id(), 10)
    assert reply.status_code == 200
    assert reply.json() == {"items": [], "count": 0}


@pytest.mark.parametrize("depth", ["0", "101", "-1", "abc", "1.5", ""])
def test_pop_rejects_bad_depth(target: Target, http: requests.Session, depth: str) -> None:
    queue = queue_id()
    push(http, target, queue, {"a": 1})
    assert_detail(pop(http, target, queue, depth), 400, "depth")
    assert http.get(f"{target.url}/queue/{queue}/stats").json()["depth"] == 1


def test_pop_depth_defaults_to_one_and_stops_at_100(target: Target, http: requests.Session) -> None:
    queue = queue_id()
    for n in range(105):
        assert push(http, target, queue, {"n": n}).status_code == 200
    # without depth, the answer also carries the older deployments' "item", so both generations of clients get it
    assert pop(http, target, queue).json() == {"item": {"n": 0}, "items": [{"n": 0}], "count": 1}
    assert [item["n"] for item in popped(http, target, queue, 100)] == list(range(1, 101))
    assert [item["n"] for item in popped(http, target, queue, 100)] == list(range(101, 105))


def test_order_priority_then_fifo_and_pops_span_priorities(target: Target, http: requests.Session) -> None:
    queue = queue_id()
    pushes = [(2, "c1"), (0, "a1"), (1, "b1"), (0, "a2"), (2, "c2"), (1, "b2"), (0, "a3")]
    for priority, name in pushes:
        assert push(http, target, queue, {"name": name}, priority).status_code == 200
    assert http.get(f"{target.url}/queue/{queue}/stats").json() == {"depth": 7, "by_priority": {"0": 3, "1": 2, "2": 2}}
    assert [i["name"] for i in popped(http, target, queue, 2)] == ["a1", "a2"]
    assert [i["name"] for i in popped(http, target, queue, 3)] == ["a3", "b1", "b2"]
    assert [i["name"] for i in popped(http, target, queue, 10)] == ["c1", "c2"]
    assert popped(http, target, queue, 10) == []


def test_items_come_back_exactly_as_pushed(target: Target, http: requests.Session) -> None:
    queue = queue_id()
    raw_item = '{"b": 1.50, "a": "caf\\u00e9 \u2603", "nested": {"list": [1, null, true]}, "big": 12345678901234567890}'
    body = '{"priority": 0, "item": ' + raw_item + "}"
    reply = http.post(f"{target.url}/queue/{queue}/push", data=body.encode(), headers={"content-type": "application/json"})
    assert reply.status_code == 200, reply.text
    reply = pop(http, target, queue, 1)
    assert raw_item in reply.content.decode()
    assert reply.json()["items"] == [json.loads(raw_item)]


@pytest.mark.parametrize("queue", ["a", "x" * 200, "load-test-k3j9x0aa", "A.b_c:d-9"])
def test_valid_queue_ids(target: Target, http: requests.Session, queue: str) -> None:
    assert push(http, target, queue, {"q": queue}).status_code == 200
    assert popped(http, target, queue, 1) == [{"q": queue}]


@pytest.mark.parametrize("path_id", ["x" * 201, "a%20b", "caf%C3%A9", "a%2Fb", "", "a/b", "a%00b"])
@pytest.mark.parametrize("operation", ["push", "pop", "stats"])
def test_invalid_queue_ids(target: Target, http: requests.Session, path_id: str, operation: str) -> None:
    url = f"{target.url}/queue/{path_id}/{operation}"
    if operation == "stats":
        reply = http.get(url)
    else:
        reply = http.post(url, json={"item": {"a": 1}})
    assert_detail(reply, 400, "queue id")


def test_unknown_path_is_404_json(target: Target, http: requests.Session) -> None:
    assert_detail(http.get(f"{target.url}/nothing-here"), 404)


def test_server_timing_on_every_answer(target: Target, http: requests.Session) -> None:
    queue = queue_id()
    for reply in [
        push(http, target, queue, {"a": 1}),
        push(http, target, queue, "bad"),
        pop(http, target, queue, 5),
        http.get(f"{target.url}/health"),
    ]:
        match = re.fullmatch(r"app;dur=(\d+\.\d+)", reply.headers["server-timing"])
        assert match, reply.headers
        assert 0 <= float(match.group(1)) < 5000


def test_pop_without_depth_answers_both_generations_of_clients(target: Target, http: requests.Session) -> None:
    queue = queue_id()
    assert pop(http, target, queue).json() == {"item": None, "items": [], "count": 0}
    push(http, target, queue, {"n": 1})
    assert pop(http, target, queue, 1).json() == {"items": [{"n": 1}], "count": 1}  # with depth: the contract's


@pytest.mark.parametrize(("shape", "without_depth", "with_depth"), [
    ("items", {"items": [{"n": 0}], "count": 1}, {"items": [{"n": 1}, {"n": 2}], "count": 2}),
    ("item", {"item": {"n": 0}}, {"item": {"n": 1}}),
])
def test_pop_shape_can_be_pinned(shape: str, without_depth: dict, with_depth: dict, http: requests.Session) -> None:
    pinned = Target("--pop-shape", shape).start()
    try:
        queue = queue_id()
        for n in range(3):
            assert http.post(f"{pinned.url}/queue/{queue}/push", json={"item": {"n": n}}).status_code == 200
        assert http.post(f"{pinned.url}/queue/{queue}/pop").json() == without_depth
        assert http.post(f"{pinned.url}/queue/{queue}/pop", params={"depth": 2}).json() == with_depth
    finally:
        assert pinned.stop() == 0


def test_the_dapr_sidecars_health_check_answers_as_the_sidecar(target: Target, http: requests.Session) -> None:
    reply = http.get(f"{target.url}/v1.0/healthz")
    assert reply.status_code == 204 and reply.content == b""


SEED_USER = """
import json, os
import gevent
from locust import FastHttpUser, events, task, constant
from locust.exception import StopUser

GOT, FAILED, DONE = [], [], []

class SeedBaseUser(FastHttpUser):
    # as the seed's base user: push, then pop without depth and read the older answer's "item"
    wait_time = constant(0)

    def on_start(self):
        self.rounds = 0

    @task
    def push_then_pop(self):
        if self.rounds == 20:
            DONE.append(self)
            if len(DONE) == self.environment.parsed_options.num_users:
                gevent.spawn(self.environment.runner.quit)
            raise StopUser()
        self.rounds += 1
        self.client.post(f"/queue/seed-{id(self)}/push", json={"item": {"n": self.rounds}, "priority": 0})
        item = self.client.post(f"/queue/seed-{id(self)}/pop").json().get("item")
        if item is not None:
            GOT.append(item["n"])

@events.request.add_listener
def _failed(exception=None, **_):
    if exception is not None:
        FAILED.append(repr(exception))

@events.quitting.add_listener
def _write(**_):
    with open(os.environ["SEED_OUT"], "w") as out:
        json.dump({"got": GOT, "failed": FAILED}, out)
"""


def test_the_seeds_base_user_gets_its_items(target: Target, tmp_path: Path) -> None:
    from processes import locust_headless

    locustfile = tmp_path / "seed_user.py"
    locustfile.write_text(SEED_USER)
    out = tmp_path / "got.json"
    done, _ = locust_headless(locustfile, target.url, tmp_path / "seed", "-u", "2", "-r", "2", "-t", "60s",
                              env={"SEED_OUT": str(out)}, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["failed"] == [] and sorted(result["got"]) == sorted(list(range(1, 21)) * 2), result
