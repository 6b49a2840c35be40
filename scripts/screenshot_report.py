"""Screenshot an HTML report in headless Chromium (Debian's chromium), with the network blocked.

    python scripts/screenshot_report.py runs/compare/report.html docs/report.png [--height 2200]

Prints the number of charts drawn and any console error; exits 1 on an error or a request off the file.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("html", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=2200)
    args = ap.parse_args()
    errors, blocked = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else (blocked.append(r.request.url), r.abort()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(args.html.resolve().as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg")
        page.screenshot(path=str(args.png), full_page=False)
        charts = page.locator(".js-plotly-plot").count()
        browser.close()
    print(f"charts drawn: {charts}; console errors: {len(errors)}; blocked requests: {len(blocked)}")
    for e in errors + blocked:
        print("  ", e)
    return 1 if errors or blocked else 0


if __name__ == "__main__":
    sys.exit(main())
