#!/usr/bin/env python3
"""The seed's ``scripts/analyze_results.py``: ``pushpop-load analyze`` (docs/ANALYZE.md).

    python scripts/analyze_results.py results/test_run_stats.csv
    python scripts/analyze_results.py results/test_run --format html --out results/test_run_report.html
    python scripts/analyze_results.py results/test_run --baseline results/baseline.json

Run with any Python: without pushpop-load installed it re-runs itself with the project's .venv.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pushpop_entry import run_cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_cli(["analyze_results.py", "analyze", *sys.argv[1:]]))
