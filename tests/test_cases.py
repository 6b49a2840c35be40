"""Synthetic case histories: persons' life courses from the life-event log, set beside the seed court cases."""

import json
import subprocess
import sys

import numpy as np
import pytest

from corridor.cases import case_summaries, court_comparison, load_case_data, sample_cases, timeline
from corridor.engine import Simulation
from corridor.errors import CorridorInputError
from corridor.scenario import load_scenario


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    sim = Simulation(load_scenario("albania-uk"), agents=4_000, seed=5, record_events=True)
    return sim.run().write(tmp_path_factory.mktemp("cases") / "run")


@pytest.fixture(scope="module")
def data(run_dir):
    return load_case_data(run_dir)


@pytest.fixture(scope="module")
def summary(data):
    return case_summaries(data)


def test_ages_and_regions_in_the_log_are_those_of_the_population(data):
    sim = Simulation(load_scenario("albania-uk"), agents=4_000, seed=5)
    ev = data.events
    person = ev["person"].to_numpy()
    age = (ev["month_index"].to_numpy() - sim.pop.birth_month[person].astype(int)) // 12
    assert np.array_equal(ev["age_years"].to_numpy(), age)
    assert (ev["region"].to_numpy() == np.array(["north", "tirana_durres", "centre_south"])[sim.pop.region[person]]).all()


def test_the_price_paid_is_the_price_of_the_route_in_the_departure_month(data, summary):
    crossed = summary[summary["departures"] > 0].head(50)
    for _, c in crossed.iterrows():
        month = data.series[data.series["month"] == c["first_departure"]].iloc[0]
        assert c["price_gbp"] == pytest.approx(month[f"price_{c['route']}_gbp"])


def test_an_imprisoned_case_reads_as_a_dated_life_course(data, summary):
    cases = sample_cases(summary, 5, "arrested", seed=1)
    assert len(cases) > 0
    for _, c in cases.iterrows():
        lines = timeline(data, int(c["person"]))
        months = [m for m, _ in lines]
        assert months == sorted(months)
        assert any("leaves for the UK by" in t for _, t in lines) or c["family"]
        assert any("arrested and convicted" in t for _, t in lines)
        assert c["sentence_months"] >= 1 and c["age_at_prison"] >= c["age_at_departure"]


def test_where_combines_conditions_and_refuses_an_unknown_one(summary):
    both = sample_cases(summary, 10_000, "arrested, removed", seed=0)
    assert both["prison"].notna().all() and both["removed"].notna().all()
    with pytest.raises(CorridorInputError, match="unknown condition"):
        sample_cases(summary, 3, "teleported", seed=0)


def test_engine_columns_are_used_when_the_log_has_them(run_dir, tmp_path):
    import pandas as pd

    events = pd.read_parquet(run_dir / "life_events.parquet")
    events["age_years"] = 30.0
    events["debt_gbp"] = 1234.0
    events["sentence_months"] = 52.0
    folder = tmp_path / "with"
    folder.mkdir()
    for name in ("series.parquet", "manifest.json"):
        (folder / name).write_bytes((run_dir / name).read_bytes())
    events.to_parquet(folder / "life_events.parquet")
    rich = load_case_data(folder)
    assert not any(n.startswith(("debt", "sentence")) for n in rich.notes)
    s = case_summaries(rich)
    prisoners = s[s["prison"].notna()]
    assert (s.loc[s["departures"] > 0, "debt_gbp"] == 1234).all() and (s["age_at_departure"].dropna() == 30).all()
    assert (prisoners["sentence_months"] == 52).all() and prisoners["sentence_complete"].all()


def test_the_comparison_with_the_court_cases_places_each_court_value_in_the_model_distribution(summary):
    table = court_comparison(summary).set_index("quantity")
    assert table.loc["sentence (months)", "court cases"] == "A 52, B 18, C 8"
    assert table.loc["age at sentence (years)", "court cases"] == "A 18, B 20, C 22"
    assert table.loc["sentence (months)", "n"] > 0
    assert table.loc["sentence (months)", "q05"] <= table.loc["sentence (months)", "median"] <= table.loc["sentence (months)", "q95"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "corridor", *map(str, args)], capture_output=True, text=True, timeout=120)


def test_cli_cases_prints_timelines_and_the_court_comparison(run_dir, tmp_path):
    proc = _cli("cases", run_dir, "--n", 3, "--where", "arrested", "--out", tmp_path, "--json", tmp_path / "c.json")
    assert proc.returncode == 0, proc.stderr
    assert "arrested and convicted" in proc.stdout and "court_cases_seed.csv" in proc.stdout
    assert "debt GBP" in proc.stdout  # the engine logs the debt after each change
    data = json.loads((tmp_path / "c.json").read_text())
    assert len(data["cases"]) == 3 and data["cases"][0]["timeline"]
    for name in ("cases.csv", "cases.xlsx", "court_comparison.csv", "data_dictionary.csv"):
        assert (tmp_path / name).is_file(), name


def test_cli_cases_without_life_events_says_how_to_get_them(tmp_path):
    proc = _cli("cases", tmp_path)
    assert proc.returncode == 2 and "--life-events" in proc.stderr and "Traceback" not in proc.stderr
