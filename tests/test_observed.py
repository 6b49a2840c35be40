from pathlib import Path

import pytest

from corridor.errors import CorridorInputError
from corridor.observed import (
    check_mapping_outputs,
    data_dir,
    load_mapping,
    load_observed,
    read_series_csv,
)

HEADER = "year,value,unit,source_title,source_url,note\n"


def test_shipped_series_load_and_are_mapped():
    observed = load_observed()
    mapping = load_mapping()
    assert set(observed) == set(mapping.series)
    shipped = {p.stem for p in data_dir().glob("*.csv")}
    assert shipped == set(mapping.series)
    for required in (
        "small_boat_arrivals_albanian",
        "asylum_applications_main",
        "nrm_referrals_albanian",
        "prisoners_albanian_england_wales",
        "returns_enforced",
        "returns_total",
        "remittances_inflow",
        "detected_at_uk_ports",
        "dead_and_missing_route_to_uk",
    ):
        assert required in observed
    assert observed["small_boat_arrivals_albanian"].frame.set_index("period").loc["2022", "value"] == 12658


def test_partial_series_have_an_observation_model_with_a_prior():
    mapping = load_mapping()
    for name in ("prisoners_albanian_england_wales", "remittances_inflow", "detected_at_uk_ports", "returns_total"):
        obs = mapping.series[name].observation
        assert obs.parameter is not None and obs.prior is not None


def test_mapping_covers_only_existing_model_outputs():
    from corridor.engine import Simulation
    from corridor.scenario import load_scenario

    sc = load_scenario("albania-uk")
    columns = list(Simulation(sc, agents=300, seed=1).run().series.columns)
    mapping = load_mapping()
    check_mapping_outputs(mapping, columns)
    with pytest.raises(CorridorInputError, match="not a model output"):
        mapping.series["returns_enforced"].outputs = ["no_such_output"]
        check_mapping_outputs(mapping, columns)


@pytest.mark.parametrize(
    "body, expected",
    [
        (HEADER + "2019,13,people,Home Office,,\n2020,many,people,Home Office,,\n", r"bad\.csv: row 3: column value"),
        (HEADER + "2019,-5,people,Home Office,,\n", r"bad\.csv: row 2: column value"),
        (HEADER + "2019,13,people,,,\n", r"bad\.csv: row 2: column source_title"),
        (HEADER + "2019,13,people,Home Office,ftp://x,\n", r"bad\.csv: row 2: column source_url"),
        (
            HEADER + "2019,13,people,Home Office,,\n2019,14,people,Home Office,,\n",
            r"bad\.csv: row 3: column year: duplicate",
        ),
        ("year,value,unit\n2019,13,people\n", r"bad\.csv: row 1 \(header\)"),
        (HEADER + "2019,13,people,Home Office\n", r"bad\.csv: row 2: has 4 fields"),
    ],
)
def test_malformed_csv_is_refused_with_file_row_and_column(tmp_path: Path, body: str, expected: str):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(CorridorInputError, match=expected) as info:
        read_series_csv(path)
    assert "\n" not in str(info.value)


def test_month_series(tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_text("month,value,unit,source_title,source_url,note\n2019-03,817,people,MoJ,,\n2019-13,1,people,MoJ,,\n")
    with pytest.raises(CorridorInputError, match=r"p\.csv: row 3: column month"):
        read_series_csv(path)
