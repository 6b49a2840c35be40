"""Scenario sweeps: the response of an answer to a numeric lever, paired over posterior draws."""

import subprocess
import sys
from typing import Literal

import pytest
from conftest import write_short_scenario
from pydantic import BaseModel

from corridor.errors import CorridorInputError
from corridor.sweep import curve, load_sweep, parse_lever, run_sweep


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    return write_short_scenario(tmp_path_factory.mktemp("sweep") / "short.yaml")


@pytest.fixture(scope="module")
def sweep(short):
    return run_sweep(short, ["smuggling.lorry_base_price_gbp=5000:25000:3"], runs=3, agents=3_000, seed=4,
                     since="2013-01", outputs=["departures", "arrivals_lorry"], scheduler="sync", progress=False)  # fmt: skip


def test_a_dearer_lorry_crossing_lowers_departures_in_the_response_curve(sweep):
    c = curve(sweep, "departures").sort_values("smuggling.lorry_base_price_gbp")
    assert list(c["smuggling.lorry_base_price_gbp"]) == [5000, 15000, 25000]
    assert c["level_q50"].is_monotonic_decreasing and c["level_q50"].iloc[0] > c["level_q50"].iloc[-1]
    assert (c["level_q05"] <= c["level_q50"]).all() and (c["level_q50"] <= c["level_q95"]).all()
    # the cheapest point raises departures against the scenario as given in every draw
    assert c["p_effect_negative"].iloc[0] == 0 and c["effect_q05"].iloc[0] > 0


def test_a_sweep_writes_its_table_figure_and_dictionary(sweep, tmp_path):
    sweep.write(tmp_path)
    for name in ("sweep.parquet", "sweep.csv", "sweep.xlsx", "response.png", "response.svg", "data_dictionary.csv"):
        assert (tmp_path / name).is_file(), name
    assert load_sweep(tmp_path).table.equals(sweep.table)


def test_integer_levers_take_distinct_whole_values_and_bool_or_category_levers_are_refused(monkeypatch):
    from corridor import mechanisms

    class Typed(BaseModel):
        count: int
        flag: bool
        region: Literal["north", "centre_south"]

    monkeypatch.setitem(mechanisms.PARAMETER_MODELS, "typed", Typed)
    assert parse_lever("typed.count=1:3:5").values == (1, 2, 3)
    with pytest.raises(CorridorInputError, match="bool parameter is not a lever"):
        parse_lever("typed.flag=0:1:2")
    with pytest.raises(CorridorInputError, match="category parameter is not a lever"):
        parse_lever("typed.region=0:1:2")
    with pytest.raises(CorridorInputError, match="LOW:HIGH:N"):
        parse_lever("smuggling.lorry_base_price_gbp=1000")


def test_cli_sweep_refuses_a_value_out_of_bounds_in_one_line(short, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "corridor", "sweep", str(short), "--param",
                           "smuggling.lorry_base_price_gbp=50:5000:3", "--runs", "2", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "out of bounds" in proc.stderr and "Traceback" not in proc.stderr
