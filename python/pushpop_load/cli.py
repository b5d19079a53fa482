"""The ``pushpop-load`` console command: the command line is parsed and run in Rust."""

from __future__ import annotations

import sys as _sys

from pushpop_load._native import run_cli


def main(argv: list[str] | None = None) -> int:
    """Runs ``pushpop-load`` with ``argv`` (default: ``sys.argv``) and exits with its code."""
    args = list(_sys.argv if argv is None else argv)
    # Rust installs its own SIGINT/SIGTERM handling for the subcommands that run until stopped; SIGINT goes back to
    # its default action first, or Python's handler would also raise KeyboardInterrupt once the call returns
    _sys.exit(run_cli(args, default_sigint=True))


def analyze_results(argv: list[str] | None = None) -> int:
    """``analyze-results``: ``pushpop-load analyze`` under the seed's name (``scripts/analyze_results.py``)."""
    args = list(_sys.argv if argv is None else argv)
    return main([args[0] if args else "analyze-results", "analyze", *args[1:]])


if __name__ == "__main__":
    main()
