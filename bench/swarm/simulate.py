"""Simulated Locust workers for bench/swarm/run.py: `simulate.py PORT TAG COUNT RESULT TEMPLATE...` connects COUNT
workers to a master on 127.0.0.1:PORT over Locust's own ZeroMQ client and message format, as `locust --worker`
does: `client_ready`, a heartbeat every second, `spawning` and `spawning_complete` on a spawn, the template reports
in turn every 3 s while running, `client_stopped` on a stop, an empty final report when the master asks for one
(`pushpop_load.swarm`); it ends at the master's quit and writes RESULT
({"reports", "requests", "heartbeat_rtt_ms", "report_times", "final_request_times", "quit_times"}: unix times of the
reports sent, of the master's final-report requests and quits received) for all its workers."""

from __future__ import annotations

import locust  # noqa: F401  (first: it patches the process for gevent)

import json
import sys
import time
from pathlib import Path

import gevent
import msgpack
from locust import __version__
from locust.rpc import zmqrpc
from locust.rpc.protocol import Message
from locust.stats import RequestStats

from pushpop_load import __version__ as pushpop_version
from pushpop_load.swarm import FINAL_KEY, FINAL_REQUEST, VERSION_KEY

port, tag, count, result = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
templates = [msgpack.loads(Path(path).read_bytes(), strict_map_key=False) for path in sys.argv[5:]]
totals = {"reports": 0, "requests": 0, "heartbeat_rtt_ms": [], "report_times": [], "final_request_times": [],
          "quit_times": []}
# nothing new since the last report, marked final (with the mark of the master's request): what a worker whose users
# stopped sends
FINAL = {"stats": [], "stats_total": RequestStats().total.get_stripped_report(), "errors": {}, "user_count": 0,
         "user_classes_count": {}, FINAL_KEY: True, VERSION_KEY: pushpop_version}
REPORT_INTERVAL = 3.0
HEARTBEAT_INTERVAL = 1.0


def worker(index: int) -> None:
    client_id = f"sim-{tag}-{index}"
    client = zmqrpc.Client("127.0.0.1", port, client_id)
    wires = [Message("stats", template["data"], client_id).serialize() for template in templates]
    state = {"name": "ready", "alive": True}
    # the master does not answer the heartbeats it gets before the worker is registered, so a reply is paired with
    # the latest heartbeat (a master more than a second late would show as less than it is)
    sent_at: list[float] = []

    def heartbeats() -> None:
        while state["alive"]:
            sent_at[:] = [time.monotonic()]
            client.send(Message("heartbeat", {"state": state["name"], "current_cpu_usage": 50.0,
                                              "current_memory_usage": 100_000_000}, client_id))
            gevent.sleep(HEARTBEAT_INTERVAL)

    def reports() -> None:
        sent = 0
        while state["alive"]:
            gevent.sleep(REPORT_INTERVAL)
            if state["name"] == "running" and state["alive"]:
                client.socket.send(wires[sent % len(wires)])
                totals["reports"] += 1
                totals["report_times"].append(time.time())
                totals["requests"] += templates[sent % len(wires)]["requests"]
                sent += 1

    client.send(Message("client_ready", __version__, client_id))
    loops: list[gevent.Greenlet] = []
    while state["alive"]:
        message = client.recv()
        if message.type == "ack" and not loops:
            loops = [gevent.spawn(heartbeats), gevent.spawn(reports)]
        elif message.type == "spawn":
            client.send(Message("spawning", None, client_id))
            users = message.data["user_classes_count"]
            state["name"] = "running"
            client.send(Message("spawning_complete", {"user_classes_count": users, "user_count": sum(users.values())},
                                client_id))
        elif message.type == "heartbeat" and sent_at:
            totals["heartbeat_rtt_ms"].append(1000 * (time.monotonic() - sent_at.pop()))
        elif message.type == "stop":
            state["name"] = "stopped"
            client.send(Message("client_stopped", None, client_id))
        elif message.type == FINAL_REQUEST:
            totals["final_request_times"].append(time.time())
            state["name"] = "stopped"
            client.send(Message("stats", {**FINAL, FINAL_KEY: message.data or True}, client_id))
        elif message.type == "quit":
            totals["quit_times"].append(time.time())
            state["alive"] = False
    gevent.killall(loops)
    client.close(linger=0)


gevent.joinall([gevent.spawn(worker, index) for index in range(count)], timeout=600)
result.write_text(json.dumps(totals))
