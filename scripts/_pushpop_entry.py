"""What the seed-named scripts share: the native command line, from the installed package or, when the Python
running them lacks it, by re-running the script with the project's .venv (made by `make build-dev`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"

try:
    from pushpop_load._native import run_cli
except ImportError:
    # the guard stops a loop when the venv's Python lacks the package too
    if _VENV_PYTHON.exists() and not os.environ.get("PUSHPOP_SCRIPT_REEXEC"):
        os.environ["PUSHPOP_SCRIPT_REEXEC"] = "1"
        os.execv(str(_VENV_PYTHON), [str(_VENV_PYTHON), *sys.argv])
    sys.exit(f"{Path(sys.argv[0]).name}: pushpop-load is not installed here (run `make build-dev`, or "
             "`pip install pushpop-load`)")

__all__ = ["run_cli"]
