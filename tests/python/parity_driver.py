"""Runs every case of parity_cases.py with FastHttpUser's client and with NativeHttpUser's, in one gevent process,
and writes what each observed as JSON.

    python tests/python/parity_driver.py BASE_URL OUT.json [CASE ...]
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

from locust.contrib.fasthttp import FastHttpSession, FastHttpUser
from locust.env import Environment

from pushpop_load.nativehttp import NativeHttpSession, NativeHttpUser

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parity_cases import CASES, described  # noqa: E402

KINDS = {"fast": (FastHttpSession, FastHttpUser), "native": (NativeHttpSession, NativeHttpUser)}


class Run:
    """One case's world: sessions and users of one kind, the events they fire, a port that refuses."""

    def __init__(self, kind: str, base: str, closed_port: int) -> None:
        self.session_class, self.user_class = KINDS[kind]
        self.base = base
        self.closed_port = closed_port
        self.environment = Environment(host=base)
        self.events: list[dict[str, Any]] = []
        self.sessions: list[Any] = []
        self.environment.events.request.add_listener(self._record)

    def _record(self, **meta: Any) -> None:
        response = meta.get("response")
        self.events.append({
            "request_type": meta["request_type"],
            "name": meta["name"],
            "url": meta.get("url"),
            "response_length": meta["response_length"],
            "exception": described(meta["exception"]),
            "context": meta["context"],
            "response_status": None if response is None else response.status_code,
            "response_time_is_a_number": isinstance(meta["response_time"], (int, float)),
        })

    def session(self, base: str | None = None, **kwargs: Any) -> Any:
        session = self.session_class(base or self.base, self.environment.events.request, user=None, **kwargs)
        self.sessions.append(session)
        return session

    def user(self, **attributes: Any) -> Any:
        user_class = type("ParityUser", (self.user_class,), {"host": self.base, **attributes})
        user = user_class(self.environment)
        self.sessions.append(user.client)
        return user

    def cookies(self) -> list[list[Any]]:
        return [sorted([cookie.name, cookie.value, cookie.path] for cookie in session.cookiejar)
                for session in self.sessions]


def run_case(kind: str, name: str, base: str, closed_port: int) -> dict[str, Any]:
    run = Run(kind, base, closed_port)
    observed: dict[str, Any] = {"returned": None, "raised": None}
    try:
        observed["returned"] = CASES[name](run)
    except Exception as error:  # noqa: BLE001 - what the case raised is an observation
        observed["raised"] = described(error)
    observed["events"] = run.events
    observed["cookies"] = run.cookies()
    return json.loads(json.dumps(observed, default=repr))


def main() -> None:
    base, out, *names = sys.argv[1:]
    # bound and never listening: connecting to it is refused, and no other process can take the port meanwhile
    refuser = socket.socket()
    refuser.bind(("127.0.0.1", 0))
    closed_port = refuser.getsockname()[1]
    results = {"base": base, "closed_port": closed_port, "cases": {}}
    for name in names or list(CASES):
        results["cases"][name] = {kind: run_case(kind, name, base, closed_port) for kind in KINDS}
    Path(out).write_text(json.dumps(results, indent=1, sort_keys=True))
    refuser.close()


if __name__ == "__main__":
    main()
