"""The Python package as a newcomer meets it: modules that never import one another in a circle, state that lives on
each Locust environment (two in one process share nothing), and a debug build that says so when a test starts."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from processes import ROOT, Target, locust_headless

PACKAGE = ROOT / "python" / "pushpop_load"


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            if node.level == 1:
                names = [parts[0]] if node.module else [alias.name for alias in node.names]
            elif parts[0] == "pushpop_load":
                names = [parts[1]] if len(parts) > 1 else [alias.name for alias in node.names]
            else:
                names = []
            found.update(name for name in names if name in modules)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "pushpop_load" and len(parts) > 1 and parts[1] in modules:
                    found.add(parts[1])
    return found - {path.stem}


def test_no_module_imports_itself_through_others() -> None:
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    graph = {path.stem: imports_of(path, modules) for path in PACKAGE.glob("*.py")}
    assert graph["plugin"] and graph["nativehttp"], graph  # the reader sees imports, or this test checks nothing
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            module, path = stack.pop()
            for imported in graph[module]:
                if imported == start:
                    cycles.append(" -> ".join([*path, start]))
                elif imported not in path:
                    stack.append((imported, [*path, imported]))
    assert not cycles, cycles


TWO_ENVIRONMENTS = """
import json, sys
import gevent
from locust import task, constant
from locust.env import Environment
from pushpop_load import PushPopUser
from pushpop_load.integrity import Integrity
from pushpop_load.stats import ExactStats

class Pusher(PushPopUser):
    host = sys.argv[1]
    wait_time = constant(0)

    @task
    def push(self):
        self.push_item()

results = {}
for label, pushes in (("a", 3), ("b", 5)):
    environment = Environment(user_classes=[Pusher])
    environment.create_local_runner()
    user = Pusher(environment)
    for _ in range(pushes):
        user.push_item()
    ExactStats.of(environment).feed.feed()  # Locust's statistics get successes in batches, at most 0.1 s later
    results[label] = {
        "exact": [[s["name"], s["count"]] for s in ExactStats.of(environment).recorder.summaries()],
        "locust": environment.stats.total.num_requests,
        "queues": Integrity.of(environment).ledger.queues(),
        "queue": user.queue_id,
    }
print(json.dumps(results))
"""


def test_two_environments_in_one_process_share_nothing(memory_target: Target) -> None:
    done = subprocess.run([sys.executable, "-c", TWO_ENVIRONMENTS, memory_target.url], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.splitlines()[-1])
    for label, pushes in (("a", 3), ("b", 5)):
        result = results[label]
        assert result["exact"] == [["/queue/[id]/push", pushes]], results
        assert result["locust"] == pushes, results
        assert result["queues"] == [result["queue"]], results


def test_a_debug_build_says_so_when_a_test_starts(tmp_path: Path, memory_target: Target) -> None:
    from pushpop_load import _native

    locustfile = tmp_path / "one.py"
    locustfile.write_text("from locust import task, constant\nfrom pushpop_load import NativeHttpUser\n\n"
                          "class One(NativeHttpUser):\n    wait_time = constant(0.1)\n\n"
                          "    @task\n    def health(self):\n        self.client.get('/health')\n")
    done, _ = locust_headless(locustfile, memory_target.url, tmp_path / "run", "-u", "1", "-t", "1s",
                              env={"PUSHPOP_ALLOW_DEBUG": "0"})
    assert done.returncode == 0, done.stderr[-3000:]
    warned = "this is a debug build of the native module" in done.stderr
    assert warned == (_native.build_profile == "debug"), done.stderr[-3000:]
    done, _ = locust_headless(locustfile, memory_target.url, tmp_path / "quiet", "-u", "1", "-t", "1s",
                              env={"PUSHPOP_ALLOW_DEBUG": "1"})
    assert done.returncode == 0 and "debug build" not in done.stderr, done.stderr[-3000:]
