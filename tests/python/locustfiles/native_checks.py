"""Runs once per check against the reference target (--host) and records what the client and events.request did,
so that tests/python/test_nativehttp.py can assert on real Locust behaviour. Results go to $CHECKS_OUT as JSON."""

from __future__ import annotations

import json
import os
import socket
import time

import gevent
from locust import User, events, task
from locust.exception import ResponseError

from pushpop_load import NativeHttpSession, NativeHttpUser, _native

EVENTS: list[dict] = []
RESULTS: dict[str, object] = {}


@events.request.add_listener
def record(request_type, name, response_time, response_length, response, context, exception, start_time, url, **kw):
    EVENTS.append({
        "request_type": request_type, "name": name, "response_time": response_time,
        "response_length": response_length, "has_response": response is not None, "context": context,
        "exception": repr(exception) if exception is not None else None,
        "exception_type": type(exception).__name__ if exception is not None else None,
        "start_time": start_time, "url": url, "extra": sorted(kw),
    })


def events_since(mark: int) -> list[dict]:
    return EVENTS[mark:]


class Checks(NativeHttpUser):
    default_headers = {"X-Suite": "native-checks"}

    def context(self) -> dict:
        return {"user": "checker"}

    @task
    def run_all(self) -> None:
        c = self.client
        queue = f"native-{os.getpid()}"
        try:
            mark = len(EVENTS)
            r = c.post(f"/queue/{queue}/push", json={"item": {"n": 1}, "priority": 2})
            RESULTS["push"] = {"status": r.status_code, "ok": r.ok, "json": r.json(), "text": r.text,
                               "length": len(r.content), "server_timing": r.headers["Server-Timing"],
                               "content_type": r.headers.get("CONTENT-TYPE"), "elapsed": r.elapsed_ms,
                               "events": events_since(mark)}

            mark = len(EVENTS)
            r = c.post(f"/queue/{queue}/pop", params={"depth": 5}, context={"call": "pop"})
            RESULTS["pop"] = {"json": r.json(), "url": r.url, "events": events_since(mark)}

            mark = len(EVENTS)
            c.post(f"/queue/{queue}/push", json={"item": {"n": 2}}, name="named push")
            with c.rename_request("renamed"):
                c.post(f"/queue/{queue}/pop")
            RESULTS["names"] = [e["name"] for e in events_since(mark)]

            mark = len(EVENTS)
            r = c.post(f"/queue/{queue}/push", json={"item": "not an object"})
            RESULTS["bad_status"] = {"status": r.status_code, "ok": r.ok, "detail": r.json()["detail"],
                                     "events": events_since(mark)}
            try:
                r.raise_for_status()
            except Exception as exc:  # noqa: BLE001
                RESULTS["bad_status"]["raised"] = repr(exc)

            mark = len(EVENTS)
            with c.post(f"/queue/{queue}/push", json={"item": 1}, catch_response=True) as r:
                if r.status_code == 400:
                    r.success()
            with c.post(f"/queue/{queue}/push", json={"item": {"n": 3}}, catch_response=True) as r:
                r.failure("wanted a rejection")
            with c.post(f"/queue/{queue}/push", json={"item": {"n": 4}}, catch_response=True) as r:
                raise ResponseError("flagged by the block")
            try:
                with c.post(f"/queue/{queue}/push", json={"item": {"n": 5}}, catch_response=True) as r:
                    raise ValueError("user bug")
            except ValueError:
                RESULTS["value_error_propagated"] = True
            with c.post(f"/queue/{queue}/push", json={"item": []}, catch_response=True) as r:
                pass
            try:
                r.success()
            except Exception as exc:  # noqa: BLE001
                RESULTS["success_outside"] = type(exc).__name__
            RESULTS["catch"] = [e["exception"] for e in events_since(mark)]

            mark = len(EVENTS)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                closed = probe.getsockname()[1]
            r = c.get(f"http://127.0.0.1:{closed}/health")
            RESULTS["refused"] = {"status": r.status_code, "ok": r.ok, "error": repr(r.error),
                                  "events": events_since(mark)}

            mark = len(EVENTS)
            silent = socket.socket()
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)  # never accepted: the handshake completes, no answer ever comes
            started = time.monotonic()
            r = c.get(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.3)
            RESULTS["timeout"] = {"status": r.status_code, "error": type(r.error).__name__,
                                  "original": type(r.error.original).__name__, "cause": repr(r.error.__cause__),
                                  "waited": time.monotonic() - started, "events": events_since(mark)}
            silent.close()

            # connection_timeout: a listener with a full accept queue never completes the handshake
            full = socket.socket()
            full.bind(("127.0.0.1", 0))
            full.listen(0)
            fillers = []
            for _ in range(3):  # non-blocking: the second and third handshakes never complete
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(full.getsockname())
                fillers.append(filler)
            gevent.sleep(0.2)
            short = NativeHttpSession(f"http://127.0.0.1:{full.getsockname()[1]}", self.environment.events.request,
                                      network_timeout=10, connection_timeout=0.3)
            started = time.monotonic()
            r = short.get("/")
            RESULTS["connect_timeout"] = {"error": repr(r.error), "cause": repr(r.error.__cause__),
                                          "waited": time.monotonic() - started}
            for sock in [*fillers, full]:
                sock.close()

            mark = len(EVENTS)
            r = c.post(f"/queue/{queue}/push", data={"item": "form"})
            RESULTS["form"] = {"status": r.status_code, "detail": r.json()["detail"]}
            r = c.get(f"{self.host}/nowhere")
            RESULTS["absolute_404"] = {"status": r.status_code, "events": events_since(mark)[-1:]}

            # many requests in flight at once from one process
            mark = len(EVENTS)
            started = time.monotonic()
            jobs = [gevent.spawn(c.post, f"/queue/{queue}-fan/push", json={"item": {"n": n}}) for n in range(300)]
            gevent.joinall(jobs, timeout=30)
            RESULTS["fan_out"] = {"statuses": sorted({job.value.status_code for job in jobs if job.value}),
                                  "done": sum(1 for job in jobs if job.value is not None),
                                  "seconds": time.monotonic() - started, "events": len(events_since(mark))}
            r = c.post(f"/queue/{queue}-fan/pop", params={"depth": 100})
            RESULTS["fan_out"]["popped"] = r.json()["count"]

            # a user's own fan-out is held to its concurrency
            narrow = NativeHttpSession(self.host, self.environment.events.request, concurrency=4)
            peak = [0]

            def watch() -> None:
                while True:
                    peak[0] = max(peak[0], _native.http_in_flight())
                    gevent.sleep(0)

            watcher = gevent.spawn(watch)
            jobs = [gevent.spawn(narrow.get, "/health") for _ in range(100)]
            gevent.joinall(jobs, timeout=30)
            watcher.kill()
            RESULTS["concurrency"] = {"peak": peak[0], "done": sum(1 for job in jobs if job.value is not None)}

            # greenlets killed while they hold a slot or wait for one leave the user its 4 slots, no more, no fewer
            jobs = [gevent.spawn(narrow.get, "/health") for _ in range(40)]
            gevent.sleep(0)  # every job has started: 4 in flight, the others waiting for a slot
            gevent.killall(jobs[::3])
            gevent.joinall(jobs, timeout=30)
            peak[0] = 0
            watcher = gevent.spawn(watch)
            jobs = [gevent.spawn(narrow.get, "/health") for _ in range(40)]
            gevent.joinall(jobs, timeout=30)
            watcher.kill()
            RESULTS["concurrency"]["after_kills"] = {"peak": peak[0],
                                                     "done": sum(1 for job in jobs if job.value is not None)}
        except Exception as exc:  # noqa: BLE001
            RESULTS["crashed"] = repr(exc)
        finally:
            with open(os.environ["CHECKS_OUT"], "w") as out:
                json.dump(RESULTS, out)
            self.environment.runner.quit()
