"""The workbench in a real browser: Debian's headless chromium driven by Playwright against a live server.

A person opens the page, changes a lever, runs, sees the chart change, starts a
comparison and downloads its CSV. The test fails on any console error and on any
request to a host other than the server (the page must work offline).
"""

import shutil
from urllib.parse import urlsplit

import pytest

from corridor.web.cli import running_server

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The workbench served by uvicorn on a free local port, in a thread of this process."""
    with running_server(tmp_path_factory.mktemp("runs"), slots=2, capacity=8) as url:
        yield url


def first_trace(page) -> str:
    """The values of the first chart's first line, as the page holds them."""
    return page.evaluate("JSON.stringify(document.querySelector('#figures .figure').data[0].y)")


def wait_for_result(page, previous: str | None, timeout_ms: int = 120_000) -> str:
    """The id of the run whose figures the page shows, once it is not ``previous``."""
    page.wait_for_function(
        "prev => { const f = document.querySelector('#figures'); return f.dataset.run && f.dataset.run !== prev"
        " && f.querySelector('.main-svg') !== null; }",
        arg=previous,
        timeout=timeout_ms,
    )
    return page.get_attribute("#figures", "data-run")


def test_a_person_edits_runs_compares_and_downloads_without_leaving_the_server(server, tmp_path):
    from playwright.sync_api import sync_playwright

    errors, elsewhere = [], []
    host = urlsplit(server).netloc

    def only_the_server(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != host:
            elsewhere.append(route.request.url)
            return route.abort()
        return route.continue_()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.route("**/*", only_the_server)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server)
        page.wait_for_selector("body[data-ready=yes]")

        # a first quick run of the bundled scenario, small so that the test stays quick
        page.fill("#agents", "2000")
        page.click("#run")
        first = wait_for_result(page, None)
        before = first_trace(page)
        assert page.locator("#cards .card").count() >= 8

        # a lever out of its bounds is refused in the form, with the command line's words
        price = page.locator('input[aria-label="smuggling.small_boat_base_price_gbp"]')
        price.fill("-5")
        price.press("Tab")
        page.wait_for_selector("#form-error:not([hidden])")
        assert "out of bounds; set a value in [100, 100000]" in page.inner_text("#form-error")
        assert page.is_disabled("#run")

        # the lever within bounds: a much cheaper boat crossing
        price.fill("500")
        price.press("Tab")
        page.wait_for_function("document.querySelector('#form-status').textContent.startsWith('valid: albania-uk-edited')")

        # the returns agreement dragged on the timeline from December 2022 to early 2019
        page.locator("#timeline").scroll_into_view_if_needed()
        marker = page.locator('#timeline .marker[data-event="returns-agreement"]').bounding_box()
        line = page.locator("#timeline").bounding_box()
        page.mouse.move(marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2)
        page.mouse.down()
        page.mouse.move(line["x"] + line["width"] * (7 * 12 + 1) / 227, marker["y"] + 5, steps=8)  # 2019-02
        page.mouse.up()
        page.wait_for_function("document.querySelector('input[aria-label=\"event returns-agreement month\"]').value.startsWith('2019')")
        page.wait_for_function("document.querySelector('#form-status').textContent.startsWith('valid: albania-uk-edited')")

        # run again: the chart changes
        assert page.is_enabled("#run")
        page.click("#run")
        second = wait_for_result(page, first)
        after = first_trace(page)
        assert len(before) > 100 and after != before

        # a paired comparison of the edit against the unedited scenario
        page.check('input[name="mode"][value="compare"]')
        page.fill("#agents", "1000")
        page.fill("#runs", "3")
        page.fill("#since", "2018-01")
        page.click("#run")
        third = wait_for_result(page, second)
        assert "Comparison: albania-uk vs albania-uk-edited" in page.inner_text("#result-title")
        assert "change" in page.inner_text("#cards")
        assert page.locator(f'#registry tr[data-run="{third}"]').count() == 1

        # its table as CSV, through the download link
        with page.expect_download() as download:
            page.click("#dl-csv")
        csv = tmp_path / "effects.csv"
        download.value.save_as(csv)
        browser.close()

    assert csv.read_text().splitlines()[0] == "arm,output,period,statistic,value"
    assert errors == [], errors
    assert elsewhere == [], elsewhere
