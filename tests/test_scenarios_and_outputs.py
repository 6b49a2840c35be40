"""Every bundled scenario validates and runs; outputs are complete and written atomically."""

import json

import pandas as pd
import pytest

from corridor import results as results_module
from corridor.engine import Simulation
from corridor.scenario import bundled_names, load_scenario
from corridor.states import STOCK_COLUMNS

REQUIRED = (
    "month departures arrivals deaths_in_transit interceptions minors_in_care missing_from_care asylum_claims "
    "asylum_grants trafficking_referrals in_criminal_exploitation arrests prison_population removals remittances_gbp "
    "smuggler_revenue_gbp origin_young_men population_total"
).split()


def test_at_least_five_policy_variants_are_bundled():
    names = bundled_names()
    assert "albania-uk" in names
    for policy in ("job-investment", "returns-agreement-early", "stronger-enforcement", "ad-takedown", "safeguarding-minors", "fiscal-amnesty"):
        assert policy in names


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_scenario_validates_and_runs(name):
    sc = load_scenario(name)
    assert sc.n_months == 228
    for group in sc.parameters.values():
        for entry in group.values():
            assert entry.source and entry.prior
    res = Simulation(sc, agents=2_000, seed=1).run()
    assert len(res.series) == sc.n_months
    assert res.series[REQUIRED].notna().all().all()


def test_series_has_required_columns_and_a_stock_per_state(tmp_path):
    res = Simulation(load_scenario("albania-uk"), agents=3_000, seed=2).run()
    res.write(tmp_path)
    df = pd.read_parquet(tmp_path / "series.parquet")
    for column in (*REQUIRED, *STOCK_COLUMNS):
        assert column in df.columns
    assert df["month"].iloc[0] == "2012-01" and df["month"].iloc[-1] == "2030-12"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 2 and len(manifest["scenario_sha256"]) == 64


def test_life_events_are_written_on_request(tmp_path):
    res = Simulation(load_scenario("albania-uk"), agents=3_000, seed=2, record_events=True).run()
    res.write(tmp_path)
    events = pd.read_parquet(tmp_path / "life_events.parquet")
    assert {"month", "person", "from_state", "to_state", "route"} <= set(events.columns)
    assert ((events["from_state"] == "at_origin") & (events["to_state"] == "in_transit")).any()
    # every departure recorded in the series appears as a life event: a crossing takes a month,
    # so a leaver ends the month in transit (coming from the origin, or back from elsewhere that month)
    departures = res.series["departures"].sum() / res.manifest["agent_scale_people_per_agent"]
    moved = (events["to_state"] == "in_transit").sum()
    assert moved == round(departures)


def test_an_interrupted_write_leaves_no_file_that_looks_complete(tmp_path, monkeypatch):
    res = Simulation(load_scenario("albania-uk"), agents=1_000, seed=2).run()

    def broken(table, where):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(results_module.pq, "write_table", broken)
    with pytest.raises(KeyboardInterrupt):
        res.write(tmp_path)
    assert not (tmp_path / "series.parquet").exists()
    assert list(tmp_path.iterdir()) == []


def test_every_data_file_a_source_names_is_in_the_repository():
    from pathlib import Path

    from corridor.scenario import DATA_FILE_RE

    public = Path(__file__).resolve().parents[1] / "data" / "public"
    scenarios = Path(__file__).resolve().parents[1] / "src" / "corridor" / "scenarios"
    named = {m for f in scenarios.glob("*.yaml") for m in DATA_FILE_RE.findall(f.read_text(encoding="utf-8"))}
    assert named, "the bundled scenarios cite data files"
    missing = sorted(n for n in named if not (public / n).is_file())
    assert not missing, f"cited but not in data/public: {missing}"
