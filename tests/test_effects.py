"""Paired policy effects: common random numbers make the effect of a policy sharper than two independent ensembles."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import CHEAP_LORRY, write_short_scenario

from corridor.effects import load_effects, paired_effects, periods

COPY = "name: short-copy\nextends: short.yaml\ndescription: the same scenario under another name\n"


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios")
    write_short_scenario(folder / "short.yaml")
    for name, text in (("copy", COPY), ("cheap", CHEAP_LORRY)):
        (folder / f"{name}.yaml").write_text(text)
    return folder


@pytest.fixture(scope="module")
def effects(scenarios):
    return paired_effects(
        scenarios / "short.yaml", [scenarios / "copy.yaml", scenarios / "cheap.yaml"], runs=8, agents=3_000, seed=2,
        since="2013-01", scheduler="sync", progress=False,
    )  # fmt: skip


def test_a_variant_identical_to_its_baseline_has_an_effect_of_exactly_zero_in_every_draw(effects):
    runs = effects.runs.pivot_table(index=["output", "period", "draw"], columns="arm", values="value")
    assert (runs["short-copy"] == runs["short"]).all()
    t = effects.table[effects.table["arm"] == "short-copy"]
    for stat in ("effect_q05", "effect_q50", "effect_q95", "p_effect_negative", "variance_paired"):
        assert (t[t["statistic"] == stat]["value"] == 0).all(), stat
    assert (effects.monthly[effects.monthly["arm"] == "short-copy"][["q05", "q95"]] == 0).all().all()


def test_pairing_narrows_the_interval_of_the_effect_on_the_same_draws(effects):
    window = effects.meta["periods"][0]
    for output in ("departures", "arrivals_lorry"):
        get = lambda stat, output=output: effects.statistic("cheap-lorry", output, window, stat)  # noqa: E731
        assert get("variance_reduction") > 1, output
        paired_width = get("effect_q95") - get("effect_q05")
        unpaired_width = get("unpaired_effect_q95") - get("unpaired_effect_q05")
        assert paired_width < unpaired_width, output
    # and a cheaper lorry raises departures in every draw
    assert effects.statistic("cheap-lorry", "departures", window, "p_effect_negative") == 0


def test_the_variance_reduction_is_the_ratio_of_the_unpaired_to_the_paired_variance(effects):
    runs = effects.runs[(effects.runs["output"] == "departures") & (effects.runs["period"] == "2013-01..2016-12")]
    wide = runs.pivot_table(index="draw", columns="arm", values="value")
    b, v = wide["short"].to_numpy(), wide["cheap-lorry"].to_numpy()
    cross = (v[None, :] - b[:, None])[~np.eye(len(b), dtype=bool)]
    expected = np.var(cross, ddof=1) / np.var(v - b, ddof=1)
    assert effects.statistic("cheap-lorry", "departures", "2013-01..2016-12", "variance_reduction") == pytest.approx(expected)


def test_effects_are_reported_for_the_window_and_each_year_in_it(effects):
    assert effects.meta["periods"] == ["2013-01..2016-12", "2013", "2014", "2015", "2016"]
    assert set(effects.table["period"]) == set(effects.meta["periods"])
    assert periods("2022-12", "2024-06") == [
        ("2022-12..2024-06", "2022-12", "2024-06"), ("2022-12..2022-12", "2022-12", "2022-12"),
        ("2023", "2023-01", "2023-12"), ("2024-01..2024-06", "2024-01", "2024-06"),
    ]  # fmt: skip
    # flows are summed over a period, stocks taken at its last month
    runs = effects.runs.set_index(["arm", "output", "period", "draw"])["value"]
    years = sum(runs[("short", "departures", str(y), 0)] for y in range(2013, 2017))
    assert runs[("short", "departures", "2013-01..2016-12", 0)] == pytest.approx(years)
    assert runs[("short", "prison_population", "2013-01..2016-12", 0)] == runs[("short", "prison_population", "2016", 0)]


def test_a_comparison_written_to_a_folder_loads_back_with_its_exports(effects, tmp_path):
    effects.write(tmp_path)
    back = load_effects(tmp_path)
    assert back.table.equals(effects.table) and back.meta["runs"] == 8
    for name in ("effects.csv", "effects.xlsx", "effects.png", "effects.svg", "data_dictionary.csv"):
        assert (tmp_path / name).is_file(), name


def _cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "corridor", *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_cli_compare_prints_a_markdown_table_and_writes_json(scenarios, tmp_path):
    proc = _cli("compare", scenarios / "short.yaml", scenarios / "cheap.yaml", "--runs", 3, "--agents", 1000,
                "--scheduler", "sync", "--out", tmp_path / "cmp", "--json", tmp_path / "e.json", "--markdown")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "| output | baseline median | effect median |" in proc.stdout
    assert "pairing divides the variance" in proc.stdout
    data = json.loads((tmp_path / "e.json").read_text())
    assert data["meta"]["runs"] == 3 and {"arm", "output", "period", "statistic", "value"} <= set(data["effects"][0])
    assert (tmp_path / "cmp" / "effects.parquet").is_file()


def test_cli_compare_without_runs_is_labelled_a_single_run(scenarios):
    proc = _cli("compare", scenarios / "short.yaml", scenarios / "cheap.yaml", "--agents", 1000)
    assert proc.returncode == 0, proc.stderr
    assert "single run, hand-set values, no interval" in proc.stdout


def test_cli_compare_refuses_a_window_outside_the_horizon(scenarios):
    proc = _cli("compare", scenarios / "short.yaml", scenarios / "cheap.yaml", "--since", "2040-01", "--agents", 1000)
    assert proc.returncode == 2 and "--since 2040-01" in proc.stderr and "Traceback" not in proc.stderr
