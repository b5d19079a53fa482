"""The process's open-file limit against its users' connections, checked when the process starts spawning users.

Every ``NativeHttpUser`` holds a keep-alive connection of its own (a file descriptor) from its first request on.
A process whose ``RLIMIT_NOFILE`` soft limit cannot hold them would fail every request past the limit with
"Too many open files", each one a failure of its own, and the run would measure nothing. So when a process starts
a wave of users (its first user created for a new user count), it compares

    needed = files open now + users still to come (one connection each) + MARGIN

with its soft limit. When the soft limit is lower, it is first raised to the hard limit, as Locust raises it to
10,000 at start and Go's runtime raises it to the hard limit: no privilege is needed for that (logged at INFO).
When even the hard limit cannot hold them, one warning names the numbers and how to raise the limit
(``ulimit -n``), once per test. Users of a class with a shared ``client_pool`` share their connections and are
left out (a swarm made only of them is not checked); a user with ``concurrency`` requests in flight holds more than
one, which MARGIN absorbs only in part.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from pushpop_load.swarm import SwarmPart

__all__ = ["MARGIN", "FdLimit", "open_files"]

logger = logging.getLogger("pushpop_load")

MARGIN = 64
"""Files beyond the users' connections: the CSV and log files, the web UI's and the master's sockets, the monitor,
DNS lookups, a few users with more than one request in flight."""

try:
    import resource as _resource
except ImportError:  # Windows: no RLIMIT_NOFILE; nothing to check
    _resource = None  # type: ignore[assignment]


def open_files() -> int:
    """The file descriptors this process has open (Linux: /proc/self/fd; elsewhere 0, unknown)."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1  # the listing's own descriptor
    except OSError:
        return 0


def _ceiling(hard: int) -> int:
    """The highest soft limit the kernel takes: the hard limit, or fs.nr_open under an unlimited one."""
    if _resource is not None and hard != _resource.RLIM_INFINITY:
        return hard
    try:
        return int(open("/proc/sys/fs/nr_open").read())
    except (OSError, ValueError):
        return 1 << 20


class FdLimit(SwarmPart):
    """Checks, once per user count asked for, that the users' connections fit in the open-file limit."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.checked_count: int | None = None
        self.warned = False

    def test_start(self) -> None:
        self.checked_count = None
        self.warned = False

    def user_created(self) -> None:
        """A user is being created in this process: the first of a new user count checks the limit."""
        runner = self.environment.runner
        target = getattr(runner, "target_user_count", None)
        if not target or target == self.checked_count or _resource is None:
            return
        self.checked_count = target
        if all(getattr(user_class, "client_pool", None) is not None for user_class in runner.user_classes):
            return
        to_come = max(0, target - runner.user_count)
        open_now = open_files()
        needed = open_now + to_come + MARGIN
        soft, hard = _resource.getrlimit(_resource.RLIMIT_NOFILE)
        if needed <= soft:
            return
        ceiling = _ceiling(hard)
        if soft < ceiling:
            try:
                _resource.setrlimit(_resource.RLIMIT_NOFILE, (ceiling, hard))
            except (OSError, ValueError):
                pass
            else:
                logger.info("pushpop-load: raised this process's open-file limit from %d to %d (its hard limit) for "
                            "%d users, each holding a connection", soft, ceiling, target)
                soft = ceiling
        if needed <= soft or self.warned:
            return
        self.warned = True
        logger.warning(
            "pushpop-load: this process is to run %d users, each holding a connection, but may open only %d files "
            "(open-file limit; hard limit %d; %d open now): about %d users will fail every request with 'Too many "
            "open files'. Raise the limit where Locust starts, e.g. `ulimit -n %d` (above the hard limit: as root, "
            "or LimitNOFILE= in a systemd unit, `docker run --ulimit nofile=%d`, /etc/security/limits.conf), or run "
            "fewer users per process (more workers)",
            target, soft, hard, open_now, max(1, open_now + to_come - soft), needed, needed)
