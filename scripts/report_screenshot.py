"""The README's picture of the HTML report: the first screen (verdict, checks, headline cards, the first charts) of
REPORT as headless Chromium shows it in a 1280×900 window, written to PNG (`make screenshot` makes REPORT from a
short real run first).

    .venv/bin/python scripts/report_screenshot.py results/screenshot_report.html docs/report-first-screen.png

Exit 2 with one line when the report is missing, does not render, or logs an error; the PNG must stay under
200 KB (the README carries it)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
from chromium_cdp import Browser, CdpError, find_chromium  # noqa: E402

WIDTH, HEIGHT = 1280, 900
LIMIT = 200_000


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: report_screenshot.py REPORT.html OUT.png", file=sys.stderr)
        return 2
    report, out = Path(argv[0]).resolve(), Path(argv[1])
    if not report.is_file():
        print(f"report_screenshot: no report at {report}", file=sys.stderr)
        return 2
    binary = find_chromium()
    if not binary:
        print("report_screenshot: Chromium is not installed (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as profile, Browser(binary, Path(profile)) as browser:
        page = browser.page()
        page.size(WIDTH, HEIGHT)
        try:
            page.open(report.as_uri())
            page.wait_for("document.body && document.body.getAttribute('data-rendered') === 'yes'")
        except CdpError as err:
            print(f"report_screenshot: {report} did not render: {err}", file=sys.stderr)
            return 2
        if page.errors():
            print(f"report_screenshot: {report} logged an error: {page.errors()[0]}", file=sys.stderr)
            return 2
        page.screenshot(out, {"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT})
    size = out.stat().st_size
    if size > LIMIT:
        out.unlink()
        print(f"report_screenshot: the PNG is {size:,} bytes, over {LIMIT:,}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
