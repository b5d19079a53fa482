"""The PostgreSQL store: durable answers, start-up errors, and PostgreSQL going away in the middle of traffic."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest
import requests

from processes import PUSHPOP, Postgres, Target, free_port, queue_id


def test_push_is_committed_before_the_answer(postgres: Postgres) -> None:
    target = Target("--store", postgres.url).start()
    try:
        queue = queue_id("durable")
        with requests.Session() as http:
            for n in range(20):
                assert http.post(f"{target.url}/queue/{queue}/push", json={"item": {"n": n}, "priority": n % 2}).ok
                # another connection sees the row as soon as the answer is in: it was committed
                rows = postgres.sql(f"SELECT count(*) FROM pushpop_items WHERE queue_id = '{queue}'").stdout.strip()
                assert rows == str(n + 1)
    finally:
        assert target.stop() == 0
    # a new target process over the same database finds every item, in order
    target = Target("--store", postgres.url).start()
    try:
        reply = requests.post(f"{target.url}/queue/{queue}/pop?depth=100")
        items = [item["n"] for item in reply.json()["items"]]
        assert items == list(range(0, 20, 2)) + list(range(1, 20, 2))
        assert postgres.sql(f"SELECT count(*) FROM pushpop_items WHERE queue_id = '{queue}'").stdout.strip() == "0"
    finally:
        assert target.stop() == 0


def test_unreachable_postgres_is_one_clear_line_and_exit_2() -> None:
    url = f"postgres://loader:s3cret-pw@127.0.0.1:{free_port()}/nowhere"
    started = time.monotonic()
    done = subprocess.run([PUSHPOP, "target", "--port", "0", "--store", url], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert time.monotonic() - started < 10
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "cannot reach PostgreSQL" in lines[0]
    assert "loader:***@127.0.0.1" in lines[0]
    assert "s3cret-pw" not in done.stderr + done.stdout
    assert done.stdout == ""


@pytest.mark.parametrize("how", ["fast", "immediate"])
def test_postgres_restart_mid_traffic_fails_fast_recovers_and_loses_nothing(how: str) -> None:
    cluster = Postgres()
    cluster.start()
    target = Target("--store", cluster.url).start()
    queue = queue_id("restart")
    acked: set[tuple[int, int]] = set()
    statuses: list[tuple[float, int, float, str]] = []  # (sent at, status, seconds taken, detail)
    stop = threading.Event()
    lock = threading.Lock()

    def produce(producer: int) -> None:
        n = 0
        with requests.Session() as http:
            deadline = time.monotonic() + 60  # bounded whatever happens
            while not stop.is_set() and time.monotonic() < deadline:
                sent = time.monotonic()
                try:
                    reply = http.post(
                        f"{target.url}/queue/{queue}/push", json={"item": {"p": producer, "n": n}}, timeout=15
                    )
                    status, detail = reply.status_code, reply.text
                except requests.RequestException as exc:
                    status, detail = 0, str(exc)
                with lock:
                    statuses.append((sent, status, time.monotonic() - sent, detail))
                    if status == 200:
                        acked.add((producer, n))
                n += 1
                if status != 200:
                    time.sleep(0.05)

    try:
        producers = [threading.Thread(target=produce, args=(p,)) for p in range(4)]
        for thread in producers:
            thread.start()
        time.sleep(1.0)
        cluster.stop(signal.SIGINT if how == "fast" else signal.SIGQUIT)
        down_at = time.monotonic()
        time.sleep(2.0)
        restart_at = time.monotonic()
        cluster.start()
        up_at = time.monotonic()
        # traffic goes on until pushes have succeeded again for a while
        recovered_at = None
        while time.monotonic() < up_at + 20:
            with lock:
                recovered_at = next((s for s, status, _, _ in statuses if s > up_at and status == 200), None)
            if recovered_at is not None:
                break
            time.sleep(0.1)
        time.sleep(1.0)
        stop.set()
        for thread in producers:
            thread.join(timeout=30)

        assert recovered_at is not None, "pushes never succeeded again after PostgreSQL came back"
        assert recovered_at - up_at < 10
        during = [(status, took, detail) for sent, status, took, detail in statuses if down_at + 0.5 < sent < restart_at]
        assert during, "no request was made while PostgreSQL was down"
        assert all(status == 503 for status, _, _ in during), {status for status, _, _ in during}
        assert all("state store unavailable" in detail for _, _, detail in during), during[0]
        assert max(took for _, took, _ in during) < 3.0, "requests must fail fast while the store is away"
        assert {status for _, status, _, _ in statuses} <= {200, 503}

        # every acknowledged push is still there, once
        with requests.Session() as http:
            found: list[tuple[int, int]] = []
            while True:
                reply = http.post(f"{target.url}/queue/{queue}/pop?depth=100", timeout=15)
                assert reply.status_code == 200, reply.text
                items = reply.json()["items"]
                if not items:
                    break
                found += [(item["p"], item["n"]) for item in items]
        assert len(found) == len(set(found)), "an item came back twice"
        assert not acked - set(found), f"acknowledged items lost: {sorted(acked - set(found))[:10]}"
        # a push whose answer was lost may still have committed; nothing that was never sent may appear
        sent_count = len(statuses)
        assert len(set(found) - acked) <= sent_count - len(acked)
        assert http.get(f"{target.url}/ready").status_code == 200
    finally:
        stop.set()
        code = target.stop()
        cluster.cleanup()
    assert code == 0


def test_ready_reports_the_store(postgres: Postgres) -> None:
    cluster = Postgres()
    cluster.start()
    target = Target("--store", cluster.url).start()
    try:
        assert requests.get(f"{target.url}/ready").status_code == 200
        cluster.stop()
        reply = requests.get(f"{target.url}/ready", timeout=10)
        assert reply.status_code == 503
        assert "state store unavailable" in reply.json()["detail"]
        assert requests.get(f"{target.url}/health").status_code == 200  # the API process itself still serves
        cluster.start()
        deadline = time.monotonic() + 10
        while requests.get(f"{target.url}/ready", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "never ready again"
            time.sleep(0.2)
    finally:
        assert target.stop() == 0
        cluster.cleanup()
