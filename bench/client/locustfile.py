"""The same push request from Locust's two clients and from NativeHttpUser, for bench/client/run.py.

BENCH_BUSY_US: microseconds of Python work each task does besides its request (0: none).
BENCH_RATE: tasks per second per user (0: back to back).
"""

from __future__ import annotations

import os
import time

from locust import FastHttpUser, HttpUser, constant, constant_throughput

import bench_hooks  # noqa: F401  (records steady-state CPU and exact latencies)
from pushpop_load import NativeHttpUser

BUSY_S = float(os.environ.get("BENCH_BUSY_US", "0")) / 1e6
RATE = float(os.environ.get("BENCH_RATE", "0"))
PAYLOAD = "x" * 50


def burn() -> None:
    # user code between requests: what a real locustfile does to build items and check answers
    if BUSY_S:
        end = time.perf_counter() + BUSY_S
        while time.perf_counter() < end:
            pass


def push(user) -> None:  # noqa: ANN001
    burn()
    user.client.post("/queue/q1/push", json={"item": {"data": PAYLOAD, "timestamp": time.time()}, "priority": 0})


WAIT = constant_throughput(RATE) if RATE else constant(0)


class HttpPushUser(HttpUser):
    tasks = [push]
    wait_time = WAIT


class FastHttpPushUser(FastHttpUser):
    tasks = [push]
    wait_time = WAIT


class NativePushUser(NativeHttpUser):
    tasks = [push]
    wait_time = WAIT
