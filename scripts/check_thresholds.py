#!/usr/bin/env python3
"""The seed's ``scripts/check_thresholds.py``: fails (exit 1) when p95 > 100 ms or the error rate > 1%.

    python scripts/check_thresholds.py results/ci_test_stats.csv
    python scripts/check_thresholds.py results/ci_test --threshold 'p99<250ms' --format junit --out junit.xml

Without any --threshold/--thresholds/--baseline it applies the seed's two rules; with them, only those given.
Exit 0 all hold, 1 any fails, 2 unreadable input. It is ``pushpop-load check``; see docs/ANALYZE.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pushpop_entry import run_cli  # noqa: E402

SEED_RULES = ["--threshold", "p95<100ms", "--threshold", "fail_ratio<1%"]

if __name__ == "__main__":
    args = sys.argv[1:]
    given = any(a.split("=")[0] in ("--threshold", "--thresholds", "--baseline") for a in args)
    sys.exit(run_cli(["check_thresholds.py", "check", *args, *([] if given else SEED_RULES)]))
