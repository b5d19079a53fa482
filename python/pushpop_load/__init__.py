"""pushpop-load: a load-testing toolkit for the push-pop-actor queue service, a Rust core under Locust."""

from __future__ import annotations

from pushpop_load._native import __version__, build_profile

# not `from typing import TYPE_CHECKING`: importing typing is a third of the command line's start-up (8 ms of 24);
# type checkers treat any `TYPE_CHECKING` as true
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any as _Any

    from pushpop_load.client import Client
    from pushpop_load.nativehttp import ConnectionPool, NativeHttpSession, NativeHttpUser, NativeResponse
    from pushpop_load.transport import HttpStatusError
    from pushpop_load.scenario import ScenarioUser
    from pushpop_load.users import PushPopUser
    from pushpop_load._native import PrepopulateError, PrepopulateReport, prepopulate
    from pushpop_load.prepopulation import prepopulate_gevent
    from pushpop_load.throughput import swarm_throughput

__all__ = [
    "Client",
    "ConnectionPool",
    "HttpStatusError",
    "NativeHttpSession",
    "NativeHttpUser",
    "NativeResponse",
    "PrepopulateError",
    "PrepopulateReport",
    "PushPopUser",
    "ScenarioUser",
    "__version__",
    "build_profile",
    "prepopulate",
    "prepopulate_gevent",
    "swarm_throughput",
]

_LAZY = {"Client": "client", "ConnectionPool": "nativehttp", "HttpStatusError": "transport",
         "NativeHttpSession": "nativehttp", "NativeHttpUser": "nativehttp", "NativeResponse": "nativehttp",
         "PushPopUser": "users", "ScenarioUser": "scenario", "swarm_throughput": "throughput"}
_LAZY.update({"PrepopulateError": "_native", "PrepopulateReport": "_native", "prepopulate": "_native",
              "prepopulate_gevent": "prepopulation"})


def __getattr__(name: str) -> _Any:
    # Importing Locust monkey-patches the whole process for gevent; the command line and the reference target
    # must not pay for that, so the Locust-facing classes load on first use.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"pushpop_load.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'pushpop_load' has no attribute {name!r}")
