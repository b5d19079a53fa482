"""``--pp-help``, for every Locust run that uses pushpop-load's users (``http.py`` imports this module).

Locust answers ``--help`` before it imports a locustfile, so its help cannot list the options a locustfile's imports
add (the scenario knobs, integrity, drain, the resource monitor); ``--pp-help`` is parsed after the import and
lists them all, with their environment variables.
"""

from __future__ import annotations

import argparse
from typing import Any

from locust import events

__all__: list[str] = []


class _OptionsHelp(argparse.Action):
    """Prints the pushpop-load options and exits."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        lines = ["pushpop-load options (Locust custom arguments, with their environment variables):"]
        for action in parser._actions:
            if action.option_strings and action.option_strings[0].startswith(("--pp-", "--monitor-")) and \
                    action.help not in (None, argparse.SUPPRESS) and action is not self:
                env = getattr(action, "env_var", None)
                lines.append(f"  {action.option_strings[0]:<20} {action.help}" + (f" [env {env}]" if env else ""))
        print("\n".join(lines))
        parser.exit(0)


@events.init_command_line_parser.add_listener
def _add_help(parser: Any) -> None:
    parser.add_argument("--pp-help", action=_OptionsHelp, include_in_web_ui=False,
                        help="list the pushpop-load options (scenario knobs, integrity, drain, monitor) and exit")
