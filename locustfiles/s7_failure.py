"""S7 failure scenarios: validation under load, and drills that restart a component mid-run
(the seed's ``scenarios/s7_failure.py``).

S7a-S7c send requests the service must reject, mixed with valid traffic. A rejection counts as a *success* only
when it is a 400 or 422 (FastAPI's schema errors) with a descriptive body; anything else (a 200, a 500, an empty
``detail``) is a failure with the reason. The valid traffic beside it must keep succeeding.

| class | seed | invalid requests (3 in 5 tasks) | valid traffic (2 in 5) | swarm rate |
|---|---|---|---|---|
| ``InvalidPayloadUser`` | S7a | items that are strings, numbers, lists, null, or missing | push + pop | 20 RPS |
| ``NegativePriorityUser`` | S7b | priorities -1, -5, -1000 | push + pop | 20 RPS |
| ``ExcessiveDepthUser`` | S7c | pop depths 101, 150, 1000 | push + pop | 20 RPS |

``DrillUser`` is the steady traffic of the S7d (PostgreSQL restart) and S7e (API process restart) drills, which
``scripts/run_drill.sh`` orchestrates: balanced push/pop on per-user queues while the component is restarted.
"""

from __future__ import annotations

import random
from typing import Any

from locust import task

from pushpop_load.payloads import make_item
from pushpop_load.scenario import BalancedUser

INVALID_ITEMS: list[Any] = ["not an object", 42, 3.5, [1, 2, 3], None, True]


def _descriptive(response: Any) -> str | None:
    """The rejection's explanation (FastAPI: a string or a list of errors), or None when there is none."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return None
    return str(detail) if detail else None


class _ValidationUser(BalancedUser):
    abstract = True
    rate = "constant:rate=20"
    priorities = (0, 1, 2)

    def expect_rejection(self, method: str, path: str, name: str, **kwargs: Any) -> None:
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as response:
            if response.status_code not in (400, 422):
                response.failure(f"expected a 400/422 rejection, got {response.status_code or response.error}")
            elif _descriptive(response) is None:
                response.failure(f"{response.status_code} without a descriptive detail: {response.text[:100]!r}")
            else:
                response.success()


class InvalidPayloadUser(_ValidationUser):
    """S7a: items that are not JSON objects."""

    scenario = "S7a"

    @task(3)
    def push_invalid_item(self) -> None:
        body: dict[str, Any] = {"priority": 0}
        choice = random.randrange(len(INVALID_ITEMS) + 1)
        if choice < len(INVALID_ITEMS):
            body["item"] = INVALID_ITEMS[choice]
        self.expect_rejection("POST", f"/queue/{self.queue_id}/push", "/queue/[id]/push (invalid item)", json=body)


class NegativePriorityUser(_ValidationUser):
    """S7b: negative priorities."""

    scenario = "S7b"

    @task(3)
    def push_negative_priority(self) -> None:
        body = {"item": make_item("small"), "priority": random.choice((-1, -5, -1000))}
        self.expect_rejection("POST", f"/queue/{self.queue_id}/push", "/queue/[id]/push (negative priority)",
                              json=body)


class ExcessiveDepthUser(_ValidationUser):
    """S7c: pops deeper than the service's limit of 100."""

    scenario = "S7c"

    @task(3)
    def pop_too_deep(self) -> None:
        self.expect_rejection("POST", f"/queue/{self.queue_id}/pop", "/queue/[id]/pop (depth > 100)",
                              params={"depth": random.choice((101, 150, 1000))})


class DrillUser(BalancedUser):
    """S7d/S7e: steady balanced traffic while a drill restarts PostgreSQL or the API process."""

    scenario = "S7-drill"
    rate = "constant:rate=50"
    priorities = (0, 1, 2)
    network_timeout = 5.0
    connection_timeout = 2.0
