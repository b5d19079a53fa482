"""pushpop-load's Locust options: the Rust grammars as argparse types, and ``--pp-help``.

Each rule has one parser, in Rust (``pushpop_load._native.parse_count``, ``parse_priorities``, ``parse_switch``,
``Schedule`` …), the same one the ``pushpop-load`` command uses; an argparse type only turns its ``ValueError``
into argparse's error, so Locust prints it as one line and exits 2.

Locust answers ``--help`` before it imports a locustfile, so its help cannot list the options a locustfile's imports
add (the scenario knobs, integrity, drain, the resource monitor); ``--pp-help`` is parsed after the import and
lists them all, with their environment variables.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, TypeVar

__all__ = ["HelpAction", "argument_type", "bounded"]

T = TypeVar("T")


def argument_type(parse: Callable[[str], T], name: str | None = None) -> Callable[[str], T]:
    """``parse`` as an argparse type: its ``ValueError`` becomes argparse's error, with the parser's own message."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name or getattr(parse, "__name__", "value")
    return convert


def bounded(parse: Callable[[str], int], low: int, high: int | None = None) -> Callable[[str], int]:
    """``parse`` as an argparse type whose value must lie in ``low..high``."""

    def convert(text: str) -> int:
        value = argument_type(parse)(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low} (got {text!r})")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high} (got {text!r})")
        return value

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


class HelpAction(argparse.Action):
    """``--pp-help``: prints the pushpop-load options and exits."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        lines = ["pushpop-load options (Locust custom arguments, with their environment variables):"]
        for action in parser._actions:
            if action.option_strings and action.option_strings[0].startswith(("--pp-", "--monitor-", "--metrics-")) and \
                    action.help not in (None, argparse.SUPPRESS) and action is not self:
                env = getattr(action, "env_var", None)
                lines.append(f"  {action.option_strings[0]:<20} {action.help}" + (f" [env {env}]" if env else ""))
        print("\n".join(lines))
        parser.exit(0)
