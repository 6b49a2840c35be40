"""The HTML report: one self-contained file that opens offline and draws its charts in a real browser."""

import shutil
import subprocess
import sys

import pytest
from conftest import CHEAP_LORRY, write_short_scenario

from corridor.effects import paired_effects
from corridor.report_html import build_report, detect, write_report


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    short = write_short_scenario(folder / "short.yaml")
    (folder / "cheap.yaml").write_text(CHEAP_LORRY)
    effects = paired_effects(short, [folder / "cheap.yaml"], runs=3, agents=1_000, seed=1, scheduler="sync", progress=False)
    return effects.write(folder / "cmp")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    from corridor.engine import Simulation
    from corridor.scenario import load_scenario

    folder = tmp_path_factory.mktemp("run")
    short = load_scenario(write_short_scenario(folder / "short.yaml", until=2018))
    return Simulation(short, agents=3_000, seed=2, record_events=True).run().write(folder / "run")


def test_the_report_embeds_plotly_and_loads_nothing_from_a_network(comparison, tmp_path):
    from plotly.offline import get_plotlyjs

    text = build_report(comparison)
    assert text.count(get_plotlyjs()) == 1  # the library, embedded once
    ours = text.replace(get_plotlyjs(), "")
    assert "<script src=" not in ours and "https://" not in ours and "Plotly.newPlot" in ours
    for section in ("Effects at a glance", "Scenario and events", "Parameters: value, prior, source", "Caveats", "Reproduce"):
        assert section in text, section
    assert "price war" in text  # the variant's own event on the timeline
    assert "corridor compare" in text and "seed" in text


def test_a_run_report_holds_case_histories_and_observed_points_with_their_sources(run_folder):
    assert detect(run_folder) == "run"
    text = build_report(run_folder)
    assert "Synthetic case histories" in text and "leaves for the UK by" in text
    assert "small_boat_arrivals_albanian.csv: Home Office" in text
    assert "court_cases_seed.csv" in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_report_draws_its_charts_in_headless_chromium_offline(comparison, tmp_path):
    from playwright.sync_api import sync_playwright

    html = write_report(comparison, tmp_path / "report.html")
    errors, off_file = [], []

    def route(r):
        if r.request.url.startswith("file:"):
            return r.continue_()
        off_file.append(r.request.url)
        return r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page()
        page.route("**/*", route)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.resolve().as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg")
        charts = page.locator(".js-plotly-plot").count()
        paths_per_chart = page.eval_on_selector_all(".js-plotly-plot", "els => els.map(e => e.querySelectorAll('svg path').length)")
        browser.close()
    assert errors == [] and off_file == []
    assert charts >= 4 and min(paths_per_chart) > 0


def test_cli_report_refuses_a_folder_that_corridor_did_not_write(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "corridor", "report", str(tmp_path), "--html", str(tmp_path / "r.html")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and "not a folder written by corridor" in proc.stderr and "Traceback" not in proc.stderr


def test_the_png_report_of_an_ensemble_still_works(tmp_path):
    from corridor.ensemble import run_ensemble

    run_ensemble("albania-uk", runs=2, agents=500, seed=1, scheduler="sync", progress=False).write(tmp_path / "ens")
    proc = subprocess.run([sys.executable, "-m", "corridor", "report", "--ensemble", str(tmp_path / "ens"), "--out", str(tmp_path / "c.png")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "c.png").stat().st_size > 10_000
    proc = subprocess.run([sys.executable, "-m", "corridor", "report", str(tmp_path / "ens"), "--html", str(tmp_path / "e.html")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Against the record" in (tmp_path / "e.html").read_text()
