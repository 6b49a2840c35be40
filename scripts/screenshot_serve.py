"""Screenshot the workbench (`corridor serve`) after a comparison made through its page, for docs/serve.png.

    python scripts/screenshot_serve.py docs/serve.png [--runs 20] [--agents 20000]

Starts the workbench on a free local port with a fresh runs folder, and in Debian's
headless chromium moves the returns agreement to January 2019, compares that with
the unedited scenario, and takes the screenshot. Prints the key-number cards the
page shows; exits 1 on a console error or a request to another host.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

from corridor.web.cli import running_server


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("png", type=Path)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--agents", type=int, default=20_000)
    args = ap.parse_args()
    errors, elsewhere = [], []
    with tempfile.TemporaryDirectory() as runs_dir, running_server(runs_dir) as url, sync_playwright() as p:
        host = urlsplit(url).netloc

        def route(r):
            if urlsplit(r.request.url).netloc == host:
                return r.continue_()
            elsewhere.append(r.request.url)
            return r.abort()

        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 1080})
        page.route("**/*", route)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("body[data-ready=yes]")
        page.fill('input[aria-label="event returns-agreement month"]', "2019-01")
        page.locator('input[aria-label="event returns-agreement month"]').press("Tab")
        page.fill("#scenario-name", "returns-agreement-2019")
        page.locator("#scenario-name").press("Tab")
        page.wait_for_function("document.querySelector('#form-status').textContent.startsWith('valid: returns-agreement-2019')")
        page.check('input[name="mode"][value="compare"]')
        page.fill("#agents", str(args.agents))
        page.fill("#runs", str(args.runs))
        page.fill("#since", "2019-01")
        page.click("#run")
        page.wait_for_function("document.querySelector('#figures .main-svg') !== null", timeout=900_000)
        page.select_option("#output-select", "removals")
        page.wait_for_timeout(2500)
        page.locator('.event[data-event="returns-agreement"]').scroll_into_view_if_needed()
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(args.png))
        for card in page.locator("#cards .card").all():
            print(" | ".join(card.locator("div").all_inner_texts()))
        browser.close()
    print(f"console errors: {len(errors)}; requests to other hosts: {len(elsewhere)}")
    for e in errors + elsewhere:
        print("  ", e)
    return 1 if errors or elsewhere else 0


if __name__ == "__main__":
    sys.exit(main())
