"""The Rust core of pushpop-load (``pushpop_load._native``). Import from ``pushpop_load`` instead."""

from typing import Final

__all__ = ["__version__", "build_profile", "run_cli"]

__version__: Final[str]
"""The package version, from Cargo.toml."""

build_profile: Final[str]
"""``"release"`` or ``"debug"``: which Rust profile built this module. Benchmarks refuse a debug build."""

def run_cli(argv: list[str]) -> int:
    """Runs the ``pushpop-load`` command line (``argv[0]`` is the program name) and returns its exit code.

    The GIL is released for the whole run. Subcommands that run until stopped handle SIGINT and SIGTERM themselves.
    """
