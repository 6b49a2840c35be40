"""Posterior-predictive forecasts of the observable series after the fit window."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from corridor.forecast import forecast, forecast_periods, format_value
from corridor.observed import load_mapping


@pytest.fixture(scope="module")
def fc():
    return forecast("albania-uk", runs=4, agents=1_000, seed=2, scheduler="sync", progress=False)


def test_forecast_periods_follow_each_series_publication():
    periods = forecast_periods(2024, 2026)
    assert periods["small_boat_arrivals_albanian_quarterly"][:2] == ["2024Q1", "2024Q2"]
    assert len(periods["small_boat_arrivals_albanian_quarterly"]) == 12
    assert periods["returns_enforced"] == ["2024", "2025", "2026"]
    assert periods["prisoners_albanian_england_wales"] == ["2024-03", "2025-03", "2026-03"]  # as last observed
    assert periods["prison_first_receptions_albanian"] == ["2024Q1", "2025Q1", "2026Q1"]  # first quarters only
    assert periods["unemployment_rate_albania"] == ["2024", "2025", "2026"]  # yearly, one quarter aside


def test_every_observable_series_is_forecast_after_the_fit_window(fc):
    t = fc.table
    assert fc.meta["from_year"] == 2024 and fc.meta["until"] == 2026  # the all-years posterior ends in 2023
    recorded = set(load_mapping().series) - set(fc.meta["series_not_in_runs"])
    assert set(t["series"]) == recorded
    assert t["period"].str[:4].astype(int).between(2024, 2026).all()
    defined = t.dropna(subset=["q50"])
    assert (defined["q05"] <= defined["q25"]).all() and (defined["q25"] <= defined["q50"]).all()
    assert (defined["q50"] <= defined["q95"]).all()
    # a rate is undefined in a run without decisions in the period; every other value has all runs
    ratios = t["series"].map(lambda s: load_mapping().series[s].aggregate == "ratio")
    assert (t.loc[~ratios, "runs"] == 4).all() and t.loc[ratios, "runs"].between(0, 4).all()
    boats = t[t["series"] == "small_boat_arrivals_albanian_quarterly"]
    assert len(boats) == 12 and (boats["period_kind"] == "quarter").all() and (boats["unit"] == "people").all()
    assert t.loc[t["series"] == "remittances_from_uk", "unit"].iloc[0] == "GBP"
    assert "observation/structural" in fc.meta["uncertainty"]


def test_a_forecast_is_written_as_parquet_and_markdown(fc, tmp_path):
    fc.write(tmp_path)
    again = pd.read_parquet(tmp_path / "forecast.parquet")
    pd.testing.assert_frame_equal(again, fc.table)
    md = fc.to_markdown().splitlines()
    assert md[0].startswith("| series | period | unit | median |") and len(md) == len(fc.table) + 2


def test_values_are_rounded_to_what_the_model_supports():
    assert format_value(12_345.0, "people") == "12,000"
    assert format_value(1.78e8, "GBP") == "180m"
    assert format_value(0.1387, "fraction") == "0.14" and format_value(1e-9, "percent") == "0"


def test_cli_forecast_writes_json_and_refuses_a_start_inside_the_fit(tmp_path):
    out = tmp_path / "f.json"
    cmd = [sys.executable, "-m", "corridor", "forecast", "albania-uk", "--runs", "2", "--agents", "500",
           "--scheduler", "sync", "--until", "2024", "--markdown", "--json", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "| small_boat_arrivals_albanian_quarterly | 2024Q1 |" in proc.stdout
    assert json.loads(out.read_text())["meta"]["until"] == 2024
    bad = subprocess.run([*cmd[:5], "--from", "2022", "--runs", "2"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--from 2022" in bad.stderr
